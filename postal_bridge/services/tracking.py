"""Courier tracking: polling active consignments and folding courier events into the consignment's status.

Events are stored raw first with the courier's dedup key, then applied in ``occurred_at`` order. An event that is a
duplicate, older than the latest applied change, or not an allowed transition is kept but never moves the
consignment (so nothing regresses). A provisional event never triggers a terminal status.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from postal_bridge.domain.carriers import CONSIGNMENT_STATUS_FOR, Capability, CarrierError, TrackingEvent
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.status import TERMINAL
from postal_bridge.services.deps import Deps
from postal_bridge.services.effects import record_effects

log = logging.getLogger("postal_bridge.tracking")


def poll_due(deps: Deps, *, limit: int = 500) -> int:
    """Enqueue a poll for active consignments not polled within the interval (scheduler safety net)."""
    pollable = [code for code, a in deps.carriers.items() if Capability.TRACK_POLL in a.capabilities]
    if not pollable:
        return 0
    now = deps.clock.now()
    with deps.uow() as uow:
        ids = uow.consignments.due_for_poll(
            carriers=pollable, older_than=now - timedelta(seconds=deps.poll_interval_seconds), limit=limit
        )
        uow.consignments.mark_polled(ids, now)
        uow.commit()
    if ids:
        deps.jobs.enqueue_poll(ids)
    return len(ids)


def poll_consignment(deps: Deps, consignment_id: str) -> int:
    """Ask the courier for this consignment's events and apply the new ones. Returns how many changed status."""
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id)
    if c is None or c.status in TERMINAL or not c.tracking_code:
        return 0
    adapter = deps.carriers.get(c.carrier)
    if adapter is None:
        return 0
    try:
        events = adapter.track(c.carrier_ref or c.tracking_code)
    except CarrierError as exc:
        log.warning("tracking poll failed", extra={"consignment_id": c.id, "error": exc.message})
        return 0
    return record_tracking_events(deps, consignment_id, events, source=Source.COURIER_POLL)


def record_tracking_events(deps: Deps, consignment_id: str, events: Sequence[TrackingEvent], *, source: Source) -> int:
    """Store raw events (deduplicated) and apply the new ones in time order, in one transaction."""
    applied = 0
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id)
        if c is None:
            return 0
        now = deps.clock.now()
        fresh = [
            e
            for e in sorted(events, key=lambda e: e.occurred_at)
            if uow.carrier_events.add_if_new(
                consignment_id=c.id,
                carrier=e.carrier,
                dedup_key=e.dedup_key,
                data={
                    "raw_code": e.raw_code,
                    "status": e.status.value,
                    "occurred_at": e.occurred_at,
                    "received_at": now,
                    "provisional": e.provisional,
                    "raw": e.raw if isinstance(e.raw, dict | list | str | None) else str(e.raw),
                },
            )
        ]
        last_change = c.events[-1].occurred_at if c.events else c.created_at
        for e in fresh:
            target = CONSIGNMENT_STATUS_FOR.get(e.status)
            if e.status.value == "unknown":
                log.warning("unknown courier status code", extra={"carrier": e.carrier, "raw_code": e.raw_code})
            if target is None or e.occurred_at < last_change or not c.can_transition(target):
                continue
            if e.provisional and target in TERMINAL:
                continue
            c.transition(
                target,
                occurred_at=e.occurred_at,
                source=source,
                location=e.location,
                description=e.raw_text or None,
                actor=e.carrier,
            )
            uow.carrier_events.mark_applied(e.carrier, e.dedup_key)
            last_change = e.occurred_at
            applied += 1
        uow.consignments.save(c)
        ids = record_effects(uow, c, now=now)
        uow.commit()
    deps.wake(ids)
    return applied
