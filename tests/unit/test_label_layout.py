"""Label hardening: the QR survives a phone photo, the longest real names lay out without collisions inside the 3 mm
margins, the page is exactly 100×150 mm and every font is embedded.

Text and graphics positions come from pdfplumber (pdfminer's own parser, independent of poppler, which
``test_labels.py`` uses): word boxes, the Code128 bars and QR modules (``rect``) and the section rules (``line``).
"""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from datetime import date

import pdfplumber
import pytest
from PIL import Image, ImageFilter

from labels import PdfLabelRenderer
from labels.consignment_label import qr_payload
from postal_bridge.domain.labels import LabelContent, LabelParty
from tests.pdf_tools import decode, pdffonts, pdfinfo, rasterise

PAGE_W_PT = 100 * 72 / 25.4  # 283.4646
PAGE_H_PT = 150 * 72 / 25.4  # 425.1969
MARGIN_PT = 3 * 72 / 25.4  # 8.5039
EPS = 0.05  # pt: float noise in pdfminer's coordinates, far below a 203-dpi dot (0.355 pt)

# The longest real names: the longest ward name since the 2025 merger and the longest province-level name. (Văn Miếu
# - Quốc Tử Giám is in Hà Nội; paired with Hồ Chí Minh here only to make the longest possible line.)
WARD = "Phường Văn Miếu - Quốc Tử Giám"
PROVINCE = "Thành phố Hồ Chí Minh"
WARD_LINE = f"{WARD}, {PROVINCE}"
NAME_80 = "Công ty Trách nhiệm hữu hạn Một thành viên Dịch vụ Hành chính công Trần Thị Hằng"
STREET_120 = (
    "Số 123A ngách 45/67 ngõ 890 đường Nguyễn Khánh Toàn, tổ dân phố số 18, khu tập thể Học viện Báo chí, "
    "ngay cạnh cổng số 3"
)
AGENCY = (
    "Bộ phận Tiếp nhận và Trả kết quả giải quyết thủ tục hành chính – Trung tâm Phục vụ hành chính công "
    "Thành phố Hồ Chí Minh"
)
assert len(NAME_80) == 80 and len(STREET_120) == 120

SAMPLE = LabelContent(
    tracking_code="EB123456785VN",
    tracking_url="https://tracuu.example.gov.vn/van-don/EB123456785VN",
    carrier_name="VNPost",
    service_name="Tiêu chuẩn",
    kind_label="Trả kết quả",
    sender=LabelParty(
        "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        "0207 3822 123",
        ("Số 1 đường 17/8", "Phường Minh Xuân, Tỉnh Tuyên Quang"),
    ),
    recipient=LabelParty(
        "Nguyễn Thị Hằng", "0912 345 678", ("Số 12 ngõ 34 phố Láng Hạ", "Phường Đống Đa, Thành phố Hà Nội")
    ),
    dossier_code="HS-2025-000123",
    weight_g=250,
    cod_vnd=0,
    postage_vnd=25000,
    handling_note="Phát tận tay – kiểm tra CCCD",
    printed_on=date(2025, 11, 21),
    extra_lines=("Hồ sơ TTHC – trả kết quả tại nhà",),
)

LONGEST = dataclasses.replace(
    SAMPLE,
    carrier_name="Tổng công ty Bưu điện Việt Nam",
    service_name="Chuyển phát nhanh – Hành chính công",
    sender=LabelParty(AGENCY, "028 3829 6052", ("Số 86 đường Lê Thánh Tôn", WARD_LINE)),
    recipient=LabelParty(NAME_80, "0912 345 678", (STREET_120, WARD_LINE)),
    dossier_code="000.00.12.H29-251121-0001",  # a 25-character TT 01/2018 dossier code
    weight_g=1250,
    cod_vnd=1_250_000,
    postage_vnd=38500,
)

# Everything that must appear in full (wrapped or shrunk, never cut) on the longest label.
LONGEST_TEXTS = [
    NAME_80,
    STREET_120,
    WARD_LINE,
    AGENCY,
    LONGEST.carrier_name,
    LONGEST.service_name,
    "0912 345 678",
    "EB 123 456 785 VN",
    LONGEST.dossier_code,
    "1.250.000 đ",
    "21/11/2025",
]


@pytest.fixture(scope="module")
def renderer() -> PdfLabelRenderer:
    return PdfLabelRenderer()


@pytest.fixture(scope="module", params=["sample", "longest"])
def label(request, renderer) -> tuple[LabelContent, bytes]:
    content = {"sample": SAMPLE, "longest": LONGEST}[request.param]
    return content, renderer.render_label(content)


# ------------------------------------------------------------------------------------------------ (a) phone photo


def _phone_photo(page: Image.Image, *, scale: float, blur: float, angle: float) -> Image.Image:
    """A hand-held phone shot of the label: fewer pixels, out of focus, not held square."""
    gray = page.convert("L")
    small = gray.resize((round(gray.width * scale), round(gray.height * scale)), Image.Resampling.BILINEAR)
    blurred = small.filter(ImageFilter.GaussianBlur(blur))
    return blurred.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


@pytest.mark.parametrize("angle", [7.0, -7.0])
def test_qr_survives_a_phone_photo(label, angle):
    content, pdf = label
    (page,) = rasterise(pdf, 300, mono=False)
    photo = _phone_photo(page, scale=0.6, blur=1.2, angle=angle)
    qr = [text for fmt, text in decode(photo) if fmt == "QRCode"]
    assert qr == [f"{content.tracking_url}#{content.tracking_code}"], decode(photo)
    # The item code alone is recoverable from the photo even when the Code128 is not (engineering.md §4.5.3).
    assert qr[0].rpartition("#")[2] == content.tracking_code


def test_qr_payload_is_url_with_code_fragment():
    assert qr_payload(SAMPLE) == "https://tracuu.example.gov.vn/van-don/EB123456785VN#EB123456785VN"


# ------------------------------------------------------------------------------------------------ (b) overflow


def _boxes_intersect(a: dict, b: dict, tolerance: float = EPS) -> bool:
    return (
        a["x0"] < b["x1"] - tolerance
        and b["x0"] < a["x1"] - tolerance
        and a["top"] < b["bottom"] - tolerance
        and b["top"] < a["bottom"] - tolerance
    )


def _inside_margins(obj: dict) -> bool:
    return (
        obj["x0"] >= MARGIN_PT - EPS
        and obj["x1"] <= PAGE_W_PT - MARGIN_PT + EPS
        and obj["top"] >= MARGIN_PT - EPS
        and obj["bottom"] <= PAGE_H_PT - MARGIN_PT + EPS
    )


def _page_objects(pdf: bytes) -> tuple[list[dict], list[dict], list[dict], str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        (page,) = doc.pages
        words = page.extract_words(use_text_flow=True, extra_attrs=["size"])
        return words, list(page.rects), list(page.lines), page.extract_text()


def test_text_boxes_never_intersect(label):
    _, pdf = label
    words, _, _, _ = _page_objects(pdf)
    assert len(words) > 40
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            assert not _boxes_intersect(a, b), (a["text"], b["text"])


def test_everything_inside_the_3mm_margins(label):
    _, pdf = label
    words, rects, lines, _ = _page_objects(pdf)
    assert rects and lines
    for obj in [*words, *rects, *lines]:
        assert _inside_margins(obj), {k: obj.get(k) for k in ("text", "x0", "x1", "top", "bottom")}


def test_text_stays_off_barcodes_and_rules(label):
    """No word touches a Code128 bar or QR module (``rect``), and no section rule runs through a word."""
    _, pdf = label
    words, rects, lines, _ = _page_objects(pdf)
    for word in words:
        for rect in rects:
            assert not _boxes_intersect(word, rect), (word["text"], rect["x0"], rect["top"])
        for line in lines:
            assert not (word["top"] + EPS < line["top"] < word["bottom"] - EPS and word["x0"] < line["x1"]), (
                word["text"],
                line["top"],
            )


def test_longest_names_are_complete(renderer):
    _, _, _, text = _page_objects(renderer.render_label(LONGEST))
    flat = " ".join(unicodedata.normalize("NFC", text).split())
    for expected in LONGEST_TEXTS:
        assert expected in flat, f"{expected!r} missing (cut?) from:\n{text}"
    assert "…" not in flat


def test_longest_label_still_scans(renderer):
    pdf = renderer.render_label(LONGEST)
    for dpi in (203, 300):
        (page,) = rasterise(pdf, dpi, mono=True)
        found = decode(page)
        assert ("Code128", LONGEST.tracking_code) in found, found
        assert ("QRCode", qr_payload(LONGEST)) in found, found


# ------------------------------------------------------------------------------------------------ (c) page size


def test_page_is_exactly_100x150mm(label):
    _, pdf = label
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        (page,) = doc.pages
        assert page.bbox == pytest.approx((0, 0, PAGE_W_PT, PAGE_H_PT), abs=1e-3)
        assert (round(float(page.width), 2), round(float(page.height), 2)) == (283.46, 425.20)
        assert page.rotation == 0
    assert pdfinfo(pdf)["page_sizes"] == [pytest.approx((283.46, 425.2), abs=0.005)]


def test_every_page_of_a_batch_is_exactly_100x150mm(renderer):
    pdf = renderer.render_labels([SAMPLE, LONGEST, SAMPLE])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 3
        for page in doc.pages:
            assert (round(float(page.width), 2), round(float(page.height), 2)) == (283.46, 425.20)


# ------------------------------------------------------------------------------------------------ (d) fonts


def test_only_embedded_fonts(label):
    _, pdf = label
    fonts = pdffonts(pdf)
    assert fonts
    for row in fonts:
        assert (row["emb"], row["sub"], row["uni"]) == ("yes", "yes", "yes"), row
        assert row["name"].split("+")[-1] in {"DejaVuSans", "DejaVuSans-Bold"}, row
