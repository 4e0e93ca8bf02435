"""Incidents (lost, damaged, tampered seal) and complaints, with the money rules around them.

- Loss or damage by the post: compensation of **at least 4 × the postage**, the refunded postage included
  (NĐ 47/2011 Art 25.1.a; QĐ45 Art 14.4; TT17 Art 8.2). The published transit time missed: the postage is refunded
  (Art 25.2). Compensation is due **within 30 days** of the written liability decision (Art 26).
- Complaints: lodged within **6 months from the end of the J + n period**; resolved within **5 working days** inside a
  province and **7 working days** between provinces (TT17 Art 8.1).
"""

from __future__ import annotations

import calendar as _months
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.tariff import compensation_minimum, refund_for_late

COMPLAINT_WINDOW_MONTHS = 6
PAYMENT_DAYS = 30
INTRA_PROVINCE_DAYS = 5
INTER_PROVINCE_DAYS = 7
INTRA_PROVINCE_ROUTES = frozenset({"same_ward", "same_province"})


class IncidentKind(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"
    TAMPERED = "tampered"  # broken seal or opened packaging (TT17 Art 11.2: inventory, biên bản, re-wrap)


class FaultParty(StrEnum):
    POST = "post"
    AGENCY = "agency"
    CITIZEN = "citizen"


class Complainant(StrEnum):
    CITIZEN = "citizen"
    AGENCY = "agency"


@dataclass
class Incident:
    id: str
    consignment_id: str
    kind: IncidentKind
    opened_at: datetime
    opened_by: str
    description: str
    record_no: str | None = None  # the biên bản
    fault_party: FaultParty | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    compensation_vnd: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass
class Complaint:
    id: str
    consignment_id: str
    complainant: Complainant
    opened_at: datetime
    description: str
    due_date: date
    resolved_at: datetime | None = None
    outcome: str | None = None
    fault_party: FaultParty | None = None
    compensation_vnd: int | None = None
    liability_decided_at: datetime | None = None
    payment_due_date: date | None = None
    paid_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class IncidentRepository(Protocol):
    def add(self, incident: Incident) -> None: ...

    def get(self, incident_id: str, *, agency_id: str) -> Incident | None: ...

    def save(self, incident: Incident) -> None: ...

    def for_consignment(self, consignment_id: str) -> list[Incident]: ...


class ComplaintRepository(Protocol):
    def add(self, complaint: Complaint) -> None: ...

    def get(self, complaint_id: str, *, agency_id: str) -> Complaint | None: ...

    def save(self, complaint: Complaint) -> None: ...

    def for_consignment(self, consignment_id: str) -> list[Complaint]: ...

    def for_agency(self, agency_id: str, *, open_only: bool, limit: int) -> list[Complaint]: ...


def resolution_days(route_class: str | None, *, same_province: bool | None = None) -> int:
    """5 working days within a province, 7 between provinces (TT17 Art 8.1).

    ``route_class`` decides; without one, ``same_province`` (the agency's and the citizen's provinces) does; with
    neither the longer, inter-province limit applies.
    """
    if route_class is not None:
        return INTRA_PROVINCE_DAYS if route_class in INTRA_PROVINCE_ROUTES else INTER_PROVINCE_DAYS
    return INTRA_PROVINCE_DAYS if same_province else INTER_PROVINCE_DAYS


def complaint_due_date(opened_on: date, calendar: WorkingCalendar, days: int) -> date:
    return calendar.add_working_days(opened_on, days)


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31/8 + 6 months = 28 or 29/2)."""
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(d.day, _months.monthrange(year, month)[1]))


def lodging_deadline(due_date: date) -> date:
    """The last day a complaint may be lodged: 6 months from the end of the J + n period."""
    return add_months(due_date, COMPLAINT_WINDOW_MONTHS)


def within_lodging_window(due_date: date | None, lodged_on: date) -> bool:
    return due_date is None or lodged_on <= lodging_deadline(due_date)


def payment_due_date(decided_on: date) -> date:
    """Compensation is paid within 30 days of the written liability decision (NĐ 47/2011 Art 26)."""
    return decided_on + timedelta(days=PAYMENT_DAYS)


def minimum_compensation(
    postage_vnd: int | None, *, fault_party: FaultParty | None, loss_or_damage: bool, late: bool
) -> int:
    """The least the post may offer: 4 × postage for loss or damage it caused; the postage back when it was late.

    Nothing is owed by the post when someone else was at fault, or when the postage is unknown.
    """
    if fault_party != FaultParty.POST or not postage_vnd:
        return 0
    if loss_or_damage:
        return compensation_minimum(postage_vnd)
    if late:
        return refund_for_late(postage_vnd)
    return 0
