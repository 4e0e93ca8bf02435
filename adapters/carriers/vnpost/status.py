"""VNPost raw status codes → the unified taxonomy (carriers.md §2.1 and §5.3), one table per surface, as data.

Each row: ``raw code → StatusRow(status, reason, provisional, cod_status, upu_event, text)``. A code that is not in the
table maps to ``CourierStatus.UNKNOWN`` (stored, alerted, never applied) — never a crash.

- ``DONHANG``: ``OrderStatusId`` of the donhang webhook [V, three public codebases].
- ``MYVNPOST``: MyVNPost ``status`` [?]: English names from one third-party Odoo module; 101–111 mirror UPU EMA…EMK,
  taken in alphabetical order (EMA=101 … EMK=111) — the order itself is an assumption.
- ``NGSP``: ``statusCode`` of the NGSP tracking feed [?]. Only ``4`` (collection cancelled) is attested (OpenCPS
  ``VnPostScheduler`` sets ``viaPostal = 4`` on it). 1–3 follow OpenCPS's ``viaPostal`` numbering (1 service
  requested, 2 collecting, 3 dossier delivered) — an inference; an agency can override any row with the
  ``status_map`` setting (``"3=delivered,5=in_transit"``) once VNPost/MITC confirm the list (carriers.md §5.7 q1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from postal_bridge.domain.carriers import CourierStatus

CS = CourierStatus


class StatusRow(NamedTuple):
    status: CourierStatus
    reason: str | None = None
    provisional: bool = False
    cod_status: str | None = None  # none | pending | collected | remitted | reconciled
    upu_event: str | None = None
    text: str = ""


UNKNOWN_ROW = StatusRow(CS.UNKNOWN, text="Mã trạng thái VNPost chưa biết")

DONHANG: dict[str, StatusRow] = {
    "10": StatusRow(CS.CANCELLED, "order_deleted", text="Đơn hàng đã bị xóa"),
    "20": StatusRow(CS.CREATED, text="Đã gửi sang MyVNPOST"),
    "60": StatusRow(CS.CANCELLED, text="Đã hủy đơn hàng"),
    # "keep current status; set a flag": ON_HOLD is informative only (never a consignment transition).
    "61": StatusRow(CS.ON_HOLD, "cancel_requested", text="Yêu cầu hủy đơn hàng"),
    "62": StatusRow(CS.CANCELLED, text="Đã xác nhận hủy"),
    "70": StatusRow(CS.PICKED_UP, upu_event="EMA", text="Bưu cục đã chấp nhận bưu gửi"),
    "91": StatusRow(CS.DELIVERY_FAILED, "consignee_not_home", upu_event="EMH", text="Phát không thành công"),
    "100": StatusRow(CS.DELIVERED, upu_event="EMI", text="Phát thành công"),
    "110": StatusRow(CS.DELIVERED, cod_status="collected", upu_event="EMI", text="Bưu tá đã thu tiền COD"),
    "120": StatusRow(CS.DELIVERED, cod_status="remitted", upu_event="EMI", text="Đã trả tiền COD cho người gửi"),
    "161": StatusRow(CS.RETURN_IN_PROGRESS, "return_delivery_failed", text="Phát hoàn cho người gửi thất bại"),
    "170": StatusRow(CS.RETURNED, text="Đã phát hoàn cho người gửi"),
}

MYVNPOST: dict[str, StatusRow] = {
    "0": StatusRow(CS.CREATED, "draft", text="Draft"),
    "1": StatusRow(CS.CREATED, text="Created"),
    "2": StatusRow(CS.AWAITING_PICKUP, text="Sent to postman"),
    "3": StatusRow(CS.AWAITING_PICKUP, text="Processing"),
    "4": StatusRow(CS.AWAITING_PICKUP, text="Receiving goods"),
    "5": StatusRow(CS.PICKUP_FAILED, "pickup_failed", text="Pickup failed"),
    "6": StatusRow(CS.PICKED_UP, upu_event="EMA", text="Received goods"),
    "7": StatusRow(CS.PICKED_UP, upu_event="EMA", text="Post office received"),
    "8": StatusRow(CS.PICKUP_FAILED, "retrieve_failed", text="Retrieve failed"),
    "9": StatusRow(CS.CANCELLED, text="Collection cancelled"),
    "10": StatusRow(CS.IN_TRANSIT, text="In transport"),
    "11": StatusRow(CS.IN_TRANSIT, upu_event="EMG", text="Arrived at post office"),
    "12": StatusRow(CS.OUT_FOR_DELIVERY, upu_event="EDG", text="Delivering"),
    "13": StatusRow(CS.IN_TRANSIT, text="Forwarded"),
    "14": StatusRow(CS.DELIVERED, upu_event="EMI", text="Delivered"),
    "15": StatusRow(CS.DELIVERY_FAILED, "delivery_failed", upu_event="EMH", text="Delivery failed"),
    "16": StatusRow(CS.DELIVERED, cod_status="pending", text="COD awaiting transfer"),
    "17": StatusRow(CS.DELIVERED, cod_status="pending", text="COD transfer approved"),
    "18": StatusRow(CS.DELIVERED, cod_status="pending", text="COD transfer started"),
    "19": StatusRow(CS.DELIVERED, cod_status="remitted", text="COD transfer completed"),
    "20": StatusRow(CS.RETURN_IN_PROGRESS, "partial_return", text="Partly returned"),
    "21": StatusRow(CS.DELIVERED, cod_status="remitted", text="COD paid"),
    # "cancelled or return (confirm)": provisional, so it never finishes a consignment on its own.
    "22": StatusRow(CS.RETURN_IN_PROGRESS, "delivery_cancelled", provisional=True, text="Delivery cancelled"),
    "101": StatusRow(CS.PICKED_UP, upu_event="EMA", text="EMA Posting / collection"),
    "102": StatusRow(CS.IN_TRANSIT, upu_event="EMB", text="EMB Arrival at outward office of exchange"),
    "103": StatusRow(CS.IN_TRANSIT, upu_event="EMC", text="EMC Departure from outward office of exchange"),
    "104": StatusRow(CS.IN_TRANSIT, upu_event="EMD", text="EMD Arrival at inward office of exchange"),
    "105": StatusRow(CS.ON_HOLD, "customs_hold", upu_event="EME", text="EME Held by import customs"),
    "106": StatusRow(CS.IN_TRANSIT, upu_event="EMF", text="EMF Departure from inward office of exchange"),
    "107": StatusRow(CS.IN_TRANSIT, upu_event="EMG", text="EMG Arrival at delivery office"),
    "108": StatusRow(CS.DELIVERY_FAILED, "delivery_failed", upu_event="EMH", text="EMH Attempted delivery"),
    "109": StatusRow(CS.DELIVERED, upu_event="EMI", text="EMI Final delivery"),
    "110": StatusRow(CS.IN_TRANSIT, upu_event="EMJ", text="EMJ Arrival at transit office of exchange"),
    "111": StatusRow(CS.IN_TRANSIT, upu_event="EMK", text="EMK Departure from transit office of exchange"),
}

NGSP: dict[str, StatusRow] = {
    "1": StatusRow(CS.CREATED, text="Đã tiếp nhận yêu cầu"),
    "2": StatusRow(CS.PICKED_UP, upu_event="EMA", text="Đang thu gom / vận chuyển"),
    "3": StatusRow(CS.DELIVERED, upu_event="EMI", text="Đã phát"),
    "4": StatusRow(CS.CANCELLED, text="Hủy thu gom"),
}

STATUS_MAP: dict[str, dict[str, StatusRow]] = {"donhang": DONHANG, "myvnpost": MYVNPOST, "ngsp": NGSP}


def parse_overrides(raw: str | None) -> dict[str, StatusRow]:
    """The ``status_map`` setting: ``"code=status[:reason],…"`` (status names of ``CourierStatus``)."""
    out: dict[str, StatusRow] = {}
    for part in (raw or "").split(","):
        code, sep, value = part.partition("=")
        if not sep or not code.strip():
            continue
        status, _, reason = value.strip().partition(":")
        try:
            out[code.strip()] = StatusRow(CourierStatus(status.strip()), reason.strip() or None)
        except ValueError:
            raise ValueError(f"status_map: {status.strip()!r} is not a unified status") from None
    return out


def lookup(api: str, raw_code: object, overrides: Mapping[str, StatusRow] | None = None) -> StatusRow:
    code = str(raw_code).strip() if raw_code is not None else ""
    if overrides and code in overrides:
        return overrides[code]
    return STATUS_MAP[api].get(code, UNKNOWN_ROW)
