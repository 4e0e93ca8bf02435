"""VNPost adapter, karrio-style, no sockets: request mapping, recorded responses, error classes, URL/method/headers
through a recording stub session, every STATUS_MAP row of the three surfaces, unknown codes and dedup keys.

Recorded samples live in ``tests/fixtures/carriers/vnpost/`` (see NOTES.md there)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.carriers.base import CarrierEnv, SettingError
from adapters.carriers.vnpost import VNPostCarrier, donhang, myvnpost, ngsp
from adapters.carriers.vnpost import status as vstatus
from postal_bridge.domain import s10
from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    Capability,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierValidationError,
    ConsignmentRequest,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    NotSupported,
    OutcomeUnknown,
    QuoteRequest,
    RateLimited,
    RouteNotServiceable,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "carriers" / "vnpost"
T0 = datetime(2025, 9, 15, 2, 0, tzinfo=UTC)
VN = timezone(timedelta(hours=7))

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
AGENCY_CODES = CarrierAddressCodes("10", "11106", "1110", "Hà Nội", "Quận Ba Đình", "Phường Ba Đình")
CITIZEN_CODES = CarrierAddressCodes("22", "22106", "2210", "Tuyên Quang", "Thành phố Tuyên Quang", "Phường Minh Xuân")
REQ = ConsignmentRequest(
    client_ref="H10.1-240915-0001-R1",
    kind="return",
    service="standard",
    sender=AGENCY,
    recipient=CITIZEN,
    weight_g=350,
    contents="Hồ sơ TTHC",
    metadata={"dossier_no": "H10.1-240915-0001"},
)
SETTINGS = {
    "donhang": {
        "api": "donhang",
        "base_url": "https://donhang-uat.vnpost.vn/api/api",
        "username": "buudien_hanoi",
        "password": "pw",
        "customer_code": "C000208283",
        "webhook_secret": "donhang-sign-key-fake",
    },
    "myvnpost": {
        "api": "myvnpost",
        "base_url": "https://my.vnpost.vn/MYVNP_API",
        "username": "buudien_hanoi",
        "password": "pw",
        "customer_code": "C000208283",
        "webhook_secret": "myvnpost-path-token-fake",
    },
    "ngsp": {
        "api": "ngsp",
        "base_url": "https://api.mitc.vn",
        "client_id": "key",
        "client_secret": "secret",
        "customer_code": "C000208283",
    },
}


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text())


# -- a recording stub session ---------------------------------------------------------------------------------------


class StubResponse:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.headers = headers or {"Content-Type": "application/json"}


class StubSession:
    def __init__(self, *responses: tuple[int, Any]) -> None:
        self.responses = [StubResponse(s, b) for s, b in responses]
        self.calls: list[dict[str, Any]] = []

    def request(self, method, url, **kw):
        self.calls.append({"method": method, "url": url, **kw})
        return self.responses.pop(0)


def adapter(api: str, *responses: tuple[int, Any], token: str | None = "tok", **extra: str) -> VNPostCarrier:
    env = CarrierEnv(now=lambda: T0)
    a = VNPostCarrier({**SETTINGS[api], **extra}, env, session=StubSession(*responses))
    if token:
        env.tokens.set(a.impl.token_key, token, 3600)
    for addr, codes in ((AGENCY, AGENCY_CODES), (CITIZEN, CITIZEN_CODES)):
        if api != "ngsp":
            env.addresses.put("vnpost", a.account, addr.ward_code, codes.__dict__)
    return a


def calls(a: VNPostCarrier) -> list[dict[str, Any]]:
    return a.impl.http.session.calls


# -- the carrier and its surfaces -----------------------------------------------------------------------------------


def test_class_capabilities_are_the_union_and_instances_follow_the_surface():
    assert VNPostCarrier.capabilities == {
        Capability.QUOTE,
        Capability.CREATE,
        Capability.CANCEL,
        Capability.TRACK_PUSH,
        Capability.TRACK_FEED,
    }
    assert VNPostCarrier({}).capabilities == donhang.DonhangCarrier.capabilities  # api defaults to donhang
    assert VNPostCarrier({"api": "ngsp"}).capabilities == ngsp.NGSPCarrier.capabilities
    assert VNPostCarrier({"api": "donhang", "services": "standard"}).services == ("standard",)
    with pytest.raises(SettingError, match="api"):
        VNPostCarrier({"api": "soap"})


@pytest.mark.parametrize("api", ["donhang", "myvnpost", "ngsp"])
def test_label_and_lookup_are_not_supported(api):
    a = adapter(api)
    with pytest.raises(NotSupported):
        a.label(["EL123456785VN"])
    with pytest.raises(NotSupported):
        a.find_by_reference(REQ.client_ref)
    with pytest.raises(NotSupported):
        a.track("EL123456785VN")


# -- donhang --------------------------------------------------------------------------------------------------------


def test_donhang_create_request_mapping():
    body = donhang.build_create_request(REQ, AGENCY_CODES, CITIZEN_CODES, "BK")
    assert body == fixture("donhang_create_request.json")


def test_donhang_pickup_swaps_parties_and_maps_cod():
    req = replace(REQ, kind="pickup", sender=CITIZEN, recipient=AGENCY, cod_vnd=25_000, service="express")
    body = donhang.build_create_request(req, CITIZEN_CODES, AGENCY_CODES, "EMS")
    assert (body["SenderFullname"], body["SenderWardId"], body["ReceiverWardId"]) == (
        "Nguyễn Văn An",
        "22106",
        "11106",
    )
    assert (body["CodAmountEvaluation"], body["ServiceName"], body["SenderTel"]) == (25_000, "EMS", "0912345678")


def test_donhang_parse_create_response():
    result = donhang.parse_create_response(fixture("donhang_create_response.json"), REQ.client_ref)
    assert (result.carrier, result.carrier_ref, result.carrier_internal_id) == (
        "vnpost",
        "CP100079198VN",
        "00000000-0000-0000-0000-000000005eee",
    )
    assert (result.client_ref, result.fee_total_vnd) == (REQ.client_ref, 18150)
    assert s10.is_valid(result.carrier_ref)
    assert result.raw["OrderStatusId"] == 20


def test_donhang_parse_price_response():
    quotes = donhang.parse_price_response(fixture("donhang_price_response.json"), {"standard": "BK", "express": "EMS"})
    assert [(q.service, q.carrier_service, q.fee_vnd) for q in quotes] == [
        ("standard", "BK", 32450),
        ("express", "EMS", 46640),
    ]


def test_donhang_create_http_call():
    a = adapter("donhang", (200, fixture("donhang_create_response.json")))
    result = a.create(REQ)
    (call,) = calls(a)
    assert (call["method"], call["url"]) == (
        "POST",
        "https://donhang-uat.vnpost.vn/api/api/CustomerConnect/CreateOrder",
    )
    assert call["headers"] == {"h-token": "tok"}
    assert call["json"] == fixture("donhang_create_request.json")
    assert result.carrier_ref == "CP100079198VN"


def test_donhang_login_then_call_and_refresh_once_on_401():
    unauthorized = fixture("donhang_error_unauthorized.json")["body"]
    a = adapter(
        "donhang",
        (200, {"IsSuccess": True, "Token": "t1", "ErrorMessage": None}),
        (401, unauthorized),
        (200, {"IsSuccess": True, "Token": "t2", "ErrorMessage": None}),
        (200, {"IsSuccess": True, "ErrorMessage": None}),
        token=None,
    )
    a.cancel("00000000-0000-0000-0000-000000005eee")
    login, first, relogin, retry = calls(a)
    assert login["url"].endswith("/MobileAuthentication/GetAccessToken") and login["json"] == {
        "TenDangNhap": "buudien_hanoi",
        "MatKhau": "pw",
    }
    assert first["headers"] == {"h-token": "t1"} and retry["headers"] == {"h-token": "t2"}
    assert relogin["url"] == login["url"]
    assert retry["json"] == {"OrderId": "00000000-0000-0000-0000-000000005eee"}


@pytest.mark.parametrize(
    ("op", "responses", "error"),
    [
        ("create", [(400, fixture("donhang_create_error_duplicate.json")["body"])], DuplicateReference),
        ("create", [(400, {"IsSuccess": False, "ErrorMessage": "Thiếu thông tin: SenderTel"})], CarrierValidationError),
        ("create", [(200, {"IsSuccess": False, "ErrorMessage": "Dịch vụ không hợp lệ"})], CarrierValidationError),
        ("create", [(200, {"OrderCode": "x"})], OutcomeUnknown),
        ("create", [(500, b"error")], OutcomeUnknown),
        ("create", [(429, b"slow down")], RateLimited),
        ("create", [(401, {"Message": "denied"})] * 2 + [(200, {"IsSuccess": True, "Token": "t"})], CarrierAuthError),
        ("cancel", [(400, fixture("donhang_cancel_refused.json")["body"])], InvalidState),
        ("cancel", [(404, {"IsSuccess": False, "ErrorMessage": "Không tìm thấy đơn hàng"})], CarrierValidationError),
        ("quote", [(200, [{"Success": False, "MaDichVu": "BK"}])], RouteNotServiceable),
    ],
)
def test_donhang_error_responses(op, responses, error):
    if error is CarrierAuthError:  # 401, re-login, 401 again
        responses = [responses[0], responses[2], responses[1]]
    a = adapter("donhang", *responses)
    with pytest.raises(error):
        if op == "create":
            a.create(REQ)
        elif op == "cancel":
            a.cancel("00000000-0000-0000-0000-000000005eee")
        else:
            a.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))


def test_donhang_login_refused_is_an_auth_error():
    a = adapter("donhang", (200, fixture("donhang_login_refused.json")), token=None)
    with pytest.raises(CarrierAuthError, match="Sai tên đăng nhập"):
        a.create(REQ)


def test_donhang_cancel_needs_the_order_guid():
    with pytest.raises(CarrierValidationError, match="GUID"):
        adapter("donhang").cancel("CP100079198VN")


def test_donhang_resolve_address_from_master_data():
    wards = fixture("donhang_master_wards.json")
    provinces = [{"MaTinhThanh": "10", "TenTinhThanh": "Hà Nội"}, {"MaTinhThanh": "22", "TenTinhThanh": "Tuyên Quang"}]
    districts = [
        {"MaQuanHuyen": "1110", "TenQuanHuyen": "Quận Ba Đình", "MaTinhThanh": "10"},
        {"MaQuanHuyen": "2210", "TenQuanHuyen": "Thành phố Tuyên Quang", "MaTinhThanh": "22"},
    ]
    env = CarrierEnv(now=lambda: T0)
    a = VNPostCarrier(SETTINGS["donhang"], env, session=StubSession((200, provinces), (200, districts), (200, wards)))
    env.tokens.set(a.impl.token_key, "tok", 3600)
    assert a.resolve_address(CITIZEN) == CITIZEN_CODES
    assert [c["url"].rsplit("/api/api/", 1)[1] for c in calls(a)] == [
        "TinhThanh/GetAll",
        "QuanHuyen/GetAll",
        "PhuongXa/GetAll",
    ]
    assert env.addresses.get("vnpost", a.account, CITIZEN.ward_code)["ward_id"] == "22106"  # cached
    with pytest.raises(AddressNotResolvable, match="no ward matching Phường Xa Lạ in Tỉnh Tuyên Quang"):
        a.resolve_address(replace(CITIZEN, ward_code="99999", ward_name="Phường Xa Lạ"))
    with pytest.raises(AddressNotResolvable, match="province"):
        a.resolve_address(replace(CITIZEN, ward_code="99998", province_name="Tỉnh Hà Giang Cũ"))


def _donhang_request(body: dict) -> WebhookRequest:
    return WebhookRequest(headers={"content-type": "application/json"}, body=json.dumps(body).encode())


def test_donhang_webhook_verify_and_parse():
    a = adapter("donhang")
    wr = _donhang_request(fixture("donhang_webhook_91.json"))
    a.verify_webhook(wr)
    (event,) = a.parse_webhook(wr)
    assert (event.carrier_ref, event.raw_code, event.status) == ("CP100079198VN", "91", CourierStatus.DELIVERY_FAILED)
    assert event.reason == "consignee_not_home" and "Người nhận vắng nhà" in event.raw_text
    assert event.occurred_at == datetime(2025, 9, 15, 10, 0, tzinfo=VN)
    assert event.dedup_key == "CP100079198VN|91|15/09/2025 10:00:00"
    assert event.source == "webhook" and event.raw["OrderCode"] == REQ.client_ref
    assert a.webhook_ack(True) == (200, "application/json", '{"IsSuccess": true, "ErrorMessage": ""}')
    assert a.webhook_ack(False, "bad")[0] == 400


def test_donhang_webhook_forgeries():
    a = adapter("donhang")
    good = fixture("donhang_webhook_70.json")
    for forged in (
        {**good, "SignData": "0" * 64},
        {**good, "SignData": ""},
        {**good, "Data": good["Data"].replace('"OrderStatusId": 70', '"OrderStatusId": 100')},
    ):
        with pytest.raises(WebhookAuthError):
            a.verify_webhook(_donhang_request(forged))
    with pytest.raises(WebhookAuthError):
        adapter("donhang", webhook_secret="other").verify_webhook(_donhang_request(good))
    with pytest.raises(WebhookAuthError):  # a MyVNPost array is not a donhang push
        a.verify_webhook(WebhookRequest(headers={}, body=json.dumps(fixture("myvnpost_webhook.json")).encode()))


def test_donhang_sign_algorithm_is_configurable():
    data = '{"ItemCode": "CP100079198VN"}'
    sign = donhang.sign_data(data, "k", "sha256-concat", "base64")
    assert sign == base64.b64encode(__import__("hashlib").sha256((data + "k").encode()).digest()).decode()
    a = adapter("donhang", webhook_secret="k", sign_algorithm="sha256-concat", sign_encoding="base64")
    a.verify_webhook(_donhang_request({"Data": data, "SendDate": "", "SignData": sign}))
    with pytest.raises(ValueError, match="sign_algorithm"):
        donhang.sign_data(data, "k", "rot13")


@pytest.mark.parametrize("body", [b"not json", b'{"Data": {"ItemCode": 1}}', b'{"Data": "{broken"}', b'{"Data": "[]"}'])
def test_donhang_bad_payloads(body):
    with pytest.raises(WebhookPayloadError):
        adapter("donhang").parse_webhook(WebhookRequest(headers={}, body=body))


# -- MyVNPost -------------------------------------------------------------------------------------------------------


def test_myvnpost_create_request_mapping_and_cod_addon():
    assert myvnpost.build_create_request(REQ, AGENCY_CODES, CITIZEN_CODES, "ETN011") == fixture(
        "myvnpost_create_request.json"
    )
    body = myvnpost.build_create_request(replace(REQ, cod_vnd=50_000), AGENCY_CODES, CITIZEN_CODES, "ETN011")
    assert body["informationOrder"]["addonService"] == [{"code": "GTG021", "propValue": "PROP0018:50000"}]


def test_myvnpost_create_http_call_and_parse():
    a = adapter("myvnpost", (200, fixture("myvnpost_create_response.json")))
    result = a.create(REQ)
    (call,) = calls(a)
    assert (call["method"], call["url"]) == ("POST", "https://my.vnpost.vn/MYVNP_API/customer-partner/CreateOrder")
    assert call["headers"] == {"token": "tok"}
    assert call["json"] == fixture("myvnpost_create_request.json")
    assert (result.carrier_ref, result.carrier_internal_id, result.fee_total_vnd) == ("CP100079198VN", None, 18150)


def test_myvnpost_login_request():
    a = adapter("myvnpost", (200, {"token": "t1"}), (200, [{"caseId": "CASE1"}]), token=None)
    a.cancel("CP100079198VN")
    login, cancel = calls(a)
    assert login["json"] == {"username": "buudien_hanoi", "password": "pw", "customerCode": "C000208283"}
    assert cancel["url"].endswith("/customer-partner/orderCancel") and cancel["json"] == {"OriginalId": "CP100079198VN"}
    assert cancel["headers"] == {"token": "t1"}


@pytest.mark.parametrize(
    ("op", "responses", "error"),
    [
        ("create", [(400, fixture("myvnpost_create_error_duplicate.json")["body"])], DuplicateReference),
        ("create", [(400, {"message": "Thiếu thông tin: receiverPhone"})], CarrierValidationError),
        ("create", [(200, {"status": 1})], OutcomeUnknown),
        ("create", [(401, {"message": "x"}), (200, {"token": "t"}), (401, {"message": "x"})], CarrierAuthError),
        ("cancel", [(400, fixture("myvnpost_cancel_refused.json")["body"])], InvalidState),
        ("quote", [(400, {"message": "Dịch vụ không hợp lệ"})], RouteNotServiceable),
    ],
)
def test_myvnpost_error_responses(op, responses, error):
    a = adapter("myvnpost", *responses)
    with pytest.raises(error):
        if op == "create":
            a.create(REQ)
        elif op == "cancel":
            a.cancel("CP100079198VN")
        else:
            a.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))


def test_myvnpost_quote():
    a = adapter("myvnpost", (200, [{"serviceCode": "ETN011", "totalFee": 18150}]))
    (quote,) = a.quote(QuoteRequest(kind="return", sender=AGENCY, recipient=CITIZEN, weight_g=300))
    assert (quote.service, quote.carrier_service, quote.fee_vnd) == ("standard", "ETN011", 18150)
    assert calls(a)[0]["json"]["serviceCode"] == "ETN011"


def test_myvnpost_webhook_path_token_and_parse():
    a = adapter("myvnpost")
    body = json.dumps(fixture("myvnpost_webhook.json")).encode()
    a.verify_webhook(WebhookRequest(headers={}, body=body, path_token="myvnpost-path-token-fake"))
    for token in (None, "", "myvnpost-path-token-fakeX"):
        with pytest.raises(WebhookAuthError):
            a.verify_webhook(WebhookRequest(headers={}, body=body, path_token=token))
    (event,) = a.parse_webhook(WebhookRequest(headers={}, body=body))
    assert (event.carrier_ref, event.raw_code, event.status) == ("CP100079198VN", "12", CourierStatus.OUT_FOR_DELIVERY)
    assert event.occurred_at == datetime(2025, 9, 15, 12, 0, tzinfo=VN)
    assert event.dedup_key == "CP100079198VN|12|15/09/2025 12:00:00"
    with pytest.raises(WebhookPayloadError):
        a.parse_webhook(WebhookRequest(headers={}, body=b'[{"status": 12}]'))


# -- NGSP -----------------------------------------------------------------------------------------------------------


def test_ngsp_order_request_mapping():
    codes = ngsp.NGSPCarrier(SETTINGS["ngsp"]).resolve_address
    body = ngsp.build_order_request(REQ, codes(AGENCY), codes(CITIZEN), "C000208283")
    assert body == fixture("ngsp_create_request.json")
    mapped = ngsp.NGSPCarrier({**SETTINGS["ngsp"], "district_map": "02215=2210"})
    assert mapped.resolve_address(CITIZEN).district_id == "2210"


def test_ngsp_token_then_order_http_calls():
    a = adapter(
        "ngsp",
        (200, {"access_token": "at1", "token_type": "Bearer", "expires_in": 3600}),
        (200, fixture("ngsp_create_response.json")),
        token=None,
    )
    result = a.create(REQ)
    token, order = calls(a)
    assert (token["method"], token["url"]) == ("POST", "https://api.mitc.vn/token")
    assert token["data"] == {"grant_type": "client_credentials"}
    assert token["headers"] == {"Authorization": "Basic " + base64.b64encode(b"key:secret").decode()}
    assert (order["url"], order["headers"]) == (
        "https://api.mitc.vn/apiVNPostNGSP/p1.0/order/post",
        {"Authorization": "Bearer at1"},
    )
    assert (result.carrier_ref, result.carrier_internal_id) == ("EL100079198VN", REQ.client_ref)


def test_ngsp_paths_are_configurable():
    a = adapter("ngsp", (200, {"_embedded": {"rh:doc": []}}), tracking_path="https://gw.example/x/tracking")
    assert a.track_feed(None) == ([], ngsp.FIRST_CURSOR)
    (call,) = calls(a)
    assert call["url"] == "https://gw.example/x/tracking"
    assert call["params"] == {"pagesize": 50, "lastId": "000000000000000000000000"}


def test_ngsp_feed_page_parse_and_cursor():
    events, cursor = ngsp.parse_feed_page(fixture("ngsp_feed_page.json"), ngsp.FIRST_CURSOR, now=T0)
    assert [(e.carrier_ref, e.raw_code, e.status) for e in events] == [
        (REQ.client_ref, "1", CourierStatus.CREATED),
        (REQ.client_ref, "2", CourierStatus.PICKED_UP),
    ]
    assert cursor == "6b02d53e0000000000000003"
    assert events[0].occurred_at == datetime.fromtimestamp(0x6B02D53E, UTC)
    assert events[1].dedup_key == f"{REQ.client_ref}|2|6b02d53e0000000000000003"
    assert all(e.source == "feed" for e in events)
    assert ngsp.parse_feed_page({"_embedded": {"rh:doc": []}}, cursor, now=T0) == ([], cursor)


@pytest.mark.parametrize(
    ("op", "responses", "error"),
    [
        ("create", [(400, fixture("ngsp_create_error_duplicate.json")["body"])], DuplicateReference),
        ("create", [(400, {"success": False, "message": "customerCode không hợp lệ"})], CarrierValidationError),
        ("create", [(200, [])], OutcomeUnknown),
        ("create", [(401, fixture("ngsp_error_fault.json")["body"])] * 2, CarrierAuthError),
        ("cancel", [(400, fixture("ngsp_cancel_refused.json")["body"])], InvalidState),
        ("feed", [(401, fixture("ngsp_token_refused.json")["body"])], CarrierAuthError),
    ],
)
def test_ngsp_error_responses(op, responses, error):
    if op == "create" and error is CarrierAuthError:
        responses = [responses[0], (200, {"access_token": "at2", "expires_in": 3600}), responses[1]]
    a = adapter("ngsp", *responses, token=None if op == "feed" else "tok")
    with pytest.raises(error):
        if op == "create":
            a.create(REQ)
        elif op == "cancel":
            a.cancel(REQ.client_ref)
        else:
            a.track_feed(None)


def test_ngsp_has_no_push_but_does_not_break_other_agencies_pushes():
    a = adapter("ngsp")
    with pytest.raises(WebhookAuthError):  # not NotSupported: the service tries every vnpost agency in turn
        a.verify_webhook(WebhookRequest(headers={}, body=json.dumps(fixture("donhang_webhook_70.json")).encode()))
    with pytest.raises(CarrierValidationError, match="orderNumber"):
        a.cancel("EL100079198VN")
    with pytest.raises(AddressNotResolvable):
        a.resolve_address(replace(CITIZEN, province_code="TQ"))


def test_ngsp_status_map_override():
    a = adapter("ngsp", (200, fixture("ngsp_feed_page.json")), status_map="2=in_transit,9=lost_or_damaged:parcel_lost")
    events, _ = a.track_feed(None)
    assert events[1].status == CourierStatus.IN_TRANSIT
    with pytest.raises(ValueError, match="unified status"):
        vstatus.parse_overrides("2=teleported")


# -- every STATUS_MAP row, unknown codes, dedup stability -----------------------------------------------------------


def sample_event(api: str, code: str):
    if api == "donhang":
        item = {"ItemCode": "CP100079198VN", "OrderStatusId": int(code), "LastUpdateTime": "15/09/2025 10:00:00"}
        return donhang.parse_event(item, source="webhook", now=T0)
    if api == "myvnpost":
        item = {"originalId": "CP100079198VN", "status": int(code), "statusDate": "15/09/2025 10:00:00"}
        return myvnpost.parse_event(item, source="webhook", now=T0)
    page = {
        "_embedded": {
            "rh:doc": [{"_id": {"$oid": "68c76a800000000000000001"}, "orderNumber": "R1", "statusCode": int(code)}]
        }
    }
    return ngsp.parse_feed_page(page, None, now=T0)[0][0]


ROWS = [(api, code, row) for api, table in vstatus.STATUS_MAP.items() for code, row in table.items()]


@pytest.mark.parametrize(("api", "code", "row"), ROWS, ids=[f"{a}-{c}" for a, c, _ in ROWS])
def test_every_status_map_row(api, code, row):
    event = sample_event(api, code)
    assert (event.raw_code, event.status, event.reason, event.provisional) == (
        code,
        row.status,
        row.reason,
        row.provisional,
    )
    assert event.occurred_at.tzinfo is not None


@pytest.mark.parametrize("api", ["donhang", "myvnpost", "ngsp"])
def test_unknown_code_maps_to_unknown(api):
    event = sample_event(api, "987")
    assert (event.status, event.raw_code) == (CourierStatus.UNKNOWN, "987")


@pytest.mark.parametrize("api", ["donhang", "myvnpost", "ngsp"])
def test_dedup_keys_are_stable_across_duplicate_deliveries(api):
    code = next(iter(vstatus.STATUS_MAP[api]))
    first, again = sample_event(api, code), sample_event(api, code)
    assert first.dedup_key == again.dedup_key
    assert first.dedup_key != sample_event(api, "987").dedup_key


def test_donhang_webhook_replay_gives_the_same_keys():
    a = adapter("donhang")
    wr = _donhang_request(fixture("donhang_webhook_70.json"))
    assert [e.dedup_key for e in a.parse_webhook(wr)] == [e.dedup_key for e in a.parse_webhook(wr)]
