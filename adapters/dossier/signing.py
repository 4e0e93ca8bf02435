"""Standard Webhooks signing and verification, as pure functions.

A message is signed as ``v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}." + body)>`` where ``key`` is the
base64-decoded part of the endpoint secret after ``whsec_``. Receivers read three headers: ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` (which may hold several space-separated signatures, e.g. during a
secret rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from postal_bridge.domain.webhooks import new_webhook_secret

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class SignatureError(ValueError):
    """The message could not be verified; the text never contains a secret or the body."""


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes (the domain owns the format)."""
    return new_webhook_secret()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _digest(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message (a single ``v1,…`` signature)."""
    return f"{SIGNATURE_VERSION},{_digest(_key(secret), message_id, int(timestamp), body)}"


def sign_all(secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value signed with each secret in turn, space-separated (rotation overlap)."""
    signatures = [sign(secret, message_id, timestamp, body) for secret in secrets]
    if not signatures:
        raise ValueError("no webhook secret to sign with")
    return " ".join(signatures)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _signatures(header: str) -> Iterable[str]:
    for part in header.split():
        version, sep, signature = part.partition(",")
        if sep and version == SIGNATURE_VERSION and signature:
            yield signature


def verify(
    secrets: list[str],
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Check a received message against any of ``secrets``; return its message id or raise :class:`SignatureError`.

    Header names are matched case-insensitively. The timestamp must lie within ``tolerance`` seconds of ``now`` in
    either direction. Any ``v1`` signature in the header matching any secret is accepted.
    """
    message_id = _header(headers, HEADER_ID)
    raw_timestamp = _header(headers, HEADER_TIMESTAMP)
    signature_header = _header(headers, HEADER_SIGNATURE)
    if not message_id or not raw_timestamp or not signature_header:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(raw_timestamp.strip())
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    if abs(int(now) - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance window")

    received = [s.encode("ascii", "replace") for s in _signatures(signature_header)]
    if not received:
        raise SignatureError("no v1 signature in webhook-signature header")
    matched = False
    for secret in secrets:
        try:
            key = _key(secret)
        except ValueError:
            continue
        expected = _digest(key, message_id, timestamp, body).encode("ascii")
        for candidate in received:
            # No early exit: keep the work independent of which signature matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no matching signature")
    return message_id
