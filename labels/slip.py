"""The Phiếu gửi hồ sơ (TT 17/2017/TT-BTTTT Art 9) on A5 portrait, drawn from a :class:`SlipContent`.

The slip is a written contract, so every field the article requires is printed (see ``domain.md`` §2.10):

* page 1 header: carrier and service, the title ("PHIẾU GỬI HỒ SƠ", or "PHIẾU GỬI KẾT QUẢ GIẢI QUYẾT TTHC" for
  returns), the kind, the slip number as Code128 + text, and a small QR of the tracking link when there is one;
* sender and recipient side by side (name, address lines, phone, email if any);
* the procedure and the dossier code; for returns, the statement that the TTHC result is inside;
* the document list as a table (STT, name, original / certified copy / copy, quantity), originals in bold on grey;
* time, place and method of service, carrier and service, postage and payment, weight and COD, the J+n promise;
* liability and compensation, then the signature boxes (and, for returns, the receiver's line with the ID check).

A long document list flows onto further A5 pages: the table header is repeated, every page carries
"Trang x/y" and the slip number in its footer, and the signatures always land on the last page.

This module also holds the small page-flow engine (:class:`Flow`, :class:`Block`, :class:`Table`) that
``labels/handover.py`` reuses: blocks of known height are placed top to bottom, a block that does not fit opens a
new page, and the pages are drawn only once their number is known (so "Trang x/y" needs a single pass).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from labels.barcodes import DOT, draw_code128, draw_qr, make_code128, snap_up
from labels.consignment_label import (
    ASCENT,
    LEADING,
    PDF_AUTHOR,
    PDF_CREATOR,
    Line,
    Para,
    Segment,
    ellipsize,
    fit_block,
    fit_single,
    format_amount,
    nfc,
    wrap,
)
from labels.fonts import BOLD, REGULAR, RENDER_LOCK, ensure_fonts
from postal_bridge.domain.labels import SlipContent, SlipDocument, SlipParty

A5_WIDTH = 148 * mm  # 419.53 pt
A5_HEIGHT = 210 * mm  # 595.28 pt
MARGIN = 10 * mm
FOOTER_HEIGHT = 6 * mm  # band at the bottom of every page: slip number + "Trang x/y"
CONT_HEADER_HEIGHT = 8 * mm  # band at the top of pages 2..n

BODY = 7.5
SMALL = 6.5
HEADING = 8.0
CELL_PAD_X = 2.5
CELL_PAD_Y = 2.0
GRID_WIDTH = 0.5
HEADER_FILL = 0.88  # grey level of table header rows
ORIGINAL_FILL = 0.8  # grey behind "Bản chính" cells
EPS = 1e-6

KIND_NAMES = {"original": "Bản chính", "certified_copy": "Bản chứng thực", "copy": "Bản sao"}
RESULT_SENTENCE = "Bưu gửi có kết quả giải quyết thủ tục hành chính"
CONTRACT_SENTENCE = (
    "Phiếu gửi này có giá trị là hợp đồng giao kết bằng văn bản giữa người gửi và doanh nghiệp bưu chính. "
    "Quyền và nghĩa vụ của các bên theo Quyết định số 45/2016/QĐ-TTg và Thông tư số 17/2017/TT-BTTTT."
)
ID_CHECK = "Đã kiểm tra CCCD/Hộ chiếu số: ……………………"

Draw = Callable[[Canvas, float], None]  # draws a block whose top edge is at the given y


# ------------------------------------------------------------------------------------------------ page flow engine


@dataclass(frozen=True)
class Block:
    """Something of known height that draws itself from a top edge."""

    height: float
    draw: Draw


class Flow:
    """Places blocks top to bottom on pages; a block that does not fit in what is left opens a new page.

    ``first_top`` is where the body starts on page 1, ``next_top`` on the following pages, ``bottom`` where it ends.
    Nothing is drawn here: :attr:`pages` collects ``(draw, top)`` pairs, drawn once the page count is known.
    """

    def __init__(self, first_top: float, next_top: float, bottom: float) -> None:
        self.next_top = next_top
        self.bottom = bottom
        self.pages: list[list[tuple[Draw, float]]] = [[]]
        self.y = first_top
        self._page_top = first_top

    @property
    def room(self) -> float:
        return self.y - self.bottom

    @property
    def at_page_top(self) -> bool:
        return self.y >= self._page_top - EPS

    def break_page(self) -> None:
        self.pages.append([])
        self.y = self._page_top = self.next_top

    def add(self, block: Block, *, keep_with: float = 0.0) -> None:
        """Place ``block``; ``keep_with`` is the height that must follow it on the same page (headings)."""
        if block.height > self.next_top - self.bottom + EPS:
            raise ValueError(f"a block of {block.height:.1f} pt is taller than a page body")
        if not self.at_page_top and block.height + keep_with > self.room + EPS:
            self.break_page()
        self.pages[-1].append((block.draw, self.y))
        self.y -= block.height

    def space(self, height: float) -> None:
        """Vertical gap; swallowed at the top of a page and never pushes past the bottom."""
        if not self.at_page_top:
            self.y -= min(height, max(self.room, 0.0))

    def table(self, table: Table, *, keep_with_first: float = 0.0) -> None:
        """The header row, then every row; a row that does not fit goes to a new page under a repeated header."""
        first = table.rows[0].height if table.rows else 0.0
        if not self.at_page_top and table.header.height + first + keep_with_first > self.room + EPS:
            self.break_page()
        self.add(table.header)
        for row in table.rows:
            if row.height > self.room + EPS:
                self.break_page()
                self.add(table.header)
            self.add(row)


# ---------------------------------------------------------------------------------------------------- text helpers


def text_lines(text: str, font: str, size: float, width: float, max_lines: int = 0) -> list[Line]:
    """``text`` (already NFC) wrapped in one font; cut with an ellipsis after ``max_lines`` lines if given."""
    chunks = wrap(text, font, size, width) if text else []
    if max_lines and len(chunks) > max_lines:
        chunks = chunks[:max_lines]
        chunks[-1] = ellipsize(chunks[-1], font, size, width)
    return [Line((Segment(font, size, chunk),), size * LEADING) for chunk in chunks]


def para_lines(paras: Sequence[Para], width: float, max_height: float = float("inf")) -> list[Line]:
    """Paragraphs (optional bold prefixes) wrapped at their own size; trailing lines cut if over ``max_height``."""
    return fit_block(paras, width, max_height, min_scale=1.0)


def lines_height(lines: Sequence[Line]) -> float:
    return sum(line.height for line in lines)


def draw_text_lines(canv: Canvas, lines: Sequence[Line], left: float, width: float, top: float, align: str) -> None:
    """Draw ``lines`` from ``top`` down, aligned ``left``, ``center`` or ``right`` inside ``width``."""
    y = top
    for line in lines:
        if line.segments:
            baseline = y - ASCENT * line.size
            line_width = sum(stringWidth(s.text, s.font, s.size) for s in line.segments)
            if align == "center":
                x = left + (width - line_width) / 2.0
            elif align == "right":
                x = left + width - line_width
            else:
                x = left
            for seg in line.segments:
                canv.setFont(seg.font, seg.size)
                canv.drawString(x, baseline, seg.text)
                x += stringWidth(seg.text, seg.font, seg.size)
        y -= line.height


def text_block(lines: Sequence[Line], left: float, width: float, align: str = "left", pad: float = 0.0) -> Block:
    lines = list(lines)

    def draw(canv: Canvas, top: float) -> None:
        draw_text_lines(canv, lines, left, width, top - pad, align)

    return Block(lines_height(lines) + 2 * pad, draw)


def line_blocks(lines: Sequence[Line], left: float, width: float) -> list[Block]:
    """One block per line, so that long paragraphs can flow over a page break."""
    return [text_block([line], left, width) for line in lines]


def heading_block(text: str, left: float, width: float, size: float = HEADING) -> Block:
    """A section heading: bold text with a thin rule under it."""
    lines = text_lines(nfc(text), BOLD, size, width, max_lines=2)
    text_h = lines_height(lines)

    def draw(canv: Canvas, top: float) -> None:
        draw_text_lines(canv, lines, left, width, top - 2.0, "left")
        canv.setLineWidth(0.6)
        canv.line(left, top - 2.0 - text_h - 0.5, left + width, top - 2.0 - text_h - 0.5)

    return Block(text_h + 4.5, draw)


def spacer(height: float) -> Block:
    return Block(height, lambda canv, top: None)


# ------------------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    align: str = "left"


@dataclass(frozen=True)
class Cell:
    text: str
    font: str = REGULAR
    fill: float | None = None  # grey level behind the cell, None for none


@dataclass(frozen=True)
class Table:
    header: Block
    rows: tuple[Block, ...]


def _row_block(
    columns: Sequence[Column],
    cells: Sequence[Cell],
    left: float,
    size: float,
    *,
    header: bool,
    max_lines: int,
) -> Block:
    laid: list[list[Line]] = []
    for column, cell in zip(columns, cells, strict=True):
        laid.append(text_lines(nfc(cell.text), cell.font, size, column.width - 2 * CELL_PAD_X, max_lines))
    height = max((lines_height(lines) for lines in laid), default=0.0) + 2 * CELL_PAD_Y
    height = max(height, size * LEADING + 2 * CELL_PAD_Y)

    def draw(canv: Canvas, top: float) -> None:
        bottom = top - height
        x = left
        for column, cell, lines in zip(columns, cells, laid, strict=True):
            fill = HEADER_FILL if header else cell.fill
            if fill is not None:
                canv.setFillGray(fill)
                canv.rect(x, bottom, column.width, height, stroke=0, fill=1)
                canv.setFillGray(0)
            draw_text_lines(canv, lines, x + CELL_PAD_X, column.width - 2 * CELL_PAD_X, top - CELL_PAD_Y, column.align)
            x += column.width
        canv.setLineWidth(GRID_WIDTH)
        if header:  # the header opens the table on every page, so it carries the top rule
            canv.line(left, top, x, top)
        canv.line(left, bottom, x, bottom)
        edge = left
        canv.line(edge, top, edge, bottom)
        for column in columns:
            edge += column.width
            canv.line(edge, top, edge, bottom)

    return Block(height, draw)


def make_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    left: float,
    size: float,
    *,
    max_lines: int = 10,
    header_size: float = 0.0,
) -> Table:
    header = _row_block(
        columns, [Cell(c.title, BOLD) for c in columns], left, header_size or size, header=True, max_lines=3
    )
    body = tuple(_row_block(columns, row, left, size, header=False, max_lines=max_lines) for row in rows)
    return Table(header, body)


def fit_columns(columns: Sequence[Column], width: float, flexible: int) -> list[Column]:
    """Give column ``flexible`` whatever ``width`` the fixed columns leave."""
    fixed = sum(c.width for i, c in enumerate(columns) if i != flexible)
    return [Column(c.title, width - fixed, c.align) if i == flexible else c for i, c in enumerate(columns)]


# ----------------------------------------------------------------------------------------------- page furniture


def draw_footer(canv: Canvas, *, left_text: str, page: int, pages: int, page_width: float, margin: float) -> None:
    """The footer band every page carries: a rule, ``left_text`` on the left and "Trang x/y" on the right."""
    right_text = f"Trang {page}/{pages}"
    right_w = stringWidth(right_text, REGULAR, SMALL)
    width = page_width - 2 * margin
    text, size = fit_single(nfc(left_text), REGULAR, SMALL, 5.5, width - right_w - 6 * mm)
    baseline = margin + 0.3 * SMALL
    canv.setLineWidth(0.4)
    canv.line(margin, margin + FOOTER_HEIGHT - 2.0, page_width - margin, margin + FOOTER_HEIGHT - 2.0)
    canv.setFont(REGULAR, size)
    canv.drawString(margin, baseline, text)
    canv.setFont(REGULAR, SMALL)
    canv.drawRightString(page_width - margin, baseline, right_text)


def draw_continuation_header(
    canv: Canvas, *, left_text: str, right_text: str, top: float, page_width: float, margin: float
) -> None:
    """The band at the top of pages 2..n: document title "(tiếp theo)" on the left, a reference on the right."""
    width = page_width - 2 * margin
    right, right_size = fit_single(nfc(right_text), REGULAR, SMALL, 5.5, width * 0.45)
    right_w = stringWidth(right, REGULAR, right_size)
    left, left_size = fit_single(nfc(left_text), BOLD, BODY, 5.5, width - right_w - 4 * mm)
    baseline = top - ASCENT * BODY
    canv.setFont(BOLD, left_size)
    canv.drawString(margin, baseline, left)
    canv.setFont(REGULAR, right_size)
    canv.drawRightString(page_width - margin, baseline, right)
    canv.setLineWidth(0.4)
    rule = top - CONT_HEADER_HEIGHT + 3.0
    canv.line(margin, rule, page_width - margin, rule)


def new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], *, title: str, author: str, subject: str) -> Canvas:
    canv = Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=REGULAR, initialFontSize=BODY)
    canv.setTitle(title)
    canv.setAuthor(author)
    canv.setCreator(PDF_CREATOR)
    canv.setSubject(subject)
    return canv


# ------------------------------------------------------------------------------------------------------- the slip


def is_return(content: SlipContent) -> bool:
    return content.kind == "return"


def slip_title(content: SlipContent) -> str:
    return "PHIẾU GỬI KẾT QUẢ GIẢI QUYẾT TTHC" if is_return(content) else "PHIẾU GỬI HỒ SƠ"


def pdf_title(content: SlipContent) -> str:
    return "Phiếu gửi kết quả giải quyết TTHC" if is_return(content) else "Phiếu gửi hồ sơ"


def format_dong(value: int | None) -> str:
    """Postage as printed on the slip: ``25.000 đồng``, or "theo bảng giá" when not known yet."""
    return "theo bảng giá" if value is None else f"{format_amount(value)} đồng"


def kind_name(document: SlipDocument) -> str:
    try:
        return KIND_NAMES[document.kind]
    except KeyError:
        raise ValueError(f"unknown document kind {document.kind!r}; expected one of {sorted(KIND_NAMES)}") from None


def _header_block(content: SlipContent, left: float, width: float) -> Block:
    """Page 1 header: the title; under it the kind and carrier on the left and the slip number's Code128 on the
    right; the tracking QR (if any) in the top right corner."""
    qr_box = 20 * mm if nfc(content.tracking_url) else 0.0
    text_w = width - (qr_box + 3 * mm if qr_box else 0.0)
    title, title_size = fit_single(slip_title(content), BOLD, 13.0, 8.0, text_w)
    bar_h = 7 * mm
    code_text = 9.0
    slip = content.slip_number.strip()
    symbol = make_code128(slip, max_width=max(text_w - 50 * mm, text_w / 2), bar_height=bar_h)
    info_w = text_w - symbol.width - 2 * mm
    info = para_lines(
        [
            Para(nfc(content.kind_label), BOLD, 9.0),
            Para(f"{nfc(content.carrier_name)} – Dịch vụ {nfc(content.service_name)}", REGULAR, BODY),
        ],
        info_w,
        max_height=4 * BODY * LEADING + 9.0 * LEADING,
    )
    title_h = title_size * LEADING + 1 * mm
    code_h = bar_h + 2.0 + (ASCENT + 0.3) * code_text
    height = max(title_h + max(lines_height(info), code_h), qr_box) + 1 * mm

    def draw(canv: Canvas, top: float) -> None:
        canv.setFont(BOLD, title_size)
        canv.drawString(left, top - ASCENT * title_size, title)
        y = top - title_h
        draw_text_lines(canv, info, left, info_w, y, "left")
        bars_left = snap_up(left + text_w - symbol.width)
        if bars_left + symbol.width > left + text_w:
            bars_left -= DOT
        draw_code128(
            canv,
            slip,
            left=bars_left,
            right=bars_left + symbol.width,
            top=y,
            bar_height=bar_h,
            font=BOLD,
            font_size=code_text,
        )
        if qr_box:  # the QR's top snapped to the printer-dot grid counted from the top of the page
            qr_top = A5_HEIGHT - snap_up(A5_HEIGHT - top)
            draw_qr(canv, nfc(content.tracking_url), left=left + width - qr_box, top=qr_top, max_size=qr_box)

    return Block(height, draw)


def _party_lines(title: str, party: SlipParty, width: float) -> list[Line]:
    paras = [Para(title, BOLD, HEADING), Para(nfc(party.name), BOLD, 9.0)]
    paras += [Para(nfc(line), REGULAR, BODY) for line in party.address_lines if nfc(line)]
    if nfc(party.phone):
        paras.append(Para(nfc(party.phone), REGULAR, BODY, prefix="Điện thoại:"))
    if nfc(party.email):
        paras.append(Para(nfc(party.email), REGULAR, BODY, prefix="Email:"))
    return para_lines(paras, width, max_height=60 * mm)


def _parties_block(content: SlipContent, left: float, width: float) -> Block:
    """Sender and recipient side by side, each in its own framed box."""
    gap = 3 * mm
    pad = 2.5
    col = (width - gap) / 2.0
    sender = _party_lines("NGƯỜI GỬI", content.sender, col - 2 * pad)
    recipient = _party_lines("NGƯỜI NHẬN", content.recipient, col - 2 * pad)
    height = max(lines_height(sender), lines_height(recipient)) + 2 * pad

    def draw(canv: Canvas, top: float) -> None:
        canv.setLineWidth(GRID_WIDTH)
        for x, lines in ((left, sender), (left + col + gap, recipient)):
            canv.rect(x, top - height, col, height, stroke=1, fill=0)
            draw_text_lines(canv, lines, x + pad, col - 2 * pad, top - pad, "left")

    return Block(height, draw)


def _boxed_sentence(text: str, left: float, width: float, size: float = 9.5) -> Block:
    """A sentence in bold inside a thick frame (the "result inside" statement)."""
    pad = 2.5
    lines = text_lines(nfc(text), BOLD, size, width - 2 * pad)
    height = lines_height(lines) + 2 * pad

    def draw(canv: Canvas, top: float) -> None:
        canv.setLineWidth(1.2)
        canv.rect(left + 0.6, top - height + 0.6, width - 1.2, height - 1.2, stroke=1, fill=0)
        draw_text_lines(canv, lines, left + pad, width - 2 * pad, top - pad, "center")

    return Block(height, draw)


def _documents_table(content: SlipContent, left: float, width: float) -> Table:
    columns = fit_columns(
        [
            Column("STT", 9 * mm, "center"),
            Column("Tên giấy tờ", 0.0),
            Column("Bản chính / bản chứng thực / bản sao", 33 * mm, "center"),
            Column("Số lượng", 13 * mm, "center"),
        ],
        width,
        flexible=1,
    )
    rows: list[list[Cell]] = []
    for number, document in enumerate(content.documents, start=1):
        original = document.kind == "original"
        rows.append(
            [
                Cell(str(number)),
                Cell(nfc(document.name), BOLD if original else REGULAR),
                Cell(
                    kind_name(document).upper() if original else kind_name(document),
                    BOLD if original else REGULAR,
                    ORIGINAL_FILL if original else None,
                ),
                Cell(str(document.quantity), BOLD if original else REGULAR),
            ]
        )
    if not rows:
        rows.append([Cell(""), Cell("(không có giấy tờ kèm theo)"), Cell(""), Cell("")])
    return make_table(columns, rows, left, BODY, header_size=SMALL)


def _documents_summary(content: SlipContent) -> str:
    docs = content.documents
    total = sum(d.quantity for d in docs)
    originals = sum(d.quantity for d in docs if d.kind == "original")
    return f"Tổng số: {len(docs)} loại giấy tờ, {total} bản; trong đó bản chính: {originals} bản."


def _service_rows(content: SlipContent, left: float, width: float) -> list[Block]:
    """Key-value lines about the service, two to a row where both are short."""
    gap = 4 * mm
    half = (width - gap) / 2.0
    weight = f"{format_amount(content.weight_g)} g" if content.weight_g else "chưa cân"
    service = f"{nfc(content.carrier_name)} – {nfc(content.service_name)}"
    pairs: list[tuple[tuple[str, str], tuple[str, str] | None]] = [
        (("Thời gian chấp nhận:", content.accepted_at), ("Phương thức:", content.method)),
        (("Địa điểm chấp nhận:", content.place), None),
        (("Doanh nghiệp bưu chính, dịch vụ:", service), None),
        (("Chất lượng dịch vụ:", content.quality_promise), None),
        (("Cước:", format_dong(content.postage_vnd)), ("Thanh toán:", content.payment_method)),
        (("Khối lượng:", weight), ("Thu hộ (COD):", format_dong(content.cod_vnd))),
    ]
    blocks: list[Block] = []
    for first, second in pairs:
        if second is None:
            lines = para_lines([Para(nfc(first[1]), REGULAR, BODY, prefix=first[0], prefix_font=BOLD)], width)
            blocks.append(text_block(lines, left, width, pad=0.5))
            continue
        a = para_lines([Para(nfc(first[1]), REGULAR, BODY, prefix=first[0], prefix_font=BOLD)], half)
        b = para_lines([Para(nfc(second[1]), REGULAR, BODY, prefix=second[0], prefix_font=BOLD)], half)
        height = max(lines_height(a), lines_height(b)) + 1.0

        def draw(canv: Canvas, top: float, a: list[Line] = a, b: list[Line] = b) -> None:
            draw_text_lines(canv, a, left, half, top - 0.5, "left")
            draw_text_lines(canv, b, left + half + gap, half, top - 0.5, "left")

        blocks.append(Block(height, draw))
    return blocks


def signature_box_lines(title: str, width: float, extra: Sequence[str] = ()) -> list[Line]:
    lines = text_lines(nfc(title), BOLD, 9.0, width, max_lines=2)
    lines += text_lines("(Ký, ghi rõ họ tên)", REGULAR, SMALL, width)
    for text in extra:
        lines += text_lines(nfc(text), REGULAR, SMALL, width, max_lines=2)
    return lines


def signature_row(titles: Sequence[tuple[str, Sequence[str]]], left: float, width: float, sign_space: float) -> Block:
    """Framed signature boxes side by side: a title, "(Ký, ghi rõ họ tên)", any notes, then room to sign."""
    gap = 3 * mm
    pad = 2.5
    col = (width - gap * (len(titles) - 1)) / len(titles)
    laid = [signature_box_lines(title, col - 2 * pad, extra) for title, extra in titles]
    height = max(lines_height(lines) for lines in laid) + sign_space + 2 * pad

    def draw(canv: Canvas, top: float) -> None:
        canv.setLineWidth(GRID_WIDTH)
        for i, lines in enumerate(laid):
            x = left + i * (col + gap)
            canv.rect(x, top - height, col, height, stroke=1, fill=0)
            draw_text_lines(canv, lines, x + pad, col - 2 * pad, top - pad, "center")

    return Block(height, draw)


def _signature_block(content: SlipContent, left: float, width: float) -> Block:
    """Sender and postal employee sign at acceptance; on returns the receiver signs at delivery, after the ID check."""
    boxes: list[tuple[str, Sequence[str]]] = [("Người gửi", ()), ("Nhân viên bưu chính", ())]
    if is_return(content):
        boxes.append(("Người nhận", (ID_CHECK,)))
    return signature_row(boxes, left, width, 13 * mm)


def layout_slip(content: SlipContent) -> Flow:
    """Place every block of the slip on A5 pages (nothing drawn yet)."""
    left = MARGIN
    width = A5_WIDTH - 2 * MARGIN
    top = A5_HEIGHT - MARGIN
    flow = Flow(first_top=top, next_top=top - CONT_HEADER_HEIGHT, bottom=MARGIN + FOOTER_HEIGHT)
    section_gap = 2 * mm

    flow.add(_header_block(content, left, width))
    flow.space(1.5 * mm)
    flow.add(_parties_block(content, left, width))
    flow.space(section_gap)

    procedure = para_lines(
        [
            Para(nfc(content.procedure_name), REGULAR, BODY, prefix="Thủ tục hành chính:", prefix_font=BOLD),
            Para(nfc(content.dossier_code), BOLD, 9.0, prefix="Mã hồ sơ:", prefix_font=BOLD),
        ],
        width,
        max_height=40 * mm,
    )
    for block in line_blocks(procedure, left, width):
        flow.add(block)
    if content.result_included:
        flow.space(section_gap)
        flow.add(_boxed_sentence(RESULT_SENTENCE, left, width))
    flow.space(section_gap)

    table = _documents_table(content, left, width)
    heading = heading_block("DANH MỤC GIẤY TỜ", left, width)
    flow.add(heading, keep_with=table.header.height + table.rows[0].height)
    flow.space(1.0)
    flow.table(table)
    summary = para_lines([Para(_documents_summary(content), REGULAR, BODY)], width)
    flow.add(text_block(summary, left, width, pad=1.0))
    flow.space(section_gap)

    service = _service_rows(content, left, width)
    flow.add(heading_block("THÔNG TIN DỊCH VỤ", left, width), keep_with=service[0].height)
    for block in service:
        flow.add(block)
    flow.space(section_gap)

    liability = para_lines(
        [Para(nfc(content.liability), REGULAR, SMALL), Para(CONTRACT_SENTENCE, REGULAR, SMALL, space_before=1.5)],
        width,
    )
    # Short texts stay in one piece; only a long one flows line by line over a page break.
    short = lines_height(liability) <= (A5_HEIGHT - 2 * MARGIN) / 4
    liability_blocks = [text_block(liability, left, width)] if short else line_blocks(liability, left, width)
    flow.add(heading_block("TRÁCH NHIỆM VÀ BỒI THƯỜNG", left, width), keep_with=liability_blocks[0].height)
    for block in liability_blocks:
        flow.add(block)
    flow.space(section_gap)

    flow.add(_signature_block(content, left, width))
    return flow


def paint_pages(
    canv: Canvas,
    pages: list,
    *,
    continuation: tuple[str, str],
    footer: str,
    page_size: tuple[float, float],
    margin: float,
) -> int:
    """Draw laid-out pages: a continuation header from page 2, the blocks, a footer with "Trang x/y" on every page."""
    width, height = page_size
    total = len(pages)
    for number, ops in enumerate(pages, start=1):
        canv.setFillGray(0)
        canv.setStrokeGray(0)
        if number > 1:
            draw_continuation_header(
                canv,
                left_text=continuation[0],
                right_text=continuation[1],
                top=height - margin,
                page_width=width,
                margin=margin,
            )
        for draw, top in ops:
            draw(canv, top)
        draw_footer(canv, left_text=footer, page=number, pages=total, page_width=width, margin=margin)
        canv.showPage()
    return total


def draw_slip(canv: Canvas, content: SlipContent) -> int:
    """Draw the whole slip onto ``canv`` (A5 pages), ending every page with ``showPage``; returns the page count."""
    ensure_fonts()
    flow = layout_slip(content)
    return paint_pages(
        canv,
        flow.pages,
        continuation=(f"{slip_title(content)} (tiếp theo)", f"Mã hồ sơ: {nfc(content.dossier_code)}"),
        footer=f"Số phiếu gửi: {nfc(content.slip_number)} · {nfc(content.kind_label)}",
        page_size=(A5_WIDTH, A5_HEIGHT),
        margin=MARGIN,
    )


def render_slip(content: SlipContent, *, author: str = PDF_AUTHOR) -> bytes:
    """The slip as PDF bytes: A5 portrait pages, embedded DejaVu subsets, compressed streams."""
    ensure_fonts()
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canv = new_canvas(
            buffer,
            (A5_WIDTH, A5_HEIGHT),
            title=f"{pdf_title(content)} {nfc(content.slip_number)}",
            author=author,
            subject="Phiếu gửi hồ sơ – Thông tư 17/2017/TT-BTTTT Điều 9",
        )
        draw_slip(canv, content)
        canv.save()
        return buffer.getvalue()


__all__ = ["A5_HEIGHT", "A5_WIDTH", "draw_slip", "render_slip"]
