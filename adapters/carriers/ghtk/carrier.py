"""The thin GHTK client: HTTP through ``CarrierHttp``, mapping in ``mapper``, tables in ``units``.

GHTK's token is static (made in the shop portal, with an expiry date): there is no login to repeat, so a refused or
expired token raises ``CarrierAuthError`` at once, telling staff to issue a new one. Settings: see ``settings``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from adapters.carriers.base import (
    AddressNotResolvable,
    Capability,
    CarrierAdapterBase,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierEnv,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    InvalidState,
    LabelDocument,
    Quote,
    QuoteRequest,
    TrackingEvent,
    WebhookAuthError,
    WebhookRequest,
)
from adapters.carriers.ghtk import mapper
from adapters.carriers.ghtk.addresses import lookup_ward
from adapters.carriers.ghtk.settings import GHTKSettings, load_settings
from adapters.carriers.ghtk.units import CANCELLABLE, STATUS_TEXT
from adapters.carriers.http import CarrierHttp, HttpResult
from postal_bridge.domain.carriers import CarrierError
from postal_bridge.domain.text import fold_place_name


class GHTKCarrier(CarrierAdapterBase):
    code = "ghtk"
    name = "GHTK"
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
    services = ("standard", "express")

    def __init__(self, settings: Mapping[str, Any] | None = None, env: CarrierEnv | None = None, session=None):
        super().__init__(settings, env)
        self._session = session
        self._http: CarrierHttp | None = None

    # -- plumbing ------------------------------------------------------------------------------------------------

    @property
    def cfg(self) -> GHTKSettings:
        return load_settings(self.settings, self.require("token"))

    @property
    def account(self) -> str:
        return str(self.settings.get("shop_id") or self.settings.get("client_source") or "default")

    @property
    def http(self) -> CarrierHttp:
        if self._http is None:
            self._http = CarrierHttp(self.code, self.cfg.base_url, self.env, session=self._session)
        return self._http

    def _headers(self) -> dict[str, str]:
        cfg = self.cfg
        headers = {"Token": cfg.token, "Accept": "application/json"}
        if cfg.client_source:
            headers["X-Client-Source"] = cfg.client_source
        return headers

    def _call(self, method: str, path: str, *, mutating: bool, **kw: Any) -> tuple[HttpResult, dict[str, Any]]:
        res = self.http.request(method, path, mutating=mutating, headers=self._headers(), **kw)
        return res, mapper.raise_for_error(res.status, res.data, mutating=mutating, raw=res.text[:2000])

    def _transport(self, service: str) -> str:
        transport = self.cfg.transport_for(service)
        if service not in self.services or not transport:
            raise CarrierValidationError(self.code, f"service {service!r} is not offered by this GHTK account")
        return transport

    # -- addresses -----------------------------------------------------------------------------------------------

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        cached = self.env.addresses.get(self.code, self.account, addr.ward_code)
        if (
            cached
            and cached.get("province_id") == addr.province_code
            and (not addr.ward_name or fold_place_name(addr.ward_name) == fold_place_name(cached.get("ward_name", "")))
        ):
            return CarrierAddressCodes(**cached)
        ward = lookup_ward(addr.province_code, addr.ward_code, addr.ward_name)
        if ward is None:
            raise AddressNotResolvable(
                self.code,
                f"GHTK has no ward matching {addr.ward_name or addr.ward_code} in "
                f"{addr.province_name or addr.province_code}",
                code="ward_unknown",
            )
        codes = CarrierAddressCodes(
            province_id=ward.province_code,
            ward_id=ward.ward_code,
            district_id=None,
            province_name=ward.province_name,
            district_name=ward.legacy_district,
            ward_name=ward.ward_name,
        )
        self.env.addresses.put(self.code, self.account, addr.ward_code, codes.__dict__)
        return codes

    # -- quote / create ------------------------------------------------------------------------------------------

    def quote(self, req: QuoteRequest) -> list[Quote]:
        pick, to = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        wanted = [req.service] if req.service else list(self.services)
        quotes = []
        for service in wanted:
            if service not in self.services or not self.cfg.transport_for(service):
                continue
            transport = self._transport(service)
            params = mapper.build_fee_request(req, pick, to, transport=transport, send_district=self.cfg.send_district)
            _, data = self._call("GET", "/services/shipment/fee", mutating=False, params=params)
            quotes.append(mapper.parse_fee_response(data, service=service, transport=transport))
        return quotes

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        transport = self._transport(req.service)
        pick, to = self.resolve_address(req.sender), self.resolve_address(req.recipient)
        body = mapper.build_order_request(req, pick, to, self.cfg, transport=transport)
        _, data = self._call("POST", "/services/shipment/order", mutating=True, json_body=body)
        return mapper.parse_order_response(data, client_ref=req.client_ref)

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        """``GET /services/shipment/v2/partner_id:<client_ref>``; ``success:false`` (not found) → ``None``."""
        res = self.http.request(
            "GET",
            f"/services/shipment/v2/partner_id:{quote(client_ref, safe='')}",
            mutating=False,
            headers=self._headers(),
        )
        try:
            data = mapper.raise_for_error(res.status, res.data, raw=res.text[:2000])
        except CarrierValidationError:
            return None
        return mapper.parse_detail_result(data, client_ref=client_ref)

    # -- cancel / label / track ----------------------------------------------------------------------------------

    def _detail(self, ref: str) -> dict[str, Any]:
        _, data = self._call("GET", f"/services/shipment/v2/{quote(ref, safe=':')}", mutating=False)
        return data

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """Only in states 1, 2 and 12. Already cancelled counts as success (checked on the detail)."""
        try:
            self._call("POST", f"/services/shipment/cancel/{quote(carrier_ref, safe=':')}", mutating=True)
            return
        except CarrierValidationError as refused:
            try:
                state = mapper.detail_status(self._detail(carrier_ref))
            except CarrierError:
                raise refused from None
            if state == "-1":
                return
            if state is not None and state not in CANCELLABLE:
                raise InvalidState(
                    self.code,
                    f"GHTK cannot cancel {carrier_ref} in state {state} ({STATUS_TEXT.get(state, 'unknown')}): "
                    f"{refused.message}",
                    code=f"state_{state}",
                    raw=refused.raw,
                ) from None
            raise

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument:
        """``GET /services/label/{label}`` returns PDF bytes, one PDF per order."""
        if fmt.lower() != "pdf":
            raise CarrierValidationError(self.code, f"GHTK labels are PDF only, not {fmt}")
        if len(carrier_refs) != 1:
            raise CarrierValidationError(self.code, "GHTK prints one order per label request")
        res = self.http.request(
            "GET",
            f"/services/label/{quote(carrier_refs[0], safe='')}",
            mutating=False,
            params=mapper.build_label_request(self.cfg),
            headers=self._headers(),
            expect_json=False,
        )
        if res.status == 200 and res.content.startswith(b"%PDF"):
            return LabelDocument(content_type="application/pdf", content=res.content)
        try:
            data = json.loads(res.content) if res.content else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CarrierUnavailable(self.code, f"HTTP {res.status}: label answer is neither a PDF nor a GHTK envelope")
        mapper.raise_for_error(res.status, data, raw=res.text[:2000])
        raise CarrierValidationError(self.code, "GHTK label answer is not a PDF", raw=data)

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        return mapper.parse_tracking_response(self._detail(carrier_ref), carrier_ref=carrier_ref, now=self.env.now())

    # -- webhooks ------------------------------------------------------------------------------------------------

    def verify_webhook(self, req: WebhookRequest) -> None:
        cfg = load_settings(self.settings, str(self.settings.get("token") or ""))
        secret = cfg.webhook_secret
        if not secret:
            raise WebhookAuthError(self.code, "no webhook_secret is configured for GHTK")
        if cfg.webhook_auth == "hash":
            try:
                fields = mapper.webhook_fields(req.body, req.content_type)
            except CarrierError:
                fields = {}
            presented = str(fields.get("hash") or req.query.get("hash") or "")
        else:
            presented = req.path_token or ""
        if not presented or not hmac.compare_digest(presented.encode(), secret.encode()):
            raise WebhookAuthError(self.code, "GHTK webhook secret does not match")

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        return mapper.parse_webhook_fields(mapper.webhook_fields(req.body, req.content_type))

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        """GHTK resends once on any non-200: answer 200 when stored, 400 on a body we cannot use."""
        if ok:
            return 200, "application/json", json.dumps({"success": True})
        return 400, "application/json", json.dumps({"success": False, "message": error or "rejected"})
