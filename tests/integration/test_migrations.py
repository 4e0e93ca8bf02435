"""Migrations from an empty database, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from postal_bridge.storage.engine import make_engine
from postal_bridge.storage.migrate import downgrade, upgrade
from postal_bridge.storage.tables import metadata
from postal_bridge.storage.uow import SqlUnitOfWork

TABLES = {
    "agencies",
    "api_keys",
    "provinces",
    "wards",
    "consignments",
    "consignment_events",
    "carrier_events",
    "outbox",
    "idempotency_keys",
    "labels",
    "sms_messages",
    "sms_settings",
    "scans",
    "handover_sessions",
    "handover_session_items",
    "delivery_proofs",
    "dossier_snapshots",
    "alembic_version",
}


def _check_fresh(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:  # the migrations create exactly what storage/tables.py declares
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, metadata) == []
        with SqlUnitOfWork(engine) as uow:
            assert uow.units.count() == (34, 3321)
            ward = uow.units.ward("00004")
            assert ward is not None and (ward.name, ward.province_name) == ("Phường Ba Đình", "Thành phố Hà Nội")
        upgrade(engine)  # idempotent at head
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        with SqlUnitOfWork(engine) as uow:
            assert uow.units.count() == (34, 3321)
    finally:
        engine.dispose()


def test_migrate_empty_sqlite(tmp_path) -> None:
    _check_fresh(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_migrate_empty_postgresql_when_configured() -> None:
    base = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL")
    if not base:
        pytest.skip("POSTAL_BRIDGE_TEST_DATABASE_URL is not set (CI sets it when PostgreSQL answers)")
    name = f"pb_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check_fresh(make_url(base).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_create_exactly_the_tables_in_code(tmp_path) -> None:
    """Alembic's autogenerate finds nothing to add: the migrations and ``storage/tables.py`` describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from postal_bridge.storage.tables import metadata

    url = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'diff.db'}"
    if url.startswith("postgresql"):
        name = f"pb_diff_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [
                d
                for d in compare_metadata(ctx, metadata)
                if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
            ]
        assert diff == []
    finally:
        engine.dispose()
        if url.startswith("postgresql"):
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
