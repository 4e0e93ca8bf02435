"""The printable reports (province figures, Circular 17/2017 Art 13 periodic report) on A4, from a
:class:`ReportContent`.

Same conventions as the slip and the handover record: embedded DejaVu, NFC text, the issuer and the national motto at
the top of page 1, section headings with a rule, tables whose header repeats on every page, "Trang x/y" and the
report's reference in every footer, the signature boxes at the end. Portrait or landscape (wide tables) per content.
Layout uses the page-flow engine from ``labels/slip.py``.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.consignment_label import PDF_AUTHOR, Para, nfc
from labels.fonts import BOLD, REGULAR, RENDER_LOCK, ensure_fonts
from labels.slip import (
    CONT_HEADER_HEIGHT,
    FOOTER_HEIGHT,
    Block,
    Cell,
    Column,
    Flow,
    draw_text_lines,
    heading_block,
    line_blocks,
    lines_height,
    make_table,
    new_canvas,
    paint_pages,
    para_lines,
    signature_row,
    text_block,
    text_lines,
)
from postal_bridge.domain.reports import ReportContent, ReportTable

A4_SHORT = 210 * mm
A4_LONG = 297 * mm
MARGIN = 15 * mm
BODY = 8.5
TABLE = 7.5
SMALL = 7.0


def page_size(content: ReportContent) -> tuple[float, float]:
    return (A4_LONG, A4_SHORT) if content.landscape else (A4_SHORT, A4_LONG)


def _motto_block(content: ReportContent, left: float, width: float) -> Block:
    col = min((width - 10 * mm) / 2.0, 95 * mm)
    issuer = text_lines(nfc(content.issuer).upper(), BOLD, 8.5, col, max_lines=3)
    motto = text_lines("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", BOLD, 8.5, col) + text_lines(
        "Độc lập – Tự do – Hạnh phúc", BOLD, 9.0, col
    )
    height = max(lines_height(issuer), lines_height(motto)) + 4.0

    def draw(canv: Canvas, top: float) -> None:
        draw_text_lines(canv, issuer, left, col, top, "center")
        draw_text_lines(canv, motto, left + width - col, col, top, "center")
        for x, lines in ((left, issuer), (left + width - col, motto)):
            y = top - lines_height(lines) - 2.5
            canv.setLineWidth(0.5)
            canv.line(x + col * 0.3, y, x + col * 0.7, y)

    return Block(height, draw)


def _columns(table: ReportTable, width: float) -> list[Column]:
    n = len(table.columns)
    weights = list(table.widths) if table.widths and len(table.widths) == n else [1.0] * n
    total = sum(weights)
    align = list(table.align) if table.align and len(table.align) == n else ["left"] * n
    return [Column(nfc(title), width * w / total, a) for title, w, a in zip(table.columns, weights, align, strict=True)]


def _add_table(flow: Flow, table: ReportTable, left: float, width: float) -> None:
    columns = _columns(table, width)
    rows = [[Cell(nfc(text)) for text in row] for row in table.rows]
    # the "Tổng cộng" line of a table is bold
    rows = [[Cell(c.text, BOLD) for c in row] if row and row[0].text == "Tổng cộng" else row for row in rows]
    if not rows:
        rows = [[Cell("–")] * len(columns)]
    laid = make_table(columns, rows, left, TABLE, max_lines=6)
    heading = heading_block(table.heading, left, width, size=9.5)
    flow.add(heading, keep_with=laid.header.height + laid.rows[0].height)
    flow.table(laid)
    for note in table.notes:
        flow.space(1 * mm)
        for block in line_blocks(para_lines([Para(nfc(note), REGULAR, SMALL)], width), left, width):
            flow.add(block)


def layout_report(content: ReportContent) -> Flow:
    page_w, page_h = page_size(content)
    left = MARGIN
    width = page_w - 2 * MARGIN
    top = page_h - MARGIN
    flow = Flow(first_top=top, next_top=top - CONT_HEADER_HEIGHT, bottom=MARGIN + FOOTER_HEIGHT)

    flow.add(_motto_block(content, left, width))
    flow.space(4 * mm)
    flow.add(text_block(text_lines(nfc(content.title), BOLD, 13.0, width, max_lines=3), left, width, "center"))
    flow.space(1 * mm)
    flow.add(text_block(text_lines(nfc(content.subtitle), BOLD, 10.0, width, max_lines=2), left, width, "center"))
    flow.add(
        text_block(
            text_lines(f"Lập lúc {nfc(content.generated_at)} · Số: {nfc(content.reference)}", REGULAR, SMALL, width),
            left,
            width,
            "center",
        )
    )
    flow.space(3 * mm)
    if content.intro:
        for block in line_blocks(para_lines([Para(nfc(p), REGULAR, BODY) for p in content.intro], width), left, width):
            flow.add(block)
        flow.space(2 * mm)
    for table in content.tables:
        _add_table(flow, table, left, width)
        flow.space(3 * mm)
    if content.notes:
        paras = [Para("Ghi chú:", BOLD, SMALL)] + [Para(f"– {nfc(n)}", REGULAR, SMALL) for n in content.notes]
        for block in line_blocks(para_lines(paras, width), left, width):
            flow.add(block)
        flow.space(3 * mm)
    if content.signers:
        signers = [(nfc(s), ()) for s in content.signers]
        flow.add(signature_row(signers, left, width, 22 * mm))
    return flow


def draw_report(canv: Canvas, content: ReportContent) -> int:
    ensure_fonts()
    flow = layout_report(content)
    return paint_pages(
        canv,
        flow.pages,
        continuation=(f"{nfc(content.title)} (tiếp theo)", nfc(content.subtitle)),
        footer=f"{nfc(content.reference)} · {nfc(content.issuer)} · lập lúc {nfc(content.generated_at)}",
        page_size=page_size(content),
        margin=MARGIN,
    )


def render_report(content: ReportContent, *, author: str = PDF_AUTHOR) -> bytes:
    """The report as PDF bytes: A4 pages, embedded DejaVu subsets, compressed streams."""
    ensure_fonts()
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canv = new_canvas(
            buffer,
            page_size(content),
            title=nfc(f"{content.title} – {content.subtitle}"),
            author=author,
            subject="Báo cáo dịch vụ bưu chính công ích – Thông tư 17/2017/TT-BTTTT",
        )
        draw_report(canv, content)
        canv.save()
        return buffer.getvalue()


__all__ = ["draw_report", "layout_report", "render_report"]
