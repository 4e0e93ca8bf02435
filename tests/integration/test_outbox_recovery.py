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
from tests.conftest import drain, register_hanoi


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
    from postal_bridge.bootstrap import build
    from workers import runtime

    carrier = CountingSandbox(now=clock.now, step_seconds=settings.sandbox_step_seconds)
    c = build(settings, clock=clock, carriers={"sandbox": carrier})
    runtime.install(c)
    register_hanoi(c.deps)
    yield c, carrier
    runtime.install(None)
    c.close()


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
