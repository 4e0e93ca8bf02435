"""Viettel Post adapter, karrio-style: request mapping, response parsing, error parsing, URL/method/headers (no
sockets: a recording stub session is injected into CarrierHttp). Fixtures: tests/fixtures/carriers/viettelpost/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.carriers.base import (
    AddressNotResolvable,
    Capability,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierEnv,
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
from adapters.carriers.viettelpost import STATUS_MAP, ViettelPostCarrier
from adapters.carriers.viettelpost import mapper as m
from adapters.carriers.viettelpost.units import TEXT_RULES, TEXT_UNKNOWN_ROW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "carriers" / "viettelpost"
NOW = datetime(2024, 9, 15, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
BASE = "https://partner.viettelpost.vn"
SECRET = "vtp-webhook-secret"


def fx(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class StubResponse:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.headers = headers or {"Content-Type": "application/json"}


class StubSession:
    """Answers by URL path from queued (status, body) pairs (the last one repeats); records every call."""

    def __init__(self, routes: dict[str, list[tuple[int, Any]]]) -> None:
        self.routes = {k: list(v) for k, v in routes.items()}
        self.calls: list[dict[str, Any]] = []

    def request(self, method, url, *, json=None, data=None, params=None, headers=None, timeout=None, **_):
        self.calls.append({"method": method, "url": url, "json": json, "params": params, "headers": headers or {}})
        queue = self.routes.get(urlsplit(url).path)
        if not queue:
            return StubResponse(404, {"status": 404, "error": True, "message": "Not Found"})
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return StubResponse(status, body)

    def paths(self) -> list[str]:
        return [urlsplit(c["url"]).path for c in self.calls]


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
AGENCY_CODES = CarrierAddressCodes(
    province_id="1", ward_id="100004", province_name="Thành phố Hà Nội", ward_name="Phường Ba Đình"
)
CITIZEN_CODES = CarrierAddressCodes(
    province_id="8", ward_id="802215", district_id="70", province_name="Tỉnh Tuyên Quang", ward_name="Phường Minh Xuân"
)
REQ = ConsignmentRequest(
    client_ref="H10-240915-0001-R1",
    kind="return",
    service="standard",
    sender=AGENCY,
    recipient=CITIZEN,
    weight_g=300,
    contents="Kết quả TTHC",
    metadata={"dossier_no": "H10.1-240915-0001"},
)
LOGIN_OK = (200, fx("login_success.json"))


def make(routes: dict[str, list[tuple[int, Any]]], *, seed: bool = True, **settings: str):
    env = CarrierEnv(now=lambda: NOW)
    if seed:
        for addr, codes in ((AGENCY, AGENCY_CODES), (CITIZEN, CITIZEN_CODES)):
            from dataclasses import asdict

            env.addresses.put("viettelpost", "0987654321", addr.ward_code, asdict(codes))
    session = StubSession({"/v2/user/Login": [LOGIN_OK], **routes})
    conf = {"username": "0987654321", "password": "secret", "webhook_secret": SECRET, **settings}
    return ViettelPostCarrier(conf, env, session=session), session


# -- 1. request mapping ------------------------------------------------------------------------------------------


def test_login_request_mapping():
    assert m.build_login_request("0987654321", "secret") == fx("login_request.json")


def test_create_request_mapping():
    body = m.build_create_request(
        REQ,
        AGENCY_CODES,
        CITIZEN_CODES,
        order_service="VTK",
        delivery_date="15/09/2024 10:00:00",
        groupaddress_id=5818802,
        cus_id=7654321,
    )
    assert body == {
        "ORDER_NUMBER": "H10-240915-0001-R1",
        "GROUPADDRESS_ID": 5818802,
        "CUS_ID": 7654321,
        "DELIVERY_DATE": "15/09/2024 10:00:00",
        "SENDER_FULLNAME": "Trung tâm Phục vụ hành chính công",
        "SENDER_ADDRESS": "1 Quán Thánh, Phường Ba Đình, Thành phố Hà Nội",
        "SENDER_PHONE": "02437332222",
        "SENDER_EMAIL": "",
        "SENDER_WARD": 100004,
        "SENDER_DISTRICT": 0,
        "SENDER_PROVINCE": 1,
        "SENDER_LATITUDE": 0,
        "SENDER_LONGITUDE": 0,
        "RECEIVER_FULLNAME": "Nguyễn Thị Lan",
        "RECEIVER_ADDRESS": "12 Tân Trào, Phường Minh Xuân, Tỉnh Tuyên Quang",
        "RECEIVER_PHONE": "0912345678",
        "RECEIVER_EMAIL": "",
        "RECEIVER_WARD": 802215,
        "RECEIVER_DISTRICT": 70,
        "RECEIVER_PROVINCE": 8,
        "RECEIVER_LATITUDE": 0,
        "RECEIVER_LONGITUDE": 0,
        "PRODUCT_NAME": "Kết quả TTHC",
        "PRODUCT_DESCRIPTION": "Kết quả TTHC",
        "PRODUCT_QUANTITY": 1,
        "PRODUCT_PRICE": 0,
        "PRODUCT_WEIGHT": 300,
        "PRODUCT_LENGTH": 0,
        "PRODUCT_WIDTH": 0,
        "PRODUCT_HEIGHT": 0,
        "PRODUCT_TYPE": "TH",
        "ORDER_PAYMENT": 1,
        "ORDER_SERVICE": "VTK",
        "ORDER_SERVICE_ADD": "",
        "ORDER_VOUCHER": "",
        "ORDER_NOTE": "H10.1-240915-0001",
        "MONEY_COLLECTION": 0,
        "MONEY_TOTALFEE": 0,
        "MONEY_FEECOD": 0,
        "LIST_ITEM": [
            {"PRODUCT_NAME": "Kết quả TTHC", "PRODUCT_PRICE": 0, "PRODUCT_WEIGHT": 300, "PRODUCT_QUANTITY": 1}
        ],
    }


def test_create_request_pickup_with_cod_swaps_parties_and_collects():
    pickup = ConsignmentRequest(
        client_ref="H10-1-P1",
        kind="pickup",
        service="express",
        sender=CITIZEN,
        recipient=AGENCY,
        weight_g=800,
        contents="Hồ sơ TTHC",
        cod_vnd=50_000,
    )
    body = m.build_create_request(pickup, CITIZEN_CODES, AGENCY_CODES, order_service="VCN", delivery_date="x")
    assert (body["SENDER_WARD"], body["RECEIVER_WARD"]) == (802215, 100004)
    assert (body["ORDER_PAYMENT"], body["MONEY_COLLECTION"], body["ORDER_SERVICE"]) == (3, 50_000, "VCN")


def test_quote_cancel_print_request_mapping():
    q = QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300)
    assert m.build_quote_request(q, AGENCY_CODES, CITIZEN_CODES) == {
        "SENDER_PROVINCE": 1,
        "SENDER_DISTRICT": 0,
        "RECEIVER_PROVINCE": 8,
        "RECEIVER_DISTRICT": 70,
        "PRODUCT_TYPE": "TH",
        "PRODUCT_WEIGHT": 300,
        "PRODUCT_PRICE": 0,
        "MONEY_COLLECTION": 0,
        "TYPE": 1,
    }
    assert m.build_cancel_request("100007000001", "agency cancelled") == {
        "TYPE": 4,
        "ORDER_NUMBER": "100007000001",
        "NOTE": "agency cancelled",
    }
    assert m.build_print_request(["100007000001"], 1726372800000) == {
        "EXPIRY_TIME": 1726372800000,
        "ORDER_ARRAY": ["100007000001"],
    }


# -- 2. response parsing -----------------------------------------------------------------------------------------


def test_parse_create_response_keeps_raw_and_reads_total():
    result = m.parse_create_response(fx("create_success.json"), "H10-240915-0001-R1")
    assert result == ConsignmentResult(
        carrier="viettelpost",
        carrier_ref="100007000001",
        client_ref="H10-240915-0001-R1",
        carrier_internal_id=None,
        fee_total_vnd=17800,
        raw=fx("create_success.json"),
    )
    assert result.raw["data"]["MONEY_COLLECTTION"] == 0  # the typo survives in raw


def test_parse_create_response_tolerates_missing_money():
    body = {"status": 200, "error": False, "data": {"ORDER_NUMBER": 100007000009, "EXTRA": 1}}
    assert m.parse_create_response(body, "R").fee_total_vnd is None


def test_parse_quote_response():
    quotes = m.parse_quote_response(
        fx("price_all_success.json"), {"standard": "VTK", "express": "VCN"}, ["standard", "express"]
    )
    assert [(q.service, q.fee_vnd, q.promised_days, q.carrier_service) for q in quotes] == [
        ("standard", 16500, 3, "VTK"),
        ("express", 21500, 2, "VCN"),
    ]
    enveloped = {"status": 200, "error": False, "data": fx("price_all_success.json")}
    assert len(m.parse_quote_response(enveloped, {"standard": "VTK"}, ["standard"])) == 1


def test_parse_print_response():
    doc = m.parse_print_response(fx("printing_code_success.json"), "https://digitalize.viettelpost.vn", "2")
    assert doc == LabelDocument(
        content_type="text/html",
        url="https://digitalize.viettelpost.vn/DigitalizePrint/report.do?type=2&bill=P3F2A9C0D11E4B7A2&showPostage=1",
    )


def test_parse_track_response():
    events = m.parse_track_response(fx("tracking_success.json"), "100007000001", NOW)
    assert [(e.raw_code, e.status, e.provisional, e.source) for e in events] == [
        ("-100", CourierStatus.CREATED, False, "poll"),
        ("105", CourierStatus.PICKED_UP, False, "poll"),
        ("501", CourierStatus.DELIVERED, False, "poll"),
    ]
    delivered = events[-1]
    assert delivered.occurred_at == datetime(2024, 9, 16, 2, 5, 7, tzinfo=UTC)
    assert delivered.occurred_at.utcoffset() == timedelta(hours=7)
    assert delivered.dedup_key == "100007000001|501|16/09/2024 09:05:07"
    assert delivered.location == "Bưu cục Minh Xuân - Tuyên Quang"
    assert delivered.raw["ORDER_REFERENCE"] == "H10-240915-0001-R1"


def test_parse_webhook_status_event():
    adapter, _ = make({})
    body = json.dumps(fx("webhook_status.json"), ensure_ascii=False).encode()
    [event] = adapter.parse_webhook(WebhookRequest(headers={}, body=body, content_type="application/json"))
    assert (event.carrier_ref, event.raw_code, event.status, event.reason, event.provisional) == (
        "100007000001",
        "506",
        CourierStatus.DELIVERY_FAILED,
        "consignee_not_home",
        False,
    )
    assert event.source == "webhook"
    assert event.occurred_at == datetime(2024, 9, 16, 7, 20, tzinfo=UTC)
    assert event.raw_text == "Tồn - Khách hàng nghỉ, không có nhà"
    assert event.raw["REASON_CODE"] == "L01"


def test_parse_webhook_text_only_event_is_provisional_and_reads_misspelt_location():
    adapter, _ = make({})
    body = json.dumps(fx("webhook_text_only.json"), ensure_ascii=False).encode()
    [event] = adapter.parse_webhook(WebhookRequest(headers={}, body=body))
    assert (event.raw_code, event.status, event.provisional) == ("", CourierStatus.DELIVERY_FAILED, True)
    assert event.location == "Bưu cục Minh Xuân - Tuyên Quang"
    assert event.dedup_key == "100007000001|text:cho phat lai|16/09/2024 15:00:00"


@pytest.mark.parametrize("code", sorted(STATUS_MAP, key=int))
def test_every_status_map_row(code):
    row = STATUS_MAP[code]
    event = m.parse_event(
        {"ORDER_NUMBER": "1", "ORDER_STATUS": int(code), "STATUS_NAME": "x", "ORDER_STATUSDATE": "01/02/2025 3:4:5"},
        source="webhook",
        now=NOW,
    )
    assert (event.raw_code, event.status, event.reason, event.provisional) == (
        code,
        row.status,
        row.reason,
        row.provisional,
    )


@pytest.mark.parametrize(("text", "row"), [(t, r) for t, r in TEXT_RULES])
def test_every_text_rule(text, row):
    event = m.parse_event(
        {"ORDER_NUMBER": "1", "ORDER_STATUS": "", "STATUS_NAME": text.upper(), "ORDER_STATUSDATE": "01/02/2025 3:4:5"},
        source="webhook",
        now=NOW,
    )
    assert (event.status, event.provisional) == (row.status, True)


def test_unknown_code_and_unknown_text_map_to_unknown():
    base = {"ORDER_NUMBER": "1", "ORDER_STATUSDATE": "01/02/2025 03:04:05"}
    assert m.parse_event({**base, "ORDER_STATUS": 999}, source="poll", now=NOW).status == CourierStatus.UNKNOWN
    text = m.parse_event({**base, "ORDER_STATUS": "", "STATUS_NAME": "Đang xử lý"}, source="poll", now=NOW)
    assert (text.status, text.provisional) == (TEXT_UNKNOWN_ROW.status, True)


def test_dedup_keys_stable_across_duplicates_formats_and_sources():
    adapter, _ = make({})
    raw = fx("webhook_status.json")
    body = json.dumps(raw, ensure_ascii=False).encode()
    first = adapter.parse_webhook(WebhookRequest(headers={}, body=body))[0]
    again = adapter.parse_webhook(WebhookRequest(headers={}, body=body))[0]
    reformatted = {**raw, "DATA": {**raw["DATA"], "ORDER_STATUSDATE": "16/9/2024 14:20:0", "ORDER_STATUS": "506"}}
    third = adapter.parse_webhook(WebhookRequest(headers={}, body=json.dumps(reformatted).encode()))[0]
    polled = m.parse_track_response({"status": 200, "error": False, "data": [raw["DATA"]]}, "100007000001", NOW)[0]
    assert first.dedup_key == again.dedup_key == third.dedup_key == polled.dedup_key
    assert first.dedup_key == "100007000001|506|16/09/2024 14:20:00"


# -- 3. error responses raise the right class --------------------------------------------------------------------


def test_login_refused_raises_auth_error():
    adapter, _ = make({"/v2/user/Login": [(200, fx("login_error.json"))]})
    with pytest.raises(CarrierAuthError):
        adapter.track("100007000001")


def test_expired_token_twice_raises_auth_error_after_one_relogin():
    adapter, session = make({"/v2/order/tracking": [(401, fx("token_expired.json"))]})
    with pytest.raises(CarrierAuthError):
        adapter.track("100007000001")
    assert session.paths() == ["/v2/user/Login", "/v2/order/tracking", "/v2/user/Login", "/v2/order/tracking"]


def test_create_validation_error_with_http_200():
    adapter, _ = make({"/v2/order/createOrder": [(200, fx("create_validation_error.json"))]})
    with pytest.raises(CarrierValidationError) as err:
        adapter.create(REQ)
    assert err.value.field_errors == {"RECEIVER_PHONE": "RECEIVER_PHONE không được để trống"}


def test_duplicate_without_the_existing_order_raises_duplicate_reference():
    adapter, _ = make({"/v2/order/createOrder": [(200, fx("create_duplicate_bare.json"))]})
    with pytest.raises(DuplicateReference) as err:
        adapter.create(REQ)
    assert err.value.existing_ref is None


def test_duplicate_naming_the_existing_order_is_that_order():
    adapter, _ = make({"/v2/order/createOrder": [(200, fx("create_duplicate.json"))]})
    result = adapter.create(REQ)
    assert (result.carrier_ref, result.client_ref) == ("100007000001", "H10-240915-0001-R1")


def test_duplicate_for_someone_elses_reference_is_not_adopted():
    body = fx("create_duplicate.json")
    body["data"]["ORDER_REFERENCE"] = "OTHER-REF"
    adapter, _ = make({"/v2/order/createOrder": [(200, body)]})
    with pytest.raises(DuplicateReference):
        adapter.create(REQ)


def test_cancel_after_pickup_raises_invalid_state():
    adapter, _ = make(
        {
            "/v2/order/UpdateOrder": [(200, fx("update_order_invalid_state.json"))],
            "/v2/order/tracking": [(200, fx("tracking_success.json"))],
        }
    )
    with pytest.raises(InvalidState):
        adapter.cancel("100007000001")


def test_cancel_of_an_already_cancelled_order_is_success():
    tracking = fx("tracking_success.json")
    cancelled = {**tracking["data"][0], "ORDER_STATUS": 107, "ORDER_STATUSDATE": "15/09/2024 09:00:00"}
    tracking["data"] = [tracking["data"][0], cancelled]
    adapter, _ = make(
        {
            "/v2/order/UpdateOrder": [(200, fx("update_order_invalid_state.json"))],
            "/v2/order/tracking": [(200, tracking)],
        }
    )
    assert adapter.cancel("100007000001") is None


def test_quote_route_not_serviceable():
    adapter, _ = make({"/v2/order/getPriceAll": [(200, fx("price_all_error.json"))]})
    with pytest.raises(RouteNotServiceable):
        adapter.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))
    adapter, _ = make({"/v2/order/getPriceAll": [(200, [])]})
    with pytest.raises(RouteNotServiceable):
        adapter.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))


def test_transport_errors():
    adapter, _ = make({"/v2/order/createOrder": [(500, b"oops")], "/v2/order/tracking": [(503, b"down")]})
    with pytest.raises(OutcomeUnknown):
        adapter.create(REQ)
    with pytest.raises(CarrierUnavailable):
        adapter.track("100007000001")
    adapter, _ = make({"/v2/order/tracking": [(429, b"slow")]})
    with pytest.raises(RateLimited):
        adapter.track("100007000001")


def test_unknown_ward_raises_address_not_resolvable():
    adapter, _ = make(
        {
            "/v2/categories/listProvinceById": [(200, fx("provinces.json"))],
            "/v3/categories/listWardsNew": [(200, fx("wards_new.json"))],
            "/v2/categories/listDistrict": [(200, fx("districts.json"))],
            "/v2/categories/listWards": [(200, fx("wards_old.json"))],
        },
        seed=False,
    )
    unknown = CarrierAddress(**{**AGENCY.__dict__, "ward_code": "99999", "ward_name": "Phường Không Có"})
    with pytest.raises(AddressNotResolvable, match="no ward matching Phường Không Có in Thành phố Hà Nội"):
        adapter.resolve_address(unknown)
    nowhere = CarrierAddress(**{**AGENCY.__dict__, "ward_code": "99998", "province_name": "Tỉnh Atlantis"})
    with pytest.raises(AddressNotResolvable, match="no province matching Tỉnh Atlantis"):
        adapter.resolve_address(nowhere)


def test_webhook_auth_errors_and_payload_errors():
    adapter, _ = make({})
    forged = dict(fx("webhook_status.json"), TOKEN="guess")
    with pytest.raises(WebhookAuthError):
        adapter.verify_webhook(WebhookRequest(headers={}, body=json.dumps(forged).encode()))
    with pytest.raises(WebhookAuthError):
        adapter.verify_webhook(WebhookRequest(headers={}, body=b"not json"))
    with pytest.raises(WebhookPayloadError):
        adapter.parse_webhook(WebhookRequest(headers={}, body=b"not json"))
    with pytest.raises(WebhookPayloadError):
        adapter.parse_webhook(WebhookRequest(headers={}, body=b'{"DATA": {"ORDER_STATUS": 501}, "TOKEN": "x"}'))
    unconfigured, _ = make({}, webhook_secret="")
    with pytest.raises(WebhookAuthError):
        unconfigured.verify_webhook(WebhookRequest(headers={}, body=json.dumps(fx("webhook_status.json")).encode()))


def test_webhook_authenticates_by_token_field_or_authorization_header():
    adapter, _ = make({})
    adapter.verify_webhook(WebhookRequest(headers={}, body=json.dumps(fx("webhook_status.json")).encode()))
    no_token = {"DATA": fx("webhook_status.json")["DATA"]}
    adapter.verify_webhook(WebhookRequest(headers={"authorization": SECRET}, body=json.dumps(no_token).encode()))
    adapter.verify_webhook(
        WebhookRequest(headers={"authorization": f"Bearer {SECRET}"}, body=json.dumps(no_token).encode())
    )


def test_webhook_ack_shapes():
    adapter, _ = make({})
    assert adapter.webhook_ack(True) == (200, "application/json", '{"status": 200, "error": false, "message": "OK"}')
    status, ctype, body = adapter.webhook_ack(False, "bad body")
    assert (status, ctype, json.loads(body)) == (
        400,
        "application/json",
        {"status": 400, "error": True, "message": "bad body"},
    )


# -- 4. URL, method, headers -------------------------------------------------------------------------------------


def test_create_url_method_headers_and_token_cached():
    adapter, session = make({"/v2/order/createOrder": [(200, fx("create_success.json"))]})
    adapter.create(REQ)
    adapter.create(REQ)
    login, create, create2 = session.calls
    assert (login["method"], login["url"], login["json"]) == (
        "POST",
        f"{BASE}/v2/user/Login",
        {"USERNAME": "0987654321", "PASSWORD": "secret"},
    )
    assert "Token" not in login["headers"]
    assert (create["method"], create["url"]) == ("POST", f"{BASE}/v2/order/createOrder")
    assert create["headers"]["Token"] == fx("login_success.json")["data"]["token"]
    assert create["json"]["ORDER_NUMBER"] == "H10-240915-0001-R1"
    assert create["json"]["DELIVERY_DATE"] == "15/09/2024 10:00:00"
    assert create2["headers"]["Token"] == create["headers"]["Token"]  # one login, reused


def test_expired_token_is_refreshed_once_and_the_call_retried():
    second = fx("login_success.json")
    second["data"]["token"] = "fresh-token"
    adapter, session = make(
        {
            "/v2/user/Login": [LOGIN_OK, (200, second)],
            "/v2/order/createOrder": [(401, fx("token_expired.json")), (200, fx("create_success.json"))],
        }
    )
    assert adapter.create(REQ).carrier_ref == "100007000001"
    assert session.paths() == ["/v2/user/Login", "/v2/order/createOrder", "/v2/user/Login", "/v2/order/createOrder"]
    assert session.calls[-1]["headers"]["Token"] == "fresh-token"


def test_cancel_label_track_quote_urls():
    adapter, session = make(
        {
            "/v2/order/UpdateOrder": [(200, fx("update_order_success.json"))],
            "/v2/order/printing-code": [(200, fx("printing_code_success.json"))],
            "/v2/order/tracking": [(200, fx("tracking_success.json"))],
            "/v2/order/getPriceAll": [(200, fx("price_all_success.json"))],
        },
        print_base_url="https://dev-release-print.viettelpost.vn",
    )
    adapter.cancel("100007000001", "agency cancelled")
    doc = adapter.label(["100007000001"])
    adapter.track("100007000001")
    adapter.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300, service="express"))
    calls = {urlsplit(c["url"]).path: c for c in session.calls}
    assert calls["/v2/order/UpdateOrder"]["json"] == {
        "TYPE": 4,
        "ORDER_NUMBER": "100007000001",
        "NOTE": "agency cancelled",
    }
    assert calls["/v2/order/printing-code"]["json"] == {
        "EXPIRY_TIME": int(NOW.timestamp() * 1000) + 3_600_000,
        "ORDER_ARRAY": ["100007000001"],
    }
    assert doc.url.startswith("https://dev-release-print.viettelpost.vn/DigitalizePrint/report.do?type=1&bill=")
    assert calls["/v2/order/tracking"]["json"] == {"ORDER_NUMBER": "100007000001"}
    assert all(c["method"] == "POST" and c["headers"].get("Token") for p, c in calls.items() if p != "/v2/user/Login")


def test_resolve_address_prefers_v3_wards_and_caches():
    adapter, session = make(
        {
            "/v2/categories/listProvinceById": [(200, fx("provinces.json"))],
            "/v3/categories/listWardsNew": [(200, fx("wards_new.json"))],
        },
        seed=False,
    )
    codes = adapter.resolve_address(AGENCY)
    assert codes == CarrierAddressCodes(
        province_id="1",
        ward_id="100004",
        district_id=None,
        province_name="Thành phố Hà Nội",
        ward_name="Phường Ba Đình",
    )
    assert adapter.resolve_address(AGENCY) == codes
    assert session.paths() == ["/v2/categories/listProvinceById", "/v3/categories/listWardsNew"]
    assert session.calls[0]["method"] == "GET" and session.calls[0]["params"] == {"provinceId": -1}
    assert session.calls[1]["params"] == {"provinceId": 1}
    assert "Token" not in session.calls[0]["headers"]


def test_resolve_address_falls_back_to_the_district_tree():
    adapter, session = make(
        {
            "/v2/categories/listProvinceById": [(200, fx("provinces.json"))],
            "/v3/categories/listWardsNew": [(404, {"status": 404, "error": True, "message": "Not Found"})],
            "/v2/categories/listDistrict": [(200, fx("districts.json"))],
            "/v2/categories/listWards": [(200, fx("wards_old.json"))],
        },
        seed=False,
    )
    ngoc_ha = CarrierAddress(**{**AGENCY.__dict__, "ward_code": "00008", "ward_name": "Phường Ngọc Hà"})
    codes = adapter.resolve_address(ngoc_ha)
    assert (codes.ward_id, codes.district_id, codes.district_name) == ("8", "1", "Quận Ba Đình")
    assert parse_qs(urlsplit(session.calls[-1]["url"]).query) == {} and session.calls[-1]["params"] == {"districtId": 1}


def test_capabilities():
    assert ViettelPostCarrier.capabilities == {
        Capability.QUOTE,
        Capability.CREATE,
        Capability.CANCEL,
        Capability.LABEL,
        Capability.TRACK_POLL,
        Capability.TRACK_PUSH,
    }
    assert Capability.LOOKUP_BY_REF not in ViettelPostCarrier.capabilities
