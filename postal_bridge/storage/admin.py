"""Storage for the administrator's pages (``uow.admin``): the outbox as a filtered work list and its replay, counts for
the overview, API keys with their last use, revoking keys and changing callback URLs, editing agencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, update

from postal_bridge.domain.admin import AdminCounts, KeyListing, OutboxCounts, OutboxEntry, OutboxView, scrub_error
from postal_bridge.domain.model import Agency, ApiKey, OutboxKind, OutboxState
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.sms import SmsStatus
from postal_bridge.storage import tables as t

_O = t.outbox
_C = t.consignments
_A = t.agencies
_K = t.api_keys
_U = t.users
# What a courier may echo back of the item's citizen: masked in the error text shown (``scrub_error(known=…)``).
_PERSONAL = (_C.c.citizen_name, _C.c.citizen_phone, _C.c.address_line, _C.c.address_legacy_text)


def _view_filter(view: OutboxView) -> Any:
    pending = _O.c.state == OutboxState.PENDING.value
    if view == OutboxView.OPEN:
        return _O.c.state != OutboxState.DONE.value
    if view == OutboxView.PENDING:
        return and_(pending, _O.c.attempts == 0)
    if view == OutboxView.RETRYING:
        return and_(pending, _O.c.attempts > 0)
    return _O.c.state == view.value


class SqlAdminRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- overview -----------------------------------------------------------------------------------------------------

    def counts(self, *, now: datetime) -> AdminCounts:
        scalar = self.conn.execute
        agencies = scalar(select(func.count()).select_from(_A)).scalar_one()
        users = scalar(
            select(
                func.count(),
                func.count(case((and_(_U.c.locked_until.is_not(None), _U.c.locked_until > now), 1))),
                func.count(_U.c.disabled_at),
            ).select_from(_U)
        ).one()
        keys = scalar(select(func.count(), func.count(_K.c.revoked_at)).select_from(_K)).one()
        dead_hooks = scalar(
            select(func.count())
            .select_from(_O)
            .where(_O.c.kind == OutboxKind.NOTIFY_DOSSIER.value, _O.c.state == OutboxState.DEAD.value)
        ).scalar_one()
        alerts = scalar(
            select(func.count()).select_from(t.alerts).where(t.alerts.c.acknowledged_at.is_(None))
        ).scalar_one()
        return AdminCounts(
            agencies=agencies,
            users=users[0],
            users_locked=users[1],
            users_disabled=users[2],
            keys_active=keys[0] - keys[1],
            keys_revoked=keys[1],
            outbox=self.outbox_counts(),
            webhooks_dead=dead_hooks,
            alerts_open=alerts,
        )

    def outbox_counts(self, *, kind: OutboxKind | None = None, agency_id: str | None = None) -> OutboxCounts:
        retrying = and_(_O.c.state == OutboxState.PENDING.value, _O.c.attempts > 0)
        view = case((retrying, "retrying"), else_=_O.c.state)
        q = select(view, func.count()).select_from(_O).group_by(view)
        q = self._scope(q, kind=kind, agency_id=agency_id)
        found = {state: n for state, n in self.conn.execute(q).all()}
        return OutboxCounts(**{k: int(found.get(k, 0)) for k in ("pending", "retrying", "in_flight", "dead", "done")})

    # -- the outbox ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _scope(q: Any, *, kind: OutboxKind | None, agency_id: str | None) -> Any:
        if kind is not None:
            q = q.where(_O.c.kind == kind.value)
        if agency_id is not None:
            q = q.where(_O.c.consignment_id.in_(select(_C.c.id).where(_C.c.agency_id == agency_id)))
        return q

    def outbox(
        self,
        *,
        view: OutboxView,
        kind: OutboxKind | None = None,
        agency_id: str | None = None,
        ids: Sequence[int] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[OutboxEntry], int]:
        """One page of outbox rows in a view (dead first, then by id), and how many there are in all."""
        where = _view_filter(view)
        count = self._scope(select(func.count()).select_from(_O).where(where), kind=kind, agency_id=agency_id)
        q = (
            select(
                _O.c.id,
                _O.c.kind,
                _O.c.state,
                _O.c.attempts,
                _O.c.next_attempt_at,
                _O.c.created_at,
                _O.c.completed_at,
                _O.c.last_error,
                _O.c.consignment_id,
                _C.c.tracking_code,
                _A.c.code.label("agency_code"),
                # The item's own personal strings, masked in its error text (a courier may echo them back).
                *_PERSONAL,
            )
            .select_from(_O.outerjoin(_C, _C.c.id == _O.c.consignment_id).outerjoin(_A, _A.c.id == _C.c.agency_id))
            .where(where)
        )
        q = self._scope(q, kind=kind, agency_id=agency_id)
        if ids is not None:
            q = q.where(_O.c.id.in_(list(ids)))
            count = count.where(_O.c.id.in_(list(ids)))
        dead_first = case((_O.c.state == OutboxState.DEAD.value, 0), else_=1)
        q = q.order_by(dead_first, _O.c.id.desc() if view == OutboxView.DONE else _O.c.id).offset(offset).limit(limit)
        rows = [
            OutboxEntry(
                id=r["id"],
                kind=OutboxKind(r["kind"]),
                state=OutboxState(r["state"]),
                attempts=r["attempts"],
                next_attempt_at=r["next_attempt_at"],
                created_at=r["created_at"],
                completed_at=r["completed_at"],
                last_error=scrub_error(r["last_error"], known=[r[c.name] for c in _PERSONAL]),
                consignment_id=r["consignment_id"],
                tracking_code=r["tracking_code"],
                agency_code=r["agency_code"],
            )
            for r in self.conn.execute(q).mappings()
        ]
        return rows, int(self.conn.execute(count).scalar_one())

    def personal_strings(self, consignment_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Per consignment, the personal strings its outbox errors must not show (``scrub_error(known=…)``)."""
        wanted = sorted({i for i in consignment_ids if i})
        if not wanted:
            return {}
        q = select(_C.c.id, *_PERSONAL).where(_C.c.id.in_(wanted))
        return {r[0]: tuple(v for v in r[1:] if v) for r in self.conn.execute(q).all()}

    def requeue_dead(self, ids: Sequence[int], *, now: datetime, exclude_kind: OutboxKind | None = None) -> list[int]:
        """Dead rows back to pending (attempts reset, due now). Only rows still dead change, so a second replay of
        the same rows, or two administrators at once, re-queue each row exactly once. Returns the ids changed."""
        if not ids:
            return []
        q = update(_O).where(_O.c.id.in_(list(ids)), _O.c.state == OutboxState.DEAD.value)
        if exclude_kind is not None:
            q = q.where(_O.c.kind != exclude_kind.value)
        q = q.values(
            state=OutboxState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            last_error=None,
            completed_at=None,
        ).returning(_O.c.id)
        return sorted(self.conn.execute(q).scalars())

    def set_payloads(self, payloads: Mapping[int, dict[str, Any]]) -> None:
        """Replace the payload of each given outbox row (a replayed booking is marked to look its order up first)."""
        for item_id, payload in payloads.items():
            self.conn.execute(update(_O).where(_O.c.id == item_id).values(payload=payload))

    def requeue_sms(self, message_ids: Sequence[str], *, at: datetime) -> int:
        """Failed texts whose outbox row is being replayed go back to queued, so the handler sends them again (it
        re-checks the sending hours, the agency's settings and whether the text is still current)."""
        if not message_ids:
            return 0
        m = t.sms_messages
        res = self.conn.execute(
            update(m)
            .where(m.c.id.in_(list(message_ids)), m.c.status == SmsStatus.FAILED.value)
            .values(status=SmsStatus.QUEUED.value, scheduled_at=at)
        )
        return res.rowcount

    # -- API keys -----------------------------------------------------------------------------------------------------

    def keys(self, *, agency_id: str | None = None) -> list[KeyListing]:
        """Every key (of one agency, or all), with its last use: the latest consignment it created or Idempotency-Key
        it sent. Keys are not stamped on each request, so a key used only to read shows no last use."""
        made = (
            select(_C.c.api_key_id.label("key_id"), func.max(_C.c.created_at).label("at"))
            .where(_C.c.api_key_id.is_not(None))
            .group_by(_C.c.api_key_id)
            .subquery()
        )
        i = t.idempotency_keys
        sent = (
            select(i.c.principal_id.label("key_id"), func.max(i.c.created_at).label("at"))
            .group_by(i.c.principal_id)
            .subquery()
        )
        q = (
            select(_K, _A.c.code.label("agency_code"), made.c.at.label("made_at"), sent.c.at.label("sent_at"))
            .select_from(
                _K.join(_A, _A.c.id == _K.c.agency_id)
                .outerjoin(made, made.c.key_id == _K.c.id)
                .outerjoin(sent, sent.c.key_id == _K.c.id)
            )
            .order_by(_A.c.code, _K.c.revoked_at.is_not(None), _K.c.created_at)
        )
        if agency_id is not None:
            q = q.where(_K.c.agency_id == agency_id)
        out = []
        for r in self.conn.execute(q).mappings():
            key = ApiKey(**{c.name: r[c.name] for c in _K.columns})
            used = [x for x in (r["made_at"], r["sent_at"]) if x is not None]
            out.append(KeyListing(key=key, agency_code=r["agency_code"], last_used_at=max(used) if used else None))
        return out

    def revoke_key(self, key_id: str, *, at: datetime) -> bool:
        res = self.conn.execute(update(_K).where(_K.c.id == key_id, _K.c.revoked_at.is_(None)).values(revoked_at=at))
        return res.rowcount == 1

    def set_callback_url(self, key_id: str, url: str | None) -> bool:
        """A new callback URL (or none); a new address also lifts a 410 Gone from the old one."""
        res = self.conn.execute(update(_K).where(_K.c.id == key_id).values(callback_url=url, callback_disabled_at=None))
        return res.rowcount == 1

    # -- agencies -----------------------------------------------------------------------------------------------------

    def save_agency(self, agency: Agency) -> None:
        self.conn.execute(
            update(_A)
            .where(_A.c.id == agency.id)
            .values(
                name=agency.name,
                phone=agency.phone,
                address_line=agency.address.line,
                ward_code=agency.address.ward_code,
                province_code=agency.address.province_code,
            )
        )

    def audit_recent(self, limit: int = 10) -> list[AuditEntry]:
        """The latest entries of the audit log, newest first."""
        a = t.audit_log
        q = select(a).order_by(a.c.id.desc()).limit(limit)
        return [
            AuditEntry(
                id=r["id"], at=r["at"], actor=r["actor"], action=r["action"], subject=r["subject"], details=r["details"]
            )
            for r in self.conn.execute(q).mappings()
        ]
