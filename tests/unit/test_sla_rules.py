"""Deadline rules at their boundaries: the day before, the day of and the day after, across weekends and Tết 2026.

Tết 2026 (shipped data): Saturday 14/2 to Sunday 22/2, weekdays 16–20/2 off, so after Friday 13/2 the next working day
is Monday 23/2.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.calendar import WorkingCalendar, load_calendar
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.incidents import Complainant, Complaint
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.sla import (
    TZ,
    Breach,
    BreachKind,
    Finding,
    compensation_overdue,
    complaint_overdue,
    end_of,
    evaluate,
    invitation_overdue,
    local_date,
    reconcile,
    result_overdue,
    stale_custody,
    transit_overdue,
    transit_was_late,
)
from postal_bridge.domain.status import Kind, Status

S, K = Status, BreachKind
RETURN_PATH = [S.BOOKED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED]


@pytest.fixture(scope="module")
def vn() -> WorkingCalendar:
    text = resources.files("postal_bridge.data").joinpath("holidays_vn.json").read_text(encoding="utf-8")
    return load_calendar(json.loads(text))


WEEKENDS = WorkingCalendar(holidays=frozenset())


def at(d: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Hà Nội on ``d``, as UTC."""
    return datetime.combine(d, time(hour), tzinfo=TZ).astimezone(UTC)


def consignment(
    kind: Kind = Kind.RETURN,
    *,
    path: list[tuple[Status, datetime]] = (),
    initial: Status = S.REQUESTED,
    due: date | None = None,
    appointment: date | None = None,
    created: datetime | None = None,
) -> Consignment:
    c = Consignment.register(
        initial=initial,
        occurred_at=created or at(date(2026, 2, 2)),
        actor="test",
        id="c-1",
        agency_id="a-1",
        kind=kind,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code="000.00.12.H56-260202-0001", appointment_date=appointment),
        citizen=Party(name="Nguyễn Thị Hằng", phone=Phone("+84912345678"), address=Address("Số 12", "00004", "01")),
        parcel=Parcel(weight_g=250, contents="Kết quả"),
        tracking_token="tok",
        due_date=due,
    )
    for status, moment in path:
        c.transition(status, occurred_at=moment, source=Source.COURIER_POLL)
    return c


def walk(statuses: list[Status], moment: datetime) -> list[tuple[Status, datetime]]:
    return [(s, moment) for s in statuses]


def test_local_date_and_end_of_use_hanoi_time() -> None:
    assert local_date(datetime(2026, 2, 13, 17, 30, tzinfo=UTC)) == date(2026, 2, 14)  # 00:30 on the 14th in Hà Nội
    assert local_date(datetime(2026, 2, 13, 16, 59, tzinfo=UTC)) == date(2026, 2, 13)
    assert end_of(date(2026, 2, 13)) == datetime(2026, 2, 13, 17, 0, tzinfo=UTC)


# --- transit ------------------------------------------------------------------------------------------------------


def test_the_j_plus_n_due_date_crosses_tet(vn: WorkingCalendar) -> None:
    assert vn.add_working_days(date(2026, 2, 12), 2) == date(2026, 2, 23)  # Thu + 2 = Fri 13, then Mon 23 after Tết


@pytest.mark.parametrize(
    ("today", "late"),
    [
        (date(2026, 2, 22), False),  # the day before (Sunday, still Tết)
        (date(2026, 2, 23), False),  # the day of
        (date(2026, 2, 24), True),  # the day after
    ],
)
def test_transit_overdue_after_tet(vn: WorkingCalendar, today: date, late: bool) -> None:
    due = vn.add_working_days(date(2026, 2, 12), 2)
    c = consignment(path=walk([S.BOOKED, S.PICKED_UP, S.IN_TRANSIT], at(date(2026, 2, 12))), due=due)
    finding = transit_overdue(c, today)
    assert (finding is not None) == late
    if finding:
        assert finding.kind == K.TRANSIT_OVERDUE
        assert finding.due_at == datetime(2026, 2, 23, 17, 0, tzinfo=UTC)
        assert finding.details["due_date"] == "2026-02-23"


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 3, 5), False), (date(2026, 3, 6), False), (date(2026, 3, 7), True), (date(2026, 3, 9), True)],
)
def test_transit_overdue_on_the_saturday_after_a_friday_due_date(today: date, late: bool) -> None:
    due = WEEKENDS.add_working_days(date(2026, 3, 4), 2)
    assert due == date(2026, 3, 6)
    c = consignment(path=walk([S.BOOKED], at(date(2026, 3, 4))), due=due)
    assert (transit_overdue(c, today) is not None) == late


@pytest.mark.parametrize("status_path", [RETURN_PATH[:4], RETURN_PATH, [*RETURN_PATH[:4], S.DELIVERED]])
def test_a_return_clock_stops_at_the_first_delivery_attempt(status_path: list[Status]) -> None:
    c = consignment(path=walk(status_path, at(date(2026, 3, 4))), due=date(2026, 3, 6))
    assert transit_overdue(c, date(2026, 4, 1)) is None


def test_a_pickup_is_late_until_the_agency_signs_for_it() -> None:
    due = date(2026, 3, 6)
    out = consignment(Kind.PICKUP, path=walk(RETURN_PATH[:4], at(date(2026, 3, 4))), due=due)
    assert transit_overdue(out, date(2026, 3, 7)) is not None
    done = consignment(Kind.PICKUP, path=walk([*RETURN_PATH[:4], S.DELIVERED], at(date(2026, 3, 4))), due=due)
    assert transit_overdue(done, date(2026, 3, 7)) is None


@pytest.mark.parametrize("initial", [S.REQUESTED, S.AWAITING_RESULT])
def test_no_transit_breach_before_the_post_has_the_order_or_without_a_due_date(initial: Status) -> None:
    assert transit_overdue(consignment(initial=initial, due=date(2026, 3, 6)), date(2026, 4, 1)) is None
    assert transit_overdue(consignment(path=walk([S.BOOKED], at(date(2026, 3, 4)))), date(2026, 4, 1)) is None


def test_transit_was_late_compares_the_first_attempt_with_the_due_date() -> None:
    due = date(2026, 3, 6)
    on_time = consignment(path=walk(RETURN_PATH[:4], at(date(2026, 3, 6), 16)), due=due)
    late = consignment(path=walk(RETURN_PATH[:4], at(date(2026, 3, 9))), due=due)
    still_moving = consignment(path=walk(RETURN_PATH[:3], at(date(2026, 3, 4))), due=due)
    assert not transit_was_late(on_time, date(2026, 4, 1))
    assert transit_was_late(late, date(2026, 4, 1))
    assert not transit_was_late(still_moving, date(2026, 3, 6))
    assert transit_was_late(still_moving, date(2026, 3, 7))


# --- result -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 2, 12), False), (date(2026, 2, 13), False), (date(2026, 2, 14), True), (date(2026, 2, 23), True)],
)
def test_result_overdue_when_the_appointment_date_passes(today: date, late: bool) -> None:
    c = consignment(initial=S.AWAITING_RESULT, appointment=date(2026, 2, 13))
    finding = result_overdue(c, today)
    assert (finding is not None) == late
    if finding:
        assert finding.due_at == end_of(date(2026, 2, 13))
        assert finding.details == {"appointment_date": "2026-02-13"}


def test_no_result_breach_once_the_result_is_ready_or_the_return_is_booked() -> None:
    ready = consignment(initial=S.AWAITING_RESULT, appointment=date(2026, 2, 13))
    ready.result_ready_at = at(date(2026, 2, 13))
    assert result_overdue(ready, date(2026, 3, 1)) is None
    booked = consignment(path=walk([S.BOOKED], at(date(2026, 2, 10))), appointment=date(2026, 2, 13))
    assert result_overdue(booked, date(2026, 3, 1)) is None
    no_date = consignment(initial=S.AWAITING_RESULT)
    assert result_overdue(no_date, date(2026, 3, 1)) is None


# --- invitations --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "late"),
    [
        (date(2026, 2, 13), False),
        (date(2026, 2, 20), False),  # Tết: no working day passes
        (date(2026, 2, 23), False),  # the day before the deadline
        (date(2026, 2, 24), False),  # the day of: F + 4 working days
        (date(2026, 2, 25), True),  # the day after
    ],
)
def test_invitations_end_four_working_days_after_the_failure_across_tet(
    vn: WorkingCalendar, today: date, late: bool
) -> None:
    failed = at(date(2026, 2, 11))  # Wednesday: Thu 12 (1), Fri 13 (2), Mon 23 (3), Tue 24 (4)
    c = consignment(path=walk(RETURN_PATH, failed))
    finding = invitation_overdue(c, today, vn)
    assert (finding is not None) == late
    if finding:
        assert finding.kind == K.INVITATION_OVERDUE
        assert finding.details == {
            "failed_on": "2026-02-11",
            "second_invitation_on": "2026-02-13",  # 02 working days apart
            "return_to_agency_by": "2026-02-24",
        }
        assert finding.due_at == end_of(date(2026, 2, 24))


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 3, 9), False), (date(2026, 3, 10), False), (date(2026, 3, 11), True)],
)
def test_invitations_across_a_weekend(today: date, late: bool) -> None:
    c = consignment(path=walk(RETURN_PATH, at(date(2026, 3, 4))))  # Wed: Thu 5, Fri 6, Mon 9, Tue 10
    c.transition(S.AVAILABLE_FOR_PICKUP, occurred_at=at(date(2026, 3, 5)), source=Source.COURIER_POLL)
    assert (invitation_overdue(c, today, WEEKENDS) is not None) == late


def test_the_last_failure_counts_and_a_delivered_or_returning_item_is_not_due() -> None:
    c = consignment(path=walk(RETURN_PATH, at(date(2026, 3, 2))))
    c.transition(S.OUT_FOR_DELIVERY, occurred_at=at(date(2026, 3, 4)), source=Source.COURIER_POLL)
    c.transition(S.DELIVERY_FAILED, occurred_at=at(date(2026, 3, 4)), source=Source.COURIER_POLL)
    assert invitation_overdue(c, date(2026, 3, 10), WEEKENDS) is None  # counted from Wed 4: due by Tue 10
    assert invitation_overdue(c, date(2026, 3, 11), WEEKENDS) is not None
    c.transition(S.RETURNING_TO_AGENCY, occurred_at=at(date(2026, 3, 10)), source=Source.COURIER_POLL)
    assert invitation_overdue(c, date(2026, 3, 11), WEEKENDS) is None
    pickup = consignment(
        Kind.PICKUP, path=walk([S.BOOKED, S.PICKED_UP, S.IN_TRANSIT, S.DELIVERY_FAILED], at(date(2026, 3, 2)))
    )
    assert invitation_overdue(pickup, date(2026, 4, 1), WEEKENDS) is None


# --- stale custody ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 2, 23), False), (date(2026, 2, 24), False), (date(2026, 2, 25), True)],
)
def test_stale_custody_after_three_working_days_across_tet(vn: WorkingCalendar, today: date, late: bool) -> None:
    c = consignment(path=walk([S.BOOKED, S.PICKED_UP, S.IN_TRANSIT], at(date(2026, 2, 12))))  # Fri 13, Mon 23, Tue 24
    finding = stale_custody(c, today, vn)
    assert (finding is not None) == late
    if finding:
        assert finding.details["working_days"] == 3
        assert finding.due_at == end_of(date(2026, 2, 24))


def test_a_courier_scan_is_news_and_n_is_configurable(vn: WorkingCalendar) -> None:
    c = consignment(path=walk([S.BOOKED, S.PICKED_UP, S.IN_TRANSIT], at(date(2026, 3, 2))))  # Monday
    assert stale_custody(c, date(2026, 3, 6), vn) is not None  # Tue, Wed, Thu gone
    assert stale_custody(c, date(2026, 3, 6), vn, last_courier_event_at=at(date(2026, 3, 4))) is None
    assert stale_custody(c, date(2026, 3, 6), vn, working_days=4) is None
    assert stale_custody(c, date(2026, 3, 4), vn, working_days=1) is not None
    assert stale_custody(c, date(2026, 3, 3), vn, working_days=1) is None


@pytest.mark.parametrize("status", [S.BOOKED, S.DELIVERED, S.RETURNED_TO_AGENCY, S.LOST_OR_DAMAGED])
def test_stale_custody_only_while_the_post_holds_the_item(status: Status) -> None:
    path = {
        S.BOOKED: [S.BOOKED],
        S.DELIVERED: [S.BOOKED, S.PICKED_UP, S.DELIVERED],
        S.RETURNED_TO_AGENCY: [S.BOOKED, S.PICKED_UP, S.RETURNING_TO_AGENCY, S.RETURNED_TO_AGENCY],
        S.LOST_OR_DAMAGED: [S.BOOKED, S.PICKED_UP, S.LOST_OR_DAMAGED],
    }[status]
    assert stale_custody(consignment(path=walk(path, at(date(2026, 3, 2)))), date(2026, 6, 1), WEEKENDS) is None


# --- complaints and compensation ----------------------------------------------------------------------------------


def complaint(cid: str, due: date, **kw) -> Complaint:
    return Complaint(
        id=cid,
        consignment_id="c-1",
        complainant=Complainant.CITIZEN,
        opened_at=at(due - timedelta(days=7)),
        description="Chậm",
        due_date=due,
        **kw,
    )


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 2, 25), False), (date(2026, 2, 26), False), (date(2026, 2, 27), True)],
)
def test_complaint_overdue_at_its_due_date(vn: WorkingCalendar, today: date, late: bool) -> None:
    due = vn.add_working_days(date(2026, 2, 12), 5)  # Fri 13, Mon 23 … Thu 26
    assert due == date(2026, 2, 26)
    finding = complaint_overdue([complaint("x-1", due)], today)
    assert (finding is not None) == late
    if finding:
        assert finding.details == {"complaint_id": "x-1", "due_date": "2026-02-26"}


def test_the_earliest_open_complaint_is_reported_and_resolved_ones_are_not() -> None:
    done = complaint("x-0", date(2026, 2, 2), resolved_at=at(date(2026, 2, 3)))
    first, second = complaint("x-1", date(2026, 2, 20)), complaint("x-2", date(2026, 2, 10))
    assert complaint_overdue([done], date(2026, 3, 1)) is None
    assert complaint_overdue([done, first, second], date(2026, 3, 1)).details["complaint_id"] == "x-2"


@pytest.mark.parametrize(
    ("today", "late"),
    [(date(2026, 3, 28), False), (date(2026, 3, 29), False), (date(2026, 3, 30), True)],
)
def test_compensation_overdue_thirty_days_after_the_decision(today: date, late: bool) -> None:
    decided = complaint(
        "x-1",
        date(2026, 2, 26),
        resolved_at=at(date(2026, 2, 27)),
        compensation_vnd=88_000,
        liability_decided_at=at(date(2026, 2, 27)),
        payment_due_date=date(2026, 3, 29),
    )
    finding = compensation_overdue([decided], today)
    assert (finding is not None) == late
    if finding:
        assert finding.details == {"complaint_id": "x-1", "payment_due_date": "2026-03-29", "compensation_vnd": 88_000}
    decided.paid_at = at(date(2026, 3, 30))
    assert compensation_overdue([decided], date(2026, 5, 1)) is None


# --- evaluate and reconcile ---------------------------------------------------------------------------------------


def test_evaluate_collects_every_rule_that_holds(vn: WorkingCalendar) -> None:
    c = consignment(path=walk([S.BOOKED, S.PICKED_UP, S.IN_TRANSIT], at(date(2026, 3, 2))), due=date(2026, 3, 4))
    found = evaluate(c, date(2026, 3, 6), vn, complaints=[complaint("x-1", date(2026, 3, 5))])
    assert set(found) == {K.TRANSIT_OVERDUE, K.STALE_CUSTODY, K.COMPLAINT_OVERDUE}
    assert set(evaluate(c, date(2026, 3, 6), vn, stale_after_working_days=10)) == {K.TRANSIT_OVERDUE}


def test_reconcile_records_once_resolves_when_cleared_and_reopens_in_place() -> None:
    now = at(date(2026, 3, 6))
    finding = Finding(K.TRANSIT_OVERDUE, end_of(date(2026, 3, 4)), {})
    plan = reconcile([], {K.TRANSIT_OVERDUE: finding})
    assert plan.new == [finding] and not plan.resolve and not plan.reopen

    recorded = Breach("c-1", K.TRANSIT_OVERDUE, now, id=1)
    again = reconcile([recorded], {K.TRANSIT_OVERDUE: finding})
    assert not again.new and not again.resolve and not again.reopen  # the second scan does nothing

    cleared = reconcile([recorded], {})
    assert cleared.resolve == [recorded] and not cleared.new

    recorded.resolved_at = now
    assert not reconcile([recorded], {}).resolve  # already resolved
    back = reconcile([recorded], {K.TRANSIT_OVERDUE: finding})
    assert back.reopen == [(recorded, finding)] and not back.new
