"""Every courier carries a return and a pickup from request to terminal status against its fake server, through the
same service code path as the sandbox; switching an agency to another courier is configuration only."""

from __future__ import annotations

import copy
import importlib
import uuid
from datetime import timedelta

import pytest
import requests

from postal_bridge.services import carriers as carrier_svc
from postal_bridge.services import tracking
from tests.conftest import drain, register_hanoi
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes.server import LoopbackServer

# (courier code, fake module, extra argument for the VNPost surface)
COURIERS = [
    ("ghn", "tests.fakes.ghn", None),
    ("ghtk", "tests.fakes.ghtk", None),
    ("viettelpost", "tests.fakes.viettelpost", None),
    ("vnpost", "tests.fakes.vnpost", "donhang"),
    ("vnpost", "tests.fakes.vnpost", "myvnpost"),
    ("vnpost", "tests.fakes.vnpost", "ngsp"),
]
PICKUP_BODY = {
    **copy.deepcopy(RETURN_BODY),
    "kind": "pickup",
    "dossier": {"code": None, "procedure_name": "Đăng ký khai sinh"},
}


def _module_values(module, api: str | None):
    def pick(value):
        return value[api] if isinstance(value, dict) else value

    fake = module.make(api) if api else module.make()
    settings = module.agency_settings("{url}", api) if api else module.agency_settings("{url}")
    return fake, settings, pick(module.LIFECYCLE_RETURN), pick(module.LIFECYCLE_PICKUP), pick(module.PICKED_UP_CODE)


@pytest.fixture(params=COURIERS, ids=lambda p: p[0] + (f"-{p[2]}" if p[2] else ""))
def courier(request, container, clock):
    code, module_name, api = request.param
    module = importlib.import_module(module_name)
    fake, settings_template, lifecycle_return, lifecycle_pickup, picked_up = _module_values(module, api)
    from postal_bridge import create_app
    from postal_bridge.services import agencies

    register_hanoi(container.deps)
    with LoopbackServer(fake.app) as fake_server, LoopbackServer(create_app(container=container)) as web:
        settings = {k: v.replace("{url}", fake_server.url) for k, v in settings_template.items()}
        # Configuration only: the agency switches courier; nothing else changes.
        carrier_svc.configure_carrier(
            container.deps, agency_code="HCC-HN", carrier=code, values={**settings, "enabled": "1"}
        )
        requests.post(
            f"{fake_server.url}/__fake/config", json={"webhook_url": f"{web.url}/webhooks/carriers/{code}"}, timeout=5
        )
        issued = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="one-stop")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {issued.api_key}"
        yield {
            "code": code,
            "api": api,
            "fake": fake,
            "fake_url": fake_server.url,
            "web": web.url,
            "http": http,
            "return": lifecycle_return,
            "pickup": lifecycle_pickup,
            "picked_up": picked_up,
            "container": container,
            "clock": clock,
        }


def _create(cx, body: dict) -> dict:
    body = {**copy.deepcopy(body), "carrier": cx["code"]}
    resp = cx["http"].post(
        f"{cx['web']}/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert resp.status_code == 201, resp.text
    drain(cx["container"])
    got = cx["http"].get(f"{cx['web']}/api/v1/consignments/{resp.json()['id']}").json()
    assert got["status"] == "booked", got
    return got


def _advance(cx, ref: str, codes: list[str], *, fire: bool) -> None:
    for i, code in enumerate(codes, start=1):
        at = (cx["clock"].now() + timedelta(minutes=i)).isoformat()
        resp = requests.post(
            f"{cx['fake_url']}/__fake/orders/{ref}/advance", json={"to": code, "at": at, "fire": fire}, timeout=10
        )
        assert resp.status_code == 200, resp.text
    cx["clock"].advance(60 * (len(codes) + 1))


def _settle(cx, *, push: bool) -> None:
    """Let the bridge learn what happened: pushed events fold on workers; otherwise poll or walk the feed."""
    deps = cx["container"].deps
    if cx["api"] == "ngsp":
        carrier_svc.walk_feeds(deps)
    elif not push:
        cx["clock"].advance(deps.poll_interval_seconds + 1)
        tracking.poll_due(deps)
    drain(cx["container"])
    drain(cx["container"])  # folds may wake label renders or confirmation polls


def _ledger(cx) -> list[dict]:
    return requests.get(f"{cx['fake_url']}/__fake/orders", timeout=5).json()


def test_a_return_and_a_pickup_reach_their_end_by_push_and_by_polling(courier) -> None:
    cx = courier
    listed = cx["http"].get(f"{cx['web']}/api/v1/carriers").json()
    assert cx["code"] in {c["code"] for c in listed}

    quotes = (
        cx["http"]
        .post(f"{cx['web']}/api/v1/quotes", json={k: v for k, v in RETURN_BODY.items() if k != "carrier"})
        .json()
    )
    if "quote" in next(c for c in listed if c["code"] == cx["code"])["capabilities"]:
        assert any(q["carrier"] == cx["code"] and q["fee_vnd"] > 0 for q in quotes["quotes"]), quotes

    # A return, followed by courier pushes (a feed walk for NGSP).
    ret = _create(cx, RETURN_BODY)
    _advance(cx, ret["tracking_code"], cx["return"], fire=True)
    _settle(cx, push=True)
    final = cx["http"].get(f"{cx['web']}/api/v1/consignments/{ret['id']}").json()
    assert final["status"] == "delivered", [e["status"] for e in final["events"]]
    statuses = [e["status"] for e in final["events"]]
    assert statuses[:2] == ["requested", "booked"] and statuses[-1] == "delivered"

    # A pickup whose events the bridge only learns by polling the courier (pushes where it cannot be polled).
    pollable = "track_poll" in next(c for c in listed if c["code"] == cx["code"])["capabilities"]
    pollable = pollable and cx["api"] not in ("donhang", "myvnpost")  # no per-order tracking call known
    pick = _create(cx, PICKUP_BODY)
    _advance(cx, pick["tracking_code"], cx["pickup"], fire=not pollable)
    _settle(cx, push=not pollable)
    final = cx["http"].get(f"{cx['web']}/api/v1/consignments/{pick['id']}").json()
    assert final["status"] == "delivered", [e["status"] for e in final["events"]]

    orders = _ledger(cx)
    assert len(orders) == 2  # one courier order per consignment, never two
    assert {o["ref"] for o in orders} == {ret["tracking_code"], pick["tracking_code"]}


def test_cancel_reaches_the_courier_before_pickup_and_is_refused_after(courier) -> None:
    cx = courier
    early = _create(cx, RETURN_BODY)
    resp = cx["http"].post(f"{cx['web']}/api/v1/consignments/{early['id']}/cancel", json={})
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    drain(cx["container"])
    [order] = [o for o in _ledger(cx) if o["ref"] == early["tracking_code"]]
    assert order["cancelled"] or order["status"] in ("cancel", "-1", "107", "cancelled", "9", "CANCELLED")

    late = _create(cx, RETURN_BODY)
    index = cx["return"].index(cx["picked_up"]) + 1
    _advance(cx, late["tracking_code"], cx["return"][:index], fire=True)
    _settle(cx, push=True)
    assert cx["http"].get(f"{cx['web']}/api/v1/consignments/{late['id']}").json()["status"] in (
        "picked_up",
        "in_transit",
    )
    refused = cx["http"].post(f"{cx['web']}/api/v1/consignments/{late['id']}/cancel", json={})
    assert refused.status_code == 409
