"""VNPost legacy partner API ``donhang.vnpost.vn`` (carriers.md §2.1(a), [V]): the default surface (``api=donhang``).

Settings read (str values):
- ``base_url`` — default ``https://donhang.vnpost.vn/api/api`` (UAT: ``https://donhang-uat.vnpost.vn/api/api``);
- ``username``, ``password`` — ``TenDangNhap`` / ``MatKhau`` for ``MobileAuthentication/GetAccessToken``;
- ``customer_code`` — ``CustomerCode`` sent with price requests (optional);
- ``service_codes`` — our service → VNPost ``ServiceName``/``MaDichVu``, default ``standard=BK,express=EMS`` [?];
- ``pickup_type`` — ``PickupType`` (default ``1`` = the postman collects from the sender);
- ``webhook_secret`` — the key for ``SignData`` (see below); ``status_map`` — per-agency status overrides.
- ``sign_algorithm`` / ``sign_encoding`` — how ``SignData`` is computed. **The real algorithm is unknown [?]**
  (carriers.md §5.7 q4; the one public handler comments the check out). We default to
  ``hmac-sha256`` of the ``Data`` string (exactly as received, UTF-8) keyed with ``webhook_secret``, hex-encoded;
  other choices: ``hmac-sha1``, ``hmac-md5``, ``sha256-concat`` / ``md5-concat`` (hash of ``Data + secret``), and
  ``sign_encoding=base64``. Confirm with VNPost before go-live and set these two keys accordingly.

Capabilities: quote (``TinhCuocTatCaDichVu``), create, cancel (by the order GUID ``Id``), push (the webhook).
No tracking or lookup endpoint is known for donhang, so ``track``/``find_by_reference`` stay NotSupported: after an
``OutcomeUnknown`` create, the order is recognised by its ``OrderCode`` (our reference) in VNPost's next push, and a
re-create with the same ``OrderCode`` is refused as a duplicate. No label endpoint: we print our own label.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from adapters.carriers.base import (
    AddressNotResolvable,
    Capability,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    InvalidState,
    OutcomeUnknown,
    Quote,
    QuoteRequest,
    RouteNotServiceable,
    TrackingEvent,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)
from adapters.carriers.http import HttpResult
from adapters.carriers.vnpost import status as vstatus
from adapters.carriers.vnpost.common import (
    CODE,
    TOKEN_TTL_SECONDS,
    VNPostSurface,
    full_address,
    local_phone,
    looks_duplicate,
    match_one,
    message_of,
    parse_vn_time,
)
from postal_bridge.domain.carriers import CourierStatus

LOGIN = "MobileAuthentication/GetAccessToken"
PROVINCES = "TinhThanh/GetAll"
DISTRICTS = "QuanHuyen/GetAll"
WARDS = "PhuongXa/GetAll"
PRICE = "CustomerConnect/TinhCuocTatCaDichVu"
CREATE = "CustomerConnect/CreateOrder"
CANCEL = "CustomerConnect/CancelOrder"

SIGN_ALGORITHMS = ("hmac-sha256", "hmac-sha1", "hmac-md5", "sha256-concat", "md5-concat")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# -- pure request builders ------------------------------------------------------------------------------------------


def build_login_request(username: str, password: str) -> dict[str, str]:
    return {"TenDangNhap": username, "MatKhau": password}


def build_price_request(
    req: QuoteRequest, sender: CarrierAddressCodes, recipient: CarrierAddressCodes, customer_code: str = ""
) -> dict[str, Any]:
    return {
        "SenderProvinceId": sender.province_id,
        "SenderDistrictId": sender.district_id,
        "ReceiverProvinceId": recipient.province_id,
        "ReceiverDistrictId": recipient.district_id,
        "Weight": req.weight_g,
        "Width": 0,
        "Length": 0,
        "Height": 0,
        "CodAmount": req.cod_vnd,
        "IsReceiverPayFreight": False,
        "OrderAmount": 0,
        "UseBaoPhat": False,
        "UseHoaDon": False,
        "UseNhanTinSmsNguoiNhanTruocPhat": False,
        "UseNhanTinSmsNguoiNhanSauPhat": False,
        "CustomerCode": customer_code,
    }


def build_create_request(
    req: ConsignmentRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    service_code: str,
    pickup_type: int = 1,
) -> dict[str, Any]:
    """``ConsignmentRequest`` → ``CustomerConnect/CreateOrder``. ``req.sender``/``req.recipient`` already reflect the
    kind (return: agency → citizen; pickup: citizen → agency)."""
    return {
        "SenderTel": local_phone(req.sender.phone),
        "SenderFullname": req.sender.name,
        "SenderAddress": full_address(req.sender),
        "SenderWardId": sender.ward_id,
        "SenderDistrictId": sender.district_id,
        "SenderProvinceId": sender.province_id,
        "ReceiverTel": local_phone(req.recipient.phone),
        "ReceiverFullname": req.recipient.name,
        "ReceiverAddress": full_address(req.recipient),
        "ReceiverWardId": recipient.ward_id,
        "ReceiverDistrictId": recipient.district_id,
        "ReceiverProvinceId": recipient.province_id,
        "ReceiverAddressType": 1,
        "ServiceName": service_code,
        "OrderCode": req.client_ref,
        "PackageContent": req.contents,
        "WeightEvaluation": req.weight_g,
        "WidthEvaluation": 0,
        "LengthEvaluation": 0,
        "HeightEvaluation": 0,
        "IsPackageViewable": False,
        "CustomerNote": str(req.options.get("note", "")),
        "PickupType": int(req.options.get("pickup_type", pickup_type)),
        "CodAmountEvaluation": req.cod_vnd,
        "IsReceiverPayFreight": False,
        "OrderAmountEvaluation": 0,
        "UseBaoPhat": False,
        "UseHoaDon": False,
        "UseNhanTinSmsNguoiNhanTruocPhat": False,
        "UseNhanTinSmsNguoiNhanSauPhat": False,
    }


def build_cancel_request(order_id: str) -> dict[str, str]:
    return {"OrderId": order_id}


# -- pure response parsers ------------------------------------------------------------------------------------------


def parse_login_response(data: Any) -> str:
    if isinstance(data, Mapping) and data.get("IsSuccess") and data.get("Token"):
        return str(data["Token"])
    raise CarrierAuthError(CODE, f"login refused: {message_of(data, 'no token')}", raw=data)


def raise_error(result: HttpResult, *, op: str) -> None:
    """Map a donhang business answer to the typed errors (transport failures are mapped by CarrierHttp)."""
    data = result.data
    ok_status = 200 <= result.status < 300
    refused = isinstance(data, Mapping) and data.get("IsSuccess") is False
    if ok_status and not refused:
        return
    message = message_of(data, result.text[:300] or f"HTTP {result.status}")
    if result.status in (401, 403):
        raise CarrierAuthError(CODE, f"{op}: {message}", raw=data)
    if op == "create" and looks_duplicate(message):
        raise DuplicateReference(CODE, message, code="duplicate", raw=data)
    if op == "cancel" and result.status != 404:
        raise InvalidState(CODE, f"cancel refused: {message}", raw=data)
    raise CarrierValidationError(CODE, f"{op}: {message}", raw=data)


def parse_price_response(data: Any, service_codes: Mapping[str, str]) -> list[Quote]:
    """``[{Success, MaDichVu, TongCuocBaoGomDVCT, TongCuocSauVAT, …}]`` → quotes for the services we map."""
    theirs_to_ours = {v: k for k, v in service_codes.items()}
    quotes = []
    for row in data if isinstance(data, list) else []:
        if not isinstance(row, Mapping) or not row.get("Success", True):
            continue
        ours = theirs_to_ours.get(str(row.get("MaDichVu") or ""))
        fee = row.get("TongCuocSauVAT", row.get("TongCuocBaoGomDVCT"))
        if ours is None or fee is None:
            continue
        quotes.append(
            Quote(carrier=CODE, service=ours, fee_vnd=int(float(fee)), carrier_service=str(row["MaDichVu"]), raw=row)
        )
    return quotes


def parse_create_response(data: Any, client_ref: str) -> ConsignmentResult:
    if not isinstance(data, Mapping) or not data.get("ItemCode") or not data.get("Id"):
        # HTTP 200 without the order's identity: VNPost may or may not have stored it.
        raise OutcomeUnknown(CODE, "CreateOrder answered without Id/ItemCode", raw=data)
    fee = data.get("TotalFreightIncludeVatEvaluation")
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=str(data["ItemCode"]),
        client_ref=str(data.get("OrderCode") or client_ref),
        carrier_internal_id=str(data["Id"]),
        fee_total_vnd=int(float(fee)) if fee not in (None, "") else None,
        raw=dict(data),
    )


def parse_provinces(data: Any) -> list[dict[str, str]]:
    return [
        {"id": str(r.get("MaTinhThanh")), "name": str(r.get("TenTinhThanh") or "")}
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping) and r.get("MaTinhThanh") is not None
    ]


def parse_districts(data: Any) -> list[dict[str, str]]:
    return [
        {"id": str(r.get("MaQuanHuyen")), "name": str(r.get("TenQuanHuyen") or ""), "parent": str(r.get("MaTinhThanh"))}
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping) and r.get("MaQuanHuyen") is not None
    ]


def parse_wards(data: Any) -> list[dict[str, str]]:
    return [
        {"id": str(r.get("MaPhuongXa")), "name": str(r.get("TenPhuongXa") or ""), "parent": str(r.get("MaQuanHuyen"))}
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping) and r.get("MaPhuongXa") is not None
    ]


def sign_data(data: str, secret: str, algorithm: str = "hmac-sha256", encoding: str = "hex") -> str:
    """Our configurable model of ``SignData`` (the real algorithm is unknown [?])."""
    raw = data.encode("utf-8")
    key = secret.encode("utf-8")
    if algorithm.startswith("hmac-"):
        digest = hmac.new(key, raw, getattr(hashlib, algorithm[5:])).digest()
    elif algorithm.endswith("-concat"):
        digest = hashlib.new(algorithm.split("-", maxsplit=1)[0], raw + key).digest()
    else:
        raise ValueError(f"unknown sign_algorithm {algorithm!r}; one of {', '.join(SIGN_ALGORITHMS)}")
    return base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()


def parse_envelope(body: bytes) -> tuple[str, str, Any]:
    """``{Data: "<JSON string>", SendDate, SignData}`` → (Data string, SignData, decoded Data). Decode twice."""
    try:
        envelope = json.loads(body)
    except ValueError:
        raise WebhookPayloadError(CODE, "body is not JSON") from None
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("Data"), str):
        raise WebhookPayloadError(CODE, "expected {Data: <JSON string>, SendDate, SignData}")
    try:
        inner = json.loads(envelope["Data"])
    except ValueError:
        raise WebhookPayloadError(CODE, "Data is not a JSON-encoded string") from None
    return envelope["Data"], str(envelope.get("SignData") or ""), inner


def parse_event(
    item: Mapping[str, Any],
    *,
    source: str,
    overrides: Mapping[str, vstatus.StatusRow] | None = None,
    now=None,
) -> TrackingEvent:
    """One donhang order snapshot (webhook ``Data``) → a TrackingEvent.

    Dedup key ``ItemCode|OrderStatusId|LastUpdateTime`` (carriers.md §5.4)."""
    code = str(item.get("OrderStatusId", "")).strip()
    row = vstatus.lookup("donhang", code, overrides)
    stamp = item.get("LastUpdateTime") or item.get("CreateTime") or ""
    occurred = parse_vn_time(stamp, fallback=now)
    if occurred is None:
        raise WebhookPayloadError(CODE, f"no usable LastUpdateTime in {item.get('ItemCode')!r}")
    item_code = str(item.get("ItemCode") or item.get("OrderCode") or "")
    if not item_code:
        raise WebhookPayloadError(CODE, "an order without ItemCode or OrderCode")
    cause = str(item.get("CauseName") or "").strip()
    text = row.text
    if cause:
        text = f"{text}: {cause}" if text else cause
    location = item.get("AcceptancePoscode") if row.status == CourierStatus.PICKED_UP else None
    location = location or item.get("ToPOSCode") or item.get("DestinationPoscode")
    return TrackingEvent(
        carrier=CODE,
        carrier_ref=item_code,
        occurred_at=occurred,
        raw_code=code,
        status=row.status,
        dedup_key=f"{item_code}|{code}|{stamp}",
        raw_text=text,
        location=str(location) if location else None,
        reason=row.reason,
        provisional=row.provisional,
        source=source,
        raw=dict(item),
        # Our reference, echoed by VNPost: the only way to recognise an order whose create answer was lost, since
        # donhang has no lookup call and refuses the re-create as a duplicate without naming the order.
        client_ref=str(item.get("OrderCode") or "") or None,
    )


# -- the client -----------------------------------------------------------------------------------------------------


class DonhangCarrier(VNPostSurface):
    api = "donhang"
    default_base_url = "https://donhang.vnpost.vn/api/api"
    default_service_codes = "standard=BK,express=EMS"
    capabilities = frozenset({Capability.QUOTE, Capability.CREATE, Capability.CANCEL, Capability.TRACK_PUSH})

    def __init__(self, settings=None, env=None, *, session=None) -> None:
        super().__init__(settings, env, session=session)
        self.overrides = vstatus.parse_overrides(self.settings.get("status_map"))
        self._master: dict[str, list[dict[str, str]]] = {}

    # -- HTTP -------------------------------------------------------------------------------------------------------

    def _login(self) -> tuple[str, int]:
        body = build_login_request(self.require("username"), self.require("password"))
        result = self.http.request("POST", LOGIN, mutating=False, json_body=body)
        if result.status >= 400:
            raise CarrierAuthError(CODE, f"login refused: {message_of(result.data, result.text[:200])}")
        return parse_login_response(result.data), TOKEN_TTL_SECONDS

    def _call(self, method: str, path: str, *, mutating: bool, json_body: Any = None) -> HttpResult:
        return self.with_token(
            lambda token: self.http.request(
                method, path, mutating=mutating, json_body=json_body, headers={"h-token": token}
            ),
            self._login,
            lambda r: r.status == 401,
        )

    def _list(self, path: str, parse) -> list[dict[str, str]]:
        if path not in self._master:
            result = self._call("GET", path, mutating=False)
            raise_error(result, op="master data")
            self._master[path] = parse(result.data)
        return self._master[path]

    # -- capabilities -----------------------------------------------------------------------------------------------

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        cached = self.cached_address(addr)
        if cached:
            return cached
        provinces = match_one(self._list(PROVINCES, parse_provinces), "name", addr.province_name)
        if len(provinces) != 1:
            raise AddressNotResolvable(
                CODE, f"VNPost (donhang) has no province matching {addr.province_name}", raw=len(provinces)
            )
        province = provinces[0]
        districts = {d["id"]: d for d in self._list(DISTRICTS, parse_districts) if d["parent"] == province["id"]}
        wards = [w for w in self._list(WARDS, parse_wards) if w["parent"] in districts]
        found = match_one(wards, "name", addr.ward_name)
        if not found:
            raise self.not_resolvable("ward", addr)
        if len(found) > 1:
            raise AddressNotResolvable(
                CODE,
                f"VNPost (donhang) has {len(found)} wards named like {addr.ward_name} in {addr.province_name} "
                "(legacy districts differ); cannot choose one",
            )
        ward = found[0]
        district = districts[ward["parent"]]
        codes = CarrierAddressCodes(
            province_id=province["id"],
            district_id=district["id"],
            ward_id=ward["id"],
            province_name=province["name"],
            district_name=district["name"],
            ward_name=ward["name"],
        )
        return self.remember_address(addr, codes)

    def quote(self, req: QuoteRequest) -> list[Quote]:
        body = build_price_request(
            req,
            self.resolve_address(req.sender),
            self.resolve_address(req.recipient),
            str(self.settings.get("customer_code", "")),
        )
        result = self._call("POST", PRICE, mutating=False, json_body=body)
        raise_error(result, op="quote")
        quotes = [
            q
            for q in parse_price_response(result.data, self.service_codes)
            if q.service in self.services and (req.service is None or q.service == req.service)
        ]
        if not quotes:
            raise RouteNotServiceable(CODE, "VNPost offers none of our services on this route", raw=result.data)
        return quotes

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        body = build_create_request(
            req,
            self.resolve_address(req.sender),
            self.resolve_address(req.recipient),
            self.service_code(req.service),
            int(self.settings.get("pickup_type", 1)),
        )
        result = self._call("POST", CREATE, mutating=True, json_body=body)
        raise_error(result, op="create")
        return parse_create_response(result.data, req.client_ref)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """``CancelOrder`` takes VNPost's order GUID (``Id`` = our ``carrier_internal_id``), not the ItemCode."""
        if not _GUID.fullmatch(carrier_ref.strip()):
            raise CarrierValidationError(
                CODE, f"donhang cancels by the order Id (GUID) returned at booking, not by {carrier_ref!r}"
            )
        result = self._call("POST", CANCEL, mutating=True, json_body=build_cancel_request(carrier_ref.strip()))
        raise_error(result, op="cancel")

    # -- webhook ----------------------------------------------------------------------------------------------------

    def verify_webhook(self, req: WebhookRequest) -> None:
        secret = self.settings.get("webhook_secret")
        if not secret:
            raise WebhookAuthError(CODE, "no webhook_secret configured for this VNPost account")
        try:
            data, sign, _ = parse_envelope(req.body)
        except WebhookPayloadError as exc:
            raise WebhookAuthError(CODE, f"not a donhang push: {exc.message}") from None
        expected = sign_data(
            data,
            str(secret),
            str(self.settings.get("sign_algorithm") or "hmac-sha256"),
            str(self.settings.get("sign_encoding") or "hex"),
        )
        given = sign.strip()
        if self.settings.get("sign_encoding", "hex") == "hex":
            given = given.lower()
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookAuthError(CODE, "SignData does not match")

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        _, _, inner = parse_envelope(req.body)
        items = inner if isinstance(inner, list) else [inner]
        if not items or not all(isinstance(i, Mapping) for i in items):
            raise WebhookPayloadError(CODE, "Data holds no order")
        return [parse_event(i, source="webhook", overrides=self.overrides, now=self.env.now()) for i in items]

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        body = {"IsSuccess": ok, "ErrorMessage": "" if ok else (error or "rejected")}
        return (200 if ok else 400), "application/json", json.dumps(body, ensure_ascii=False)
