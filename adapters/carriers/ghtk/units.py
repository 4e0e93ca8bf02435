"""GHTK code tables as data (karrio's ``units.py`` pattern): raw ``status_id`` → unified status, services, texts.

Source: reference/carriers.md §2.4 (the ``status_id`` tables, quoted from docs.giaohangtietkiem.vn in the etop.vn
client) and §5.3 (unified taxonomy, reasons, ``cod_status``, UPU column). Sub-states 45/49/123/127/128/410 are
courier-reported, arrive only by webhook and are ``provisional``: never a reason for a terminal side effect.
"""

from __future__ import annotations

from typing import NamedTuple

from postal_bridge.domain.carriers import CourierStatus

CS = CourierStatus


class StatusRow(NamedTuple):
    status: CourierStatus
    reason: str | None
    provisional: bool
    cod_status: str | None  # none | pending | collected | remitted | reconciled (None: says nothing about COD)
    upu_event: str | None


STATUS_MAP: dict[str, StatusRow] = {
    "-1": StatusRow(CS.CANCELLED, None, False, None, "EXX"),
    "1": StatusRow(CS.CREATED, None, False, None, None),
    "2": StatusRow(CS.AWAITING_PICKUP, None, False, None, None),
    "12": StatusRow(CS.AWAITING_PICKUP, None, False, None, None),
    "8": StatusRow(CS.AWAITING_PICKUP, "pickup_delayed", False, None, None),
    "7": StatusRow(CS.PICKUP_FAILED, None, False, None, None),
    "3": StatusRow(CS.PICKED_UP, None, False, None, "EMA"),
    "4": StatusRow(CS.OUT_FOR_DELIVERY, None, False, None, "EDG"),
    "10": StatusRow(CS.OUT_FOR_DELIVERY, "delivery_delayed", False, None, "EDG"),
    "9": StatusRow(CS.DELIVERY_FAILED, None, False, None, "EMH"),
    "5": StatusRow(CS.DELIVERED, None, False, "collected", "EMI"),
    "6": StatusRow(CS.DELIVERED, None, False, "reconciled", "EMI"),
    "20": StatusRow(CS.RETURN_IN_PROGRESS, None, False, None, None),
    "21": StatusRow(CS.RETURNED, None, False, None, None),
    "11": StatusRow(CS.RETURNED, None, False, None, None),
    "13": StatusRow(CS.LOST_OR_DAMAGED, None, False, None, None),
    # courier-reported sub-states: webhook only, provisional
    "123": StatusRow(CS.PICKED_UP, None, True, None, "EMA"),
    "127": StatusRow(CS.PICKUP_FAILED, None, True, None, None),
    "128": StatusRow(CS.AWAITING_PICKUP, "pickup_delayed", True, None, None),
    "45": StatusRow(CS.DELIVERED, None, True, None, "EMI"),
    "49": StatusRow(CS.DELIVERY_FAILED, "consignee_not_home", True, None, "EMH"),
    "410": StatusRow(CS.OUT_FOR_DELIVERY, "delivery_delayed", True, None, "EDG"),
}

UNKNOWN_ROW = StatusRow(CS.UNKNOWN, None, False, None, None)

# GHTK's own wording ("Trạng thái đơn hàng"), used as raw_text when the courier sends none.
STATUS_TEXT: dict[str, str] = {
    "-1": "Hủy đơn hàng",
    "1": "Chưa tiếp nhận",
    "2": "Đã tiếp nhận",
    "3": "Đã lấy hàng/Đã nhập kho",
    "4": "Đã điều phối giao hàng/Đang giao hàng",
    "5": "Đã giao hàng/Chưa đối soát",
    "6": "Đã đối soát",
    "7": "Không lấy được hàng",
    "8": "Hoãn lấy hàng",
    "9": "Không giao được hàng",
    "10": "Delay giao hàng",
    "11": "Đã đối soát công nợ trả hàng",
    "12": "Đã điều phối lấy hàng/Đang lấy hàng",
    "13": "Đơn hàng bồi hoàn",
    "20": "Đang trả hàng (COD cầm hàng đi trả)",
    "21": "Đã trả hàng (COD đã trả xong hàng)",
    "123": "Shipper báo đã lấy hàng",
    "127": "Shipper báo không lấy được hàng",
    "128": "Shipper báo delay lấy hàng",
    "45": "Shipper báo đã giao hàng",
    "49": "Shipper báo không giao được giao hàng",
    "410": "Shipper báo delay giao hàng",
}

# Sub-states (webhook only) and the main state the detail API keeps showing while they stand.
SUB_STATES: frozenset[str] = frozenset({"45", "49", "123", "127", "128", "410"})

# Cancel is accepted only in these states (§2.4).
CANCELLABLE: frozenset[str] = frozenset({"1", "2", "12"})

# Our service code → GHTK ``transport`` (road = standard, fly = express); settings may override.
DEFAULT_TRANSPORT: dict[str, str] = {"standard": "road", "express": "fly"}


def status_row(raw_code: object) -> StatusRow:
    """The row for a raw ``status_id`` (int or str); unknown codes give ``UNKNOWN`` — never a crash."""
    key = str(raw_code).strip() if raw_code is not None else ""
    return STATUS_MAP.get(key, UNKNOWN_ROW)
