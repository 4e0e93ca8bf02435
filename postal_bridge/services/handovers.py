"""Handovers (Biên bản giao nhận): many consignments change hands at one moment, and each one's status says so.

Handing results to the post puts returns into postal custody (``picked_up``); handing dossiers to the agency makes
pickups ``delivered`` — that moment is the dossier's legal submission time (Decision 45/2016 Art 7.4) — and brings
undeliverable returns back (``returned_to_agency``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from postal_bridge.domain.commands import CreateHandover
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.handover_sessions import MOVES
from postal_bridge.domain.model import Handover, HandoverDirection
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import Status
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects_many
from postal_bridge.services.geography import set_deadline
from postal_bridge.services.labels import Printed, handover_content

MAX_ITEMS = 500
# The moves live in the domain (domain/handover_sessions.py), shared with the clerks' handover sessions.
__all__ = ["MAX_ITEMS", "MOVES", "create_handover", "get_handover", "handover_pdf", "record_handover"]


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
    with deps.uow() as uow:
        handover, wake = record_handover(
            uow,
            deps,
            agency_id=caller.agency.id,
            actor=caller.actor,
            direction=direction,
            consignment_ids=ids,
            place=nfc(cmd.place),
            now=now,
        )
        uow.commit()
    deps.wake(wake)
    return handover


def record_handover(
    uow: UnitOfWork,
    deps: Deps,
    *,
    agency_id: str,
    actor: str,
    direction: HandoverDirection,
    consignment_ids: Sequence[str],
    place: str,
    now: datetime,
    post_signatory: str | None = None,
    agency_signatory: str | None = None,
    agency_confirmed_by: str | None = None,
    missing_ids: Sequence[str] = (),
    note: str = "",
    session_id: str | None = None,
    location: str | None = None,
) -> tuple[Handover, list[int]]:
    """Inside the caller's transaction: check every consignment, store the Biên bản and move them all.

    The whole list is refused (``ValidationFailed`` keyed ``consignment_ids.<index>``) when any consignment is not the
    agency's or cannot be handed over in ``direction`` now; nothing is written then. Returns the record and the outbox
    ids to wake after the caller commits. ``actor`` is who recorded it; the signatories, the agency side's account,
    the missing items and the session come from a clerk's handover session.
    """
    errors: dict[str, list[str]] = {}
    loaded = []
    found = uow.consignments.get_many(consignment_ids)
    for i, cid in enumerate(consignment_ids):
        c = found.get(cid)
        if c is None or c.agency_id != agency_id:
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
        agency_id=agency_id,
        direction=direction,
        consignment_ids=list(consignment_ids),
        created_at=now,
        created_by=actor,
        place=place,
        post_signatory=post_signatory,
        agency_signatory=agency_signatory,
        agency_confirmed_by=agency_confirmed_by,
        missing_ids=list(missing_ids),
        note=note,
        session_id=session_id,
    )
    uow.handovers.add(handover)
    for c, target in loaded:
        c.transition(
            target,
            occurred_at=now,
            source=Source.SCAN,
            actor=actor,
            location=location,
            description=f"Biên bản giao nhận {handover.id}",
        )
        if target == Status.PICKED_UP:  # the post accepted the result: J is the handover day
            set_deadline(deps, c, now)
    moved = [c for c, _ in loaded]
    uow.consignments.save_many(moved)
    return handover, record_effects_many(uow, moved, now=now, deps=deps)


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
