"""Storage for the citizen's tracking page: one-time codes (hashed), the requests citizens leave for the counter, and
the postman's phone for the delivery day (``uow.citizen``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from postal_bridge.domain.citizen import Action, CitizenRequest, OtpChallenge, PostmanContact, RequestStatus
from postal_bridge.storage import tables as t

_O = t.otp_challenges
_R = t.citizen_requests
_P = t.postman_contacts


class SqlCitizenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------------------ codes

    def add_challenge(self, challenge: OtpChallenge) -> None:
        row = dict(challenge.__dict__)
        row["action"] = challenge.action.value
        self.conn.execute(insert(_O).values(**row))

    def current_challenge(self, consignment_id: str, action: Action) -> OtpChallenge | None:
        """The newest code asked for this action (used or not; a replaced one is never current)."""
        q = (
            select(_O)
            .where(_O.c.consignment_id == consignment_id, _O.c.action == action.value, _O.c.closed_at.is_(None))
            .order_by(_O.c.created_at.desc(), _O.c.id.desc())
            .limit(1)
        )
        row = self.conn.execute(q).mappings().first()
        return _challenge(row) if row else None

    def close_challenges(self, consignment_id: str, action: Action, *, at: datetime) -> int:
        q = (
            update(_O)
            .where(_O.c.consignment_id == consignment_id, _O.c.action == action.value, _O.c.closed_at.is_(None))
            .values(closed_at=at)
        )
        return self.conn.execute(q).rowcount

    def challenges_since(self, consignment_id: str, since: datetime) -> int:
        q = select(func.count()).select_from(_O).where(_O.c.consignment_id == consignment_id, _O.c.created_at >= since)
        return int(self.conn.execute(q).scalar_one())

    def count_attempt(self, challenge_id: str) -> int:
        """One more try on this code, counted in the database (two tabs cannot both get a free try); returns the
        number of tries so far."""
        self.conn.execute(update(_O).where(_O.c.id == challenge_id).values(attempts=_O.c.attempts + 1))
        return int(self.conn.execute(select(_O.c.attempts).where(_O.c.id == challenge_id)).scalar_one())

    def use_challenge(self, challenge_id: str, *, at: datetime) -> bool:
        """Spend the code; False when another request spent it first (single use)."""
        q = update(_O).where(_O.c.id == challenge_id, _O.c.used_at.is_(None)).values(used_at=at)
        return self.conn.execute(q).rowcount == 1

    # --------------------------------------------------------------------------------------------- requests

    def add_request(self, request: CitizenRequest) -> None:
        self.conn.execute(insert(_R).values(**_request_row(request)))

    def supersede(self, consignment_id: str, kinds: frozenset[Action]) -> list[CitizenRequest]:
        """Mark the open requests of these kinds replaced; returns them as they were."""
        q = select(_R).where(
            _R.c.consignment_id == consignment_id,
            _R.c.status == RequestStatus.OPEN.value,
            _R.c.kind.in_(sorted(k.value for k in kinds)),
        )
        replaced = [_request(r) for r in self.conn.execute(q).mappings()]
        if replaced:
            self.conn.execute(
                update(_R)
                .where(_R.c.id.in_([r.id for r in replaced]), _R.c.status == RequestStatus.OPEN.value)
                .values(status=RequestStatus.SUPERSEDED.value)
            )
        return replaced

    def requests_for(self, consignment_id: str) -> list[CitizenRequest]:
        q = select(_R).where(_R.c.consignment_id == consignment_id).order_by(_R.c.created_at, _R.c.id)
        return [_request(r) for r in self.conn.execute(q).mappings()]

    def get_request(self, request_id: str, *, agency_id: str) -> CitizenRequest | None:
        q = select(_R).where(_R.c.id == request_id, _R.c.agency_id == agency_id)
        row = self.conn.execute(q).mappings().first()
        return _request(row) if row else None

    def requests_of_agency(self, agency_id: str, *, status: RequestStatus, limit: int) -> list[CitizenRequest]:
        """Open requests oldest first (the queue); handled ones newest first (the record)."""
        order = (_R.c.created_at, _R.c.id) if status == RequestStatus.OPEN else (_R.c.handled_at.desc(), _R.c.id)
        q = select(_R).where(_R.c.agency_id == agency_id, _R.c.status == status.value).order_by(*order).limit(limit)
        return [_request(r) for r in self.conn.execute(q).mappings()]

    def mark_handled(self, request_id: str, *, by: str, at: datetime, note: str) -> bool:
        q = (
            update(_R)
            .where(_R.c.id == request_id, _R.c.status == RequestStatus.OPEN.value)
            .values(status=RequestStatus.HANDLED.value, handled_by=by[:200], handled_at=at, note=note[:500])
        )
        return self.conn.execute(q).rowcount == 1

    # ------------------------------------------------------------------------------------- postman contacts

    def put_contact(self, contact: PostmanContact) -> None:
        """Keep the contact of the latest out-for-delivery event (an older event never replaces a newer one)."""
        current = self.contact(contact.consignment_id)
        if current is None:
            self.conn.execute(insert(_P).values(**contact.__dict__))
        elif contact.at >= current.at:
            self.conn.execute(
                update(_P)
                .where(_P.c.consignment_id == contact.consignment_id)
                .values(phone=contact.phone, at=contact.at, source=contact.source)
            )

    def contact(self, consignment_id: str) -> PostmanContact | None:
        row = self.conn.execute(select(_P).where(_P.c.consignment_id == consignment_id)).mappings().first()
        return PostmanContact(**row) if row else None


def _challenge(r: Any) -> OtpChallenge:
    data = dict(r)
    data["action"] = Action(data["action"])
    return OtpChallenge(**data)


def _request_row(r: CitizenRequest) -> dict[str, Any]:
    row = dict(r.__dict__)
    row["kind"] = r.kind.value
    row["status"] = r.status.value
    return row


def _request(r: Any) -> CitizenRequest:
    data = dict(r)
    data["kind"] = Action(data["kind"])
    data["status"] = RequestStatus(data["status"])
    data["details"] = dict(data["details"] or {})
    return CitizenRequest(**data)
