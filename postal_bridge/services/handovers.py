"""Handovers (Biên bản giao nhận): many consignments change hands at one moment, and each one's status says so.

Handing results to the post puts returns into postal custody (``picked_up``); handing dossiers to the agency makes
pickups ``delivered`` — that moment is the dossier's legal submission time (Decision 45/2016 Art 7.4) — and brings
undeliverable returns back (``returned_to_agency``).
"""

from __future__ import annotations

import secrets

from postal_bridge.domain.commands import CreateHandover
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.model import Handover, HandoverDirection
from postal_bridge.domain.status import Kind, Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects
from postal_bridge.services.geography import set_deadline
from postal_bridge.services.labels import Printed, handover_content

MAX_ITEMS = 500

_TO_AGENCY_DOSSIER = {
    Status.PICKED_UP: Status.DELIVERED,
    Status.IN_TRANSIT: Status.DELIVERED,
    Status.OUT_FOR_DELIVERY: Status.DELIVERED,
}
# (direction, kind, current status) → status after the handover
MOVES: dict[tuple[HandoverDirection, Kind], dict[Status, Status]] = {
    (HandoverDirection.TO_POST, Kind.RETURN): {Status.BOOKED: Status.PICKED_UP, Status.PICKUP_FAILED: Status.PICKED_UP},
    (HandoverDirection.TO_POST, Kind.TRANSFER): {Status.BOOKED: Status.PICKED_UP},
    (HandoverDirection.TO_AGENCY, Kind.PICKUP): {
        Status.PICKED_UP: Status.DELIVERED,
        Status.IN_TRANSIT: Status.DELIVERED,
        Status.OUT_FOR_DELIVERY: Status.DELIVERED,
    },
    (HandoverDirection.TO_AGENCY, Kind.TRANSFER): {
        Status.PICKED_UP: Status.DELIVERED,
        Status.IN_TRANSIT: Status.DELIVERED,
        Status.OUT_FOR_DELIVERY: Status.DELIVERED,
    },
    (HandoverDirection.TO_AGENCY, Kind.RETURN): {Status.RETURNING_TO_AGENCY: Status.RETURNED_TO_AGENCY},
}


def new_handover_id(now) -> str:
    """Short, printable as Code128, sortable by day: ``BB-261122-7F3K9Q``."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"BB-{now:%y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def create_handover(deps: Deps, caller: Caller, cmd: CreateHandover) -> Handover:
    """Record the handover and move every consignment on it, in one transaction; refuse the whole list otherwise."""
    try:
        direction = HandoverDirection(cmd.direction)
    except ValueError:
        raise ValidationFailed({"direction": ["Must be to_post or to_agency."]}) from None
    ids = list(dict.fromkeys(cmd.consignment_ids))
    if not ids:
        raise ValidationFailed({"consignment_ids": ["At least one consignment."]})
    if len(ids) > MAX_ITEMS:
        raise ValidationFailed({"consignment_ids": [f"At most {MAX_ITEMS} consignments per handover."]})
    if len(ids) != len(cmd.consignment_ids):
        raise ValidationFailed({"consignment_ids": ["A consignment appears twice."]})
    now = deps.clock.now()
    actor = caller.actor
    with deps.uow() as uow:
        errors: dict[str, list[str]] = {}
        loaded = []
        for i, cid in enumerate(ids):
            c = uow.consignments.get(cid, agency_id=caller.agency.id)
            if c is None:
                errors[str(i)] = [f"No consignment {cid}."]
                continue
            target = MOVES.get((direction, c.kind), {}).get(c.status)
            if target is None:
                errors[str(i)] = [f"A {c.kind} consignment in status '{c.status}' cannot be handed {direction.value}."]
                continue
            loaded.append((c, target))
        if errors:
            raise ValidationFailed({"consignment_ids": errors})  # type: ignore[dict-item]
        handover = Handover(
            id=new_handover_id(now),
            agency_id=caller.agency.id,
            direction=direction,
            consignment_ids=ids,
            created_at=now,
            created_by=actor,
            place=nfc(cmd.place),
        )
        uow.handovers.add(handover)
        wake: list[int] = []
        for c, target in loaded:
            c.transition(
                target,
                occurred_at=now,
                source=Source.SCAN,
                actor=actor,
                description=f"Biên bản giao nhận {handover.id}",
            )
            if target == Status.PICKED_UP:  # the post accepted the result: J is the handover day
                set_deadline(deps, c, now)
            uow.consignments.save(c)
            wake += record_effects(uow, c, now=now, deps=deps)
        uow.commit()
    deps.wake(wake)
    return handover


def get_handover(deps: Deps, caller: Caller, handover_id: str) -> Handover:
    with deps.uow() as uow:
        h = uow.handovers.get(handover_id, agency_id=caller.agency.id)
    if h is None:
        raise NotFound("No handover with this id.")
    return h


def handover_pdf(deps: Deps, caller: Caller, handover_id: str) -> Printed:
    h = get_handover(deps, caller, handover_id)
    with deps.uow() as uow:
        content = handover_content(uow, deps, h)
    return Printed(deps.labels.render_handover(content), "application/pdf", f"bien-ban-{h.id}.pdf")
