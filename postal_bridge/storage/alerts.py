"""Storage for alerts for people (dead-lettered callbacks, disabled endpoints, unknown courier codes)."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlAlertRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
