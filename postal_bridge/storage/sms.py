"""Messages to citizens (``sms_messages``) and each agency's SMS settings (``sms_settings``).

Status changes are single conditional UPDATEs, so a worker marking a message sent and a delivery report marking it
delivered never overwrite each other, whatever their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.sms import SmsMessage, SmsSettings, SmsStatus
from postal_bridge.storage import tables as t

_M = t.sms_messages
_S = t.sms_settings
_Q = SmsStatus.QUEUED.value
_LIVE = (SmsStatus.QUEUED.value, SmsStatus.SENT.value)


class SqlSmsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, message: SmsMessage) -> bool:
        if message.dedupe_key and self.has_dedupe_key(message.dedupe_key):
            return False
        try:
            with self.conn.begin_nested():  # a lost race on the unique key must not abort the caller's transaction
                self.conn.execute(insert(_M).values(**_row(message)))
        except IntegrityError:
            return False
        return True

    def get(self, message_id: str) -> SmsMessage | None:
        row = self.conn.execute(select(_M).where(_M.c.id == message_id)).mappings().first()
        return _message(row) if row else None

    def by_gateway_id(self, gateway: str, gateway_message_id: str) -> SmsMessage | None:
        row = (
            self.conn.execute(
                select(_M).where(_M.c.gateway == gateway, _M.c.gateway_message_id == gateway_message_id).limit(1)
            )
            .mappings()
            .first()
        )
        return _message(row) if row else None

    def has_dedupe_key(self, dedupe_key: str) -> bool:
        return self.conn.execute(select(_M.c.id).where(_M.c.dedupe_key == dedupe_key)).first() is not None

    def count_recent(self, phone: str, *, since: datetime, exclude_events: Sequence[str]) -> int:
        q = select(func.count()).where(
            _M.c.phone == phone,
            _M.c.created_at >= since,
            _M.c.status != SmsStatus.SKIPPED.value,
            _M.c.event.not_in(list(exclude_events)),
        )
        return self.conn.execute(q).scalar_one()

    def mark_sent(self, message_id: str, *, gateway: str, gateway_message_id: str | None, at: datetime) -> None:
        self.conn.execute(
            update(_M)
            .where(_M.c.id == message_id)
            .values(
                status=case((_M.c.status == _Q, SmsStatus.SENT.value), else_=_M.c.status),
                gateway=gateway,
                gateway_message_id=gateway_message_id,
                sent_at=at,
                error=None,
            )
        )

    def settle(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        res = self.conn.execute(
            update(_M)
            .where(_M.c.id == message_id, _M.c.status == _Q)
            .values(status=status.value, error=(error or "")[:500] or None)
        )
        return res.rowcount == 1

    def reschedule(self, message_id: str, *, at: datetime, error: str | None = None) -> None:
        values: dict[str, Any] = {"scheduled_at": at}
        if error is not None:
            values["error"] = error[:500]
        self.conn.execute(update(_M).where(_M.c.id == message_id, _M.c.status == _Q).values(**values))

    def apply_report(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        values: dict[str, Any] = {"status": status.value}
        if status == SmsStatus.DELIVERED:
            values["delivered_at"] = at
        else:
            values["error"] = (error or "reported undelivered")[:500]
        res = self.conn.execute(update(_M).where(_M.c.id == message_id, _M.c.status.in_(_LIVE)).values(**values))
        return res.rowcount == 1

    def for_consignment(self, consignment_id: str) -> list[SmsMessage]:
        rows = self.conn.execute(
            select(_M).where(_M.c.consignment_id == consignment_id).order_by(_M.c.created_at, _M.c.id)
        ).mappings()
        return [_message(r) for r in rows]

    def settings(self, agency_id: str) -> SmsSettings | None:
        row = self.conn.execute(select(_S).where(_S.c.agency_id == agency_id)).mappings().first()
        return SmsSettings(**row) if row else None

    def put_settings(self, settings: SmsSettings) -> None:
        self.conn.execute(_S.delete().where(_S.c.agency_id == settings.agency_id))
        self.conn.execute(insert(_S).values(**settings.__dict__))


def _row(m: SmsMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "agency_id": m.agency_id,
        "consignment_id": m.consignment_id,
        "event": m.event,
        "phone": m.phone,
        "text": m.text,
        "parts": m.parts,
        "dedupe_key": m.dedupe_key,
        "status": m.status.value,
        "created_at": m.created_at,
        "scheduled_at": m.scheduled_at,
        "sent_at": m.sent_at,
        "delivered_at": m.delivered_at,
        "gateway": m.gateway,
        "gateway_message_id": m.gateway_message_id,
        "error": m.error,
    }


def _message(r: Any) -> SmsMessage:
    data = dict(r)
    data["status"] = SmsStatus(data["status"])
    return SmsMessage(**data)
