"""Alerts for people, and the webhook dead letters and endpoints they are mostly about.

An alert is a row someone should look at (a dead-lettered callback, an endpoint disabled by ``410 Gone``, …). The
same repository also answers the webhook administration questions (which callbacks are dead, put them back in the
queue, disable/re-enable/rotate an endpoint), because the unit of work offers it as ``uow.alerts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class AlertKind(StrEnum):
    WEBHOOK_DEAD = "webhook_dead"  # a callback gave up after the retry budget (≈ 3 days)
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"  # the receiver answered 410 Gone


@dataclass
class Alert:
    at: datetime
    kind: str
    subject: str  # what it is about, e.g. "api_key:<id>" or "outbox:<id>"
    message: str
    id: int | None = None
    acknowledged_at: datetime | None = None


def api_key_subject(api_key_id: str) -> str:
    return f"api_key:{api_key_id}"


@dataclass(frozen=True)
class WebhookRecord:
    """One callback to the dossier system as the administration sees it (never the secret)."""

    id: int
    consignment_id: str | None
    api_key_id: str | None
    message_id: str | None
    event_type: str | None
    status: str | None  # the consignment status the callback reports
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class AlertRepository(Protocol):
    # -- alerts
    def raise_once(self, alert: Alert) -> bool:
        """Store the alert unless an unacknowledged one of the same kind and subject exists; True when stored."""
        ...

    def list(self, *, kind: str | None = None, subject: str | None = None, open_only: bool = False) -> list[Alert]: ...

    def acknowledge(self, alert_id: int, at: datetime) -> bool: ...

    # -- endpoints (api_keys columns)
    def disable_callback(self, api_key_id: str, at: datetime) -> bool:
        """Mark the key's callback endpoint disabled (410 Gone); False if it already was."""
        ...

    def enable_callback(self, api_key_id: str) -> bool: ...

    def rotate_webhook_secret(self, api_key_id: str, *, new_secret: str, at: datetime) -> bool:
        """The current secret becomes the previous one (rotated at ``at``); ``new_secret`` becomes current."""
        ...

    def retire_previous_secret(self, api_key_id: str) -> None: ...

    # -- callbacks in the outbox
    def webhooks(
        self,
        *,
        state: str | None = None,
        ids: Sequence[int] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        limit: int | None = 500,
    ) -> list[WebhookRecord]: ...

    def requeue_webhooks(self, ids: Sequence[int], *, now: datetime) -> int:
        """Dead callbacks back to pending, attempts reset, due now; payload (message id, body) untouched."""
        ...
