"""GHTK adapter, karrio-style: request mapping, recorded responses, error classes, URL/method/headers (stub session),
every STATUS_MAP row, unknown codes, dedup keys. No sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from adapters.carriers.base import CarrierEnv, MemoryAddressMap
from adapters.carriers.ghtk import STATUS_MAP, GHTKCarrier, mapper
from adapters.carriers.ghtk.settings import load_settings
from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    CarrierAddress,
    CarrierAuthError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    LabelDocument,
    OutcomeUnknown,
    QuoteRequest,
    RateLimited,
    RouteNotServiceable,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "carriers" / "ghtk"
VN = timezone(timedelta(hours=7))
BASE = "https://ghtk.test"
LABEL = "S1234567.A1.1737347101"
REF = "H10.1-240915-0001-R1"
SECRET = "ghtk-hook-secret-5d1a"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


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
RETURN_REQ = ConsignmentRequest(
    client_ref=REF,
    kind="return",
    service="standard",
    sender=AGENCY,
    recipient=CITIZEN,
    weight_g=350,
    contents="Hồ sơ TTHC",
)
QUOTE_REQ = QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=350, service="standard")


# -- a recording stub session (instead of the network) ------------------------------------------------------------


@dataclass
class StubResponse:
    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class StubSession:
    responses: list[StubResponse]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kw: Any) -> StubResponse:
        self.calls.append({"method": method, "url": url, **kw})
        return self.responses.pop(0)


def answer(body: Any, status: int = 200) -> StubResponse:
    return StubResponse(status, json.dumps(body, ensure_ascii=False).encode())


def adapter(*responses: StubResponse, **settings: str) -> tuple[GHTKCarrier, StubSession]:
    session = StubSession(list(responses))
    env = CarrierEnv(now=lambda: datetime(2025, 9, 16, 3, 0, tzinfo=UTC), read_timeout=1.0)
    values = {"token": "tok-123", "base_url": BASE, "webhook_secret": SECRET, **settings}
    return GHTKCarrier(values, env, session=session), session


# -- STATUS_MAP: every row, unknown codes ---------------------------------------------------------------------------


def webhook_fields(code: str, at: str = "2025-09-16T10:15:00+07:00", **extra: Any) -> dict[str, Any]:
    return {"partner_id": REF, "label_id": LABEL, "status_id": code, "action_time": at, **extra}


@pytest.mark.parametrize(("code", "row"), sorted(STATUS_MAP.items()))
def test_every_status_row_parses_from_a_webhook(code: str, row: Any) -> None:
    [event] = mapper.parse_webhook_fields(webhook_fields(code))
    assert (event.status, event.reason, event.provisional) == (row.status, row.reason, row.provisional)
    assert event.raw_code == code and event.source == "webhook"


@pytest.mark.parametrize(("code", "row"), sorted((c, r) for c, r in STATUS_MAP.items() if not r.provisional))
def test_every_main_status_row_parses_from_the_detail(code: str, row: Any) -> None:
    data = fixture("detail_response.json")
    data["order"]["status"] = int(code)
    [event] = mapper.parse_tracking_response(data, carrier_ref=LABEL, now=datetime.now(UTC))
    assert (event.status, event.reason, event.provisional) == (row.status, row.reason, row.provisional)


# carriers.md §2.4, written out independently of the adapter's table.
CARRIERS_MD = {
    "-1": "cancelled", "1": "created", "2": "awaiting_pickup", "12": "awaiting_pickup", "8": "awaiting_pickup",
    "7": "pickup_failed", "3": "picked_up", "4": "out_for_delivery", "10": "out_for_delivery",
    "9": "delivery_failed", "5": "delivered", "6": "delivered", "20": "return_in_progress", "21": "returned",
    "11": "returned", "13": "lost_or_damaged", "123": "picked_up", "127": "pickup_failed", "128": "awaiting_pickup",
    "45": "delivered", "49": "delivery_failed", "410": "out_for_delivery",
}  # fmt: skip


def test_status_map_matches_carriers_md() -> None:
    assert {c: str(r.status) for c, r in STATUS_MAP.items()} == CARRIERS_MD
    assert {c for c, r in STATUS_MAP.items() if r.reason} == {"8", "10", "128", "49", "410"}
    provisional = {c for c, r in STATUS_MAP.items() if r.provisional}
    assert provisional == {"45", "49", "123", "127", "128", "410"}
    assert STATUS_MAP["5"].cod_status == "collected" and STATUS_MAP["6"].cod_status == "reconciled"
    assert STATUS_MAP["-1"].status == CourierStatus.CANCELLED
    assert STATUS_MAP["13"].status == CourierStatus.LOST_OR_DAMAGED


@pytest.mark.parametrize("code", ["99", "", "abc", "-7"])
def test_unknown_code_maps_to_unknown(code: str) -> None:
    if code == "":
        with pytest.raises(WebhookPayloadError):
            mapper.parse_webhook_fields(webhook_fields(code))
        return
    [event] = mapper.parse_webhook_fields(webhook_fields(code))
    assert event.status == CourierStatus.UNKNOWN and event.raw_code == code and not event.provisional
    data = fixture("detail_response.json")
    data["order"]["status"] = code
    [polled] = mapper.parse_tracking_response(data, carrier_ref=LABEL, now=datetime.now(UTC))
    assert polled.status == CourierStatus.UNKNOWN


def test_dedup_keys_are_stable_across_duplicate_deliveries_and_formats() -> None:
    fields = webhook_fields("3", reason="", weight="0.35")
    form = WebhookRequest(headers={}, body=urlencode(fields).encode(), content_type="application/x-www-form-urlencoded")
    as_json = WebhookRequest(
        headers={}, body=json.dumps({**fields, "status_id": 3}).encode(), content_type="application/json"
    )
    a, _ = adapter()
    keys = {a.parse_webhook(r)[0].dedup_key for r in (form, form, as_json)}
    assert keys == {f"{LABEL}|3|2025-09-16T10:15:00+07:00"}
    # the same instant written in UTC is the same event
    utc = mapper.parse_webhook_fields(webhook_fields("3", at="2025-09-16T03:15:00+00:00"))[0]
    assert utc.dedup_key in keys
    # and a poll of the detail at the same time gives the same key shape
    data = fixture("detail_response.json")
    data["order"].update(status="3", modified="2025-09-16 10:15:00")
    assert mapper.parse_tracking_response(data, carrier_ref=LABEL, now=datetime.now(UTC))[0].dedup_key in keys


# -- resolve_address -------------------------------------------------------------------------------------------------


def test_resolve_address_gives_ghtk_names_and_legacy_district_and_caches() -> None:
    a, _ = adapter()
    codes = a.resolve_address(AGENCY)
    assert (codes.province_name, codes.district_name, codes.ward_name) == (
        "Thành phố Hà Nội",
        "Quận Ba Đình",
        "Phường Ba Đình",
    )
    assert a.env.addresses.get("ghtk", a.account, "00004")["ward_name"] == "Phường Ba Đình"
    assert a.resolve_address(CITIZEN).district_name == "Thành phố Tuyên Quang"


def test_resolve_address_uses_the_cache_but_never_against_the_name_given() -> None:
    store = MemoryAddressMap()
    cached = {
        "province_id": "01",
        "ward_id": "00004",
        "province_name": "HN",
        "district_name": "",
        "ward_name": "Ba Đình",
    }
    store.put("ghtk", "default", "00004", cached)
    a = GHTKCarrier({"token": "t"}, CarrierEnv(now=lambda: datetime.now(UTC), addresses=store))
    assert a.resolve_address(AGENCY).province_name == "HN"  # from the cache, not the list
    with pytest.raises(AddressNotResolvable):
        a.resolve_address(replace(AGENCY, ward_name="Phường Hoàn Kiếm"))


@pytest.mark.parametrize(
    "addr",
    [
        replace(AGENCY, ward_code="99999", ward_name="Phường Không Có"),
        replace(AGENCY, ward_name="Phường Hoàn Kiếm"),  # code and name disagree: never guess
        replace(AGENCY, province_code="08", province_name="Tỉnh Tuyên Quang"),  # ward not in that province
    ],
)
def test_resolve_address_refuses_what_it_cannot_place(addr: CarrierAddress) -> None:
    a, _ = adapter()
    with pytest.raises(AddressNotResolvable) as exc:
        a.resolve_address(addr)
    assert exc.value.message == f"GHTK has no ward matching {addr.ward_name} in {addr.province_name}"


# -- quote -----------------------------------------------------------------------------------------------------------


def test_fee_request_mapping() -> None:
    a, _ = adapter()
    params = mapper.build_fee_request(
        QUOTE_REQ, a.resolve_address(AGENCY), a.resolve_address(CITIZEN), transport="road"
    )
    assert params == fixture("fee_request.json")["params"]


def test_fee_response_parses_to_a_quote() -> None:
    q = mapper.parse_fee_response(fixture("fee_response.json"), service="standard", transport="road")
    assert (q.carrier, q.service, q.fee_vnd, q.carrier_service) == ("ghtk", "standard", 30000, "road")
    assert q.raw["fee"]["dt"] == "region"


def test_fee_errors() -> None:
    with pytest.raises(RouteNotServiceable):
        mapper.parse_fee_response(fixture("fee_response_no_delivery.json"), service="standard", transport="road")
    a, _ = adapter(answer(fixture("token_invalid.json"), 403))
    with pytest.raises(CarrierAuthError):
        a.quote(QUOTE_REQ)


def test_quote_url_method_headers_and_express_mapping() -> None:
    a, session = adapter(
        answer(fixture("fee_response.json")), answer(fixture("fee_response.json")), client_source="PARTNER1"
    )
    quotes = a.quote(replace(QUOTE_REQ, service=None))
    assert [(q.service, q.carrier_service) for q in quotes] == [("standard", "road"), ("express", "fly")]
    call = session.calls[0]
    assert (call["method"], call["url"]) == ("GET", f"{BASE}/services/shipment/fee")
    assert call["headers"]["Token"] == "tok-123" and call["headers"]["X-Client-Source"] == "PARTNER1"
    assert session.calls[1]["params"]["transport"] == "fly"


# -- create ----------------------------------------------------------------------------------------------------------


def test_order_request_mapping_return_leg() -> None:
    a, _ = adapter()
    body = mapper.build_order_request(
        RETURN_REQ, a.resolve_address(AGENCY), a.resolve_address(CITIZEN), a.cfg, transport="road"
    )
    assert body == fixture("order_request.json")


def test_order_request_mapping_pickup_leg_grams_and_cod() -> None:
    req = replace(RETURN_REQ, kind="pickup", sender=CITIZEN, recipient=AGENCY, cod_vnd=25000, service="express")
    a, _ = adapter(weight_option="gram", send_district="0")
    body = mapper.build_order_request(
        req, a.resolve_address(CITIZEN), a.resolve_address(AGENCY), a.cfg, transport="fly"
    )
    order = body["order"]
    assert (order["pick_name"], order["pick_tel"], order["pick_ward"]) == (
        "Nguyễn Văn An",
        "0912345678",
        "Phường Minh Xuân",
    )
    assert (order["name"], order["ward"], order["pick_money"]) == (AGENCY.name, "Phường Ba Đình", 25000)
    assert "district" not in order and "pick_district" not in order
    assert body["products"][0]["weight"] == 350 and order["weight_option"] == "gram" and order["transport"] == "fly"


def test_order_response_parses_to_a_result() -> None:
    assert mapper.parse_order_response(fixture("order_response.json"), client_ref=REF) == ConsignmentResult(
        carrier="ghtk",
        carrier_ref=LABEL,
        client_ref=REF,
        carrier_internal_id=None,
        fee_total_vnd=30000,
        raw=fixture("order_response.json"),
    )


def test_order_response_tolerates_missing_fields() -> None:
    r = mapper.parse_order_response({"success": True, "order": {"label": LABEL, "extra": 1}}, client_ref=REF)
    assert (r.carrier_ref, r.carrier_internal_id, r.fee_total_vnd) == (LABEL, None, None)
    with pytest.raises(OutcomeUnknown):
        mapper.parse_order_response({"success": True}, client_ref=REF)


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("order_duplicate.json", 200, DuplicateReference),
        ("order_validation_error.json", 200, CarrierValidationError),
        ("token_invalid.json", 403, CarrierAuthError),
        ("token_expired.json", 200, CarrierAuthError),
    ],
)
def test_create_error_answers(name: str, status: int, error: type) -> None:
    a, session = adapter(answer(fixture(name), status))
    with pytest.raises(error) as exc:
        a.create(RETURN_REQ)
    if error is DuplicateReference:
        assert exc.value.existing_ref == LABEL
    assert len(session.calls) == 1  # static token: no login to repeat, no blind retry


@pytest.mark.parametrize(("status", "error"), [(500, OutcomeUnknown), (502, OutcomeUnknown), (429, RateLimited)])
def test_create_transport_failures(status: int, error: type) -> None:
    a, _ = adapter(StubResponse(status, b"oops"))
    with pytest.raises(error):
        a.create(RETURN_REQ)


def test_create_url_method_headers_body() -> None:
    a, session = adapter(answer(fixture("order_response.json")))
    result = a.create(RETURN_REQ)
    call = session.calls[0]
    assert (call["method"], call["url"]) == ("POST", f"{BASE}/services/shipment/order")
    assert call["headers"]["Token"] == "tok-123" and "X-Client-Source" not in call["headers"]
    assert call["json"] == fixture("order_request.json")
    assert result.carrier_ref == LABEL


def test_create_refuses_a_service_the_account_lacks() -> None:
    a, session = adapter(services="standard")
    with pytest.raises(CarrierValidationError):
        a.create(replace(RETURN_REQ, service="express"))
    assert session.calls == []


# -- find_by_reference -----------------------------------------------------------------------------------------------


def test_find_by_reference() -> None:
    a, session = adapter(answer(fixture("detail_response.json")), answer(fixture("detail_not_found.json")))
    found = a.find_by_reference(REF)
    assert (found.carrier_ref, found.client_ref, found.fee_total_vnd) == (LABEL, REF, 30000)
    assert session.calls[0]["url"] == f"{BASE}/services/shipment/v2/partner_id:{REF}"
    assert session.calls[0]["method"] == "GET" and session.calls[0]["headers"]["Token"] == "tok-123"
    assert a.find_by_reference("nope") is None


def test_find_by_reference_auth_error_is_not_not_found() -> None:
    a, _ = adapter(answer(fixture("token_invalid.json"), 403))
    with pytest.raises(CarrierAuthError):
        a.find_by_reference(REF)


# -- cancel ----------------------------------------------------------------------------------------------------------


def test_cancel_url_and_success() -> None:
    a, session = adapter(answer(fixture("cancel_response.json")))
    a.cancel(LABEL)
    assert (session.calls[0]["method"], session.calls[0]["url"]) == ("POST", f"{BASE}/services/shipment/cancel/{LABEL}")
    assert session.calls[0]["headers"]["Token"] == "tok-123"


def test_cancel_after_pickup_is_invalid_state() -> None:
    a, session = adapter(answer(fixture("cancel_refused.json")), answer(fixture("detail_response.json")))
    with pytest.raises(InvalidState):
        a.cancel(LABEL)
    assert session.calls[1]["url"] == f"{BASE}/services/shipment/v2/{LABEL}"


def test_cancel_of_an_already_cancelled_order_succeeds() -> None:
    detail = fixture("detail_response.json")
    detail["order"]["status"] = "-1"
    a, _ = adapter(answer({"success": False, "message": "Đơn hàng đã bị hủy trước đó"}), answer(detail))
    a.cancel(LABEL)


def test_cancel_refused_in_a_cancellable_state_stays_a_validation_error() -> None:
    detail = fixture("detail_response.json")
    detail["order"]["status"] = "2"
    a, _ = adapter(answer({"success": False, "message": "Lỗi hệ thống"}), answer(detail))
    with pytest.raises(CarrierValidationError):
        a.cancel(LABEL)


# -- label -----------------------------------------------------------------------------------------------------------


def test_label_url_and_pdf() -> None:
    pdf = b"%PDF-1.4\n...%%EOF\n"
    a, session = adapter(StubResponse(200, pdf, {"Content-Type": "application/pdf"}))
    doc = a.label([LABEL])
    assert doc == LabelDocument(content_type="application/pdf", content=pdf)
    call = session.calls[0]
    assert (call["method"], call["url"]) == ("GET", f"{BASE}/services/label/{LABEL}")
    assert call["params"] == {"original": "portrait", "page_size": "A6"} and call["headers"]["Token"] == "tok-123"


def test_label_errors() -> None:
    a, _ = adapter(answer(fixture("detail_not_found.json")))
    with pytest.raises(CarrierValidationError):
        a.label([LABEL])
    a, _ = adapter(StubResponse(200, b"<html>", {"Content-Type": "text/html"}))
    with pytest.raises(CarrierUnavailable):
        a.label([LABEL])
    a, session = adapter()
    with pytest.raises(CarrierValidationError):
        a.label([LABEL, LABEL])
    with pytest.raises(CarrierValidationError):
        a.label([LABEL], fmt="zpl")
    assert session.calls == []


# -- track -----------------------------------------------------------------------------------------------------------


def test_track_parses_the_detail() -> None:
    a, session = adapter(answer(fixture("detail_response.json")))
    [event] = a.track(LABEL)
    assert session.calls[0]["url"] == f"{BASE}/services/shipment/v2/{LABEL}"
    assert event.occurred_at == datetime(2025, 9, 15, 15, 2, 40, tzinfo=VN)
    assert event.occurred_at.utcoffset() == timedelta(hours=7)
    assert (event.status, event.raw_code, event.source, event.provisional) == (
        CourierStatus.PICKED_UP,
        "3",
        "poll",
        False,
    )
    assert event.dedup_key == f"{LABEL}|3|2025-09-15T15:02:40+07:00"
    assert event.raw_text == "Đã lấy hàng/Đã nhập kho" and event.raw == fixture("detail_response.json")


def test_track_errors() -> None:
    a, _ = adapter(answer(fixture("detail_not_found.json")))
    with pytest.raises(CarrierValidationError):
        a.track(LABEL)
    a, _ = adapter(StubResponse(503, b"down"))
    with pytest.raises(CarrierUnavailable):
        a.track(LABEL)


# -- webhooks --------------------------------------------------------------------------------------------------------


def form_request(**kw: Any) -> WebhookRequest:
    sample = fixture("webhook_form.json")
    return WebhookRequest(headers={}, body=sample["body"].encode(), content_type=sample["content_type"], **kw)


def json_request(body: dict[str, Any] | None = None, **kw: Any) -> WebhookRequest:
    sample = fixture("webhook_json.json")
    payload = json.dumps(body or sample["body"], ensure_ascii=False).encode()
    return WebhookRequest(headers={}, body=payload, content_type=sample["content_type"], **kw)


def test_verify_webhook_hash_mode() -> None:
    a, _ = adapter(webhook_auth="hash")
    a.verify_webhook(form_request())
    a.verify_webhook(json_request({**fixture("webhook_json.json")["body"], "hash": SECRET}))
    a.verify_webhook(WebhookRequest(headers={}, body=b"label_id=x", query={"hash": SECRET}))
    for forged in (
        form_request().body.replace(SECRET.encode(), b"guess"),
        json.dumps(fixture("webhook_json.json")["body"]).encode(),  # no hash at all
    ):
        with pytest.raises(WebhookAuthError):
            a.verify_webhook(WebhookRequest(headers={}, body=forged, content_type="application/x-www-form-urlencoded"))
    with pytest.raises(WebhookAuthError):  # the secret in the path does not count in hash mode
        a.verify_webhook(json_request(path_token=SECRET))


def test_verify_webhook_path_mode() -> None:
    a, _ = adapter()
    a.verify_webhook(json_request(path_token=SECRET))
    for token in (None, "", "wrong", SECRET + "x"):
        with pytest.raises(WebhookAuthError):
            a.verify_webhook(json_request(path_token=token))
    with pytest.raises(WebhookAuthError):  # the hash in the body does not count in path mode
        a.verify_webhook(form_request())


def test_verify_webhook_without_a_configured_secret_refuses() -> None:
    a, _ = adapter(webhook_secret="")
    with pytest.raises(WebhookAuthError):
        a.verify_webhook(json_request(path_token=""))


def test_parse_form_webhook_provisional_delivered() -> None:
    a, _ = adapter()
    [event] = a.parse_webhook(form_request())
    assert (event.carrier_ref, event.raw_code, event.status, event.provisional, event.source) == (
        LABEL,
        "45",
        CourierStatus.DELIVERED,
        True,
        "webhook",
    )
    assert event.occurred_at == datetime(2025, 9, 16, 10, 15, tzinfo=VN)
    assert event.dedup_key == f"{LABEL}|45|2025-09-16T10:15:00+07:00"
    assert "hash" not in event.raw and event.raw["partner_id"] == REF


def test_parse_json_webhook_delivery_failed() -> None:
    a, _ = adapter()
    [event] = a.parse_webhook(json_request())
    assert (event.status, event.reason, event.provisional) == (
        CourierStatus.DELIVERY_FAILED,
        "consignee_not_home",
        True,
    )
    assert event.raw_text == "Người nhận vắng nhà" and event.raw["reason_code"] == "140"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"label_id=S1&action_time=2025-09-16T10:15:00%2B07:00", "application/x-www-form-urlencoded"),
        (b"label_id=S1&status_id=3&action_time=yesterday", "application/x-www-form-urlencoded"),
        (b"status_id=3&action_time=2025-09-16T10:15:00%2B07:00", "application/x-www-form-urlencoded"),
    ],
)
def test_parse_webhook_bad_bodies(body: bytes, content_type: str) -> None:
    a, _ = adapter()
    with pytest.raises(WebhookPayloadError):
        a.parse_webhook(WebhookRequest(headers={}, body=body, content_type=content_type))


def test_webhook_ack() -> None:
    a, _ = adapter()
    assert a.webhook_ack(True) == (200, "application/json", '{"success": true}')
    status, ctype, body = a.webhook_ack(False, "bad body")
    assert (status, ctype, json.loads(body)) == (400, "application/json", {"success": False, "message": "bad body"})


# -- settings --------------------------------------------------------------------------------------------------------


def test_settings_defaults_and_overrides() -> None:
    cfg = load_settings({}, "t")
    assert (cfg.base_url, cfg.webhook_auth, cfg.weight_option, cfg.transport_for("express")) == (
        "https://services.giaohangtietkiem.vn",
        "path",
        "kilogram",
        "fly",
    )
    cfg = load_settings({"transport_express": "road", "webhook_auth": "HASH"}, "t")
    assert (cfg.transport_for("express"), cfg.webhook_auth) == ("road", "hash")


def test_token_is_required_and_phone_is_national() -> None:
    from adapters.carriers.base import SettingError

    with pytest.raises(SettingError, match="token"):
        GHTKCarrier({}).create(RETURN_REQ)
    assert mapper.local_phone("+84912345678") == "0912345678"
    assert mapper.local_phone("0912345678") == "0912345678"
