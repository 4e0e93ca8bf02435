"""Code128 and QR symbols sized in whole thermal-printer dots (203 dpi), drawn straight onto a reportlab canvas.

Widths snap to the printer grid so every bar and module is a whole number of dots: a 0.375 mm Code128 module is
exactly 3 dots, and a QR module is ``n`` dots. Off-grid widths get rounded differently from bar to bar by the
printer, which is what makes cheap labels unscannable.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

PRINTER_DPI = 203
DOT = 72.0 / PRINTER_DPI  # one printer dot, in PDF points
CODE128_MODULE_DOTS = 3  # 0.375 mm
CODE128_MIN_MODULE_DOTS = 2
CODE128_QUIET_MODULES = 10
QR_QUIET_MODULES = 4
QR_MIN_MODULE_DOTS = 2

_DARK = bytes([0] + [1] * 255)  # bytes.translate table: any non-zero module value is dark
_DARK_RUN = re.compile(b"\x01+")
_S10 = re.compile(r"^([A-Z]{2})(\d{3})(\d{3})(\d{3})([A-Z]{2})$")


def snap_up(value: float) -> float:
    """Smallest whole number of dots that is >= ``value`` (points in, points out)."""
    return math.ceil(value / DOT - 1e-9) * DOT


def snap_down(value: float) -> float:
    """Largest whole number of dots that is <= ``value`` (points in, points out)."""
    return math.floor(value / DOT + 1e-9) * DOT


def human_readable(code: str) -> str:
    """Text printed under the bars: UPU S10 codes grouped (``EB 123 456 785 VN``), anything else unchanged."""
    match = _S10.match(code)
    return " ".join(match.groups()) if match else code


def _check_code128(value: str) -> None:
    if not value:
        raise ValueError("Code128 value is empty")
    bad = [c for c in value if not 32 <= ord(c) <= 126]
    if bad:
        raise ValueError(f"Code128 value {value!r} has characters outside printable ASCII: {bad!r}")


@dataclass(frozen=True)
class Code128Symbol:
    """A Code128 widget whose module width is a whole number of dots; ``width`` includes both quiet zones.

    ``width`` is read from the widget once: every read of reportlab's ``Code128.width`` re-validates, re-encodes and
    re-measures the value.
    """

    widget: Code128
    module_dots: int
    width: float
    pattern: str  # reportlab's decomposition: a bar per capital, a space per small letter, (letter index + 1) modules

    @property
    def bar_height(self) -> float:
        return float(self.widget.barHeight)


def make_code128(
    value: str,
    *,
    max_width: float,
    bar_height: float,
    module_dots: int = CODE128_MODULE_DOTS,
    min_module_dots: int = CODE128_MIN_MODULE_DOTS,
) -> Code128Symbol:
    """The widest whole-dot Code128 (``module_dots`` down to ``min_module_dots``) that fits in ``max_width``."""
    _check_code128(value)
    for dots in range(module_dots, min_module_dots - 1, -1):
        bar_width = dots * DOT
        widget = Code128(
            value,
            barWidth=bar_width,
            barHeight=bar_height,
            humanReadable=False,
            quiet=True,
            lquiet=CODE128_QUIET_MODULES * bar_width,
            rquiet=CODE128_QUIET_MODULES * bar_width,
        )
        width = float(widget.width)
        if width <= max_width + 1e-6:
            return Code128Symbol(widget=widget, module_dots=dots, width=width, pattern=widget.decomposed)
    raise ValueError(f"Code128 for {value!r} does not fit in {max_width:.1f} pt even at {min_module_dots} dots/module")


def draw_code128(
    canv: Canvas,
    value: str,
    *,
    left: float,
    right: float,
    top: float,
    bar_height: float,
    font: str,
    font_size: float,
    text_gap: float = 2.0,
) -> float:
    """Draw ``value`` centred between ``left`` and ``right`` with its bars starting at ``top``, and the
    human-readable text (spaced S10 grouping) underneath in ``font``. Returns the y of the lowest ink drawn.

    The left edge of the symbol is snapped to the dot grid (page x = 0 is a dot boundary), so bars map onto
    whole printer dots.
    """
    symbol = make_code128(value, max_width=right - left, bar_height=bar_height)
    x = snap_down(left + (right - left - symbol.width) / 2.0)
    if x < left:
        x = snap_up(left)
    y = top - bar_height
    # What ``symbol.widget.drawOn(canv, x, y)`` writes, operator for operator (one ``n x 0 w h re f*`` per bar,
    # positions accumulated as reportlab does), without re-encoding the value and with the few distinct bar
    # widths and the bar height formatted once instead of once per bar.
    canv.saveState()
    canv.translate(x, y)
    bar_width = symbol.widget.barWidth
    height = fp_str(bar_height)
    widths: dict[int, str] = {}
    position = symbol.widget.lquiet
    ops = []
    for c in symbol.pattern:
        if "a" <= c <= "z":
            position = position + (ord(c) - ord("a") + 1) * bar_width
        else:
            w = (ord(c) - ord("A") + 1) * bar_width
            size = widths.get(w)
            if size is None:
                size = widths[w] = fp_str(w)
            ops.append(f"n {fp_str(position)} 0 {size} {height} re f*")
            position += w
    canv.addLiteral("\n".join(ops))
    canv.restoreState()

    text = human_readable(value)
    bar_left = x + symbol.widget.lquiet
    bar_right = x + symbol.width - symbol.widget.rquiet
    # The text may use the quiet zones' width as well, but never more than the given box.
    size = font_size
    while size > 5.0 and stringWidth(text, font, size) > right - left:
        size -= 0.25
    baseline = y - text_gap - size * 0.93
    canv.setFont(font, size)
    canv.drawCentredString((bar_left + bar_right) / 2.0, baseline, text)
    return baseline - size * 0.24


def qr_matrix(payload: str) -> tuple[bytearray, ...]:
    """Rows of the QR symbol (error level M, no quiet zone), 1 = dark module."""
    import segno

    if not payload:
        raise ValueError("QR payload is empty")
    # A fixed mask skips segno scoring all eight (≈ 5 ms of a ≈ 19 ms label); decoding is tested, photo included.
    return segno.make_qr(payload, error="m", boost_error=False, mask=2).matrix


def _qr_rects(matrix: tuple[bytearray, ...]) -> list[tuple[int, int, int, int]]:
    """The dark modules as non-overlapping rectangles ``(column, row_from_bottom, width, height)`` in modules.

    Each row's runs of dark modules are merged horizontally; a run that repeats exactly (same start and end) in the
    rows below grows downwards instead of starting a new rectangle. Non-overlapping, so the even-odd and the
    non-zero fill rules both fill exactly the dark modules.
    """
    n = len(matrix)
    done: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start, end) -> top row of the rectangle still growing down
    for r, row in enumerate(matrix):
        current = {}
        for run in _DARK_RUN.finditer(row.translate(_DARK)):
            span = run.span()
            current[span] = open_runs.pop(span, r)
        for (start, end), top in open_runs.items():  # runs that stopped above this row
            done.append((start, n - r, end - start, r - top))
        open_runs = current
    for (start, end), top in open_runs.items():
        done.append((start, 0, end - start, n - top))
    return done


def draw_qr(canv: Canvas, payload: str, *, left: float, top: float, max_size: float) -> float:
    """Draw the QR for ``payload`` with its quiet-zone box's top-left corner at (``left``, ``top``).

    All dark modules are emitted as ONE filled path of non-overlapping rectangles (runs merged horizontally, and
    identical runs in consecutive rows merged vertically) in a coordinate system scaled to one module, so every
    number in the path is a small integer: the content stream stays small and cheap to write, compress and encode,
    and rasterisers fill the union without hairline seams. The quiet zone is left blank (the caller keeps other ink
    out of the returned square). Returns the side of that square.
    """
    matrix = qr_matrix(payload)
    modules = len(matrix) + 2 * QR_QUIET_MODULES
    dots = math.floor(max_size / DOT / modules + 1e-9)  # whole printer dots per module
    if dots < QR_MIN_MODULE_DOTS:
        raise ValueError(f"QR for a {len(payload)}-character payload does not fit in {max_size:.1f} pt")
    module = dots * DOT
    origin_x = left + QR_QUIET_MODULES * module
    origin_bottom = top - (QR_QUIET_MODULES + len(matrix)) * module

    ops = " ".join(f"{x} {y} {w} {h} re" for x, y, w, h in _qr_rects(matrix))
    canv.saveState()
    canv.transform(module, 0, 0, module, origin_x, origin_bottom)
    canv.addLiteral(f"n {ops} f*")
    canv.restoreState()
    return modules * module
