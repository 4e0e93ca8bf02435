"""Labels and the legal paperwork: what goes on them, rendering once per tracking code, printing and reprint logs.

The 100×150 mm label is rendered right after booking (the counter's first print is instant) and cached by tracking
code; ZPL is rasterised from that PDF. The Phiếu gửi hồ sơ and the Biên bản giao nhận are rendered on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.labels import (
    HandoverContent,
    HandoverLine,
    LabelContent,
    LabelParty,
    SlipContent,
    SlipDocument,
    SlipParty,
)
from postal_bridge.domain.model import Handover, HandoverDirection, OutboxItem, OutboxKind, PrintRecord
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Kind
from postal_bridge.services.agencies import Caller
from postal_bridge.services.consignments import get_consignment
from postal_bridge.services.deps import Deps
from postal_bridge.services.outbox import complete, handles

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
KIND_LABELS = {
    Kind.RETURN: "Trả kết quả TTHC",
    Kind.PICKUP: "Nhận hồ sơ TTHC",
    Kind.TRANSFER: "Chuyển hồ sơ liên thông",
}
SLIP_KIND_LABELS = {Kind.RETURN: "Nhận kết quả", Kind.PICKUP: "Gửi hồ sơ", Kind.TRANSFER: "Chuyển hồ sơ liên thông"}
SERVICE_LABELS = {"standard": "Tiêu chuẩn", "express": "Nhanh"}
HANDLING = {Kind.RETURN: "Phát tận tay – kiểm tra CCCD", Kind.PICKUP: "Hồ sơ TTHC – giao Bộ phận Một cửa"}
FORMATS = {"pdf": None, "zpl203": 203, "zpl300": 300}
MAX_BATCH = 500
# Decision 45/2016 Art 14 and Decree 47/2011 Art 25: at least 4 × the postage for loss or damage, postage refunded
# when the published time is missed.
LIABILITY = (
    "Bưu chính chịu trách nhiệm bồi thường khi làm mất, hư hỏng hồ sơ hoặc kết quả: tối thiểu 4 lần cước (đã gồm "
    "hoàn cước); hoàn cước khi phát chậm so với chỉ tiêu đã công bố (Nghị định 47/2011/NĐ-CP, Điều 25). Bồi thường "
    "trong 30 ngày kể từ ngày xác định trách nhiệm. Khiếu nại trong 6 tháng kể từ khi hết thời hạn J+n."
)
QUALITY = {"standard": "Toàn trình tối đa J+4 ngày làm việc", "express": "Toàn trình tối đa J+2 ngày làm việc"}


def _local(dt) -> str:
    return dt.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


def _parties(uow: UnitOfWork, c: Consignment) -> tuple[tuple, tuple]:
    """(agency name, phone display, address lines), (citizen …) for a consignment."""
    agency = uow.agencies.get(c.agency_id)
    citizen_ward = uow.units.ward(c.citizen.address.ward_code)
    assert agency is not None and citizen_ward is not None
    agency_ward = uow.units.ward(agency.address.ward_code)
    assert agency_ward is not None
    centre = (agency.name, Phone(agency.phone).display, agency.address.lines(agency_ward))
    citizen = (c.citizen.name, c.citizen.phone.display, c.citizen.address.lines(citizen_ward))
    return centre, citizen


def label_content(
    uow: UnitOfWork, deps: Deps, c: Consignment, carrier_name: str, extra_lines: tuple[str, ...] = ()
) -> LabelContent:
    assert c.tracking_code
    centre, citizen = (LabelParty(n, p, a) for n, p, a in _parties(uow, c))
    sender, recipient = (centre, citizen) if c.kind == Kind.RETURN else (citizen, centre)
    return LabelContent(
        tracking_code=c.tracking_code,
        tracking_url=deps.tracking_url(c.tracking_token),
        carrier_name=carrier_name,
        service_name=SERVICE_LABELS.get(c.service, c.service),
        kind_label=KIND_LABELS[c.kind],
        sender=sender,
        recipient=recipient,
        dossier_code=c.dossier.code or "—",
        weight_g=c.parcel.weight_g,
        cod_vnd=c.cod_vnd,
        postage_vnd=c.postage_vnd,
        handling_note=HANDLING.get(c.kind, ""),
        printed_on=deps.clock.now().astimezone(TZ).date(),
        extra_lines=extra_lines,
    )


def _extra_lines(deps: Deps, c: Consignment) -> tuple[str, ...]:
    """The serving post office and the J+n deadline. Read outside any open transaction (own connection)."""
    lines = []
    if c.post_office_code and deps.post_offices is not None:
        office = deps.post_offices.get(c.post_office_code)
        if office:
            lines.append(f"Bưu cục phụ trách: {office.name}")
    if c.due_date:
        lines.append(f"Hạn phát (J+n): {c.due_date:%d/%m/%Y}")
    return tuple(lines)


def slip_content(uow: UnitOfWork, deps: Deps, c: Consignment, carrier_name: str) -> SlipContent:
    centre, citizen = (SlipParty(name=n, phone=p, address_lines=a) for n, p, a in _parties(uow, c))
    sender, recipient = (centre, citizen) if c.kind == Kind.RETURN else (citizen, centre)
    picked = next((e for e in c.events if e.status.value == "picked_up"), None)
    documents = tuple(SlipDocument(d.name, d.kind, d.quantity) for d in c.parcel.documents) or (
        SlipDocument(c.parcel.contents, "original" if c.kind == Kind.RETURN else "copy", 1),
    )
    return SlipContent(
        slip_number=c.tracking_code or c.id[:8].upper(),
        kind=c.kind.value,
        kind_label=SLIP_KIND_LABELS[c.kind],
        sender=sender,
        recipient=recipient,
        procedure_name=c.dossier.procedure_name or c.parcel.contents,
        dossier_code=c.dossier.code or "—",
        documents=documents,
        result_included=c.kind == Kind.RETURN,
        accepted_at=_local(picked.occurred_at if picked else c.created_at),
        place=centre.address_lines[-1] if c.kind == Kind.RETURN else citizen.address_lines[-1],
        method="Nhận tại Bộ phận Một cửa, phát tận tay người nhận"
        if c.kind == Kind.RETURN
        else "Nhận hồ sơ tại địa chỉ của người gửi, chuyển đến Bộ phận Một cửa",
        carrier_name=carrier_name,
        service_name=SERVICE_LABELS.get(c.service, c.service),
        postage_vnd=c.postage_vnd,
        payment_method="Người gửi trả cước (Quyết định 45/2016/QĐ-TTg, Điều 12)",
        quality_promise=QUALITY.get(c.service, QUALITY["standard"]),
        liability=LIABILITY,
        tracking_url=deps.tracking_url(c.tracking_token),
        weight_g=c.parcel.weight_g,
        cod_vnd=c.cod_vnd,
    )


def _carrier_name(deps: Deps, c: Consignment) -> str:
    carrier = deps.carriers.adapter(c.agency_id, c.carrier)  # outside any transaction: it reads settings itself
    return carrier.name if carrier else c.carrier


def _render_and_store(deps: Deps, c: Consignment) -> bytes:
    name, extra = _carrier_name(deps, c), _extra_lines(deps, c)
    with deps.uow() as uow:
        content = label_content(uow, deps, c, name, extra)
    pdf = deps.labels.render_label(content)
    with deps.uow() as uow:
        assert c.tracking_code
        if uow.labels.get(c.id, c.tracking_code) is None:
            uow.labels.put(c.id, c.tracking_code, pdf, deps.clock.now())
            uow.commit()
    return pdf


@handles(OutboxKind.RENDER_LABEL, local=True)
def render_label_job(deps: Deps, item: OutboxItem) -> list[int]:
    """Pre-render right after booking so the counter's first print is instant."""
    with deps.uow() as uow:
        c = uow.consignments.get(item.consignment_id or "")
        done = c is None or not c.tracking_code or uow.labels.get(c.id, c.tracking_code) is not None
    if not done:
        assert c is not None
        _render_and_store(deps, c)
    with deps.uow() as uow:
        complete(uow, item, deps)
        uow.commit()
    return []


@dataclass(frozen=True)
class Printed:
    content: bytes | str
    content_type: str
    filename: str


def _format(caller: Caller, fmt: str | None, dpi: int | None) -> str:
    if fmt is None:
        return caller.printer_profile
    if fmt == "pdf":
        return "pdf"
    if fmt == "zpl":
        if dpi not in (203, 300):
            raise ValidationFailed({"dpi": ["ZPL needs dpi=203 or dpi=300 (the printer's resolution)."]})
        return f"zpl{dpi}"
    raise ValidationFailed({"format": ["Must be pdf or zpl."]})


def _log(deps: Deps, caller: Caller, ids: list[str], document: str) -> None:
    with deps.uow() as uow:
        already = uow.prints.printed(ids, document)
        now = deps.clock.now()
        for cid in ids:
            uow.prints.add(PrintRecord(cid, document, now, caller.actor, cid in already))
        uow.commit()


def _stored_pdf(deps: Deps, c: Consignment) -> bytes:
    _require_confirmed_address(c)
    if not c.tracking_code:
        raise Conflict("The consignment is not booked yet; the label exists once the courier gives a tracking code.")
    with deps.uow() as uow:
        stored = uow.labels.get(c.id, c.tracking_code)
    return stored if stored is not None else _render_and_store(deps, c)


def label(
    deps: Deps, caller: Caller, consignment_id: str, *, fmt: str | None = None, dpi: int | None = None
) -> Printed:
    """One label, as PDF or ZPL. 409 until the courier gave a tracking code. Every print is logged."""
    profile = _format(caller, fmt, dpi)
    c = get_consignment(deps, caller, consignment_id)
    pdf = _stored_pdf(deps, c)
    _log(deps, caller, [c.id], "label")
    if profile == "pdf":
        return Printed(pdf, "application/pdf", f"label-{c.tracking_code}.pdf")
    name, extra = _carrier_name(deps, c), _extra_lines(deps, c)
    with deps.uow() as uow:
        content = label_content(uow, deps, c, name, extra)
    return Printed(
        deps.labels.render_labels_zpl([content], FORMATS[profile]), "text/plain", f"label-{c.tracking_code}.zpl"
    )


def label_pdf(deps: Deps, caller: Caller, consignment_id: str) -> tuple[Consignment, bytes]:
    c = get_consignment(deps, caller, consignment_id)
    return c, _stored_pdf(deps, c)


def batch(
    deps: Deps, caller: Caller, ids: list[str] | None, *, fmt: str | None = None, dpi: int | None = None
) -> Printed:
    """Many labels in one document, one per page, in the order given (or every booked label not yet printed)."""
    profile = _format(caller, fmt, dpi)
    if ids is None:
        with deps.uow() as uow:
            ids = uow.prints.booked_not_printed(caller.agency.id, MAX_BATCH)
        if not ids:
            raise NotFound("Every booked consignment's label has been printed already.")
    if len(ids) > MAX_BATCH:
        raise ValidationFailed({"ids": [f"At most {MAX_BATCH} labels per batch."]})
    consignments = []
    for cid in ids:
        c = get_consignment(deps, caller, cid)  # another agency's id answers 404 like an unknown one
        if not c.tracking_code:
            raise Conflict(f"Consignment {cid} is not booked yet, so it has no label.")
        consignments.append(c)
    names = {c.carrier: _carrier_name(deps, c) for c in consignments}
    extras = {c.id: _extra_lines(deps, c) for c in consignments}
    with deps.uow() as uow:
        contents = [label_content(uow, deps, c, names[c.carrier], extras[c.id]) for c in consignments]
    _log(deps, caller, [c.id for c in consignments], "label")
    if profile == "pdf":
        return Printed(deps.labels.render_labels(contents), "application/pdf", f"labels-{len(contents)}.pdf")
    return Printed(
        deps.labels.render_labels_zpl(contents, FORMATS[profile]), "text/plain", f"labels-{len(contents)}.zpl"
    )


def _require_confirmed_address(c: Consignment) -> None:
    if c.awaiting_address_confirmation:
        raise Conflict("The address was converted from an old commune that was split: confirm the ward first.")


def slip(deps: Deps, caller: Caller, consignment_id: str) -> Printed:
    """The Phiếu gửi hồ sơ (A5), printed for both parties' signatures."""
    c = get_consignment(deps, caller, consignment_id)
    _require_confirmed_address(c)
    name = _carrier_name(deps, c)
    with deps.uow() as uow:
        content = slip_content(uow, deps, c, name)
    _log(deps, caller, [c.id], "slip")
    return Printed(deps.labels.render_slip(content), "application/pdf", f"phieu-gui-{content.slip_number}.pdf")


def handover_content(uow: UnitOfWork, deps: Deps, h: Handover) -> HandoverContent:
    agency = uow.agencies.get(h.agency_id)
    assert agency is not None
    ward = uow.units.ward(agency.address.ward_code)
    found = uow.consignments.get_many([*h.consignment_ids, *h.missing_ids])
    lines = tuple(_handover_line(found[cid]) for cid in h.consignment_ids)
    missing = tuple(_handover_line(found[cid]) for cid in h.missing_ids if cid in found)
    to_post = h.direction == HandoverDirection.TO_POST
    # to_post: the agency gives, the post receives; to_agency the other way round.
    giver, receiver = (h.agency_signatory, h.post_signatory) if to_post else (h.post_signatory, h.agency_signatory)
    return HandoverContent(
        handover_id=h.id,
        direction=h.direction.value,
        title="BIÊN BẢN GIAO NHẬN HỒ SƠ" if not to_post else "BIÊN BẢN GIAO NHẬN KẾT QUẢ GIẢI QUYẾT TTHC",
        created_at=_local(h.created_at),
        place=h.place or agency.name,
        agency_name=agency.name,
        agency_address=", ".join(agency.address.lines(ward)) if ward else agency.address.line,
        post_name="Nhân viên bưu chính",
        giver_label="Bên giao (Bộ phận Một cửa)" if to_post else "Bên giao (Bưu chính)",
        receiver_label="Bên nhận (Bưu chính)" if to_post else "Bên nhận (Bộ phận Một cửa)",
        lines=lines,
        giver_signatory=giver or "",
        receiver_signatory=receiver or "",
        missing=missing,
        note=h.note,
        confirmed_at=_local(h.created_at) if h.post_signatory and h.agency_signatory else "",
    )


def _handover_line(c: Consignment) -> HandoverLine:
    counts: dict[str, int] = {}
    for d in c.parcel.documents:
        counts[d.kind] = counts.get(d.kind, 0) + d.quantity
    words = {"original": "bản chính", "certified_copy": "bản chứng thực", "copy": "bản sao"}
    summary = ", ".join(f"{n} {words[k]}" for k, n in counts.items()) or c.parcel.contents
    return HandoverLine(
        slip_number=c.tracking_code or c.id[:8].upper(),
        tracking_code=c.tracking_code or "",
        dossier_code=c.dossier.code or "—",
        recipient_name=c.citizen.name,
        documents_summary=summary,
    )
