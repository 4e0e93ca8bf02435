"""What the counter staff's pages show and ask for: a row of the day's list, the list's filters, and the request form
turned into the consignments it creates (one, or a linked pickup and return for service form 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from postal_bridge.domain.status import Kind

try:
    from zoneinfo import ZoneInfo

    TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # noqa: BLE001 - no tz database: Việt Nam has kept UTC+7 without DST since 1975
    TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# The form's choice → the kinds of consignment it creates, in creation (and printing) order.
CHOICES: dict[str, tuple[Kind, ...]] = {
    "return": (Kind.RETURN,),
    "pickup": (Kind.PICKUP,),
    "both": (Kind.PICKUP, Kind.RETURN),
}
# Where the citizen's data came from: the dossier system's snapshot, or typed at the counter (no snapshot).
CITIZEN_FROM_DOSSIER = "dossier_system"
CITIZEN_TYPED = "counter"


@dataclass(frozen=True)
class CounterRow:
    """One consignment as the day's list shows it."""

    id: str
    kind: str
    status: str
    carrier: str
    service: str
    dossier_code: str | None
    tracking_code: str | None
    citizen_name: str
    ward_code: str
    province_code: str
    created_at: datetime
    due_date: date | None
    address_status: str


@dataclass(frozen=True)
class ListFilter:
    """The day's list: consignments registered between ``start`` and ``end`` (a local day, in UTC)."""

    start: datetime
    end: datetime
    status: str | None = None
    kind: str | None = None
    carrier: str | None = None
    search: str | None = None  # part of a dossier code or tracking code, any case


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """00:00 to 24:00 of ``day`` in Asia/Ho_Chi_Minh, as UTC moments."""
    start = datetime.combine(day, time(0), TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_today(now: datetime) -> date:
    return now.astimezone(TZ).date()
