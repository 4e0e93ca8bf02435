"""eSMS.vn (ViHAT), customer-care messages: ``POST {base}/MainService.svc/json/SendMultipleMessage_V4_post_json/``.

Request (JSON, every value a string): ``ApiKey``, ``SecretKey``, ``Phone`` (national form ``0912345678``, the form
eSMS's own callbacks use), ``Content``, ``Brandname``, ``SmsType "2"`` (customer care), ``IsUnicode "0"``,
``Sandbox "1"`` (validated, neither sent nor charged) or ``"0"``, ``RequestId`` (our message id: eSMS refuses a second
request with it, so a retry can never send twice) and, when delivery reports are on, ``CallbackUrl``.

Answer ``{"CodeResult": "100", "SMSID": …}``; other ``CodeResult`` values, from eSMS's table of error codes
(developers.esms.vn/en/esms-api/table-of-error-codes):

- ``124`` duplicate RequestId — an earlier attempt got through: treated as sent;
- transient (an account problem a person can fix; retried on the courier schedule, about six hours): ``101`` wrong
  ApiKey/SecretKey, ``102`` no price list, ``103`` balance too low, ``104`` brandname not registered, ``140`` server
  IP not whitelisted, ``177`` the recipient's network is not registered for the brandname;
- permanent (this message can never go out): ``99`` number blocked, ``108`` malformed number, ``118`` unsupported
  message type, ``146`` content does not match a registered customer-care template, and any code not listed here.

Timeouts, connection failures, HTTP 429 and 5xx are transient (``RequestId`` makes retrying safe).

Delivery reports: eSMS calls ``CallbackUrl`` with HTTP GET and query parameters ``SMSID``, ``SendStatus``
(1 pending approval, 2 waiting, 4 rejected, 5 sent, 7 at the telco awaiting its report), ``SendSuccess``,
``SendFailed``, ``RequestId``, ``phonenumber``, ``TypeId`` …; see ``tests/fixtures/sms/NOTES.md`` for how they are read.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import requests

from adapters.sms.base import SmsHttp, national
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

DEFAULT_BASE_URL = "https://rest.esms.vn"
SEND_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SMS_TYPE_CUSTOMER_CARE = "2"

OK = "100"
DUPLICATE_REQUEST = "124"
TRANSIENT: dict[str, str] = {
    "101": "wrong ApiKey or SecretKey",
    "102": "no price list for the account",
    "103": "balance too low",
    "104": "brandname not registered",
    "140": "this server's IP address is not whitelisted",
    "177": "the recipient's network is not registered for the brandname",
}
PERMANENT: dict[str, str] = {
    "99": "the number is blocked",
    "108": "malformed phone number",
    "118": "unsupported message type",
    "146": "the text does not match a registered customer-care template",
}
# SendStatus in delivery reports.
REJECTED, SENT = 4, 5


class EsmsGateway:
    name = "esms"

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        brandname: str,
        base_url: str = DEFAULT_BASE_URL,
        sandbox: bool = True,
        callback_url: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._api_key = api_key
        self._secret_key = secret_key
        self.brandname = brandname
        self.sandbox = sandbox
        self.callback_url = callback_url
        self.http = SmsHttp(
            self.name, base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, session=session
        )

    def __repr__(self) -> str:  # never the keys
        return f"EsmsGateway(base_url={self.http.base_url!r}, brandname={self.brandname!r}, sandbox={self.sandbox})"

    def build_request(self, message: SmsMessage) -> dict[str, str]:
        body = {
            "ApiKey": self._api_key,
            "SecretKey": self._secret_key,
            "Phone": national(message.phone),
            "Content": message.text,
            "Brandname": self.brandname,
            "SmsType": SMS_TYPE_CUSTOMER_CARE,
            "IsUnicode": "0",
            "Sandbox": "1" if self.sandbox else "0",
            "RequestId": message.id,
        }
        if self.callback_url:
            body["CallbackUrl"] = self.callback_url
        return body

    def send(self, message: SmsMessage) -> SmsSendResult:
        answer = self.http.post_json(SEND_PATH, self.build_request(message), idempotent=True)
        if answer.status in (401, 403):
            raise SmsTransientError(self.name, f"HTTP {answer.status}: credentials refused", code=str(answer.status))
        data = answer.data if isinstance(answer.data, dict) else {}
        code = str(data.get("CodeResult", "")).strip()
        sms_id = str(data.get("SMSID") or "").strip() or None
        if code == OK and sms_id:
            return SmsSendResult(gateway=self.name, gateway_message_id=sms_id)
        if code == OK:
            raise SmsTransientError(self.name, "CodeResult 100 without an SMSID", code=code)
        if code == DUPLICATE_REQUEST:  # an earlier attempt was accepted: never send it again
            return SmsSendResult(gateway=self.name, gateway_message_id=sms_id, duplicate=True)
        reason = _reason(data)
        if code in TRANSIENT:
            raise SmsTransientError(self.name, f"CodeResult {code}: {TRANSIENT[code]}{reason}", code=code)
        if not code and not 200 <= answer.status < 300:
            raise SmsPermanentError(self.name, f"HTTP {answer.status}", code=str(answer.status))
        described = PERMANENT.get(code, "refused")
        raise SmsPermanentError(self.name, f"CodeResult {code or '?'}: {described}{reason}", code=code or None)

    def parse_reports(self, request: SmsReportRequest) -> list[SmsReport]:
        params = _report_params(request)
        request_id = (params.get("RequestId") or "").strip() or None
        sms_id = (params.get("SMSID") or "").strip() or None
        if not (request_id or sms_id):
            raise SmsReportInvalid("an eSMS report carries SMSID or RequestId")
        try:
            send_status = int(str(params.get("SendStatus", "")).strip())
        except ValueError:
            raise SmsReportInvalid("SendStatus must be a number") from None
        success = _count(params.get("SendSuccess"))
        failed = _count(params.get("SendFailed"))
        if send_status == REJECTED:
            status, error = SmsStatus.FAILED, "rejected by eSMS (SendStatus 4)"
        elif send_status == SENT and success:
            status, error = SmsStatus.DELIVERED, None
        elif send_status == SENT and failed:
            status, error = SmsStatus.FAILED, f"not delivered (SendStatus 5, SendFailed {failed})"
        else:  # 1 pending approval, 2 waiting, 7 at the telco: still on its way
            status, error = SmsStatus.SENT, None
        return [SmsReport(status=status, message_id=request_id, gateway_message_id=sms_id, error=error)]


def _reason(data: dict) -> str:
    text = str(data.get("ErrorMessage") or "").strip()
    return f" ({text[:120]})" if text else ""


def _count(raw: object) -> int:
    try:
        return int(str(raw).strip().split(".")[0]) if raw not in (None, "") else 0
    except ValueError:
        return 0


def _report_params(request: SmsReportRequest) -> dict[str, str]:
    """eSMS reports by GET with query parameters; a POST with a form or JSON body is read the same way."""
    params = {k: str(v) for k, v in request.query.items()}
    if request.method.upper() == "POST" and request.body:
        if "json" in request.content_type:
            try:
                data = json.loads(request.body)
            except ValueError:
                raise SmsReportInvalid("the body is not JSON") from None
            if not isinstance(data, dict):
                raise SmsReportInvalid("the body is not a JSON object")
            params.update({k: str(v) for k, v in data.items() if v is not None})
        else:
            try:
                params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise SmsReportInvalid("the body is not UTF-8") from None
    return params
