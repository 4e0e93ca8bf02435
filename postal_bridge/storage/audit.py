"""Storage for the append-only audit log (who read or changed what, when)."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlAuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
