"""What every fake courier server shares: an in-memory ledger, recorded requests, fault injection, webhook firing,
and the control plane under ``/__fake/`` (a prefix real couriers never use).

Control plane (same on every fake):
- ``POST /__fake/reset`` — forget orders, requests, faults.
- ``POST /__fake/config`` — ``{"webhook_url": ..., "webhook_retries": n, ...}`` (merged into ``fake.config``).
- ``POST /__fake/orders/<ref>/advance`` — ``{"to": <raw code>, "at"?: ISO time, "reason"?, "fire"?: true}``: append a
  status event to the order (``ref`` is the courier's tracking code) and, unless ``fire`` is false, push the webhook.
- ``POST /__fake/faults`` — ``{"op": <operation name or "*">, "kind": timeout|http500|http401|http429|malformed|slow|
  reset|truncated, "count": n, "after_commit": bool}``; ``after_commit`` lets a create be recorded before the fault.
- ``GET /__fake/requests`` — every request received (method, path, headers, body text).
- ``GET /__fake/orders`` — the ledger.

A concrete fake subclasses ``FakeCourier``, registers its real routes in ``build_routes(app)``, calls
``self.fault(op)`` at the start of each operation (and ``self.fault(op, after_commit=True)`` after recording a create),
and implements ``webhook_payload(order, event) -> (body bytes, headers)`` for the push.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Flask, Response, jsonify, request


class FaultTriggered(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class FakeOrder:
    ref: str  # the courier's tracking code
    client_ref: str
    data: dict[str, Any]
    status: str
    created_at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class Fault:
    op: str
    kind: str
    count: int
    after_commit: bool = False


class FakeCourier:
    name = "fake"

    def __init__(self, *, slow_seconds: float = 3.0, timeout_seconds: float = 15.0) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, FakeOrder] = {}
        self.requests_log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.config: dict[str, Any] = {"webhook_url": None, "webhook_retries": 0, "webhook_retry_delay": 0.0}
        self.webhook_log: list[dict[str, Any]] = []
        self.slow_seconds = slow_seconds
        self.timeout_seconds = timeout_seconds
        self.seq = 0
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
                            "query": request.query_string.decode(),
                            "headers": {k.lower(): v for k, v in request.headers.items()},
                            "body": request.get_data(as_text=True),
                        }
                    )

    # -- to implement --------------------------------------------------------------------------------------------

    def build_routes(self, app: Flask) -> None:
        raise NotImplementedError

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    # -- helpers for subclasses ----------------------------------------------------------------------------------

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def fault(self, op: str, *, after_commit: bool = False) -> None:
        """Raise the configured fault for ``op`` (if any is armed for this phase)."""
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
        if armed.kind == "slow":
            time.sleep(self.slow_seconds)
            return
        if armed.kind == "http500":
            raise FaultTriggered(Response("Internal Server Error", status=500))
        if armed.kind == "http401":
            raise FaultTriggered(
                Response(json.dumps({"message": "Unauthorized"}), status=401, mimetype="application/json")
            )
        if armed.kind == "http429":
            raise FaultTriggered(Response("slow down", status=429, headers={"Retry-After": "7"}))
        if armed.kind in ("malformed", "truncated"):
            raise FaultTriggered(Response('{"status": 200, "data": {"trunc', status=200, mimetype="application/json"))
        if armed.kind == "reset":
            raise FaultTriggered(Response(_ResetBody(), status=200, mimetype="application/json"))
        raise ValueError(f"unknown fault kind {armed.kind!r}")

    def add_order(self, ref: str, client_ref: str, data: dict[str, Any], status: str) -> FakeOrder:
        order = FakeOrder(ref=ref, client_ref=client_ref, data=data, status=status, created_at=datetime.now(UTC))
        with self.lock:
            self.orders[ref] = order
        return order

    def by_client_ref(self, client_ref: str) -> FakeOrder | None:
        with self.lock:
            return next((o for o in self.orders.values() if o.client_ref == client_ref), None)

    def advance(
        self,
        ref: str,
        to: str,
        *,
        at: datetime | None = None,
        reason: str | None = None,
        fire: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            order = self.orders[ref]
            event = {"code": to, "at": at or datetime.now(UTC), "reason": reason, **(extra or {})}
            order.events.append(event)
            order.status = to
        if fire:
            self.fire(order, event)
        return event

    def fire(self, order: FakeOrder, event: dict[str, Any]) -> None:
        url = self.config.get("webhook_url")
        if not url:
            return
        body, headers = self.webhook_payload(order, event)
        attempts = 1 + int(self.config.get("webhook_retries", 0))
        for attempt in range(attempts):
            try:
                resp = requests.post(url, data=body, headers=headers, timeout=10)
                status = resp.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self.lock:
                self.webhook_log.append(
                    {"ref": order.ref, "code": event["code"], "attempt": attempt + 1, "status": status}
                )
            if status == 200:
                return
            time.sleep(float(self.config.get("webhook_retry_delay", 0.0)))

    # -- control plane -------------------------------------------------------------------------------------------

    def _control_plane(self, app: Flask) -> None:
        @app.post("/__fake/reset")
        def _reset() -> Response:
            with self.lock:
                self.orders.clear()
                self.requests_log.clear()
                self.faults.clear()
                self.webhook_log.clear()
            return jsonify(ok=True)

        @app.post("/__fake/config")
        def _config() -> Response:
            with self.lock:
                self.config.update(request.get_json(force=True) or {})
            return jsonify(self.config)

        @app.post("/__fake/orders/<path:ref>/advance")
        def _advance(ref: str) -> Response:
            body = request.get_json(force=True) or {}
            if ref not in self.orders:
                return jsonify(error=f"no order {ref}"), 404
            at = datetime.fromisoformat(body["at"]) if body.get("at") else None
            event = self.advance(
                ref,
                str(body["to"]),
                at=at,
                reason=body.get("reason"),
                fire=body.get("fire", True),
                extra=body.get("extra"),
            )
            return jsonify(ref=ref, code=event["code"], at=event["at"].isoformat())

        @app.post("/__fake/faults")
        def _faults() -> Response:
            body = request.get_json(force=True) or {}
            with self.lock:
                self.faults.append(
                    Fault(
                        op=body.get("op", "*"),
                        kind=body["kind"],
                        count=int(body.get("count", 1)),
                        after_commit=bool(body.get("after_commit", False)),
                    )
                )
            return jsonify(ok=True)

        @app.get("/__fake/requests")
        def _requests() -> Response:
            with self.lock:
                return jsonify(self.requests_log)

        @app.get("/__fake/orders")
        def _orders() -> Response:
            with self.lock:
                return jsonify(
                    [
                        {
                            "ref": o.ref,
                            "client_ref": o.client_ref,
                            "status": o.status,
                            "cancelled": o.cancelled,
                            "events": [{**e, "at": e["at"].isoformat()} for e in o.events],
                            "data": o.data,
                        }
                        for o in self.orders.values()
                    ]
                )


class _ResetBody:
    """A body that breaks off mid-stream: the client sees the connection die after the status line."""

    def __iter__(self):
        yield b'{"partial": '
        raise ConnectionResetError("fake reset")


def serve_main(fake: FakeCourier, argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.<courier> --port N``: run the fake by hand for demos."""
    parser = argparse.ArgumentParser(description=f"fake {fake.name} courier API with a /__fake/ control plane")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook-url", default=None)
    args = parser.parse_args(argv)
    if args.webhook_url:
        fake.config["webhook_url"] = args.webhook_url
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, fake.app, threaded=True)
    print(f"fake {fake.name} listening on http://{args.host}:{server.server_port}  (control plane: /__fake/)")
    server.serve_forever()
