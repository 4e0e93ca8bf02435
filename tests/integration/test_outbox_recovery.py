"""The outbox survives Redis losing everything and workers dying: every effect completes exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from adapters.carriers.sandbox import SandboxCarrier
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.services import agencies, consignments, outbox
from postal_bridge.storage import tables
from tests.conftest import drain, installed_container, register_hanoi
from workers.queues import SPREAD


class CountingSandbox(SandboxCarrier):
    """The sandbox courier with a ledger of create calls per client reference."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.creates: Counter[str] = Counter()

    def create(self, req):
        self.creates[req.client_ref] += 1
        return super().create(req)


@pytest.fixture
def counting(settings, clock):
    carrier = CountingSandbox(now=clock.now, step_seconds=settings.sandbox_step_seconds)
    with installed_container(settings, clock, carriers={"sandbox": carrier}) as c:
        register_hanoi(c.deps)
        yield c, carrier


def _create_many(c, n: int) -> list[str]:
    issued = agencies.create_api_key(c.deps, agency_code="HCC-HN", name="t")
    caller = agencies.authenticate(c.deps, issued.api_key)
    ids = []
    for i in range(n):
        cmd = CreateConsignment(
            kind="return",
            carrier="sandbox",
            service="standard",
            citizen_name="Trần Văn An",
            citizen_phone="0987654321",
            address_line=f"Số {i} phố Huế",
            ward_code="00004",
            province_code="01",
            weight_g=200,
            contents="Giấy phép",
            dossier_code=f"000.00.12.H56-261115-{i:04d}",
        )
        stored = consignments.create_consignment(
            c.deps, caller, cmd, idempotency_key=f"k{i}", fingerprint=f"f{i}", render=lambda x: f'{{"id":"{x.id}"}}'
        )
        ids.append(stored.body.split('"')[3])
    return ids


def _booked_events(c, ids: list[str]) -> list[int]:
    with c.deps.uow() as uow:
        return [sum(e.status == "booked" for e in uow.consignments.get(i).events) for i in ids]


def test_flushing_redis_mid_flight_loses_nothing_and_duplicates_nothing(counting, redis_url) -> None:
    c, carrier = counting
    ids = _create_many(c, 20)
    Redis.from_url(redis_url).flushdb()  # every wake-up is gone
    assert drain(c) == 0
    assert outbox.relay_due(c.deps) == 20  # the database still knows all 20 bookings
    Redis.from_url(redis_url).flushdb()  # and lose the re-enqueued jobs once more, mid-flight
    outbox.relay_due(c.deps)
    drain(c)
    outbox.relay_due(c.deps)  # label renders and anything else woken meanwhile
    drain(c)
    assert _booked_events(c, ids) == [1] * 20
    assert sorted(carrier.creates.values()) == [1] * 20
    with c.deps.uow() as uow:
        counts = uow.outbox.counts()
    assert counts == {"done": 40}  # 20 bookings + 20 label renders


def test_redis_restarted_empty_work_is_rebuilt_from_the_database(settings, clock, private_redis) -> None:
    from dataclasses import replace

    from postal_bridge.bootstrap import build
    from workers import runtime

    carrier = CountingSandbox(now=clock.now, step_seconds=settings.sandbox_step_seconds)
    c = build(replace(settings, redis_url=private_redis.url), clock=clock, carriers={"sandbox": carrier})
    runtime.install(c)
    try:
        agencies.register_agency(
            c.deps,
            code="HCC-HN",
            name="Trung tâm",
            phone="02438253536",
            line="Số 1",
            ward_code="00004",
            province_code="01",
        )
        ids = _create_many(c, 5)
        private_redis.restart()  # the queued wake-ups die with the server
        assert drain(c) == 0
        assert outbox.relay_due(c.deps) == 5
        drain(c)
        assert _booked_events(c, ids) == [1] * 5
        assert sum(carrier.creates.values()) == 5
    finally:
        runtime.install(None)
        c.close()


def test_a_worker_dying_mid_job_is_recovered_after_its_lease(counting, clock) -> None:
    c, carrier = counting
    [cid] = _create_many(c, 1)
    with c.deps.uow() as uow:
        [item_id] = uow.outbox.due(now=clock.now(), limit=10)
        # A worker claims the row and is killed before it finishes (SIGKILL leaves no trace in rq).
        assert uow.outbox.claim(item_id, now=clock.now(), lease_until=clock.now() + timedelta(seconds=120))
        uow.commit()
    assert outbox.relay_due(c.deps) == 0  # still leased: nobody else may run it
    assert outbox.process(c.deps, item_id) == "skipped"
    clock.advance(121)
    assert outbox.relay_due(c.deps) == 1
    drain(c)
    assert _booked_events(c, [cid]) == [1]
    assert sum(carrier.creates.values()) == 1


def test_a_second_run_of_a_done_job_changes_nothing(counting) -> None:
    c, carrier = counting
    [cid] = _create_many(c, 1)
    drain(c)
    with c.engine.connect() as conn:
        book_id = conn.execute(select(tables.outbox.c.id).where(tables.outbox.c.kind == "book")).scalar_one()
    c.deps.jobs.enqueue_outbox([book_id, book_id])  # duplicate wake-ups for finished work
    drain(c)
    assert _booked_events(c, [cid]) == [1]
    assert sum(carrier.creates.values()) == 1


def _queued(c) -> list[tuple[str, tuple]]:
    q = c.deps.jobs.queue("outbox")
    return [(job.func_name, job.args) for job in q.jobs]


def test_a_wake_up_of_many_items_is_queued_as_batch_jobs_and_each_item_still_runs_once(counting, redis_url) -> None:
    from workers.queues import BATCH

    c, carrier = counting
    ids = _create_many(c, 30)
    Redis.from_url(redis_url).flushdb()  # drop the per-create wake-ups: the relay wakes all 30 at once
    assert outbox.relay_due(c.deps) == 30
    queued = _queued(c)
    assert [name for name, _ in queued] == ["workers.jobs.run_outbox_batch"] * 2
    assert [len(args[0]) for _, args in queued] == [BATCH, 30 - BATCH]
    c.deps.jobs.enqueue_outbox(queued[0][1][0])  # the same wake-up again: harmless
    drain(c)
    outbox.relay_due(c.deps)  # the label renders the bookings woke, if any are still due
    drain(c)
    assert _booked_events(c, ids) == [1] * 30
    assert sorted(carrier.creates.values()) == [1] * 30
    with c.deps.uow() as uow:
        assert uow.outbox.counts() == {"done": 60}


def test_a_few_items_ring_one_drain_which_asks_for_a_second_beside_it(counting, redis_url) -> None:
    from workers.jobs import run_outbox_drain

    c, carrier = counting
    ids = _create_many(c, SPREAD)
    Redis.from_url(redis_url).flushdb()
    outbox.relay_due(c.deps)
    outbox.relay_due(c.deps)  # the bell is rung: a second relay round queues nothing more
    assert [name for name, _ in _queued(c)] == ["workers.jobs.run_outbox_drain"]
    c.deps.jobs.queue("outbox").empty()
    outcome = run_outbox_drain()  # what the queued job runs
    assert outcome == {"done": 2 * SPREAD}  # the bookings, one per round, and the labels they made due
    assert sorted(carrier.creates.values()) == [1] * SPREAD
    assert _booked_events(c, ids) == [1] * SPREAD
    # Each courier call rang the bell, so an idle worker would have started a drain beside this one.
    assert [name for name, _ in _queued(c)] == ["workers.jobs.run_outbox_drain"]
    drain(c)  # that second drain finds nothing left
    assert sorted(carrier.creates.values()) == [1] * SPREAD


def test_a_batch_past_its_time_budget_hands_the_rest_back_to_the_queue(counting, redis_url) -> None:
    c, carrier = counting
    ids = _create_many(c, 6)
    Redis.from_url(redis_url).flushdb()
    with c.deps.reader() as uow:
        due = uow.outbox.due(now=c.deps.clock.now(), limit=100)
    outcome = outbox.process_many(c.deps, due, budget_seconds=0.0)  # the budget is spent after the first item
    assert outcome == {"done": 1, "deferred": 5}
    assert sum(carrier.creates.values()) == 1
    woken = sorted(i for _, args in _queued(c) for i in (args[0] if isinstance(args[0], list) else [args[0]]))
    assert set(due[1:]) <= set(woken)  # the five not started, plus the first booking's label render
    drain(c)
    outbox.relay_due(c.deps)
    drain(c)
    assert _booked_events(c, ids) == [1] * 6
    assert sorted(carrier.creates.values()) == [1] * 6
