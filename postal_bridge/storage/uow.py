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


class SqlUnitOfWork:
    """``readonly`` units of work begin DEFERRED on SQLite and may not commit (settings and catalogue lookups)."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        # Transactions begin on first use (SQLAlchemy autobegin).
        conn = reading(self.engine) if self.readonly else self.engine.connect()
        self._conn = conn
        self.agencies = r.SqlAgencyRepository(conn)
        self.api_keys = r.SqlApiKeyRepository(conn)
        self.units = r.SqlUnitsRepository(conn)
        self.consignments = r.SqlConsignmentRepository(conn)
        self.carrier_events = r.SqlCarrierEventRepository(conn)
        self.carrier_settings = r.SqlCarrierSettingsRepository(conn)
        self.cursors = r.SqlCursorRepository(conn)
        self.outbox = r.SqlOutboxRepository(conn)
        self.idempotency = r.SqlIdempotencyRepository(conn)
        self.labels = r.SqlLabelRepository(conn)
        self.handovers = r.SqlHandoverRepository(conn)
        self.prints = r.SqlPrintLogRepository(conn)
        self.users = r.SqlUserRepository(conn)
        self.dossier_events = SqlDossierEventRepository(conn)
        self.alerts = SqlAlertRepository(conn)
        self.breaches = SqlBreachRepository(conn)
        self.incidents = SqlIncidentRepository(conn)
        self.complaints = SqlComplaintRepository(conn)
        self.reports = SqlReportQueries(conn)
        self.audit = SqlAuditRepository(conn)
        self.sms = SqlSmsRepository(conn)
        self.clerk_scope = SqlClerkScope(conn)
        self.scans = SqlScanRepository(conn)
        self.handover_sessions = SqlHandoverSessionRepository(conn)
        self.delivery_proofs = SqlDeliveryProofRepository(conn)
        self.citizen = SqlCitizenRepository(conn)
        self.admin = SqlAdminRepository(conn)
        self.post_offices = SqlPostOfficeRepository(conn)  # inside this transaction (deps.post_offices: its own)
        self.dossier_snapshots = SqlDossierSnapshotRepository(conn)
        self.counter = SqlCounterQueries(conn)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        assert self._conn is not None
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot commit")
        self._conn.commit()

    def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()
