"""Courier tracking: store raw events first, fold them into the consignment's status in time order, poll as a net.

Events are stored with the courier's dedup key, then applied in ``occurred_at`` order. An event that is a duplicate,
older than the latest applied change, or not an allowed transition is kept but never moves the consignment (so
nothing regresses). A provisional event may show an intermediate status but never a terminal one: it triggers a
``track`` poll, and only the courier's confirmed state can finish a consignment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from postal_bridge.domain.carriers import (
    CONSIGNMENT_STATUS_FOR,
    Capability,
    CarrierError,
    CourierStatus,
    NotSupported,
    TrackingEvent,
)
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.model import OutboxItem, OutboxKind
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.status import TERMINAL, TRANSITIONS, Kind, Status, implied_path
from postal_bridge.services.citizen_contacts import record_postman_contact
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects, record_effects_many
from postal_bridge.services.geography import set_deadline
from postal_bridge.services.outbox import complete, handles

log = logging.getLogger("postal_bridge.tracking")
SOURCES = {"poll": Source.COURIER_POLL, "feed": Source.COURIER_POLL, "webhook": Source.COURIER_WEBHOOK}
MAX_BACKOFF_STEPS = 6


def poll_due(deps: Deps, *, limit: int = 500) -> int:
    """Enqueue a poll for active consignments not updated within the interval (the scheduler's safety net)."""
    pollable = deps.carriers.codes_with(Capability.TRACK_POLL)
    if not pollable:
        return 0
    now = deps.clock.now()
    with deps.uow() as uow:
        ids = uow.consignments.due_for_poll(carriers=pollable, now=now, limit=limit)
        # Claim them for one interval so the next tick does not enqueue them again while the polls run.
        uow.consignments.schedule_poll(ids, next_at=now + timedelta(seconds=deps.poll_interval_seconds))
        uow.commit()
    if ids:
        deps.jobs.enqueue_poll(ids)
    return len(ids)


def poll_consignment(deps: Deps, consignment_id: str) -> int:
    """Ask the courier for this consignment's events and apply the new ones. Returns how many changed status."""
    with deps.reader() as uow:
        c = uow.consignments.get(consignment_id)
    if c is None or c.status in TERMINAL or not c.tracking_code:
        return 0
    adapter = deps.carriers.adapter(c.agency_id, c.carrier)
    if adapter is None:
        return 0
    now = deps.clock.now()
    try:
        events = adapter.track(c.carrier_ref or c.tracking_code)
    except NotSupported:
        return 0
    except CarrierError as exc:
        with deps.uow() as uow:
            failures = uow.consignments.poll_failures(c.id) + 1
            delay = deps.poll_interval_seconds * 2 ** min(failures, MAX_BACKOFF_STEPS)
            uow.consignments.schedule_poll([c.id], next_at=now + timedelta(seconds=delay), failures=failures)
            uow.commit()
        log.warning("tracking poll failed", extra={"consignment_id": c.id, "error": exc.message, "failures": failures})
        return 0
    with deps.uow() as uow:
        uow.consignments.schedule_poll([c.id], next_at=now + timedelta(seconds=deps.poll_interval_seconds))
        uow.commit()
    return record_tracking_events(deps, consignment_id, events)


def record_tracking_events(deps: Deps, consignment_id: str, events: Sequence[TrackingEvent]) -> int:
    """Store raw events (deduplicated) and fold the new ones into the consignment, in one transaction."""
    with deps.uow() as uow:
        if uow.consignments.get(consignment_id) is None:
            return 0
        now = deps.clock.now()
        for e in events:
            if uow.carrier_events.add_if_new(e, consignment_id=consignment_id, received_at=now):
                _keep_postman(uow, consignment_id, e)
        applied, ids, confirm = fold(uow, deps, consignment_id)
        uow.commit()
    deps.wake(ids)
    if confirm:
        deps.jobs.enqueue_poll([consignment_id])
    return applied


def _keep_postman(uow: UnitOfWork, consignment_id: str, e: TrackingEvent) -> None:
    """The employee phone an out-for-delivery event carries, for the citizen's page on that day."""
    if e.status == CourierStatus.OUT_FOR_DELIVERY and e.courier_phone:
        record_postman_contact(uow, consignment_id, e.courier_phone, at=e.occurred_at, source=e.carrier)


def fold(uow: UnitOfWork, deps: Deps, consignment_id: str) -> tuple[int, list[int], bool]:
    """Apply the consignment's unprocessed events in time order. Returns (applied, outbox ids, needs a confirm poll).

    A pushed event that cannot follow the current status yet, but could once the steps before it arrive (pushes
    overtaking each other, or news of an order whose booking we have not confirmed yet), stays unprocessed: the fold
    that brings the missing steps applies it. Only an event that can never apply (older than the last change, a move
    backwards, a status we do not map) is settled as not applied.
    """
    pending = uow.carrier_events.pending(consignment_id)
    if not pending:
        return 0, [], False
    c = uow.consignments.get(consignment_id)
    if c is None:
        return 0, [], False
    applied, confirm, settled = _fold_events(deps, c, pending)
    for event_id, ok in settled:
        uow.carrier_events.settle(event_id, applied=ok)
    uow.consignments.save(c)
    return applied, record_effects(uow, c, now=deps.clock.now(), deps=deps), confirm


def fold_many(uow: UnitOfWork, deps: Deps, consignment_ids: Sequence[str]) -> tuple[int, list[int], list[str]]:
    """``fold`` for the consignments of one courier push, in a fixed number of statements whatever their number.

    Returns (events applied, outbox ids, consignments that need a confirming poll)."""
    consignments = uow.consignments.get_many(consignment_ids)
    pending = uow.carrier_events.pending_many(list(consignments))
    applied = 0
    confirm: list[str] = []
    settled: list[tuple[int, bool]] = []
    changed = []
    for cid, c in consignments.items():
        events = pending.get(cid)
        if not events:
            continue
        n, needs_poll, done = _fold_events(deps, c, events)
        applied += n
        settled += done
        changed.append(c)
        if needs_poll:
            confirm.append(cid)
    uow.carrier_events.settle_many(settled)
    uow.consignments.save_many(changed)
    return applied, record_effects_many(uow, changed, now=deps.clock.now(), deps=deps), confirm


def _fold_events(
    deps: Deps, c: Consignment, pending: Sequence[tuple[int, TrackingEvent]]
) -> tuple[int, bool, list[tuple[int, bool]]]:
    """Move ``c`` through its pending events (in time order); returns (applied, confirm poll, (event id, applied))."""
    applied = 0
    confirm = False
    settled: list[tuple[int, bool]] = []
    last_change = c.events[-1].occurred_at if c.events else c.created_at
    if c.status == Status.REQUESTED:
        last_change = _booked_by_courier(c, pending, last_change, deps.clock.now())
    for event_id, e in pending:
        target = CONSIGNMENT_STATUS_FOR.get(e.status)
        if e.status == CourierStatus.UNKNOWN:
            log.error(
                "unknown courier status code: stored, not applied",
                extra={"carrier": e.carrier, "raw_code": e.raw_code, "consignment_id": c.id},
            )
        path = None
        if target is not None and e.occurred_at >= last_change:
            # A poll or feed shows only where the item is now, so skipped steps are inferred; a push shows every
            # step, and a missing one may simply arrive later, so pushes must follow the table strictly.
            path = (
                implied_path(c.kind, c.status, target)
                if e.source != "webhook"
                else ([target] if c.can_transition(target) else None)
            )
        ok = path is not None
        if ok and e.provisional and target in TERMINAL:
            ok, confirm = False, True  # only the courier's confirmed state may finish a consignment
        elif (
            not ok
            and target is not None
            and e.source == "webhook"
            and e.occurred_at >= last_change
            and _reachable(c.kind, c.status, target)
        ):
            continue  # ahead of steps still to come: keep it pending for the fold that brings them
        if ok:
            assert path is not None
            for step in path:  # a courier that reports only its current state skips steps we must still record
                implied = step != target
                c.transition(
                    step,
                    occurred_at=e.occurred_at,
                    source=SOURCES.get(e.source, Source.COURIER_POLL),
                    location=None if implied else e.location,
                    description="Suy ra từ trạng thái sau của bưu chính" if implied else (e.raw_text or None),
                    actor=e.carrier,
                )
            last_change = e.occurred_at
            applied += 1
            if Status.PICKED_UP in path:  # the post accepted the item: J is now known for certain
                set_deadline(deps, c, e.occurred_at)
        settled.append((event_id, ok))
    return applied, confirm, settled


def _booked_by_courier(c, pending, last_change, now):
    """News from the courier about an order under our reference is proof that it has our booking, even when the
    answer to our create was lost and the courier offers no lookup (VNPost donhang refuses the re-create as a
    duplicate and never names the order): book the consignment with the courier's code before applying the news."""
    ref = next((e.carrier_ref for _, e in pending if e.carrier_ref), None)
    if not ref:
        return last_change
    first = min(e.occurred_at for _, e in pending)
    at = max(last_change, min(first, now))
    c.mark_booked(tracking_code=ref, carrier_ref=ref, occurred_at=at)
    log.warning(
        "booking confirmed by the courier's own news of the order", extra={"consignment_id": c.id, "carrier": c.carrier}
    )
    return at


def _reachable(kind: Kind, current: Status, target: Status) -> bool:
    """Whether ``target`` can still be reached from ``current`` by allowed moves (one or more)."""
    frontier, seen = [current], {current}
    while frontier:
        for nxt in TRANSITIONS[kind].get(frontier.pop(), frozenset()):
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


@handles(OutboxKind.APPLY_TRACKING, local=True)
def apply_tracking(deps: Deps, item: OutboxItem) -> list[int]:
    """Fold events that a webhook stored (the webhook answered the courier before any of this ran).

    One item folds one consignment, or (``payload["consignment_ids"]``) every consignment of one batch push."""
    batch = item.payload.get("consignment_ids")
    with deps.uow() as uow:
        if batch:
            _, ids, confirm = fold_many(uow, deps, batch)
        else:
            _, ids, needs_poll = fold(uow, deps, item.consignment_id or "")
            confirm = [item.consignment_id] if needs_poll and item.consignment_id else []
        complete(uow, item, deps)
        uow.commit()
    if confirm:
        deps.jobs.enqueue_poll(confirm)
    return ids


def store_inbound(uow: UnitOfWork, deps: Deps, carrier: str, events: Sequence[TrackingEvent]) -> list[int]:
    """Store pushed events against their consignments and queue their fold; orphans wait for adoption.

    A push of many events costs a fixed number of statements: the consignments are looked up by tracking code and
    client reference at once and the new events inserted together. A push that touches one consignment queues its
    fold (in order behind that consignment's earlier folds); one that touches several queues a single fold of all of
    them, applied in one transaction by ``fold_many``."""
    now = deps.clock.now()
    by_code, by_ref = uow.consignments.find_ids(
        carrier,
        tracking_codes=[e.carrier_ref for e in events],
        client_refs=[e.client_ref or e.carrier_ref for e in events],
    )
    pairs = [
        (e, (by_code.get(e.carrier_ref) if e.carrier_ref else None) or by_ref.get(e.client_ref or e.carrier_ref))
        for e in events
    ]
    fresh = uow.carrier_events.add_many_if_new(pairs, received_at=now)
    seen: dict[str, None] = {}
    for (e, cid), new in zip(pairs, fresh, strict=True):
        if new and cid:
            seen[cid] = None
            _keep_postman(uow, cid, e)
    touched = list(seen)
    if len(touched) > 1:  # one fold for the whole push (folds are idempotent: a concurrent one only retries)
        items = [
            OutboxItem(
                kind=OutboxKind.APPLY_TRACKING,
                payload={"consignment_ids": touched},
                created_at=now,
                next_attempt_at=now,
            )
        ]
    else:
        items = [
            OutboxItem(
                kind=OutboxKind.APPLY_TRACKING,
                payload={},
                created_at=now,
                next_attempt_at=now,
                consignment_id=cid,
                ordering_key=f"fold:{cid}",
            )
            for cid in touched
        ]
    uow.outbox.add_many(items)
    if touched:  # fresh news from the courier: the polling safety net can wait a full interval
        uow.consignments.schedule_poll(touched, next_at=now + timedelta(seconds=deps.poll_interval_seconds))
    return [item.id for item in items if item.id is not None]
