"""A fake eSMS.vn customer-care API, speaking its wire format (tests/fixtures/sms/NOTES.md).

- ``POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`` with the JSON body eSMS documents (every value a
  string). Checks, in this order: credentials (``CodeResult 101``), a registered brandname (``104``), ``SmsType "2"``
  (``118``), the number (``108`` unless ``0xxxxxxxxx`` or ``84xxxxxxxxx`` of a mobile prefix), a blocked number
  (``99``, ``config["blocked"]``), and a ``RequestId`` seen before (``124``: eSMS deduplicates on it, so the ledger
  never holds two messages with one id). Accepted: ``{"CodeResult": "100", "CountRegenerate": 0, "SMSID": …}``.
- ``Sandbox "1"`` messages are accepted and recorded with ``sandbox: true`` (eSMS validates them but sends nothing).
- Delivery reports: an HTTP GET on the message's ``CallbackUrl`` with ``SMSID``, ``SendFailed``, ``SendStatus``,
  ``SendSuccess``, ``TotalPrice``, ``TotalReceiver``, ``TotalSent``, ``RequestId``, ``TypeId``, ``telcoid``,
  ``phonenumber``, as in eSMS's callback samples.

``python -m tests.fakes.esms --port 9201`` runs it by hand.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import requests
from flask import Flask, Response, request

from tests.fakes.sms_base import FakeMessage, FakeSmsGateway, json_response, serve_main

SEND_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
API_KEY = "esms-fake-api-key-5E1C"
SECRET_KEY = "esms-fake-secret-key-9A77"
BRANDNAME = "HCCHANOI"
PHONE = re.compile(r"(0|84)[35789][0-9]{8}")
ERRORS = {
    "99": "The phone number is blocked in the system",
    "101": "Incorrect ApiKey or SecretKey.",
    "102": "No price list available.",
    "103": "Not enough balance to send message.",
    "104": "Brandname/Call code does not exist.",
    "108": "Phone number is not in correct format.",
    "118": "Unsupported message type.",
    "124": "Duplicate RequestId.",
    "140": "IP is not whitelisted for sending messages.",
    "146": "Wrong customer care template.",
}
REPORT_STATUS = {  # our word → (SendStatus, SendSuccess, SendFailed)
    "delivered": ("5", "1", "0"),
    "failed": ("5", "0", "1"),
    "rejected": ("4", "0", "1"),
    "pending": ("7", "0", "0"),
}


class FakeEsms(FakeSmsGateway):
    name = "esms"

    def default_config(self) -> dict[str, Any]:
        return {"api_key": API_KEY, "secret_key": SECRET_KEY, "brandnames": [BRANDNAME], "blocked": []}

    def build_routes(self, app: Flask) -> None:
        @app.post(SEND_PATH)
        def send() -> Response:
            self.fault("send")
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return Response("Request body is not valid JSON", status=400)
            code = self._check(body)
            if code:
                return self.error_response(code)
            message = self.record(
                FakeMessage(
                    gateway_id=uuid.uuid4().hex,
                    phone=str(body["Phone"]),
                    content=str(body.get("Content", "")),
                    sender=str(body["Brandname"]),
                    received_at=self.now(),
                    request_id=str(body.get("RequestId") or "") or None,
                    sandbox=str(body.get("Sandbox", "0")) == "1",
                    callback_url=str(body.get("CallbackUrl") or "") or None,
                    extra={k: body.get(k) for k in ("SmsType", "IsUnicode", "Sandbox", "SendDate", "campaignid")},
                )
            )
            self.fault("send", after_commit=True)
            return json_response({"CodeResult": "100", "CountRegenerate": 0, "SMSID": message.gateway_id})

    def _check(self, body: dict[str, Any]) -> str | None:
        cfg = self.config
        if body.get("ApiKey") != cfg["api_key"] or body.get("SecretKey") != cfg["secret_key"]:
            return "101"
        if body.get("Brandname") not in cfg["brandnames"]:
            return "104"
        if str(body.get("SmsType")) != "2":
            return "118"
        phone = str(body.get("Phone", ""))
        if not PHONE.fullmatch(phone):
            return "108"
        if phone in cfg["blocked"]:
            return "99"
        request_id = str(body.get("RequestId") or "")
        with self.lock:
            if request_id and any(m.request_id == request_id for m in self.messages):
                return "124"
        return None

    def error_response(self, code: str) -> Response:
        return json_response(
            {"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": ERRORS.get(code, "Unknown error")}
        )

    def deliver_report(self, message: FakeMessage, status: str, base: str | None) -> int | str:
        if not message.callback_url:
            return "no CallbackUrl"
        send_status, success, failed = REPORT_STATUS[status]
        params = {
            "SMSID": message.gateway_id,
            "SendFailed": failed,
            "SendStatus": send_status,
            "SendSuccess": success,
            "TotalPrice": "0.0000" if message.sandbox else "850.0000",
            "TotalReceiver": "1",
            "TotalSent": "1",
            "RequestId": message.request_id or "",
            "TypeId": "2",
            "telcoid": "1",
            "phonenumber": message.phone,
        }
        try:
            return requests.get(self.rebase(message.callback_url, base), params=params, timeout=10).status_code
        except requests.RequestException as exc:
            return type(exc).__name__


if __name__ == "__main__":
    serve_main(FakeEsms())
