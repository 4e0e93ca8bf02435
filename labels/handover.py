"""The Biên bản giao nhận hồ sơ (QĐ 45/2016/QĐ-TTg Art 7.3) on A4 portrait, drawn from a :class:`HandoverContent`.

Page 1 starts with the agency and the national motto, the title, the handover id as Code128 + text, the time and
place, and the two parties (which of them gives and which receives follows ``direction``). Then the table of
consignments (STT, slip number, item code, dossier code, citizen, documents, complete ✓) and the count line; when a
clerk's handover session found expected items missing, a "Thiếu so với danh sách" line lists them. For
``to_agency`` handovers the legal sentence follows: the signing time is the time the dossiers are lawfully
submitted (Art 7.4). The signature boxes of both sides close the last page. Every page carries "Trang x/y" and the
handover id; continuation pages repeat the table header. A record confirmed by both sides on the clerk's device shows
the two signatories by name (in the party boxes and the signature boxes) and the signing time.

Layout uses the page-flow engine from ``labels/slip.py``.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.barcodes import DOT, draw_code128, make_code128, snap_up
from labels.consignment_label import ASCENT, LEADING, PDF_AUTHOR, Para, nfc
from labels.fonts import BOLD, REGULAR, RENDER_LOCK, ensure_fonts
from labels.slip import (
    CONT_HEADER_HEIGHT,
    FOOTER_HEIGHT,
    Block,
    Cell,
    Column,
    Flow,
    Table,
    draw_text_lines,
    fit_columns,
    lines_height,
    make_table,
    new_canvas,
    paint_pages,
    para_lines,
    signature_row,
    text_block,
    text_lines,
)
from postal_bridge.domain.labels import HandoverContent

A4_WIDTH = 210 * mm  # 595.28 pt
A4_HEIGHT = 297 * mm  # 841.89 pt
MARGIN = 15 * mm

BODY = 8.5
TABLE = 7.5
SMALL = 7.0

COMPLETE = "✓"
INCOMPLETE = "Chưa đủ"
LEGAL_SENTENCE = (
    "Thời điểm ký Biên bản này là thời điểm các hồ sơ nêu trên được nộp hợp lệ cho cơ quan có thẩm quyền "
    "giải quyết (khoản 4 Điều 7 Quyết định số 45/2016/QĐ-TTg)."
)
SIGNING_TIME = "Thời điểm ký: …… giờ …… phút, ngày …… tháng …… năm ………"
DOTS = "……………………………………………"
MISSING_TITLE = "Thiếu so với danh sách"


def is_to_agency(content: HandoverContent) -> bool:
    return content.direction == "to_agency"


Party = tuple[str, str, str, str]


def _parties(content: HandoverContent) -> tuple[Party, Party]:
    """(label, name, address, signatory) of the giver and of the receiver: to_agency = post gives, agency receives."""
    agency = (nfc(content.agency_name), nfc(content.agency_address))
    post = (nfc(content.post_name), "")
    giver, receiver = (post, agency) if is_to_agency(content) else (agency, post)
    return (
        (nfc(content.giver_label), *giver, nfc(content.giver_signatory)),
        (nfc(content.receiver_label), *receiver, nfc(content.receiver_signatory)),
    )


def _motto_block(content: HandoverContent, left: float, width: float) -> Block:
    """The agency's name top left, the national motto top right, as on Vietnamese administrative papers."""
    col = (width - 10 * mm) / 2.0
    agency = text_lines(nfc(content.agency_name).upper(), BOLD, 8.5, col, max_lines=3)
    motto = text_lines("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", BOLD, 8.5, col) + text_lines(
        "Độc lập – Tự do – Hạnh phúc", BOLD, 9.0, col
    )
    height = max(lines_height(agency), lines_height(motto)) + 4.0

    def draw(canv: Canvas, top: float) -> None:
        draw_text_lines(canv, agency, left, col, top, "center")
        draw_text_lines(canv, motto, left + width - col, col, top, "center")
        # a short rule under each side, as the official layout has
        for x, lines in ((left, agency), (left + width - col, motto)):
            y = top - lines_height(lines) - 2.5
            canv.setLineWidth(0.5)
            canv.line(x + col * 0.3, y, x + col * 0.7, y)

    return Block(height, draw)


def _title_block(content: HandoverContent, left: float, width: float) -> Block:
    lines = text_lines(nfc(content.title) or "BIÊN BẢN GIAO NHẬN HỒ SƠ", BOLD, 14.0, width, max_lines=2)
    return text_block(lines, left, width, "center", pad=2.0)


def _id_block(content: HandoverContent, left: float, width: float) -> Block:
    """Number, time and place on the left; the handover id as Code128 + text on the right."""
    bar_h = 10 * mm
    code_text = 9.0
    handover_id = content.handover_id.strip()
    symbol = make_code128(handover_id, max_width=width / 2, bar_height=bar_h)
    info_w = width - symbol.width - 4 * mm
    info = para_lines(
        [
            Para(nfc(handover_id), BOLD, BODY, prefix="Số biên bản:", prefix_font=BOLD),
            Para(nfc(content.created_at), REGULAR, BODY, prefix="Thời gian lập:", prefix_font=BOLD),
            Para(nfc(content.place), REGULAR, BODY, prefix="Địa điểm:", prefix_font=BOLD),
        ],
        info_w,
        max_height=8 * BODY * LEADING,
    )
    code_h = bar_h + 2.0 + (ASCENT + 0.3) * code_text
    height = max(lines_height(info), code_h) + 1.0

    def draw(canv: Canvas, top: float) -> None:
        draw_text_lines(canv, info, left, info_w, top, "left")
        bars_left = snap_up(left + width - symbol.width)
        if bars_left + symbol.width > left + width:
            bars_left -= DOT
        draw_code128(
            canv,
            handover_id,
            left=bars_left,
            right=bars_left + symbol.width,
            top=A4_HEIGHT - snap_up(A4_HEIGHT - top),
            bar_height=bar_h,
            font=BOLD,
            font_size=code_text,
        )

    return Block(height + 2.0, draw)


def _parties_block(content: HandoverContent, left: float, width: float) -> Block:
    gap = 4 * mm
    pad = 3.0
    col = (width - gap) / 2.0
    laid = []
    for label, name, address, signatory in _parties(content):
        paras = [Para(label, BOLD, 9.0), Para(name, BOLD, BODY)]
        if address:
            paras.append(Para(address, REGULAR, BODY, prefix="Địa chỉ:"))
        paras.append(Para(signatory or DOTS, REGULAR, BODY, prefix="Đại diện:"))
        paras.append(Para(DOTS, REGULAR, BODY, prefix="Chức vụ:"))
        laid.append(para_lines(paras, col - 2 * pad, max_height=45 * mm))
    height = max(lines_height(lines) for lines in laid) + 2 * pad

    def draw(canv: Canvas, top: float) -> None:
        canv.setLineWidth(0.5)
        for i, lines in enumerate(laid):
            x = left + i * (col + gap)
            canv.rect(x, top - height, col, height, stroke=1, fill=0)
            draw_text_lines(canv, lines, x + pad, col - 2 * pad, top - pad, "left")

    return Block(height, draw)


def _table(content: HandoverContent, left: float, width: float) -> Table:
    person = "Người gửi" if is_to_agency(content) else "Người nhận"
    columns = fit_columns(
        [
            Column("STT", 9 * mm, "center"),
            Column("Số phiếu gửi", 25 * mm),
            Column("Mã bưu gửi", 25 * mm),
            Column("Mã hồ sơ", 41 * mm),
            Column(person, 0.0),
            Column("Giấy tờ", 35 * mm),
            Column("Đầy đủ", 14 * mm, "center"),
        ],
        width,
        flexible=4,
    )
    rows = [
        [
            Cell(str(number)),
            Cell(nfc(line.slip_number)),
            Cell(nfc(line.tracking_code)),
            Cell(nfc(line.dossier_code)),
            Cell(nfc(line.recipient_name)),
            Cell(nfc(line.documents_summary)),
            Cell(COMPLETE, BOLD) if line.complete else Cell(INCOMPLETE, BOLD, 0.8),
        ]
        for number, line in enumerate(content.lines, start=1)
    ]
    if not rows:
        rows.append([Cell("")] * 4 + [Cell("(không có bưu gửi)")] + [Cell("")] * 2)
    return make_table(columns, rows, left, TABLE, max_lines=10)


def _count_text(content: HandoverContent) -> str:
    total = len(content.lines)
    incomplete = sum(1 for line in content.lines if not line.complete)
    text = f"Tổng số: {total} bưu gửi"
    if incomplete:
        return f"{text}; trong đó {total - incomplete} hồ sơ đầy đủ, {incomplete} hồ sơ chưa đầy đủ."
    return f"{text}; tất cả hồ sơ đầy đủ."


def _missing_text(content: HandoverContent) -> str:
    """The expected items that were not handed over, by item code and dossier code."""
    items = "; ".join(
        nfc(" – ".join(x for x in (line.tracking_code or line.slip_number, line.dossier_code) if x and x != "—"))
        for line in content.missing
    )
    return f"{MISSING_TITLE}: {len(content.missing)} bưu gửi ({items})."


def layout_handover(content: HandoverContent) -> Flow:
    left = MARGIN
    width = A4_WIDTH - 2 * MARGIN
    top = A4_HEIGHT - MARGIN
    flow = Flow(first_top=top, next_top=top - CONT_HEADER_HEIGHT, bottom=MARGIN + FOOTER_HEIGHT)

    flow.add(_motto_block(content, left, width))
    flow.space(3 * mm)
    flow.add(_title_block(content, left, width))
    flow.space(2 * mm)
    flow.add(_id_block(content, left, width))
    flow.space(2 * mm)
    flow.add(_parties_block(content, left, width))
    flow.space(3 * mm)

    intro = para_lines(
        [
            Para(
                "Hai bên cùng kiểm đếm, đối chiếu từng hồ sơ với Phiếu gửi và giao nhận các bưu gửi sau:", REGULAR, BODY
            )
        ],
        width,
    )
    table = _table(content, left, width)
    flow.add(text_block(intro, left, width), keep_with=table.header.height + table.rows[0].height)
    flow.space(1.5 * mm)
    flow.table(table)
    flow.space(1.5 * mm)
    flow.add(text_block(para_lines([Para(_count_text(content), BOLD, BODY)], width), left, width))
    if content.missing:
        flow.space(1.5 * mm)
        flow.add(text_block(para_lines([Para(_missing_text(content), BOLD, BODY)], width), left, width))
    if content.note:
        flow.space(1.5 * mm)
        flow.add(
            text_block(para_lines([Para(nfc(content.note), REGULAR, BODY, prefix="Ghi chú:")], width), left, width)
        )

    signing_time = f"Thời điểm ký: {nfc(content.confirmed_at)}" if content.confirmed_at else SIGNING_TIME
    if is_to_agency(content):
        flow.space(2 * mm)
        legal = para_lines(
            [Para(LEGAL_SENTENCE, REGULAR, BODY), Para(signing_time, REGULAR, BODY, space_before=3)], width
        )
        flow.add(text_block(legal, left, width))
    elif content.confirmed_at:
        flow.space(2 * mm)
        flow.add(text_block(para_lines([Para(signing_time, REGULAR, BODY)], width), left, width))
    flow.space(2 * mm)
    closing = para_lines(
        [Para("Biên bản được lập thành 02 bản, mỗi bên giữ 01 bản có giá trị như nhau.", REGULAR, SMALL)], width
    )
    flow.add(text_block(closing, left, width))
    flow.space(3 * mm)

    boxes = [
        (f"Đại diện {label}", (name, signatory) if signatory else (name,))
        for label, name, _, signatory in _parties(content)
    ]
    signatures = signature_row(boxes, left, width, 25 * mm)
    flow.add(signatures)
    return flow


def draw_handover(canv: Canvas, content: HandoverContent) -> int:
    """Draw the whole record onto ``canv`` (A4 pages, ``showPage`` after each); returns the page count."""
    ensure_fonts()
    flow = layout_handover(content)
    title = nfc(content.title) or "BIÊN BẢN GIAO NHẬN HỒ SƠ"
    return paint_pages(
        canv,
        flow.pages,
        continuation=(f"{title} (tiếp theo)", nfc(content.created_at)),
        footer=f"Biên bản số: {nfc(content.handover_id)} · {nfc(content.agency_name)}",
        page_size=(A4_WIDTH, A4_HEIGHT),
        margin=MARGIN,
    )


def render_handover(content: HandoverContent, *, author: str = PDF_AUTHOR) -> bytes:
    """The record as PDF bytes: A4 portrait pages, embedded DejaVu subsets, compressed streams."""
    ensure_fonts()
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canv = new_canvas(
            buffer,
            (A4_WIDTH, A4_HEIGHT),
            title=f"Biên bản giao nhận hồ sơ {nfc(content.handover_id)}",
            author=author,
            subject="Biên bản giao nhận hồ sơ – Quyết định 45/2016/QĐ-TTg Điều 7",
        )
        draw_handover(canv, content)
        canv.save()
        return buffer.getvalue()


__all__ = ["A4_HEIGHT", "A4_WIDTH", "draw_handover", "render_handover"]
