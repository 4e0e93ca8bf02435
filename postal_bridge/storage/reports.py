"""Storage for read-only aggregate queries behind the province's reports (SQLAlchemy Core; SQLite and PostgreSQL).

The queries return plain facts (one row per consignment of the cohort with its milestone events, incidents and
complaints opened in the period); the figures are computed by ``postal_bridge.domain.reports``. Every query filters
on the same cohort sub-select, so no list of ids ever travels back to the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from postal_bridge.domain.reports import (
    MILESTONE_STATUSES,
    ComplaintFact,
    IncidentFact,
    Milestone,
    ReportRow,
)
from postal_bridge.domain.status import Status
from postal_bridge.storage import tables as t

_C = t.consignments
_A = t.agencies
_E = t.consignment_events
_I = t.incidents
_K = t.complaints

_CHUNK = 2000  # rows fetched per batch when streaming the cohort


class SqlReportQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _cohort(self, start: datetime, end: datetime, agency_id: str | None) -> Select[Any]:
        q = select(_C.c.id).where(_C.c.created_at >= start, _C.c.created_at < end)
        if agency_id is not None:
            q = q.where(_C.c.agency_id == agency_id)
        return q

    def consignment_rows(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[ReportRow]:
        cohort = self._cohort(start, end, agency_id).scalar_subquery()
        milestones: dict[str, list[Milestone]] = {}
        events = (
            select(_E.c.consignment_id, _E.c.seq, _E.c.status, _E.c.occurred_at, _E.c.description)
            .where(_E.c.consignment_id.in_(cohort), _E.c.status.in_([s.value for s in MILESTONE_STATUSES]))
            .order_by(_E.c.consignment_id, _E.c.seq)
        )
        for e in self.conn.execute(events).mappings():
            milestones.setdefault(e["consignment_id"], []).append(
                Milestone(
                    status=Status(e["status"]), occurred_at=e["occurred_at"], seq=e["seq"], description=e["description"]
                )
            )
        incident_kinds: dict[str, list[str]] = {}
        for cid, kind in self.conn.execute(
            select(_I.c.consignment_id, _I.c.kind).where(_I.c.consignment_id.in_(cohort)).order_by(_I.c.opened_at)
        ):
            incident_kinds.setdefault(cid, []).append(kind)

        q = (
            select(
                _C.c.id,
                _C.c.agency_id,
                _A.c.code.label("agency_code"),
                _A.c.name.label("agency_name"),
                _C.c.carrier,
                _C.c.service,
                _C.c.post_office_code,
                _C.c.kind,
                _C.c.status,
                _C.c.created_at,
                _C.c.due_date,
                _C.c.postage_vnd,
                _C.c.fee_vnd,
                _C.c.cod_vnd,
            )
            .join(_A, _A.c.id == _C.c.agency_id)
            .where(_C.c.id.in_(cohort))
            .order_by(_C.c.created_at, _C.c.id)
        )
        rows: list[ReportRow] = []
        result = self.conn.execute(q.execution_options(yield_per=_CHUNK)).mappings()
        for r in result:
            rows.append(
                ReportRow(
                    **{k: r[k] for k in r.keys()},  # noqa: SIM118 - RowMapping keys
                    milestones=tuple(milestones.get(r["id"], ())),
                    incident_kinds=tuple(incident_kinds.get(r["id"], ())),
                )
            )
        return rows

    def _facts(self, table: Any, start: datetime, end: datetime, agency_id: str | None) -> Select[Any]:
        q = (
            select(
                table,
                _A.c.code.label("agency_code"),
                _A.c.name.label("agency_name"),
                _C.c.carrier,
                _C.c.post_office_code,
            )
            .join(_C, _C.c.id == table.c.consignment_id)
            .join(_A, _A.c.id == _C.c.agency_id)
            .where(table.c.opened_at >= start, table.c.opened_at < end)
            .order_by(table.c.opened_at, table.c.id)
        )
        if agency_id is not None:
            q = q.where(_C.c.agency_id == agency_id)
        return q

    def incident_facts(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[IncidentFact]:
        return [
            IncidentFact(
                consignment_id=r["consignment_id"],
                agency_code=r["agency_code"],
                agency_name=r["agency_name"],
                carrier=r["carrier"],
                post_office_code=r["post_office_code"],
                kind=r["kind"],
                opened_at=r["opened_at"],
                resolved_at=r["resolved_at"],
                fault_party=r["fault_party"],
                compensation_vnd=r["compensation_vnd"],
            )
            for r in self.conn.execute(self._facts(_I, start, end, agency_id)).mappings()
        ]

    def complaint_facts(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[ComplaintFact]:
        return [
            ComplaintFact(
                consignment_id=r["consignment_id"],
                agency_code=r["agency_code"],
                agency_name=r["agency_name"],
                carrier=r["carrier"],
                post_office_code=r["post_office_code"],
                complainant=r["complainant"],
                opened_at=r["opened_at"],
                due_date=r["due_date"],
                resolved_at=r["resolved_at"],
                outcome=r["outcome"],
                fault_party=r["fault_party"],
                compensation_vnd=r["compensation_vnd"],
                paid_at=r["paid_at"],
            )
            for r in self.conn.execute(self._facts(_K, start, end, agency_id)).mappings()
        ]
