"""PostgreSQL connections are pinged at checkout only after sitting idle: a dead idle one is replaced unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from postal_bridge.storage import engine as engine_module
from postal_bridge.storage.engine import make_engine


@pytest.fixture
def pg_engine(clean_db: str):
    if not clean_db.startswith("postgresql"):
        pytest.skip("the idle ping is PostgreSQL's (SQLite has no server to lose)")
    eng = make_engine(clean_db)
    yield eng
    eng.dispose()


def _backend_pid(eng) -> int:
    with eng.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_an_idle_connection_killed_by_the_server_is_replaced_at_checkout(pg_engine, monkeypatch) -> None:
    with pg_engine.connect() as killer:
        with pg_engine.connect() as victim_conn:
            victim = victim_conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The victim is back in the pool, idle; the server ends it (a restart, an idle timeout, a failover).
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        killer.commit()
    monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    for _ in range(4):  # whichever pooled connection comes out, the caller gets a live one
        assert _backend_pid(pg_engine) != victim


def test_a_connection_in_steady_use_is_not_pinged(pg_engine) -> None:
    pings: list[object] = []
    real = pg_engine.dialect.do_ping
    pg_engine.dialect.do_ping = lambda conn: pings.append(conn) or real(conn)  # type: ignore[method-assign]
    try:
        for _ in range(5):
            _backend_pid(pg_engine)
    finally:
        pg_engine.dialect.do_ping = real  # type: ignore[method-assign]
    assert pings == []
