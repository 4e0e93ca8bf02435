"""The GHTK adapter against the fake GHTK API on loopback: lifecycle by webhook and by polling, cancel rules,
token expiry, a create that times out after the courier stored it, webhook replay/out-of-order/forgery,
address resolution and quotes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask, request

from adapters.carriers.base import CarrierEnv
from adapters.carriers.ghtk import STATUS_MAP, GHTKCarrier
from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    CarrierAddress,
    CarrierAuthError,
    ConsignmentRequest,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    OutcomeUnknown,
    QuoteRequest,
    RouteNotServiceable,
    TrackingEvent,
    WebhookAuthError,
    WebhookRequest,
)
from tests.fakes import ghtk as fake_ghtk
from tests.fakes.server import LoopbackServer

AGENCY = CarrierAddress(
    name="Bộ phận Một cửa UBND Phường Ba Đình",
    phone="+84243823456",
    line="Số 1 Phố Điện Biên Phủ",
    ward_code="00004",
    ward_name="Phường Ba Đình",
    province_code="01",
    province_name="Thành phố Hà Nội",
)
CITIZEN = CarrierAddress(
    name="Nguyễn Văn An",
    phone="+84912345678",
    line="Số 12 Đường Tân Trào",
    ward_code="02215",
    ward_name="Phường Minh Xuân",
    province_code="08",
    province_name="Tỉnh Tuyên Quang",
)
T0 = datetime(2025, 9, 15, 2, 0, tzinfo=UTC)


def return_req(ref: str = "H10.1-240915-0001-R1") -> ConsignmentRequest:
    return ConsignmentRequest(
        client_ref=ref,
        kind="return",
        service="standard",
        sender=AGENCY,
        recipient=CITIZEN,
        weight_g=350,
        contents="Hồ sơ TTHC",
    )


def pickup_req(ref: str = "H10.1-240915-0001-P1") -> ConsignmentRequest:
    return replace(return_req(ref), kind="pickup", sender=CITIZEN, recipient=AGENCY, service="express")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[fake_ghtk.GHTKFake, LoopbackServer]]:
    fake = fake_ghtk.GHTKFake(timeout_seconds=2)
    with LoopbackServer(fake.app) as srv:
        yield fake, srv


@pytest.fixture
def fake(server: tuple[fake_ghtk.GHTKFake, LoopbackServer]) -> fake_ghtk.GHTKFake:
    fake, srv = server
    requests.post(f"{srv.url}/__fake/reset", timeout=5).raise_for_status()
    fresh = fake_ghtk.GHTKFake().config
    with fake.lock:
        fake.config.clear()
        fake.config.update(fresh)
    return fake


@pytest.fixture
def url(server: tuple[fake_ghtk.GHTKFake, LoopbackServer]) -> str:
    return server[1].url


def make_adapter(url: str, **overrides: str) -> GHTKCarrier:
    settings = {**fake_ghtk.agency_settings(url), **overrides}
    return GHTKCarrier(settings, CarrierEnv(now=lambda: T0, read_timeout=1.0))


def push(adapter: GHTKCarrier, fake: fake_ghtk.GHTKFake, ref: str, event: dict) -> list[TrackingEvent]:
    """What the bridge does with a push: build the request as received, authenticate, parse."""
    body, headers = fake.webhook_payload(fake.orders[ref], event)
    req = WebhookRequest(
        headers={k.lower(): v for k, v in headers.items()}, body=body, content_type=headers["Content-Type"]
    )
    adapter.verify_webhook(req)
    return adapter.parse_webhook(req)


def orders_in_ledger(url: str) -> list[dict]:
    return requests.get(f"{url}/__fake/orders", timeout=5).json()


# -- lifecycle -------------------------------------------------------------------------------------------------------


def test_create_label_and_lifecycle_by_webhook(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    result = a.create(return_req())
    assert result.carrier == "ghtk" and result.carrier_ref.startswith(f"{fake_ghtk.SHOP}.A1.")
    assert result.carrier_internal_id is None  # the label addresses every later call
    assert str(result.raw["order"]["tracking_id"]).isdigit()
    assert result.fee_total_vnd and result.fee_total_vnd > 0
    [stored] = orders_in_ledger(url)
    assert stored["client_ref"] == "H10.1-240915-0001-R1" and stored["data"]["order"]["province"] == "Tỉnh Tuyên Quang"
    assert stored["data"]["products"][0]["weight"] == 0.35 and stored["data"]["weight_g"] == 350

    label = a.label([result.carrier_ref])
    assert label.content_type == "application/pdf" and label.content.startswith(b"%PDF-1.4")
    assert label.content.rstrip().endswith(b"%%EOF")

    events: list[TrackingEvent] = []
    steps = [*fake_ghtk.LIFECYCLE_RETURN[:-1], "45", fake_ghtk.LIFECYCLE_RETURN[-1]]
    for i, code in enumerate(steps, start=1):
        event = fake.advance(result.carrier_ref, code, at=T0 + timedelta(hours=i), fire=False)
        [parsed] = push(a, fake, result.carrier_ref, event)
        assert parsed.status == STATUS_MAP[code].status and parsed.provisional == STATUS_MAP[code].provisional
        events.append(parsed)
    assert [e.raw_code for e in events] == steps
    assert events[-2].status == CourierStatus.DELIVERED and events[-2].provisional  # 45: confirm via the detail
    assert events[-1].status == CourierStatus.DELIVERED and not events[-1].provisional
    # the detail (polling) confirms the main state
    [polled] = a.track(result.carrier_ref)
    assert (polled.raw_code, polled.status, polled.provisional) == ("5", CourierStatus.DELIVERED, False)
    assert polled.dedup_key == events[-1].dedup_key  # same label|status|time as the push


def test_lifecycle_by_polling_pickup_leg(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    result = a.create(pickup_req())
    stored = orders_in_ledger(url)[0]["data"]["order"]
    assert (stored["pick_name"], stored["name"], stored["transport"]) == ("Nguyễn Văn An", AGENCY.name, "fly")
    [first] = a.track(result.carrier_ref)
    assert first.status == CourierStatus.CREATED and first.source == "poll"
    seen = []
    for i, code in enumerate(fake_ghtk.LIFECYCLE_PICKUP, start=1):
        fake.advance(result.carrier_ref, code, at=T0 + timedelta(hours=i), fire=False)
        if code == fake_ghtk.PICKED_UP_CODE:
            # a courier-reported sub-state never shows in the detail: the main state stays
            fake.advance(result.carrier_ref, "128", at=T0 + timedelta(hours=i, minutes=30), fire=False)
        [event] = a.track(result.carrier_ref)
        assert event.raw_code == code and event.occurred_at == T0 + timedelta(hours=i)
        assert event.occurred_at.utcoffset() == timedelta(hours=7)
        seen.append(event.status)
    assert seen[-1] == CourierStatus.DELIVERED
    assert CourierStatus.PICKED_UP in seen


# -- cancel ----------------------------------------------------------------------------------------------------------


def test_cancel_before_pickup(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    ref = a.create(return_req()).carrier_ref
    fake.advance(ref, "2", fire=False)
    a.cancel(ref)
    [stored] = orders_in_ledger(url)
    assert stored["cancelled"] and stored["status"] == "-1"
    assert a.track(ref)[0].status == CourierStatus.CANCELLED
    a.cancel(ref)  # already cancelled counts as success


def test_cancel_after_pickup_is_refused(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    ref = a.create(return_req()).carrier_ref
    for code in fake_ghtk.LIFECYCLE_RETURN[: fake_ghtk.LIFECYCLE_RETURN.index(fake_ghtk.PICKED_UP_CODE) + 1]:
        fake.advance(ref, code, fire=False)
    with pytest.raises(InvalidState):
        a.cancel(ref)
    assert not orders_in_ledger(url)[0]["cancelled"]


# -- auth ------------------------------------------------------------------------------------------------------------


def test_token_expiry_raises_auth_error_and_a_new_token_works(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    requests.post(f"{url}/__fake/config", json={"expired_tokens": [fake_ghtk.TOKEN]}, timeout=5).raise_for_status()
    with pytest.raises(CarrierAuthError, match="hết hạn"):
        a.create(return_req())
    creates = [r for r in requests.get(f"{url}/__fake/requests", timeout=5).json() if r["path"].endswith("/order")]
    assert len(creates) == 1  # GHTK tokens are static: nothing to refresh, no blind retry
    assert orders_in_ledger(url) == []
    # staff issue a new token in the GHTK portal and update the settings
    requests.post(f"{url}/__fake/config", json={"tokens": [fake_ghtk.TOKEN, "new-token"]}, timeout=5)
    assert make_adapter(url, token="new-token").create(return_req()).carrier_ref
    with pytest.raises(CarrierAuthError):
        make_adapter(url, token="forged").track("S1.A1.1")


def test_client_source_header(fake: fake_ghtk.GHTKFake, url: str) -> None:
    requests.post(f"{url}/__fake/config", json={"client_source": "PARTNER1"}, timeout=5)
    with pytest.raises(CarrierAuthError):
        make_adapter(url).create(return_req())
    ok = make_adapter(url, client_source="PARTNER1").create(return_req())
    last = requests.get(f"{url}/__fake/requests", timeout=5).json()[-1]
    assert last["headers"]["x-client-source"] == "PARTNER1" and last["headers"]["token"] == fake_ghtk.TOKEN
    assert ok.carrier_ref


# -- timeout after commit → lookup by reference ---------------------------------------------------------------------


def test_create_timeout_after_commit_is_recovered_by_reference(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    requests.post(
        f"{url}/__fake/faults", json={"op": "create", "kind": "timeout", "after_commit": True}, timeout=5
    ).raise_for_status()
    with pytest.raises(OutcomeUnknown):
        a.create(return_req())
    found = a.find_by_reference("H10.1-240915-0001-R1")
    assert found is not None and found.client_ref == "H10.1-240915-0001-R1"
    [stored] = orders_in_ledger(url)
    assert found.carrier_ref == stored["ref"]
    # a retry with the same reference is refused as a duplicate carrying the label: still one order
    with pytest.raises(DuplicateReference) as exc:
        a.create(return_req())
    assert exc.value.existing_ref == stored["ref"]
    assert len(orders_in_ledger(url)) == 1
    assert a.find_by_reference("never-booked") is None


# -- webhooks --------------------------------------------------------------------------------------------------------


def test_duplicate_and_out_of_order_webhooks_give_the_same_keys(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    ref = a.create(return_req()).carrier_ref
    events = [
        fake.advance(ref, code, at=T0 + timedelta(minutes=10 * i), fire=False)
        for i, code in enumerate(fake_ghtk.LIFECYCLE_RETURN, start=1)
    ]
    in_order = [push(a, fake, ref, e)[0].dedup_key for e in events]
    replayed = [push(a, fake, ref, e)[0].dedup_key for e in reversed(events + events)]
    fake.config["webhook_format"] = "json"
    as_json = [push(a, fake, ref, e)[0].dedup_key for e in events]
    assert len(set(in_order)) == len(events)
    assert set(replayed) == set(in_order) and as_json == in_order
    # folding by occurred_at (not arrival) ends delivered
    parsed = [push(a, fake, ref, e)[0] for e in reversed(events)]
    assert max(parsed, key=lambda e: e.occurred_at).status == CourierStatus.DELIVERED


def test_forged_webhooks_are_refused(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    ref = a.create(return_req()).carrier_ref
    event = fake.advance(ref, "2", fire=False)
    fake.config["webhook_hash"] = "not-the-secret"
    with pytest.raises(WebhookAuthError):
        push(a, fake, ref, event)
    fake.config["webhook_hash"] = None
    with pytest.raises(WebhookAuthError):
        push(a, fake, ref, event)
    # path-token mode: the secret is the last segment of the URL GHTK posts to
    path_mode = make_adapter(url, webhook_auth="path")
    body, headers = fake.webhook_payload(fake.orders[ref], event)
    good = WebhookRequest(
        headers={}, body=body, content_type=headers["Content-Type"], path_token=fake_ghtk.WEBHOOK_SECRET
    )
    path_mode.verify_webhook(good)
    with pytest.raises(WebhookAuthError):
        path_mode.verify_webhook(replace(good, path_token="guess"))


def test_webhook_is_resent_once_on_non_200(fake: fake_ghtk.GHTKFake, url: str) -> None:
    """The fake pushes to a receiver that fails once, then answers with the adapter's ack."""
    a = make_adapter(url)
    received: list[TrackingEvent] = []
    lock = threading.Lock()
    receiver = Flask("ghtk-receiver")

    @receiver.post("/webhooks/carriers/ghtk/<token>")
    def hook(token: str):
        req = WebhookRequest(
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.get_data(),
            content_type=request.content_type or "",
            path_token=token,
        )
        with lock:
            first = not received and not getattr(hook, "failed", False)
            if first:
                hook.failed = True
                return "busy", 503
        a.verify_webhook(req)
        events = a.parse_webhook(req)
        with lock:
            received.extend(events)
        status, ctype, body = a.webhook_ack(True)
        return body, status, {"Content-Type": ctype}

    ref = a.create(return_req()).carrier_ref
    with LoopbackServer(receiver) as rx:
        fake.config["webhook_url"] = f"{rx.url}/webhooks/carriers/ghtk/{fake_ghtk.WEBHOOK_SECRET}"
        requests.post(f"{url}/__fake/orders/{ref}/advance", json={"to": "12"}, timeout=10).raise_for_status()
    attempts = [w for w in fake.webhook_log if w["ref"] == ref]
    assert [w["status"] for w in attempts] == [503, 200]
    [event] = received
    assert (event.raw_code, event.status, event.source) == ("12", CourierStatus.AWAITING_PICKUP, "webhook")


# -- addresses and quotes --------------------------------------------------------------------------------------------


def test_resolve_address(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    codes = a.resolve_address(CITIZEN)
    assert (codes.province_name, codes.district_name, codes.ward_name) == (
        "Tỉnh Tuyên Quang",
        "Thành phố Tuyên Quang",
        "Phường Minh Xuân",
    )
    assert (
        a.resolve_address(replace(AGENCY, ward_code="00008", ward_name="Phường Ngọc Hà")).ward_name == "Phường Ngọc Hà"
    )
    with pytest.raises(AddressNotResolvable, match="GHTK has no ward matching Phường Không Có in Thành phố Hà Nội"):
        a.resolve_address(replace(AGENCY, ward_code="99999", ward_name="Phường Không Có"))


def test_quote(fake: fake_ghtk.GHTKFake, url: str) -> None:
    a = make_adapter(url)
    req = QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=350)
    quotes = a.quote(req)
    assert [(q.service, q.carrier_service) for q in quotes] == [("standard", "road"), ("express", "fly")]
    assert quotes[0].fee_vnd == 30_000 and quotes[1].fee_vnd > quotes[0].fee_vnd
    last = requests.get(f"{url}/__fake/requests", timeout=5).json()[-1]
    assert "weight=350" in last["query"] and "transport=fly" in last["query"]
    requests.post(f"{url}/__fake/config", json={"unserviceable_provinces": ["Tỉnh Tuyên Quang"]}, timeout=5)
    with pytest.raises(RouteNotServiceable):
        a.quote(req)
    with pytest.raises(AddressNotResolvable):
        a.quote(replace(req, recipient=replace(CITIZEN, ward_code="99999", ward_name="Xã Không Có")))
