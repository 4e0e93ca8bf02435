"""A thin HTTP client for courier APIs: timeouts, and transport failures turned into the typed courier errors.

A failure on a *mutating* call after the request may have reached the courier (read timeout, 5xx, a cut or garbled
answer) is ``OutcomeUnknown``: the service must look the order up by reference before trying again. A failure before
anything was sent (connection refused, connect timeout) is ``CarrierUnavailable`` and safe to retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from adapters.carriers.base import CarrierEnv, CarrierUnavailable, OutcomeUnknown, RateLimited

MAX_BODY = 5 * 1024 * 1024


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    content: bytes
    data: Any  # parsed JSON, or None when the body is not JSON

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class CarrierHttp:
    def __init__(self, carrier: str, base_url: str, env: CarrierEnv, session: requests.Session | None = None) -> None:
        self.carrier = carrier
        self.base_url = base_url.rstrip("/")
        self.timeout = (env.connect_timeout, env.read_timeout)
        self.session = session or requests.Session()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        mutating: bool,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect_json: bool = True,
    ) -> HttpResult:
        try:
            resp = self.session.request(
                method,
                self.url(path),
                json=json_body,
                data=form,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
            content = resp.content[:MAX_BODY]
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise CarrierUnavailable(self.carrier, f"cannot connect ({type(exc).__name__})") from None
        except requests.ConnectionError as exc:
            # Refused before sending is safe; a reset after sending may have reached the courier.
            if mutating and not _never_sent(exc):
                raise OutcomeUnknown(self.carrier, f"connection broken ({type(exc).__name__})") from None
            raise CarrierUnavailable(self.carrier, f"connection failed ({type(exc).__name__})") from None
        except requests.Timeout:
            if mutating:
                raise OutcomeUnknown(self.carrier, "no answer within the read timeout") from None
            raise CarrierUnavailable(self.carrier, "no answer within the read timeout") from None
        except requests.RequestException as exc:
            if mutating:
                raise OutcomeUnknown(self.carrier, f"transport error ({type(exc).__name__})") from None
            raise CarrierUnavailable(self.carrier, f"transport error ({type(exc).__name__})") from None

        result_headers = {k.lower(): v for k, v in resp.headers.items()}
        if resp.status_code == 429:
            retry = result_headers.get("retry-after", "")
            raise RateLimited(self.carrier, "rate limited", retry_after=int(retry) if retry.isdigit() else None)
        if resp.status_code >= 500:
            err = OutcomeUnknown if mutating else CarrierUnavailable
            raise err(self.carrier, f"HTTP {resp.status_code}", raw=content[:2000].decode("utf-8", "replace"))
        data = None
        if expect_json and content:
            try:
                data = json.loads(content)
            except ValueError:
                if 200 <= resp.status_code < 300:
                    err = OutcomeUnknown if mutating else CarrierUnavailable
                    raise err(self.carrier, "malformed JSON in a success answer") from None
        return HttpResult(resp.status_code, result_headers, content, data)


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established (refused, DNS), so the courier cannot have seen the call."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)
