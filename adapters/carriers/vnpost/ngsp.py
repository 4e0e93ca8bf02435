"""VNPost NGSP / MITC gateway, as OpenCPS uses it for dossier collection and result return (carriers.md §2.1(c)) —
``api=ngsp``.

Settings read (str values), after OpenCPS's ``VNPOST_<govAgencyCode>`` server config:
- ``base_url`` — default ``https://api.mitc.vn``;
- ``token_path`` (OpenCPS ``apiGetToken``, default ``/token``), ``order_path`` (``apiPostOrder``, default
  ``/apiVNPostNGSP/p1.0/order/post``), ``cancel_path`` (``apiCancelOrder``, default
  ``/apiVNPostNGSP/p1.0/order/cancel`` [?]), ``tracking_path`` (``apiGetOrderTracking``, default
  ``/apiVNPostNGSP/p1.0/order/tracking`` [?]). **The real paths live inside ``VNPostNGSPSDK.jar`` and are unconfirmed
  [?]** (carriers.md §5.7 q1) — which is why they are settings, as in OpenCPS; a full URL is accepted too;
- ``client_id`` / ``client_secret`` — OpenCPS ``customerKey`` / ``secretKey``, the OAuth2 client-credentials pair
  (sent as HTTP Basic to the token endpoint, WSO2-style; answer ``{access_token, token_type, expires_in}``);
- ``customer_code`` — ``customerCode`` on orders and cancels; ``sender_email`` — ``senderEmail`` (optional);
- ``page_size`` — feed page size (default 50); ``status_map`` — overrides for the [?] status list (see status.py);
- ``district_map`` — ``"<2025 ward_code>=<legacy district int>,…"``: NGSP orders carry integer province and district
  and **no ward**; the province is the administrative code of the 2025 province (OpenCPS sends GSO codes), the
  district is taken from this map or sent as ``0`` (unknown) — the ward travels in the address text.

Capabilities: create (``MOrder``; both directions use the same call), cancel (``customerCode`` + ``orderNumber``), and
the paged tracking feed (``track_feed``; ``?pagesize&lastId``, RESTHeart ``_embedded["rh:doc"]``). No quote, no
per-order tracking, no lookup, no push and no label are known. ``orderNumber`` is our client reference; when the
gateway answers with an item code, that is the courier reference and ``orderNumber`` the internal id.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.carriers.base import (
    AddressNotResolvable,
    Capability,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    InvalidState,
    OutcomeUnknown,
    TrackingEvent,
    WebhookAuthError,
    WebhookRequest,
)
from adapters.carriers.http import HttpResult
from adapters.carriers.vnpost import status as vstatus
from adapters.carriers.vnpost.common import (
    CODE,
    VNPostSurface,
    full_address,
    local_phone,
    looks_duplicate,
    message_of,
)
from postal_bridge.domain import s10

FIRST_CURSOR = "000000000000000000000000"  # OpenCPS starts the walk here

# -- pure request builders ------------------------------------------------------------------------------------------


def build_token_request(client_id: str, client_secret: str) -> tuple[dict[str, str], dict[str, str]]:
    """(form, headers) for the OAuth2 client-credentials grant."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    return {"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"}


def build_order_request(
    req: ConsignmentRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    customer_code: str,
    sender_email: str = "",
) -> dict[str, Any]:
    """``ConsignmentRequest`` → OpenCPS ``MOrder``. Return leg: sender = agency, receiver = citizen; collection leg:
    the reverse (already so in ``req``)."""
    return {
        "customerCode": customer_code,
        "orderNumber": req.client_ref,
        "codAmount": req.cod_vnd,
        "senderProvince": int(sender.province_id),
        "senderDistrict": int(sender.district_id or 0),
        "senderAddress": full_address(req.sender),
        "senderName": req.sender.name,
        "senderEmail": sender_email,
        "senderTel": local_phone(req.sender.phone),
        "senderDesc": req.metadata.get("dossier_no", ""),
        "description": req.contents,
        "receiverName": req.recipient.name,
        "receiverAddress": full_address(req.recipient),
        "receiverTel": local_phone(req.recipient.phone),
        "receiverProvince": int(recipient.province_id),
        "receiverDistrict": int(recipient.district_id or 0),
        "receiverEmail": "",
    }


def build_cancel_request(customer_code: str, order_number: str) -> dict[str, str]:
    return {"customerCode": customer_code, "orderNumber": order_number}


def build_feed_params(cursor: str | None, page_size: int) -> dict[str, Any]:
    return {"pagesize": page_size, "lastId": cursor or FIRST_CURSOR}


# -- pure response parsers ------------------------------------------------------------------------------------------


def parse_token_response(data: Any) -> tuple[str, int]:
    if not isinstance(data, Mapping) or not data.get("access_token"):
        raise CarrierAuthError(CODE, f"token refused: {message_of(data, 'no access_token')}", raw=data)
    return str(data["access_token"]), int(data.get("expires_in") or 3600)


def raise_error(result: HttpResult, *, op: str) -> None:
    data = result.data
    refused = isinstance(data, Mapping) and (data.get("success") is False or data.get("error") is True)
    if 200 <= result.status < 300 and not refused:
        return
    message = message_of(data, result.text[:300] or f"HTTP {result.status}")
    if result.status in (401, 403):
        raise CarrierAuthError(CODE, f"{op}: {message}", raw=data)
    if op == "create" and looks_duplicate(message):
        raise DuplicateReference(CODE, message, code="duplicate", raw=data)
    if op == "cancel" and result.status != 404:
        raise InvalidState(CODE, f"cancel refused: {message}", raw=data)
    raise CarrierValidationError(CODE, f"{op}: {message}", raw=data)


def parse_order_response(data: Any, order_number: str) -> ConsignmentResult:
    """The result object's shape is unknown [?]: take an item code when one is there, else ``orderNumber``."""
    if not isinstance(data, Mapping):
        raise OutcomeUnknown(CODE, "order/post answered without a result object", raw=data)
    item_code = next((str(data[k]) for k in ("itemCode", "ItemCode", "item_code") if data.get(k)), "")
    number = str(data.get("orderNumber") or order_number)
    fee = data.get("totalFee", data.get("fee"))
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=item_code or number,
        client_ref=order_number,
        carrier_internal_id=number if item_code else None,
        fee_total_vnd=int(float(fee)) if fee not in (None, "") else None,
        raw=dict(data),
    )


def oid_time(oid: str) -> datetime | None:
    """A MongoDB ObjectId starts with its creation time (4 bytes, Unix seconds, big-endian)."""
    try:
        return datetime.fromtimestamp(int(oid[:8], 16), UTC)
    except (ValueError, TypeError):
        return None


def parse_feed_page(
    data: Any, cursor: str | None, *, now: datetime, overrides: Mapping[str, vstatus.StatusRow] | None = None
) -> tuple[list[TrackingEvent], str | None]:
    """``{_embedded: {"rh:doc": [{_id: {$oid}, orderNumber, statusCode, statusMessage}]}}`` → (events, next cursor).
    The next cursor is the last ``$oid``; an empty page returns the same cursor, which ends the walk."""
    if not isinstance(data, Mapping):
        raise CarrierUnavailable(CODE, "tracking feed answered without a page", raw=data)
    embedded = data.get("_embedded") or {}
    docs = embedded.get("rh:doc") if isinstance(embedded, Mapping) else None
    events: list[TrackingEvent] = []
    next_cursor = cursor
    for doc in docs if isinstance(docs, list) else []:
        if not isinstance(doc, Mapping):
            continue
        ident = doc.get("_id")
        oid = str(ident.get("$oid") if isinstance(ident, Mapping) else ident or "")
        if not oid:
            continue
        next_cursor = oid
        number = str(doc.get("orderNumber") or "")
        code = str(doc.get("statusCode", "")).strip()
        if not number:
            continue
        row = vstatus.lookup("ngsp", code, overrides)
        events.append(
            TrackingEvent(
                carrier=CODE,
                carrier_ref=number,
                occurred_at=oid_time(oid) or now,
                raw_code=code,
                status=row.status,
                dedup_key=f"{number}|{code}|{oid}",
                raw_text=str(doc.get("statusMessage") or row.text),
                reason=row.reason,
                provisional=row.provisional,
                source="feed",
                raw=dict(doc),
            )
        )
    return events, next_cursor


def parse_district_map(raw: str | None) -> dict[str, str]:
    out = {}
    for part in (raw or "").split(","):
        ward, sep, district = part.partition("=")
        if sep and ward.strip() and district.strip().isdigit():
            out[ward.strip()] = district.strip()
    return out


# -- the client -----------------------------------------------------------------------------------------------------


class NGSPCarrier(VNPostSurface):
    api = "ngsp"
    default_base_url = "https://api.mitc.vn"
    default_service_codes = "standard=NGSP"  # NGSP orders carry no service code; one service
    capabilities = frozenset({Capability.CREATE, Capability.CANCEL, Capability.TRACK_FEED})

    def __init__(self, settings=None, env=None, *, session=None) -> None:
        super().__init__(settings, env, session=session)
        self.overrides = vstatus.parse_overrides(self.settings.get("status_map"))
        self.districts = parse_district_map(self.settings.get("district_map"))
        self.page_size = int(self.settings.get("page_size") or 50)
        self.paths = {
            "token": str(self.settings.get("token_path") or "/token"),
            "order": str(self.settings.get("order_path") or "/apiVNPostNGSP/p1.0/order/post"),
            "cancel": str(self.settings.get("cancel_path") or "/apiVNPostNGSP/p1.0/order/cancel"),
            "tracking": str(self.settings.get("tracking_path") or "/apiVNPostNGSP/p1.0/order/tracking"),
        }

    def _login(self) -> tuple[str, int]:
        form, headers = build_token_request(self.require("client_id"), self.require("client_secret"))
        result = self.http.request("POST", self.paths["token"], mutating=False, form=form, headers=headers)
        if result.status >= 400:
            raise CarrierAuthError(CODE, f"token refused: {message_of(result.data, result.text[:200])}")
        token, ttl = parse_token_response(result.data)
        return token, max(60, ttl - 60)

    def _call(self, method: str, op: str, *, mutating: bool, json_body: Any = None, params=None) -> HttpResult:
        return self.with_token(
            lambda token: self.http.request(
                method,
                self.paths[op],
                mutating=mutating,
                json_body=json_body,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            ),
            self._login,
            lambda r: r.status == 401,
        )

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        """NGSP has no master-data endpoint: the province is the 2025 administrative code as an integer (as OpenCPS
        sends it), the district comes from ``district_map`` or is 0. Never guessed from names."""
        cached = self.cached_address(addr)
        if cached:
            return cached
        if not (addr.province_code.isascii() and addr.province_code.isdigit()) or int(addr.province_code) == 0:
            raise AddressNotResolvable(
                CODE,
                f"VNPost (ngsp) needs a numeric province code for {addr.province_name}, got {addr.province_code!r}",
            )
        codes = CarrierAddressCodes(
            province_id=str(int(addr.province_code)),
            district_id=self.districts.get(addr.ward_code, "0"),
            ward_id=None,
            province_name=addr.province_name,
            ward_name=addr.ward_name,
        )
        return self.remember_address(addr, codes)

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        body = build_order_request(
            req,
            self.resolve_address(req.sender),
            self.resolve_address(req.recipient),
            self.require("customer_code"),
            str(self.settings.get("sender_email") or ""),
        )
        result = self._call("POST", "order", mutating=True, json_body=body)
        raise_error(result, op="create")
        return parse_order_response(result.data, req.client_ref)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        """``cancelOrder(customerCode, orderNumber)``: give it the ``orderNumber`` (our ``carrier_internal_id``)."""
        if s10.is_valid(carrier_ref):
            raise CarrierValidationError(
                CODE, f"NGSP cancels by orderNumber (the booking's internal id), not by the item code {carrier_ref}"
            )
        body = build_cancel_request(self.require("customer_code"), carrier_ref)
        result = self._call("POST", "cancel", mutating=True, json_body=body)
        raise_error(result, op="cancel")

    def track_feed(self, cursor: str | None) -> tuple[list[TrackingEvent], str | None]:
        result = self._call("GET", "tracking", mutating=False, params=build_feed_params(cursor, self.page_size))
        raise_error(result, op="tracking feed")
        return parse_feed_page(result.data, cursor or FIRST_CURSOR, now=self.env.now(), overrides=self.overrides)

    def verify_webhook(self, req: WebhookRequest) -> None:
        # NGSP has no push. WebhookAuthError (not NotSupported) so a push meant for another VNPost agency is simply
        # not claimed by this one when the service tries every agency using ``vnpost``.
        raise WebhookAuthError(CODE, "this VNPost account uses NGSP, which has no push")
