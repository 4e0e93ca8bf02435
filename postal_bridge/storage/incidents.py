"""Storage for incidents (lost, damaged, tampered) and complaints."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlIncidentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn


class SqlComplaintRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
