"""Storage for read-only aggregate queries behind the province's reports."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlReportQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
