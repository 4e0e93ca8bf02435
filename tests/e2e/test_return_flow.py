"""The foundation's whole path over real HTTP: a result is sent home by post and the dossier system hears it arrived.

create → booked → label PDF (text round trip + barcode decode) → sandbox events → delivered, with a fake dossier
system on loopback receiving every signed callback, in order, none lost.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import drain, register_hanoi
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer
from tests.pdf_tools import decode, pdftotext, rasterise

RETURN_BODY = {
    "kind": "return",
    "carrier": "sandbox",
    "service": "standard",
    "dossier": {
        "code": "000.00.12.H56-261115-0007",
        "procedure_code": "1.001229",
        "procedure_name": "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        "appointment_date": "2026-11-25",
    },
    "citizen": {
        "name": "Nguyễn Thị Hằng",
        "phone": "0912 345 678",
        "address": {"line": "Số 12 ngõ 34 phố Láng Hạ", "ward_code": "00004", "province_code": "01"},
    },
    "parcel": {"weight_g": 250, "contents": "Phiếu lý lịch tư pháp số 2"},
    "cod_vnd": 0,
    "options": {},
}
LIFECYCLE = ["requested", "booked", "picked_up", "in_transit", "out_for_delivery", "delivered"]


@pytest.fixture
def service(container, clock):
    """The app on a real loopback port, one agency, one API key whose callback points at the fake dossier system."""
    from postal_bridge import create_app
    from postal_bridge.services import agencies

    register_hanoi(container.deps)
    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp())
    with LoopbackServer(receiver.app) as hook, LoopbackServer(create_app(container=container)) as web:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {issued.api_key}"
        yield {"base": web.url, "http": session, "receiver": receiver, "container": container}


def _advance_sandbox(container, clock, steps: int) -> None:
    from postal_bridge.services import tracking

    for _ in range(steps):
        clock.advance(container.settings.sandbox_step_seconds + 1)
        tracking.poll_due(container.deps)
        drain(container)


def test_return_is_delivered_and_every_callback_arrives_signed_in_order(service, clock) -> None:
    base, http, receiver, container = service["base"], service["http"], service["receiver"], service["container"]

    created = http.post(f"{base}/api/v1/consignments", json=RETURN_BODY, headers={"Idempotency-Key": "e2e-1"})
    assert created.status_code == 201, created.text
    consignment = created.json()
    assert consignment["status"] == "requested"
    assert consignment["tracking_code"] is None
    assert consignment["tracking_url"].startswith("http://pb.test/t/")
    label = http.get(f"{base}{consignment['label_url']}")
    assert label.status_code == 409  # not booked yet

    drain(container)  # book + render label + callbacks
    booked = http.get(f"{base}/api/v1/consignments/{consignment['id']}").json()
    assert booked["status"] == "booked"
    code = booked["tracking_code"]
    from postal_bridge.domain import s10

    assert s10.is_valid(code)

    label = http.get(f"{base}{consignment['label_url']}")
    assert label.status_code == 200
    assert label.headers["Content-Type"] == "application/pdf"
    text = pdftotext(label.content)
    for expected in (
        "Nguyễn Thị Hằng",
        "Số 12 ngõ 34 phố Láng Hạ",
        "Phường Ba Đình, Thành phố Hà Nội",
        "000.00.12.H56-261115-0007",
        s10.spaced(code),
    ):
        assert expected in text
    decoded = set(decode(rasterise(label.content, dpi=203, mono=True)[0]))
    assert ("Code128", code) in decoded
    assert ("QRCode", f"{consignment['tracking_url']}#{code}") in decoded  # the link, and the code for scanners

    _advance_sandbox(container, clock, steps=4)
    final = http.get(f"{base}/api/v1/consignments/{consignment['id']}").json()
    assert final["status"] == "delivered"
    assert [e["status"] for e in final["events"]] == LIFECYCLE

    deliveries = receiver.deliveries
    assert deliveries and all(d["signature_valid"] for d in deliveries)
    events = receiver.events()
    assert [e["data"]["status"] for e in events] == LIFECYCLE
    assert [e["data"]["previous_status"] for e in events] == [None, *LIFECYCLE[:-1]]
    assert {e["data"]["consignment_id"] for e in events} == {consignment["id"]}
    assert all(e["type"] == "consignment.status_changed" for e in events)
    assert events[-1]["data"]["tracking_code"] == code
    # Duplicates, if any, carry the same webhook-id as the original.
    assert len(set(receiver.received_ids())) == len(LIFECYCLE)

    page = requests.get(f"{base}/t/{consignment['tracking_url'].rsplit('/', 1)[1]}")
    assert page.status_code == 200
    assert "Đã phát thành công" in page.text
    assert "Nguyễn T. H." in page.text
    assert "0912345678" not in page.text and "345 678" not in page.text
    assert "Số 12 ngõ 34" not in page.text


def test_a_receiver_down_for_hours_gets_every_event_later_in_order(service, clock) -> None:
    base, http, receiver, container = service["base"], service["http"], service["receiver"], service["container"]
    from postal_bridge.services import outbox

    receiver.mode = "down"
    created = http.post(f"{base}/api/v1/consignments", json=RETURN_BODY, headers={"Idempotency-Key": "e2e-2"})
    assert created.status_code == 201
    drain(container)
    _advance_sandbox(container, clock, steps=4)
    assert http.get(f"{base}/api/v1/consignments/{created.json()['id']}").json()["status"] == "delivered"
    assert receiver.events() == []  # nothing accepted while down
    assert all(d["status"] == 503 for d in receiver.deliveries)

    receiver.mode = "ok"
    for _ in range(12):  # ≈ five hours in steps; the relay re-wakes due retries
        clock.advance(30 * 60)
        outbox.relay_due(container.deps)
        drain(container)
    statuses = [e["data"]["status"] for e in receiver.events()]
    assert statuses == LIFECYCLE


def test_api_answers_contract_errors(service) -> None:
    base, http = service["base"], service["http"]
    no_key = http.post(f"{base}/api/v1/consignments", json=RETURN_BODY)
    assert no_key.status_code == 400
    assert set(no_key.json()) >= {"code", "status", "message", "errors"}

    anonymous = requests.get(f"{base}/api/v1/consignments")
    assert anonymous.status_code == 401

    bad = dict(RETURN_BODY, citizen={**RETURN_BODY["citizen"], "phone": "12"}, parcel={"weight_g": 0, "contents": ""})
    resp = http.post(f"{base}/api/v1/consignments", json=bad, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status_code == 422
    errors = resp.json()["errors"]["json"]
    assert "phone" in errors["citizen"]
    assert set(errors["parcel"]) == {"weight_g", "contents"}
    assert http.get(f"{base}/api/v1/consignments").json()["total"] == 0  # nothing stored

    unknown = http.get(f"{base}/api/v1/consignments/{uuid.uuid4()}")
    assert unknown.status_code == 404


def test_a_callback_whose_answer_is_lost_is_resent_with_the_same_webhook_id(container, clock) -> None:
    """The receiver processes a callback but its answer never reaches us: the retry carries the same webhook-id."""
    from adapters.dossier.webhook import HttpWebhookSender
    from postal_bridge.services import agencies, outbox

    container.deps.webhooks = HttpWebhookSender(read_timeout=0.5)
    register_hanoi(container.deps)
    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp(), slow_seconds=1.0)
    with LoopbackServer(receiver.app) as hook:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="s", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        receiver.mode = "slow"  # answers 200 after we stopped waiting
        from postal_bridge import create_app

        client = create_app(container=container).test_client()
        resp = client.post(
            "/api/v1/consignments",
            json=RETURN_BODY,
            headers={"Authorization": f"Bearer {issued.api_key}", "Idempotency-Key": "dup"},
        )
        assert resp.status_code == 201
        drain(container)
        receiver.mode = "ok"
        for _ in range(3):
            clock.advance(400)
            outbox.relay_due(container.deps)
            drain(container)
    ids = receiver.received_ids()
    assert len(ids) > len(set(ids))  # at least one message arrived twice …
    by_id: dict[str, set[str]] = {}
    for d in receiver.deliveries:
        by_id.setdefault(d["message_id"], set()).add(d["raw_body"])
    assert all(len(bodies) == 1 for bodies in by_id.values())  # … each time with the same id and body
    assert [e["data"]["status"] for e in receiver.events()] == ["requested", "booked"]
