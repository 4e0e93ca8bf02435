"""Viettel Post data tables: raw ``ORDER_STATUS`` → unified status, text rules, service codes (carriers.md §2.2, §5.3).

Kept as data, karrio ``units.py`` style. Every row is exercised by ``tests/unit/carriers/test_viettelpost.py``.
"""

from __future__ import annotations

from typing import NamedTuple

from postal_bridge.domain.carriers import CourierStatus
from postal_bridge.domain.text import strip_diacritics

CS = CourierStatus


class StatusRow(NamedTuple):
    status: CourierStatus
    reason: str | None = None
    provisional: bool = False
    cod_status: str | None = None  # none | pending | collected | remitted | reconciled
    upu_event: str | None = None
    meaning: str = ""


# carriers.md §2.2 "ORDER_STATUS codes" (three independent public codebases agree).
STATUS_MAP: dict[str, StatusRow] = {
    "-100": StatusRow(CS.CREATED, meaning="new, not approved"),
    "-108": StatusRow(CS.PICKED_UP, upu_event="EMA", meaning="handed in at a post office (counter posting)"),
    "-109": StatusRow(CS.IN_TRANSIT, meaning="dropped at a collection point"),
    "-110": StatusRow(CS.IN_TRANSIT, meaning="being handed to a post office"),
    "100": StatusRow(CS.AWAITING_PICKUP, meaning="accepted from partner"),
    "101": StatusRow(CS.CANCELLED, meaning="VTP requests cancellation"),
    "102": StatusRow(CS.AWAITING_PICKUP, meaning="pending processing"),
    "103": StatusRow(CS.AWAITING_PICKUP, meaning="assigned to post office"),
    "104": StatusRow(CS.AWAITING_PICKUP, meaning="assigned to pickup courier"),
    "105": StatusRow(CS.PICKED_UP, upu_event="EMA", meaning="courier picked up"),
    "106": StatusRow(CS.CANCELLED, meaning="partner requests goods back"),
    "107": StatusRow(CS.CANCELLED, meaning="partner cancelled via API"),
    "200": StatusRow(CS.PICKED_UP, upu_event="EMA", meaning="received at origin post office"),
    "201": StatusRow(CS.CANCELLED, meaning="waybill entry cancelled"),
    # "informational" per the reference: shown, but never a reason to act.
    "202": StatusRow(CS.IN_TRANSIT, provisional=True, meaning="waybill edited"),
    "300": StatusRow(CS.IN_TRANSIT, upu_event="EMC", meaning="outbound manifest closed"),
    "301": StatusRow(CS.IN_TRANSIT, upu_event="EMC", meaning="outbound bag closed"),
    "302": StatusRow(CS.IN_TRANSIT, upu_event="EMC", meaning="outbound mail trip closed"),
    "303": StatusRow(CS.IN_TRANSIT, upu_event="EMC", meaning="outbound truck route closed"),
    "400": StatusRow(CS.IN_TRANSIT, upu_event="EDD", meaning="inbound manifest received"),
    "401": StatusRow(CS.IN_TRANSIT, upu_event="EDD", meaning="inbound bag received"),
    "402": StatusRow(CS.IN_TRANSIT, upu_event="EDD", meaning="inbound mail trip received"),
    "403": StatusRow(CS.IN_TRANSIT, upu_event="EMG", meaning="inbound truck received"),
    "500": StatusRow(CS.OUT_FOR_DELIVERY, upu_event="EDG", meaning="handed to delivery postman"),
    "501": StatusRow(CS.DELIVERED, cod_status="collected", upu_event="EMI", meaning="delivered"),
    "502": StatusRow(CS.RETURN_IN_PROGRESS, meaning="returning to origin post office"),
    "503": StatusRow(CS.CANCELLED, meaning="cancelled at customer request"),
    "504": StatusRow(CS.RETURNED, meaning="returned to sender"),
    "505": StatusRow(CS.ON_HOLD, upu_event="EDF", meaning="return notice, awaiting return approval"),
    "506": StatusRow(CS.DELIVERY_FAILED, reason="consignee_not_home", upu_event="EMH", meaning="customer absent"),
    "507": StatusRow(CS.AVAILABLE_FOR_PICKUP, upu_event="EDH", meaning="customer will collect at post office"),
    "508": StatusRow(CS.OUT_FOR_DELIVERY, upu_event="EDG", meaning="redelivery"),
    "509": StatusRow(CS.IN_TRANSIT, meaning="forwarded to another post office"),
    "510": StatusRow(CS.IN_TRANSIT, meaning="delivery assignment cancelled"),
    "515": StatusRow(CS.RETURN_IN_PROGRESS, meaning="delivery post office approved return"),
    "550": StatusRow(CS.OUT_FOR_DELIVERY, upu_event="EDG", meaning="unit requests redelivery"),
}

UNKNOWN_ROW = StatusRow(CS.UNKNOWN, meaning="unmapped code")

# Text-only events (empty ORDER_STATUS, STATUS_NAME only): always provisional. Keys are folded (no accents, lower).
TEXT_RULES: tuple[tuple[str, StatusRow], ...] = (
    ("cho phat lai", StatusRow(CS.DELIVERY_FAILED, provisional=True, meaning="awaiting redelivery")),
    ("dang chuyen hoan", StatusRow(CS.RETURN_IN_PROGRESS, provisional=True, meaning="returning")),
)
TEXT_UNKNOWN_ROW = StatusRow(CS.UNKNOWN, provisional=True, meaning="text-only event without a rule")

# Codes after which Viettel Post refuses a TYPE 4 cancel (the courier has the item, or it is already over).
CANCELLABLE_CODES = frozenset({"-100", "100", "102", "103", "104"})

# Our service code → VTP ORDER_SERVICE (carriers.md: VCN express, VTK saver). Overridable per agency.
DEFAULT_SERVICES = {"standard": "VTK", "express": "VCN"}


def fold_text(value: str) -> str:
    return " ".join(strip_diacritics(value or "").lower().split())


def row_for(code: str, status_name: str = "") -> StatusRow:
    """The unified row for a raw code; a text-only event goes through ``TEXT_RULES`` (provisional)."""
    code = (code or "").strip()
    if code:
        return STATUS_MAP.get(code, UNKNOWN_ROW)
    text = fold_text(status_name)
    for needle, row in TEXT_RULES:
        if needle in text:
            return row
    return TEXT_UNKNOWN_ROW
