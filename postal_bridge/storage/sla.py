"""Storage for deadline breaches, one row per consignment and kind."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlBreachRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
