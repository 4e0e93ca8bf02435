"""GHN data tables: raw status string → unified status (carriers.md §2.3 table, §5.3), and our service codes.

Each ``STATUS_MAP`` row is ``(CourierStatus, reason, provisional, cod_status, upu_event)``. ``reason`` uses karrio's
``TrackingIncidentReason``-style names; GHN's own free-text ``Reason`` stays in the event's ``raw_text``. GHN has no
provisional sub-states (unlike GHTK 45/49/123), so ``provisional`` is False everywhere. ``cod_status`` is the COD
dimension the status implies (``CODTransferDate`` on a webhook means *remitted*, see ``cod_status_of``).
"""

from __future__ import annotations

from typing import NamedTuple

from postal_bridge.domain.carriers import CourierStatus

CS = CourierStatus


class StatusRow(NamedTuple):
    status: CourierStatus
    reason: str | None = None
    provisional: bool = False
    cod_status: str | None = None
    upu_event: str | None = None


STATUS_MAP: dict[str, StatusRow] = {
    "ready_to_pick": StatusRow(CS.AWAITING_PICKUP),
    "picking": StatusRow(CS.AWAITING_PICKUP),
    "money_collect_picking": StatusRow(CS.AWAITING_PICKUP),
    "picked": StatusRow(CS.PICKED_UP, upu_event="EMA"),
    "storing": StatusRow(CS.IN_TRANSIT, upu_event="EMC"),
    "transporting": StatusRow(CS.IN_TRANSIT, upu_event="EMC"),
    "sorting": StatusRow(CS.IN_TRANSIT, upu_event="EMB"),
    "delivering": StatusRow(CS.OUT_FOR_DELIVERY, upu_event="EDG"),
    "money_collect_delivering": StatusRow(CS.OUT_FOR_DELIVERY, cod_status="pending", upu_event="EDG"),
    "delivered": StatusRow(CS.DELIVERED, cod_status="collected", upu_event="EMI"),
    "delivery_fail": StatusRow(CS.DELIVERY_FAILED, reason="delivery_attempt_failed", upu_event="EMH"),
    "waiting_to_return": StatusRow(CS.ON_HOLD, reason="awaiting_return_decision"),
    "return": StatusRow(CS.RETURN_IN_PROGRESS),
    "return_transporting": StatusRow(CS.RETURN_IN_PROGRESS),
    "return_sorting": StatusRow(CS.RETURN_IN_PROGRESS),
    "returning": StatusRow(CS.RETURN_IN_PROGRESS),
    "return_fail": StatusRow(CS.RETURN_IN_PROGRESS, reason="return_failed"),
    "returned": StatusRow(CS.RETURNED),
    "cancel": StatusRow(CS.CANCELLED, upu_event="EXX"),
    "exception": StatusRow(CS.ON_HOLD, reason="needs_attention"),
    "damage": StatusRow(CS.LOST_OR_DAMAGED, reason="carrier_damaged_parcel"),
    "lost": StatusRow(CS.LOST_OR_DAMAGED, reason="carrier_parcel_lost"),
}

UNKNOWN_ROW = StatusRow(CS.UNKNOWN)

# GHN may cancel only before the parcel is in its custody (carriers.md §2.3 "Actions", §5.5).
CANCELLABLE = frozenset({"ready_to_pick", "picking"})

# Our service code → GHN ``service_type_id``. 2 = light goods (e-commerce standard); GHN documents no separate express
# type for public shops, so "express" exists only when the agency configures ``service_type_express``.
DEFAULT_SERVICE_TYPES: dict[str, int] = {"standard": 2}

# ``required_note``: may the recipient look at the goods? Dossiers are sealed: no.
REQUIRED_NOTES = frozenset({"CHOTHUHANG", "CHOXEMHANGKHONGTHU", "KHONGCHOXEMHANG"})

# Print endpoints per label size (carriers.md §2.3 "Label").
PRINT_PATHS: dict[str, str] = {"a5": "printA5", "80x80": "print80x80", "52x70": "print52x70"}


def status_row(raw_code: str | None) -> StatusRow:
    """The row for a raw GHN status; unknown or empty codes give ``UNKNOWN`` (never an exception)."""
    return STATUS_MAP.get((raw_code or "").strip().lower(), UNKNOWN_ROW)


def cod_status_of(raw_code: str | None, cod_transfer_date: str | None = None) -> str | None:
    """``CODTransferDate`` set → the COD was remitted to the shop (§5.3); else what the status implies."""
    if cod_transfer_date:
        return "remitted"
    return status_row(raw_code).cod_status
