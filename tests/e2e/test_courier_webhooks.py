"""Courier pushes at the HTTP edge: forged ones refused, duplicates applied once, late ones never regress."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import requests

from postal_bridge.services import carriers as carrier_svc
from tests.conftest import drain, register_hanoi
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes import ghtk as fake_ghtk
from tests.fakes.server import LoopbackServer


def test_duplicate_replayed_out_of_order_and_forged_pushes(container, clock) -> None:
    from postal_bridge import create_app
    from postal_bridge.services import agencies

    register_hanoi(container.deps)
    fake = fake_ghtk.make()
    with LoopbackServer(fake.app) as courier, LoopbackServer(create_app(container=container)) as web:
        settings = fake_ghtk.agency_settings(courier.url)
        carrier_svc.configure_carrier(container.deps, agency_code="HCC-HN", carrier="ghtk", values=settings)
        key = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="t").api_key
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        body = {**copy.deepcopy(RETURN_BODY), "carrier": "ghtk"}
        created = http.post(f"{web.url}/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        drain(container)
        c = http.get(f"{web.url}/api/v1/consignments/{created.json()['id']}").json()
        order = fake.orders[c["tracking_code"]]
        hook = f"{web.url}/webhooks/carriers/ghtk"

        def push(code: str, minutes: int, *, forged: bool = False) -> requests.Response:
            event = {"code": code, "at": clock.now() + timedelta(minutes=minutes), "reason": None}
            payload, headers = fake.webhook_payload(order, event)
            if forged:
                payload = payload.replace(settings["webhook_secret"].encode(), b"not-the-secret")
            return requests.post(hook, data=payload, headers=headers, timeout=10)

        forged = push("5", 10, forged=True)
        assert forged.status_code == 401
        drain(container)
        assert http.get(f"{web.url}/api/v1/consignments/{c['id']}").json()["status"] == "booked"

        # Pushes that arrive together are folded in the courier's time order, duplicates once.
        for code, minutes in [("5", 4), ("3", 1), ("3", 1), ("12", 0)]:
            assert push(code, minutes).status_code == 200
        drain(container)
        # Then a replay of what came before, and an older event that arrives after delivery.
        for code, minutes in [("5", 4), ("3", 1), ("4", 3)]:
            assert push(code, minutes).status_code == 200
        drain(container)
        final = http.get(f"{web.url}/api/v1/consignments/{c['id']}").json()
        statuses = [e["status"] for e in final["events"]]
        assert final["status"] == "delivered"
        assert statuses == ["requested", "booked", "picked_up", "delivered"]  # the late "4" did not move it back

        unknown = requests.post(f"{web.url}/webhooks/carriers/nosuch", data=b"{}", timeout=5)
        assert unknown.status_code == 404
