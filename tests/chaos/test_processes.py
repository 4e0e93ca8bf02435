"""The faults that need a real process (engineering.md §10.7 F1–F3, F7, F9's hang, F13), on the real clock, each
followed by the I1–I5 checker.

- F1 — the rq work-horse (or the whole worker) SIGKILLed while the courier holds the create, before recording it.
- F2 — the same after the courier recorded the create (the ambiguous case): the retry looks it up, no second order.
- F3 — SIGTERM to the worker mid-job: warm shutdown finishes the job; a second SIGTERM (cold) cuts it and the
  reconciler has it redone after the lease.
- Hang — the courier answers after the adapter's read timeout, before and after recording: retried, one order each.
- F7-lite — the PostgreSQL connection cut mid-transaction (a TCP proxy), in the API's create and in the worker's
  booking commit: rolled back, retried, nothing half-written (PostgreSQL only).
- F13 — a gunicorn worker SIGKILLed after the create committed, before it answered: the client's retry with the same
  Idempotency-Key gets the stored response; one consignment, booked once.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from postal_bridge.domain.status import Status
from postal_bridge.storage import tables as t
from tests.chaos.conftest import new_database
from tests.chaos.harness import new_body
from tests.chaos.processes import Cluster, TcpProxy, wait_until
from tests.conftest import EmbeddedRedis

pytestmark = pytest.mark.chaos

PG_URL = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL", "")


@pytest.fixture
def cluster(chaos_db: str, chaos_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(chaos_db, chaos_redis, tmp_path)
    try:
        yield c
    finally:
        c.close()
    assert not c.strays(), "a process of this test outlived it"


@pytest.fixture
def long_lease_cluster(chaos_db: str, chaos_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose lease outlasts a courier call's 10 s read timeout, as production's 120 s does: with the
    5 s chaos lease a row still hanging in one worker is lapsed, and any idle worker may rightly claim it again."""
    c = Cluster(chaos_db, chaos_redis, tmp_path, lease_seconds=30)
    try:
        yield c
    finally:
        c.close()
    assert not c.strays(), "a process of this test outlived it"


def _book_row(c: Cluster, cid: str) -> dict:
    return next(r for r in c.outbox_rows() if r["consignment_id"] == cid and r["kind"] == "book")


def _assert_booked_once(c: Cluster, cid: str) -> None:
    got = c.consignment(cid)
    assert got.status == Status.BOOKED, (got.status, c.outbox_rows())
    orders = [o for o in c.ledger() if o["client_ref"] == got.client_ref]
    assert [o["ref"] for o in orders] == [got.tracking_code]


@pytest.mark.parametrize("victim", ["horse", "worker"])
def test_f1_sigkill_before_the_courier_recorded_the_create(cluster: Cluster, victim: str) -> None:
    fake = cluster.fleet.fakes["ghn"]
    fake.timeout_seconds = 8  # holds the create (under the adapter's 10 s read timeout), then answers 504 unrecorded
    cluster.fleet.arm("ghn", "timeout")
    worker = cluster.start_worker()
    cid = cluster.api.create(new_body(random.Random(1), "ghn")).json()["id"]
    wait_until(lambda: cluster.creates_seen() == 1, 20, "the create to reach the courier")
    if victim == "horse":
        horse = cluster.horse(worker)
        horse.kill()  # the OOM killer's choice: the parent survives and takes the next job
        horse.wait(timeout=10)
        assert worker.poll() is None
    else:
        cluster.kill_group(worker)  # the machine's: the worker and its horse, nothing cleans up
        cluster.start_worker()
    assert cluster.ledger() == []
    assert _book_row(cluster, cid)["state"] == "in_flight"  # nobody settled the row: only its lease can free it
    cluster.settle()
    _assert_booked_once(cluster, cid)
    assert cluster.creates_seen() == 2  # looked up (nothing), then created once more
    assert _book_row(cluster, cid)["attempts"] == 2
    cluster.check()


@pytest.mark.parametrize("victim", ["horse", "worker"])
def test_f2_sigkill_after_the_courier_recorded_the_create(cluster: Cluster, victim: str) -> None:
    fake = cluster.fleet.fakes["ghn"]
    fake.timeout_seconds = 8
    cluster.fleet.arm("ghn", "timeout", after_commit=True)  # recorded, then the answer is held
    worker = cluster.start_worker()
    cid = cluster.api.create(new_body(random.Random(2), "ghn")).json()["id"]
    wait_until(lambda: len(cluster.ledger()) == 1, 20, "the courier to record the create")
    if victim == "horse":
        horse = cluster.horse(worker)
        horse.kill()
        horse.wait(timeout=10)
    else:
        cluster.kill_group(worker)
        cluster.start_worker()
    assert cluster.consignment(cid).status == Status.REQUESTED
    cluster.settle()
    _assert_booked_once(cluster, cid)
    assert cluster.creates_seen() == 1  # the retry found the order by our reference: no second create
    cluster.check()


def test_f3_sigterm_mid_job_warm_shutdown_finishes_the_job(cluster: Cluster) -> None:
    fake = cluster.fleet.fakes["ghn"]
    fake.slow_seconds = 2
    cluster.fleet.arm("ghn", "slow")  # the create takes 2 s, then is recorded and answered
    worker = cluster.start_worker()
    cid = cluster.api.create(new_body(random.Random(3), "ghn")).json()["id"]
    wait_until(lambda: cluster.creates_seen() == 1, 20, "the create to reach the courier")
    worker.send_signal(signal.SIGTERM)  # rq's warm shutdown: finish the job in hand, then exit
    assert worker.wait(timeout=30) == 0, cluster.logs()
    # No reconciler, no other worker: the job finished before the worker left.
    _assert_booked_once(cluster, cid)
    assert _book_row(cluster, cid)["state"] == "done"
    cluster.start_worker()
    cluster.settle()  # what the booking queued (label, callbacks) runs on a fresh worker
    cluster.check()


def test_f3_second_sigterm_cold_shutdown_the_job_is_redone(cluster: Cluster) -> None:
    fake = cluster.fleet.fakes["ghn"]
    fake.timeout_seconds = 8
    cluster.fleet.arm("ghn", "timeout")  # held, never recorded
    worker = cluster.start_worker()
    cid = cluster.api.create(new_body(random.Random(4), "ghn")).json()["id"]
    wait_until(lambda: cluster.creates_seen() == 1, 20, "the create to reach the courier")
    worker.send_signal(signal.SIGTERM)
    wait_until(lambda: "warm shut down requested" in cluster.logs(), 10, "rq to start its warm shutdown")
    time.sleep(1.2)  # rq ignores a second signal within a second of the first (it may be the pool's echo)
    worker.send_signal(signal.SIGTERM)  # the impatient operator: cold shutdown kills the horse
    worker.wait(timeout=5)  # well before the courier's 8 s hold ends: the job was cut off, not finished
    assert cluster.consignment(cid).status == Status.REQUESTED
    assert _book_row(cluster, cid)["state"] == "in_flight"  # nobody settled it: only its lease can free it
    cluster.start_worker()
    cluster.settle()
    _assert_booked_once(cluster, cid)
    cluster.check()


def test_courier_hang_past_the_read_timeout_before_and_after_recording(long_lease_cluster: Cluster) -> None:
    cluster = long_lease_cluster
    fake = cluster.fleet.fakes["ghn"]
    fake.timeout_seconds = 11.5  # longer than the adapter's 10 s read timeout: the adapter gives up, not the fake
    cluster.fleet.arm("ghn", "timeout")  # the first create hangs unrecorded
    cluster.fleet.arm("ghn", "timeout", after_commit=True)  # the second is recorded, then hangs
    cluster.start_worker()
    cluster.start_worker()  # two hangs at once, as on a real queue
    rng = random.Random(5)
    ids = [cluster.api.create(new_body(rng, "ghn")).json()["id"] for _ in range(2)]
    wait_until(lambda: cluster.creates_seen() == 2, 20, "both creates to reach the courier")
    wait_until(lambda: len(cluster.ledger()) == 1, 10, "the courier to record the second create")
    cluster.settle(timeout=45)
    for cid in ids:
        _assert_booked_once(cluster, cid)
        row = _book_row(cluster, cid)
        assert row["attempts"] == 2, row  # one timed-out attempt, one retry (lookup by reference first)
    assert cluster.creates_seen() == 3  # the recorded one was found, not created again
    cluster.check()


# -- F7-lite: PostgreSQL connection cut mid-transaction ---------------------------------------------------------------


@pytest.fixture
def pg_proxy_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Cluster, TcpProxy]]:
    if not PG_URL.startswith("postgresql"):
        pytest.skip(
            "F7-lite cuts a PostgreSQL connection mid-transaction through a TCP proxy; SQLite has no connection to "
            "cut: set POSTAL_BRIDGE_TEST_DATABASE_URL=postgresql+psycopg://…"
        )
    (tmp_path / "redis").mkdir()
    redis = EmbeddedRedis(tmp_path / "redis")
    try:
        with new_database(None, tmp_path) as url:
            u = make_url(url)
            proxy = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
            via_proxy = u.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            c = Cluster(url, redis, tmp_path, app_database_url=via_proxy)
            c.env["POSTAL_BRIDGE_DATABASE_URL"] = via_proxy
            try:
                yield c, proxy
            finally:
                c.close()
                proxy.close()
            assert not c.strays(), "a process of this test outlived it"
    finally:
        redis.stop()


def test_f7_postgres_connection_cut_mid_transaction(pg_proxy_cluster: tuple[Cluster, TcpProxy]) -> None:
    c, proxy = pg_proxy_cluster
    c.start_worker()
    rng = random.Random(7)

    # 1. The API's create: the consignment row is written, the connection dies before its outbox rows.
    body, key = new_body(rng, "ghn"), str(uuid.uuid4())
    proxy.cut_on(b"INSERT INTO outbox")
    first = c.api.create(body, key=key)
    assert proxy.cut_count == 1
    assert first.status_code == 500, first.text
    with c.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.consignments)).scalar_one() == 0  # rolled back
        assert conn.execute(select(func.count()).select_from(t.outbox)).scalar_one() == 0
    again = c.api.create(body, key=key)  # the client retries with its key: the key was released, not stuck
    assert again.status_code == 201, again.text
    cid = again.json()["id"]
    c.settle()
    _assert_booked_once(c, cid)

    # 2. The worker's booking commit: the courier has the order, our transaction is cut before it commits.
    proxy.cut_on(b"UPDATE consignments")
    cid2 = c.api.create(new_body(rng, "ghn")).json()["id"]
    wait_until(lambda: proxy.cut_count == 2, 20, "the booking's transaction to be cut")
    assert c.consignment(cid2).status == Status.REQUESTED
    c.settle()
    _assert_booked_once(c, cid2)
    assert c.creates_seen() == 2  # the retry found the order the cut transaction never recorded
    c.check()


# -- F13: gunicorn worker killed after the commit, before the response -------------------------------------------------


def test_f13_gunicorn_worker_killed_after_commit_before_the_response(cluster: Cluster) -> None:
    """The kill lands between the create's commit and its answer without a test hook in the product: gunicorn talks
    to Redis through a proxy that is held, so its post-commit step (enqueueing the booking) blocks; once the commit
    is visible in the database and the worker is blocked on that call, it is SIGKILLed."""
    proxy = TcpProxy("127.0.0.1", cluster.redis.port)
    try:
        master, base = cluster.start_gunicorn(workers=3, redis_url=f"redis://127.0.0.1:{proxy.port}/0")
        cluster.start_worker()
        api = type(cluster.api)(base, cluster.issued.api_key, cluster.issued.key.id)
        body, key = new_body(random.Random(13), "ghn"), str(uuid.uuid4())
        proxy.hold()
        answers: list = []
        client = threading.Thread(target=lambda: answers.append(api.create(body, key=key)))
        client.start()

        def committed() -> bool:
            with cluster.engine.connect() as conn:
                state = conn.execute(
                    select(t.idempotency_keys.c.state).where(t.idempotency_keys.c.key == key)
                ).scalar_one_or_none()
            return state == "done" and bool(proxy.held_peers())

        def blocked_worker() -> psutil.Process | None:
            """The one gunicorn worker holding a connection with bytes in the hold. Sampled until it shows: a held
            peer can be a connection its process has already dropped (a CI run once found no owner at first look)."""
            if not committed():
                return None
            peers = proxy.held_peers()
            owners = []
            for w in psutil.Process(master.pid).children():
                try:
                    if any(conn.laddr.port in peers for conn in w.net_connections(kind="tcp")):
                        owners.append(w)
                except psutil.NoSuchProcess:
                    continue
            return owners[0] if len(owners) == 1 else None

        victim = wait_until(blocked_worker, 20, "the create to commit and its worker to block on the enqueue")
        victim.kill()
        client.join(timeout=20)
        assert master.poll() is None  # the master lives on and forks a replacement
        wait_until(lambda: len(psutil.Process(master.pid).children()) == 3, 20, "gunicorn to replace its worker")
        assert answers == [None]  # the client got no answer: the connection died with the worker
        proxy.cut()
        proxy.release()

        retry = api.create(body, key=key)
        assert retry.status_code == 201, retry.text
        assert retry.headers.get("Idempotent-Replayed") == "true"
        cid = retry.json()["id"]
        with cluster.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.consignments)).scalar_one() == 1
        cluster.api.creates.extend(api.creates)  # the checker sees what this client saw
        cluster.settle()  # the enqueue died with the worker: the reconciler relays the booking
        _assert_booked_once(cluster, cid)
        cluster.check(web_url=base)
    finally:
        proxy.close()
