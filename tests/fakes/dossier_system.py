"""A fake one-stop dossier system that receives our signed webhook callbacks.

``POST /callbacks`` (and any path below it) verifies the Standard Webhooks signature, records the attempt and answers
according to ``mode``:

* ``"ok"``: 204 for a valid signature, 401 for an invalid one
* ``"down"``: 503 (with ``Retry-After`` if ``retry_after`` is set)
* ``"500"``: 500
* ``"410"``: 410 Gone
* ``"redirect"``: 302 to ``/elsewhere``
* ``"slow"``: sleep ``slow_seconds``, then 200 (401 for an invalid signature)

Every request to any path is also listed in ``requests_seen`` as ``(method, path)``, so a test can prove that a
redirect was not followed. Standalone: ``python -m tests.fakes.dossier_system --port 8099 --secret whsec_…``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from adapters.dossier.signing import SignatureError, verify

MODES = ("ok", "down", "500", "410", "redirect", "slow")


class FakeDossierSystem:
    def __init__(
        self,
        secrets: list[str],
        now: Callable[[], float] = time.time,
        tolerance: int = 300,
        slow_seconds: float = 2.0,
        on_delivery: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.secrets = list(secrets)
        self.tolerance = tolerance
        self.slow_seconds = slow_seconds
        self.retry_after: int | None = None  # sent as Retry-After with 503 in mode "down"
        self._now = now
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        self._mode = "ok"
        self._deliveries: list[dict[str, Any]] = []
        self._requests_seen: list[tuple[str, str]] = []
        self.app = self._build_app()

    # -- state ----------------------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        with self._lock:
            return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; expected one of {MODES}")
        with self._lock:
            self._mode = value

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Copies of every attempt at ``/callbacks``: message_id, timestamp, signature_valid, body, headers, …"""
        with self._lock:
            return [dict(d) for d in self._deliveries]

    @property
    def requests_seen(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._requests_seen)

    def received_ids(self) -> list[str | None]:
        with self._lock:
            return [d["message_id"] for d in self._deliveries]

    def events(self) -> list[Any]:
        """Bodies of accepted, validly signed deliveries, first arrival of each message id only."""
        seen: set[str] = set()
        out: list[Any] = []
        with self._lock:
            for d in self._deliveries:
                if d["signature_valid"] and d["accepted"] and d["message_id"] not in seen:
                    seen.add(d["message_id"])
                    out.append(d["body"])
        return out

    def reset(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._requests_seen.clear()
            self._mode = "ok"
        self.retry_after = None

    # -- HTTP -----------------------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)

        @app.before_request
        def _seen() -> None:
            with self._lock:
                self._requests_seen.append((request.method, request.path))

        @app.post("/callbacks")
        @app.post("/callbacks/<path:_rest>")
        def callbacks(_rest: str = "") -> Response:
            return self._receive()

        @app.route("/elsewhere", methods=["GET", "POST"])
        def elsewhere() -> Response:
            # Answers 200 so that a sender wrongly following the redirect would look successful.
            return Response("you followed a redirect", status=200)

        return app

    def _receive(self) -> Response:
        raw = request.get_data(cache=False)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            message_id: str | None = verify(self.secrets, headers, raw, now=int(self._now()), tolerance=self.tolerance)
            valid, reason = True, None
        except SignatureError as exc:
            message_id, valid, reason = headers.get("webhook-id"), False, str(exc)
        try:
            timestamp: int | None = int(headers.get("webhook-timestamp", ""))
        except ValueError:
            timestamp = None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None

        with self._lock:
            mode = self._mode
        response = self._answer(mode, valid)
        delivery = {
            "message_id": message_id,
            "timestamp": timestamp,
            "signature_valid": valid,
            "error": reason,
            "body": body,
            "raw_body": raw,
            "headers": headers,  # names lower-cased
            "path": request.path,
            "remote_port": request.environ.get("REMOTE_PORT"),  # same port across deliveries = keep-alive
            "mode": mode,
            "status": response.status_code,
            "accepted": 200 <= response.status_code < 300,
        }
        with self._lock:
            self._deliveries.append(delivery)
        if self._on_delivery is not None:
            self._on_delivery(dict(delivery))
        if mode == "slow":
            time.sleep(self.slow_seconds)
        return response

    def _answer(self, mode: str, valid: bool) -> Response:
        if mode == "down":
            response = Response("down for maintenance", status=503)
            if self.retry_after is not None:
                response.headers["Retry-After"] = str(self.retry_after)
            return response
        if mode == "500":
            return Response("internal error", status=500)
        if mode == "410":
            return Response("gone", status=410)
        if mode == "redirect":
            return Response("", status=302, headers={"Location": "/elsewhere"})
        if not valid:
            return Response("invalid signature", status=401)
        if mode == "slow":
            return Response("", status=200)
        return Response(status=204)


def main(argv: list[str] | None = None) -> int:
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(description="Fake dossier system receiving postal-bridge webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", action="append", required=True, help="whsec_… (repeat for rotation)")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--retry-after", type=int, default=None)
    args = parser.parse_args(argv)

    def show(delivery: dict[str, Any]) -> None:
        shown = {k: v for k, v in delivery.items() if k not in ("raw_body", "headers")}
        print(json.dumps(shown, default=str, ensure_ascii=False), flush=True)

    fake = FakeDossierSystem(args.secret, on_delivery=show)
    fake.mode = args.mode
    fake.retry_after = args.retry_after
    server = make_server(args.host, args.port, fake.app, threaded=True)
    print(f"fake dossier system on http://{args.host}:{server.port}/callbacks (mode {args.mode})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
