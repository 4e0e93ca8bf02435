"""Pure Viettel Post mappers: unified models → VTP request bodies, VTP answers → unified results (no I/O here).

Parsers tolerate missing and extra fields and keep the raw body. Envelope: ``{status, error, message, data}``; errors
come as ``error:true`` — sometimes with HTTP 200 (carriers.md §2.2).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from postal_bridge.domain.carriers import (
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
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
)
from postal_bridge.domain.text import fold_place_name

from .units import fold_text, row_for

CODE = "viettelpost"

try:
    from zoneinfo import ZoneInfo

    VN_TZ: Any = ZoneInfo("Asia/Ho_Chi_Minh")
except (ImportError, KeyError, OSError):  # pragma: no cover - tzdata missing: Vietnam has had no DST since 1975
    VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

_DATE_RE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")
_FIELD_RE = re.compile(r"\b([A-Z]{2,}(?:_[A-Z]+)+)\b")


# -- small helpers ------------------------------------------------------------------------------------------------


def to_int(value: Any, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def norm_code(value: Any) -> str:
    """ORDER_STATUS as a canonical string: ``501``, ``"501"``, ``501.0`` → ``"501"``; empty stays empty."""
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    try:
        return str(int(float(text)))
    except ValueError:
        return text


def local_phone(e164: str) -> str:
    """VTP wants Vietnamese national numbers: ``+84912345678`` → ``0912345678``."""
    digits = re.sub(r"[^\d+]", "", e164 or "")
    if digits.startswith("+84"):
        return "0" + digits[3:]
    if digits.startswith("84") and len(digits) == 11:
        return "0" + digits[2:]
    return digits.lstrip("+")


def parse_vtp_time(value: Any) -> datetime | None:
    """``dd/MM/yyyy H:m:s`` (Vietnam time) → aware datetime; None when absent or unreadable."""
    m = _DATE_RE.match(str(value or ""))
    if not m:
        return None
    day, month, year, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
    try:
        return datetime(year, month, day, hh, mm, ss, tzinfo=VN_TZ)
    except ValueError:
        return None


def format_vtp_time(at: datetime) -> str:
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def place_key(name: str) -> str:
    """``fold_place_name`` plus numeric wards without leading zeros (``Phường 01`` == ``Phường 1``)."""
    return " ".join(tok.lstrip("0") or "0" if tok.isdigit() else tok for tok in fold_place_name(name or "").split())


def envelope_data(body: Any) -> Any:
    """``data`` of an envelope; a bare list (getPriceAll, per one source [?]) is its own data."""
    if isinstance(body, Mapping):
        return body.get("data")
    return body


def is_error(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    err = body.get("error")
    if err is True or str(err).lower() == "true":
        return True
    status = to_int(body.get("status"), 200)
    return "error" not in body and status >= 400


def is_auth_failure(http_status: int, body: Any) -> bool:
    return http_status in (401, 403) or (isinstance(body, Mapping) and to_int(body.get("status")) in (401, 403))


def body_message(body: Any) -> str:
    if isinstance(body, Mapping):
        return str(body.get("message") or body.get("error_description") or "").strip()
    return ""


def raise_for_error(op: str, http_status: int, body: Any) -> None:
    """Turn a VTP business error (``error:true`` with any HTTP status, or a 4xx) into the typed error for ``op``."""
    if not (is_error(body) or http_status >= 400):
        return
    message = body_message(body) or f"HTTP {http_status}"
    code = str(body.get("status")) if isinstance(body, Mapping) and body.get("status") is not None else None
    if is_auth_failure(http_status, body):
        raise CarrierAuthError(CODE, f"{op}: {message}", code=code, raw=body)
    folded = fold_text(message)
    not_found = any(w in folded for w in ("khong tim thay", "khong ton tai", "not found", "not exist"))
    if (
        op == "create"
        and not not_found
        and any(w in folded for w in ("da ton tai", "already exist", "duplicate", "trung ma"))
    ):
        existing = envelope_data(body)
        ref = norm_code(existing.get("ORDER_NUMBER")) if isinstance(existing, Mapping) else ""
        raise DuplicateReference(CODE, message, existing_ref=ref or None, code=code, raw=body)
    if op == "cancel" and not not_found:
        raise InvalidState(CODE, f"Viettel Post refused the change: {message}", code=code, raw=body)
    if op == "quote" and any(w in folded for w in ("khong ap dung", "does not apply", "not support", "khong ho tro")):
        raise RouteNotServiceable(CODE, message, code=code, raw=body)
    fields = {f: message for f in _FIELD_RE.findall(message)}
    raise CarrierValidationError(CODE, message, field_errors=fields, code=code, raw=body)


# -- auth ---------------------------------------------------------------------------------------------------------


def build_login_request(username: str, password: str) -> dict[str, str]:
    return {"USERNAME": username, "PASSWORD": password}


def parse_login_response(http_status: int, body: Any, now_ms: int) -> tuple[str, int | None]:
    """(token, seconds until it expires if VTP says so). A refused login is ``CarrierAuthError``."""
    data = envelope_data(body)
    token = data.get("token") if isinstance(data, Mapping) else None
    if is_error(body) or http_status >= 400 or not token:
        raise CarrierAuthError(CODE, f"login refused: {body_message(body) or f'HTTP {http_status}'}", raw=body)
    expired = to_int(data.get("expired"), 0)
    ttl = (expired - now_ms) // 1000 if expired > now_ms else None
    return str(token), ttl


# -- master data --------------------------------------------------------------------------------------------------


def _rows(body: Any) -> list[Mapping[str, Any]]:
    data = envelope_data(body)
    return [r for r in data if isinstance(r, Mapping)] if isinstance(data, list) else []


def match_unique(rows: list[Mapping[str, Any]], name_key: str, wanted: str) -> list[Mapping[str, Any]]:
    key = place_key(wanted)
    return [r for r in rows if key and place_key(str(r.get(name_key) or "")) == key]


def parse_provinces(body: Any) -> list[Mapping[str, Any]]:
    return _rows(body)


def parse_wards(body: Any) -> list[Mapping[str, Any]]:
    return _rows(body)


def parse_districts(body: Any) -> list[Mapping[str, Any]]:
    return _rows(body)


def address_codes(province: Mapping[str, Any], ward: Mapping[str, Any], district: Mapping[str, Any] | None):
    district_id = (district or {}).get("DISTRICT_ID", ward.get("DISTRICT_ID"))
    return CarrierAddressCodes(
        province_id=str(to_int(province.get("PROVINCE_ID"))),
        ward_id=str(to_int(ward.get("WARDS_ID"))),
        district_id=str(to_int(district_id)) if to_int(district_id) else None,
        province_name=str(province.get("PROVINCE_NAME") or ""),
        district_name=str((district or {}).get("DISTRICT_NAME") or ""),
        ward_name=str(ward.get("WARDS_NAME") or ""),
    )


# -- quote --------------------------------------------------------------------------------------------------------


def build_quote_request(
    req: QuoteRequest, sender: CarrierAddressCodes, recipient: CarrierAddressCodes, product_type: str = "TH"
) -> dict[str, Any]:
    return {
        "SENDER_PROVINCE": to_int(sender.province_id),
        "SENDER_DISTRICT": to_int(sender.district_id),
        "RECEIVER_PROVINCE": to_int(recipient.province_id),
        "RECEIVER_DISTRICT": to_int(recipient.district_id),
        "PRODUCT_TYPE": product_type,
        "PRODUCT_WEIGHT": int(req.weight_g),
        "PRODUCT_PRICE": 0,
        "MONEY_COLLECTION": int(req.cod_vnd),
        "TYPE": 1,
    }


def _promised_days(value: Any) -> int | None:
    """``THOI_GIAN`` / ``KPI_HT``: hours (``24``, ``"48 giờ"``) → whole days; None when unreadable."""
    m = re.search(r"\d+(?:[.,]\d+)?", str(value if value is not None else ""))
    if not m:
        return None
    hours = float(m.group().replace(",", "."))
    return max(1, math.ceil(hours / 24)) if hours > 0 else None


def parse_quote_response(body: Any, service_map: Mapping[str, str], wanted: list[str]) -> list[Quote]:
    """getPriceAll rows → one Quote per service of ours the courier priced; none priced → RouteNotServiceable."""
    by_vtp = {norm_code(r.get("MA_DV_CHINH")).upper(): r for r in _rows(body)}
    quotes = []
    for ours in wanted:
        vtp = service_map.get(ours, "").upper()
        row = by_vtp.get(vtp)
        if row is None or to_int(row.get("GIA_CUOC"), -1) < 0:
            continue
        quotes.append(
            Quote(
                carrier=CODE,
                service=ours,
                fee_vnd=to_int(row.get("GIA_CUOC")),
                promised_days=_promised_days(row.get("THOI_GIAN")),
                carrier_service=vtp,
                raw=dict(row),
            )
        )
    if not quotes:
        raise RouteNotServiceable(CODE, "Viettel Post offers none of the requested services on this route", raw=body)
    return quotes


# -- create -------------------------------------------------------------------------------------------------------


def _address_line(addr: CarrierAddress, codes: CarrierAddressCodes) -> str:
    parts = [addr.line, codes.ward_name or addr.ward_name, codes.province_name or addr.province_name]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def build_create_request(
    req: ConsignmentRequest,
    sender: CarrierAddressCodes,
    recipient: CarrierAddressCodes,
    *,
    order_service: str,
    delivery_date: str,
    groupaddress_id: int = 0,
    cus_id: int = 0,
    product_type: str = "TH",
) -> dict[str, Any]:
    """ConsignmentRequest → ``/v2/order/createOrder`` body. ``ORDER_NUMBER`` carries OUR reference."""
    cod = int(req.cod_vnd or 0)
    declared = to_int(req.options.get("declared_value_vnd"), 0)
    note = str(req.options.get("note") or req.metadata.get("dossier_no") or "")
    body: dict[str, Any] = {
        "ORDER_NUMBER": req.client_ref,
        "GROUPADDRESS_ID": groupaddress_id,
        "CUS_ID": cus_id,
        "DELIVERY_DATE": delivery_date,
    }
    for prefix, addr, codes in (("SENDER", req.sender, sender), ("RECEIVER", req.recipient, recipient)):
        body.update(
            {
                f"{prefix}_FULLNAME": addr.name,
                f"{prefix}_ADDRESS": _address_line(addr, codes),
                f"{prefix}_PHONE": local_phone(addr.phone),
                f"{prefix}_EMAIL": "",
                f"{prefix}_WARD": to_int(codes.ward_id),
                f"{prefix}_DISTRICT": to_int(codes.district_id),
                f"{prefix}_PROVINCE": to_int(codes.province_id),
                f"{prefix}_LATITUDE": 0,
                f"{prefix}_LONGITUDE": 0,
            }
        )
    body.update(
        {
            "PRODUCT_NAME": req.contents,
            "PRODUCT_DESCRIPTION": req.contents,
            "PRODUCT_QUANTITY": 1,
            "PRODUCT_PRICE": declared,
            "PRODUCT_WEIGHT": int(req.weight_g),
            "PRODUCT_LENGTH": 0,
            "PRODUCT_WIDTH": 0,
            "PRODUCT_HEIGHT": 0,
            "PRODUCT_TYPE": product_type,
            # 1: collect nothing (the agency pays the fee); 3: collect the COD amount only.
            "ORDER_PAYMENT": 3 if cod > 0 else 1,
            "ORDER_SERVICE": order_service,
            "ORDER_SERVICE_ADD": str(req.options.get("vtp_service_add") or ""),
            "ORDER_VOUCHER": "",
            "ORDER_NOTE": note,
            "MONEY_COLLECTION": cod,
            "MONEY_TOTALFEE": 0,
            "MONEY_FEECOD": 0,
            "LIST_ITEM": [
                {
                    "PRODUCT_NAME": req.contents,
                    "PRODUCT_PRICE": declared,
                    "PRODUCT_WEIGHT": int(req.weight_g),
                    "PRODUCT_QUANTITY": 1,
                }
            ],
        }
    )
    return body


def parse_create_response(body: Any, client_ref: str) -> ConsignmentResult:
    """``data.ORDER_NUMBER`` is the VTP tracking number; ``MONEY_COLLECTTION`` (sic) echoes the COD."""
    data = envelope_data(body)
    ref = norm_code(data.get("ORDER_NUMBER")) if isinstance(data, Mapping) else ""
    if not ref:
        raise CarrierValidationError(CODE, "createOrder answered without an ORDER_NUMBER", raw=body)
    total = data.get("MONEY_TOTAL")
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=ref,
        client_ref=client_ref,
        carrier_internal_id=None,
        fee_total_vnd=to_int(total) if total not in (None, "") else None,
        raw=body,
    )


def duplicate_result(exc: DuplicateReference, client_ref: str) -> ConsignmentResult | None:
    """A duplicate answer that names the existing order (and, if it says, for OUR reference) is that order."""
    data = envelope_data(exc.raw)
    if not exc.existing_ref or not isinstance(data, Mapping):
        return None
    echoed = str(data.get("ORDER_REFERENCE") or client_ref)
    if echoed != client_ref:
        return None
    total = data.get("MONEY_TOTAL")
    return ConsignmentResult(
        carrier=CODE,
        carrier_ref=exc.existing_ref,
        client_ref=client_ref,
        fee_total_vnd=to_int(total) if total not in (None, "") else None,
        raw=exc.raw,
    )


# -- cancel / label -----------------------------------------------------------------------------------------------


def build_cancel_request(carrier_ref: str, reason: str | None) -> dict[str, Any]:
    return {"TYPE": 4, "ORDER_NUMBER": carrier_ref, "NOTE": reason or "Hủy đơn"}


def build_print_request(carrier_refs: list[str], expiry_ms: int) -> dict[str, Any]:
    return {"EXPIRY_TIME": expiry_ms, "ORDER_ARRAY": list(carrier_refs)}


def parse_print_response(body: Any, print_base: str, layout: str = "1") -> LabelDocument:
    """The print code comes back in ``message`` (not ``data``); the label is VTP's HTML print page for it."""
    code = body_message(body)
    if not code:
        raise CarrierValidationError(CODE, "printing-code answered without a print code", raw=body)
    from urllib.parse import urlencode

    query = urlencode({"type": layout, "bill": code, "showPostage": 1})
    return LabelDocument(content_type="text/html", url=f"{print_base.rstrip('/')}/DigitalizePrint/report.do?{query}")


# -- events -------------------------------------------------------------------------------------------------------


def dedup_key(order_number: str, code: str, occurred: datetime | None, raw_date: str, status_name: str) -> str:
    """carriers.md §5.4: ``ORDER_NUMBER|ORDER_STATUS|ORDER_STATUSDATE`` (date re-formatted so 1/2 == 01/02);
    text-only events carry their folded text in the code slot. The same for webhook and poll."""
    stamp = format_vtp_time(occurred) if occurred else str(raw_date).strip()
    slot = code if code else "text:" + fold_text(status_name)
    return f"{order_number}|{slot}|{stamp}"


def parse_event(data: Mapping[str, Any], *, source: str, now: datetime, carrier_ref: str = "") -> TrackingEvent:
    """One VTP status row (webhook ``DATA`` or a tracking row) → TrackingEvent. Never raises on an unknown code."""
    order_number = norm_code(data.get("ORDER_NUMBER")) or carrier_ref
    code = norm_code(data.get("ORDER_STATUS"))
    status_name = str(data.get("STATUS_NAME") or "").strip()
    raw_date = str(data.get("ORDER_STATUSDATE") or "")
    occurred = parse_vtp_time(raw_date)
    row = row_for(code, status_name)
    location = data.get("LOCATION_CURRENTLY") or data.get("LOCALION_CURRENTLY") or None
    text = status_name or str(data.get("NOTE") or "")
    return TrackingEvent(
        carrier=CODE,
        carrier_ref=order_number,
        occurred_at=occurred or now,
        raw_code=code,
        status=row.status,
        dedup_key=dedup_key(order_number, code, occurred, raw_date, status_name),
        raw_text=text,
        location=str(location) if location else None,
        reason=row.reason,
        provisional=row.provisional,
        source=source,
        raw=dict(data),
        courier_phone=str(data.get("EMPLOYEE_PHONE") or "").strip() or None,
    )


def parse_webhook_body(body: Any, now: datetime) -> list[TrackingEvent]:
    """``{DATA:{…}, TOKEN}`` → events; raises ValueError on a body that is not that shape."""
    if not isinstance(body, Mapping):
        raise ValueError("body is not a JSON object")
    data = body.get("DATA")
    rows = data if isinstance(data, list) else [data]
    if not rows or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("DATA is missing or not an object")
    for r in rows:
        if not norm_code(r.get("ORDER_NUMBER")):
            raise ValueError("DATA.ORDER_NUMBER is missing")
        if not norm_code(r.get("ORDER_STATUS")) and not str(r.get("STATUS_NAME") or "").strip():
            raise ValueError("DATA has neither ORDER_STATUS nor STATUS_NAME")
    return [parse_event(r, source="webhook", now=now) for r in rows]


def parse_track_response(body: Any, carrier_ref: str, now: datetime) -> list[TrackingEvent]:
    """Tracking rows (the webhook ``DATA`` shape) → events sorted by time. Tolerates a list, a single row, or a
    ``{LIST|DETAIL|data: [...]}`` wrapper."""
    data = envelope_data(body)
    if isinstance(data, Mapping):
        inner = next((data[k] for k in ("LIST", "DETAIL", "list", "data") if isinstance(data.get(k), list)), None)
        data = inner if inner is not None else [data]
    rows = [r for r in (data or []) if isinstance(r, Mapping)]
    events = [
        parse_event(r, source="poll", now=now, carrier_ref=carrier_ref)
        for r in rows
        if norm_code(r.get("ORDER_STATUS")) or str(r.get("STATUS_NAME") or "").strip()
    ]
    return sorted(events, key=lambda e: e.occurred_at)
