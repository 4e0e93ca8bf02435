"""The thin GHN client: HTTP through ``CarrierHttp``, mapping through ``mapper``, settings through ``settings``.

GHN's account token is static (no login flow), so a refused token is a settings problem: ``CarrierAuthError``, no
retry. The only short-lived token is the print token (``/v2/a5/gen-token``, about 30 minutes): it is cached in
``env.tokens`` and, when the print page refuses it, generated again ONCE before giving up with ``CarrierAuthError``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

import requests

from adapters.carriers.base import (
    Capability,
    CarrierAdapterBase,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierEnv,
    CarrierError,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    InvalidState,
    LabelDocument,
    Quote,
    QuoteRequest,
    RouteNotServiceable,
    TrackingEvent,
    WebhookAuthError,
    WebhookRequest,
)
from adapters.carriers.ghn import mapper
from adapters.carriers.ghn.settings import GHNSettings
from adapters.carriers.ghn.units import CANCELLABLE, PRINT_PATHS
from adapters.carriers.http import CarrierHttp

PRINT_TOKEN_TTL = 25 * 60  # GHN keeps a print token about 30 minutes; stop using ours a little earlier


class GHNCarrier(CarrierAdapterBase):
    code = "ghn"
    name = "GHN"
    capabilities = frozenset(
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
    services = ("standard",)

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        env: CarrierEnv | None = None,
        *,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(settings, env)
        self.cfg = GHNSettings.from_mapping(self.settings)
        offered = tuple(s for s in ("standard", "express") if s in self.cfg.service_types)
        self.services = tuple(s for s in self.services if s in offered) if self.settings.get("services") else offered
        self.http = CarrierHttp(self.code, self.cfg.base_url, self.env, session=session)
        self._wards: dict[str, list] = {}

    # -- plumbing ----------------------------------------------------------------------------------------------------

    def headers(self, *, shop: bool = True) -> dict[str, str]:
        h = {"Token": self.require("token"), "Content-Type": "application/json"}
        if shop:
            h["ShopId"] = self.require("shop_id")
        return h

    def call(
        self, method: str, path: str, body: dict | None = None, *, op: str, mutating: bool, shop: bool = True
    ) -> Any:
        """One API call; returns the envelope's ``data`` or raises the typed error for the answer."""
        res = self.http.request(
            method,
            path,
            mutating=mutating,
            json_body=body if method != "GET" else None,
            params=body if method == "GET" else None,
            headers=self.headers(shop=shop),
        )
        error = mapper.error_for(res.status, res.data, op=op, mutating=mutating)
        if error is not None:
            raise error
        return res.data.get("data")

    @property
    def shop_id(self) -> int:
        return int(self.require("shop_id"))

    # -- addresses ---------------------------------------------------------------------------------------------------

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        """Canonical 2025 ward → GHN province id, legacy district id and ward code, by name through master data."""
        cached = self.env.addresses.get(self.code, self.account, addr.ward_code)
        if cached:
            return CarrierAddressCodes(**cached)
        provinces = self.call("GET", "/master-data/province", op="master_data", mutating=False, shop=False)
        province = mapper.match_province(provinces if isinstance(provinces, list) else [], addr)
        province_id = mapper._as_int(province.get("ProvinceID"))
        districts = self.call(
            "POST", "/master-data/district", {"province_id": province_id}, op="master_data", mutating=False, shop=False
        )
        candidates = []
        for district in districts if isinstance(districts, list) else []:
            if not isinstance(district, Mapping):
                continue
            for ward in self._district_wards(mapper._as_int(district.get("DistrictID"))):
                if isinstance(ward, Mapping) and mapper.name_matches(ward, "WardName", addr.ward_name):
                    candidates.append((district, ward))
        codes = mapper.pick_ward(candidates, province, addr)
        self.env.addresses.put(self.code, self.account, addr.ward_code, asdict(codes))
        return codes

    def _district_wards(self, district_id: int | None) -> list:
        key = str(district_id)
        if key not in self._wards:
            wards = self.call(
                "POST", "/master-data/ward", {"district_id": district_id}, op="master_data", mutating=False, shop=False
            )
            self._wards[key] = wards if isinstance(wards, list) else []
        return self._wards[key]

    # -- quote -------------------------------------------------------------------------------------------------------

    def quote(self, req: QuoteRequest) -> list[Quote]:
        wanted = [s for s in ([req.service] if req.service else self.services) if s in self.services]
        sender, recipient = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        available = self.call(
            "POST",
            "/v2/shipping-order/available-services",
            mapper.build_services_request(self.shop_id, sender, recipient),
            op="services",
            mutating=False,
        )
        route = f"from {req.sender.ward_name} to {req.recipient.ward_name}, {req.recipient.province_name}"
        if not available:
            raise RouteNotServiceable(self.code, f"GHN offers no service {route}", raw=available)
        quotes = []
        for ours in wanted:
            type_id = self.cfg.service_types[ours]
            service = mapper.pick_service(available, type_id)
            if service is None:
                continue
            fee_data = self.call(
                "POST",
                "/v2/shipping-order/fee",
                mapper.build_fee_request(
                    service_type_id=type_id,
                    sender=sender,
                    recipient=recipient,
                    weight_g=req.weight_g,
                    parcel_cm=self.cfg.parcel_cm,
                    cod_vnd=req.cod_vnd,
                ),
                op="fee",
                mutating=False,
            )
            days, lead = None, None
            service_id = mapper._as_int(service.get("service_id"))
            if service_id:
                try:
                    lead = self.call(
                        "POST",
                        "/v2/shipping-order/leadtime",
                        mapper.build_leadtime_request(service_id, sender, recipient),
                        op="leadtime",
                        mutating=False,
                    )
                    days = mapper.parse_leadtime_response(lead, self.env.now())
                except CarrierValidationError:
                    days = None  # a quote without a promise is still a quote
            quotes.append(
                Quote(
                    carrier=self.code,
                    service=ours,
                    fee_vnd=mapper.parse_fee_response(fee_data),
                    promised_days=days,
                    carrier_service=str(type_id),
                    raw={"service": service, "fee": fee_data, "leadtime": lead},
                )
            )
        if not quotes:
            raise RouteNotServiceable(self.code, f"GHN offers none of {', '.join(wanted)} {route}", raw=available)
        return quotes

    # -- create / lookup ---------------------------------------------------------------------------------------------

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        if req.service not in self.services:
            raise CarrierValidationError(self.code, f"this GHN account does not offer the {req.service} service")
        sender, recipient = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        body = mapper.build_create_request(
            req,
            sender,
            recipient,
            service_type_id=self.cfg.service_types[req.service],
            required_note=self.cfg.required_note,
            payment_type_id=self.cfg.payment_type_id,
            parcel_cm=self.cfg.parcel_cm,
        )
        try:
            data = self.call("POST", "/v2/shipping-order/create", body, op="create", mutating=True)
        except DuplicateReference as exc:
            found = self._quiet_lookup(req.client_ref)
            exc.existing_ref = found.carrier_ref if found else None
            raise
        except CarrierValidationError as exc:
            # GHN's duplicate message is unknown (carriers.md §4.2 [?]): a refused create whose reference exists IS
            # a duplicate, whatever the wording.
            found = self._quiet_lookup(req.client_ref)
            if found is not None:
                raise DuplicateReference(
                    self.code, exc.message, existing_ref=found.carrier_ref, code=exc.code, raw=exc.raw
                ) from exc
            raise
        return mapper.parse_create_response(data, req.client_ref)

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        """``detail-by-client-code``. GHN answers an unknown reference with a code-400 envelope: that is ``None``."""
        try:
            data = self.call(
                "POST",
                "/v2/shipping-order/detail-by-client-code",
                {"client_order_code": client_ref},
                op="lookup",
                mutating=False,
            )
        except CarrierValidationError:
            return None
        return mapper.parse_detail_response(data, client_ref)

    def _quiet_lookup(self, client_ref: str) -> ConsignmentResult | None:
        try:
            return self.find_by_reference(client_ref)
        except CarrierError:
            return None

    def _detail(self, order_code: str) -> Any:
        return self.call("POST", "/v2/shipping-order/detail", {"order_code": order_code}, op="detail", mutating=False)

    # -- cancel ------------------------------------------------------------------------------------------------------

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """Before pickup only. Already cancelled counts as success; a refusal past pickup is ``InvalidState``."""
        try:
            data = self.call(
                "POST",
                "/v2/switch-status/cancel",
                mapper.build_cancel_request([carrier_ref]),
                op="cancel",
                mutating=True,
            )
        except CarrierValidationError as exc:
            self._explain_refusal(carrier_ref, exc)
            return
        accepted, message = mapper.parse_cancel_response(data).get(carrier_ref, (True, ""))
        if not accepted:
            self._explain_refusal(carrier_ref, CarrierValidationError(self.code, message, raw=data))

    def _explain_refusal(self, carrier_ref: str, exc: CarrierValidationError) -> None:
        try:
            detail = mapper.unwrap_detail(self._detail(carrier_ref), carrier_ref)
        except CarrierError:
            raise exc from None
        status = str((detail or {}).get("status") or "")
        if status == "cancel":
            return
        if status and status not in CANCELLABLE:
            raise InvalidState(
                self.code, f"GHN cannot cancel {carrier_ref} in status {status}: {exc.message}", raw=exc.raw
            ) from None
        raise exc

    # -- label -------------------------------------------------------------------------------------------------------

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument:
        """GHN prints HTML only: the page (``content``, text/html) and its short-lived URL. ``fmt="url"`` skips the
        download and returns the URL alone; any other ``fmt`` gets the HTML, since GHN offers no PDF."""
        codes = [c for c in carrier_refs if c]
        if not codes:
            raise CarrierValidationError(self.code, "label needs at least one order code")
        key = f"{self.code}:{self.account}:print:{','.join(sorted(codes))}"
        token = self.env.tokens.get(key)
        for attempt in range(2):
            if token is None:
                token = self._gen_token(codes)
                self.env.tokens.set(key, token, PRINT_TOKEN_TTL)
            url = self.print_url(token)
            if fmt == "url":
                return LabelDocument(content_type="text/html", url=url)
            res = self.http.request("GET", url, mutating=False, expect_json=False)
            if mapper.print_answer_ok(res.status, res.content):
                content_type = res.headers.get("content-type") or "text/html; charset=utf-8"
                return LabelDocument(content_type=content_type, content=res.content, url=url)
            self.env.tokens.delete(key)
            token = None
            if attempt == 1:
                raise CarrierAuthError(self.code, "GHN refused a fresh print token", raw=res.text[:500])
        raise AssertionError("unreachable")  # pragma: no cover

    def print_url(self, token: str) -> str:
        return f"{self.cfg.print_base_url}/{PRINT_PATHS[self.cfg.label_size]}?{urlencode({'token': token})}"

    def _gen_token(self, codes: list[str]) -> str:
        data = self.call(
            "POST", "/v2/a5/gen-token", mapper.build_gen_token_request(codes), op="gen_token", mutating=False
        )
        return mapper.parse_gen_token_response(data)

    # -- tracking ----------------------------------------------------------------------------------------------------

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        return mapper.parse_tracking_response(self._detail(carrier_ref), carrier_ref)

    def verify_webhook(self, req: WebhookRequest) -> None:
        """GHN does not sign callbacks: it sends the Basic auth or the custom header agreed with its support."""
        secret = str(self.settings.get("webhook_secret") or "")
        if not secret:
            raise WebhookAuthError(self.code, "webhook_secret is not configured for this GHN account")
        headers = {k.lower(): v for k, v in req.headers.items()}
        if self.cfg.webhook_auth == "header":
            given = headers.get(self.cfg.webhook_header, "").encode()
            if not hmac.compare_digest(given, secret.encode()):
                raise WebhookAuthError(self.code, f"missing or wrong {self.cfg.webhook_header} header")
            return
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        try:
            given = base64.b64decode(encoded.strip(), validate=True) if scheme.lower() == "basic" else b""
        except (binascii.Error, ValueError):
            given = b""
        expected = f"{self.cfg.webhook_user}:{secret}".encode()
        if not given or not hmac.compare_digest(given, expected):
            raise WebhookAuthError(self.code, "missing or wrong Basic authorization")

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        return mapper.parse_webhook_body(req.body)

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        """GHN retries any non-2xx answer (about 10 times, 5 s apart), so only a bad body gets a 400."""
        if ok:
            return 200, "application/json", json.dumps({"code": 200, "message": "Success"})
        return 400, "application/json", json.dumps({"code": 400, "message": error or "rejected"}, ensure_ascii=False)
