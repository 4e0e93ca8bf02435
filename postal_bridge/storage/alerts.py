"""Storage for alerts for people (dead-lettered callbacks, disabled endpoints, unknown courier codes), and the webhook
administration queries they lead to: dead callbacks in the outbox, disabling, re-enabling and rotating endpoints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from postal_bridge.domain.alerts import Alert, WebhookRecord
from postal_bridge.domain.model import OutboxKind, OutboxState
from postal_bridge.storage import tables as t

_A = t.alerts
_K = t.api_keys
_O = t.outbox
_C = t.consignments


class SqlAlertRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- alerts -------------------------------------------------------------------------------------------------------

    def raise_once(self, alert: Alert) -> bool:
        existing = self.conn.execute(
            select(_A.c.id)
            .where(_A.c.kind == alert.kind, _A.c.subject == alert.subject, _A.c.acknowledged_at.is_(None))
            .limit(1)
        ).scalar()
        if existing is not None:
            alert.id = existing
            return False
        res = self.conn.execute(
            insert(_A).values(
                at=alert.at,
                kind=alert.kind,
                subject=alert.subject[:100],
                message=alert.message,
                acknowledged_at=alert.acknowledged_at,
            )
        )
        alert.id = res.inserted_primary_key[0]
        return True

    def list(self, *, kind: str | None = None, subject: str | None = None, open_only: bool = False) -> list[Alert]:
        q = select(_A).order_by(_A.c.id)
        if kind is not None:
            q = q.where(_A.c.kind == kind)
        if subject is not None:
            q = q.where(_A.c.subject == subject)
        if open_only:
            q = q.where(_A.c.acknowledged_at.is_(None))
        return [_alert(r) for r in self.conn.execute(q).mappings()]

    def acknowledge(self, alert_id: int, at: datetime) -> bool:
        res = self.conn.execute(
            update(_A).where(_A.c.id == alert_id, _A.c.acknowledged_at.is_(None)).values(acknowledged_at=at)
        )
        return res.rowcount == 1

    # -- endpoints ----------------------------------------------------------------------------------------------------

    def disable_callback(self, api_key_id: str, at: datetime) -> bool:
        res = self.conn.execute(
            update(_K).where(_K.c.id == api_key_id, _K.c.callback_disabled_at.is_(None)).values(callback_disabled_at=at)
        )
        return res.rowcount == 1

    def enable_callback(self, api_key_id: str) -> bool:
        res = self.conn.execute(
            update(_K)
            .where(_K.c.id == api_key_id, _K.c.callback_disabled_at.is_not(None))
            .values(callback_disabled_at=None)
        )
        return res.rowcount == 1

    def rotate_webhook_secret(self, api_key_id: str, *, new_secret: str, at: datetime) -> bool:
        res = self.conn.execute(
            update(_K)
            .where(_K.c.id == api_key_id)
            .values(previous_webhook_secret=_K.c.webhook_secret, webhook_secret=new_secret, secret_rotated_at=at)
        )
        return res.rowcount == 1

    def retire_previous_secret(self, api_key_id: str) -> None:
        self.conn.execute(update(_K).where(_K.c.id == api_key_id).values(previous_webhook_secret=None))

    # -- callbacks in the outbox --------------------------------------------------------------------------------------

    def webhooks(
        self,
        *,
        state: str | None = None,
        ids: Sequence[int] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        limit: int | None = 500,
    ) -> list[WebhookRecord]:
        q = select(_O).where(_O.c.kind == OutboxKind.NOTIFY_DOSSIER.value).order_by(_O.c.id)
        if limit is not None:
            q = q.limit(limit)
        if state is not None:
            q = q.where(_O.c.state == state)
        if ids is not None:
            q = q.where(_O.c.id.in_(list(ids)))
        if since is not None:
            q = q.where(_O.c.created_at >= since)
        if until is not None:
            q = q.where(_O.c.created_at < until)
        if agency_id is not None:
            q = q.where(_O.c.consignment_id.in_(select(_C.c.id).where(_C.c.agency_id == agency_id)))
        return [_webhook(r) for r in self.conn.execute(q).mappings()]

    def requeue_webhooks(self, ids: Sequence[int], *, now: datetime) -> list[int]:
        """Dead callbacks among ``ids`` back to pending; the ids that changed (a row already re-queued by a replay
        that committed first is not among them)."""
        if not ids:
            return []
        res = self.conn.execute(
            update(_O)
            .where(
                _O.c.id.in_(list(ids)),
                _O.c.kind == OutboxKind.NOTIFY_DOSSIER.value,
                _O.c.state == OutboxState.DEAD.value,
            )
            .values(
                state=OutboxState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                last_error=None,
                completed_at=None,
            )
            .returning(_O.c.id)
        )
        return sorted(res.scalars())


def _alert(r: Any) -> Alert:
    return Alert(
        id=r["id"],
        at=r["at"],
        kind=r["kind"],
        subject=r["subject"],
        message=r["message"],
        acknowledged_at=r["acknowledged_at"],
    )


def _webhook(r: Any) -> WebhookRecord:
    payload = dict(r["payload"] or {})
    try:
        body = json.loads(payload.get("body") or "{}")
    except ValueError:
        body = {}
    data = body.get("data") if isinstance(body, dict) else None
    return WebhookRecord(
        id=r["id"],
        consignment_id=r["consignment_id"],
        api_key_id=payload.get("api_key_id"),
        message_id=payload.get("message_id"),
        event_type=body.get("type") if isinstance(body, dict) else None,
        status=data.get("status") if isinstance(data, dict) else None,
        state=r["state"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        completed_at=r["completed_at"],
    )
