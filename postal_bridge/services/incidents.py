"""Incidents (lost, damaged, tampered seal) and complaints: recording, resolution, compensation, payment.

Everything is scoped to the caller's agency: another agency's consignment, incident or complaint is "not found".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.incidents import (
    Complainant,
    Complaint,
    FaultParty,
    Incident,
    IncidentKind,
    complaint_due_date,
    lodging_deadline,
    minimum_compensation,
    payment_due_date,
    resolution_days,
    within_lodging_window,
)
from postal_bridge.domain.sla import local_date, transit_was_late
from postal_bridge.domain.status import Status
from postal_bridge.domain.tariff import refund_for_late
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects

WEEKENDS_ONLY = WorkingCalendar(holidays=frozenset())
# Before these the post never had the item, so there is nothing it can have lost or damaged.
NEVER_IN_CUSTODY = frozenset({Status.AWAITING_RESULT, Status.REQUESTED, Status.BOOKING_FAILED, Status.CANCELLED})


@dataclass(frozen=True)
class Money:
    """What the post owes on a resolution, for the response."""

    postage_vnd: int | None
    minimum_vnd: int
    refund_vnd: int  # the postage refunded because J + n was missed (0 when it was not, or not the post's fault)
    late: bool


def _actor(caller: Caller) -> str:
    return caller.actor


def _consignment(uow, caller: Caller, consignment_id: str) -> Consignment:
    c = uow.consignments.get(consignment_id, agency_id=caller.agency.id)
    if c is None:
        raise NotFound("No consignment with this id.")
    return c


def postage_of(c: Consignment) -> int | None:
    """The courier's price once booked, else our tariff's estimate."""
    return c.postage_vnd if c.postage_vnd is not None else c.fee_vnd


def _choice(value: str | None, enum, field: str, errors: dict[str, list[str]]):
    try:
        return enum(value)
    except ValueError:
        errors[field] = [f"Must be one of: {', '.join(e.value for e in enum)}."]
        return None


def _text(value: str | None, field: str, errors: dict[str, list[str]], *, required: bool = True) -> str | None:
    text = nfc(value or "").strip()
    if required and not text:
        errors[field] = ["Must not be empty."]
    return text or None


def _compensation(given: int | None, minimum: int, errors: dict[str, list[str]], *, basis: str) -> int | None:
    if given is None:
        return minimum or None
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        errors["compensation_vnd"] = ["Must be a whole number of đồng, 0 or more."]
        return None
    if given < minimum:
        errors["compensation_vnd"] = [f"Must be at least {minimum} VND ({basis})."]
        return None
    return given


# --- incidents ----------------------------------------------------------------------------------------------------


def open_incident(
    deps: Deps,
    caller: Caller,
    consignment_id: str,
    *,
    kind: str,
    description: str,
    record_no: str | None = None,
    unusable: bool = False,
) -> tuple[Incident, Consignment]:
    """Record an incident; a loss (or damage / a broken seal that made the item unusable) ends the consignment."""
    errors: dict[str, list[str]] = {}
    incident_kind = _choice(kind, IncidentKind, "kind", errors)
    text = _text(description, "description", errors)
    record = _text(record_no, "record_no", errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    assert incident_kind is not None and text is not None
    now = deps.clock.now()
    with deps.uow() as uow:
        c = _consignment(uow, caller, consignment_id)
        if c.status in NEVER_IN_CUSTODY:
            raise Conflict(f"The post never had this item (status '{c.status}'); there is no incident to record.")
        incident = Incident(
            id=str(uuid.uuid4()),
            consignment_id=c.id,
            kind=incident_kind,
            opened_at=now,
            opened_by=_actor(caller),
            description=text,
            record_no=record,
        )
        ends = incident_kind == IncidentKind.LOST or unusable
        ids: list[int] = []
        if ends:
            what = {"lost": "Thất lạc", "damaged": "Hư hỏng", "tampered": "Niêm phong bị xâm phạm"}[incident_kind]
            c.transition(
                Status.LOST_OR_DAMAGED,
                occurred_at=now,
                source=Source.API,
                actor=_actor(caller),
                description=f"{what}" + (f" (biên bản {record})" if record else ""),
            )
        uow.incidents.add(incident)
        if ends:
            uow.consignments.save(c)
            ids = record_effects(uow, c, now=now)
        uow.commit()
    deps.wake(ids)
    return incident, c


def resolve_incident(
    deps: Deps,
    caller: Caller,
    incident_id: str,
    *,
    fault_party: str,
    resolution: str,
    compensation_vnd: int | None = None,
) -> tuple[Incident, Money]:
    errors: dict[str, list[str]] = {}
    party = _choice(fault_party, FaultParty, "fault_party", errors)
    text = _text(resolution, "resolution", errors)
    if errors:
        raise ValidationFailed(errors)
    now = deps.clock.now()
    with deps.uow() as uow:
        incident = uow.incidents.get(incident_id, agency_id=caller.agency.id)
        if incident is None:
            raise NotFound("No incident with this id.")
        if not incident.open:
            raise Conflict("This incident is already resolved.")
        c = _consignment(uow, caller, incident.consignment_id)
        postage = postage_of(c)
        loss_or_damage = incident.kind != IncidentKind.TAMPERED or c.status == Status.LOST_OR_DAMAGED
        minimum = minimum_compensation(postage, fault_party=party, loss_or_damage=loss_or_damage, late=False)
        amount = _compensation(compensation_vnd, minimum, errors, basis="4 × the postage, NĐ 47/2011 Art 25.1.a")
        if errors:
            raise ValidationFailed(errors)
        incident.fault_party = party
        incident.resolution = text
        incident.compensation_vnd = amount
        incident.resolved_at = now
        uow.incidents.save(incident)
        uow.commit()
    return incident, Money(postage_vnd=postage, minimum_vnd=minimum, refund_vnd=0, late=False)


def incidents_of(deps: Deps, caller: Caller, consignment_id: str) -> list[Incident]:
    with deps.uow() as uow:
        _consignment(uow, caller, consignment_id)
        return uow.incidents.for_consignment(consignment_id)


# --- complaints ---------------------------------------------------------------------------------------------------


def open_complaint(deps: Deps, caller: Caller, consignment_id: str, *, complainant: str, description: str) -> Complaint:
    """Lodge a complaint: due in 5 working days within a province, 7 between provinces (TT17 Art 8.1)."""
    errors: dict[str, list[str]] = {}
    who = _choice(complainant, Complainant, "complainant", errors)
    text = _text(description, "description", errors)
    if errors:
        raise ValidationFailed(errors)
    assert who is not None and text is not None
    now = deps.clock.now()
    today = local_date(now)
    calendar = deps.calendar or WEEKENDS_ONLY
    with deps.uow() as uow:
        c = _consignment(uow, caller, consignment_id)
        if not within_lodging_window(c.due_date, today):
            assert c.due_date is not None
            raise ValidationFailed(
                {
                    "opened_at": [
                        "A complaint must be lodged within 6 months from the end of the J+n period "
                        f"({c.due_date.isoformat()}); that window closed on {lodging_deadline(c.due_date).isoformat()}."
                    ]
                }
            )
        same_province = c.citizen.address.province_code == caller.agency.address.province_code
        days = resolution_days(c.route_class, same_province=same_province)
        complaint = Complaint(
            id=str(uuid.uuid4()),
            consignment_id=c.id,
            complainant=who,
            opened_at=now,
            description=text,
            due_date=complaint_due_date(today, calendar, days),
        )
        uow.complaints.add(complaint)
        uow.commit()
    return complaint


def resolve_complaint(
    deps: Deps,
    caller: Caller,
    complaint_id: str,
    *,
    outcome: str,
    fault_party: str,
    compensation_vnd: int | None = None,
) -> tuple[Complaint, Money]:
    """Record the outcome and the liability decision; compensation is then due within 30 days (NĐ 47 Art 26).

    When the post was at fault the least it may pay is 4 × postage for a lost or damaged item, else the postage back
    when J + n was missed (``refund_for_late``); without ``compensation_vnd`` that least amount is recorded.
    """
    errors: dict[str, list[str]] = {}
    party = _choice(fault_party, FaultParty, "fault_party", errors)
    text = _text(outcome, "outcome", errors)
    if errors:
        raise ValidationFailed(errors)
    now = deps.clock.now()
    today = local_date(now)
    with deps.uow() as uow:
        complaint = uow.complaints.get(complaint_id, agency_id=caller.agency.id)
        if complaint is None:
            raise NotFound("No complaint with this id.")
        if not complaint.open:
            raise Conflict("This complaint is already resolved.")
        c = _consignment(uow, caller, complaint.consignment_id)
        postage = postage_of(c)
        late = transit_was_late(c, today)
        loss_or_damage = c.status == Status.LOST_OR_DAMAGED or any(
            i.kind != IncidentKind.TAMPERED for i in uow.incidents.for_consignment(c.id)
        )
        minimum = minimum_compensation(postage, fault_party=party, loss_or_damage=loss_or_damage, late=late)
        basis = (
            "4 × the postage, NĐ 47/2011 Art 25.1.a"
            if loss_or_damage
            else "the postage is refunded when J+n was missed, NĐ 47/2011 Art 25.2"
        )
        amount = _compensation(compensation_vnd, minimum, errors, basis=basis)
        if errors:
            raise ValidationFailed(errors)
        complaint.outcome = text
        complaint.fault_party = party
        complaint.compensation_vnd = amount
        complaint.resolved_at = now
        complaint.liability_decided_at = now
        complaint.payment_due_date = payment_due_date(today) if amount else None
        uow.complaints.save(complaint)
        uow.commit()
    refund = refund_for_late(postage) if late and postage and party == FaultParty.POST else 0
    return complaint, Money(postage_vnd=postage, minimum_vnd=minimum, refund_vnd=refund, late=late)


def record_payment(deps: Deps, caller: Caller, complaint_id: str) -> Complaint:
    """The decided compensation was paid: the 30-day clock stops."""
    now = deps.clock.now()
    with deps.uow() as uow:
        complaint = uow.complaints.get(complaint_id, agency_id=caller.agency.id)
        if complaint is None:
            raise NotFound("No complaint with this id.")
        if not complaint.compensation_vnd:
            raise Conflict("No compensation was decided for this complaint.")
        if complaint.paid_at is None:
            complaint.paid_at = now
            uow.complaints.save(complaint)
            uow.commit()
    return complaint


def complaints_of(deps: Deps, caller: Caller, consignment_id: str) -> list[Complaint]:
    with deps.uow() as uow:
        _consignment(uow, caller, consignment_id)
        return uow.complaints.for_consignment(consignment_id)


def list_complaints(deps: Deps, caller: Caller, *, open_only: bool, limit: int = 500) -> list[Complaint]:
    with deps.uow() as uow:
        return uow.complaints.for_agency(caller.agency.id, open_only=open_only, limit=limit)
