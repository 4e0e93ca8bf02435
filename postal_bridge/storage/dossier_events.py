"""Storage for one-stop system events received per dossier (result ready, re-dated, withdrawn…)."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlDossierEventRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
