"""The thin Viettel Post client: HTTP through ``CarrierHttp``, login token cached in ``env.tokens`` (refreshed once on
a 401), everything else delegated to the pure mappers in ``mapper.py``."""

from __future__ import annotations

import dataclasses
import hmac
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.carriers.base import (
    AddressNotResolvable,
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
    CourierStatus,
    DuplicateReference,
    InvalidState,
    LabelDocument,
    Quote,
    QuoteRequest,
    TrackingEvent,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)
from adapters.carriers.http import CarrierHttp, HttpResult

from . import mapper as m
from .settings import VTPSettings


class ViettelPostCarrier(CarrierAdapterBase):
    code: ClassVar[str] = "viettelpost"
    name: ClassVar[str] = "Viettel Post"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.QUOTE,
            Capability.CREATE,
            Capability.CANCEL,
            Capability.LABEL,
            Capability.TRACK_POLL,
            Capability.TRACK_PUSH,
        }
    )
    services: tuple[str, ...] = ("standard", "express")

    def __init__(self, settings: Mapping[str, Any] | None = None, env: CarrierEnv | None = None, *, session=None):
        super().__init__(settings, env)
        self.cfg = VTPSettings.from_mapping(self.settings)
        self.http = CarrierHttp(self.code, self.cfg.base_url, self.env, session=session)

    # -- transport ---------------------------------------------------------------------------------------------

    @property
    def _token_key(self) -> str:
        return f"{self.code}:{self.account}:token"

    def _now_ms(self) -> int:
        return int(self.env.now().timestamp() * 1000)

    def _login(self) -> str:
        body = m.build_login_request(self.require("username"), self.require("password"))
        res = self.http.request("POST", "/v2/user/Login", mutating=False, json_body=body)
        token, vtp_ttl = m.parse_login_response(res.status, res.data, self._now_ms())
        ttl = self.cfg.token_ttl_seconds if vtp_ttl is None else min(self.cfg.token_ttl_seconds, vtp_ttl - 60)
        if ttl > 0:
            self.env.tokens.set(self._token_key, token, ttl)
        return token

    def _token(self) -> str:
        return self.env.tokens.get(self._token_key) or self._login()

    def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        mutating: bool,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> HttpResult:
        """One API call. On an expired/invalid token (HTTP 401 or ``status:401``): log in again ONCE and retry."""
        for attempt in (1, 2):
            headers = {"Accept": "application/json"}
            if auth:
                headers["Token"] = self._token()
            res = self.http.request(
                method, path, mutating=mutating, json_body=json_body, params=params, headers=headers
            )
            if auth and m.is_auth_failure(res.status, res.data):
                self.env.tokens.delete(self._token_key)
                if attempt == 1:
                    continue
                raise CarrierAuthError(self.code, f"{op}: token refused after a fresh login", raw=res.data)
            m.raise_for_error(op, res.status, res.data)
            return res
        raise AssertionError("unreachable")  # pragma: no cover

    # -- capabilities ------------------------------------------------------------------------------------------

    def quote(self, req: QuoteRequest) -> list[Quote]:
        wanted = [s for s in ([req.service] if req.service else list(self.services)) if s in self.services]
        sender, recipient = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        body = m.build_quote_request(req, sender, recipient, self.cfg.product_type)
        res = self._call("quote", "POST", "/v2/order/getPriceAll", mutating=False, json_body=body)
        return m.parse_quote_response(res.data, self.cfg.service_map, wanted)

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        order_service = self.cfg.service_map.get(req.service)
        if order_service is None or req.service not in self.services:
            raise CarrierValidationError(
                self.code, f"service {req.service!r} is not offered", field_errors={"service": req.service}
            )
        sender, recipient = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        body = m.build_create_request(
            req,
            sender,
            recipient,
            order_service=order_service,
            delivery_date=m.format_vtp_time(self.env.now()),
            groupaddress_id=self.cfg.groupaddress_id,
            cus_id=self.cfg.cus_id,
            product_type=self.cfg.product_type,
        )
        try:
            res = self._call("create", "POST", "/v2/order/createOrder", mutating=True, json_body=body)
        except DuplicateReference as exc:
            # VTP has no lookup by our reference: a duplicate answer naming the order is our recovery path.
            found = m.duplicate_result(exc, req.client_ref)
            if found is None:
                raise
            return found
        return m.parse_create_response(res.data, req.client_ref)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """``UpdateOrder`` TYPE 4; VTP refuses it once the item is picked up (InvalidState). Already cancelled = ok."""
        body = m.build_cancel_request(carrier_ref, reason)
        try:
            self._call("cancel", "POST", "/v2/order/UpdateOrder", mutating=True, json_body=body)
        except InvalidState:
            if self._already_cancelled(carrier_ref):
                return
            raise

    def _already_cancelled(self, carrier_ref: str) -> bool:
        try:
            events = [e for e in self.track(carrier_ref) if not e.provisional]
        except CarrierError:
            return False
        return bool(events) and events[-1].status == CourierStatus.CANCELLED

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument:
        """VTP prints its own HTML page from a print code; we return its URL (``fmt`` cannot be chosen)."""
        expiry = self._now_ms() + self.cfg.label_ttl_seconds * 1000
        body = m.build_print_request(carrier_refs, expiry)
        res = self._call("label", "POST", "/v2/order/printing-code", mutating=False, json_body=body)
        return m.parse_print_response(res.data, self.cfg.print_base_url, self.cfg.print_layout)

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        body = {"ORDER_NUMBER": carrier_ref}
        res = self._call("track", "POST", self.cfg.track_path, mutating=False, json_body=body)
        return m.parse_track_response(res.data, carrier_ref, self.env.now())

    # -- webhooks ----------------------------------------------------------------------------------------------

    def verify_webhook(self, req: WebhookRequest) -> None:
        """VTP sends the configured secret in the ``TOKEN`` body field and/or the ``Authorization`` header."""
        secret = str(self.settings.get("webhook_secret") or "")
        if not secret:
            raise WebhookAuthError(self.code, "no webhook_secret is configured for this account")
        candidates: list[str] = []
        try:
            body = json.loads(req.body or b"{}")
            if isinstance(body, dict) and body.get("TOKEN") is not None:
                candidates.append(str(body["TOKEN"]))
        except ValueError:
            pass
        header = str(req.headers.get("authorization") or "").strip()
        if header:
            candidates.append(header)
            for scheme in ("bearer ", "token "):
                if header.lower().startswith(scheme):
                    candidates.append(header[len(scheme) :].strip())
        if not any(hmac.compare_digest(c.encode(), secret.encode()) for c in candidates if c):
            raise WebhookAuthError(self.code, "webhook secret does not match")

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        try:
            body = json.loads(req.body)
            return m.parse_webhook_body(body, self.env.now())
        except (ValueError, TypeError) as exc:
            raise WebhookPayloadError(self.code, f"bad Viettel Post push: {exc}", raw=req.body[:2000]) from None

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        if ok:
            return 200, "application/json", json.dumps({"status": 200, "error": False, "message": "OK"})
        body = {"status": 400, "error": True, "message": error or "rejected"}
        return 400, "application/json", json.dumps(body, ensure_ascii=False)

    # -- addresses ---------------------------------------------------------------------------------------------

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        """Canonical 2025 ward → VTP ids: ``/v3/categories/listWardsNew`` first, the legacy district tree second."""
        cached = self.env.addresses.get(self.code, self.account, addr.ward_code)
        if cached:
            return CarrierAddressCodes(**cached)
        provinces = m.parse_provinces(
            self._master("/v2/categories/listProvinceById", {"provinceId": -1}, optional=False)
        )
        found = m.match_unique(provinces, "PROVINCE_NAME", addr.province_name)
        if len(found) != 1:
            raise AddressNotResolvable(
                self.code,
                f"Viettel Post has {'no' if not found else 'more than one'} province matching {addr.province_name}",
            )
        province = found[0]
        province_id = m.to_int(province.get("PROVINCE_ID"))
        codes = self._ward_v3(addr, province, province_id) or self._ward_tree(addr, province, province_id)
        self.env.addresses.put(self.code, self.account, addr.ward_code, dataclasses.asdict(codes))
        return codes

    def _master(self, path: str, params: dict[str, Any], *, optional: bool) -> Any:
        try:
            return self._call("master", "GET", path, mutating=False, params=params, auth=False).data
        except CarrierValidationError:
            if optional:
                return None
            raise

    def _ward_v3(self, addr: CarrierAddress, province: Mapping, province_id: int) -> CarrierAddressCodes | None:
        wards = m.parse_wards(self._master("/v3/categories/listWardsNew", {"provinceId": province_id}, optional=True))
        hits = m.match_unique(wards, "WARDS_NAME", addr.ward_name)
        if len(hits) > 1:
            raise self._unresolvable(addr, "more than one ward")
        return m.address_codes(province, hits[0], None) if hits else None

    def _ward_tree(self, addr: CarrierAddress, province: Mapping, province_id: int) -> CarrierAddressCodes:
        districts = m.parse_districts(
            self._master("/v2/categories/listDistrict", {"provinceId": province_id}, optional=False)
        )
        hits = []
        for district in districts:
            rows = self._master("/v2/categories/listWards", {"districtId": district.get("DISTRICT_ID")}, optional=True)
            hits += [(w, district) for w in m.match_unique(m.parse_wards(rows), "WARDS_NAME", addr.ward_name)]
        if len(hits) != 1:
            raise self._unresolvable(addr, "no ward" if not hits else "more than one ward")
        return m.address_codes(province, hits[0][0], hits[0][1])

    def _unresolvable(self, addr: CarrierAddress, what: str) -> AddressNotResolvable:
        return AddressNotResolvable(
            self.code, f"Viettel Post has {what} matching {addr.ward_name} in {addr.province_name}"
        )
