"""Events from the one-stop dossier system about one dossier: result ready, re-dated, withdrawn, collected at the
counter, supplement required, rejected (``POST /api/v1/dossiers/<code>/events``).

Every change one event causes — status transitions, outbox rows (booking, courier cancel, the signed callbacks of each
status change), a new return for a rejected paper dossier, and the stored event with the answer — is written in one
transaction; the outbox is woken after commit.

Idempotency is optional here: when the caller sends an ``Idempotency-Key``, it is kept in the stored event's payload
with a fingerprint of the request, and the same key from the same agency returns the first answer (another body with
that key is refused). Two requests racing with one key may both apply; the second then finds nothing left to do
for ``result_ready`` and the cancels, and the paper-dossier return is never created twice for one pickup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postal_bridge.domain.address import Party
from postal_bridge.domain.consignment import Consignment, Parcel
from postal_bridge.domain.dossier_events import (
    PAPER_DOSSIER_CONTENTS,
    Action,
    DossierEvent,
    DossierEventCommand,
    DossierEventType,
    apply_outcome,
    apply_redate,
    apply_result_ready,
    cancel_description,
    plan,
    validate,
)
from postal_bridge.domain.errors import Conflict, IdempotencyKeyReused, NotFound, ValidationFailed
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.consignments import new_tracking_token
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import add_outbox, record_effects
from postal_bridge.services.geography import enrich, set_deadline

MAX_PER_DOSSIER = 1000
T = DossierEventType


@dataclass(frozen=True)
class EventAnswer:
    body: dict[str, Any]  # {"event_id", "type", "applied_to": [...]}
    replayed: bool


def normalize_code(raw: str) -> str:
    """Dossier codes are matched case-insensitively: they are stored upper-case (``parse_dossier_code``)."""
    return nfc(raw or "").strip().upper()


def receive_event(
    deps: Deps,
    caller: Caller,
    dossier_code: str,
    cmd: DossierEventCommand,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> EventAnswer:
    """Apply one event to every consignment of the dossier and store it; see the module docstring."""
    now = deps.clock.now()
    code = normalize_code(dossier_code)
    reason = (nfc(cmd.reason).strip() or None) if cmd.reason else None
    errors = validate(
        cmd.type,
        appointment_date=cmd.appointment_date,
        occurred_at=cmd.occurred_at,
        return_paper_dossier=cmd.return_paper_dossier,
        reason=reason,
        now=now,
    )
    if errors:
        raise ValidationFailed(errors)
    event_type = DossierEventType(cmd.type)

    if idempotency_key:
        with deps.uow() as uow:
            first = uow.dossier_events.by_idempotency_key(caller.agency.id, idempotency_key)  # type: ignore[attr-defined]
        if first is not None:
            if first.payload.get("fingerprint") != fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was already used with a different event.")
            return EventAnswer(body=first.answer, replayed=True)

    with deps.uow() as uow:
        known = _of_dossier(uow, caller, code)
    if not known:
        raise NotFound("No consignment of this agency carries this dossier code.")
    paper_return = None
    if event_type == T.REJECTED and cmd.return_paper_dossier:
        paper_return = _prepare_paper_return(deps, caller, known, now=now)

    actor = caller.actor
    at = cmd.occurred_at or now
    wake: list[int] = []
    with deps.uow() as uow:
        applied: list[dict[str, Any]] = []
        for c in _of_dossier(uow, caller, code):
            before, tell_courier = c.status, False
            action = plan(event_type, c.kind, c.status)
            if action == Action.BOOKING_STARTED:
                apply_result_ready(c, now=now, ready_at=at, actor=actor)
                set_deadline(deps, c, now)  # J is estimated from today, not from the registration
                if c.awaiting_address_confirmation:  # booking waits for a person to confirm the ward
                    action = Action.AWAITING_ADDRESS
            elif action == Action.REDATED:
                assert cmd.appointment_date is not None
                if not apply_redate(c, cmd.appointment_date):
                    action = Action.NONE
            elif action == Action.CANCELLED:
                tell_courier = c.cancel(occurred_at=now, actor=actor, reason=cancel_description(event_type, reason))
            elif action in (Action.OUTCOME_SET, Action.RECORDED):
                apply_outcome(c, event_type, at=at)
            if action != Action.NONE:
                uow.consignments.save(c)
                wake += record_effects(uow, c, now=now)
            if action == Action.BOOKING_STARTED:
                wake.append(add_outbox(uow, OutboxKind.BOOK, now=now, consignment_id=c.id, payload={}))
            if tell_courier:
                wake.append(_cancel_with_courier(uow, c, now=now))
            applied.append(_entry(c, before, action))
        if paper_return is not None:
            uow.consignments.add(paper_return)
            wake += record_effects(uow, paper_return, now=now)
            if not paper_return.awaiting_address_confirmation:
                wake.append(add_outbox(uow, OutboxKind.BOOK, now=now, consignment_id=paper_return.id, payload={}))
            applied.append(_entry(paper_return, None, Action.CREATED))
        event = DossierEvent(
            agency_id=caller.agency.id,
            dossier_code=code,
            type=event_type.value,
            payload={
                "request": DossierEventCommand(
                    type=event_type.value,
                    occurred_at=cmd.occurred_at,
                    appointment_date=cmd.appointment_date,
                    reason=reason,
                    return_paper_dossier=cmd.return_paper_dossier,
                ).as_payload(),
                "idempotency_key": idempotency_key or None,
                "fingerprint": fingerprint if idempotency_key else None,
                "applied_to": applied,
            },
            received_at=now,
            actor=actor,
        )
        uow.dossier_events.add(event)  # type: ignore[attr-defined]
        uow.commit()
    deps.wake(wake)
    return EventAnswer(body=event.answer, replayed=False)


def list_events(deps: Deps, caller: Caller, dossier_code: str) -> list[DossierEvent]:
    """The events received for one of this agency's dossiers, oldest first (404 for a dossier it does not have)."""
    code = normalize_code(dossier_code)
    with deps.uow() as uow:
        events = uow.dossier_events.for_dossier(caller.agency.id, code)  # type: ignore[attr-defined]
        if not events and not _of_dossier(uow, caller, code, limit=1):
            raise NotFound("No consignment of this agency carries this dossier code.")
    return events


def _of_dossier(uow: UnitOfWork, caller: Caller, code: str, *, limit: int = MAX_PER_DOSSIER) -> list[Consignment]:
    if not code:
        return []
    items, _ = uow.consignments.search(
        agency_id=caller.agency.id, dossier_code=code, status=None, offset=0, limit=limit
    )
    return items


def _entry(c: Consignment, before: Status | None, action: Action) -> dict[str, Any]:
    return {
        "consignment_id": c.id,
        "kind": c.kind.value,
        "status_before": before.value if before else None,
        "status_after": c.status.value,
        "action": action.value,
    }


def _cancel_with_courier(uow: UnitOfWork, c: Consignment, *, now: datetime) -> int:
    """The courier had accepted the booking: tell it too (same row as ``consignments.cancel_consignment``)."""
    return add_outbox(
        uow,
        OutboxKind.CANCEL_WITH_CARRIER,
        now=now,
        consignment_id=c.id,
        payload={"carrier": c.carrier, "carrier_ref": c.carrier_ref or c.tracking_code},
    )


def _prepare_paper_return(deps: Deps, caller: Caller, known: list[Consignment], *, now: datetime) -> Consignment | None:
    """A return carrying the rejected paper dossier back to the citizen of the pickup that brought it (Mẫu 03).

    ``None`` when one already exists for that pickup (the event was sent twice). Built and enriched before the
    transaction (``enrich`` reads on its own connection).
    """
    delivered = [c for c in known if c.kind == Kind.PICKUP and c.status == Status.DELIVERED]
    if not delivered:
        raise Conflict("No pickup of this dossier has reached the agency: there is no paper dossier to return.")
    pickup = delivered[0]  # the newest
    if any(
        c.kind == Kind.RETURN and c.options.get("paper_dossier_of") == pickup.id and c.status != Status.CANCELLED
        for c in known
    ):
        return None
    if pickup.personal_data_purged_at is not None:
        raise Conflict("The citizen's personal data of this dossier was purged; the return cannot be addressed.")
    options: dict[str, Any] = {"paper_dossier_of": pickup.id}
    if "sandbox_scenario" in pickup.options:
        options["sandbox_scenario"] = pickup.options["sandbox_scenario"]
    ret = Consignment.register(
        occurred_at=now,
        actor=caller.actor,
        id=str(uuid.uuid4()),
        agency_id=caller.agency.id,
        api_key_id=caller.api_key_id,
        kind=Kind.RETURN,
        carrier=pickup.carrier,
        service=pickup.service,
        dossier=pickup.dossier,
        citizen=Party(name=pickup.citizen.name, phone=pickup.citizen.phone, address=pickup.citizen.address),
        parcel=Parcel(
            weight_g=pickup.parcel.weight_g, contents=PAPER_DOSSIER_CONTENTS, documents=pickup.parcel.documents
        ),
        options=options,
        tracking_token=new_tracking_token(),
        address_status=pickup.address_status,
        address_legacy_text=pickup.address_legacy_text,
        address_confirmed_by=pickup.address_confirmed_by,
        address_confirmed_at=pickup.address_confirmed_at,
    )
    with deps.uow() as uow:
        ward = uow.units.ward(ret.citizen.address.ward_code)
    if ward is not None:
        enrich(deps, ret, caller.agency, ward, now=now)
    return ret
