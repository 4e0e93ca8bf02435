"""A sandbox return created over the HTTP API and driven to delivered: the citizen receives exactly one SMS per
templated change, in order, each unaccented GSM-7 in one part, at the fake eSMS gateway; delivery reports come back
over HTTP to the callback URL we gave the gateway."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests

from postal_bridge.domain.sms import sms_length
from tests.conftest import ManualClock, drain, register_hanoi
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes import esms as fake_esms
from tests.fakes.server import LoopbackServer

DAY = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội
SECRET = "e2e-callback-secret-0123456789"


@pytest.fixture
def service(settings):
    from postal_bridge import create_app
    from postal_bridge.bootstrap import build
    from postal_bridge.services import agencies
    from workers import runtime

    fake = fake_esms.FakeEsms()
    with LoopbackServer(fake.app) as gateway:
        s = replace(
            settings,
            sms_gateway="esms",
            sms_base_url=gateway.url,
            sms_api_key=fake_esms.API_KEY,
            sms_secret_key=fake_esms.SECRET_KEY,
            sms_brandname=fake_esms.BRANDNAME,
            sms_callback_secret=SECRET,
        )
        clock = ManualClock(DAY)
        container = build(s, clock=clock)
        runtime.install(container)
        register_hanoi(container.deps)
        issued = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="one-stop")
        try:
            with LoopbackServer(create_app(container=container)) as web:
                http = requests.Session()
                http.headers["Authorization"] = f"Bearer {issued.api_key}"
                yield {"base": web.url, "http": http, "c": container, "clock": clock, "gateway": gateway}
        finally:
            runtime.install(None)
            container.close()


def _advance(service, steps: int) -> None:
    from postal_bridge.services import tracking

    for _ in range(steps):
        service["clock"].advance(service["c"].settings.sandbox_step_seconds + 1)
        tracking.poll_due(service["c"].deps)
        drain(service["c"])


def _ledger(service) -> list[dict]:
    return requests.get(f"{service['gateway'].url}/__fake/messages", timeout=5).json()


@pytest.mark.parametrize(
    ("scenario", "steps", "expected"),
    [
        ("delivered", 4, ["booked", "out_for_delivery", "delivered"]),
        (
            "failed_then_delivered",
            6,
            ["booked", "out_for_delivery", "delivery_failed", "out_for_delivery", "delivered"],
        ),
    ],
)
def test_a_return_sends_one_sms_per_templated_change_in_order(service, scenario, steps, expected):
    base, http = service["base"], service["http"]
    body = {**RETURN_BODY, "options": {"sandbox_scenario": scenario}}
    created = http.post(f"{base}/api/v1/consignments", json=body, headers={"Idempotency-Key": f"sms-{scenario}"})
    assert created.status_code == 201, created.text
    consignment = created.json()
    drain(service["c"])
    _advance(service, steps)
    final = http.get(f"{base}/api/v1/consignments/{consignment['id']}").json()
    assert final["status"] == "delivered"

    ledger = _ledger(service)
    code, link = final["tracking_code"], consignment["tracking_url"]
    assert len(ledger) == len(expected)
    wording = {
        "booked": "se duoc gui qua buu dien",
        "out_for_delivery": "Buu ta dang phat",
        "delivery_failed": "Chua phat duoc",
        "delivered": "da duoc phat thanh cong",
    }
    for entry, event in zip(ledger, expected, strict=True):
        text = entry["content"]
        n = sms_length(text)
        assert (n.encoding, n.parts) == ("gsm7", 1) and n.units <= 160
        assert text.startswith("HCCHANOI: ") and wording[event] in text
        assert code in text and text.endswith(f"Tra cuu: {link}")
        assert "Nguyen" not in text and "Lang Ha" not in text and "Phieu ly lich" not in text
        assert entry["phone"] == "0912345678" and entry["sandbox"] is True
        assert entry["extra"]["SmsType"] == "2"
    assert len({e["request_id"] for e in ledger}) == len(ledger)

    # Replays of every step (a poll that sees it all again) send nothing more.
    _advance(service, 2)
    assert len(_ledger(service)) == len(expected)

    # The gateway reports delivery to the callback URL we gave it (its origin swapped for the loopback one).
    last = ledger[-1]
    assert last["callback_url"] == f"http://pb.test/webhooks/sms/esms/{SECRET}"
    answer = requests.post(
        f"{service['gateway'].url}/__fake/messages/{last['gateway_id']}/report",
        json={"status": "delivered", "base": base},
        timeout=10,
    ).json()
    assert answer["answer"] == 200
    from postal_bridge.services import sms

    messages = sms.messages_of(service["c"].deps, consignment["id"])
    assert [m.event for m in messages] == expected
    assert [m.status.value for m in messages] == ["sent"] * (len(expected) - 1) + ["delivered"]
