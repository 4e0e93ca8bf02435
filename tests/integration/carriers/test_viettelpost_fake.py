"""The Viettel Post adapter against its fake (tests/fakes/viettelpost.py) on a loopback port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.carriers.base import (
    AddressNotResolvable,
    CarrierAddress,
    CarrierEnv,
    ConsignmentRequest,
    CourierStatus,
    InvalidState,
    OutcomeUnknown,
    QuoteRequest,
    WebhookAuthError,
    WebhookRequest,
)
from adapters.carriers.viettelpost import ViettelPostCarrier
from tests.fakes import viettelpost as vtp_fake
from tests.fakes.server import LoopbackServer

AGENCY = CarrierAddress(
    name="Trung tâm Phục vụ hành chính công",
    phone="+842437332222",
    line="1 Quán Thánh",
    ward_code="00004",
    ward_name="Phường Ba Đình",
    province_code="01",
    province_name="Thành phố Hà Nội",
)
CITIZEN = CarrierAddress(
    name="Nguyễn Thị Lan",
    phone="+84912345678",
    line="12 Tân Trào",
    ward_code="02215",
    ward_name="Phường Minh Xuân",
    province_code="08",
    province_name="Tỉnh Tuyên Quang",
)


def after_booking() -> datetime:
    """Event times a little after "now": the fake stamps its creation event with the real time, so a time fixed when
    the module was imported fell before it once a long suite had run five minutes, and the poll order flipped."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


@pytest.fixture(scope="module")
def fake():
    f = vtp_fake.make()
    f.timeout_seconds = 2
    with LoopbackServer(f.app) as server:
        f.url = server.url
        yield f


@pytest.fixture
def adapter(fake):
    requests.post(fake.url + "/__fake/reset", timeout=5)
    fake.config.update({"duplicate_mode": "reject", "v3_wards": True, "token_ttl_seconds": 3600})
    env = CarrierEnv(now=lambda: datetime.now(UTC), read_timeout=1.0, connect_timeout=1.0)
    return ViettelPostCarrier(vtp_fake.agency_settings(fake.url), env)


def request(ref: str, kind: str = "return", cod: int = 0) -> ConsignmentRequest:
    sender, recipient = (AGENCY, CITIZEN) if kind == "return" else (CITIZEN, AGENCY)
    return ConsignmentRequest(
        client_ref=ref,
        kind=kind,
        service="standard",
        sender=sender,
        recipient=recipient,
        weight_g=300,
        contents="Kết quả TTHC",
        cod_vnd=cod,
    )


def push(fake, adapter, ref: str, event: dict) -> list:
    body, headers = fake.webhook_payload(fake.orders[ref], event)
    req = WebhookRequest(
        headers={k.lower(): v for k, v in headers.items()}, body=body, content_type=headers["Content-Type"]
    )
    adapter.verify_webhook(req)
    return adapter.parse_webhook(req)


def test_return_lifecycle_by_webhook_and_poll(fake, adapter):
    result = adapter.create(request("H10-RET-1"))
    assert result.carrier == "viettelpost" and result.carrier_ref.isdigit() and len(result.carrier_ref) == 12
    assert result.fee_total_vnd and result.raw["data"]["KPI_HT"] == 72
    assert fake.orders[result.carrier_ref].client_ref == "H10-RET-1"
    sent = fake.orders[result.carrier_ref].data
    assert (sent["SENDER_WARD"], sent["RECEIVER_WARD"], sent["RECEIVER_PHONE"]) == (100004, 802215, "0912345678")

    label = adapter.label([result.carrier_ref])
    page = requests.get(label.url, timeout=5)
    assert label.content_type == "text/html" and result.carrier_ref in page.text

    pushed, t0 = [], after_booking()
    for i, code in enumerate(vtp_fake.LIFECYCLE_RETURN):
        event = fake.advance(result.carrier_ref, code, at=t0 + timedelta(hours=i), fire=False)
        pushed += push(fake, adapter, result.carrier_ref, event)
    assert pushed[-1].status == CourierStatus.DELIVERED and all(e.source == "webhook" for e in pushed)

    polled = adapter.track(result.carrier_ref)
    assert polled[-1].status == CourierStatus.DELIVERED
    assert [e.raw_code for e in polled] == ["-100", *vtp_fake.LIFECYCLE_RETURN]
    # The same courier event seen by push and by poll has one dedup key.
    assert {e.dedup_key for e in pushed} <= {e.dedup_key for e in polled}


def test_pickup_lifecycle_to_the_agency(fake, adapter):
    result = adapter.create(request("H10-PICK-1", kind="pickup"))
    t0 = after_booking()
    for i, code in enumerate(vtp_fake.LIFECYCLE_PICKUP):
        fake.advance(result.carrier_ref, code, at=t0 + timedelta(hours=i), fire=False)
    statuses = [e.status for e in adapter.track(result.carrier_ref)]
    assert CourierStatus.PICKED_UP in statuses and statuses[-1] == CourierStatus.DELIVERED


def test_cancel_before_pickup_and_refused_after(fake, adapter):
    early = adapter.create(request("H10-CAN-1"))
    fake.advance(early.carrier_ref, "100", fire=False)
    adapter.cancel(early.carrier_ref, "agency cancelled")
    assert fake.orders[early.carrier_ref].cancelled
    adapter.cancel(early.carrier_ref)  # already cancelled counts as success
    assert adapter.track(early.carrier_ref)[-1].status == CourierStatus.CANCELLED

    late = adapter.create(request("H10-CAN-2"))
    fake.advance(late.carrier_ref, vtp_fake.PICKED_UP_CODE, fire=False)
    with pytest.raises(InvalidState):
        adapter.cancel(late.carrier_ref)
    assert not fake.orders[late.carrier_ref].cancelled


def test_token_expiry_and_refresh(fake, adapter):
    adapter.create(request("H10-TOK-1"))
    logins = fake.logins
    fake.expire_tokens()
    result = adapter.create(request("H10-TOK-2"))
    assert result.carrier_ref in fake.orders
    assert fake.logins == logins + 1
    expired = [r for r in fake.requests_log if r["path"] == "/v2/order/createOrder"]
    assert len(expired) == 3  # first create, refused with the expired token, retried with a fresh one


def test_create_timeout_after_commit_is_recovered_without_a_second_order(fake, adapter):
    requests.post(
        fake.url + "/__fake/faults",
        json={"op": "create", "kind": "timeout", "count": 1, "after_commit": True},
        timeout=5,
    )
    with pytest.raises(OutcomeUnknown):
        adapter.create(request("H10-TMO-1"))
    # VTP has no lookup by our reference: re-sending the same ORDER_NUMBER is the recovery path.
    recovered = adapter.create(request("H10-TMO-1"))
    assert [o.ref for o in fake.orders.values() if o.client_ref == "H10-TMO-1"] == [recovered.carrier_ref]


def test_duplicate_modes_of_the_fake(fake, adapter):
    from adapters.carriers.base import DuplicateReference

    first = adapter.create(request("H10-DUP-1"))
    fake.config["duplicate_mode"] = "reject_bare"
    with pytest.raises(DuplicateReference):
        adapter.create(request("H10-DUP-1"))
    fake.config["duplicate_mode"] = "accept"
    assert adapter.create(request("H10-DUP-1")).carrier_ref != first.carrier_ref


def test_duplicate_and_out_of_order_webhooks_share_dedup_keys(fake, adapter):
    ref = adapter.create(request("H10-WH-1")).carrier_ref
    t0 = after_booking()
    events = [fake.advance(ref, c, at=t0 + timedelta(minutes=i), fire=False) for i, c in enumerate(["105", "200"])]
    in_order = [push(fake, adapter, ref, e)[0].dedup_key for e in events]
    replayed = [push(fake, adapter, ref, e)[0].dedup_key for e in reversed(events)]
    assert sorted(in_order) == sorted(replayed) and len(set(in_order)) == 2


def test_text_only_webhook_is_provisional(fake, adapter):
    ref = adapter.create(request("H10-TXT-1")).carrier_ref
    event = fake.advance(ref, "", at=after_booking(), fire=False, extra={"status_name": "Chờ phát lại"})
    [parsed] = push(fake, adapter, ref, event)
    assert (parsed.raw_code, parsed.status, parsed.provisional) == ("", CourierStatus.DELIVERY_FAILED, True)


def test_forged_webhook_is_refused(fake, adapter):
    ref = adapter.create(request("H10-FRG-1")).carrier_ref
    event = fake.advance(ref, "105", fire=False)
    fake.config["webhook_secret"] = "not-the-secret"
    try:
        body, _ = fake.webhook_payload(fake.orders[ref], event)
    finally:
        fake.config["webhook_secret"] = vtp_fake.WEBHOOK_SECRET
    with pytest.raises(WebhookAuthError):
        adapter.verify_webhook(WebhookRequest(headers={}, body=body))


def test_webhook_with_authorization_header(fake, adapter):
    ref = adapter.create(request("H10-HDR-1")).carrier_ref
    fake.config["webhook_auth_header"] = True
    try:
        body, headers = fake.webhook_payload(fake.orders[ref], fake.advance(ref, "105", fire=False))
    finally:
        fake.config["webhook_auth_header"] = False
    assert headers["Authorization"] == vtp_fake.WEBHOOK_SECRET
    adapter.verify_webhook(WebhookRequest(headers={"authorization": headers["Authorization"]}, body=body))


def test_resolve_address(fake, adapter):
    codes = adapter.resolve_address(AGENCY)
    assert (codes.province_id, codes.ward_id, codes.district_id) == ("1", "100004", None)
    assert adapter.resolve_address(CITIZEN).ward_id == "802215"
    with pytest.raises(AddressNotResolvable, match="no ward matching Phường Không Có"):
        adapter.resolve_address(
            CarrierAddress(**{**AGENCY.__dict__, "ward_code": "99999", "ward_name": "Phường Không Có"})
        )


def test_resolve_address_falls_back_to_the_district_tree(fake, adapter):
    fake.config["v3_wards"] = False
    ngoc_ha = CarrierAddress(**{**AGENCY.__dict__, "ward_code": "00008", "ward_name": "Phường Ngọc Hà"})
    codes = adapter.resolve_address(ngoc_ha)
    assert (codes.ward_id, codes.district_id) == ("8", "1")
    with pytest.raises(AddressNotResolvable):
        adapter.resolve_address(AGENCY)  # no "Phường Ba Đình" in the legacy tree: never guess


def test_quote(fake, adapter):
    quotes = adapter.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))
    assert [(q.service, q.carrier_service) for q in quotes] == [("standard", "VTK"), ("express", "VCN")]
    assert quotes[0].fee_vnd < quotes[1].fee_vnd and quotes[0].promised_days == 3
