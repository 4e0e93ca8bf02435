"""Storage for one-stop system events received per dossier (result ready, re-dated, withdrawn…)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from postal_bridge.domain.dossier_events import DossierEvent
from postal_bridge.storage import tables as t

_D = t.dossier_events


class SqlDossierEventRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, event: DossierEvent) -> int:
        res = self.conn.execute(
            insert(_D).values(
                agency_id=event.agency_id,
                dossier_code=event.dossier_code,
                type=event.type,
                payload=event.payload,
                received_at=event.received_at,
                actor=event.actor,
            )
        )
        event.id = int(res.inserted_primary_key[0])
        return event.id

    def by_idempotency_key(self, agency_id: str, key: str) -> DossierEvent | None:
        """The first event this agency sent with ``key`` (kept in the payload; scoped to the agency)."""
        row = (
            self.conn.execute(
                select(_D)
                .where(_D.c.agency_id == agency_id, _D.c.payload["idempotency_key"].as_string() == key)
                .order_by(_D.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        return _event(row) if row else None

    def for_dossier(self, agency_id: str, dossier_code: str) -> list[DossierEvent]:
        rows = self.conn.execute(
            select(_D).where(_D.c.agency_id == agency_id, _D.c.dossier_code == dossier_code).order_by(_D.c.id)
        ).mappings()
        return [_event(r) for r in rows]


def _event(r: Any) -> DossierEvent:
    return DossierEvent(
        id=r["id"],
        agency_id=r["agency_id"],
        dossier_code=r["dossier_code"],
        type=r["type"],
        payload=dict(r["payload"] or {}),
        received_at=r["received_at"],
        actor=r["actor"],
    )
