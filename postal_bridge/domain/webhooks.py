"""Outbound callbacks to the dossier system: what is sent and what came back, as plain data.

Signing follows Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`` with the
key taken from the endpoint secret ``whsec_<base64 bytes>``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one message; ``message_id`` stays the same across retries."""

    url: str
    secret: str  # "whsec_" + base64 of the key bytes
    message_id: str
    timestamp: int  # unix seconds of this attempt
    body: bytes


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
