"""What the fake SMS gateways share: a ledger of accepted messages, recorded requests, fault injection, delivery
reports sent to our callback, and the control plane under ``/__fake/`` (a prefix real gateways never use).

Control plane (same on every fake):
- ``POST /__fake/reset`` — forget messages, requests, faults and reports.
- ``POST /__fake/config`` — merged into ``fake.config`` (credentials, brandnames, webhook URL, balance…).
- ``POST /__fake/faults`` — ``{"op": "send" | "*", "kind": http500 | timeout | http429 | malformed | reset |
  code, "code": <the gateway's error code, for kind "code">, "count": n, "after_commit": bool}``; with
  ``after_commit`` the message is recorded before the fault (the answer is lost, the message went out).
- ``GET /__fake/requests`` — every request received (method, path, headers, body text).
- ``GET /__fake/messages`` — the ledger, oldest first.
- ``POST /__fake/messages/<gateway id>/report`` — ``{"status": "delivered" | "failed" | "rejected" | "pending",
  "base"?: "http://127.0.0.1:PORT"}``: send the delivery report to our callback (``base`` replaces its origin, for
  tests whose public base URL is not the loopback address); answers the status our endpoint returned.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, jsonify, request


class FaultTriggered(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class Fault:
    op: str
    kind: str
    count: int
    code: str | None = None
    after_commit: bool = False


@dataclass
class FakeMessage:
    gateway_id: str
    phone: str
    content: str
    sender: str
    received_at: datetime
    request_id: str | None = None
    sandbox: bool = False
    callback_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "gateway_id": self.gateway_id,
            "phone": self.phone,
            "content": self.content,
            "sender": self.sender,
            "received_at": self.received_at.isoformat(),
            "request_id": self.request_id,
            "sandbox": self.sandbox,
            "callback_url": self.callback_url,
            "extra": self.extra,
            "reports": self.reports,
        }


class FakeSmsGateway:
    name = "fake"

    def __init__(self, *, timeout_seconds: float = 15.0) -> None:
        self.lock = threading.RLock()
        self.messages: list[FakeMessage] = []
        self.requests_log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.config: dict[str, Any] = self.default_config()
        self.timeout_seconds = timeout_seconds
        self.app = Flask(f"fake-{self.name}")
        self._control_plane(self.app)
        self.build_routes(self.app)

        @self.app.errorhandler(FaultTriggered)
        def _fault(exc: FaultTriggered) -> Response:
            return exc.response

        @self.app.before_request
        def _record() -> None:
            if not request.path.startswith("/__fake/"):
                with self.lock:
                    self.requests_log.append(
                        {
                            "method": request.method,
                            "path": request.path,
                            "headers": {k.lower(): v for k, v in request.headers.items()},
                            "body": request.get_data(as_text=True),
                        }
                    )

    # -- to implement --------------------------------------------------------------------------------------------

    def default_config(self) -> dict[str, Any]:
        return {}

    def build_routes(self, app: Flask) -> None:
        raise NotImplementedError

    def error_response(self, code: str) -> Response:
        """The gateway's answer carrying one of its error codes (fault kind ``code``)."""
        raise NotImplementedError

    def deliver_report(self, message: FakeMessage, status: str, base: str | None) -> int | str:
        """Send a delivery report for ``message`` to our callback; returns the HTTP status (or the error name)."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------------------------

    def fault(self, op: str, *, after_commit: bool = False) -> None:
        with self.lock:
            armed = next(
                (f for f in self.faults if f.op in (op, "*") and f.count > 0 and f.after_commit == after_commit), None
            )
            if armed is None:
                return
            armed.count -= 1
        if armed.kind == "timeout":
            time.sleep(self.timeout_seconds)
            raise FaultTriggered(Response("late", status=504))
        if armed.kind == "http500":
            raise FaultTriggered(Response("Internal Server Error", status=500))
        if armed.kind == "http429":
            raise FaultTriggered(Response("slow down", status=429, headers={"Retry-After": "30"}))
        if armed.kind == "malformed":
            raise FaultTriggered(Response('{"CodeResult": "10', status=200, mimetype="application/json"))
        if armed.kind == "reset":
            raise FaultTriggered(Response(_ResetBody(), status=200, mimetype="application/json"))
        if armed.kind == "code":
            raise FaultTriggered(self.error_response(str(armed.code)))
        raise ValueError(f"unknown fault kind {armed.kind!r}")

    def record(self, message: FakeMessage) -> FakeMessage:
        with self.lock:
            self.messages.append(message)
        return message

    def find(self, gateway_id: str) -> FakeMessage | None:
        with self.lock:
            return next((m for m in self.messages if m.gateway_id == gateway_id), None)

    @staticmethod
    def rebase(url: str, base: str | None) -> str:
        if not base:
            return url
        parts, origin = urlsplit(url), urlsplit(base)
        return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, parts.fragment))

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    # -- control plane -------------------------------------------------------------------------------------------

    def _control_plane(self, app: Flask) -> None:
        @app.post("/__fake/reset")
        def _reset() -> Response:
            with self.lock:
                self.messages.clear()
                self.requests_log.clear()
                self.faults.clear()
                self.config = self.default_config()
            return jsonify(ok=True)

        @app.post("/__fake/config")
        def _config() -> Response:
            with self.lock:
                self.config.update(request.get_json(force=True) or {})
                return jsonify(self.config)

        @app.post("/__fake/faults")
        def _faults() -> Response:
            body = request.get_json(force=True) or {}
            with self.lock:
                self.faults.append(
                    Fault(
                        op=body.get("op", "*"),
                        kind=body["kind"],
                        count=int(body.get("count", 1)),
                        code=body.get("code"),
                        after_commit=bool(body.get("after_commit", False)),
                    )
                )
            return jsonify(ok=True)

        @app.get("/__fake/requests")
        def _requests() -> Response:
            with self.lock:
                return jsonify(self.requests_log)

        @app.get("/__fake/messages")
        def _messages() -> Response:
            with self.lock:
                return jsonify([m.as_json() for m in self.messages])

        @app.post("/__fake/messages/<gateway_id>/report")
        def _report(gateway_id: str) -> Response:
            body = request.get_json(force=True) or {}
            message = self.find(gateway_id)
            if message is None:
                return jsonify(error=f"no message {gateway_id}"), 404
            status = str(body.get("status", "delivered"))
            answer = self.deliver_report(message, status, body.get("base"))
            with self.lock:
                message.reports.append({"status": status, "answer": answer})
            return jsonify(gateway_id=gateway_id, status=status, answer=answer)


class _ResetBody:
    """A body that breaks off mid-stream: the client sees the connection die after the status line."""

    def __iter__(self):
        yield b'{"partial": '
        raise ConnectionResetError("fake reset")


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def serve_main(fake: FakeSmsGateway, argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.<gateway> --port N``: run the fake by hand for demos."""
    parser = argparse.ArgumentParser(description=f"fake {fake.name} SMS gateway with a /__fake/ control plane")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, fake.app, threaded=True)
    print(f"fake {fake.name} listening on http://{args.host}:{server.server_port}  (control plane: /__fake/)")
    server.serve_forever()
