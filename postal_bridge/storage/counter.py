"""Storage for the counter staff: the dossier system's snapshots of dossiers, and the day's list of consignments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.counter import CounterRow, ListFilter
from postal_bridge.domain.dossier_snapshots import DossierSnapshot, Preference
from postal_bridge.storage import tables as t

_S = t.dossier_snapshots
_C = t.consignments
_CHUNK = 500


class SqlDossierSnapshotRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, agency_id: str, code: str) -> DossierSnapshot | None:
        row = self.conn.execute(select(_S).where(_S.c.agency_id == agency_id, _S.c.code == code)).mappings().first()
        return _snapshot(row) if row else None

    def put(self, snapshot: DossierSnapshot) -> bool:
        values = _row(snapshot)
        key = (_S.c.agency_id == snapshot.agency_id, _S.c.code == snapshot.code)
        if snapshot.revision > 1:
            self.conn.execute(update(_S).where(*key).values(**values))
            return True
        try:
            with self.conn.begin_nested():  # a savepoint: losing the race keeps the outer transaction usable
                self.conn.execute(insert(_S).values(**values))
        except IntegrityError:
            return False
        return True

    def by_phone(self, e164: str) -> list[DossierSnapshot]:
        rows = self.conn.execute(
            select(_S).where(_S.c.citizen_phone == e164).order_by(_S.c.received_at, _S.c.code)
        ).mappings()
        return [_snapshot(r) for r in rows]

    def purge_candidates(self, *, updated_before: datetime, ignoring: Sequence[str] = ()) -> list[tuple[str, str]]:
        cond = [
            _C.c.agency_id == _S.c.agency_id,
            _C.c.dossier_code == _S.c.code,
            _C.c.personal_data_purged_at.is_(None),
        ]
        if ignoring:  # consignments the same purge erases (a dry run has not erased them yet)
            cond.append(_C.c.id.not_in(list(ignoring)))
        holding = exists().where(*cond)
        q = (
            select(_S.c.agency_id, _S.c.code)
            .where(_S.c.personal_data_purged_at.is_(None), _S.c.updated_at < updated_before, ~holding)
            .order_by(_S.c.updated_at, _S.c.code)
        )
        return [(r.agency_id, r.code) for r in self.conn.execute(q)]

    def erase_personal_data(self, keys: Sequence[tuple[str, str]], *, at: datetime) -> int:
        erased = 0
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            res = self.conn.execute(
                update(_S)
                .where(tuple_(_S.c.agency_id, _S.c.code).in_(chunk), _S.c.personal_data_purged_at.is_(None))
                .values(
                    citizen_name="",
                    citizen_phone="",
                    address_line="",
                    citizen_id_type=None,
                    citizen_id_last4=None,
                    personal_data_purged_at=at,
                )
            )
            erased += res.rowcount
        return erased


def _row(s: DossierSnapshot) -> dict[str, Any]:
    return {
        "agency_id": s.agency_id,
        "code": s.code,
        "procedure_code": s.procedure_code,
        "procedure_name": s.procedure_name,
        "appointment_date": s.appointment_date,
        "citizen_name": s.citizen_name,
        "citizen_phone": s.citizen_phone,
        "citizen_id_type": s.citizen_id_type,
        "citizen_id_last4": s.citizen_id_last4,
        "address_line": s.address_line,
        "ward_code": s.ward_code,
        "province_code": s.province_code,
        "preference": s.preference.value,
        "received_at": s.received_at,
        "updated_at": s.updated_at,
        "revision": s.revision,
        "personal_data_purged_at": s.personal_data_purged_at,
    }


def _snapshot(r: Any) -> DossierSnapshot:
    return DossierSnapshot(
        agency_id=r["agency_id"],
        code=r["code"],
        procedure_code=r["procedure_code"],
        procedure_name=r["procedure_name"],
        appointment_date=r["appointment_date"],
        citizen_name=r["citizen_name"],
        citizen_phone=r["citizen_phone"],
        citizen_id_type=r["citizen_id_type"],
        citizen_id_last4=r["citizen_id_last4"],
        address_line=r["address_line"],
        ward_code=r["ward_code"],
        province_code=r["province_code"],
        preference=Preference(r["preference"]),
        received_at=r["received_at"],
        updated_at=r["updated_at"],
        revision=r["revision"],
        personal_data_purged_at=r["personal_data_purged_at"],
    )


class SqlCounterQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _day(agency_id: str, flt: ListFilter) -> list[Any]:
        cond = [_C.c.agency_id == agency_id, _C.c.created_at >= flt.start, _C.c.created_at < flt.end]
        if flt.kind:
            cond.append(_C.c.kind == flt.kind)
        if flt.carrier:
            cond.append(_C.c.carrier == flt.carrier)
        if flt.search:
            escaped = flt.search.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            cond.append(
                or_(
                    func.upper(_C.c.dossier_code).like(pattern, escape="\\"),
                    func.upper(_C.c.tracking_code).like(pattern, escape="\\"),
                )
            )
        return cond

    def day_list(self, agency_id: str, flt: ListFilter, *, offset: int, limit: int) -> tuple[list[CounterRow], int]:
        cond = self._day(agency_id, flt)
        if flt.status:
            cond.append(_C.c.status == flt.status)
        where = and_(*cond)
        total = self.conn.execute(select(func.count()).select_from(_C).where(where)).scalar_one()
        rows = self.conn.execute(
            select(
                _C.c.id,
                _C.c.kind,
                _C.c.status,
                _C.c.carrier,
                _C.c.service,
                _C.c.dossier_code,
                _C.c.tracking_code,
                _C.c.citizen_name,
                _C.c.ward_code,
                _C.c.province_code,
                _C.c.created_at,
                _C.c.due_date,
                _C.c.address_status,
            )
            .where(where)
            .order_by(_C.c.created_at.desc(), _C.c.id)
            .offset(offset)
            .limit(limit)
        ).mappings()
        return [CounterRow(**dict(r)) for r in rows], total

    def day_counts(self, agency_id: str, flt: ListFilter) -> dict[str, int]:
        rows = self.conn.execute(
            select(_C.c.status, func.count()).where(*self._day(agency_id, flt)).group_by(_C.c.status)
        )
        return {status: n for status, n in rows}
