"""The SQLAlchemy unit of work: one connection, one transaction, rolled back unless ``commit()`` is called."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from postal_bridge.storage import repositories as r
from postal_bridge.storage.admin import SqlAdminRepository
from postal_bridge.storage.alerts import SqlAlertRepository
from postal_bridge.storage.audit import SqlAuditRepository
from postal_bridge.storage.citizen import SqlCitizenRepository
from postal_bridge.storage.clerks import (
    SqlClerkScope,
    SqlDeliveryProofRepository,
    SqlHandoverSessionRepository,
    SqlScanRepository,
)
from postal_bridge.storage.counter import SqlCounterQueries, SqlDossierSnapshotRepository
from postal_bridge.storage.dossier_events import SqlDossierEventRepository
from postal_bridge.storage.engine import reading
from postal_bridge.storage.incidents import SqlComplaintRepository, SqlIncidentRepository
from postal_bridge.storage.post_offices import SqlPostOfficeRepository
from postal_bridge.storage.reports import SqlReportQueries
from postal_bridge.storage.sla import SqlBreachRepository
from postal_bridge.storage.sms import SqlSmsRepository

_REPOSITORIES: dict[str, type] = {
    "agencies": r.SqlAgencyRepository,
    "api_keys": r.SqlApiKeyRepository,
    "units": r.SqlUnitsRepository,
    "consignments": r.SqlConsignmentRepository,
    "carrier_events": r.SqlCarrierEventRepository,
    "carrier_settings": r.SqlCarrierSettingsRepository,
    "cursors": r.SqlCursorRepository,
    "outbox": r.SqlOutboxRepository,
    "idempotency": r.SqlIdempotencyRepository,
    "labels": r.SqlLabelRepository,
    "handovers": r.SqlHandoverRepository,
    "prints": r.SqlPrintLogRepository,
    "users": r.SqlUserRepository,
    "dossier_events": SqlDossierEventRepository,
    "alerts": SqlAlertRepository,
    "breaches": SqlBreachRepository,
    "incidents": SqlIncidentRepository,
    "complaints": SqlComplaintRepository,
    "reports": SqlReportQueries,
    "audit": SqlAuditRepository,
    "sms": SqlSmsRepository,
    "clerk_scope": SqlClerkScope,
    "scans": SqlScanRepository,
    "handover_sessions": SqlHandoverSessionRepository,
    "delivery_proofs": SqlDeliveryProofRepository,
    "citizen": SqlCitizenRepository,
    "admin": SqlAdminRepository,
    "post_offices": SqlPostOfficeRepository,
    "dossier_snapshots": SqlDossierSnapshotRepository,
    "counter": SqlCounterQueries,
}


class SqlUnitOfWork:
    """``readonly`` units of work begin DEFERRED on SQLite and may not commit (settings and catalogue lookups)."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        # Transactions begin on first use (SQLAlchemy autobegin).
        self._conn = reading(self.engine) if self.readonly else self.engine.connect()
        return self

    def __getattr__(self, name: str):
        """Repositories are made on first use: a unit of work touches two or three of its thirty (a create opens
        seven units of work, a worker's job four), and building them all each time showed in the profiles."""
        repository = _REPOSITORIES.get(name)
        conn = self.__dict__.get("_conn")
        if repository is None or conn is None:
            raise AttributeError(name)
        value = repository(conn)
        setattr(self, name, value)
        return value

    def __exit__(self, *exc: object) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
            for name in _REPOSITORIES:  # a unit of work used again gets repositories on its new connection
                self.__dict__.pop(name, None)

    def commit(self) -> None:
        assert self._conn is not None
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot commit")
        self._conn.commit()

    def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()
