"""SpeedSMS (speedsms.vn): ``POST {base}/index.php/sms/send`` with the access token as HTTP Basic ``token:x``.

Request (JSON): ``to`` — a list of numbers (``84912345678``, the form SpeedSMS's samples use), ``content``,
``sms_type`` — 3 (our own registered brandname, in ``sender``) when a brandname is configured, else 4 (SpeedSMS's
default customer-care brandname, ``sender`` "Notify"), ``sender``.

Answer ``{"status": "success", "code": "00", "data": {"tranId", "totalSMS", "totalPrice", "invalidPhone": []}}``, or
``{"status": "error", "code", "message"}`` with the codes SpeedSMS documents (speedsms.vn/sms-api-service):

- transient (an account problem a person can fix, or theirs): ``007`` IP locked, ``008`` account blocked, ``009``
  account not allowed to use the API, ``300`` balance too low, ``500`` internal error;
- permanent: ``101`` invalid or missing parameters, ``105`` invalid number (also a success listing our number in
  ``invalidPhone``), ``110`` encoding not supported, ``113`` content too long, and any code not listed here.

SpeedSMS takes no request id, so an answer lost after the request went out (read timeout, cut connection, garbled
answer) is **not** retried: the message is marked failed "outcome unknown" rather than risk sending it twice.
Connection failures before sending, HTTP 429 and 5xx are retried.

There is no sandbox: ``POSTAL_BRIDGE_SMS_SANDBOX`` must be off to use SpeedSMS (checked at start-up).

Delivery reports (configured once in SpeedSMS's dashboard as ``<PUBLIC_BASE_URL>/webhooks/sms/speedsms/<secret>``):
a JSON POST ``{"type": "report", "tranId", "phone", "status"}`` — status 0 delivered, 1–63 a temporary failure (still
trying), 64 and above failed; see ``tests/fixtures/sms/NOTES.md``.
"""

from __future__ import annotations

import json

import requests

from adapters.sms.base import SmsHttp, e164_from, international
from postal_bridge.domain.sms import (
    SmsMessage,
    SmsPermanentError,
    SmsReport,
    SmsReportInvalid,
    SmsReportRequest,
    SmsSendResult,
    SmsStatus,
    SmsTransientError,
)

DEFAULT_BASE_URL = "https://api.speedsms.vn"
SEND_PATH = "/index.php/sms/send"
TYPE_BRANDNAME, TYPE_DEFAULT_BRANDNAME = 3, 4
DEFAULT_SENDER = "Notify"

TRANSIENT: dict[str, str] = {
    "007": "this server's IP address is locked",
    "008": "the account is blocked",
    "009": "the account may not use the API",
    "300": "balance too low",
    "500": "SpeedSMS internal error",
}
PERMANENT: dict[str, str] = {
    "101": "invalid or missing parameters",
    "105": "invalid phone number",
    "110": "content encoding not supported",
    "113": "content too long",
}
FAILED_FROM = 64  # report status: 0 delivered, 1–63 temporary failure, ≥ 64 failed


class SpeedSmsGateway:
    name = "speedsms"

    def __init__(
        self,
        *,
        access_token: str,
        brandname: str = "",
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._token = access_token
        self.brandname = brandname
        self.http = SmsHttp(
            self.name, base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, session=session
        )

    def __repr__(self) -> str:  # never the token
        return f"SpeedSmsGateway(base_url={self.http.base_url!r}, brandname={self.brandname!r})"

    def build_request(self, message: SmsMessage) -> dict:
        return {
            "to": [international(message.phone)],
            "content": message.text,
            "sms_type": TYPE_BRANDNAME if self.brandname else TYPE_DEFAULT_BRANDNAME,
            "sender": self.brandname or DEFAULT_SENDER,
        }

    def send(self, message: SmsMessage) -> SmsSendResult:
        answer = self.http.post_json(SEND_PATH, self.build_request(message), idempotent=False, auth=(self._token, "x"))
        if answer.status in (401, 403):
            raise SmsTransientError(self.name, f"HTTP {answer.status}: access token refused", code=str(answer.status))
        data = answer.data if isinstance(answer.data, dict) else {}
        status = str(data.get("status", "")).lower()
        code = str(data.get("code", "")).strip()
        if status == "success":
            body = data.get("data") if isinstance(data.get("data"), dict) else {}
            invalid = {e164_from(str(p)) for p in body.get("invalidPhone") or []}
            if message.phone in invalid:
                raise SmsPermanentError(self.name, "SpeedSMS lists the number as invalid", code="105")
            tran_id = body.get("tranId")
            return SmsSendResult(gateway=self.name, gateway_message_id=str(tran_id) if tran_id is not None else None)
        detail = str(data.get("message") or "").strip()
        reason = f" ({detail[:120]})" if detail else ""
        if code in TRANSIENT:
            raise SmsTransientError(self.name, f"code {code}: {TRANSIENT[code]}{reason}", code=code)
        if not code and not 200 <= answer.status < 300:
            raise SmsPermanentError(self.name, f"HTTP {answer.status}", code=str(answer.status))
        described = PERMANENT.get(code, "refused")
        raise SmsPermanentError(self.name, f"code {code or '?'}: {described}{reason}", code=code or None)

    def parse_reports(self, request: SmsReportRequest) -> list[SmsReport]:
        try:
            data = json.loads(request.body or b"")
        except ValueError:
            raise SmsReportInvalid("a SpeedSMS report is a JSON object") from None
        items = data if isinstance(data, list) else [data]
        reports = []
        for item in items:
            if not isinstance(item, dict):
                raise SmsReportInvalid("a SpeedSMS report is a JSON object")
            if str(item.get("type", "report")) != "report":
                continue  # e.g. "incoming": a reply from a citizen; nothing to do with our messages
            tran_id = item.get("tranId")
            try:
                value = int(item.get("status"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise SmsReportInvalid("status must be a number") from None
            if tran_id in (None, ""):
                raise SmsReportInvalid("tranId is missing")
            if value == 0:
                status, error = SmsStatus.DELIVERED, None
            elif value >= FAILED_FROM:
                status, error = SmsStatus.FAILED, f"not delivered (SpeedSMS status {value})"
            else:
                status, error = SmsStatus.SENT, None
            reports.append(SmsReport(status=status, gateway_message_id=str(tran_id), error=error))
        return reports
