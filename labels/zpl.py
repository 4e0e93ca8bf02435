"""ZPL for Zebra-compatible thermal printers: our label PDF rasterised into one ``^GF`` graphic per page.

The rasterising and the ``^GF`` encoding are done by ``zebrafy`` (LGPL-3.0, used unmodified as a library): PDFium
renders each page at the printer's resolution, a plain threshold (no dithering, which would fray bar edges) turns
it into a 1-bit bitmap, and the bitmap goes out as Z64 (zlib + base64 + CRC), the most compact ``^GF`` format.

The 100×150 mm page is rasterised 1:1 (never rescaled: the Code128 bars are laid out on whole 203-dpi dots, a
resize would round them unevenly) and centred with ``^FO`` on a 4×6 in label, whose size is set with ``^PW``/``^LL``:
812×1218 dots at 203 dpi, 1200×1800 at 300 dpi. Text stays a picture, so Vietnamese needs no printer font
(``^CI28`` + a downloaded TrueType) at all.
"""

from __future__ import annotations

import re

from zebrafy import ZebrafyPDF

SUPPORTED_DPI = (203, 300)
LABEL_WIDTH_IN = 4
LABEL_HEIGHT_IN = 6
THRESHOLD = 128  # grey level at or below which a pixel prints (0 = black, 255 = white)

# One zebrafy field per page: "^FO0,0^GFA,<bytes>,<total>,<bytes per row>,<data>^FS".
_FIELD = re.compile(r"\^FO0,0(\^GFA,\d+,(\d+),(\d+),:Z64:[^^]*\^FS)")


def label_dots(dpi: int) -> tuple[int, int]:
    """Width and height of a 4×6 in label in printer dots (812×1218 at 203 dpi, 1200×1800 at 300 dpi)."""
    check_dpi(dpi)
    return LABEL_WIDTH_IN * dpi, LABEL_HEIGHT_IN * dpi


def check_dpi(dpi: int) -> None:
    """``ValueError`` naming the dpi unless it is exactly the int 203 or 300."""
    if type(dpi) is not int or dpi not in SUPPORTED_DPI:
        raise ValueError(f"unsupported dpi {dpi!r}: ZPL labels are rendered at dpi 203 or 300")


def pdf_to_zpl(pdf: bytes, dpi: int) -> str:
    """Every page of ``pdf`` as one ``^XA … ^XZ`` label holding a Z64 ``^GF`` graphic at ``dpi`` (203 or 300);
    labels are separated by a newline, in page order.

    Raises ``ValueError`` for any other ``dpi`` and for a PDF without pages.
    """
    check_dpi(dpi)
    if not pdf:
        raise ValueError("pdf_to_zpl needs a PDF, got no bytes")
    fields = ZebrafyPDF(
        pdf,
        format="Z64",
        dpi=dpi,
        dither=False,
        threshold=THRESHOLD,
        split_pages=True,
        complete_zpl=False,
    ).to_zpl()
    width, height = label_dots(dpi)
    blocks = []
    for match in _FIELD.finditer(fields):
        graphic, total, row_bytes = match.group(1), int(match.group(2)), int(match.group(3))
        image_w, image_h = row_bytes * 8, total // row_bytes  # width rounded up to whole bytes (white padding)
        x = max(0, (width - image_w) // 2)
        y = max(0, (height - image_h) // 2)
        blocks.append(f"^XA\n^PW{width}\n^LL{height}\n^LH0,0\n^FO{x},{y}{graphic}\n^XZ")
    if not blocks:
        raise ValueError("the PDF rendered to no ZPL graphic")
    return "\n".join(blocks)
