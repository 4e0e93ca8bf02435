"""Coalesced wake-ups: single wake-ups ring a doorbell, and one drain job carries whatever is due (real Redis, rq and
the real database; the fake dossier system on loopback)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import insert

from postal_bridge.domain.model import OutboxKind, OutboxState
from postal_bridge.services import outbox
from postal_bridge.storage import tables as t
from postal_bridge.storage.repositories import SqlOutboxRepository
from tests.conftest import drain
from tests.integration import test_webhook_delivery as base
from tests.integration.test_webhook_delivery import HOUR, Hub, _statements
from workers.queues import BELL_KEY, BELL_TTL

hub = base.hub  # the fixture of test_webhook_delivery


def _jobs(hub: Hub) -> list[str]:
    return [j.func_name for j in hub.deps.jobs.queue("outbox").jobs]


def _backlog(hub: Hub, consignments: int) -> tuple[list[str], list[int]]:
    """Consignments whose callbacks waited out a receiver outage: the head of each is due now."""
    hub.receiver.mode = "down"
    cids = [hub.create() for _ in range(consignments)]
    hub.run(hours=0.1)
    hub.receiver.mode = "ok"
    hub.clock.advance(3 * HOUR)
    with hub.deps.reader() as uow:
        due = uow.outbox.due(now=hub.clock.now(), limit=100)
    hub.deps.jobs.queue("outbox").empty()
    Redis.from_url(hub.container.settings.redis_url).delete(BELL_KEY)
    return cids, due


def test_single_wake_ups_while_no_worker_is_free_become_one_drain_job(hub) -> None:
    cids, due = _backlog(hub, 8)
    assert len(due) == 8
    for item_id in due:  # eight status changes, each waking its own callback
        hub.deps.jobs.enqueue_outbox([item_id])
    assert _jobs(hub) == ["workers.jobs.run_outbox_drain"]

    sent_before = len(hub.receiver.deliveries)
    updates = [s for s in _statements(hub, lambda: drain(hub.container)) if s.startswith("UPDATE outbox")]
    sent = len(hub.receiver.deliveries) - sent_before
    assert sent >= 16
    # The eight heads, then the callbacks behind them, were claimed and completed together a round at a time: a
    # job per callback would have run two UPDATEs (claim, completion) for each.
    assert len(updates) <= sent // 2, updates
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once(cids)  # each once, in order per consignment


def test_a_wake_up_after_a_drain_started_queues_another_drain(hub) -> None:
    _, due = _backlog(hub, 2)
    hub.deps.jobs.enqueue_outbox([due[0]])
    hub.deps.jobs.enqueue_outbox([due[1]])
    assert _jobs(hub) == ["workers.jobs.run_outbox_drain"]
    hub.deps.jobs.drain_started()  # the queued drain is now looking: it may already have missed a later item
    hub.deps.jobs.enqueue_outbox([due[1]])
    assert _jobs(hub) == ["workers.jobs.run_outbox_drain"] * 2


def test_the_bell_expires_so_a_lost_drain_job_holds_later_wake_ups_back_only_briefly(hub) -> None:
    _, due = _backlog(hub, 1)
    hub.deps.jobs.enqueue_outbox(due)
    hub.deps.jobs.queue("outbox").empty()  # the drain job is lost (a worker killed as it took the job)
    hub.deps.jobs.enqueue_outbox(due)
    assert _jobs(hub) == []  # held back by the bell …
    redis = Redis.from_url(hub.container.settings.redis_url)
    assert 0 < redis.ttl(BELL_KEY) <= BELL_TTL  # … for at most BELL_TTL seconds
    redis.delete(BELL_KEY)  # what the expiry does
    hub.deps.jobs.enqueue_outbox(due)
    assert _jobs(hub) == ["workers.jobs.run_outbox_drain"]


def test_a_failed_enqueue_leaves_the_bell_unrung(hub, monkeypatch) -> None:
    _, due = _backlog(hub, 1)
    from rq import Queue

    def refuse(*_a, **_k):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(Queue, "enqueue", refuse)
    with pytest.raises(ConnectionError):
        hub.deps.jobs.enqueue_outbox(due)
    monkeypatch.undo()
    hub.deps.jobs.enqueue_outbox(due)
    assert _jobs(hub) == ["workers.jobs.run_outbox_drain"]


def test_a_drain_past_its_budget_hands_the_rest_back_and_asks_for_another(hub) -> None:
    cids, due = _backlog(hub, 3)
    rings: list[int] = []
    outcome = outbox.drain(hub.deps, on_backlog=lambda: rings.append(1), budget_seconds=0.0)
    assert outcome == {"done": 1, "deferred": 2}
    assert rings  # another drain is asked for
    with hub.deps.reader() as uow:
        states = [uow.outbox.get(i).state for i in due]
    assert states == [OutboxState.DONE, OutboxState.PENDING, OutboxState.PENDING]
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once(cids)


def test_a_drain_with_nothing_due_does_nothing_and_asks_for_nothing(hub) -> None:
    rings: list[int] = []
    assert outbox.drain(hub.deps, on_backlog=lambda: rings.append(1)) == {}
    assert rings == []


def test_two_drains_claiming_at_once_take_different_items(container, clock) -> None:
    """Two drains' claims in open transactions: on PostgreSQL the second skips the rows the first holds, instead of
    waiting for it and then finding them taken. SQLite has one writer at a time and needs no such care."""
    engine = container.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite's writers queue: set POSTAL_BRIDGE_TEST_DATABASE_URL")
    now = clock.now()
    rows = [
        {
            "kind": OutboxKind.APPLY_TRACKING.value,
            "payload": {},
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now - timedelta(seconds=1),
            "created_at": now,
        }
        for _ in range(6)
    ]
    with engine.begin() as conn:
        conn.execute(insert(t.outbox), rows)
    lease = now + timedelta(minutes=5)
    kinds = [OutboxKind.APPLY_TRACKING.value]
    with engine.connect() as first, engine.connect() as second:
        a = SqlOutboxRepository(first).claim_due(shares=[(kinds, 4)], now=now, lease_until=lease)
        b = SqlOutboxRepository(second).claim_due(shares=[(kinds, 4), (["book"], 1)], now=now, lease_until=lease)
        first.commit()
        second.commit()
    assert len(a) == 4 and len(b) == 2
    assert not {i.id for i in a} & {i.id for i in b}
    assert all(i.attempts == 1 and i.state == OutboxState.IN_FLIGHT for i in a + b)
