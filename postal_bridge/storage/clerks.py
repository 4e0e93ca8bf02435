"""Storage for the postal clerks' work: what a post office may see, scans, handover sessions and delivery proofs.

A clerk's post office sees a consignment when the consignment is routed to it (``consignments.post_office_code``) or
when the consignment's agency sits in a ward the office serves (``post_office_wards``): that is where the clerk
collects results and hands dossiers over. Every query here takes the office code and applies that rule itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.handover_sessions import HandoverSession, SessionItem, SessionState
from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.outcomes import DeliveryProof, Outcome
from postal_bridge.domain.scans import ItemRow, ScanOutcome, StoredScan
from postal_bridge.domain.status import Kind, Status
from postal_bridge.storage import tables as t
from postal_bridge.storage.among import among

_C = t.consignments
_A = t.agencies
_POW = t.post_office_wards
_S = t.scans
_HS = t.handover_sessions
_HI = t.handover_session_items
_P = t.delivery_proofs
_CHUNK = 500  # far below SQLite's bound-parameter limit
_OFFICE_NAME = select(t.post_offices.c.name).where(t.post_offices.c.code == bindparam("code"))
_ROWS = select(
    _C.c.id,
    _C.c.agency_id,
    _C.c.kind,
    _C.c.status,
    _C.c.tracking_code,
    _C.c.dossier_code,
    _C.c.ward_code,
    _C.c.citizen_name,
    _C.c.personal_data_purged_at,
    _C.c.updated_at,
).where(_C.c.id.in_(bindparam("ids", expanding=True)))


def _chunks(values: Sequence[Any]) -> list[list[Any]]:
    values = list(values)
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


class SqlClerkScope:
    """Which consignments a post office's clerks may see and act on."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _visible(post_office_code: str):
        served_wards = select(_POW.c.ward_code).where(_POW.c.post_office_code == post_office_code)
        served_agencies = select(_A.c.id).where(_A.c.ward_code.in_(served_wards))
        return or_(_C.c.post_office_code == post_office_code, _C.c.agency_id.in_(served_agencies))

    def find(self, post_office_code: str, *, codes: Sequence[str], tokens: Sequence[str]) -> dict[str, str]:
        """Tracking code (as stored) or token → consignment id, among the office's consignments; newest wins."""
        found: dict[str, str] = {}
        conds = []
        if codes:
            conds += [among(self.conn, _C.c.tracking_code, chunk) for chunk in _chunks(sorted(set(codes)))]
        if tokens:
            conds += [among(self.conn, _C.c.tracking_token, chunk) for chunk in _chunks(sorted(set(tokens)))]
        for cond in conds:
            rows = self.conn.execute(
                select(_C.c.id, _C.c.tracking_code, _C.c.tracking_token)
                .where(cond, self._visible(post_office_code))
                .order_by(_C.c.created_at, _C.c.id)  # later rows overwrite: the newest consignment wins
            )
            for cid, code, token in rows:
                if code:
                    found[code] = cid
                found["token:" + token] = cid
        return found

    def office_name(self, post_office_code: str) -> str | None:
        return self.conn.execute(_OFFICE_NAME, {"code": post_office_code}).scalar()

    def rows(self, consignment_ids: Sequence[str]) -> dict[str, ItemRow]:
        """The clerk-facing facts of these consignments, without loading whole aggregates."""
        out: dict[str, ItemRow] = {}
        for chunk in _chunks(list(dict.fromkeys(consignment_ids))):
            for r in self.conn.execute(_ROWS, {"ids": chunk}):
                out[r[0]] = ItemRow(
                    id=r[0],
                    agency_id=r[1],
                    kind=Kind(r[2]),
                    status=Status(r[3]),
                    tracking_code=r[4],
                    dossier_code=r[5],
                    ward_code=r[6],
                    citizen_name=r[7],
                    purged=r[8] is not None,
                    updated_at=r[9],
                )
        return out

    def visible(self, post_office_code: str, consignment_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(consignment_ids))):
            out.update(
                self.conn.execute(select(_C.c.id).where(_C.c.id.in_(chunk), self._visible(post_office_code))).scalars()
            )
        return out

    def ids_in_status(
        self,
        post_office_code: str,
        statuses: dict[str, Sequence[str]],
        *,
        agency_id: str | None = None,
        limit: int = 5000,
    ) -> list[str]:
        """Visible consignments whose (kind, status) is in ``statuses`` (kind → statuses), oldest first."""
        per_kind = [and_(_C.c.kind == kind, _C.c.status.in_(list(sts))) for kind, sts in statuses.items() if sts]
        if not per_kind:
            return []
        q = select(_C.c.id).where(or_(*per_kind), self._visible(post_office_code))
        if agency_id is not None:
            q = q.where(_C.c.agency_id == agency_id)
        return list(self.conn.execute(q.order_by(_C.c.created_at, _C.c.id).limit(limit)).scalars())


class SqlScanRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_event_ids(self, user_id: str, event_ids: list[str]) -> dict[str, StoredScan]:
        out: dict[str, StoredScan] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            rows = self.conn.execute(
                select(_S).where(_S.c.user_id == user_id, _S.c.client_event_id.in_(chunk))
            ).mappings()
            for r in rows:
                out[r["client_event_id"]] = _scan(r)
        return out

    def add_many(self, scans: list[StoredScan]) -> None:
        """Insert an upload's scans in one statement. A clash on (user, event id) — the same events uploaded at the
        same time by another request — raises Conflict and leaves the transaction unusable (no savepoint: it cost two
        round trips per batch); the caller rolls back and starts again (``services.scans.ingest_scans`` does)."""
        if not scans:
            return
        rows = [
            {
                "user_id": s.user_id,
                "client_event_id": s.client_event_id,
                "post_office_code": s.post_office_code,
                "actor": s.actor[:200],
                "mode": s.mode[:20],
                "session_id": s.session_id,
                "code": s.code[:64],
                "consignment_id": s.consignment_id,
                "scanned_at": s.scanned_at,
                "scanned_on": s.scanned_on,
                "received_at": s.received_at,
                "outcome": s.outcome.value,
                "message": s.message[:500],
                "status_before": s.status_before,
                "status_after": s.status_after,
                "applied": s.applied,
            }
            for s in scans
        ]
        try:
            self.conn.execute(insert(_S), rows)
        except IntegrityError:
            raise Conflict("These scans were uploaded at the same time by another request; retry.") from None

    def seen_today(
        self, post_office_code: str, consignment_ids: list[str], day: date
    ) -> dict[tuple[str, str, str | None], datetime]:
        out: dict[tuple[str, str, str | None], datetime] = {}
        for chunk in _chunks(list(dict.fromkeys(consignment_ids))):
            rows = self.conn.execute(
                select(_S.c.consignment_id, _S.c.mode, _S.c.session_id, _S.c.scanned_at).where(
                    _S.c.consignment_id.in_(chunk),
                    _S.c.scanned_on == day,
                    _S.c.post_office_code == post_office_code,
                    _S.c.outcome.in_([ScanOutcome.ACCEPTED.value, ScanOutcome.ALREADY_APPLIED.value]),
                )
            )
            for cid, mode, session_id, at in rows:
                key = (cid, mode, session_id)
                if key not in out or at < out[key]:
                    out[key] = at
        return out

    def for_consignment(self, consignment_id: str) -> list[StoredScan]:
        rows = self.conn.execute(
            select(_S).where(_S.c.consignment_id == consignment_id).order_by(_S.c.scanned_at, _S.c.id)
        ).mappings()
        return [_scan(r) for r in rows]


def _scan(r: Any) -> StoredScan:
    return StoredScan(
        id=r["id"],
        client_event_id=r["client_event_id"],
        user_id=r["user_id"],
        post_office_code=r["post_office_code"],
        actor=r["actor"],
        mode=r["mode"],
        session_id=r["session_id"],
        code=r["code"],
        consignment_id=r["consignment_id"],
        scanned_at=r["scanned_at"],
        scanned_on=r["scanned_on"],
        received_at=r["received_at"],
        outcome=ScanOutcome(r["outcome"]),
        message=r["message"],
        status_before=r["status_before"],
        status_after=r["status_after"],
        applied=r["applied"],
    )


class SqlHandoverSessionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _slot(user_id: str, agency_id: str, direction: HandoverDirection) -> str:
        return f"{user_id}|{agency_id}|{direction.value}"

    def add(self, session: HandoverSession, expected: Sequence[str]) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(_HS).values(
                        id=session.id,
                        post_office_code=session.post_office_code,
                        user_id=session.user_id,
                        opened_by=session.opened_by,
                        agency_id=session.agency_id,
                        direction=session.direction.value,
                        state=session.state.value,
                        opened_at=session.opened_at,
                        closed_at=session.closed_at,
                        handover_id=session.handover_id,
                        open_slot=self._slot(session.user_id, session.agency_id, session.direction)
                        if session.is_open
                        else None,
                    )
                )
                if expected:
                    self.conn.execute(
                        insert(_HI),
                        [
                            {"session_id": session.id, "consignment_id": cid, "seq": i, "expected": True}
                            for i, cid in enumerate(expected, 1)
                        ],
                    )
        except IntegrityError:
            raise Conflict("A handover session for this agency and direction was opened at the same time.") from None

    def get(self, session_id: str) -> HandoverSession | None:
        return self.get_many([session_id]).get(session_id)

    def get_many(self, session_ids: Sequence[str]) -> dict[str, HandoverSession]:
        out: dict[str, HandoverSession] = {}
        for chunk in _chunks(list(dict.fromkeys(session_ids))):
            for r in self.conn.execute(select(_HS).where(_HS.c.id.in_(chunk))).mappings():
                out[r["id"]] = _session(r)
        return out

    def open_for(self, user_id: str, agency_id: str, direction: HandoverDirection) -> HandoverSession | None:
        r = (
            self.conn.execute(select(_HS).where(_HS.c.open_slot == self._slot(user_id, agency_id, direction)))
            .mappings()
            .first()
        )
        return _session(r) if r else None

    def open_of_user(self, user_id: str) -> list[HandoverSession]:
        rows = self.conn.execute(
            select(_HS)
            .where(_HS.c.user_id == user_id, _HS.c.state == SessionState.OPEN.value)
            .order_by(_HS.c.opened_at, _HS.c.id)
        ).mappings()
        return [_session(r) for r in rows]

    def items(self, session_id: str) -> list[SessionItem]:
        return self.items_many([session_id]).get(session_id, [])

    def items_many(self, session_ids: Sequence[str]) -> dict[str, list[SessionItem]]:
        out: dict[str, list[SessionItem]] = {sid: [] for sid in session_ids}
        for chunk in _chunks(list(dict.fromkeys(session_ids))):
            rows = self.conn.execute(
                select(_HI).where(_HI.c.session_id.in_(chunk)).order_by(_HI.c.session_id, _HI.c.seq)
            ).mappings()
            for r in rows:
                out.setdefault(r["session_id"], []).append(
                    SessionItem(
                        consignment_id=r["consignment_id"],
                        seq=r["seq"],
                        expected=r["expected"],
                        scanned_at=r["scanned_at"],
                        excluded_reason=r["excluded_reason"],
                    )
                )
        return out

    def mark_scanned(self, session_id: str, consignment_id: str, *, at: datetime, excluded_reason: str | None) -> None:
        self.conn.execute(
            update(_HI)
            .where(_HI.c.session_id == session_id, _HI.c.consignment_id == consignment_id)
            .values(scanned_at=at, excluded_reason=excluded_reason)
        )

    def add_extra(
        self, session_id: str, consignment_id: str, *, seq: int, at: datetime, excluded_reason: str | None
    ) -> None:
        self.conn.execute(
            insert(_HI).values(
                session_id=session_id,
                consignment_id=consignment_id,
                seq=seq,
                expected=False,
                scanned_at=at,
                excluded_reason=excluded_reason,
            )
        )

    def close(self, session_id: str, *, state: SessionState, at: datetime, handover_id: str | None) -> bool:
        res = self.conn.execute(
            update(_HS)
            .where(_HS.c.id == session_id, _HS.c.state == SessionState.OPEN.value)
            .values(state=state.value, closed_at=at, handover_id=handover_id, open_slot=None)
        )
        return res.rowcount == 1


def _session(r: Any) -> HandoverSession:
    return HandoverSession(
        id=r["id"],
        post_office_code=r["post_office_code"],
        user_id=r["user_id"],
        opened_by=r["opened_by"],
        agency_id=r["agency_id"],
        direction=HandoverDirection(r["direction"]),
        opened_at=r["opened_at"],
        state=SessionState(r["state"]),
        closed_at=r["closed_at"],
        handover_id=r["handover_id"],
    )


_PROOF_FIELDS = (
    "client_event_id",
    "consignment_id",
    "occurred_at",
    "recorded_at",
    "actor",
    "user_id",
    "post_office_code",
    "status_before",
    "status_after",
    "receiver",
    "receiver_name",
    "id_type",
    "id_last4",
    "id_check",
    "authorisation_ref",
    "reason",
    "note",
    "attempt",
    "refuser_name",
    "refuser_id_type",
    "refuser_id_last4",
)


class SqlDeliveryProofRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_event(self, user_id: str, client_event_id: str) -> DeliveryProof | None:
        r = (
            self.conn.execute(select(_P).where(_P.c.user_id == user_id, _P.c.client_event_id == client_event_id))
            .mappings()
            .first()
        )
        return _proof(r) if r else None

    def add(self, proof: DeliveryProof) -> int:
        values = {f: getattr(proof, f) for f in _PROOF_FIELDS}
        try:
            with self.conn.begin_nested():
                res = self.conn.execute(insert(_P).values(outcome=proof.outcome.value, **values))
        except IntegrityError:
            raise Conflict("This outcome was recorded at the same time by another request; retry.") from None
        proof.id = int(res.inserted_primary_key[0])
        return proof.id

    def for_consignment(self, consignment_id: str) -> list[DeliveryProof]:
        rows = self.conn.execute(
            select(_P).where(_P.c.consignment_id == consignment_id).order_by(_P.c.occurred_at, _P.c.id)
        ).mappings()
        return [_proof(r) for r in rows]


def _proof(r: Any) -> DeliveryProof:
    return DeliveryProof(id=r["id"], outcome=Outcome(r["outcome"]), **{f: r[f] for f in _PROOF_FIELDS})
