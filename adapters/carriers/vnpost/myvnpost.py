"""VNPost MyVNPost ``customer-partner`` API (carriers.md §2.1(b), [S]: one third-party Odoo module) — ``api=myvnpost``.

Settings read (str values):
- ``base_url`` — default ``https://my.vnpost.vn/MYVNP_API``;
- ``username``, ``password``, ``customer_code`` — for ``customer-partner/GetAccessToken``; calls then send ``token``;
- ``service_codes`` — our service → MyVNPost ``serviceCode``, default ``standard=ETN011`` (the code seen in the public
  sample; confirm per contract [?]);
- ``cod_addon`` — ``<addon code>:<prop code>`` for COD, default ``GTG021:PROP0018`` (from the same sample [?]); COD is
  sent as ``addonService[{code, propValue: "<propCode>:<amount>"}]``;
- ``webhook_secret`` — **push authentication (our choice, documented):** MyVNPost's push is a bare JSON array with no
  signature, so we give VNPost the URL ``/webhooks/carriers/vnpost/<webhook_secret>`` and compare the path token with
  ``hmac.compare_digest``; ``status_map`` — per-agency status overrides.

Master-data answer fields (``provinceCode/provinceName``, ``districtCode/districtName``, ``communeCode/communeName``),
the ``ServicesCharge`` body/answer and the push's time field are not documented publicly [?]; the parsers accept the
usual spellings. No tracking, lookup or label endpoint is known: those stay NotSupported.
"""

from __future__ import annotations

import hmac
import json
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

PREFIX = "customer-partner/"
LOGIN = PREFIX + "GetAccessToken"
PROVINCES = PREFIX + "getAllProvince"
DISTRICTS = PREFIX + "getAllDistrict"
COMMUNES = PREFIX + "getAllCommune"
PRICE = PREFIX + "ServicesCharge"
CREATE = PREFIX + "CreateOrder"
CANCEL = PREFIX + "orderCancel"
TIME_FIELDS = ("statusDate", "updateTime", "lastUpdateTime", "statusTime", "createdDate", "time")

# -- pure request builders ------------------------------------------------------------------------------------------


def build_login_request(username: str, password: str, customer_code: str) -> dict[str, str]:
    return {"username": username, "password": password, "customerCode": customer_code}


def cod_addons(cod_vnd: int, cod_addon: str) -> list[dict[str, Any]]:
    if cod_vnd <= 0:
        return []
    code, _, prop = cod_addon.partition(":")
    return [{"code": code, "propValue": f"{prop}:{int(cod_vnd)}"}]


def _party(prefix: str, addr: CarrierAddress, codes: CarrierAddressCodes) -> dict[str, Any]:
    return {
        f"{prefix}Name": addr.name,
        f"{prefix}Phone": local_phone(addr.phone),
        f"{prefix}Address": full_address(addr),
        f"{prefix}ProvinceCode": codes.province_id,
        f"{prefix}ProvinceName": codes.province_name,
        f"{prefix}DistrictCode": codes.district_id,
        f"{prefix}DistrictName": codes.district_name,
        f"{prefix}CommuneCode": codes.ward_id,
        f"{prefix}CommuneName": codes.ward_name,
    }


def build_create_request(
    req: ConsignmentRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    service_code: str,
    cod_addon: str = "GTG021:PROP0018",
) -> dict[str, Any]:
    """``ConsignmentRequest`` → ``CreateOrder {orderCreationStatus: 1 (submit), type: "GUI", informationOrder}``."""
    info: dict[str, Any] = {
        **_party("sender", req.sender, sender),
        "senderMail": None,
        **_party("receiver", req.recipient, recipient),
        "receiverEmail": None,
        "serviceCode": service_code,
        "saleOrderCode": req.client_ref,
        "contentNote": req.contents,
        "weight": req.weight_g,
        "width": None,
        "length": None,
        "height": None,
        "isBroken": 0,
        "addonService": cod_addons(req.cod_vnd, cod_addon),
        "additionRequest": [],
        "vehicle": "BO",
        "sendType": "1",
        "deliveryTime": "N",
        "deliveryRequire": "1",
        "deliveryInstruction": req.options.get("note"),
        "orgCodeCollect": None,
        "orgCodeAccept": None,
    }
    return {"orderCreationStatus": 1, "type": "GUI", "informationOrder": info}


def build_price_request(
    req: QuoteRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    service_code: str,
    cod_addon: str = "GTG021:PROP0018",
) -> dict[str, Any]:
    return {
        "serviceCode": service_code,
        "senderProvinceCode": sender.province_id,
        "senderDistrictCode": sender.district_id,
        "senderCommuneCode": sender.ward_id,
        "receiverProvinceCode": recipient.province_id,
        "receiverDistrictCode": recipient.district_id,
        "receiverCommuneCode": recipient.ward_id,
        "weight": req.weight_g,
        "addonService": cod_addons(req.cod_vnd, cod_addon),
    }


def build_cancel_request(original_id: str) -> dict[str, str]:
    return {"OriginalId": original_id}


# -- pure response parsers ------------------------------------------------------------------------------------------


def parse_login_response(data: Any) -> str:
    token = data.get("token") if isinstance(data, Mapping) else None
    if not token:
        raise CarrierAuthError(CODE, f"login refused: {message_of(data, 'no token')}", raw=data)
    return str(token)


def raise_error(result: HttpResult, *, op: str) -> None:
    """MyVNPost answers errors non-200 with ``{message}``."""
    if 200 <= result.status < 300:
        return
    message = message_of(result.data, result.text[:300] or f"HTTP {result.status}")
    if result.status in (401, 403):
        raise CarrierAuthError(CODE, f"{op}: {message}", raw=result.data)
    if op == "create" and looks_duplicate(message):
        raise DuplicateReference(CODE, message, code="duplicate", raw=result.data)
    if op == "cancel" and result.status != 404:
        raise InvalidState(CODE, f"cancel refused: {message}", raw=result.data)
    raise CarrierValidationError(CODE, f"{op}: {message}", raw=result.data)


def parse_create_response(data: Any, client_ref: str) -> ConsignmentResult:
    original = data.get("originalID") or data.get("originalId") if isinstance(data, Mapping) else None
    if not original:
        raise OutcomeUnknown(CODE, "CreateOrder answered without originalID", raw=data)
    fee = data.get("totalFee")
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=str(original),
        client_ref=client_ref,
        carrier_internal_id=None,
        fee_total_vnd=int(float(fee)) if fee not in (None, "") else None,
        raw=dict(data),
    )


def parse_price_response(data: Any, service: str, service_code: str) -> Quote | None:
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        if row.get("serviceCode") not in (None, service_code):
            continue
        fee = row.get("totalFee", row.get("totalAmount", row.get("fee")))
        if fee is None:
            continue
        return Quote(carrier=CODE, service=service, fee_vnd=int(float(fee)), carrier_service=service_code, raw=row)
    return None


def _pick(row: Mapping[str, Any], *keys: str) -> str:
    return next((str(row[k]) for k in keys if row.get(k) not in (None, "")), "")


def parse_provinces(data: Any) -> list[dict[str, str]]:
    return [
        {"id": _pick(r, "provinceCode", "code"), "name": _pick(r, "provinceName", "name")}
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping)
    ]


def parse_districts(data: Any) -> list[dict[str, str]]:
    return [
        {
            "id": _pick(r, "districtCode", "code"),
            "name": _pick(r, "districtName", "name"),
            "parent": _pick(r, "provinceCode"),
        }
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping)
    ]


def parse_communes(data: Any) -> list[dict[str, str]]:
    return [
        {
            "id": _pick(r, "communeCode", "code"),
            "name": _pick(r, "communeName", "name"),
            "parent": _pick(r, "districtCode"),
        }
        for r in (data if isinstance(data, list) else [])
        if isinstance(r, Mapping)
    ]


def parse_event(
    item: Mapping[str, Any], *, source: str, now, overrides: Mapping[str, vstatus.StatusRow] | None = None
) -> TrackingEvent:
    """One ``{originalId, status, …}`` → a TrackingEvent; dedup key ``originalId|status|<time as sent>``."""
    original = _pick(item, "originalId", "originalID", "OriginalId")
    code = _pick(item, "status", "Status")
    if not original or not code:
        raise WebhookPayloadError(CODE, "each item needs originalId and status")
    row = vstatus.lookup("myvnpost", code, overrides)
    stamp = _pick(item, *TIME_FIELDS)
    occurred = parse_vn_time(stamp, fallback=now)
    note = _pick(item, "statusName", "note", "reason")
    return TrackingEvent(
        carrier=CODE,
        carrier_ref=original,
        occurred_at=occurred,
        raw_code=code,
        status=row.status,
        dedup_key=f"{original}|{code}|{stamp}",
        raw_text=note or row.text,
        location=_pick(item, "postOfficeName", "poCode") or None,
        reason=row.reason,
        provisional=row.provisional,
        source=source,
        raw=dict(item),
    )


# -- the client -----------------------------------------------------------------------------------------------------


class MyVNPostCarrier(VNPostSurface):
    api = "myvnpost"
    default_base_url = "https://my.vnpost.vn/MYVNP_API"
    default_service_codes = "standard=ETN011"
    capabilities = frozenset({Capability.QUOTE, Capability.CREATE, Capability.CANCEL, Capability.TRACK_PUSH})

    def __init__(self, settings=None, env=None, *, session=None) -> None:
        super().__init__(settings, env, session=session)
        self.overrides = vstatus.parse_overrides(self.settings.get("status_map"))
        self.cod_addon = str(self.settings.get("cod_addon") or "GTG021:PROP0018")
        self._master: dict[str, list[dict[str, str]]] = {}

    def _login(self) -> tuple[str, int]:
        body = build_login_request(self.require("username"), self.require("password"), self.require("customer_code"))
        result = self.http.request("POST", LOGIN, mutating=False, json_body=body)
        if result.status >= 400:
            raise CarrierAuthError(CODE, f"login refused: {message_of(result.data, result.text[:200])}")
        return parse_login_response(result.data), TOKEN_TTL_SECONDS

    def _call(self, method: str, path: str, *, mutating: bool, json_body: Any = None) -> HttpResult:
        return self.with_token(
            lambda token: self.http.request(
                method, path, mutating=mutating, json_body=json_body, headers={"token": token}
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

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        cached = self.cached_address(addr)
        if cached:
            return cached
        provinces = match_one(self._list(PROVINCES, parse_provinces), "name", addr.province_name)
        if len(provinces) != 1:
            raise AddressNotResolvable(CODE, f"VNPost (myvnpost) has no province matching {addr.province_name}")
        province = provinces[0]
        districts = {d["id"]: d for d in self._list(DISTRICTS, parse_districts) if d["parent"] == province["id"]}
        found = match_one(
            [c for c in self._list(COMMUNES, parse_communes) if c["parent"] in districts], "name", addr.ward_name
        )
        if not found:
            raise self.not_resolvable("commune", addr)
        if len(found) > 1:
            raise AddressNotResolvable(
                CODE,
                f"VNPost (myvnpost) has {len(found)} communes named like {addr.ward_name} in {addr.province_name}; "
                "cannot choose one",
            )
        commune = found[0]
        district = districts[commune["parent"]]
        codes = CarrierAddressCodes(
            province_id=province["id"],
            district_id=district["id"],
            ward_id=commune["id"],
            province_name=province["name"],
            district_name=district["name"],
            ward_name=commune["name"],
        )
        return self.remember_address(addr, codes)

    def quote(self, req: QuoteRequest) -> list[Quote]:
        sender, recipient = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        quotes = []
        for service in self.services:
            if (req.service and service != req.service) or service not in self.service_codes:
                continue
            code = self.service_codes[service]
            body = build_price_request(req, sender, recipient, code, self.cod_addon)
            result = self._call("POST", PRICE, mutating=False, json_body=body)
            if result.status == 400:
                continue  # this service is not offered on the route
            raise_error(result, op="quote")
            quote = parse_price_response(result.data, service, code)
            if quote:
                quotes.append(quote)
        if not quotes:
            raise RouteNotServiceable(CODE, "MyVNPost offers none of our services on this route")
        return quotes

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        body = build_create_request(
            req,
            self.resolve_address(req.sender),
            self.resolve_address(req.recipient),
            self.service_code(req.service),
            self.cod_addon,
        )
        result = self._call("POST", CREATE, mutating=True, json_body=body)
        raise_error(result, op="create")
        return parse_create_response(result.data, req.client_ref)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        result = self._call("POST", CANCEL, mutating=True, json_body=build_cancel_request(carrier_ref))
        raise_error(result, op="cancel")

    def verify_webhook(self, req: WebhookRequest) -> None:
        secret = str(self.settings.get("webhook_secret") or "")
        given = req.path_token or ""
        if not secret or not given or not hmac.compare_digest(given.encode(), secret.encode()):
            raise WebhookAuthError(CODE, "path token does not match this MyVNPost account")

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        try:
            data = json.loads(req.body)
        except ValueError:
            raise WebhookPayloadError(CODE, "body is not JSON") from None
        items = data if isinstance(data, list) else [data]
        if not items or not all(isinstance(i, Mapping) for i in items):
            raise WebhookPayloadError(CODE, "expected a JSON array of {originalId, status}")
        now = self.env.now()
        return [parse_event(i, source="webhook", now=now, overrides=self.overrides) for i in items]
