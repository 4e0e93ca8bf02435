"""The GHN adapter against the fake GHN server on a loopback port: the whole lifecycle, faults and webhooks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.carriers.base import (
    AddressNotResolvable,
    CarrierAddress,
    CarrierAuthError,
    CarrierEnv,
    ConsignmentRequest,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    OutcomeUnknown,
    QuoteRequest,
    RouteNotServiceable,
    WebhookAuthError,
    WebhookRequest,
)
from adapters.carriers.ghn import GHNCarrier
from tests.fakes import ghn as fake_ghn
from tests.fakes.server import LoopbackServer

AGENCY = CarrierAddress(
    "Bộ phận Một cửa phường Ba Đình", "+842438234567", "25 Phan Đình Phùng", "00004", "Phường Ba Đình", "01",
    "Thành phố Hà Nội",
)  # fmt: skip
CITIZEN = CarrierAddress(
    "Nguyễn Văn A", "+84912345678", "12 Tân Trào", "02215", "Phường Minh Xuân", "08", "Tỉnh Tuyên Quang"
)
T0 = datetime(2025, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fake() -> Iterator[fake_ghn.GHNFake]:
    f = fake_ghn.GHNFake(timeout_seconds=2)
    with LoopbackServer(f.app) as server:
        f.url = server.url  # type: ignore[attr-defined]
        yield f


@pytest.fixture
def ghn(fake: fake_ghn.GHNFake) -> GHNCarrier:
    requests.post(f"{fake.url}/__fake/reset", timeout=5)
    fake.print_tokens.clear()
    fake.config.update({"webhook_auth": "basic", "unserviceable_districts": []})
    return GHNCarrier(fake_ghn.agency_settings(fake.url), CarrierEnv(now=lambda: T0, read_timeout=1.0))


def booking(ref: str, kind: str = "return") -> ConsignmentRequest:
    sender, recipient = (AGENCY, CITIZEN) if kind == "return" else (CITIZEN, AGENCY)
    return ConsignmentRequest(ref, kind, "standard", sender, recipient, 300, "Hồ sơ TTHC", cod_vnd=0)


def push(fake: fake_ghn.GHNFake, ref: str, code: str, at: datetime) -> WebhookRequest:
    event = fake.advance(ref, code, at=at, fire=False)
    body, headers = fake.webhook_payload(fake.orders[ref], event)
    return WebhookRequest(headers={k.lower(): v for k, v in headers.items()}, body=body)


def fold(events) -> CourierStatus:
    return sorted(events, key=lambda e: e.occurred_at)[-1].status


def requests_to(fake: fake_ghn.GHNFake, suffix: str) -> list[dict]:
    return [r for r in requests.get(f"{fake.url}/__fake/requests", timeout=5).json() if r["path"].endswith(suffix)]


def test_return_leg_create_label_webhooks_and_polling(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0001-R1"))
    assert result.carrier == "ghn" and result.client_ref == "H10-0001-R1" and result.fee_total_vnd == 30000
    assert len(result.carrier_ref) == 6 and result.carrier_ref.isupper()
    order = fake.orders[result.carrier_ref]
    assert order.status == "ready_to_pick"
    assert (order.data["to_district_id"], order.data["to_ward_code"]) == (1816, "130101")

    label = ghn.label([result.carrier_ref])
    assert label.content_type.startswith("text/html") and result.carrier_ref.encode() in label.content
    assert "/a5/public-api/printA5?token=" in (label.url or "")

    received = []
    for i, code in enumerate(fake_ghn.LIFECYCLE_RETURN):
        req = push(fake, result.carrier_ref, code, T0 + timedelta(hours=i + 1))
        ghn.verify_webhook(req)
        received += ghn.parse_webhook(req)
    assert [e.raw_code for e in received] == fake_ghn.LIFECYCLE_RETURN
    assert all(e.source == "webhook" and e.carrier_ref == result.carrier_ref for e in received)
    assert fold(received) == CourierStatus.DELIVERED

    polled = ghn.track(result.carrier_ref)
    assert [e.raw_code for e in polled] == fake_ghn.LIFECYCLE_RETURN
    assert fold(polled) == CourierStatus.DELIVERED
    assert all(e.source == "poll" and e.occurred_at.tzinfo is not None for e in polled)
    assert [e.dedup_key for e in ghn.track(result.carrier_ref)] == [e.dedup_key for e in polled]


def test_pickup_leg_by_polling(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0002-P1", kind="pickup"))
    body = fake.orders[result.carrier_ref].data
    assert (body["from_name"], body["to_ward_code"], body["return_ward_code"]) == ("Nguyễn Văn A", "1A0107", "130101")
    statuses = []
    for i, code in enumerate(fake_ghn.LIFECYCLE_PICKUP):
        fake.advance(result.carrier_ref, code, at=T0 + timedelta(hours=i + 1), fire=False)
        statuses.append(fold(ghn.track(result.carrier_ref)))
    assert statuses[fake_ghn.LIFECYCLE_PICKUP.index(fake_ghn.PICKED_UP_CODE)] == CourierStatus.PICKED_UP
    assert statuses[-1] == CourierStatus.DELIVERED


def test_cancel_before_pickup_and_again(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0003-R1"))
    fake.advance(result.carrier_ref, "picking", at=T0 + timedelta(minutes=5), fire=False)
    ghn.cancel(result.carrier_ref)
    assert fake.orders[result.carrier_ref].status == "cancel"
    ghn.cancel(result.carrier_ref)  # already cancelled counts as success
    assert fold(ghn.track(result.carrier_ref)) == CourierStatus.CANCELLED


def test_cancel_after_pickup_is_refused(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0004-R1"))
    fake.advance(result.carrier_ref, fake_ghn.PICKED_UP_CODE, at=T0 + timedelta(hours=1), fire=False)
    with pytest.raises(InvalidState):
        ghn.cancel(result.carrier_ref)
    assert fake.orders[result.carrier_ref].status == fake_ghn.PICKED_UP_CODE


def test_print_token_expiry_is_refreshed_once(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0005-R1"))
    first = ghn.label([result.carrier_ref])
    requests.post(f"{fake.url}/__fake/expire-tokens", timeout=5)
    second = ghn.label([result.carrier_ref])
    assert second.content == first.content and second.url != first.url
    assert len(requests_to(fake, "/v2/a5/gen-token")) == 2
    assert [r["query"].startswith("token=") for r in requests_to(fake, "/printA5")] == [True] * 3


def test_print_token_that_never_works_is_an_auth_error(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0006-R1"))
    fake.config["print_token_ttl"] = 0
    try:
        with pytest.raises(CarrierAuthError):
            ghn.label([result.carrier_ref])
    finally:
        fake.config["print_token_ttl"] = 1800


def test_bad_account_token_and_shop(fake: fake_ghn.GHNFake) -> None:
    env = CarrierEnv(now=lambda: T0, read_timeout=1.0)
    for override in ({"token": "wrong"}, {"shop_id": "1"}):
        bad = GHNCarrier({**fake_ghn.agency_settings(fake.url), **override}, env)
        with pytest.raises(CarrierAuthError):
            bad.track("LXXXXX")
    headers = requests_to(fake, "/v2/shipping-order/detail")[-1]["headers"]
    assert headers["token"] == fake_ghn.TOKEN and headers["shopid"] == "1"


def test_create_timeout_after_commit_is_recovered_by_reference(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    requests.post(
        f"{fake.url}/__fake/faults", json={"op": "create", "kind": "timeout", "after_commit": True}, timeout=5
    )
    req = booking("H10-0007-R1")
    with pytest.raises(OutcomeUnknown):
        ghn.create(req)
    found = ghn.find_by_reference(req.client_ref)
    assert found is not None and found.client_ref == req.client_ref
    assert [o.ref for o in fake.orders.values() if o.client_ref == req.client_ref] == [found.carrier_ref]
    with pytest.raises(DuplicateReference) as info:  # a blind retry would be refused, and names the order
        ghn.create(req)
    assert info.value.existing_ref == found.carrier_ref
    assert len(fake.orders) == 1
    assert ghn.find_by_reference("H10-NEVER-BOOKED") is None


def test_duplicate_is_recognised_whatever_ghn_says(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    fake.config["duplicate_message"] = "Dữ liệu không hợp lệ"
    try:
        first = ghn.create(booking("H10-0008-R1"))
        with pytest.raises(DuplicateReference) as info:
            ghn.create(booking("H10-0008-R1"))
        assert info.value.existing_ref == first.carrier_ref
    finally:
        fake.config["duplicate_message"] = "Mã đơn hàng client_order_code đã tồn tại"


def test_duplicate_and_out_of_order_webhooks(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0009-R1"))
    pushes = [
        push(fake, result.carrier_ref, c, T0 + timedelta(hours=i + 1))
        for i, c in enumerate(["picked", "delivering", "delivered"])
    ]
    in_order = [e for p in pushes for e in ghn.parse_webhook(p)]
    shuffled = pushes + pushes[:2]
    random.Random(7).shuffle(shuffled)
    replayed = [e for p in shuffled for e in ghn.parse_webhook(p)]
    assert {e.dedup_key for e in replayed} == {e.dedup_key for e in in_order}
    assert len(replayed) == 5 and len({e.dedup_key for e in replayed}) == 3
    assert fold(replayed) == CourierStatus.DELIVERED


def test_forged_webhooks_are_refused(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    result = ghn.create(booking("H10-0010-R1"))
    fake.config["webhook_secret"] = "not-the-agency-secret"
    try:
        forged = push(fake, result.carrier_ref, "delivered", T0 + timedelta(hours=1))
    finally:
        fake.config["webhook_secret"] = fake_ghn.WEBHOOK_SECRET
    with pytest.raises(WebhookAuthError):
        ghn.verify_webhook(forged)
    with pytest.raises(WebhookAuthError):
        ghn.verify_webhook(replace(forged, headers={}))
    fake.config["webhook_auth"] = "header"
    header_mode = GHNCarrier(
        {**fake_ghn.agency_settings(fake.url), "webhook_auth": "header"}, CarrierEnv(now=lambda: T0)
    )
    genuine = push(fake, result.carrier_ref, "delivering", T0 + timedelta(hours=2))
    header_mode.verify_webhook(genuine)
    with pytest.raises(WebhookAuthError):
        ghn.verify_webhook(genuine)  # the Basic-auth account does not accept a header push


def test_resolve_address(ghn: GHNCarrier) -> None:
    ba_dinh = ghn.resolve_address(AGENCY)
    assert (ba_dinh.province_id, ba_dinh.district_id, ba_dinh.ward_id) == ("201", "1484", "1A0107")
    ngoc_ha = ghn.resolve_address(replace(AGENCY, ward_code="00008", ward_name="Phường Ngọc Hà"))
    assert ngoc_ha.ward_id == "1A0101"
    minh_xuan = ghn.resolve_address(CITIZEN)
    assert (minh_xuan.province_id, minh_xuan.district_id, minh_xuan.ward_id) == ("264", "1816", "130101")
    with pytest.raises(AddressNotResolvable, match="GHN has no ward matching Phường Hà Giang 1 in Tỉnh Tuyên Quang"):
        ghn.resolve_address(replace(CITIZEN, ward_code="00694", ward_name="Phường Hà Giang 1"))


def test_quote(fake: fake_ghn.GHNFake, ghn: GHNCarrier) -> None:
    [quote] = ghn.quote(QuoteRequest("return", AGENCY, CITIZEN, 300))
    assert (quote.service, quote.fee_vnd, quote.carrier_service) == ("standard", 30000, "2")
    assert quote.promised_days is not None and quote.promised_days >= 1
    fake.config["unserviceable_districts"] = [1816]
    with pytest.raises(RouteNotServiceable):
        ghn.quote(QuoteRequest("return", AGENCY, CITIZEN, 300))
