"""Pure GHTK mappers: unified request → GHTK request, GHTK answer → unified result or typed error (karrio's split).

No I/O here. Shapes follow reference/carriers.md §2.4: the ``{success, message, …}`` envelope, ``products[]`` with
weights in kg (unless ``weight_option=gram``), ``order.id`` → ``partner_id``, the ``ORDER_ID_EXIST`` duplicate that
carries ``ghtk_label``, the detail ``order`` object, and the webhook fields (``label_id``, ``status_id``,
``action_time``…). Parsers tolerate missing and extra fields and keep the raw body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from adapters.carriers.ghtk.settings import GHTKSettings
from adapters.carriers.ghtk.units import STATUS_TEXT, status_row
from postal_bridge.domain.carriers import (
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    OutcomeUnknown,
    Quote,
    QuoteRequest,
    RouteNotServiceable,
    TrackingEvent,
    WebhookPayloadError,
)
from postal_bridge.domain.text import strip_diacritics

CODE = "ghtk"
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # Vietnam keeps no DST: +07:00 all year
DUPLICATE_CODE = "ORDER_ID_EXIST"
HAMLET_NONE = "Khác"  # GHTK's "no level-4 address" value for ``hamlet``


# -- small helpers -------------------------------------------------------------------------------------------------


def local_phone(e164: str) -> str:
    """``+84912345678`` → ``0912345678`` (GHTK takes national numbers)."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if e164.strip().startswith("+84") or (digits.startswith("84") and len(digits) == 11):
        return "0" + digits[2:]
    return digits


def to_int(value: Any, default: int | None = None) -> int | None:
    """GHTK sends money as numbers or numeric strings ("30400"); anything else gives ``default``."""
    if value is None or value == "":
        return default
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return default


def parse_time(value: Any) -> datetime | None:
    """GHTK times: ISO with +07:00 (webhooks) or naive ``YYYY-MM-DD HH:MM:SS`` local time (detail)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=VN_TZ)
    return at.astimezone(VN_TZ)


def dedup_key(label: str, status_id: str, occurred_at: datetime) -> str:
    """carriers.md §5.4: ``label_id|status_id|action_time`` (the poll key has the same shape)."""
    return f"{label}|{status_id}|{occurred_at.astimezone(VN_TZ).isoformat()}"


def _address_names(codes: CarrierAddressCodes, send_district: bool) -> tuple[str, str, str]:
    return codes.province_name, (codes.district_name if send_district else ""), codes.ward_name


# -- errors --------------------------------------------------------------------------------------------------------


def raise_for_error(http_status: int, data: Any, *, mutating: bool = False, raw: Any = None) -> dict[str, Any]:
    """Return the envelope when ``success`` is true; otherwise raise the typed error for GHTK's answer."""
    body = data if isinstance(data, dict) else None
    if http_status in (401, 403):
        message = (body or {}).get("message") or f"HTTP {http_status}"
        raise CarrierAuthError(CODE, f"GHTK refused the API token: {message}", code=str(http_status), raw=raw or data)
    if body is None:
        err = OutcomeUnknown if mutating and 200 <= http_status < 300 else CarrierUnavailable
        if 400 <= http_status < 500:
            raise CarrierValidationError(CODE, f"HTTP {http_status} without a GHTK envelope", raw=raw)
        raise err(CODE, f"HTTP {http_status}: answer is not a GHTK envelope", raw=raw)
    if body.get("success") is True and 200 <= http_status < 300:
        return body
    message = str(body.get("message") or "GHTK refused the request")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code") or "") or None
    if code == DUPLICATE_CODE:
        raise DuplicateReference(
            CODE,
            f"order id {error.get('partner_id') or '?'} already exists as {error.get('ghtk_label') or '?'}",
            existing_ref=error.get("ghtk_label") or None,
            code=code,
            raw=body,
        )
    if "token" in strip_diacritics(message).lower():
        raise CarrierAuthError(CODE, f"GHTK refused the API token: {message}", code=code or "token", raw=body)
    raise CarrierValidationError(CODE, message, code=code, raw=body)


# -- quote ---------------------------------------------------------------------------------------------------------


def build_fee_request(
    req: QuoteRequest,
    pick: CarrierAddressCodes,
    to: CarrierAddressCodes,
    *,
    transport: str,
    send_district: bool = True,
) -> dict[str, Any]:
    """Query parameters of ``GET /services/shipment/fee`` (weight in grams)."""
    pick_province, pick_district, pick_ward = _address_names(pick, send_district)
    province, district, ward = _address_names(to, send_district)
    params: dict[str, Any] = {
        "pick_province": pick_province,
        "pick_district": pick_district,
        "pick_ward": pick_ward,
        "pick_address": req.sender.line,
        "province": province,
        "district": district,
        "ward": ward,
        "address": req.recipient.line,
        "weight": int(req.weight_g),
        "value": int(req.cod_vnd),
        "transport": transport,
        "deliver_option": "none",
    }
    return {k: v for k, v in params.items() if v != ""}


def parse_fee_response(data: Mapping[str, Any], *, service: str, transport: str) -> Quote:
    """``{success, fee:{name, fee, insurance_fee, delivery, …}}`` → Quote; ``delivery:false`` → RouteNotServiceable."""
    fee = data.get("fee") if isinstance(data.get("fee"), dict) else {}
    if fee.get("delivery") is False:
        raise RouteNotServiceable(CODE, "GHTK does not deliver to this address", code="delivery_false", raw=data)
    amount = to_int(fee.get("fee"))
    if amount is None:
        raise CarrierValidationError(CODE, "GHTK fee answer has no fee", raw=data)
    return Quote(
        carrier=CODE,
        service=service,
        fee_vnd=amount + (to_int(fee.get("insurance_fee"), 0) or 0),
        promised_days=None,
        carrier_service=transport,
        raw=dict(data),
    )


# -- create --------------------------------------------------------------------------------------------------------


def product_weight(weight_g: int, weight_option: str) -> float | int:
    return int(weight_g) if weight_option == "gram" else round(weight_g / 1000, 3)


def build_order_request(
    req: ConsignmentRequest,
    pick: CarrierAddressCodes,
    to: CarrierAddressCodes,
    settings: GHTKSettings,
    *,
    transport: str,
) -> dict[str, Any]:
    """Body of ``POST /services/shipment/order``. ``pick_*`` is the sender, the receiver fields the recipient (the
    service already set them per kind: return = agency → citizen, pickup = citizen → agency)."""
    weight = product_weight(req.weight_g, settings.weight_option)
    pick_province, pick_district, pick_ward = _address_names(pick, settings.send_district)
    province, district, ward = _address_names(to, settings.send_district)
    s, r = req.sender, req.recipient
    order: dict[str, Any] = {
        "id": req.client_ref,
        "pick_name": s.name,
        "pick_money": int(req.cod_vnd),
        "pick_address": s.line,
        "pick_province": pick_province,
        "pick_district": pick_district,
        "pick_ward": pick_ward,
        "pick_tel": local_phone(s.phone),
        "name": r.name,
        "address": r.line,
        "province": province,
        "district": district,
        "ward": ward,
        "hamlet": HAMLET_NONE,
        "tel": local_phone(r.phone),
        "note": str(req.options.get("note") or req.contents),
        "is_freeship": settings.is_freeship,
        "weight_option": settings.weight_option,
        "total_weight": weight,
        "value": int(req.options.get("declared_value_vnd") or 0),
        "transport": transport,
        "pick_option": settings.pick_option,
        "use_return_address": 0,
    }
    order = {k: v for k, v in order.items() if v != ""}
    return {
        "products": [{"name": req.contents, "weight": weight, "quantity": 1, "price": 0}],
        "order": order,
    }


def parse_order_response(data: Mapping[str, Any], *, client_ref: str) -> ConsignmentResult:
    order = data.get("order") if isinstance(data.get("order"), dict) else {}
    label = str(order.get("label") or "").strip()
    if not label:
        raise OutcomeUnknown(CODE, "GHTK accepted the order but sent no label", raw=data)
    fee = to_int(order.get("fee"))
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=label,
        client_ref=str(order.get("partner_id") or client_ref),
        # The label addresses every GHTK operation (track, cancel, print); ``tracking_id`` stays in ``raw``. The
        # services pass carrier_internal_id, when set, to track and cancel, so it must not be the numeric id.
        carrier_internal_id=None,
        fee_total_vnd=None if fee is None else fee + (to_int(order.get("insurance_fee"), 0) or 0),
        raw=dict(data),
    )


# -- detail / lookup / track ---------------------------------------------------------------------------------------


def detail_order(data: Mapping[str, Any]) -> dict[str, Any]:
    order = data.get("order")
    return order if isinstance(order, dict) else {}


def parse_detail_result(data: Mapping[str, Any], *, client_ref: str) -> ConsignmentResult | None:
    order = detail_order(data)
    label = str(order.get("label_id") or order.get("label") or "").strip()
    if not label:
        return None
    fee = to_int(order.get("ship_money"))
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=label,
        client_ref=str(order.get("partner_id") or client_ref),
        carrier_internal_id=None,
        fee_total_vnd=None if fee is None else fee + (to_int(order.get("insurance"), 0) or 0),
        raw=dict(data),
    )


def make_event(
    *,
    label: str,
    status_id: Any,
    occurred_at: datetime,
    text: str,
    source: str,
    raw: Any,
) -> TrackingEvent:
    code = str(status_id).strip()
    row = status_row(code)
    return TrackingEvent(
        carrier=CODE,
        carrier_ref=label,
        occurred_at=occurred_at,
        raw_code=code,
        status=row.status,
        dedup_key=dedup_key(label, code, occurred_at),
        raw_text=text or STATUS_TEXT.get(code, ""),
        reason=row.reason,
        provisional=row.provisional,
        source=source,
        raw=raw,
    )


def parse_tracking_response(data: Mapping[str, Any], *, carrier_ref: str, now: datetime) -> list[TrackingEvent]:
    """The detail shows the current MAIN state only (no history): one event, at ``modified``."""
    order = detail_order(data)
    status = order.get("status")
    if status in (None, ""):
        return []
    label = str(order.get("label_id") or carrier_ref)
    at = parse_time(order.get("modified")) or parse_time(order.get("created")) or now.astimezone(VN_TZ)
    return [
        make_event(
            label=label,
            status_id=status,
            occurred_at=at,
            text=str(order.get("status_text") or ""),
            source="poll",
            raw=dict(data),
        )
    ]


def detail_status(data: Mapping[str, Any]) -> str | None:
    status = detail_order(data).get("status")
    return None if status in (None, "") else str(status).strip()


# -- label ---------------------------------------------------------------------------------------------------------


def build_label_request(settings: GHTKSettings) -> dict[str, str]:
    return {"original": settings.label_original, "page_size": settings.label_page_size}


# -- webhook -------------------------------------------------------------------------------------------------------


def webhook_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """GHTK posts form-encoded by default, JSON in some setups: accept both."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise WebhookPayloadError(CODE, "empty webhook body")
    if "json" in content_type.lower() or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise WebhookPayloadError(CODE, "webhook body is not valid JSON") from None
        if not isinstance(data, dict):
            raise WebhookPayloadError(CODE, "webhook JSON is not an object")
        return data
    return dict(parse_qsl(text, keep_blank_values=True))


def parse_webhook_fields(fields: Mapping[str, Any]) -> list[TrackingEvent]:
    label = str(fields.get("label_id") or "").strip()
    status_id = str(fields.get("status_id") if fields.get("status_id") is not None else "").strip()
    if not label or not status_id:
        raise WebhookPayloadError(CODE, "webhook lacks label_id or status_id")
    at = parse_time(fields.get("action_time"))
    if at is None:
        raise WebhookPayloadError(CODE, f"webhook action_time {fields.get('action_time')!r} is not a time")
    raw = {k: v for k, v in fields.items() if k != "hash"}  # the hash is the shared secret: never stored
    return [
        make_event(
            label=label,
            status_id=status_id,
            occurred_at=at,
            text=str(fields.get("reason") or ""),
            source="webhook",
            raw=raw,
        )
    ]
