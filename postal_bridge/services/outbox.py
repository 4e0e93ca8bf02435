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

from postal_bridge.domain.admin import scrub_error
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
# An effect whose success changes nothing in the database but the item's own state (a callback sent): in a batch
# job such items are claimed together, run one after the other, and completed together, one statement each.
Effect = Callable[[Deps, OutboxItem, dict], None]
_HANDLERS: dict[OutboxKind, Handler] = {}
_ON_DEAD: dict[OutboxKind, DeadHook] = {}
_EFFECTS: dict[OutboxKind, Effect] = {}
_LOCAL: set[OutboxKind] = set()


def handles(kind: OutboxKind, *, local: bool = False) -> Callable[[Handler], Handler]:
    """Register the handler of ``kind``. ``local``: it calls no outside system (a fold, a label), so a drain job may
    claim several at once; a handler that calls a courier or a gateway is claimed one at a time, so a hanging call
    holds back no other item."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        if local:
            _LOCAL.add(kind)
        return fn

    return register


def effect_only(kind: OutboxKind) -> Callable[[Effect], Effect]:
    """Register ``effect(deps, item, memo)`` for batch jobs: it does the item's work and returns on success, or raises
    ``RetryLater`` / ``GiveUp`` like a handler; it must not complete the item (the batch does). ``memo`` is shared by
    the batch's items (an API key read once for all its callbacks)."""

    def register(fn: Effect) -> Effect:
        _EFFECTS[kind] = fn
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
    outcome = _run(deps, item, wake)
    if wake_later is None:
        deps.wake(wake)
    else:
        wake_later.extend(wake)
    return outcome


def _run(deps: Deps, item: OutboxItem, wake: list[int]) -> str:
    """Run a claimed item's handler and settle its outcome; what it made due is appended to ``wake``."""
    try:
        wake.extend(_HANDLERS[item.kind](deps, item))
        outcome = "done"
    except LeaseLost:
        log.warning("outbox lease lost; another worker owns the item", extra={"outbox_id": item.id})
        return "lost"
    except Exception as exc:  # noqa: BLE001 - every failure is settled on the item: retried or dead-lettered
        outcome = _settle_failure(deps, item, exc)
    if outcome in ("done", "dead") and item.ordering_key:
        with deps.reader() as uow:
            nxt = uow.outbox.next_in_group(item.ordering_key)
        if nxt is not None:
            wake.append(nxt)
    return outcome


def process_many(deps: Deps, item_ids: Sequence[int], *, budget_seconds: float = BATCH_BUDGET_SECONDS) -> dict:
    """Run several items in one job: what a wake-up of many (the relay's, a push of many events, a backlog after an
    outage) enqueues, so the queue's per-job cost is paid once per batch, not per item.

    Items whose effect is all their work (``effect_only``: callbacks) are claimed in one statement, run one after
    the other and completed in one statement; the others run one by one exactly as ``process`` runs them. Each
    item keeps its own claim, lease, outcome and retry. Once ``budget_seconds`` have passed, items not yet started
    go back to the queue (claimed ones released unstarted): a slow receiver or courier holds back at most one
    budget's worth of other work, far inside the lease, and a worker stopped mid-batch loses nothing (the rest are
    still due in the outbox, and the relay finds them)."""
    from postal_bridge.services import booking, labels, notify, sms, tracking  # noqa: F401 - registers the handlers

    deadline = time.monotonic() + budget_seconds
    counts: Counter[str] = Counter()
    wake: list[int] = []
    claimed = _claim_effects(deps, item_ids)
    if claimed:
        counts.update(_run_effects(deps, claimed, wake, deadline))
    taken = {item.id for item in claimed}
    rest = [i for i in item_ids if i not in taken]
    for n, item_id in enumerate(rest):
        if (n or claimed) and time.monotonic() > deadline:
            wake.extend(rest[n:])
            counts["deferred"] += len(rest) - n
            break
        counts[process(deps, item_id, wake_later=wake)] += 1
    deps.wake(list(dict.fromkeys(wake)))
    return dict(counts)


def drain(
    deps: Deps,
    *,
    on_backlog: Callable[[], None],
    budget_seconds: float = BATCH_BUDGET_SECONDS,
) -> dict:
    """Claim and run whatever is due, oldest first, until nothing is or ``budget_seconds`` have passed: the job a
    coalesced wake-up runs (``JobQueue.wake_drain``). Under load many items arrive while one drain job waits, and
    one job then carries them all, so rq's per-job cost is paid per drain, not per item.

    Each round claims up to ``DRAIN_EFFECTS`` callbacks together, up to ``DRAIN_LOCAL`` local items (folds, labels)
    and one item that calls a courier or a gateway, so none starves the others. ``on_backlog`` (the queue's ring) is
    called when there may be more than this job should take alone (a full claim, a second round, a courier call that
    may hang, the budget spent), so an idle worker starts another drain beside this one."""
    from postal_bridge.services import booking, labels, notify, sms, tracking  # noqa: F401 - registers the handlers

    deadline = time.monotonic() + budget_seconds
    effects = [k.value for k in _EFFECTS]
    local = [k.value for k in _HANDLERS if k in _LOCAL and k not in _EFFECTS]
    remote = [k.value for k in _HANDLERS if k not in _LOCAL and k not in _EFFECTS]
    counts: Counter[str] = Counter()
    rounds = 0
    while True:
        wake: list[int] = []
        claimed = _claim_due(deps, [(effects, DRAIN_EFFECTS), (local, DRAIN_LOCAL), (remote, 1)])
        batch = [i for i in claimed if i.kind in _EFFECTS]
        items = [i for i in claimed if i.kind not in _EFFECTS]
        calls = [i for i in items if i.kind not in _LOCAL]
        if claimed and (rounds or calls or len(batch) == DRAIN_EFFECTS or len(items) > 1):
            on_backlog()
        if batch:
            counts.update(_run_effects(deps, batch, wake, deadline))
        for n, item in enumerate(items):
            if (n or batch) and time.monotonic() > deadline:
                _release(deps, items[n:])
                counts["deferred"] += len(items) - n
                break
            counts[_run(deps, item, wake)] += 1
        if wake:  # what this round made due: the next round claims it; a ring lets an idle worker share it
            on_backlog()
        rounds += 1
        if not claimed:
            break
        if time.monotonic() > deadline:
            on_backlog()
            break
    return dict(counts)


# A drain's share of each round: callbacks are claimed, sent and completed together; local items (a fold, a label)
# run one after the other; an item calling a courier or a gateway is claimed alone. Ten local items a claim: four
# (tried 2026-12-06 so that a burst of heavy 100-event folds is shared by two drains) gained ≈ 15 % on such bursts but
# cost ≈ 40 % on single-event folds, the common case (more rounds, rings and drain jobs per item).
DRAIN_EFFECTS = 25
DRAIN_LOCAL = 10


def _claim_due(deps: Deps, shares: list[tuple[list[str], int]]) -> list[OutboxItem]:
    now = deps.clock.now()
    with deps.uow() as uow:
        claimed = uow.outbox.claim_due(
            shares=shares, now=now, lease_until=now + timedelta(seconds=deps.outbox_lease_seconds)
        )
        uow.commit()
    return claimed


def _release(deps: Deps, items: Sequence[OutboxItem]) -> None:
    """Hand claimed, unstarted items back: due again at once, their claim not counted as an attempt."""
    with deps.uow() as uow:
        uow.outbox.release_many([(i.id, i.attempts) for i in items if i.id is not None])
        uow.commit()


def _claim_effects(deps: Deps, item_ids: Sequence[int]) -> list[OutboxItem]:
    if not _EFFECTS or len(item_ids) < 2:
        return []
    now = deps.clock.now()
    with deps.uow() as uow:
        claimed = uow.outbox.claim_many(
            item_ids,
            kinds=[k.value for k in _EFFECTS],
            now=now,
            lease_until=now + timedelta(seconds=deps.outbox_lease_seconds),
        )
        uow.commit()
    return claimed


def _run_effects(deps: Deps, items: list[OutboxItem], wake: list[int], deadline: float) -> Counter[str]:
    counts: Counter[str] = Counter()
    memo: dict = {}
    sent: list[OutboxItem] = []
    settled: list[OutboxItem] = []
    for n, item in enumerate(items):
        if n and time.monotonic() > deadline:
            rest = items[n:]
            _release(deps, rest)
            wake.extend(i.id for i in rest if i.id is not None)
            counts["deferred"] += len(rest)
            break
        try:
            _EFFECTS[item.kind](deps, item, memo)
            sent.append(item)
            continue
        except Exception as exc:  # noqa: BLE001 - as in ``process``
            outcome = _settle_failure(deps, item, exc)
        counts[outcome] += 1
        if outcome == "dead":
            settled.append(item)
    if sent:
        with deps.uow() as uow:
            done = uow.outbox.complete_many(
                [(i.id, i.attempts) for i in sent if i.id is not None], now=deps.clock.now()
            )
            uow.commit()
        counts["done"] += len(done)
        if len(done) < len(sent):
            counts["lost"] += len(sent) - len(done)
            log.warning(
                "outbox leases lost in a batch; other workers own the items", extra={"lost": len(sent) - len(done)}
            )
        settled += [i for i in sent if i.id in done]
    keys = sorted({i.ordering_key for i in settled if i.ordering_key})
    if keys:
        with deps.reader() as uow:
            wake.extend(uow.outbox.next_in_groups(keys))
    return counts


def complete(uow, item: OutboxItem, deps: Deps) -> None:
    """Mark the item done inside the handler's final transaction (with the state change it caused).

    Raises ``LeaseLost`` when another worker took the item over, so the handler's whole transaction rolls back.
    """
    assert item.id is not None
    if not uow.outbox.complete(item.id, attempt=item.attempts, now=deps.clock.now()):
        raise LeaseLost(item.id)


def _settle_failure(deps: Deps, item: OutboxItem, exc: Exception) -> str:
    """A handler's failure, settled on its item: ``RetryLater`` and unexpected errors retry, ``GiveUp`` dead-letters.
    Called from the ``except`` block, so an unexpected error is logged with its traceback."""
    if isinstance(exc, RetryLater):
        return _retry(deps, item, exc.reason, exc.after_seconds)
    if isinstance(exc, GiveUp):
        return _dead(deps, item, str(exc))
    log.exception("outbox item failed", extra={"outbox_id": item.id, "kind": item.kind.value})
    return _retry(deps, item, f"{type(exc).__name__}: {exc}"[:500], None)


def safe_reason(uow: UnitOfWork, item: OutboxItem, reason: str) -> str:
    """``reason`` as a log line or an alert may carry it: a courier's or receiver's error can echo the citizen
    (name, street, phone), so those of the item's consignment are masked with phones, e-mails and ID numbers. The
    stored ``last_error`` keeps the raw text; the admin page masks it when shown."""
    known: tuple[str, ...] = ()
    c = uow.consignments.get(item.consignment_id) if item.consignment_id else None
    if c is not None:
        known = (c.citizen.name, c.citizen.address.line, c.citizen.phone.national, c.address_legacy_text or "")
    return scrub_error(reason, known) or ""


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
        shown = safe_reason(uow, item, reason)  # before the commit: after it, a read would begin a second transaction
        uow.commit()
    log.info("outbox item will be retried", extra={"outbox_id": item.id, "delay_s": round(delay), "reason": shown})
    return "retry"


def _dead(deps: Deps, item: OutboxItem, reason: str) -> str:
    with deps.uow() as uow:
        assert item.id is not None
        hook = _ON_DEAD.get(item.kind)
        if uow.outbox.dead(item.id, attempt=item.attempts, now=deps.clock.now(), error=reason) and hook:
            hook(uow, deps, item, reason)
        shown = safe_reason(uow, item, reason)
        uow.commit()
    log.error("outbox item dead-lettered", extra={"outbox_id": item.id, "kind": item.kind.value, "reason": shown})
    return "dead"


def relay_due(deps: Deps, *, limit: int = 1000) -> int:
    """Enqueue every item that is due or whose lease expired. Safe to run anywhere, any number of times."""
    with deps.reader() as uow:
        ids = uow.outbox.due(now=deps.clock.now(), limit=limit)
    deps.wake(ids)
    return len(ids)
