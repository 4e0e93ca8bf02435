"""Deadline (SLA) rules: pure functions over a consignment, its complaints, the working calendar and today.

Every rule computes a **deadline date** D in Asia/Ho_Chi_Minh and breaches on the first calendar day after it
(``today > D``), so "the day of" is never late and "the day after" always is, even when that day is a Saturday or a
holiday: a deadline counted in working days ends at the end of its last working day. ``due_at`` is the moment the
deadline ended, 00:00 local time on D + 1, stored in UTC.

- ``transit_overdue``: D = ``due_date`` (J + n, TT17 Art 7); a return still ``booked``, ``picked_up`` or
  ``in_transit`` (the clock stops at the first delivery attempt, TT17 Art 3.5), a pickup or transfer not yet handed to
  the agency.
- ``result_overdue``: D = ``appointment_date`` (ngày hẹn trả, NĐ 61 Art 20); a return still ``awaiting_result``.
- ``invitation_overdue``: D = the last failed delivery + 4 working days (TT17 5.2.h); a return still
  ``delivery_failed`` or ``available_for_pickup``: the result is due back at the agency.
- ``stale_custody``: D = the last event (ours or a courier scan) + N working days, N = 3 by default [I]; the item is
  in postal custody.
- ``complaint_overdue``: D = the complaint's ``due_date`` (TT17 Art 8.1); the complaint is still open.
- ``compensation_overdue``: D = ``payment_due_date`` (the liability decision + 30 days, NĐ 47/2011 Art 26); the
  decided compensation is not paid.

Why 4 working days for the invitations: the citizen is invited at least twice, 02 working days apart (TT17 5.2.h;
Luật Bưu chính Art 17); the first invitation goes out with the failed attempt (day F), the second on F + 2, and the
second one gets the same 2 working days, so from F + 4 on the result must go back to the agency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, Protocol

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.incidents import Complaint
from postal_bridge.domain.status import Kind, Status

try:
    from zoneinfo import ZoneInfo

    TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # noqa: BLE001 - no tz database installed: Việt Nam has kept UTC+7 without DST since 1975
    TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

INVITATION_WORKING_DAYS = 4  # two invitations, 02 working days apart, each given its 2 working days
STALE_CUSTODY_WORKING_DAYS = 3


class BreachKind(StrEnum):
    TRANSIT_OVERDUE = "transit_overdue"
    RESULT_OVERDUE = "result_overdue"
    INVITATION_OVERDUE = "invitation_overdue"  # the result is due back at the agency
    STALE_CUSTODY = "stale_custody"
    COMPLAINT_OVERDUE = "complaint_overdue"
    COMPENSATION_OVERDUE = "compensation_overdue"


BREACH_LABELS_VI: dict[BreachKind, str] = {
    BreachKind.TRANSIT_OVERDUE: "Quá thời hạn chuyển phát (J+n)",
    BreachKind.RESULT_OVERDUE: "Quá ngày hẹn trả mà chưa có kết quả",
    BreachKind.INVITATION_OVERDUE: "Đã mời nhận 2 lần, phải chuyển hoàn kết quả về cơ quan",
    BreachKind.STALE_CUSTODY: "Bưu gửi không có cập nhật",
    BreachKind.COMPLAINT_OVERDUE: "Quá hạn giải quyết khiếu nại",
    BreachKind.COMPENSATION_OVERDUE: "Quá hạn chi trả bồi thường",
}

# Statuses in which the post holds the item.
CUSTODY: frozenset[Status] = frozenset(
    {
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.AVAILABLE_FOR_PICKUP,
        Status.RETURNING_TO_AGENCY,
    }
)
# Returns: the J + n clock stops at the first delivery attempt (TT17 Art 3.5).
RETURN_TRANSIT: frozenset[Status] = frozenset({Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT})
# Pickups and transfers: the clock stops when the agency signs for the dossier (``delivered``).
TO_AGENCY_TRANSIT: frozenset[Status] = RETURN_TRANSIT | {Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED}
AWAITING_RETURN: frozenset[Status] = frozenset({Status.DELIVERY_FAILED, Status.AVAILABLE_FOR_PICKUP})
# Every status a rule looks at: what the scan loads.
WATCHED: frozenset[Status] = CUSTODY | RETURN_TRANSIT | {Status.AWAITING_RESULT}


@dataclass(frozen=True)
class Finding:
    """A rule that currently holds for a consignment."""

    kind: BreachKind
    due_at: datetime  # the moment the deadline ended (UTC)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Breach:
    """A stored breach: one per consignment and kind, ever (reopened in place if the condition comes back)."""

    consignment_id: str
    kind: BreachKind
    detected_at: datetime
    due_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    resolved_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class AttentionItem:
    """A consignment a person should look at (needs-attention list)."""

    consignment_id: str
    dossier_code: str | None
    kind: str
    status: str
    reason: str  # a BreachKind value, "address_unconfirmed" or "delivery_failed"
    since: datetime
    due_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


class BreachRepository(Protocol):
    def for_consignment(self, consignment_id: str) -> list[Breach]: ...

    def add(self, breach: Breach) -> bool:
        """Insert; False (nothing written) when a row for this consignment and kind already exists."""
        ...

    def resolve(self, breach_id: int, *, at: datetime) -> None: ...

    def reopen(self, breach_id: int, *, details: dict[str, Any], due_at: datetime | None) -> None: ...

    def scan_candidates(self, *, statuses: Sequence[str], after: str, limit: int) -> list[str]:
        """Ids (ascending, > ``after``) in a watched status, with an open breach or an open/unpaid complaint."""
        ...

    def last_courier_event_at(self, consignment_id: str) -> datetime | None: ...

    def attention(self, agency_id: str, *, limit: int) -> list[AttentionItem]: ...


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def end_of(d: date) -> datetime:
    """00:00 local on the day after ``d``, in UTC: the moment a deadline of ``d`` has passed."""
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=TZ).astimezone(UTC)


def _passed(deadline: date, today: date) -> bool:
    return today > deadline


def _last_event_at(c: Consignment, statuses: Iterable[Status]) -> datetime | None:
    wanted = set(statuses)
    for event in reversed(c.events):
        if event.status in wanted:
            return event.occurred_at
    return None


def transit_overdue(c: Consignment, today: date) -> Finding | None:
    if c.due_date is None:
        return None
    open_statuses = RETURN_TRANSIT if c.kind == Kind.RETURN else TO_AGENCY_TRANSIT
    if c.status not in open_statuses or not _passed(c.due_date, today):
        return None
    return Finding(
        BreachKind.TRANSIT_OVERDUE,
        end_of(c.due_date),
        {"due_date": c.due_date.isoformat(), "j_date": c.j_date.isoformat() if c.j_date else None},
    )


def result_overdue(c: Consignment, today: date) -> Finding | None:
    appointment = c.dossier.appointment_date
    if c.kind != Kind.RETURN or c.status != Status.AWAITING_RESULT or c.result_ready_at is not None:
        return None
    if appointment is None or not _passed(appointment, today):
        return None
    return Finding(BreachKind.RESULT_OVERDUE, end_of(appointment), {"appointment_date": appointment.isoformat()})


def invitation_overdue(
    c: Consignment, today: date, calendar: WorkingCalendar, *, working_days: int = INVITATION_WORKING_DAYS
) -> Finding | None:
    if c.kind != Kind.RETURN or c.status not in AWAITING_RETURN:
        return None
    failed_at = _last_event_at(c, [Status.DELIVERY_FAILED]) or _last_event_at(c, [Status.AVAILABLE_FOR_PICKUP])
    if failed_at is None:
        return None
    failed_on = local_date(failed_at)
    deadline = calendar.add_working_days(failed_on, working_days)
    if not _passed(deadline, today):
        return None
    return Finding(
        BreachKind.INVITATION_OVERDUE,
        end_of(deadline),
        {
            "failed_on": failed_on.isoformat(),
            "second_invitation_on": calendar.add_working_days(failed_on, working_days // 2).isoformat(),
            "return_to_agency_by": deadline.isoformat(),
        },
    )


def stale_custody(
    c: Consignment,
    today: date,
    calendar: WorkingCalendar,
    *,
    working_days: int = STALE_CUSTODY_WORKING_DAYS,
    last_courier_event_at: datetime | None = None,
) -> Finding | None:
    """No news for more than N working days while the post holds the item (courier scans count as news)."""
    if c.status not in CUSTODY:
        return None
    moments = [m for m in (c.events[-1].occurred_at if c.events else None, last_courier_event_at) if m is not None]
    if not moments:
        return None
    last = max(moments)
    deadline = calendar.add_working_days(local_date(last), working_days)
    if not _passed(deadline, today):
        return None
    return Finding(
        BreachKind.STALE_CUSTODY,
        end_of(deadline),
        {"last_event_at": last.astimezone(UTC).isoformat(), "working_days": working_days},
    )


def complaint_overdue(complaints: Iterable[Complaint], today: date) -> Finding | None:
    late = sorted((x for x in complaints if x.resolved_at is None and _passed(x.due_date, today)), key=_due)
    if not late:
        return None
    first = late[0]
    return Finding(
        BreachKind.COMPLAINT_OVERDUE,
        end_of(first.due_date),
        {"complaint_id": first.id, "due_date": first.due_date.isoformat()},
    )


def compensation_overdue(complaints: Iterable[Complaint], today: date) -> Finding | None:
    late = sorted(
        (
            x
            for x in complaints
            if x.payment_due_date is not None and x.paid_at is None and _passed(x.payment_due_date, today)
        ),
        key=lambda x: x.payment_due_date or date.max,
    )
    if not late:
        return None
    first = late[0]
    assert first.payment_due_date is not None
    return Finding(
        BreachKind.COMPENSATION_OVERDUE,
        end_of(first.payment_due_date),
        {
            "complaint_id": first.id,
            "payment_due_date": first.payment_due_date.isoformat(),
            "compensation_vnd": first.compensation_vnd,
        },
    )


def _due(x: Complaint) -> date:
    return x.due_date


def evaluate(
    c: Consignment,
    today: date,
    calendar: WorkingCalendar,
    *,
    complaints: Sequence[Complaint] = (),
    stale_after_working_days: int = STALE_CUSTODY_WORKING_DAYS,
    last_courier_event_at: datetime | None = None,
) -> dict[BreachKind, Finding]:
    """Every rule that holds for ``c`` today."""
    findings = [
        transit_overdue(c, today),
        result_overdue(c, today),
        invitation_overdue(c, today, calendar),
        stale_custody(
            c, today, calendar, working_days=stale_after_working_days, last_courier_event_at=last_courier_event_at
        ),
        complaint_overdue(complaints, today),
        compensation_overdue(complaints, today),
    ]
    return {f.kind: f for f in findings if f is not None}


@dataclass(frozen=True)
class Plan:
    """What a scan does to one consignment's breach rows."""

    new: list[Finding]
    resolve: list[Breach]
    reopen: list[tuple[Breach, Finding]]


def reconcile(existing: Sequence[Breach], findings: dict[BreachKind, Finding]) -> Plan:
    """New breaches are recorded (and notified) once; cleared ones resolved; a recurring one reopened in place."""
    by_kind = {b.kind: b for b in existing}
    new = [f for kind, f in findings.items() if kind not in by_kind]
    resolve = [b for b in existing if b.open and b.kind not in findings]
    reopen = [(b, findings[b.kind]) for b in existing if not b.open and b.kind in findings]
    return Plan(new=new, resolve=resolve, reopen=reopen)


# The first event that stops the J + n clock: returns stop at the first delivery attempt, the others at the agency.
_CLOCK_STOPS_RETURN = frozenset(
    {
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.AVAILABLE_FOR_PICKUP,
        Status.DELIVERED,
        Status.RETURNING_TO_AGENCY,
    }
)


def transit_was_late(c: Consignment, today: date) -> bool:
    """Whether the published J + n time was missed (NĐ 47 Art 25.2: the postage is then refunded)."""
    if c.due_date is None:
        return False
    stops = _CLOCK_STOPS_RETURN if c.kind == Kind.RETURN else frozenset({Status.DELIVERED})
    for event in c.events:
        if event.status in stops:
            return local_date(event.occurred_at) > c.due_date
    if c.status in (Status.CANCELLED, Status.AWAITING_RESULT, Status.REQUESTED, Status.BOOKING_FAILED):
        return False
    return today > c.due_date
