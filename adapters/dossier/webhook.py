"""HTTP delivery of signed webhook callbacks to the dossier system.

One :class:`HttpWebhookSender` holds one ``requests.Session`` so connections to the receiver are kept alive. Redirects
are never followed (a 3xx is a failed delivery, so a redirect towards an internal address is never contacted). During
a secret rotation the message carries one signature per secret, the new one first. Error texts name what went wrong
but never contain the endpoint secret, the request body or exception messages (which could echo either).
"""

from __future__ import annotations

from typing import Self

import requests

from adapters.dossier.signing import HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_all
from postal_bridge.domain.webhooks import DeliveryResult, WebhookDelivery

MAX_RESPONSE_BYTES = 64 * 1024
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})


def _retry_after_seconds(value: str | None) -> int | None:
    """``Retry-After`` as delta-seconds; HTTP-date or garbage values are ignored."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        return None
    return int(value)


class HttpWebhookSender:
    """POSTs a :class:`WebhookDelivery` and reports the outcome as a :class:`DeliveryResult`; never raises for I/O."""

    def __init__(
        self,
        connect_timeout: float = 3.0,
        read_timeout: float = 15.0,
        user_agent: str = "postal-bridge-webhooks/1",
    ) -> None:
        self._timeout = (connect_timeout, read_timeout)
        self._user_agent = user_agent
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, delivery: WebhookDelivery) -> DeliveryResult:
        try:
            signature = sign_all(delivery.signing_secrets, delivery.message_id, delivery.timestamp, delivery.body)
        except ValueError:
            return DeliveryResult(ok=False, error="invalid webhook secret (not whsec_ + base64)")
        headers = {
            "content-type": "application/json",
            HEADER_ID: delivery.message_id,
            HEADER_TIMESTAMP: str(int(delivery.timestamp)),
            HEADER_SIGNATURE: signature,
            "user-agent": self._user_agent,
        }
        try:
            response = self._session.post(
                delivery.url,
                data=delivery.body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: no connection within {self._timeout[0]}s")
        except requests.exceptions.Timeout as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: no answer within {self._timeout[1]}s")
        except requests.exceptions.ConnectionError as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: could not reach the receiver")
        except requests.exceptions.RequestException as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: request could not be sent")

        try:
            return self._result(response)
        finally:
            response.close()

    def _result(self, response: requests.Response) -> DeliveryResult:
        status = response.status_code
        self._drain(response)
        if 200 <= status < 300:
            return DeliveryResult(ok=True, status_code=status)
        if 300 <= status < 400:
            return DeliveryResult(ok=False, status_code=status, error=f"HTTP {status}: redirects are not followed")
        if status == 410:
            return DeliveryResult(ok=False, status_code=status, error="HTTP 410: receiver is gone", gone=True)
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = _retry_after_seconds(response.headers.get("retry-after"))
        return DeliveryResult(ok=False, status_code=status, error=f"HTTP {status}", retry_after_seconds=retry_after)

    @staticmethod
    def _drain(response: requests.Response) -> None:
        """Read at most 64 KB of the answer so a short body frees the connection for reuse; never fails."""
        read = 0
        try:
            for chunk in response.iter_content(chunk_size=8192):
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
        except (requests.exceptions.RequestException, OSError):
            pass  # the status line already decided the outcome
