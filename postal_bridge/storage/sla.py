"""Storage for deadline breaches, one row per consignment and kind."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.sla import AttentionItem, Breach, BreachKind
from postal_bridge.domain.status import TERMINAL, Status
from postal_bridge.storage import tables as t

_B = t.breaches
_C = t.consignments
_K = t.complaints


class SqlBreachRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def for_consignment(self, consignment_id: str) -> list[Breach]:
        rows = self.conn.execute(select(_B).where(_B.c.consignment_id == consignment_id).order_by(_B.c.id)).mappings()
        return [_breach(r) for r in rows]

    def add(self, breach: Breach) -> bool:
        """Insert unless this consignment already has a row of this kind (UNIQUE); a savepoint keeps the transaction."""
        try:
            with self.conn.begin_nested():
                res = self.conn.execute(
                    insert(_B).values(
                        consignment_id=breach.consignment_id,
                        kind=breach.kind.value,
                        due_at=breach.due_at,
                        detected_at=breach.detected_at,
                        details=breach.details,
                        resolved_at=breach.resolved_at,
                    )
                )
        except IntegrityError:
            return False
        breach.id = res.inserted_primary_key[0]
        return True

    def resolve(self, breach_id: int, *, at: datetime) -> None:
        self.conn.execute(update(_B).where(_B.c.id == breach_id, _B.c.resolved_at.is_(None)).values(resolved_at=at))

    def reopen(self, breach_id: int, *, details: dict[str, Any], due_at: datetime | None) -> None:
        self.conn.execute(
            update(_B).where(_B.c.id == breach_id).values(resolved_at=None, details=details, due_at=due_at)
        )

    def scan_candidates(self, *, statuses: Sequence[str], after: str, limit: int) -> list[str]:
        open_breach = select(_B.c.consignment_id).where(_B.c.resolved_at.is_(None))
        open_complaint = select(_K.c.consignment_id).where(
            or_(_K.c.resolved_at.is_(None), and_(_K.c.payment_due_date.is_not(None), _K.c.paid_at.is_(None)))
        )
        q = (
            select(_C.c.id)
            .where(
                _C.c.id > after,
                or_(_C.c.status.in_(list(statuses)), _C.c.id.in_(open_breach), _C.c.id.in_(open_complaint)),
            )
            .order_by(_C.c.id)
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())

    def last_courier_event_at(self, consignment_id: str) -> datetime | None:
        ev = t.carrier_events
        return self.conn.execute(
            select(func.max(ev.c.occurred_at)).where(ev.c.consignment_id == consignment_id)
        ).scalar()

    def attention(self, agency_id: str, *, limit: int) -> list[AttentionItem]:
        """Open breaches, addresses waiting for a person, failed deliveries: newest first."""
        items: list[AttentionItem] = []
        breach_rows = self.conn.execute(
            select(_B, _C.c.dossier_code, _C.c.kind.label("c_kind"), _C.c.status)
            .join(_C, _C.c.id == _B.c.consignment_id)
            .where(_C.c.agency_id == agency_id, _B.c.resolved_at.is_(None))
            .order_by(_B.c.detected_at.desc())
            .limit(limit)
        ).mappings()
        for r in breach_rows:
            items.append(
                AttentionItem(
                    consignment_id=r["consignment_id"],
                    dossier_code=r["dossier_code"],
                    kind=r["c_kind"],
                    status=r["status"],
                    reason=r["kind"],
                    since=r["detected_at"],
                    due_at=r["due_at"],
                    details=dict(r["details"] or {}),
                )
            )
        cols = (_C.c.id, _C.c.dossier_code, _C.c.kind, _C.c.status, _C.c.created_at, _C.c.updated_at)
        suggested = self.conn.execute(
            select(*cols)
            .where(
                _C.c.agency_id == agency_id,
                _C.c.address_status == "suggested",
                _C.c.status.not_in([s.value for s in TERMINAL]),
            )
            .order_by(_C.c.created_at.desc())
            .limit(limit)
        ).mappings()
        items.extend(_consignment_item(r, "address_unconfirmed", r["created_at"]) for r in suggested)
        failed = self.conn.execute(
            select(*cols)
            .where(_C.c.agency_id == agency_id, _C.c.status == Status.DELIVERY_FAILED.value)
            .order_by(_C.c.updated_at.desc())
            .limit(limit)
        ).mappings()
        items.extend(_consignment_item(r, "delivery_failed", r["updated_at"]) for r in failed)
        items.sort(key=lambda i: (i.since, i.consignment_id), reverse=True)
        return items[:limit]


def _consignment_item(r: Any, reason: str, since: datetime) -> AttentionItem:
    return AttentionItem(
        consignment_id=r["id"],
        dossier_code=r["dossier_code"],
        kind=r["kind"],
        status=r["status"],
        reason=reason,
        since=since,
    )


def _breach(r: Any) -> Breach:
    return Breach(
        id=r["id"],
        consignment_id=r["consignment_id"],
        kind=BreachKind(r["kind"]),
        due_at=r["due_at"],
        detected_at=r["detected_at"],
        details=dict(r["details"] or {}),
        resolved_at=r["resolved_at"],
    )
