"""ZPL labels for thermal printers: Z64 ``^GF`` rasters of the label PDF that decode back to the same barcodes."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from zebrafy import ZebrafyZPL

from labels import PdfLabelRenderer
from labels.zpl import label_dots, pdf_to_zpl
from postal_bridge.domain.labels import LabelContent, LabelParty
from tests.pdf_tools import decode

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
)

_BLOCK = re.compile(r"\^XA.*?\^XZ", re.DOTALL)
_GF = re.compile(r"\^FO(\d+),(\d+)\^GFA,(\d+),(\d+),(\d+),:Z64:([A-Za-z0-9+/=]+):([0-9A-Fa-f]{4})\^FS")


def _with_code(code: str, name: str) -> LabelContent:
    return dataclasses.replace(
        SAMPLE,
        tracking_code=code,
        tracking_url=f"https://tracuu.example.gov.vn/van-don/{code}",
        recipient=dataclasses.replace(SAMPLE.recipient, name=name),
    )


def _assert_scans(image, content: LabelContent) -> None:
    found = decode(image)
    assert ("Code128", content.tracking_code) in found, found
    assert ("QRCode", f"{content.tracking_url}#{content.tracking_code}") in found, found


@pytest.fixture(scope="module")
def renderer() -> PdfLabelRenderer:
    return PdfLabelRenderer()


@pytest.fixture(scope="module", params=[203, 300])
def single(request, renderer) -> tuple[int, str]:
    return request.param, renderer.render_label_zpl(SAMPLE, dpi=request.param)


def test_single_label_is_one_complete_z64_block(single):
    dpi, zpl = single
    assert zpl.startswith("^XA")
    assert zpl.endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert len(_BLOCK.findall(zpl)) == 1
    (field,) = _GF.findall(zpl)
    assert zpl.count("^GF") == 1
    width, height = label_dots(dpi)
    assert f"^PW{width}" in zpl and f"^LL{height}" in zpl
    assert (width, height) == {203: (812, 1218), 300: (1200, 1800)}[dpi]
    x, y, byte_count, total, row_bytes, data, _crc = field
    assert int(byte_count) == len(f":Z64:{data}:{_crc}")  # ^GF's byte count covers the whole Z64 payload
    image_w, image_h = int(row_bytes) * 8, int(total) // int(row_bytes)
    assert int(total) == int(row_bytes) * image_h
    # 100×150 mm rasterised 1:1 (never rescaled), centred on the 4×6 in label.
    assert image_w - 8 < 100 / 25.4 * dpi <= image_w
    assert image_h == pytest.approx(150 / 25.4 * dpi, abs=1)
    assert int(x) == (width - image_w) // 2 and int(y) == (height - image_h) // 2
    assert len(zpl) < 40_000  # Z64 keeps a label small (ASCII hex would be ~100–330 KB)


def test_single_label_decodes_back_to_the_same_codes(single):
    dpi, zpl = single
    (image,) = ZebrafyZPL(zpl, dpi=dpi).to_images()  # also checks the Z64 CRC
    assert image.mode == "1"
    assert image.height == pytest.approx(150 / 25.4 * dpi, abs=1)
    _assert_scans(image, SAMPLE)


def test_raster_is_thresholded_not_dithered(single):
    """A plain threshold keeps the 3 mm margins blank and bar edges straight; dithering would sprinkle dots."""
    dpi, zpl = single
    (image,) = ZebrafyZPL(zpl, dpi=dpi).to_images()
    gray = image.convert("L")
    w, h = int(100 / 25.4 * dpi), gray.height  # the bitmap's width is padded (white) to whole bytes
    band = int(3 / 25.4 * dpi) - 1
    for box in ((0, 0, w, band), (0, h - band, w, h), (0, 0, band, h), (w - band, 0, gray.width, h)):
        assert gray.crop(box).getextrema() == (255, 255), box


@pytest.mark.parametrize("dpi", [203, 300])
def test_batch_is_one_block_per_label_in_order(renderer, dpi):
    batch = [
        _with_code("EB123456785VN", "Nguyễn Thị Hằng"),
        _with_code("RR987654321VN", "Trần Văn Đức"),
        _with_code("SBX-000042", "Lê Thị Ánh Tuyết"),
    ]
    zpl = renderer.render_labels_zpl(batch, dpi=dpi)
    assert zpl.startswith("^XA") and zpl.endswith("^XZ")
    blocks = _BLOCK.findall(zpl)
    assert len(blocks) == 3
    assert zpl.count("^XA") == 3 and zpl.count("^XZ") == 3
    assert all(len(_GF.findall(block)) == 1 for block in blocks)
    images = ZebrafyZPL(zpl, dpi=dpi).to_images()
    assert len(images) == 3
    for image, content in zip(images, batch, strict=True):
        _assert_scans(image, content)


def test_pdf_to_zpl_matches_the_renderer(renderer):
    pdf = renderer.render_label(SAMPLE)
    assert pdf_to_zpl(pdf, 203) == renderer.render_label_zpl(SAMPLE)  # 203 dpi is the default


@pytest.mark.parametrize("dpi", [0, 72, 200, 204, 600, -203, True, "203", 203.0])
def test_unsupported_dpi_raises(renderer, dpi):
    pdf = renderer.render_label(SAMPLE)
    with pytest.raises(ValueError, match="dpi"):
        pdf_to_zpl(pdf, dpi)
    with pytest.raises(ValueError, match="dpi"):
        renderer.render_label_zpl(SAMPLE, dpi=dpi)
    with pytest.raises(ValueError, match="dpi"):
        renderer.render_labels_zpl([SAMPLE, SAMPLE], dpi=dpi)


def test_empty_pdf_raises():
    with pytest.raises(ValueError):
        pdf_to_zpl(b"", 203)
