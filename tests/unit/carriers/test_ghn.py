"""GHN adapter, karrio-style: request mapping, parsing of recorded answers, error classes, URL/method/headers through a
recording stub session (no sockets), every STATUS_MAP row, unknown codes, dedup-key stability."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

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
    NotSupported,
    OutcomeUnknown,
    QuoteRequest,
    RateLimited,
    RouteNotServiceable,
    SettingError,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)
from adapters.carriers.ghn import STATUS_MAP, GHNCarrier, mapper
from adapters.carriers.ghn.units import cod_status_of, status_row

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "carriers" / "ghn"
BASE = "https://online-gateway.ghn.vn/shiip/public-api"
VN = timezone(timedelta(hours=7))
NOW = datetime(2025, 11, 23, 8, 0, tzinfo=UTC)


def fx(name: str) -> Any:
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    return (FIX / name).read_bytes()


AGENCY = CarrierAddress(
    "Bộ phận Một cửa phường Ba Đình",
    "+842438234567",
    "25 Phan Đình Phùng",
    "00004",
    "Phường Ba Đình",
    "01",
    "Thành phố Hà Nội",
)
CITIZEN = CarrierAddress(
    "Nguyễn Văn A", "+84912345678", "12 Tân Trào", "02215", "Phường Minh Xuân", "08", "Tỉnh Tuyên Quang"
)
AGENCY_CODES = CarrierAddressCodes("201", "1A0107", "1484", "Hà Nội", "Quận Ba Đình", "Phường Ba Đình")
CITIZEN_CODES = CarrierAddressCodes("264", "130101", "1816", "Tuyên Quang", "Thành phố Tuyên Quang", "Phường Minh Xuân")
REQ = ConsignmentRequest(
    client_ref="H10.1-240915-0001-R1",
    kind="return",
    service="standard",
    sender=AGENCY,
    recipient=CITIZEN,
    weight_g=300,
    contents="Hồ sơ TTHC",
    cod_vnd=50_000,
    options={"note": "Gọi trước khi giao"},
)
SETTINGS = {"token": "tok-123", "shop_id": "885123", "webhook_secret": "s3cret"}


# -- a recording stub session ----------------------------------------------------------------------------------------


class StubResponse:
    def __init__(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status_code = status
        if isinstance(body, bytes):
            self.content = body
        elif isinstance(body, str):
            self.content = body.encode()
        else:
            self.content = json.dumps(body, ensure_ascii=False).encode()
        self.headers = {"Content-Type": content_type}


class StubSession:
    """Answers by URL path suffix (a list answers in turn); records every call like karrio's ``mock.call_args``."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = {k: list(v) if isinstance(v, list) else [v] for k, v in routes.items()}
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kw: Any) -> StubResponse:
        self.calls.append({"method": method, "url": url, **kw})
        path = url.split("?", maxsplit=1)[0]
        key = max((k for k in self.routes if path.endswith(k)), key=len, default=None)
        if key is None:
            raise AssertionError(f"unexpected call {method} {url}")
        answers = self.routes[key]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, StubResponse):
            return answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        return StubResponse(status, body)

    def paths(self) -> list[str]:
        return [c["url"].split("?")[0].removeprefix(BASE) for c in self.calls]


def adapter(routes: dict[str, Any], settings: dict[str, str] | None = None) -> tuple[GHNCarrier, StubSession]:
    session = StubSession(routes)
    return GHNCarrier({**SETTINGS, **(settings or {})}, CarrierEnv(now=lambda: NOW), session=session), session


MASTER = {
    "/master-data/province": fx("province_response.json"),
    "/master-data/district": fx("district_response.json"),
}


def master(*ward_answers: Any) -> dict[str, Any]:
    return {**MASTER, "/master-data/ward": list(ward_answers)}


def primed(routes: dict[str, Any], settings: dict[str, str] | None = None) -> tuple[GHNCarrier, StubSession]:
    """An adapter whose address cache already knows both parties (so only the operation under test is called)."""
    a, s = adapter(routes, settings)
    a.env.addresses.put("ghn", a.account, AGENCY.ward_code, AGENCY_CODES.__dict__)
    a.env.addresses.put("ghn", a.account, CITIZEN.ward_code, CITIZEN_CODES.__dict__)
    return a, s


# -- settings and capabilities ---------------------------------------------------------------------------------------


def test_capabilities_and_identity() -> None:
    a, _ = adapter({})
    assert (a.code, a.name) == ("ghn", "GHN")
    assert a.capabilities == frozenset(
        {
            Capability.QUOTE,
            Capability.CREATE,
            Capability.CANCEL,
            Capability.LABEL,
            Capability.TRACK_POLL,
            Capability.TRACK_PUSH,
            Capability.LOOKUP_BY_REF,
        }
    )
    assert a.services == ("standard",)
    with pytest.raises(NotSupported):
        a.track_feed(None)


def test_express_only_when_configured() -> None:
    a, _ = adapter({}, {"service_type_express": "1"})
    assert a.services == ("standard", "express")
    assert a.cfg.service_types == {"standard": 2, "express": 1}
    narrowed, _ = adapter({}, {"service_type_express": "1", "services": "express"})
    assert narrowed.services == ("express",)


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(SettingError, match="webhook_auth"):
        GHNCarrier({**SETTINGS, "webhook_auth": "hmac"})
    a, _ = adapter({"/v2/shipping-order/detail": fx("detail_response.json")}, {"token": ""})
    with pytest.raises(SettingError, match="token"):
        a.track("LPG8FX")


def test_print_url_derives_from_base_url() -> None:
    a, _ = adapter({}, {"base_url": "https://dev-online-gateway.ghn.vn/shiip/public-api", "label_size": "80x80"})
    assert a.print_url("abc") == "https://dev-online-gateway.ghn.vn/a5/public-api/print80x80?token=abc"


# -- (1) request mapping ---------------------------------------------------------------------------------------------


def test_create_request_mapping() -> None:
    body = mapper.build_create_request(
        REQ,
        AGENCY_CODES,
        CITIZEN_CODES,
        service_type_id=2,
        required_note="KHONGCHOXEMHANG",
        payment_type_id=1,
        parcel_cm=(32, 24, 3),
    )
    assert body == fx("create_request.json")


def test_pickup_leg_sends_citizen_as_sender_and_return_address() -> None:
    pickup = replace(REQ, kind="pickup", sender=CITIZEN, recipient=AGENCY, cod_vnd=0)
    body = mapper.build_create_request(
        pickup,
        CITIZEN_CODES,
        AGENCY_CODES,
        service_type_id=2,
        required_note="KHONGCHOXEMHANG",
        payment_type_id=1,
        parcel_cm=(32, 24, 3),
    )
    assert (body["from_name"], body["from_phone"], body["return_ward_code"]) == ("Nguyễn Văn A", "0912345678", "130101")
    assert (body["to_ward_code"], body["to_district_id"], body["to_phone"]) == ("1A0107", 1484, "02438234567")


def test_fee_services_leadtime_cancel_token_requests() -> None:
    assert mapper.build_fee_request(
        service_type_id=2, sender=AGENCY_CODES, recipient=CITIZEN_CODES, weight_g=300, parcel_cm=(32, 24, 3)
    ) == fx("fee_request.json")
    assert mapper.build_services_request(885123, AGENCY_CODES, CITIZEN_CODES) == {
        "shop_id": 885123,
        "from_district": 1484,
        "to_district": 1816,
    }
    assert mapper.build_leadtime_request(53320, AGENCY_CODES, CITIZEN_CODES) == {
        "from_district_id": 1484,
        "from_ward_code": "1A0107",
        "to_district_id": 1816,
        "to_ward_code": "130101",
        "service_id": 53320,
    }
    assert mapper.build_cancel_request(["LPG8FX"]) == {"order_codes": ["LPG8FX"]}
    assert mapper.build_gen_token_request(["LPG8FX", "LPG8FY"]) == {"order_codes": ["LPG8FX", "LPG8FY"]}


@pytest.mark.parametrize(
    ("given", "expected"), [("+84912345678", "0912345678"), ("84912345678", "0912345678"), ("0912345678", "0912345678")]
)
def test_local_phone(given: str, expected: str) -> None:
    assert mapper.local_phone(given) == expected


# -- (2) recorded success answers parse to unified results -----------------------------------------------------------


def test_parse_create_response() -> None:
    assert mapper.parse_create_response(fx("create_response.json")["data"], REQ.client_ref) == ConsignmentResult(
        carrier="ghn",
        carrier_ref="LPG8FX",
        client_ref=REQ.client_ref,
        carrier_internal_id=None,
        fee_total_vnd=30000,
        raw=fx("create_response.json")["data"],
    )


def test_create_success_without_order_code_is_outcome_unknown() -> None:
    with pytest.raises(OutcomeUnknown):
        mapper.parse_create_response(fx("create_response_no_order_code.json")["data"], REQ.client_ref)


def test_parse_detail_response() -> None:
    result = mapper.parse_detail_response(fx("detail_response.json")["data"])
    assert (result.carrier_ref, result.client_ref, result.fee_total_vnd) == ("LPG8FX", REQ.client_ref, 30000)
    assert result.raw["some_new_field"] == {"ignored": True}
    assert mapper.parse_detail_response(None) is None
    assert mapper.parse_detail_response([fx("detail_response.json")["data"]]).carrier_ref == "LPG8FX"


def test_parse_tracking_response() -> None:
    events = mapper.parse_tracking_response(fx("detail_response.json")["data"], "LPG8FX")
    assert [(e.raw_code, e.status, e.reason) for e in events] == [
        ("picking", CourierStatus.AWAITING_PICKUP, None),
        ("picked", CourierStatus.PICKED_UP, None),
        ("transporting", CourierStatus.IN_TRANSIT, None),
        ("delivering", CourierStatus.OUT_FOR_DELIVERY, None),
        ("delivery_fail", CourierStatus.DELIVERY_FAILED, "delivery_attempt_failed"),
        ("delivering", CourierStatus.OUT_FOR_DELIVERY, None),
        ("delivered", CourierStatus.DELIVERED, None),
    ]
    first = events[0]
    assert first.occurred_at == datetime(2025, 11, 23, 8, 30, tzinfo=VN)
    assert first.occurred_at.utcoffset() == timedelta(hours=7)
    assert first.dedup_key == "LPG8FX|picking|2025-11-23T01:30:00+00:00"
    assert {e.source for e in events} == {"poll"}
    assert all(e.carrier == "ghn" and e.carrier_ref == "LPG8FX" and not e.provisional for e in events)
    assert len({e.dedup_key for e in events}) == len(events)
    assert first.raw == {"status": "picking", "updated_date": "2025-11-23T01:30:00.000Z"}


def test_parse_tracking_without_log_gives_the_current_status() -> None:
    [event] = mapper.parse_tracking_response(fx("detail_no_log_response.json")["data"])
    assert (event.raw_code, event.status) == ("ready_to_pick", CourierStatus.AWAITING_PICKUP)


def test_parse_fee_leadtime_cancel_token() -> None:
    assert mapper.parse_fee_response(fx("fee_response.json")["data"]) == 30000
    now = datetime(2025, 11, 23, 8, 0, tzinfo=UTC)
    assert mapper.parse_leadtime_response(fx("leadtime_response.json")["data"], now) == 3
    assert mapper.parse_leadtime_response({}, now) is None
    assert mapper.parse_cancel_response(fx("cancel_response.json")["data"]) == {"LPG8FX": (True, "OK")}
    assert mapper.parse_gen_token_response(fx("gen_token_response.json")["data"]).startswith("5f0d3a2c")
    with pytest.raises(CarrierUnavailable):
        mapper.parse_fee_response({"service_fee": 1})


def test_parse_webhook_switch_status() -> None:
    [event] = mapper.parse_webhook_body(raw("webhook_switch_status_delivery_fail.json"))
    assert event.carrier_ref == "LPG8FX"
    assert (event.raw_code, event.status, event.reason) == (
        "delivery_fail",
        CourierStatus.DELIVERY_FAILED,
        "delivery_attempt_failed",
    )
    assert event.source == "webhook"
    assert event.occurred_at == datetime(2025, 11, 24, 10, 20, tzinfo=VN)
    assert event.dedup_key == "LPG8FX|switch_status|2025-11-24T03:20:00.000Z|delivery_fail"
    assert event.raw_text == "Nhân viên giao hàng thất bại – Người nhận không nghe máy"
    assert event.location == "Bưu Cục 54 Tân Trào-Tuyên Quang"
    assert event.raw == fx("webhook_switch_status_delivery_fail.json")


def test_webhook_update_without_status_gives_no_event() -> None:
    assert mapper.parse_webhook_body(raw("webhook_update_weight_no_status.json")) == []


def test_cod_status() -> None:
    assert cod_status_of("delivered") == "collected"
    assert cod_status_of("delivered", "2025-11-26T00:00:00Z") == "remitted"
    assert cod_status_of("picking") is None


# -- (3) recorded errors raise the right class -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("http", "fixture", "op", "mutating", "expected"),
    [
        (401, "error_token.json", "create", True, CarrierAuthError),
        (400, "error_validation.json", "create", True, CarrierValidationError),
        (400, "error_duplicate.json", "create", True, DuplicateReference),
        (429, "error_rate_limited.json", "fee", False, RateLimited),
        (200, "error_server.json", "create", True, OutcomeUnknown),
        (200, "error_server.json", "detail", False, CarrierUnavailable),
        (400, "error_not_found.json", "detail", False, CarrierValidationError),
    ],
)
def test_error_envelopes(http: int, fixture: str, op: str, mutating: bool, expected: type) -> None:
    err = mapper.error_for(http, fx(fixture), op=op, mutating=mutating)
    assert type(err) is expected
    assert err.raw == fx(fixture)


def test_success_envelope_is_no_error_and_missing_envelope_is() -> None:
    assert mapper.error_for(200, fx("create_response.json"), op="create", mutating=True) is None
    assert isinstance(mapper.error_for(200, None, op="create", mutating=True), OutcomeUnknown)
    assert isinstance(mapper.error_for(200, [1], op="detail", mutating=False), CarrierUnavailable)


def test_create_token_refused_raises_auth_error_without_retry() -> None:
    a, s = primed({"/v2/shipping-order/create": (401, fx("error_token.json"))})
    with pytest.raises(CarrierAuthError):
        a.create(REQ)
    assert s.paths() == ["/v2/shipping-order/create"]


def test_create_refusal_for_an_existing_reference_is_a_duplicate() -> None:
    """The duplicate message is unknown [?]: a refused create whose reference exists is a duplicate anyway."""
    a, _ = primed(
        {
            "/v2/shipping-order/create": (400, {"code": 400, "message": "Dữ liệu không hợp lệ", "data": None}),
            "/v2/shipping-order/detail-by-client-code": fx("detail_response.json"),
        }
    )
    with pytest.raises(DuplicateReference) as info:
        a.create(REQ)
    assert info.value.existing_ref == "LPG8FX"


def test_create_validation_error_stays_one_when_no_order_exists() -> None:
    a, _ = primed(
        {
            "/v2/shipping-order/create": (400, fx("error_validation.json")),
            "/v2/shipping-order/detail-by-client-code": (400, fx("error_not_found.json")),
        }
    )
    with pytest.raises(CarrierValidationError) as info:
        a.create(REQ)
    assert not isinstance(info.value, DuplicateReference)


def test_cancel_after_pickup_is_invalid_state() -> None:
    a, _ = adapter(
        {
            "/v2/switch-status/cancel": (400, fx("error_cancel_refused.json")),
            "/v2/shipping-order/detail": fx("detail_response.json"),
        }
    )
    with pytest.raises(InvalidState):
        a.cancel("LPG8FX")


def test_cancel_refused_in_data_rows_is_invalid_state() -> None:
    a, _ = adapter(
        {
            "/v2/switch-status/cancel": fx("cancel_refused_in_data.json"),
            "/v2/shipping-order/detail": fx("detail_response.json"),
        }
    )
    with pytest.raises(InvalidState):
        a.cancel("LPG8FX")


def test_cancel_of_a_cancelled_order_is_success() -> None:
    cancelled = fx("detail_response.json")
    cancelled["data"]["status"] = "cancel"
    a, _ = adapter({"/v2/switch-status/cancel": (400, fx("error_cancel_refused.json")), "/detail": cancelled})
    assert a.cancel("LPG8FX") is None


def test_quote_on_an_unserved_route_is_route_not_serviceable() -> None:
    a, _ = primed({"/v2/shipping-order/available-services": fx("services_empty_response.json")})
    with pytest.raises(RouteNotServiceable, match="GHN offers no service"):
        a.quote(QuoteRequest("return", AGENCY, CITIZEN, 300))


def test_unknown_ward_is_not_resolvable() -> None:
    a, _ = adapter(master(fx("ward_response_1816.json"), fx("ward_response_1817.json")))
    with pytest.raises(AddressNotResolvable) as info:
        a.resolve_address(replace(CITIZEN, ward_code="99999", ward_name="Phường Không Có"))
    assert info.value.message == "GHN has no ward matching Phường Không Có in Tỉnh Tuyên Quang"


def test_unknown_province_is_not_resolvable() -> None:
    a, _ = adapter(MASTER)
    with pytest.raises(AddressNotResolvable, match="GHN has no province matching Tỉnh Lai Châu"):
        a.resolve_address(replace(CITIZEN, province_code="12", province_name="Tỉnh Lai Châu"))


def test_ambiguous_ward_is_never_guessed() -> None:
    a, _ = adapter(master(fx("ward_response_1816.json"), fx("ward_response_1817_ambiguous.json")))
    with pytest.raises(AddressNotResolvable, match="several wards named Phường Minh Xuân"):
        a.resolve_address(CITIZEN)
    assert a.env.addresses.get("ghn", a.account, CITIZEN.ward_code) is None


def test_label_gives_up_after_one_fresh_token() -> None:
    a, s = adapter(
        {
            "/v2/a5/gen-token": fx("gen_token_response.json"),
            "/printA5": (400, fx("print_token_invalid.json")),
        }
    )
    with pytest.raises(CarrierAuthError):
        a.label(["LPG8FX"])
    assert [p.rsplit("/", 1)[-1] for p in s.paths()] == ["gen-token", "printA5", "gen-token", "printA5"]


def _webhook(headers: dict[str, str], body: bytes | None = None) -> WebhookRequest:
    return WebhookRequest(headers=headers, body=body or raw("webhook_switch_status_delivered.json"))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_webhook_basic_auth() -> None:
    a, _ = adapter({})
    a.verify_webhook(_webhook({"authorization": _basic("ghn", "s3cret")}))
    for bad in (_basic("ghn", "wrong"), _basic("other", "s3cret"), "Basic !!!", "Bearer s3cret", ""):
        with pytest.raises(WebhookAuthError):
            a.verify_webhook(_webhook({"authorization": bad}))


def test_webhook_header_auth() -> None:
    a, _ = adapter({}, {"webhook_auth": "header", "webhook_header": "X-Callback-Key"})
    a.verify_webhook(_webhook({"x-callback-key": "s3cret"}))
    with pytest.raises(WebhookAuthError):
        a.verify_webhook(_webhook({"x-callback-key": "s3cre"}))
    with pytest.raises(WebhookAuthError):
        a.verify_webhook(_webhook({"authorization": _basic("ghn", "s3cret")}))


def test_webhook_without_a_configured_secret_is_refused() -> None:
    a = GHNCarrier({"token": "t", "shop_id": "1"})
    with pytest.raises(WebhookAuthError):
        a.verify_webhook(_webhook({"authorization": _basic("ghn", "")}))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", b"[1]", b'{"Status": "picked", "Time": "2025-11-24T03:20:00Z"}', b'{"OrderCode": "X"}'],
)
def test_bad_webhook_body(body: bytes) -> None:
    a, _ = adapter({})
    with pytest.raises(WebhookPayloadError):
        a.parse_webhook(_webhook({}, body))


def test_webhook_ack_shapes() -> None:
    a, _ = adapter({})
    assert a.webhook_ack(True) == (200, "application/json", '{"code": 200, "message": "Success"}')
    status, ctype, body = a.webhook_ack(False, "Thiếu OrderCode")
    assert (status, ctype, json.loads(body)) == (400, "application/json", {"code": 400, "message": "Thiếu OrderCode"})


# -- (4) URL, method and headers -------------------------------------------------------------------------------------


def test_resolve_address_calls_master_data_without_shop_and_caches() -> None:
    a, s = adapter(master(fx("ward_response_1816.json"), fx("ward_response_1817.json")))
    assert a.resolve_address(CITIZEN) == CITIZEN_CODES
    assert [(c["method"], c["url"]) for c in s.calls] == [
        ("GET", f"{BASE}/master-data/province"),
        ("POST", f"{BASE}/master-data/district"),
        ("POST", f"{BASE}/master-data/ward"),
        ("POST", f"{BASE}/master-data/ward"),
    ]
    assert [c["json"] for c in s.calls[1:]] == [{"province_id": 264}, {"district_id": 1816}, {"district_id": 1817}]
    assert all(c["headers"] == {"Token": "tok-123", "Content-Type": "application/json"} for c in s.calls)
    assert a.resolve_address(CITIZEN) == CITIZEN_CODES
    assert len(s.calls) == 4  # second time from env.addresses
    assert a.env.addresses.get("ghn", "885123", "02215")["district_id"] == "1816"


def test_create_url_method_headers_body() -> None:
    a, s = primed({"/v2/shipping-order/create": fx("create_response.json")})
    assert a.create(REQ).carrier_ref == "LPG8FX"
    [call] = s.calls
    assert (call["method"], call["url"]) == ("POST", f"{BASE}/v2/shipping-order/create")
    assert call["headers"] == {"Token": "tok-123", "ShopId": "885123", "Content-Type": "application/json"}
    assert call["json"] == fx("create_request.json") | {"note": "Gọi trước khi giao"}
    assert call["allow_redirects"] is False


def test_quote_calls() -> None:
    a, s = primed(
        {
            "/v2/shipping-order/available-services": fx("services_response.json"),
            "/v2/shipping-order/fee": fx("fee_response.json"),
            "/v2/shipping-order/leadtime": fx("leadtime_response.json"),
        }
    )
    [quote] = a.quote(QuoteRequest("return", AGENCY, CITIZEN, 300))
    assert (quote.carrier, quote.service, quote.fee_vnd, quote.promised_days, quote.carrier_service) == (
        "ghn",
        "standard",
        30000,
        3,
        "2",
    )
    assert s.paths() == [
        "/v2/shipping-order/available-services",
        "/v2/shipping-order/fee",
        "/v2/shipping-order/leadtime",
    ]
    assert s.calls[1]["json"] == fx("fee_request.json")
    assert all(c["headers"]["ShopId"] == "885123" for c in s.calls)


def test_lookup_track_cancel_calls() -> None:
    a, s = adapter(
        {
            "/v2/shipping-order/detail-by-client-code": fx("detail_response.json"),
            "/v2/shipping-order/detail": fx("detail_response.json"),
            "/v2/switch-status/cancel": fx("cancel_response.json"),
        }
    )
    assert a.find_by_reference(REQ.client_ref).carrier_ref == "LPG8FX"
    assert len(a.track("LPG8FX")) == 7
    a.cancel("LPG8FX")
    assert [(c["method"], c["url"], c["json"]) for c in s.calls] == [
        ("POST", f"{BASE}/v2/shipping-order/detail-by-client-code", {"client_order_code": REQ.client_ref}),
        ("POST", f"{BASE}/v2/shipping-order/detail", {"order_code": "LPG8FX"}),
        ("POST", f"{BASE}/v2/switch-status/cancel", {"order_codes": ["LPG8FX"]}),
    ]


def test_lookup_of_an_unknown_reference_is_none() -> None:
    a, _ = adapter({"/v2/shipping-order/detail-by-client-code": (400, fx("error_not_found.json"))})
    assert a.find_by_reference("nope") is None


def test_label_calls_and_token_cache() -> None:
    html = StubResponse(200, "<!DOCTYPE html><html><body>LPG8FX</body></html>", "text/html; charset=utf-8")
    a, s = adapter({"/v2/a5/gen-token": fx("gen_token_response.json"), "/printA5": html})
    doc = a.label(["LPG8FX"])
    token = "5f0d3a2c-7a0e-11ee-b2c4-7e8f1c6a9b10"
    assert doc.url == f"https://online-gateway.ghn.vn/a5/public-api/printA5?token={token}"
    assert (doc.content_type, doc.content) == ("text/html; charset=utf-8", html.content)
    assert (s.calls[0]["method"], s.calls[0]["json"]) == ("POST", {"order_codes": ["LPG8FX"]})
    assert (s.calls[1]["method"], s.calls[1]["url"], s.calls[1]["headers"]) == ("GET", doc.url, None)
    assert a.label(["LPG8FX"], fmt="url").url == doc.url
    assert len(s.calls) == 2  # the print token came from env.tokens


# -- status table ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(STATUS_MAP))
def test_every_status_row(code: str) -> None:
    row = STATUS_MAP[code]
    body = json.loads(raw("webhook_switch_status_delivered.json"))
    body["Status"] = code
    [event] = mapper.parse_webhook_body(json.dumps(body).encode())
    assert (event.status, event.reason, event.provisional) == (row.status, row.reason, row.provisional)
    detail = {"order_code": "LPG8FX", "log": [{"status": code, "updated_date": "2025-11-24T03:20:00Z"}]}
    [polled] = mapper.parse_tracking_response(detail)
    assert (polled.status, polled.reason, polled.provisional) == (row.status, row.reason, row.provisional)


def test_status_table_matches_carriers_md() -> None:
    expect = {
        CourierStatus.AWAITING_PICKUP: {"ready_to_pick", "picking", "money_collect_picking"},
        CourierStatus.PICKED_UP: {"picked"},
        CourierStatus.IN_TRANSIT: {"storing", "transporting", "sorting"},
        CourierStatus.OUT_FOR_DELIVERY: {"delivering", "money_collect_delivering"},
        CourierStatus.DELIVERED: {"delivered"},
        CourierStatus.DELIVERY_FAILED: {"delivery_fail"},
        CourierStatus.ON_HOLD: {"waiting_to_return", "exception"},
        CourierStatus.RETURN_IN_PROGRESS: {
            "return",
            "return_transporting",
            "return_sorting",
            "returning",
            "return_fail",
        },
        CourierStatus.RETURNED: {"returned"},
        CourierStatus.CANCELLED: {"cancel"},
        CourierStatus.LOST_OR_DAMAGED: {"damage", "lost"},
    }
    got: dict[CourierStatus, set[str]] = {}
    for code, row in STATUS_MAP.items():
        got.setdefault(row.status, set()).add(code)
    assert got == expect


@pytest.mark.parametrize("code", ["", "teleported", "DELIVERED_2", None])
def test_unknown_codes_map_to_unknown(code: str | None) -> None:
    assert status_row(code).status == CourierStatus.UNKNOWN
    body = json.loads(raw("webhook_switch_status_delivered.json"))
    body["Status"] = code or "teleported"
    [event] = mapper.parse_webhook_body(json.dumps(body).encode())
    assert event.status == CourierStatus.UNKNOWN


def test_dedup_keys_stable_across_duplicate_deliveries() -> None:
    body = raw("webhook_switch_status_delivered.json")
    first = mapper.parse_webhook_body(body)[0].dedup_key
    again = mapper.parse_webhook_body(json.dumps(json.loads(body), indent=4).encode())[0].dedup_key
    assert first == again == "LPG8FX|switch_status|2025-11-24T07:40:10.500Z|delivered"
    polled = [e.dedup_key for e in mapper.parse_tracking_response(fx("detail_response.json")["data"])]
    assert polled == [e.dedup_key for e in mapper.parse_tracking_response(fx("detail_response.json")["data"])]


def test_time_formats() -> None:
    vn = datetime(2025, 11, 24, 10, 20, tzinfo=VN)
    assert mapper.parse_time("2025-11-24T03:20:00Z") == vn
    assert mapper.parse_time("2025-11-24T10:20:00") == vn  # naive = Vietnam time
    assert mapper.parse_time(int(vn.timestamp())) == vn
    assert mapper.parse_time("24/11/2025") is None
