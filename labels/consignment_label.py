"""Layout of the 100×150 mm consignment label, drawn from a :class:`LabelContent` onto a reportlab canvas.

Page map (top to bottom, all inside 3 mm safe margins):

* header: carrier + service, then kind label + print date, rule;
* sender block (small) and recipient block (large) share the flexible middle; both wrap and shrink to fit;
* rule, Code128 of the tracking code (≈18 mm bars) with a spaced human-readable line;
* rule, QR of ``<tracking URL>#<tracking code>`` on the left, dossier code / weight / COD / postage / handling
  note on the right;
* extra lines (small) at the very bottom.

reportlab does no text shaping, so every string is NFC-normalised before drawing: Vietnamese in NFD would draw
base letters and loose combining marks instead of the precomposed glyphs DejaVu provides.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from labels.barcodes import draw_code128, draw_qr, snap_down
from labels.fonts import BOLD, REGULAR, RENDER_LOCK, ensure_fonts
from postal_bridge.domain.labels import LabelContent, LabelParty

PAGE_WIDTH = 100 * mm
PAGE_HEIGHT = 150 * mm
MARGIN = 3 * mm

BAR_HEIGHT = 18 * mm
BARCODE_TEXT_SIZE = 11.0
QR_BOX = 30 * mm  # largest QR side, quiet zone included
SECTION_GAP = 2 * mm  # between sections; rules sit in the middle of it
RULE_WIDTH = 0.6
EXTRA_MAX_HEIGHT = 12 * mm
SENDER_SHARE = 0.3  # of the flexible middle, at most
RECIPIENT_MAX_SCALE = 1.3  # short addresses grow into the free space (name up to ~21 pt)

LEADING = 1.22  # line pitch as a multiple of the font size
ASCENT = 0.97  # baseline below the line top, as a multiple of the size (room for stacked Vietnamese marks)
ELLIPSIS = "…"

PDF_AUTHOR = "postal-bridge"
PDF_CREATOR = "postal-bridge labels"


def nfc(text: str) -> str:
    """NFC with whitespace runs (including newlines) collapsed: everything drawn goes through here."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def qr_payload(content: LabelContent) -> str:
    """What the label's QR holds: the tracking URL with the item code as its fragment.

    Browsers never send the fragment to the server, so a citizen's phone still opens the right tracking page, while
    a clerk's scanner reads the item code (the QR survives camera photos far better than the Code128).
    """
    return f"{content.tracking_url.strip()}#{content.tracking_code.strip()}"


def format_amount(value: int) -> str:
    """``25000`` → ``25.000`` (Vietnamese thousands separator)."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", ".")


def format_vnd(value: int) -> str:
    return f"{format_amount(value)} đ"


# --------------------------------------------------------------------------------------------------- text fitting


@dataclass(frozen=True)
class Segment:
    font: str
    size: float
    text: str


@dataclass(frozen=True)
class Line:
    """One printed line (segments drawn left to right on a shared baseline), or a blank spacer if empty."""

    segments: tuple[Segment, ...]
    height: float

    @property
    def size(self) -> float:
        return max((s.size for s in self.segments), default=0.0)


@dataclass(frozen=True)
class Para:
    """A paragraph to wrap: optional bold/regular ``prefix`` on the first line, ``text`` in ``font``."""

    text: str
    font: str
    size: float
    prefix: str = ""
    prefix_font: str = REGULAR
    space_before: float = 0.0


@functools.lru_cache(maxsize=16384)
def _width(text: str, font: str, size: float) -> float:
    """``stringWidth``, memoised: fitting measures the same words at the same sizes again and again (every retry
    of a shrinking block, the prefixes and captions of every label), and reportlab's pure-Python TrueType width is
    one dict lookup per character. The fonts are registered once per process and never change, so the cached value
    is exactly what ``stringWidth`` returns."""
    return stringWidth(text, font, size)


def _hard_break(line: str, font: str, size: float, width: float) -> list[str]:
    """Split a line that is still too wide (one very long word) at character boundaries."""
    out: list[str] = []
    while line and _width(line, font, size) > width:
        lo, hi = 1, len(line)
        while lo < hi:  # longest prefix that fits, at least one character
            mid = (lo + hi + 1) // 2
            if _width(line[:mid], font, size) <= width:
                lo = mid
            else:
                hi = mid - 1
        out.append(line[:lo])
        line = line[lo:].lstrip()
    if line:
        out.append(line)
    return out


def _simple_split(text: str, font: str, size: float, width: float) -> list[str]:
    """reportlab's ``simpleSplit`` (greedy word wrap on the font's metrics), step for step and with the same float
    arithmetic, so it breaks at exactly the same words, but measuring through the memoised :func:`_width`."""
    lines: list[str] = []
    space = _width(" ", font, size)
    for paragraph in text.split("\n"):
        words: list[str] = []
        used = -space
        for word in paragraph.split():
            word_width = _width(word, font, size)
            if used + space + word_width <= width or words == []:
                words.append(word)
                used = used + space + word_width
            else:
                lines.append(" ".join(words))
                words = [word]
                used = word_width
        if words != []:
            lines.append(" ".join(words))
    return lines


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Word-wrap with the font's real metrics (as reportlab ``simpleSplit``), breaking over-long words too."""
    lines: list[str] = []
    for line in _simple_split(text, font, size, width):
        lines.extend(_hard_break(line, font, size, width))
    return lines


def ellipsize(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut so that ``text + …`` fits in ``width``."""
    text = text.rstrip()
    while text and _width(text + ELLIPSIS, font, size) > width:
        text = text[:-1].rstrip()
    return text + ELLIPSIS


def _para_lines(para: Para, scale: float, width: float) -> list[Line]:
    size = para.size * scale
    height = size * LEADING
    lines: list[Line] = []
    if para.space_before:
        lines.append(Line((), para.space_before * scale))
    text = para.text
    if para.prefix:
        prefix = para.prefix + " "
        prefix_width = _width(prefix, para.prefix_font, size)
        head_seg = Segment(para.prefix_font, size, prefix)
        first = wrap(text, para.font, size, width - prefix_width) if width - prefix_width > size else []
        if not first:  # nothing (or no room) after the prefix: prefix on a line of its own
            lines.append(Line((head_seg,), height))
        else:
            head = first[0]
            lines.append(Line((head_seg, Segment(para.font, size, head)), height))
            assert text.startswith(head), (text, head)
            text = text[len(head) :].strip()
            if not text:
                return lines
    for chunk in wrap(text, para.font, size, width):
        lines.append(Line((Segment(para.font, size, chunk),), height))
    return lines


def _height(groups: Sequence[list[Line]]) -> float:
    return sum(line.height for group in groups for line in group)


def fit_block(
    paras: Sequence[Para], width: float, max_height: float, min_scale: float, max_scale: float = 1.0
) -> list[Line]:
    """Wrap ``paras`` in ``width``; shrink all sizes together (from ``max_scale`` down to ``min_scale``) until they
    fit in ``max_height``. If even the smallest size is too tall, drop trailing lines of the longest paragraphs (marking
    the cut with an ellipsis) so that the block never overflows."""
    paras = [p for p in paras if p.text or p.prefix]

    def count(groups: Sequence[list[Line]]) -> int:
        return sum(1 for group in groups for line in group if line.segments)

    # Grow into free space only while no paragraph gains a line from it.
    base_lines = count([_para_lines(p, 1.0, width) for p in paras])
    scale = max_scale
    while scale > 1.0:
        groups = [_para_lines(p, scale, width) for p in paras]
        if count(groups) == base_lines and _height(groups) <= max_height + 1e-6:
            return [line for group in groups for line in group]
        scale -= 0.05
    scale = 1.0
    while True:
        groups = [_para_lines(p, scale, width) for p in paras]
        if _height(groups) <= max_height + 1e-6 or scale <= min_scale:
            break
        scale = max(min_scale, scale - 0.03)
    while groups and _height(groups) > max_height + 1e-6:
        longest = max(range(len(groups)), key=lambda i: (len([ln for ln in groups[i] if ln.segments]), i))
        group = groups[longest]
        if len([ln for ln in group if ln.segments]) <= 1:
            groups.pop()  # every paragraph is down to one line: drop the last one
            continue
        group.pop()
        last = group[-1]
        *keep, tail = last.segments
        tail = Segment(
            tail.font,
            tail.size,
            ellipsize(tail.text, tail.font, tail.size, width - sum(_width(s.text, s.font, s.size) for s in keep)),
        )
        group[-1] = Line((*keep, tail), last.height)
    return [line for group in groups for line in group]


def fit_single(text: str, font: str, size: float, min_size: float, width: float) -> tuple[str, float]:
    """One line: shrink from ``size`` to ``min_size``, then ellipsize."""
    while size > min_size and _width(text, font, size) > width:
        size = max(min_size, size - 0.25)
    if _width(text, font, size) > width:
        text = ellipsize(text, font, size, width)
    return text, size


def draw_text(
    canv: Canvas, x: float, y: float, text: str, font: str, size: float, *, flush_right: bool = False
) -> None:
    """``setFont`` + ``drawString`` (or ``drawRightString`` ending at ``x``), writing the same PDF operators, minus
    the width reportlab's ``drawString`` measures and throws away on every call (the right edge uses the memoised
    :func:`_width`, the very value ``drawRightString`` would compute)."""
    canv.setFont(font, size)
    text_object = canv.beginText(x - _width(text, font, size) if flush_right else x, y)
    text_object.textLine(text)
    canv.drawText(text_object)


def draw_lines(canv: Canvas, lines: Iterable[Line], left: float, top: float) -> float:
    """Draw ``lines`` from ``top`` downwards; returns the bottom of the block."""
    y = top
    for line in lines:
        if line.segments:
            baseline = y - ASCENT * line.size
            x = left
            for seg in line.segments:
                draw_text(canv, x, baseline, seg.text, seg.font, seg.size)
                x += _width(seg.text, seg.font, seg.size)
        y -= line.height
    return y


def _block_height(lines: Iterable[Line]) -> float:
    return sum(line.height for line in lines)


# --------------------------------------------------------------------------------------------------------- layout


def _rule(canv: Canvas, y: float) -> None:
    canv.setLineWidth(RULE_WIDTH)
    canv.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)


HEADER_MIN_SIZE = 7.0
HEADER_GAP = 3 * mm


def _two_ends(
    canv: Canvas,
    left_text: str,
    left_font: str,
    left_size: float,
    right_text: str,
    right_font: str,
    right_size: float,
    top: float,
) -> float:
    """A header line: ``left_text`` flush left, ``right_text`` flush right. Returns the y below it.

    Both shrink together (down to 7 pt) to share one line; if they still do not fit, ``right_text`` moves to a
    line of its own (flush right) and each is shrunk, then ellipsized, to the full width: long carrier and service
    names stay readable rather than cut.
    """
    width = PAGE_WIDTH - 2 * MARGIN
    if not (left_text and right_text):
        text, font, size = (left_text, left_font, left_size) if left_text else (right_text, right_font, right_size)
        if not text:
            return top
        text, size = fit_single(text, font, size, HEADER_MIN_SIZE, width)
        if left_text:
            draw_text(canv, MARGIN, top - ASCENT * size, text, font, size)
        else:
            draw_text(canv, PAGE_WIDTH - MARGIN, top - ASCENT * size, text, font, size, flush_right=True)
        return top - LEADING * size

    # One line, both sizes scaled by the same factor, no smaller than the minimum.
    scale = 1.0
    min_scale = HEADER_MIN_SIZE / min(left_size, right_size)
    while True:
        ls, rs = left_size * scale, right_size * scale
        if _width(left_text, left_font, ls) + HEADER_GAP + _width(right_text, right_font, rs) <= width:
            size = max(ls, rs)
            baseline = top - ASCENT * size
            draw_text(canv, MARGIN, baseline, left_text, left_font, ls)
            draw_text(canv, PAGE_WIDTH - MARGIN, baseline, right_text, right_font, rs, flush_right=True)
            return top - LEADING * size
        if scale <= min_scale:
            break
        scale = max(min_scale, scale - 0.03)

    # Two lines.
    left_text, ls = fit_single(left_text, left_font, left_size, HEADER_MIN_SIZE, width)
    draw_text(canv, MARGIN, top - ASCENT * ls, left_text, left_font, ls)
    top -= LEADING * ls
    right_text, rs = fit_single(right_text, right_font, right_size, HEADER_MIN_SIZE, width)
    draw_text(canv, PAGE_WIDTH - MARGIN, top - ASCENT * rs, right_text, right_font, rs, flush_right=True)
    return top - LEADING * rs


def _sender_paras(party: LabelParty) -> list[Para]:
    paras = [Para(nfc(party.name), REGULAR, 8.0, prefix="Người gửi:", prefix_font=BOLD)]
    if nfc(party.phone):
        paras.append(Para(nfc(party.phone), REGULAR, 8.0, prefix="ĐT:"))
    paras += [Para(nfc(line), REGULAR, 8.0) for line in party.address_lines if nfc(line)]
    return paras


def _recipient_paras(party: LabelParty) -> list[Para]:
    paras = [Para("", REGULAR, 9.0, prefix="Người nhận:", prefix_font=BOLD), Para(nfc(party.name), BOLD, 16.0)]
    if nfc(party.phone):
        paras.append(Para(nfc(party.phone), BOLD, 13.0, prefix="ĐT:", prefix_font=REGULAR, space_before=1.0))
    paras += [Para(nfc(line), REGULAR, 12.0, space_before=0.0) for line in party.address_lines if nfc(line)]
    return paras


def _info_paras(content: LabelContent) -> list[Para]:
    paras = [
        # The code on a line of its own: a 25-character TT 01/2018 code must not break mid-code next to the QR.
        Para("Mã hồ sơ:", REGULAR, 8.0),
        Para(nfc(content.dossier_code), BOLD, 9.0),
        Para(f"{format_amount(content.weight_g)} g", BOLD, 9.0, prefix="Khối lượng:"),
        Para(format_vnd(content.cod_vnd), BOLD, 10.0 if content.cod_vnd else 9.0, prefix="Thu hộ (COD):"),
    ]
    if content.postage_vnd is not None:
        paras.append(Para(format_vnd(content.postage_vnd), BOLD, 9.0, prefix="Cước:"))
    note = nfc(content.handling_note)
    if note:
        paras.append(Para(note, BOLD, 10.0, space_before=3.0))
    return paras


def draw_consignment_label(canv: Canvas, content: LabelContent) -> None:
    """Draw one label on the current page of ``canv`` (the caller owns ``showPage``)."""
    ensure_fonts()
    left, right = MARGIN, PAGE_WIDTH - MARGIN
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN
    width = right - left
    canv.setFillGray(0)
    canv.setStrokeGray(0)

    # Header.
    date_text = f"Ngày in: {content.printed_on:%d/%m/%Y}" if content.printed_on else ""
    y = _two_ends(canv, nfc(content.carrier_name), BOLD, 13.0, nfc(content.service_name), REGULAR, 10.0, top)
    y = _two_ends(canv, nfc(content.kind_label), BOLD, 10.0, date_text, REGULAR, 9.0, y)
    _rule(canv, y - SECTION_GAP / 2)
    middle_top = y - SECTION_GAP

    # Extra lines, at the very bottom.
    extra = fit_block([Para(nfc(s), REGULAR, 6.5) for s in content.extra_lines if nfc(s)], width, EXTRA_MAX_HEIGHT, 0.8)
    extra_h = _block_height(extra)
    if extra:
        draw_lines(canv, extra, left, bottom + extra_h)

    # QR + details row. The QR's top is snapped to the printer-dot grid counted from the top of the page.
    row_bottom = bottom + (extra_h + SECTION_GAP if extra else 0.0)
    row_top = PAGE_HEIGHT - snap_down(PAGE_HEIGHT - (row_bottom + QR_BOX))
    qr_side = draw_qr(canv, qr_payload(content), left=left, top=row_top, max_size=row_top - row_bottom)
    info_left = left + qr_side + 1 * mm
    info = fit_block(_info_paras(content), right - info_left, row_top - row_bottom - 2 * mm, 0.6)
    draw_lines(canv, info, info_left, row_top - 1 * mm)
    _rule(canv, row_top + SECTION_GAP / 2)

    # Tracking barcode with its human-readable line.
    barcode_bottom = row_top + SECTION_GAP
    text_h = 2.0 + (ASCENT + 0.26) * BARCODE_TEXT_SIZE
    bars_top = barcode_bottom + text_h + BAR_HEIGHT
    draw_code128(
        canv,
        content.tracking_code.strip(),
        left=left,
        right=right,
        top=bars_top,
        bar_height=BAR_HEIGHT,
        font=BOLD,
        font_size=BARCODE_TEXT_SIZE,
    )
    _rule(canv, bars_top + SECTION_GAP / 2)
    middle_bottom = bars_top + SECTION_GAP

    # Sender (small, capped) then recipient (large, whatever is left).
    available = middle_top - middle_bottom
    sender = fit_block(_sender_paras(content.sender), width, available * SENDER_SHARE, 0.75)
    y = draw_lines(canv, sender, left, middle_top)
    _rule(canv, y - SECTION_GAP / 2)
    recipient_top = y - SECTION_GAP
    recipient = fit_block(
        _recipient_paras(content.recipient), width, recipient_top - middle_bottom, 0.45, RECIPIENT_MAX_SCALE
    )
    draw_lines(canv, recipient, left, recipient_top)


def render_label_pages(contents: Sequence[LabelContent], *, title: str, author: str = PDF_AUTHOR) -> bytes:
    """Every label in ONE document, one per 100×150 mm page, in the given order."""
    ensure_fonts()
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canv = Canvas(
            buffer,
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            pageCompression=1,
            initialFontName=REGULAR,
            initialFontSize=10,
        )
        canv.setTitle(title)
        canv.setAuthor(author)
        canv.setCreator(PDF_CREATOR)
        canv.setSubject("Nhãn gửi bưu gửi 100×150 mm")
        for content in contents:
            draw_consignment_label(canv, content)
            canv.showPage()
        canv.save()
        return buffer.getvalue()
