"""A fake SpeedSMS API, speaking its wire format (tests/fixtures/sms/NOTES.md).

- ``POST /index.php/sms/send``, HTTP Basic ``<access token>:x`` (anything else: HTTP 401 with an error envelope
  [?: SpeedSMS's exact answer is unknown]), JSON ``{"to": [...], "content", "sms_type", "sender"}``.
- Checks: ``to`` a non-empty list, ``content`` present (``101``); ``sms_type`` 2–5 (``101``); a type-3 ``sender``
  registered (``config["senders"]``, else ``101`` "sender not found"); content at most ``config["max_length"]``
  (``113``); the balance (``300``). Numbers not of a Vietnamese mobile form are listed in ``invalidPhone``; when none
  is valid the answer is ``105``.
- Accepted: ``{"status": "success", "code": "00", "data": {"tranId", "totalSMS", "totalPrice", "invalidPhone"}}``;
  errors ``{"status": "error", "code", "message"}``. No request id: the ledger records every accepted request.
- Delivery reports: a JSON POST ``{"type": "report", "tranId", "phone", "status"}`` to ``config["webhook_url"]``
  (configured once in SpeedSMS's dashboard): status 0 delivered, 1–63 temporary failure, 64+ failed.

``python -m tests.fakes.speedsms --port 9202`` runs it by hand.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import requests
from flask import Flask, Response, request

from tests.fakes.sms_base import FakeMessage, FakeSmsGateway, json_response, serve_main

SEND_PATH = "/index.php/sms/send"
TOKEN = "speedsms-fake-token-Qw3rTy"
SENDER = "HCCHANOI"
PHONE = re.compile(r"(0|84)[35789][0-9]{8}")
PRICE = 250
ERRORS = {
    "007": "IP locked",
    "008": "Account blocked",
    "009": "Account not allow to call the API",
    "101": "Invalid or missing parameters",
    "105": "Phone number invalid",
    "110": "Not support sms content encoding",
    "113": "Sms content too long",
    "300": "Your account balance not enough to send sms",
    "500": "Internal error, please try again",
}
REPORT_STATUS = {"delivered": 0, "pending": 3, "failed": 64, "rejected": 65}


class FakeSpeedSms(FakeSmsGateway):
    name = "speedsms"

    def __init__(self, **kw: Any) -> None:
        self.tran_seq = 880000
        super().__init__(**kw)

    def default_config(self) -> dict[str, Any]:
        return {"token": TOKEN, "senders": [SENDER], "balance": 100_000, "max_length": 612, "webhook_url": None}

    def build_routes(self, app: Flask) -> None:
        @app.get("/index.php/user/info")
        def user_info() -> Response:
            if not self._authorised():
                return json_response({"status": "error", "code": "401", "message": "Unauthorized"}, 401)
            return json_response({"email": "fake@speedsms.vn", "balance": self.config["balance"], "currency": "VND"})

        @app.post(SEND_PATH)
        def send() -> Response:
            self.fault("send")
            if not self._authorised():
                return json_response({"status": "error", "code": "401", "message": "Unauthorized"}, 401)
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return self.error_response("101")
            to, content, sms_type = body.get("to"), str(body.get("content") or ""), body.get("sms_type")
            if not isinstance(to, list) or not to or not content:
                return self.error_response("101")
            if sms_type not in (2, 3, 4, 5):
                return self.error_response("101")
            sender = str(body.get("sender") or "")
            if sms_type == 3 and sender not in self.config["senders"]:
                return json_response({"status": "error", "code": "101", "message": "sender not found"})
            if len(content) > int(self.config["max_length"]):
                return self.error_response("113")
            valid = [str(p) for p in to if PHONE.fullmatch(str(p))]
            invalid = [str(p) for p in to if not PHONE.fullmatch(str(p))]
            if not valid:
                return json_response({**self._error("105"), "invalidPhone": invalid})
            with self.lock:
                if self.config["balance"] < PRICE * len(valid):
                    return self.error_response("300")
                self.config["balance"] -= PRICE * len(valid)
                self.tran_seq += 1
                tran_id = self.tran_seq
            for phone in valid:
                self.record(
                    FakeMessage(
                        gateway_id=str(tran_id),
                        phone=phone,
                        content=content,
                        sender=sender,
                        received_at=self.now(),
                        extra={"sms_type": sms_type},
                    )
                )
            self.fault("send", after_commit=True)
            return json_response(
                {
                    "status": "success",
                    "code": "00",
                    "data": {
                        "tranId": tran_id,
                        "totalSMS": len(valid),
                        "totalPrice": PRICE * len(valid),
                        "invalidPhone": invalid,
                    },
                }
            )

    def _authorised(self) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, _password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.config["token"]

    @staticmethod
    def _error(code: str) -> dict[str, Any]:
        return {"status": "error", "code": code, "message": ERRORS.get(code, "error")}

    def error_response(self, code: str) -> Response:
        return json_response(self._error(code))

    def deliver_report(self, message: FakeMessage, status: str, base: str | None) -> int | str:
        url = self.config.get("webhook_url")
        if not url:
            return "no webhook_url configured"
        body = {"type": "report", "tranId": int(message.gateway_id), "phone": message.phone}
        body["status"] = REPORT_STATUS[status]
        try:
            return requests.post(self.rebase(url, base), json=body, timeout=10).status_code
        except requests.RequestException as exc:
            return type(exc).__name__


if __name__ == "__main__":
    serve_main(FakeSpeedSms())
