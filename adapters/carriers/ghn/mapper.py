"""Pure GHN mappers: our data → GHN request bodies, GHN answers → our results and typed errors (carriers.md §2.3).

Nothing here does I/O. Parsers are tolerant: missing fields give ``None``/defaults, extra fields are ignored, and the
raw GHN body is kept on every result and event. The API is snake_case; webhooks are PascalCase.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from adapters.carriers.ghn.units import status_row
from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    DuplicateReference,
    OutcomeUnknown,
    RateLimited,
    TrackingEvent,
    WebhookPayloadError,
)
from postal_bridge.domain.text import fold_place_name, strip_diacritics

CARRIER = "ghn"
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# Words in GHN's (Vietnamese or English) message that mean "this client_order_code was already used". The exact
# message is unknown (carriers.md §4.2 [?]); the client also confirms a refused create with a lookup by reference.
DUPLICATE_MARKERS = ("da ton tai", "already exist", "duplicate", "trung ma", "bi trung")


# -- addresses -----------------------------------------------------------------------------------------------------


def local_phone(e164: str) -> str:
    """GHN wants Vietnamese numbers in national form: +84912345678 → 0912345678."""
    phone = "".join(ch for ch in e164 if ch.isdigit() or ch == "+")
    if phone.startswith("+84"):
        return "0" + phone[3:]
    if phone.startswith("84") and len(phone) == 11:
        return "0" + phone[2:]
    return phone.lstrip("+")


def full_line(addr: CarrierAddress) -> str:
    """The street line with the canonical ward and province, so the driver reads one complete address."""
    parts = [addr.line, addr.ward_name, addr.province_name]
    return ", ".join(p for p in parts if p)


def _names(row: Mapping[str, Any], key: str) -> list[str]:
    names = [str(row.get(key) or "")]
    extension = row.get("NameExtension") or []
    if isinstance(extension, list):
        names += [str(n) for n in extension if n]
    return [n for n in names if n]


def name_matches(row: Mapping[str, Any], key: str, wanted: str) -> bool:
    """True when the GHN row's name (or one of its ``NameExtension`` aliases) folds to the same key as ``wanted``."""
    target = fold_place_name(wanted)
    return bool(target) and any(fold_place_name(n) == target for n in _names(row, key))


def match_province(provinces: Iterable[Mapping[str, Any]], addr: CarrierAddress) -> Mapping[str, Any]:
    found = [p for p in provinces if isinstance(p, Mapping) and name_matches(p, "ProvinceName", addr.province_name)]
    if len(found) != 1:
        raise AddressNotResolvable(
            CARRIER,
            f"GHN has {'no' if not found else 'more than one'} province matching {addr.province_name}",
            code="province_not_found" if not found else "province_ambiguous",
        )
    return found[0]


def pick_ward(
    candidates: list[tuple[Mapping[str, Any], Mapping[str, Any]]], province: Mapping[str, Any], addr: CarrierAddress
) -> CarrierAddressCodes:
    """The one (district, ward) pair whose ward name matches; none or several raise ``AddressNotResolvable``."""
    distinct = {(str(d.get("DistrictID")), str(w.get("WardCode"))) for d, w in candidates}
    if not distinct:
        raise AddressNotResolvable(
            CARRIER, f"GHN has no ward matching {addr.ward_name} in {addr.province_name}", code="ward_not_found"
        )
    if len(distinct) > 1:
        districts = ", ".join(sorted({str(d.get("DistrictName") or d.get("DistrictID")) for d, _ in candidates}))
        raise AddressNotResolvable(
            CARRIER,
            f"GHN has several wards named {addr.ward_name} in {addr.province_name} (in {districts}); "
            "a person must choose the right one",
            code="ward_ambiguous",
        )
    district, ward = candidates[0]
    return CarrierAddressCodes(
        province_id=str(province.get("ProvinceID")),
        district_id=str(district.get("DistrictID")),
        ward_id=str(ward.get("WardCode")),
        province_name=str(province.get("ProvinceName") or ""),
        district_name=str(district.get("DistrictName") or ""),
        ward_name=str(ward.get("WardName") or ""),
    )


# -- quote -----------------------------------------------------------------------------------------------------------


def build_services_request(shop_id: int, sender: CarrierAddressCodes, recipient: CarrierAddressCodes) -> dict:
    return {
        "shop_id": shop_id,
        "from_district": int(sender.district_id or 0),
        "to_district": int(recipient.district_id or 0),
    }


def pick_service(available: Any, service_type_id: int) -> Mapping[str, Any] | None:
    for svc in available if isinstance(available, list) else []:
        if isinstance(svc, Mapping) and _as_int(svc.get("service_type_id")) == service_type_id:
            return svc
    return None


def build_fee_request(
    *,
    service_type_id: int,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    weight_g: int,
    parcel_cm: tuple[int, int, int],
    cod_vnd: int = 0,
    insurance_vnd: int = 0,
) -> dict:
    length, width, height = parcel_cm
    return {
        "service_type_id": service_type_id,
        "from_district_id": int(sender.district_id or 0),
        "from_ward_code": sender.ward_id,
        "to_district_id": int(recipient.district_id or 0),
        "to_ward_code": recipient.ward_id,
        "weight": weight_g,
        "length": length,
        "width": width,
        "height": height,
        "insurance_value": insurance_vnd,
        "cod_amount": cod_vnd,
        "coupon": None,
    }


def parse_fee_response(data: Any) -> int:
    total = _as_int(data.get("total")) if isinstance(data, Mapping) else None
    if total is None:
        raise CarrierUnavailable(CARRIER, "fee answer without a total", raw=data)
    return total


def build_leadtime_request(service_id: int, sender: CarrierAddressCodes, recipient: CarrierAddressCodes) -> dict:
    return {
        "from_district_id": int(sender.district_id or 0),
        "from_ward_code": sender.ward_id,
        "to_district_id": int(recipient.district_id or 0),
        "to_ward_code": recipient.ward_id,
        "service_id": service_id,
    }


def parse_leadtime_response(data: Any, now: datetime) -> int | None:
    """Whole days from ``now`` until GHN's promised ``leadtime`` (a unix time); ``None`` when absent."""
    when = _as_int(data.get("leadtime")) if isinstance(data, Mapping) else None
    if not when:
        return None
    seconds = when - now.timestamp()
    return max(1, math.ceil(seconds / 86_400))


# -- create / detail -------------------------------------------------------------------------------------------------


def build_create_request(
    req: ConsignmentRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    *,
    service_type_id: int,
    required_note: str,
    payment_type_id: int,
    parcel_cm: tuple[int, int, int],
) -> dict:
    """The ``/v2/shipping-order/create`` body. The return address is the sender's: a return-leg failure goes back to
    the agency, a pickup-leg failure back to the citizen. ``to_district_id`` is the legacy district GHN still needs."""
    s, r = req.sender, req.recipient
    length, width, height = (
        int(req.options.get("length_cm", parcel_cm[0])),
        int(req.options.get("width_cm", parcel_cm[1])),
        int(req.options.get("height_cm", parcel_cm[2])),
    )
    return {
        "payment_type_id": payment_type_id,
        "required_note": required_note,
        "note": str(req.options.get("note") or ""),
        "client_order_code": req.client_ref,
        "from_name": s.name,
        "from_phone": local_phone(s.phone),
        "from_address": full_line(s),
        "from_ward_name": sender.ward_name or s.ward_name,
        "from_district_name": sender.district_name,
        "from_province_name": sender.province_name or s.province_name,
        "return_phone": local_phone(s.phone),
        "return_address": full_line(s),
        "return_district_id": int(sender.district_id or 0),
        "return_ward_code": sender.ward_id,
        "to_name": r.name,
        "to_phone": local_phone(r.phone),
        "to_address": full_line(r),
        "to_ward_code": recipient.ward_id,
        "to_district_id": int(recipient.district_id or 0),
        "cod_amount": int(req.cod_vnd),
        "content": req.contents,
        "weight": int(req.weight_g),
        "length": length,
        "width": width,
        "height": height,
        "insurance_value": int(req.options.get("insurance_value_vnd", 0)),
        "service_type_id": service_type_id,
        "items": [{"name": req.contents, "quantity": 1, "weight": int(req.weight_g)}],
    }


def parse_create_response(data: Any, client_ref: str) -> ConsignmentResult:
    code = str(data.get("order_code") or "").strip() if isinstance(data, Mapping) else ""
    if not code:
        # GHN said yes without a tracking code: the order may exist, so reconcile by reference before any retry.
        raise OutcomeUnknown(CARRIER, "create answered success without an order_code", raw=data)
    fee = _as_int(data.get("total_fee"))
    if fee is None and isinstance(data.get("fee"), Mapping):
        fee = sum(v for v in (_as_int(x) for x in data["fee"].values()) if v is not None)
    return ConsignmentResult(
        carrier=CARRIER, carrier_ref=code, client_ref=client_ref, carrier_internal_id=None, fee_total_vnd=fee, raw=data
    )


def unwrap_detail(data: Any, order_code: str | None = None) -> Mapping[str, Any] | None:
    """Detail answers are an object; one client reports a list (``order_codes[]``): take the matching one."""
    if isinstance(data, list):
        rows = [d for d in data if isinstance(d, Mapping)]
        if order_code:
            rows = [d for d in rows if d.get("order_code") == order_code] or rows
        return rows[0] if rows else None
    return data if isinstance(data, Mapping) and data else None


def parse_detail_response(data: Any, client_ref: str | None = None) -> ConsignmentResult | None:
    detail = unwrap_detail(data)
    if detail is None or not detail.get("order_code"):
        return None
    return ConsignmentResult(
        carrier=CARRIER,
        carrier_ref=str(detail["order_code"]),
        client_ref=str(detail.get("client_order_code") or client_ref or ""),
        carrier_internal_id=None,
        fee_total_vnd=_as_int(detail.get("total_fee")),
        raw=data,
    )


def parse_tracking_response(data: Any, order_code: str | None = None) -> list[TrackingEvent]:
    """Events from ``detail.log[{status, updated_date}]``; with no log yet, the current status as one event."""
    detail = unwrap_detail(data, order_code)
    if detail is None:
        return []
    ref = str(detail.get("order_code") or order_code or "")
    log = [e for e in (detail.get("log") or []) if isinstance(e, Mapping)]
    if not log and detail.get("status"):
        log = [{"status": detail["status"], "updated_date": detail.get("updated_date") or detail.get("created_date")}]
    events = []
    for entry in log:
        at = parse_time(entry.get("updated_date"))
        if at is None:
            continue
        raw_code = str(entry.get("status") or "")
        row = status_row(raw_code)
        events.append(
            TrackingEvent(
                carrier=CARRIER,
                carrier_ref=ref,
                occurred_at=at,
                raw_code=raw_code,
                status=row.status,
                dedup_key=poll_dedup_key(ref, raw_code, at),
                raw_text=str(entry.get("status_name") or entry.get("reason") or ""),
                location=entry.get("warehouse") or None,
                reason=row.reason,
                provisional=row.provisional,
                source="poll",
                raw=entry,
            )
        )
    return sorted(events, key=lambda e: e.occurred_at)


def poll_dedup_key(order_code: str, raw_code: str, at: datetime) -> str:
    """carriers.md §5.4: ``carrier_ref|raw_code|occurred_at`` (UTC, so any source format gives one key)."""
    return f"{order_code}|{raw_code}|{at.astimezone(UTC).isoformat()}"


# -- cancel / label --------------------------------------------------------------------------------------------------


def build_cancel_request(order_codes: list[str]) -> dict:
    return {"order_codes": list(order_codes)}


def parse_cancel_response(data: Any) -> dict[str, tuple[bool, str]]:
    """``data: [{order_code, result, message}]`` → order code → (accepted, message)."""
    rows = data if isinstance(data, list) else []
    return {
        str(r.get("order_code")): (bool(r.get("result")), str(r.get("message") or ""))
        for r in rows
        if isinstance(r, Mapping) and r.get("order_code")
    }


def build_gen_token_request(order_codes: list[str]) -> dict:
    return {"order_codes": list(order_codes)}


def parse_gen_token_response(data: Any) -> str:
    token = str(data.get("token") or "") if isinstance(data, Mapping) else ""
    if not token:
        raise CarrierUnavailable(CARRIER, "gen-token answered without a token", raw=data)
    return token


def print_answer_ok(status: int, content: bytes) -> bool:
    """A print page is HTML; GHN answers an unknown or expired token with an error envelope or a non-200 status."""
    if status != 200 or not content:
        return False
    head = content.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            body = json.loads(content)
        except ValueError:
            return False
        return isinstance(body, Mapping) and body.get("code") == 200
    return True


# -- webhooks --------------------------------------------------------------------------------------------------------

STATUS_LESS_TYPES = frozenset({"update_weight", "update_cod", "update_fee"})


def parse_webhook_body(body: bytes) -> list[TrackingEvent]:
    """GHN's PascalCase callback → events (``source="webhook"``), dedup key ``OrderCode|Type|Time`` (§5.4)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookPayloadError(CARRIER, "the body is not JSON") from None
    items = payload if isinstance(payload, list) else [payload]
    events = []
    for item in items:
        if not isinstance(item, Mapping):
            raise WebhookPayloadError(CARRIER, "the body is not a JSON object", raw=payload)
        event = webhook_event(item)
        if event is not None:
            events.append(event)
    return events


def webhook_event(item: Mapping[str, Any]) -> TrackingEvent | None:
    order_code = str(item.get("OrderCode") or "").strip()
    kind = str(item.get("Type") or "switch_status").strip()
    time_raw = item.get("Time")
    at = parse_time(time_raw)
    if not order_code or at is None:
        raise WebhookPayloadError(CARRIER, "OrderCode and a valid Time are required", raw=dict(item))
    raw_code = str(item.get("Status") or "").strip()
    if not raw_code:
        if kind in STATUS_LESS_TYPES:
            return None  # a weight/COD/fee update with no status: nothing to track
        raise WebhookPayloadError(CARRIER, "Status is required", raw=dict(item))
    row = status_row(raw_code)
    text = " – ".join(str(x) for x in (item.get("Description"), item.get("Reason")) if x)
    return TrackingEvent(
        carrier=CARRIER,
        carrier_ref=order_code,
        occurred_at=at,
        raw_code=raw_code,
        status=row.status,
        dedup_key=webhook_dedup_key(order_code, kind, str(time_raw).strip(), raw_code),
        raw_text=text,
        location=str(item.get("Warehouse") or "") or None,
        reason=row.reason,
        provisional=row.provisional,
        source="webhook",
        raw=dict(item),
    )


def webhook_dedup_key(order_code: str, kind: str, time_raw: str, raw_code: str) -> str:
    """carriers.md §5.4 suggests ``OrderCode|Type|Time``; the status is appended because two status changes stamped
    in the same millisecond would otherwise collapse into one. A redelivery repeats all four, so it still dedups."""
    return f"{order_code}|{kind}|{time_raw}|{raw_code}"


# -- envelopes and errors --------------------------------------------------------------------------------------------


def error_for(http_status: int, body: Any, *, op: str, mutating: bool) -> CarrierError | None:
    """The typed error for a GHN answer, or ``None`` for a success envelope ``{code: 200, data}``."""
    env = body if isinstance(body, Mapping) else {}
    code = _as_int(env.get("code"))
    message = str(env.get("message") or f"HTTP {http_status}")
    tag = str(env.get("code_message") or code or http_status)
    if 200 <= http_status < 300 and code == 200:
        return None
    if http_status in (401, 403) or code in (401, 403):
        return CarrierAuthError(CARRIER, f"GHN refused the token or shop id: {message}", code=tag, raw=body)
    if code == 429:
        return RateLimited(CARRIER, message, code=tag, raw=body)
    if code is None and 200 <= http_status < 300:
        kind = OutcomeUnknown if mutating else CarrierUnavailable
        return kind(CARRIER, f"{op}: answer without a GHN envelope", raw=body)
    if (code or 0) >= 500:
        kind = OutcomeUnknown if mutating else CarrierUnavailable
        return kind(CARRIER, f"{op}: {message}", code=tag, raw=body)
    if op == "create" and is_duplicate_message(message):
        return DuplicateReference(CARRIER, message, code=tag, raw=body)
    return CarrierValidationError(CARRIER, f"{op}: {message}", code=tag, raw=body)


def is_duplicate_message(message: str) -> bool:
    folded = strip_diacritics(message).lower()
    return any(marker in folded for marker in DUPLICATE_MARKERS)


# -- helpers ---------------------------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """GHN times: ISO 8601 (``2021-11-11T03:52:50.158Z``), naive local times, or unix seconds. Naive = Vietnam."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC).astimezone(VN_TZ)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC).astimezone(VN_TZ)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=VN_TZ)
    return at.astimezone(VN_TZ)


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
