"""The consignment label PDF: one 100×150 mm page, embedded DejaVu, NFC text, scannable Code128 + QR, no overflow."""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from labels import PdfLabelRenderer
from labels.barcodes import DOT, human_readable, make_code128
from labels.consignment_label import format_vnd
from postal_bridge.domain.labels import LabelContent, LabelParty
from tests.pdf_tools import pdffonts, pdfinfo, pdftotext, rasterise, word_boxes

PAGE_W_PT = 100 * 72 / 25.4  # 283.46
PAGE_H_PT = 150 * 72 / 25.4  # 425.20
MARGIN_PT = 3 * 72 / 25.4

SENDER_NAME = "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang"
RECIPIENT_NAME = "Nguyễn Thị Hằng"
STREET = "Số 12 ngõ 34 phố Láng Hạ"
WARD = "Phường Đống Đa, Thành phố Hà Nội"
NOTE = "Phát tận tay – kiểm tra CCCD"

SAMPLE = LabelContent(
    tracking_code="EB123456785VN",
    tracking_url="https://tracuu.example.gov.vn/van-don/EB123456785VN",
    carrier_name="VNPost",
    service_name="Tiêu chuẩn",
    kind_label="Trả kết quả",
    sender=LabelParty(SENDER_NAME, "0207 3822 123", ("Số 1 đường 17/8", "Phường Minh Xuân, Tỉnh Tuyên Quang")),
    recipient=LabelParty(RECIPIENT_NAME, "0912 345 678", (STREET, WARD)),
    dossier_code="HS-2025-000123",
    weight_g=250,
    cod_vnd=0,
    postage_vnd=25000,
    handling_note=NOTE,
    printed_on=date(2025, 11, 21),
    extra_lines=("Hồ sơ TTHC – trả kết quả tại nhà",),
)

EXPECTED_TEXT = [
    SENDER_NAME,
    RECIPIENT_NAME,
    STREET,
    WARD,
    NOTE,
    "VNPost",
    "Tiêu chuẩn",
    "Trả kết quả",
    "21/11/2025",
    "Người gửi:",
    "Người nhận:",
    "EB 123 456 785 VN",
    "Mã hồ sơ: HS-2025-000123",
    "Khối lượng: 250 g",
    "Thu hộ (COD): 0 đ",
    "Cước: 25.000 đ",
    "Hồ sơ TTHC – trả kết quả tại nhà",
    "0912 345 678",
]


def _normalise_all(value, form: str):
    """The same content with every string in Unicode ``form`` (walks nested dataclasses and tuples)."""
    if isinstance(value, str):
        return unicodedata.normalize(form, value)
    if isinstance(value, tuple):
        return tuple(_normalise_all(v, form) for v in value)
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value, **{f.name: _normalise_all(getattr(value, f.name), form) for f in dataclasses.fields(value)}
        )
    return value


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _sample_with(code: str, name: str) -> LabelContent:
    return dataclasses.replace(
        SAMPLE,
        tracking_code=code,
        tracking_url=f"https://tracuu.example.gov.vn/van-don/{code}",
        recipient=dataclasses.replace(SAMPLE.recipient, name=name),
    )


@pytest.fixture(scope="module")
def renderer() -> PdfLabelRenderer:
    return PdfLabelRenderer()


@pytest.fixture(scope="module", params=["NFC", "NFD"])
def sample_pdf(request, renderer) -> bytes:
    content = _normalise_all(SAMPLE, request.param)
    if request.param == "NFD":
        assert content.recipient.name != RECIPIENT_NAME  # the fixture really feeds decomposed text
    return renderer.render_label(content)


LONG_NAME = "Công ty Trách nhiệm hữu hạn Một thành viên Dịch vụ Bưu chính Viễn thông Nguyễn Thị Hằng Đống Đa Hà Nội"
LONG_STREET = (
    "Số 123A ngách 45/67 ngõ 890 đường Nguyễn Khánh Toàn, tổ dân phố số 18, khu tập thể Học viện Báo chí, "
    "ngay cạnh cổng số 3"
)
assert len(LONG_NAME) >= 80 and len(LONG_STREET) == 120


@pytest.fixture(scope="module")
def long_pdf(renderer) -> bytes:
    recipient = LabelParty(LONG_NAME, "0912 345 678", (LONG_STREET, WARD))
    return renderer.render_label(dataclasses.replace(SAMPLE, recipient=recipient))


@pytest.fixture(scope="module")
def extreme_pdf(renderer) -> bytes:
    """Far more text than fits: must still be one tidy page (cut with an ellipsis, never spilling)."""
    huge = " ".join([LONG_NAME] * 4)
    party = LabelParty(huge, "0912 345 678 / 0987 654 321", tuple([LONG_STREET] * 5))
    return renderer.render_label(
        dataclasses.replace(
            SAMPLE,
            carrier_name="Tổng công ty Bưu điện Việt Nam – Chi nhánh Thành phố Hồ Chí Minh",
            service_name="Chuyển phát nhanh hỏa tốc trong ngày",
            sender=party,
            recipient=party,
            dossier_code="HS-" + "9" * 80,
            handling_note=" ".join([NOTE] * 10),
            extra_lines=tuple(f"Dòng ghi chú bổ sung số {i}: " + LONG_STREET for i in range(12)),
        )
    )


def _assert_single_label_page(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    info = pdfinfo(pdf)
    assert info["Pages"] == "1"
    assert len(info["page_sizes"]) == 1
    width, height = info["page_sizes"][0]
    assert width == pytest.approx(283.46, abs=0.01) and width == pytest.approx(PAGE_W_PT, abs=0.01)
    assert height == pytest.approx(425.2, abs=0.01) and height == pytest.approx(PAGE_H_PT, abs=0.01)


def _assert_barcodes(pdf: bytes, code: str, url: str, dpi: int = 203, mono: bool = True) -> None:
    from tests.pdf_tools import decode

    (page,) = rasterise(pdf, dpi, mono)
    found = decode(page)
    assert ("Code128", code) in found, found
    _assert_qr_payload(found, code, url)


def _assert_qr_payload(found: list[tuple[str, str]], code: str, url: str) -> None:
    """The QR holds ``<url>#<code>``: the citizen's phone opens ``url`` (the fragment never reaches the server) and
    a clerk's scanner reads the item code from it."""
    qr_texts = [text for fmt, text in found if fmt == "QRCode"]
    assert len(qr_texts) == 1, found
    (payload,) = qr_texts
    page_url, sep, fragment = payload.partition("#")
    assert sep == "#", payload
    assert page_url == url, payload
    assert fragment == code, payload
    assert payload == f"{url}#{code}"


def _assert_tidy(pdf: bytes) -> None:
    """Every word inside the 3 mm safe margins and no two words overlapping."""
    for words in word_boxes(pdf):
        assert words
        for w in words:
            assert w.x_min >= MARGIN_PT - 0.3 and w.x_max <= PAGE_W_PT - MARGIN_PT + 0.3, w
            assert w.y_min >= MARGIN_PT - 0.3 and w.y_max <= PAGE_H_PT - MARGIN_PT + 0.3, w
        for i, a in enumerate(words):
            for b in words[i + 1 :]:
                assert not a.overlaps(b), (a, b)


def _assert_blank_margins(pdf: bytes) -> None:
    """Rasterised at 203 dpi: the outer 3 mm (minus one dot of anti-aliasing slack) is pure white."""
    for page in rasterise(pdf, 203, mono=False):
        gray = page.convert("L")
        w, h = gray.size
        band = int(3 / 25.4 * 203) - 1
        for box in ((0, 0, w, band), (0, h - band, w, h), (0, 0, band, h), (w - band, 0, w, h)):
            assert gray.crop(box).getextrema()[0] == 255, f"ink in the margin band {box}"


# ------------------------------------------------------------------------------------------------ the sample label


def test_single_label_is_one_100x150_page(sample_pdf):
    _assert_single_label_page(sample_pdf)


def test_text_is_extractable_and_nfc_even_from_nfd_input(sample_pdf):
    text = pdftotext(sample_pdf)
    flat = _collapse(text)
    for expected in EXPECTED_TEXT:
        assert unicodedata.is_normalized("NFC", expected)
        assert expected in flat, f"{expected!r} missing from:\n{text}"
    # The recipient's name is short enough to sit on one line: check it byte for byte, unflattened.
    assert RECIPIENT_NAME.encode() in text.encode()
    assert unicodedata.is_normalized("NFC", text)
    assert not any(unicodedata.combining(ch) for ch in text), "combining marks drawn: text was not NFC-normalised"


def test_only_embedded_dejavu_fonts(sample_pdf):
    fonts = pdffonts(sample_pdf)
    assert fonts, "pdffonts found no fonts"
    assert all(row["emb"] == "yes" for row in fonts), fonts
    assert any("DejaVuSans" in row["name"] for row in fonts), fonts
    assert any("DejaVuSans-Bold" in row["name"] for row in fonts), fonts
    assert not any("Helvetica" in row["name"] for row in fonts), fonts


def test_metadata(sample_pdf):
    info = pdfinfo(sample_pdf)
    assert "EB123456785VN" in info["Title"]
    assert info["Author"] == "postal-bridge"


@pytest.mark.parametrize(("dpi", "mono"), [(203, False), (203, True), (300, True)])
def test_barcode_and_qr_scan(sample_pdf, dpi, mono):
    _assert_barcodes(sample_pdf, SAMPLE.tracking_code, SAMPLE.tracking_url, dpi, mono)


def test_layout_is_tidy(sample_pdf):
    _assert_tidy(sample_pdf)
    _assert_blank_margins(sample_pdf)


def test_page_content_is_compressed(sample_pdf):
    refs = re.findall(rb"/Contents (\d+) 0 R", sample_pdf)
    assert refs
    for ref in refs:
        obj = re.search(rb"(?:^|\s)" + ref + rb" 0 obj\s*<<(.*?)>>\s*stream", sample_pdf, re.DOTALL)
        assert obj is not None and b"/FlateDecode" in obj.group(1), "page content stream is not compressed"


# ------------------------------------------------------------------------------------------------ long content


def test_long_recipient_wraps_onto_one_page(long_pdf):
    _assert_single_label_page(long_pdf)
    flat = _collapse(pdftotext(long_pdf))
    assert LONG_NAME in flat  # wrapped (and maybe shrunk), but complete
    assert LONG_STREET in flat
    assert WARD in flat
    _assert_tidy(long_pdf)
    _assert_blank_margins(long_pdf)


@pytest.mark.parametrize(("dpi", "mono"), [(203, False), (203, True), (300, True)])
def test_long_recipient_still_scans(long_pdf, dpi, mono):
    _assert_barcodes(long_pdf, SAMPLE.tracking_code, SAMPLE.tracking_url, dpi, mono)


def test_overlong_everything_is_cut_not_spilled(extreme_pdf):
    _assert_single_label_page(extreme_pdf)
    _assert_tidy(extreme_pdf)
    _assert_blank_margins(extreme_pdf)
    _assert_barcodes(extreme_pdf, SAMPLE.tracking_code, SAMPLE.tracking_url)
    flat = _collapse(pdftotext(extreme_pdf))
    assert "…" in flat
    assert "EB 123 456 785 VN" in flat


# ------------------------------------------------------------------------------------------------ batches


def test_batch_is_one_document_one_page_per_label_in_order(renderer):
    batch = [
        _sample_with("EB123456785VN", "Nguyễn Thị Hằng"),
        _sample_with("RR987654321VN", "Trần Văn Đức"),
        _sample_with("SBX-000042", "Lê Thị Ánh Tuyết"),
    ]
    pdf = renderer.render_labels(batch)
    info = pdfinfo(pdf)
    assert info["Pages"] == "3"
    assert all(size == pytest.approx((PAGE_W_PT, PAGE_H_PT), abs=0.01) for size in info["page_sizes"])
    shown = ["EB 123 456 785 VN", "RR 987 654 321 VN", "SBX-000042"]
    for page_no, content in enumerate(batch, start=1):
        flat = _collapse(pdftotext(pdf, first_page=page_no))
        assert content.recipient.name in flat
        assert shown[page_no - 1] in flat
        others = [c.recipient.name for c in batch if c is not content]
        assert not any(other in flat for other in others)
    from tests.pdf_tools import decode

    pages = rasterise(pdf, 203, mono=True)
    assert len(pages) == 3
    for page, content in zip(pages, batch, strict=True):
        found = decode(page)
        assert ("Code128", content.tracking_code) in found, found
        _assert_qr_payload(found, content.tracking_code, content.tracking_url)


def test_batch_needs_labels(renderer):
    with pytest.raises(ValueError):
        renderer.render_labels([])


def test_concurrent_rendering(renderer):
    """reportlab's TTF subsetting shares one file cursor per font; without the renderer's lock, parallel saves
    raise IndexError/KeyError or mix glyphs up. A tiny GIL switch interval makes that race show up reliably."""
    names = ["Phạm Quỳnh Anh", "Đặng Thị Thùy Dương", "Vũ Đức Thắng", "Hoàng Yến Nhi"]
    batch = [_sample_with(f"EB{n:09d}VN", f"{names[n % 4]} {'ẮẰẲẴẶẤẦẨẪẬỚỜỞỠỢ'[n % 15 :]}") for n in range(32)]
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            pdfs = list(pool.map(renderer.render_label, batch))
    finally:
        sys.setswitchinterval(old_interval)
    for pdf, content in zip(pdfs, batch, strict=True):
        assert pdf.startswith(b"%PDF-")
        assert content.recipient.name in _collapse(pdftotext(pdf))


# ------------------------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("EB123456785VN", "EB 123 456 785 VN"),
        ("RR000000000VN", "RR 000 000 000 VN"),
        ("SBX-000042", "SBX-000042"),
        ("EB12345678VN", "EB12345678VN"),
        ("1234567890123", "1234567890123"),
    ],
)
def test_human_readable(code, shown):
    assert human_readable(code) == shown


@pytest.mark.parametrize(("amount", "shown"), [(0, "0 đ"), (25000, "25.000 đ"), (1234567, "1.234.567 đ")])
def test_format_vnd(amount, shown):
    assert format_vnd(amount) == shown


def test_code128_module_is_three_printer_dots():
    symbol = make_code128("EB123456785VN", max_width=94 * 72 / 25.4, bar_height=18 * 72 / 25.4)
    assert symbol.module_dots == 3
    assert symbol.widget.barWidth == pytest.approx(3 * 72 / 203)
    assert symbol.widget.humanReadable in (0, False)
    modules = symbol.width / DOT / 3
    assert modules == pytest.approx(round(modules))  # whole modules, quiet zones included


def test_code128_rejects_non_ascii():
    with pytest.raises(ValueError):
        make_code128("EB12345678Ư", max_width=500, bar_height=50)


def test_labels_package_depends_only_on_domain_and_drawing_libs():
    root = Path(__file__).resolve().parents[2] / "labels"
    base = {"labels", "reportlab", "segno", "__future__"} | set(sys.stdlib_module_names)
    # zebrafy (LGPL-3.0, used unmodified as a library) only in labels/zpl.py, for the thermal-printer ZPL output.
    extra = {"zpl.py": {"zebrafy"}}
    for source in root.glob("*.py"):
        allowed = base | extra.get(source.name, set())
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                ok = name.split(".")[0] in allowed or re.match(r"^postal_bridge\.domain(\.|$)", name)
                assert ok, f"{source.name} imports {name}"
