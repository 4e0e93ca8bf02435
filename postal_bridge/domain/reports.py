"""The province's figures (issue 7 §5) and the records/personal-data side (§6), as pure computations.

Definitions (one place, so the API, CSV, PDF and dashboard never disagree):

* **Cohort.** A report over ``[from, to]`` covers the consignments *registered* on those days (local time,
  Asia/Ho_Chi_Minh), with their outcomes as known when the report is made. Incidents and complaints are counted by the
  day they were *opened*, attributed to the agency / post office / courier of their consignment.
* **Volume** counts items by kind, cancelled ones apart (a cancellation before the post has the item is no postal item).
* **On time** (TT17 Art 7): the clock stops at the first delivery attempt for a return (TT17 Art 3.5; a notice to
  collect at the post office is an attempt, 7.2.c) and at delivery for a pickup or transfer. An item is on time when the
  stop falls, in local time, on or before ``due_date`` (J + n). Eligible: every non-cancelled item with a due date whose
  clock stopped, or whose due date has passed without a stop (late by definition).
* **First-attempt delivery rate**: among items with at least one attempt, the share whose first attempt delivered.
* **Failed**: delivery (or pickup) attempts that failed, with the reason the courier gave (the event's description).
  **Returned**: items sent back to the agency, with the reason of the last failed attempt before the return.
* **Transit time**: from the post taking the item (``picked_up``) to ``delivered``, in hours; the 95th percentile is
  linear between closest ranks (Excel ``PERCENTILE.INC``).
* **Postage** is the courier's price (``postage_vnd``) or, before booking, our tariff's (``fee_vnd``); **COD** declared
  over all items, collected over delivered ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from postal_bridge.domain.status import Kind, Status

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP_BYS = ("agency", "post_office", "carrier")
FORMATS = ("json", "csv", "pdf")
# Days a report may cover: outside them the local-day bounds overflow (year 1, 9999-12-31) and no data can exist.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
MAX_RANGE_DAYS = 731  # two years per request; a quarterly/annual report goes through /reports/periodic
UNKNOWN_REASON = "Không rõ lý do"
NO_POST_OFFICE = "(chưa xác định bưu cục)"

# Statuses whose first occurrence matters for the figures (the rest of the log is not read).
ATTEMPT_STATUSES = frozenset(
    {Status.DELIVERED, Status.DELIVERY_FAILED, Status.AVAILABLE_FOR_PICKUP, Status.RETURNING_TO_AGENCY}
)
FAILURE_STATUSES = frozenset({Status.DELIVERY_FAILED, Status.PICKUP_FAILED})
RETURN_STATUSES = frozenset({Status.RETURNING_TO_AGENCY, Status.RETURNED_TO_AGENCY})
MILESTONE_STATUSES = frozenset({Status.PICKED_UP} | ATTEMPT_STATUSES | FAILURE_STATUSES | RETURN_STATUSES)
INCIDENT_KINDS = ("lost", "damaged", "tampered")

KIND_LABELS_VI = {Kind.PICKUP.value: "Gửi hồ sơ", Kind.RETURN.value: "Nhận kết quả", Kind.TRANSFER.value: "Liên thông"}
INCIDENT_LABELS_VI = {"lost": "Thất lạc", "damaged": "Hư hỏng", "tampered": "Mất niêm phong"}
SERVICE_LABELS_VI = {"standard": "Tiêu chuẩn", "express": "Chuyển phát nhanh"}
GROUP_LABELS_VI = {"agency": "Cơ quan", "post_office": "Bưu cục", "carrier": "Doanh nghiệp bưu chính"}


# ------------------------------------------------------------------------------------------------ facts (storage)


@dataclass(frozen=True)
class Milestone:
    status: Status
    occurred_at: datetime
    seq: int
    description: str | None = None


@dataclass(frozen=True)
class ReportRow:
    """One consignment of the cohort, with only what the figures need."""

    id: str
    agency_id: str
    agency_code: str
    agency_name: str
    carrier: str
    service: str
    post_office_code: str | None
    kind: str
    status: str
    created_at: datetime
    due_date: date | None
    postage_vnd: int | None
    fee_vnd: int | None
    cod_vnd: int
    milestones: tuple[Milestone, ...] = ()
    incident_kinds: tuple[str, ...] = ()  # every incident ever opened on it (for the safety level)


@dataclass(frozen=True)
class IncidentFact:
    consignment_id: str
    agency_code: str
    agency_name: str
    carrier: str
    post_office_code: str | None
    kind: str
    opened_at: datetime
    resolved_at: datetime | None
    fault_party: str | None
    compensation_vnd: int | None


@dataclass(frozen=True)
class ComplaintFact:
    consignment_id: str
    agency_code: str
    agency_name: str
    carrier: str
    post_office_code: str | None
    complainant: str
    opened_at: datetime
    due_date: date
    resolved_at: datetime | None
    outcome: str | None
    fault_party: str | None
    compensation_vnd: int | None
    paid_at: datetime | None


class ReportQueries(Protocol):
    """Read-only queries behind the reports (``uow.reports``). ``agency_id=None``: every agency (admin scope)."""

    def consignment_rows(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[ReportRow]: ...

    def incident_facts(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[IncidentFact]: ...

    def complaint_facts(self, *, start: datetime, end: datetime, agency_id: str | None) -> list[ComplaintFact]: ...


# ----------------------------------------------------------------------------------------------------- pure maths


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th quantile (0 ≤ q ≤ 1), linear between closest ranks (``PERCENTILE.INC``); None for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, None when nothing was counted (a rate of 0 % and "no data" are different things)."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"a rate needs 0 <= part <= whole, got {part}/{whole}")
    return part / whole if whole else None


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants [start 00:00, end+1 00:00) of local days ``start``..``end`` inclusive."""
    if end < start:
        raise ValueError("the period ends before it starts")
    lo = datetime.combine(start, time(0), LOCAL_TZ).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ).astimezone(UTC)
    return lo, hi


def _first(row: ReportRow, statuses: frozenset[Status]) -> Milestone | None:
    ms = [m for m in row.milestones if m.status in statuses]
    return min(ms, key=lambda m: (m.occurred_at, m.seq)) if ms else None


def clock_stop(row: ReportRow) -> datetime | None:
    """When the J + n clock stopped: first attempt for a return, delivery for a pickup or transfer."""
    m = _first(row, ATTEMPT_STATUSES if row.kind == Kind.RETURN.value else frozenset({Status.DELIVERED}))
    return m.occurred_at if m else None


def on_time(row: ReportRow, today: date) -> bool | None:
    """True / False when the item counts for the on-time rate, None when it does not (yet)."""
    if row.status == Status.CANCELLED.value or row.due_date is None:
        return None
    stop = clock_stop(row)
    if stop is None:
        return False if row.due_date < today else None
    return local_date(stop) <= row.due_date


def first_attempt_delivered(row: ReportRow) -> bool | None:
    m = _first(row, ATTEMPT_STATUSES)
    return None if m is None else m.status == Status.DELIVERED


def transit_hours(row: ReportRow) -> float | None:
    picked, delivered = _first(row, frozenset({Status.PICKED_UP})), _first(row, frozenset({Status.DELIVERED}))
    if picked is None or delivered is None:
        return None
    return (delivered.occurred_at - picked.occurred_at).total_seconds() / 3600.0


def failure_reasons(row: ReportRow) -> list[str]:
    return [_reason(m) for m in sorted(row.milestones, key=lambda m: m.seq) if m.status in FAILURE_STATUSES]


def return_reason(row: ReportRow) -> str | None:
    """None when the item did not go back to the agency; else the last failure before it went back."""
    back = _first(row, RETURN_STATUSES)
    if back is None:
        if row.status in {s.value for s in RETURN_STATUSES}:
            return UNKNOWN_REASON
        return None
    before = [m for m in row.milestones if m.status in FAILURE_STATUSES and m.seq < back.seq]
    if before:
        return _reason(max(before, key=lambda m: m.seq))
    return _reason(back)


def _reason(m: Milestone) -> str:
    text = (m.description or "").strip()
    return text or UNKNOWN_REASON


def postage(row: ReportRow) -> int:
    if row.postage_vnd is not None:
        return row.postage_vnd
    return row.fee_vnd or 0


def reached_custody(row: ReportRow) -> bool:
    return bool(_first(row, MILESTONE_STATUSES - {Status.PICKUP_FAILED})) or row.status in {
        Status.PICKED_UP.value,
        Status.IN_TRANSIT.value,
        Status.OUT_FOR_DELIVERY.value,
        Status.LOST_OR_DAMAGED.value,
    }


# -------------------------------------------------------------------------------------------------- aggregation


@dataclass
class Figures:
    """Everything the report shows for one group (or for all of them)."""

    key: str
    label: str
    volume: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in Kind})
    total: int = 0
    cancelled: int = 0
    on_time_eligible: int = 0
    on_time: int = 0
    attempted: int = 0
    first_attempt_delivered: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    failed_items: int = 0
    failed_reasons: dict[str, int] = field(default_factory=dict)
    returned: int = 0
    returned_reasons: dict[str, int] = field(default_factory=dict)
    transit_hours: list[float] = field(default_factory=list, repr=False)
    incidents: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INCIDENT_KINDS, 0))
    complaints: int = 0
    complaints_resolved: int = 0
    compensation_cases: int = 0
    compensation_vnd: int = 0
    postage_vnd: int = 0
    cod_declared_vnd: int = 0
    cod_collected_vnd: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.on_time_eligible)

    @property
    def first_attempt_rate(self) -> float | None:
        return rate(self.first_attempt_delivered, self.attempted)

    @property
    def transit_count(self) -> int:
        return len(self.transit_hours)

    @property
    def transit_avg_hours(self) -> float | None:
        return mean(self.transit_hours)

    @property
    def transit_p95_hours(self) -> float | None:
        return percentile(self.transit_hours, 0.95)

    @property
    def incidents_total(self) -> int:
        return sum(self.incidents.values())

    def add_row(self, row: ReportRow, today: date) -> None:
        if row.status == Status.CANCELLED.value:
            self.cancelled += 1
            return
        self.total += 1
        self.volume[row.kind] = self.volume.get(row.kind, 0) + 1
        self.postage_vnd += postage(row)
        self.cod_declared_vnd += row.cod_vnd
        ok = on_time(row, today)
        if ok is not None:
            self.on_time_eligible += 1
            self.on_time += int(ok)
        first = first_attempt_delivered(row)
        if first is not None:
            self.attempted += 1
            self.first_attempt_delivered += int(first)
        if row.status == Status.DELIVERED.value:
            self.delivered += 1
            self.cod_collected_vnd += row.cod_vnd
        reasons = failure_reasons(row)
        if reasons:
            self.failed_items += 1
            self.failed_attempts += len(reasons)
            for r in reasons:
                self.failed_reasons[r] = self.failed_reasons.get(r, 0) + 1
        back = return_reason(row)
        if back is not None:
            self.returned += 1
            self.returned_reasons[back] = self.returned_reasons.get(back, 0) + 1
        hours = transit_hours(row)
        if hours is not None:
            self.transit_hours.append(hours)

    def add_incident(self, fact: IncidentFact) -> None:
        self.incidents[fact.kind] = self.incidents.get(fact.kind, 0) + 1
        if fact.compensation_vnd:
            self.compensation_cases += 1
            self.compensation_vnd += fact.compensation_vnd

    def add_complaint(self, fact: ComplaintFact) -> None:
        self.complaints += 1
        self.complaints_resolved += int(fact.resolved_at is not None)
        if fact.compensation_vnd:
            self.compensation_cases += 1
            self.compensation_vnd += fact.compensation_vnd


GroupKey = Callable[[Any], tuple[str, str]]  # fact → (key, label)


def group_key(group_by: str, post_office_names: Mapping[str, str] | None = None) -> GroupKey:
    """The grouping function for ``agency`` | ``post_office`` | ``carrier``; works on rows and facts alike."""
    names = post_office_names or {}
    if group_by == "agency":
        return lambda f: (f.agency_code, f.agency_name)
    if group_by == "post_office":
        return lambda f: (
            (f.post_office_code, names.get(f.post_office_code, f.post_office_code))
            if f.post_office_code
            else ("", NO_POST_OFFICE)
        )
    if group_by == "carrier":
        return lambda f: (f.carrier, f.carrier)
    raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")


def aggregate(
    rows: Iterable[ReportRow],
    incidents: Iterable[IncidentFact],
    complaints: Iterable[ComplaintFact],
    *,
    key: GroupKey,
    today: date,
) -> tuple[list[Figures], Figures]:
    """Figures per group (sorted by key) and over everything."""
    groups: dict[str, Figures] = {}
    total = Figures(key="*", label="Tổng cộng")

    def bucket(fact: Any) -> Figures:
        k, label = key(fact)
        if k not in groups:
            groups[k] = Figures(key=k, label=label)
        return groups[k]

    for row in rows:
        bucket(row).add_row(row, today)
        total.add_row(row, today)
    for inc in incidents:
        bucket(inc).add_incident(inc)
        total.add_incident(inc)
    for comp in complaints:
        bucket(comp).add_complaint(comp)
        total.add_complaint(comp)
    return [groups[k] for k in sorted(groups)], total


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def weekly(rows: Iterable[ReportRow], *, start: date, end: date, today: date) -> list[tuple[date, Figures]]:
    """Figures per ISO week (Monday) of registration, every week of the range present, empty ones included."""
    weeks: dict[date, Figures] = {}
    w = week_start(start)
    while w <= end:
        weeks[w] = Figures(key=w.isoformat(), label=f"{w:%d/%m}")
        w += timedelta(days=7)
    for row in rows:
        wk = week_start(local_date(row.created_at))
        if wk in weeks:
            weeks[wk].add_row(row, today)
    return sorted(weeks.items())


def status_mix(rows: Iterable[ReportRow]) -> list[tuple[str, int]]:
    """(status, count) over the cohort, most frequent first (ties by name)."""
    counts = Counter(r.status for r in rows)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# --------------------------------------------------------------------------------- periodic report (TT17 Art 13)

PERIODS = ("Q1", "Q2", "Q3", "Q4", "H1", "H2", "Y")
PERIOD_LABELS_VI = {
    "Q1": "Quý I",
    "Q2": "Quý II",
    "Q3": "Quý III",
    "Q4": "Quý IV",
    "H1": "6 tháng đầu năm",
    "H2": "6 tháng cuối năm",
    "Y": "Năm",
}


def period_range(year: int, period: str) -> tuple[date, date]:
    """First and last day of a quarter, half-year or year."""
    if not 2000 <= year <= 2100:
        raise ValueError(f"year out of range: {year}")
    months = {"Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9), "Q4": (10, 12), "H1": (1, 6), "H2": (7, 12), "Y": (1, 12)}
    if period not in months:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    first, last = months[period]
    end = date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)
    return date(year, first, 1), end - timedelta(days=1)


def report_deadline(year: int, period: str) -> date:
    """TT17 Art 13: quarterly reports before the 10th of the next quarter's first month, half-yearly before 10/7,
    annual before 10/1 of the next year (H2 is covered by the annual report and shares its deadline)."""
    _, end = period_range(year, period)
    nxt = end + timedelta(days=1)
    return date(nxt.year, nxt.month, 10)


@dataclass(frozen=True)
class CatalogueLine:
    kind: str
    carrier: str
    service: str
    items: int
    revenue_vnd: int


@dataclass(frozen=True)
class PeriodicFigures:
    """The Art 13 content: catalogue, volume and revenue, complaints and outcomes, lost/damaged items, compensation,
    and the safety level achieved (share of items in postal custody with no loss, damage or tampering; target 100 %,
    TT17 7.1)."""

    catalogue: tuple[CatalogueLine, ...]
    volume: dict[str, int]
    revenue_vnd: dict[str, int]
    complaints_received: int
    complaints_resolved: int
    complaints_resolved_on_time: int
    complaints_pending: int
    complaints_by_fault: dict[str, int]
    incidents: dict[str, int]
    compensation_cases: int
    compensation_vnd: int
    compensation_paid_vnd: int
    items_in_custody: int
    items_safe: int
    on_time_rate: float | None

    @property
    def safety_rate(self) -> float | None:
        return rate(self.items_safe, self.items_in_custody)


def periodic(
    rows: Sequence[ReportRow], incidents: Sequence[IncidentFact], complaints: Sequence[ComplaintFact], *, today: date
) -> PeriodicFigures:
    live = [r for r in rows if r.status != Status.CANCELLED.value]
    catalogue: dict[tuple[str, str, str], list[int]] = {}
    volume = {k.value: 0 for k in Kind}
    revenue = {k.value: 0 for k in Kind}
    for r in live:
        line = catalogue.setdefault((r.kind, r.carrier, r.service), [0, 0])
        line[0] += 1
        line[1] += postage(r)
        volume[r.kind] = volume.get(r.kind, 0) + 1
        revenue[r.kind] = revenue.get(r.kind, 0) + postage(r)
    in_custody = [r for r in live if reached_custody(r)]
    unsafe = [r for r in in_custody if r.incident_kinds or r.status == Status.LOST_OR_DAMAGED.value]
    ontime = [x for x in (on_time(r, today) for r in live) if x is not None]
    resolved = [c for c in complaints if c.resolved_at is not None]
    on_time_resolved = [c for c in resolved if c.resolved_at and local_date(c.resolved_at) <= c.due_date]
    by_fault: dict[str, int] = {}
    for c in resolved:
        by_fault[c.fault_party or "none"] = by_fault.get(c.fault_party or "none", 0) + 1
    kinds = dict.fromkeys(INCIDENT_KINDS, 0)
    for i in incidents:
        kinds[i.kind] = kinds.get(i.kind, 0) + 1
    comp = [x.compensation_vnd for x in (*incidents, *complaints) if x.compensation_vnd]
    paid = sum(c.compensation_vnd or 0 for c in complaints if c.paid_at is not None)
    return PeriodicFigures(
        catalogue=tuple(CatalogueLine(k, c, s, n, v) for (k, c, s), (n, v) in sorted(catalogue.items())),
        volume=volume,
        revenue_vnd=revenue,
        complaints_received=len(complaints),
        complaints_resolved=len(resolved),
        complaints_resolved_on_time=len(on_time_resolved),
        complaints_pending=len(complaints) - len(resolved),
        complaints_by_fault=by_fault,
        incidents=kinds,
        compensation_cases=len(comp),
        compensation_vnd=sum(comp),
        compensation_paid_vnd=paid,
        items_in_custody=len(in_custody),
        items_safe=len(in_custody) - len(unsafe),
        on_time_rate=rate(sum(ontime), len(ontime)),
    )


# --------------------------------------------------------------------------------------- the printable document


@dataclass(frozen=True)
class ReportTable:
    """One titled table of the printable report; ``widths`` are relative (None: equal), ``align`` per column."""

    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] | None = None
    align: tuple[str, ...] | None = None  # "left" | "right" | "center" per column
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportContent:
    """A printable report (A4), drawn by ``labels/report.py``: header, title, period, tables, notes, signatures."""

    issuer: str  # top left, upper-cased: the office or agency that reports
    title: str  # e.g. "BÁO CÁO CHẤT LƯỢNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH"
    subtitle: str  # e.g. "Từ ngày 01/01/2026 đến ngày 31/03/2026"
    reference: str  # short id printed in every footer, e.g. "BC-2026-Q1"
    generated_at: str  # already formatted, local time
    tables: tuple[ReportTable, ...]
    intro: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    landscape: bool = False
    signers: tuple[str, ...] = ("Người lập biểu", "Thủ trưởng đơn vị")


class ReportRenderer(Protocol):
    def render_report(self, content: ReportContent) -> bytes: ...


# ---------------------------------------------------------------------------------- records and personal data

MIN_RETENTION_YEARS = 5  # TT17 Art 14.3: electronic records at least 5 years from acceptance


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    id: int | None = None


@dataclass(frozen=True)
class PurgeCandidate:
    """A consignment whose retention has ended: no personal data is listed, only what identifies the record."""

    id: str
    agency_code: str
    dossier_code: str | None
    status: str
    accepted_on: date


def retention_cutoff(today: date, years: int) -> date:
    """The day ``years`` years before ``today`` (29 February falls back to the 28th)."""
    if isinstance(years, bool) or not isinstance(years, int):
        raise ValueError(f"older_than_years must be a whole number of years, not {years!r}")
    if years < MIN_RETENTION_YEARS:
        raise ValueError(
            f"older_than_years must be at least {MIN_RETENTION_YEARS} (Circular 17/2017 Art 14.3 keeps electronic "
            f"records 5 years from acceptance); got {years}"
        )
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


class AuditRepository(Protocol):
    """``uow.audit``: the append-only audit log, and the queries and erasure of the citizen's personal data."""

    def record(self, entry: AuditEntry) -> int: ...

    def entries(self, *, subject: str | None = None, action: str | None = None) -> list[AuditEntry]: ...

    def consignment_ids_by_phone(self, e164: str) -> list[str]: ...

    def purge_candidates(self, *, accepted_before: date, created_before: datetime) -> list[PurgeCandidate]: ...

    def erase_personal_data(self, consignment_ids: Sequence[str], *, at: datetime) -> int: ...
