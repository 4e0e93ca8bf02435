"""Storage for incidents (lost, damaged, tampered) and complaints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from postal_bridge.domain.incidents import Complainant, Complaint, FaultParty, Incident, IncidentKind
from postal_bridge.storage import tables as t

_I = t.incidents
_K = t.complaints
_C = t.consignments


class SqlIncidentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, incident: Incident) -> None:
        self.conn.execute(insert(_I).values(**_incident_row(incident)))

    def get(self, incident_id: str, *, agency_id: str) -> Incident | None:
        row = (
            self.conn.execute(
                select(_I)
                .join(_C, _C.c.id == _I.c.consignment_id)
                .where(_I.c.id == incident_id, _C.c.agency_id == agency_id)
            )
            .mappings()
            .first()
        )
        return _incident(row) if row else None

    def save(self, incident: Incident) -> None:
        values = _incident_row(incident)
        values.pop("id")
        self.conn.execute(update(_I).where(_I.c.id == incident.id).values(**values))

    def for_consignment(self, consignment_id: str) -> list[Incident]:
        rows = self.conn.execute(
            select(_I).where(_I.c.consignment_id == consignment_id).order_by(_I.c.opened_at, _I.c.id)
        ).mappings()
        return [_incident(r) for r in rows]


class SqlComplaintRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, complaint: Complaint) -> None:
        self.conn.execute(insert(_K).values(**_complaint_row(complaint)))

    def get(self, complaint_id: str, *, agency_id: str) -> Complaint | None:
        row = (
            self.conn.execute(
                select(_K)
                .join(_C, _C.c.id == _K.c.consignment_id)
                .where(_K.c.id == complaint_id, _C.c.agency_id == agency_id)
            )
            .mappings()
            .first()
        )
        return _complaint(row) if row else None

    def save(self, complaint: Complaint) -> None:
        values = _complaint_row(complaint)
        values.pop("id")
        self.conn.execute(update(_K).where(_K.c.id == complaint.id).values(**values))

    def for_consignment(self, consignment_id: str) -> list[Complaint]:
        rows = self.conn.execute(
            select(_K).where(_K.c.consignment_id == consignment_id).order_by(_K.c.opened_at, _K.c.id)
        ).mappings()
        return [_complaint(r) for r in rows]

    def for_agency(self, agency_id: str, *, open_only: bool, limit: int) -> list[Complaint]:
        """The agency's complaints, newest first; ``open_only``: unresolved, or compensation decided and unpaid."""
        q = select(_K).join(_C, _C.c.id == _K.c.consignment_id).where(_C.c.agency_id == agency_id)
        if open_only:
            q = q.where(
                or_(_K.c.resolved_at.is_(None), and_(_K.c.payment_due_date.is_not(None), _K.c.paid_at.is_(None)))
            )
        rows = self.conn.execute(q.order_by(_K.c.opened_at.desc(), _K.c.id).limit(limit)).mappings()
        return [_complaint(r) for r in rows]


def _incident_row(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "consignment_id": i.consignment_id,
        "kind": i.kind.value,
        "opened_at": i.opened_at,
        "opened_by": i.opened_by,
        "record_no": i.record_no,
        "description": i.description,
        "fault_party": i.fault_party.value if i.fault_party else None,
        "resolved_at": i.resolved_at,
        "resolution": i.resolution,
        "compensation_vnd": i.compensation_vnd,
    }


def _incident(r: Any) -> Incident:
    return Incident(
        id=r["id"],
        consignment_id=r["consignment_id"],
        kind=IncidentKind(r["kind"]),
        opened_at=r["opened_at"],
        opened_by=r["opened_by"],
        record_no=r["record_no"],
        description=r["description"],
        fault_party=FaultParty(r["fault_party"]) if r["fault_party"] else None,
        resolved_at=r["resolved_at"],
        resolution=r["resolution"],
        compensation_vnd=r["compensation_vnd"],
    )


def _complaint_row(x: Complaint) -> dict[str, Any]:
    return {
        "id": x.id,
        "consignment_id": x.consignment_id,
        "complainant": x.complainant.value,
        "opened_at": x.opened_at,
        "description": x.description,
        "due_date": x.due_date,
        "resolved_at": x.resolved_at,
        "outcome": x.outcome,
        "fault_party": x.fault_party.value if x.fault_party else None,
        "compensation_vnd": x.compensation_vnd,
        "liability_decided_at": x.liability_decided_at,
        "payment_due_date": x.payment_due_date,
        "paid_at": x.paid_at,
    }


def _complaint(r: Any) -> Complaint:
    return Complaint(
        id=r["id"],
        consignment_id=r["consignment_id"],
        complainant=Complainant(r["complainant"]),
        opened_at=r["opened_at"],
        description=r["description"],
        due_date=r["due_date"],
        resolved_at=r["resolved_at"],
        outcome=r["outcome"],
        fault_party=FaultParty(r["fault_party"]) if r["fault_party"] else None,
        compensation_vnd=r["compensation_vnd"],
        liability_decided_at=r["liability_decided_at"],
        payment_due_date=r["payment_due_date"],
        paid_at=r["paid_at"],
    )
