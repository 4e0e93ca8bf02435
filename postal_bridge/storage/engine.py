"""Engines for SQLite (WAL, busy timeout) and PostgreSQL (pre-ping). Created by bootstrap, never at import time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

READONLY = "postal_bridge_readonly"


def reading(engine: Engine) -> Connection:
    """A connection for reads only (lookups beside an open unit of work must not queue behind its write lock)."""
    return engine.connect().execution_options(**{READONLY: True})


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised on every connect
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # pragma: no cover
            # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of one
            # failing with "database is locked" when it upgrades a read transaction. Read-only work (see
            # ``reading``) begins DEFERRED: under WAL it never waits for, nor blocks, a writer.
            readonly = conn.get_execution_options().get(READONLY, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def backend(engine: Engine) -> str:
    return engine.url.get_backend_name()
