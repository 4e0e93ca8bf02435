"""Labels: what goes on the 100×150 mm label, rendering it once per tracking code, and serving it."""

from __future__ import annotations

from postal_bridge.domain import s10
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.labels import LabelContent, LabelParty
from postal_bridge.domain.model import OutboxItem, OutboxKind
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Kind
from postal_bridge.services.agencies import Caller
from postal_bridge.services.consignments import get_consignment
from postal_bridge.services.deps import Deps
from postal_bridge.services.outbox import complete, handles

KIND_LABELS = {
    Kind.RETURN: "Trả kết quả TTHC",
    Kind.PICKUP: "Nhận hồ sơ TTHC",
    Kind.TRANSFER: "Chuyển hồ sơ liên thông",
}
SERVICE_LABELS = {"standard": "Tiêu chuẩn", "express": "Nhanh"}
HANDLING = {Kind.RETURN: "Phát tận tay – kiểm tra CCCD", Kind.PICKUP: "Hồ sơ TTHC – giao Bộ phận Một cửa"}


def label_content(uow: UnitOfWork, deps: Deps, c: Consignment, carrier_name: str) -> LabelContent:
    agency = uow.agencies.get(c.agency_id)
    citizen_ward = uow.units.ward(c.citizen.address.ward_code)
    assert agency is not None and citizen_ward is not None and c.tracking_code
    agency_ward = uow.units.ward(agency.address.ward_code)
    assert agency_ward is not None
    citizen = LabelParty(
        name=c.citizen.name, phone=c.citizen.phone.display, address_lines=c.citizen.address.lines(citizen_ward)
    )
    centre = LabelParty(
        name=agency.name, phone=Phone(agency.phone).display, address_lines=agency.address.lines(agency_ward)
    )
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
        handling_note=HANDLING.get(c.kind, ""),
        printed_on=deps.clock.now().date(),
        extra_lines=(f"Mã tra cứu: {s10.spaced(c.tracking_code)}",) if s10.is_valid(c.tracking_code) else (),
    )


def _render_and_store(deps: Deps, c: Consignment) -> bytes:
    carrier = deps.carriers.adapter(c.agency_id, c.carrier)  # outside the transaction: it reads settings itself
    with deps.uow() as uow:
        content = label_content(uow, deps, c, carrier.name if carrier else c.carrier)
    pdf = deps.labels.render_label(content)
    with deps.uow() as uow:
        assert c.tracking_code
        if uow.labels.get(c.id, c.tracking_code) is None:
            uow.labels.put(c.id, c.tracking_code, pdf, deps.clock.now())
            uow.commit()
    return pdf


@handles(OutboxKind.RENDER_LABEL)
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


def label_pdf(deps: Deps, caller: Caller, consignment_id: str) -> tuple[Consignment, bytes]:
    """The stored label, rendering it now if the worker has not yet. 409 until the courier gave a tracking code."""
    c = get_consignment(deps, caller, consignment_id)
    if not c.tracking_code:
        raise Conflict("The consignment is not booked yet; the label exists once the courier gives a tracking code.")
    with deps.uow() as uow:
        stored = uow.labels.get(c.id, c.tracking_code)
    return c, stored if stored is not None else _render_and_store(deps, c)
