"""What the SMS gateways share: phone formats, and one JSON POST with transport failures turned into typed errors.

Secrets never leave this module in a message: errors name the exception type or the HTTP status only, never the
URL, the headers or the body (``requests`` puts the URL in its own messages, so they are dropped: ``from None``).

A failure after the request may have reached the gateway (read timeout, a cut or garbled answer) is retried only
when the gateway deduplicates by our request id (``idempotent=True``, eSMS ``RequestId``); otherwise it is a
permanent "outcome unknown" — sending a citizen the same text twice is worse than one message short, and the
message is marked failed for staff to see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from postal_bridge.domain.sms import SmsPermanentError, SmsTransientError

MAX_BODY = 256 * 1024


def national(e164: str) -> str:
    """``+84912345678`` → ``0912345678``."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def international(e164: str) -> str:
    """``+84912345678`` → ``84912345678``."""
    return e164.lstrip("+")


def e164_from(raw: str) -> str:
    """A Vietnamese number as a gateway reports it (``0912…``, ``84912…``, ``+84912…``) → E.164."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if digits.startswith("84"):
        return "+" + digits
    if digits.startswith("0"):
        return "+84" + digits[1:]
    return "+" + digits if digits else ""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    data: Any  # parsed JSON, or None when the body is not JSON


class SmsHttp:
    def __init__(
        self,
        gateway: str,
        base_url: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()

    def post_json(
        self, path: str, body: dict[str, Any], *, idempotent: bool, auth: tuple[str, str] | None = None
    ) -> HttpAnswer:
        unknown = SmsTransientError if idempotent else SmsPermanentError
        try:
            resp = self.session.post(
                f"{self.base_url}/{path.lstrip('/')}",
                json=body,
                auth=auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
            content = resp.content[:MAX_BODY]
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise SmsTransientError(self.gateway, f"cannot connect ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise SmsTransientError(self.gateway, f"cannot connect ({type(exc).__name__})") from None
            raise unknown(self.gateway, _unknown(f"connection broken ({type(exc).__name__})", idempotent)) from None
        except requests.Timeout:
            raise unknown(self.gateway, _unknown("no answer within the read timeout", idempotent)) from None
        except requests.RequestException as exc:
            raise unknown(self.gateway, _unknown(f"transport error ({type(exc).__name__})", idempotent)) from None
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status_code == 429:
            retry = headers.get("retry-after", "")
            raise SmsTransientError(
                self.gateway, "rate limited (HTTP 429)", code="429", retry_after=int(retry) if retry.isdigit() else None
            )
        if resp.status_code >= 500:
            raise SmsTransientError(self.gateway, f"HTTP {resp.status_code}", code=str(resp.status_code))
        data = None
        if content:
            try:
                data = json.loads(content)
            except ValueError:
                data = None
        if 200 <= resp.status_code < 300 and not isinstance(data, dict):
            raise unknown(self.gateway, _unknown("malformed answer", idempotent))
        return HttpAnswer(resp.status_code, headers, data)


def _unknown(what: str, idempotent: bool) -> str:
    if idempotent:
        return what
    return f"{what}: the message may or may not have been sent; not retried (no request id to deduplicate on)"


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established (refused, DNS), so the gateway cannot have seen the call."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)
