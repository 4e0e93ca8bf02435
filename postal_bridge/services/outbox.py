"""Outbox processing: claim an item under a lease, run its handler, then complete, retry with backoff, or dead-letter.

The row in the database is the durable intent; an rq job is only a wake-up. ``relay_due`` (run by the scheduler)
re-enqueues anything pending and due or whose lease expired, so a Redis that loses everything loses no work.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta

from postal_bridge.domain.model import OutboxItem, OutboxKind
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.services.deps import Deps

log = logging.getLogger("postal_bridge.outbox")


# A batch job stops starting new items after this long; the rest go back to the queue as jobs of their own.
BATCH_BUDGET_SECONDS = 5.0


class RetryLater(Exception):
    """A transient failure: try the item again after its backoff (or ``after_seconds`` if the remote said so)."""

    def __init__(self, reason: str, *, after_seconds: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class GiveUp(Exception):
    """A permanent failure: dead-letter the item now, with this reason."""


class LeaseLost(Exception):
    """Our lease expired and another worker claimed the item: our transaction must not commit."""


Handler = Callable[[Deps, OutboxItem], list[int]]
DeadHook = Callable[[UnitOfWork, Deps, OutboxItem, str], None]
_HANDLERS: dict[OutboxKind, Handler] = {}
_ON_DEAD: dict[OutboxKind, DeadHook] = {}


def handles(kind: OutboxKind) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def on_dead(kind: OutboxKind) -> Callable[[DeadHook], DeadHook]:
    """Register what else must happen, in the dead-lettering transaction, when an item of ``kind`` is given up."""

    def register(fn: DeadHook) -> DeadHook:
        _ON_DEAD[kind] = fn
        return fn

    return register


def _schedule(deps: Deps, kind: OutboxKind) -> tuple[int, ...]:
    return tuple(deps.webhook_schedule if kind == OutboxKind.NOTIFY_DOSSIER else deps.courier_schedule)


def process(deps: Deps, item_id: int, *, wake_later: list[int] | None = None) -> str:
    """Run one outbox item if it is ours to run. Returns what happened: skipped, done, retry or dead.

    The items it makes due (its effects, the next of its ordering group) are woken at once, or appended to
    ``wake_later`` for a caller that wakes a whole batch in one round trip."""
    from postal_bridge.services import booking, labels, notify, sms, tracking  # noqa: F401 - registers the handlers

    now = deps.clock.now()
    with deps.uow() as uow:
        item = uow.outbox.claim(item_id, now=now, lease_until=now + timedelta(seconds=deps.outbox_lease_seconds))
        uow.commit()
    if item is None:
        return "skipped"
    wake: list[int] = []
    try:
        wake = _HANDLERS[item.kind](deps, item)
        outcome = "done"
    except LeaseLost:
        log.warning("outbox lease lost; another worker owns the item", extra={"outbox_id": item.id})
        return "lost"
    except RetryLater as exc:
        outcome = _retry(deps, item, exc.reason, exc.after_seconds)
    except GiveUp as exc:
        outcome = _dead(deps, item, str(exc))
    except Exception as exc:
        log.exception("outbox item failed", extra={"outbox_id": item.id, "kind": item.kind.value})
        outcome = _retry(deps, item, f"{type(exc).__name__}: {exc}"[:500], None)
    if outcome in ("done", "dead") and item.ordering_key:
        with deps.reader() as uow:
            nxt = uow.outbox.next_in_group(item.ordering_key)
        if nxt is not None:
            wake.append(nxt)
    if wake_later is None:
        deps.wake(wake)
    else:
        wake_later.extend(wake)
    return outcome


def process_many(deps: Deps, item_ids: Sequence[int], *, budget_seconds: float = BATCH_BUDGET_SECONDS) -> dict:
    """Run several items one after the other in one job: what a wake-up of many (the relay's, a push of many
    events, a backlog after an outage) enqueues, so the queue's per-job cost is paid once per batch, not per item.

    Each item keeps its own claim, lease, outcome and retry, exactly as in ``process``. Once ``budget_seconds`` have
    passed, the items not yet started are woken again as jobs of their own: a slow courier holds back at most one
    budget's worth of other work, and a worker stopped mid-batch loses nothing (the rest are still due in the
    outbox, and the relay finds them)."""
    began = time.monotonic()
    counts: Counter[str] = Counter()
    wake: list[int] = []
    for n, item_id in enumerate(item_ids):
        if n and time.monotonic() - began > budget_seconds:
            wake.extend(item_ids[n:])
            counts["deferred"] += len(item_ids) - n
            break
        counts[process(deps, item_id, wake_later=wake)] += 1
    deps.wake(list(dict.fromkeys(wake)))
    return dict(counts)


def complete(uow, item: OutboxItem, deps: Deps) -> None:
    """Mark the item done inside the handler's final transaction (with the state change it caused).

    Raises ``LeaseLost`` when another worker took the item over, so the handler's whole transaction rolls back.
    """
    assert item.id is not None
    if not uow.outbox.complete(item.id, attempt=item.attempts, now=deps.clock.now()):
        raise LeaseLost(item.id)


def _retry(deps: Deps, item: OutboxItem, reason: str, after: int | None) -> str:
    schedule = _schedule(deps, item.kind)
    if item.attempts > len(schedule):
        return _dead(deps, item, f"gave up after {item.attempts} attempts: {reason}")
    if after is not None:  # the remote's Retry-After is a floor: jitter may only lengthen it
        delay = after * random.uniform(1.0, 1.1)
    else:  # jitter spreads retry storms
        base = schedule[item.attempts - 1]
        delay = base * random.uniform(0.9, 1.1) if base > 10 else base
    with deps.uow() as uow:
        assert item.id is not None
        uow.outbox.retry_later(
            item.id,
            attempt=item.attempts,
            next_attempt_at=deps.clock.now() + timedelta(seconds=delay),
            error=reason,
        )
        uow.commit()
    log.info("outbox item will be retried", extra={"outbox_id": item.id, "delay_s": round(delay), "reason": reason})
    return "retry"


def _dead(deps: Deps, item: OutboxItem, reason: str) -> str:
    with deps.uow() as uow:
        assert item.id is not None
        hook = _ON_DEAD.get(item.kind)
        if uow.outbox.dead(item.id, attempt=item.attempts, now=deps.clock.now(), error=reason) and hook:
            hook(uow, deps, item, reason)
        uow.commit()
    log.error("outbox item dead-lettered", extra={"outbox_id": item.id, "kind": item.kind.value, "reason": reason})
    return "dead"


def relay_due(deps: Deps, *, limit: int = 1000) -> int:
    """Enqueue every item that is due or whose lease expired. Safe to run anywhere, any number of times."""
    with deps.reader() as uow:
        ids = uow.outbox.due(now=deps.clock.now(), limit=limit)
    deps.wake(ids)
    return len(ids)
