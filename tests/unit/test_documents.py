"""The Phiếu gửi hồ sơ (A5) and the Biên bản giao nhận hồ sơ (A4): exact page sizes, embedded DejaVu, NFC text,
scannable codes, tidy multi-page layout ("Trang x/y", repeated table header, signatures on the last page only)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import unicodedata
from shutil import which

import pdfplumber
import pytest

from labels import PdfLabelRenderer
from labels.slip import format_dong
from postal_bridge.domain.labels import HandoverContent, HandoverLine, SlipContent, SlipDocument, SlipParty
from tests.pdf_tools import decode, pdffonts, pdfinfo, pdftotext, rasterise

MM = 72 / 25.4
A5 = (419.53, 595.28)
A4 = (595.28, 841.89)
SLIP_MARGIN = 8 * MM
HANDOVER_MARGIN = 12 * MM
EPS = 0.01

WARD_LONG = "Phường Văn Miếu - Quốc Tử Giám"
PROVINCE_LONG = "Thành phố Hồ Chí Minh"
LONG_NAME = "Công ty Trách nhiệm hữu hạn Một thành viên Dịch vụ Bưu chính Viễn thông Nguyễn Thị Hằng Đống Đa Hà Nội"
LONG_STREET = (
    "Số 123A ngách 45/67 ngõ 890 đường Nguyễn Khánh Toàn, tổ dân phố số 18, khu tập thể Học viện Báo chí, "
    "ngay cạnh cổng số 3"
)
assert len(LONG_NAME) >= 80 and len(LONG_STREET) == 120

AGENCY = SlipParty(
    "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh",
    ("Số 86 Lê Thánh Tôn", f"Phường Sài Gòn, {PROVINCE_LONG}"),
    "028 3829 6052",
    "tthcc@tphcm.gov.vn",
)
CITIZEN = SlipParty("Nguyễn Thị Hằng", ("Số 12 ngõ 34 phố Láng Hạ", f"{WARD_LONG}, Thành phố Hà Nội"), "0912 345 678")
LIABILITY = (
    "Doanh nghiệp bưu chính bồi thường thiệt hại theo Nghị định 47/2011/NĐ-CP: mức tối thiểu bằng 4 lần cước đã trả "
    "(đã gồm hoàn cước); hoàn cước khi chậm chỉ tiêu thời gian toàn trình."
)
PROCEDURE = "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất"

RETURN_SLIP = SlipContent(
    slip_number="EB123456785VN",
    kind="return",
    kind_label="Nhận kết quả",
    sender=AGENCY,
    recipient=CITIZEN,
    procedure_name=PROCEDURE,
    dossier_code="000.00.12.H29-250101-0001",
    documents=(
        SlipDocument(
            "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất", "original"
        ),
        SlipDocument("Tờ khai đăng ký biến động đất đai", "copy", 2),
        SlipDocument("Căn cước công dân", "certified_copy"),
    ),
    result_included=True,
    accepted_at="14:30 21/11/2025",
    place="Bộ phận Một cửa, Số 86 Lê Thánh Tôn",
    method="Nhận tại Bộ phận Một cửa",
    carrier_name="VNPost",
    service_name="Bưu chính công ích",
    postage_vnd=1234567,
    payment_method="Người nhận trả tiền mặt",
    quality_promise="Toàn trình J+2 ngày làm việc",
    liability=LIABILITY,
    tracking_url="https://tracuu.example.gov.vn/van-don/EB123456785VN",
    weight_g=1250,
    cod_vnd=30000,
)

SLIP_STRINGS = [
    "PHIẾU GỬI KẾT QUẢ GIẢI QUYẾT TTHC",
    "Nhận kết quả",
    "EB 123 456 785 VN",
    "NGƯỜI GỬI",
    "NGƯỜI NHẬN",
    AGENCY.name,
    "Số 86 Lê Thánh Tôn",
    f"Phường Sài Gòn, {PROVINCE_LONG}",
    "Điện thoại: 028 3829 6052",
    "Email: tthcc@tphcm.gov.vn",
    CITIZEN.name,
    "Số 12 ngõ 34 phố Láng Hạ",
    f"{WARD_LONG}, Thành phố Hà Nội",
    "Điện thoại: 0912 345 678",
    f"Thủ tục hành chính: {PROCEDURE}",
    "Mã hồ sơ: 000.00.12.H29-250101-0001",
    "Bưu gửi có kết quả giải quyết thủ tục hành chính",
    "STT",
    "Tên giấy tờ",
    "Bản chính / bản chứng thực / bản sao",
    "Số lượng",
    "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
    "BẢN CHÍNH",
    "Bản sao",
    "Bản chứng thực",
    "Thời gian chấp nhận: 14:30 21/11/2025",
    "Địa điểm chấp nhận: Bộ phận Một cửa, Số 86 Lê Thánh Tôn",
    "Phương thức: Nhận tại Bộ phận Một cửa",
    "VNPost – Bưu chính công ích",
    "Cước: 1.234.567 đồng",
    "Thanh toán: Người nhận trả tiền mặt",
    "Khối lượng: 1.250 g",
    "Thu hộ (COD): 30.000 đồng",
    "Chất lượng dịch vụ: Toàn trình J+2 ngày làm việc",
    LIABILITY,
    "Người gửi",
    "Nhân viên bưu chính",
    "Người nhận",
    "(Ký, ghi rõ họ tên)",
    "Đã kiểm tra CCCD/Hộ chiếu số:",
    "Số phiếu gửi: EB123456785VN",
    "Trang 1/1",
]
# short enough to sit on one line: checked byte for byte in ``pdftotext -layout`` output, unflattened
SLIP_ONE_LINE = ["Nguyễn Thị Hằng", "Cước: 1.234.567 đồng", "Bưu gửi có kết quả giải quyết thủ tục hành chính"]

LONG_DOC = (
    "Bản vẽ sơ đồ thửa đất, tài sản gắn liền với đất kèm theo xác nhận của Ủy ban nhân dân {ward} về hiện trạng "
    "sử dụng đất số {n}"
)


def _many_documents(n: int = 40) -> tuple[SlipDocument, ...]:
    kinds = ("original", "copy", "certified_copy")
    return tuple(SlipDocument(LONG_DOC.format(ward=WARD_LONG, n=i + 1), kinds[i % 3], i % 4 + 1) for i in range(n))


LONG_PARTY = SlipParty(
    LONG_NAME, (LONG_STREET, f"{WARD_LONG}, {PROVINCE_LONG}"), "0912 345 678", "a.rat.long.email@example.com.vn"
)
MANY_SLIP = dataclasses.replace(
    RETURN_SLIP,
    slip_number="PG-2025-000123",
    kind="pickup",
    kind_label="Gửi hồ sơ",
    sender=LONG_PARTY,
    recipient=dataclasses.replace(LONG_PARTY, name=AGENCY.name, email=""),
    procedure_name=" ".join([PROCEDURE] * 3),
    documents=_many_documents(),
    result_included=False,
    postage_vnd=None,
    liability=" ".join([LIABILITY] * 4),
)

CITIZENS = ("Nguyễn Thị Hằng", "Trần Văn Đức", "Lê Thị Ánh Tuyết", LONG_NAME)
SUMMARIES = ("2 bản chính, 1 bản sao", "1 bản chính", "3 bản sao, 1 bản chứng thực")


def _handover(n: int, direction: str = "to_agency") -> HandoverContent:
    lines = tuple(
        HandoverLine(
            slip_number=f"EB{i:09d}VN",
            tracking_code=f"RR{i:09d}VN",
            dossier_code=f"000.00.12.H29-250101-{i:04d}",
            recipient_name=CITIZENS[i % 4],
            documents_summary=SUMMARIES[i % 3],
            complete=i % 17 != 5,
        )
        for i in range(1, n + 1)
    )
    to_agency = direction == "to_agency"
    return HandoverContent(
        handover_id="BB-20251121-0007",
        direction=direction,
        title="BIÊN BẢN GIAO NHẬN HỒ SƠ",
        created_at="15:45 21/11/2025",
        place=f"Bộ phận Một cửa, Số 86 Lê Thánh Tôn, Phường Sài Gòn, {PROVINCE_LONG}",
        agency_name=AGENCY.name,
        agency_address=f"Số 86 Lê Thánh Tôn, Phường Sài Gòn, {PROVINCE_LONG}",
        post_name="Bưu điện Thành phố Hồ Chí Minh – Bưu cục Sài Gòn",
        giver_label="Bên giao" if to_agency else "Bên giao (cơ quan)",
        receiver_label="Bên nhận" if to_agency else "Bên nhận (bưu chính)",
        lines=lines,
    )


LEGAL = "Thời điểm ký Biên bản này là thời điểm các hồ sơ nêu trên được nộp hợp lệ"


# ------------------------------------------------------------------------------------------------------- helpers


def _normalise_all(value, form: str):
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


def _raw_text(pdf: bytes, page: int | None = None) -> str:
    """``pdftotext -raw`` (content-stream order): a paragraph wrapped inside a column comes out in one piece."""
    exe = which("pdftotext")
    assert exe, "poppler-utils (pdftotext) is required"
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run([exe, "-raw", "-enc", "UTF-8", *pages, "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _page_texts(pdf: bytes) -> list[str]:
    pages = int(pdfinfo(pdf)["Pages"])
    return [_collapse(_raw_text(pdf, n)) for n in range(1, pages + 1)]


def _assert_nfc_text(pdf: bytes, expected: list[str], one_line: list[str]) -> None:
    raw = _raw_text(pdf)
    layout = pdftotext(pdf)
    for text in (raw, layout):
        assert unicodedata.is_normalized("NFC", text)
        assert not any(unicodedata.combining(ch) for ch in text), "combining marks drawn: text was not NFC-normalised"
    flat = _collapse(raw)
    for string in expected:
        assert unicodedata.is_normalized("NFC", string)
        assert string in flat, f"{string!r} missing from:\n{raw}"
    for string in one_line:
        assert string.encode() in layout.encode(), f"{string!r} not byte-identical in:\n{layout}"


def _assert_pages(pdf: bytes, size: tuple[float, float]) -> int:
    assert pdf.startswith(b"%PDF-")
    info = pdfinfo(pdf)
    pages = int(info["Pages"])
    assert len(info["page_sizes"]) == pages
    for width, height in info["page_sizes"]:
        assert width == pytest.approx(size[0], abs=0.01)
        assert height == pytest.approx(size[1], abs=0.01)
    return pages


def _assert_embedded_dejavu(pdf: bytes) -> None:
    fonts = pdffonts(pdf)
    assert fonts
    assert all(row["emb"] == "yes" for row in fonts), fonts
    assert all("DejaVuSans" in row["name"] for row in fonts), fonts
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= {row["name"].split("+")[-1] for row in fonts}, fonts


def _overlaps(a: dict, b: dict, eps: float = 0.05) -> bool:
    return (
        a["x0"] < b["x1"] - eps
        and b["x0"] < a["x1"] - eps
        and a["top"] < b["bottom"] - eps
        and b["top"] < a["bottom"] - eps
    )


def _assert_tidy(pdf: bytes, margin: float) -> None:
    """On every page: no two words (pdfplumber boxes) intersect, and all text and vector ink is inside the margins."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for number, page in enumerate(doc.pages, start=1):
            width, height = float(page.width), float(page.height)
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
            assert words, f"page {number} has no text"
            boxes = [*words, *page.rects, *page.lines, *page.curves]
            for obj in boxes:
                assert obj["x0"] >= margin - EPS and obj["x1"] <= width - margin + EPS, (number, obj.get("text"), obj)
                assert obj["top"] >= margin - EPS and obj["bottom"] <= height - margin + EPS, (number, obj.get("text"))
            words.sort(key=lambda w: w["top"])
            for i, a in enumerate(words):
                for b in words[i + 1 :]:
                    if b["top"] >= a["bottom"]:
                        break
                    assert not _overlaps(a, b), (number, a["text"], b["text"], a, b)


def _assert_numbered(texts: list[str], reference: str) -> None:
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Trang {number}/{total}" in text, (number, text[-200:])
        assert reference in text, number
        others = [f"Trang {n}/{total}" for n in range(1, total + 1) if n != number]
        assert not any(other in text for other in others)


def _decoded(pdf: bytes, dpi: int) -> list[tuple[str, str]]:
    page = rasterise(pdf, dpi, mono=True)[0]
    return decode(page)


# ------------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def renderer() -> PdfLabelRenderer:
    return PdfLabelRenderer()


@pytest.fixture(scope="module", params=["NFC", "NFD"])
def return_slip(request, renderer) -> bytes:
    content = _normalise_all(RETURN_SLIP, request.param)
    if request.param == "NFD":
        assert content.recipient.name != CITIZEN.name
    return renderer.render_slip(content)


@pytest.fixture(scope="module")
def many_slip(renderer) -> bytes:
    return renderer.render_slip(MANY_SLIP)


@pytest.fixture(scope="module", params=["NFC", "NFD"])
def handover_30(request, renderer) -> bytes:
    return renderer.render_handover(_normalise_all(_handover(30), request.param))


@pytest.fixture(scope="module")
def handover_500(renderer) -> bytes:
    return renderer.render_handover(_handover(500))


# ---------------------------------------------------------------------------------------------------- the slip


def test_slip_is_a5(return_slip, many_slip):
    assert _assert_pages(return_slip, A5) == 1
    assert _assert_pages(many_slip, A5) > 1


def test_slip_text_is_nfc_and_complete(return_slip):
    _assert_nfc_text(return_slip, SLIP_STRINGS, SLIP_ONE_LINE)


def test_slip_fonts_and_metadata(return_slip):
    _assert_embedded_dejavu(return_slip)
    info = pdfinfo(return_slip)
    assert info["Author"] == "postal-bridge"
    assert "EB123456785VN" in info["Title"]
    assert "Phiếu gửi" in info["Title"]


@pytest.mark.parametrize("dpi", [203, 300])
def test_slip_codes_scan(return_slip, dpi):
    found = _decoded(return_slip, dpi)
    assert ("Code128", RETURN_SLIP.slip_number) in found, found
    assert ("QRCode", RETURN_SLIP.tracking_url) in found, found


def test_slip_layout_is_tidy(return_slip):
    _assert_tidy(return_slip, SLIP_MARGIN)


def test_pickup_slip_has_its_own_title_and_no_receiver_box(renderer):
    pickup = dataclasses.replace(
        RETURN_SLIP, kind="pickup", kind_label="Gửi hồ sơ", result_included=False, tracking_url=""
    )
    pdf = renderer.render_slip(pickup)
    flat = _collapse(_raw_text(pdf))
    assert "PHIẾU GỬI HỒ SƠ" in flat
    assert "KẾT QUẢ GIẢI QUYẾT TTHC" not in flat
    assert "Bưu gửi có kết quả" not in flat
    assert "Đã kiểm tra CCCD" not in flat
    assert "Người gửi" in flat and "Nhân viên bưu chính" in flat
    found = _decoded(pdf, 203)
    assert ("Code128", "EB123456785VN") in found
    assert not [f for f in found if f[0] == "QRCode"]  # no tracking URL, no QR
    _assert_tidy(pdf, SLIP_MARGIN)


def test_many_documents_flow_over_pages(many_slip):
    texts = _page_texts(many_slip)
    total = len(texts)
    assert total >= 3
    _assert_numbered(texts, "Số phiếu gửi: PG-2025-000123")
    # every document appears once, in order; every page holding rows repeats the table header
    flat = " ".join(texts)
    positions = [flat.find(d.name) for d in MANY_SLIP.documents]
    assert all(p >= 0 for p in positions), [
        d.name for d, p in zip(MANY_SLIP.documents, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    for text in texts:
        if any(d.name in text for d in MANY_SLIP.documents):
            assert "Tên giấy tờ" in text and "Bản chính / bản chứng thực / bản sao" in text
    # the signatures close the last page and appear nowhere else
    for number, text in enumerate(texts, start=1):
        has_signatures = "(Ký, ghi rõ họ tên)" in text and "Nhân viên bưu chính" in text
        assert has_signatures == (number == total), number
    assert "Cước: theo bảng giá" in flat
    assert LONG_NAME in flat and LONG_STREET in flat and f"{WARD_LONG}, {PROVINCE_LONG}" in flat


def test_many_documents_layout_is_tidy(many_slip):
    _assert_tidy(many_slip, SLIP_MARGIN)
    _assert_embedded_dejavu(many_slip)


@pytest.mark.parametrize("dpi", [203, 300])
def test_many_documents_slip_code_scans(many_slip, dpi):
    assert ("Code128", "PG-2025-000123") in _decoded(many_slip, dpi)


def test_unknown_document_kind_is_refused(renderer):
    bad = dataclasses.replace(RETURN_SLIP, documents=(SlipDocument("Giấy tờ lạ", "photo"),))
    with pytest.raises(ValueError, match="photo"):
        renderer.render_slip(bad)


@pytest.mark.parametrize(("amount", "shown"), [(None, "theo bảng giá"), (0, "0 đồng"), (25000, "25.000 đồng")])
def test_format_dong(amount, shown):
    assert format_dong(amount) == shown


# ------------------------------------------------------------------------------------------------ the handover

HANDOVER_STRINGS = [
    "BIÊN BẢN GIAO NHẬN HỒ SƠ",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập – Tự do – Hạnh phúc",
    "Số biên bản: BB-20251121-0007",
    "Thời gian lập: 15:45 21/11/2025",
    f"Địa điểm: Bộ phận Một cửa, Số 86 Lê Thánh Tôn, Phường Sài Gòn, {PROVINCE_LONG}",
    "Bên giao",
    "Bưu điện Thành phố Hồ Chí Minh – Bưu cục Sài Gòn",
    "Bên nhận",
    AGENCY.name,
    "STT",
    "Số phiếu gửi",
    "Mã bưu gửi",
    "Mã hồ sơ",
    "Người gửi",
    "Giấy tờ",
    "Đầy đủ",
    "EB000000001VN",
    "RR000000001VN",
    "000.00.12.H29-250101-0001",
    "Trần Văn Đức",
    "2 bản chính, 1 bản sao",
    "✓",
    "Chưa đủ",
    "Tổng số: 30 bưu gửi",
    LEGAL,
    "Quyết định số 45/2016/QĐ-TTg",
    "(Ký, ghi rõ họ tên)",
]
HANDOVER_ONE_LINE = ["BIÊN BẢN GIAO NHẬN HỒ SƠ", "Lê Thị Ánh Tuyết", "Tổng số: 30 bưu gửi", "000.00.12.H29-250101-0017"]


def test_handover_is_a4(handover_30, handover_500):
    assert _assert_pages(handover_30, A4) >= 1
    assert _assert_pages(handover_500, A4) > 5


def test_handover_text_is_nfc_and_complete(handover_30):
    _assert_nfc_text(handover_30, HANDOVER_STRINGS, HANDOVER_ONE_LINE)


def test_handover_fonts_and_metadata(handover_30):
    _assert_embedded_dejavu(handover_30)
    info = pdfinfo(handover_30)
    assert info["Author"] == "postal-bridge"
    assert "BB-20251121-0007" in info["Title"]


@pytest.mark.parametrize("dpi", [203, 300])
def test_handover_code_scans(handover_30, dpi):
    assert ("Code128", "BB-20251121-0007") in _decoded(handover_30, dpi)


def test_handover_layout_is_tidy(handover_30):
    _assert_tidy(handover_30, HANDOVER_MARGIN)


def test_500_lines_flow_over_pages(handover_500):
    texts = _page_texts(handover_500)
    total = len(texts)
    _assert_numbered(texts, "Biên bản số: BB-20251121-0007")
    flat = " ".join(texts)
    positions = [flat.find(f"EB{i:09d}VN") for i in range(1, 501)]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)
    for text in texts:
        if "RR0000" in text:
            assert "Số phiếu gửi" in text and "Mã bưu gửi" in text and "Đầy đủ" in text  # header repeated
    for number, text in enumerate(texts, start=1):
        assert ("(Ký, ghi rõ họ tên)" in text) == (number == total), number
    assert "Tổng số: 500 bưu gửi" in texts[-1]
    assert LEGAL in flat
    assert LONG_NAME in flat


def test_500_lines_layout_is_tidy(handover_500):
    _assert_tidy(handover_500, HANDOVER_MARGIN)


def test_to_post_handover_swaps_parties_and_has_no_legal_clock(renderer):
    pdf = renderer.render_handover(_handover(3, "to_post"))
    flat = _collapse(_raw_text(pdf))
    assert LEGAL not in flat
    assert "Người nhận" in flat and "Người gửi" not in flat
    giver = flat.index("Bên giao (cơ quan)")
    receiver = flat.index("Bên nhận (bưu chính)")
    assert giver < flat.index(AGENCY.name, giver) < receiver < flat.index("Bưu điện Thành phố Hồ Chí Minh", receiver)
    assert "Tổng số: 3 bưu gửi" in flat
    _assert_tidy(pdf, HANDOVER_MARGIN)


def test_empty_handover_still_renders(renderer):
    pdf = renderer.render_handover(_handover(0))
    assert "Tổng số: 0 bưu gửi" in _collapse(_raw_text(pdf))
