"""Outbound callbacks to the dossier system: what is sent and what came back, as plain data.

Signing follows Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`` with the
key taken from the endpoint secret ``whsec_<base64 bytes>``. During a secret rotation the header carries two
signatures, the new secret's first (``v1,<new> v1,<old>``), so a receiver still holding the old secret keeps
verifying until the overlap ends.

``WEBHOOK_EVENTS`` documents every event type with a JSON example, including the one-stop (một cửa) status code the
event implies, and is rendered into the OpenAPI description by :func:`webhook_events_markdown`.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The previous secret keeps signing (as a second signature) for this long after a rotation.
SECRET_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one message; ``message_id`` stays the same across retries.

    ``previous_secrets`` also sign the message while a secret rotation overlaps (Standard Webhooks sends one
    space-separated signature per secret).
    """

    url: str
    secret: str  # "whsec_" + base64 of the key bytes
    message_id: str
    timestamp: int  # unix seconds of this attempt
    body: bytes
    previous_secrets: tuple[str, ...] = ()

    @property
    def signing_secrets(self) -> tuple[str, ...]:
        """Every secret to sign with, the current one first."""
        return (self.secret, *self.previous_secrets)


@dataclass(frozen=True)
class DeliveryResult:
    """How the receiver answered. ``ok`` only for 2xx; redirects are failures and are never followed."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: int | None = None
    gone: bool = False  # 410: the receiver asks us to stop (the endpoint gets disabled)


def new_webhook_secret() -> str:
    """A fresh endpoint secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def previous_secret_valid_until(rotated_at: datetime | None, overlap: timedelta = SECRET_OVERLAP) -> datetime | None:
    """When the previous secret stops signing; ``None`` if there was no rotation."""
    return rotated_at + overlap if rotated_at is not None else None


def signing_secrets(
    current: str,
    previous: str | None,
    rotated_at: datetime | None,
    now: datetime,
    overlap: timedelta = SECRET_OVERLAP,
) -> tuple[str, ...]:
    """The secrets a callback sent at ``now`` is signed with: the current one, plus the previous during the overlap."""
    until = previous_secret_valid_until(rotated_at, overlap)
    if previous and until is not None and now < until and previous != current:
        return (current, previous)
    return (current,)


# --------------------------------------------------------------------------------------------------------------------
# Event types and the one-stop status they imply

STATUS_CHANGED = "consignment.status_changed"
DEADLINE_BREACHED = "consignment.deadline_breached"  # sent by services/sla.py

# One-stop (Hệ thống thông tin một cửa điện tử) dossier status codes the bridge may imply (domain.md §3.5).
ONE_STOP_RESULT_RETURNED = 10  # "Đã trả kết quả": the result reached the citizen


def one_stop_status(kind: str, status: str) -> int | None:
    """The one-stop status code an event implies, or ``None`` when it implies none.

    Only a *delivered return* (the citizen received the result) is status 10. A result sent back to the agency
    (``returned_to_agency``) was **not** handed to the citizen and never implies 10; a pickup handed to the agency
    carries the legal submission time instead (see :func:`legal_submission_time`).
    """
    if kind == "return" and status == "delivered":
        return ONE_STOP_RESULT_RETURNED
    return None


def legal_submission_time(kind: str, status: str, occurred_at: datetime) -> datetime | None:
    """A pickup handed to the agency is lawfully submitted when the Biên bản giao nhận is signed (QĐ 45 Art 7.4)."""
    if kind == "pickup" and status == "delivered":
        return occurred_at
    return None


def _example(kind: str, status: str, previous: str | None, at: str, tracking: str | None) -> dict[str, Any]:
    occurred = datetime.fromisoformat(at)
    submitted = legal_submission_time(kind, status, occurred)
    return {
        "type": STATUS_CHANGED,
        "timestamp": at,
        "data": {
            "consignment_id": "5b0c7e0e-3f57-4a53-9c1e-2d1f0c8a9b7d",
            "dossier_code": "000.00.12.H56-261115-0007",
            "kind": kind,
            "status": status,
            "previous_status": previous,
            "occurred_at": at,
            "tracking_code": tracking,
            "one_stop_status": one_stop_status(kind, status),
            "legal_submission_time": submitted.isoformat() if submitted else None,
        },
    }


@dataclass(frozen=True)
class WebhookEventDoc:
    """One documented event type: what it means and example bodies of its notable cases (caption → body)."""

    type: str
    title: str
    description: str
    examples: tuple[tuple[str, dict[str, Any]], ...]

    @property
    def example(self) -> dict[str, Any]:
        return self.examples[0][1]


WEBHOOK_EVENTS: dict[str, WebhookEventDoc] = {
    STATUS_CHANGED: WebhookEventDoc(
        type=STATUS_CHANGED,
        title="A consignment changed status",
        description=(
            "Sent once per status change, in order per consignment, at least once (deduplicate on `webhook-id`). "
            "The body carries ids and statuses only, never personal data. `one_stop_status` is the one-stop dossier "
            "status the change implies, or null: **10** (Đã trả kết quả) only when a `return` is `delivered` to the "
            "citizen; a result that came back to the agency (`returned_to_agency`) never implies 10. "
            "`legal_submission_time` is set when a `pickup` is `delivered` (handed to the agency, Biên bản giao nhận "
            "signed): the dossier counts as submitted at that moment (QĐ 45/2016 Art 7.4); null otherwise."
        ),
        examples=(
            (
                "In transit (no one-stop status implied)",
                _example("return", "in_transit", "picked_up", "2026-11-20T09:15:00+00:00", "EB123456785VN"),
            ),
            (
                "A result delivered to the citizen: one-stop status 10",
                _example("return", "delivered", "out_for_delivery", "2026-11-21T03:40:00+00:00", "EB123456785VN"),
            ),
            (
                "A picked-up dossier handed to the agency: legal submission time",
                _example("pickup", "delivered", "in_transit", "2026-11-18T02:05:00+00:00", "EB123456799VN"),
            ),
            (
                "An undeliverable result back at the agency: no status 10",
                _example(
                    "return", "returned_to_agency", "returning_to_agency", "2026-11-27T08:00:00+00:00", "EB123456785VN"
                ),
            ),
        ),
    ),
    DEADLINE_BREACHED: WebhookEventDoc(
        type=DEADLINE_BREACHED,
        title="A legal or service deadline was missed",
        description=(
            "Sent once per breach of a consignment (in order with its status changes): `breach` is one of "
            "`transit_overdue` (J + n passed), `result_overdue` (appointment date passed without the result), "
            "`invitation_overdue` (two invitations made: the result must go back to the agency), `stale_custody`, "
            "`complaint_overdue`, `compensation_overdue`; `due_at` is when the deadline ended. It implies no one-stop "
            "status change."
        ),
        examples=(
            (
                "Transit time J + n exceeded",
                {
                    "type": DEADLINE_BREACHED,
                    "timestamp": "2026-11-24T17:00:00+00:00",
                    "data": {
                        "consignment_id": "5b0c7e0e-3f57-4a53-9c1e-2d1f0c8a9b7d",
                        "dossier_code": "000.00.12.H56-261115-0007",
                        "kind": "return",
                        "status": "in_transit",
                        "breach": "transit_overdue",
                        "due_at": "2026-11-24T17:00:00+00:00",
                        "detected_at": "2026-11-24T17:00:00+00:00",
                    },
                },
            ),
        ),
    ),
}


def webhook_events_markdown() -> str:
    """``WEBHOOK_EVENTS`` as Markdown for the OpenAPI description: headers, then each event with its JSON example."""
    lines = [
        "## Callbacks to the dossier system",
        "",
        "Every callback is a `POST` of `application/json` to the API key's callback URL, signed the Standard Webhooks "
        "way: headers `webhook-id` (stable across retries: deduplicate on it), `webhook-timestamp` (unix seconds) and "
        "`webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`; two space-separated signatures during "
        "a secret rotation). Answer 2xx to acknowledge. Failures are retried with backoff for about three days "
        "(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h), then dead-lettered and replayable; 3xx is a failure "
        "and is not followed; 429/502/503/504 may send `Retry-After`; **410 Gone disables the endpoint**.",
        "",
    ]
    for doc in WEBHOOK_EVENTS.values():
        lines += [f"### `{doc.type}`: {doc.title}", "", doc.description, ""]
        for caption, body in doc.examples:
            lines += [f"{caption}:", "", "```json", json.dumps(body, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)
