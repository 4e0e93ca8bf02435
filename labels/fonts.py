"""Vendored DejaVu fonts, registered with reportlab once per process (lazily, thread-safe).

The TrueType files live in ``labels/ttf/`` (licence: ``labels/ttf/LICENSE-DejaVu.txt``). reportlab embeds a
subset of every TTF font it draws with, so the PDFs never depend on fonts installed on the printing machine.
"""

from __future__ import annotations

import threading
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "ttf"

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"

_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

_lock = threading.Lock()
_registered = False

# reportlab's registered TTFont objects are process-wide and not thread-safe: subsetting at ``Canvas.save`` seeks
# and reads through one shared file cursor per font, so two documents saved at once corrupt each other's subsets
# (IndexError, or worse, wrong glyphs). Hold this lock around drawing + saving a document. Rendering is CPU-bound
# pure Python, so with the GIL serialising it costs no throughput.
RENDER_LOCK = threading.RLock()


def ensure_fonts() -> None:
    """Register the label fonts with reportlab; cheap after the first call, safe to call from many threads."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        for name, filename in _FILES.items():
            path = FONT_DIR / filename
            if not path.is_file():
                raise FileNotFoundError(f"label font missing: {path}")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
        _registered = True
