"""The pure figures behind the province's reports: percentile, rates, the J+n clock, reasons, periods."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta

import pytest

from postal_bridge.domain import reports as d
from postal_bridge.domain.status import Status

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 08:00 in Hà Nội


def row(kind="return", status="delivered", due=date(2026, 3, 4), events=(), **kw) -> d.ReportRow:
    base = {
        "id": "c1",
        "agency_id": "a1",
        "agency_code": "HCC-HN",
        "agency_name": "Trung tâm HN",
        "carrier": "sandbox",
        "service": "standard",
        "post_office_code": "PO1",
        "kind": kind,
        "status": status,
        "created_at": T0,
        "due_date": due,
        "postage_vnd": None,
        "fee_vnd": 22_000,
        "cod_vnd": 0,
    }
    base.update(kw)
    ms = tuple(
        d.Milestone(status=Status(s), occurred_at=T0 + timedelta(hours=h), seq=i, description=text)
        for i, (s, h, text) in enumerate(events, start=2)
    )
    return d.ReportRow(**base, milestones=ms)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 101])
def test_percentile_matches_the_statistics_module_inclusive_method(n: int) -> None:
    rng = random.Random(n)
    values = [rng.uniform(0, 200) for _ in range(n)]
    for q in (0.5, 0.9, 0.95):
        expected = values[0] if n == 1 else statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
        assert d.percentile(values, q) == pytest.approx(expected)


def test_percentile_edges() -> None:
    assert d.percentile([], 0.95) is None
    assert d.percentile([3, 1, 2], 0) == 1
    assert d.percentile([3, 1, 2], 1) == 3
    assert d.percentile([10, 20], 0.95) == pytest.approx(19.5)
    with pytest.raises(ValueError):
        d.percentile([1], 1.5)


def test_rate_distinguishes_zero_from_no_data() -> None:
    assert d.rate(0, 0) is None
    assert d.rate(0, 4) == 0
    assert d.rate(3, 4) == 0.75
    with pytest.raises(ValueError):
        d.rate(5, 4)


def test_the_return_clock_stops_at_the_first_attempt_even_if_it_failed() -> None:
    r = row(
        events=[
            ("picked_up", 1, None),
            ("delivery_failed", 40, "vắng nhà"),  # Tue 17:00 local: on or before Wed 4/3
            ("delivered", 100, None),  # Fri: late, but the clock had stopped
        ]
    )
    assert d.on_time(r, today=date(2026, 4, 1)) is True
    assert d.first_attempt_delivered(r) is False
    assert d.transit_hours(r) == pytest.approx(99)
    assert d.failure_reasons(r) == ["vắng nhà"]


def test_a_pickup_stops_only_when_handed_to_the_agency() -> None:
    r = row(kind="pickup", events=[("picked_up", 1, None), ("delivery_failed", 40, None), ("delivered", 100, None)])
    assert d.on_time(r, today=date(2026, 4, 1)) is False


def test_local_day_decides_on_time() -> None:
    # 2026-03-04 16:59 UTC is 23:59 local on the due day; 17:00 UTC is the next local day.
    due = date(2026, 3, 4)
    ok = row(events=[("delivered", (datetime(2026, 3, 4, 16, 59, tzinfo=UTC) - T0).total_seconds() / 3600, None)])
    late = row(events=[("delivered", (datetime(2026, 3, 4, 17, 0, tzinfo=UTC) - T0).total_seconds() / 3600, None)])
    assert d.on_time(ok, today=due) is True
    assert d.on_time(late, today=due) is False


def test_overdue_without_attempt_is_late_and_not_yet_due_is_not_counted() -> None:
    pending = row(status="in_transit", events=[("picked_up", 1, None)])
    assert d.on_time(pending, today=date(2026, 3, 4)) is None
    assert d.on_time(pending, today=date(2026, 3, 5)) is False
    assert d.on_time(row(status="cancelled"), today=date(2026, 5, 1)) is None
    assert d.on_time(row(due=None), today=date(2026, 5, 1)) is None


def test_return_reason_is_the_last_failure_before_going_back() -> None:
    r = row(
        status="returned_to_agency",
        events=[
            ("delivery_failed", 30, "Sai địa chỉ"),
            ("delivery_failed", 60, "Người nhận vắng nhà"),
            ("returning_to_agency", 70, "Quá hạn mời nhận"),
            ("returned_to_agency", 80, "Đã chuyển hoàn"),
        ],
    )
    assert d.return_reason(r) == "Người nhận vắng nhà"
    assert d.return_reason(row(status="returned_to_agency", events=[("returning_to_agency", 5, "")])) == (
        d.UNKNOWN_REASON
    )
    assert d.return_reason(row()) is None


def test_aggregate_groups_and_totals() -> None:
    rows = [
        row(
            id="1", carrier="a", postage_vnd=30_000, cod_vnd=5, events=[("picked_up", 0, None), ("delivered", 10, None)]
        ),
        row(id="2", carrier="b", events=[("picked_up", 0, None), ("delivered", 30, None)]),
        row(id="3", carrier="b", status="cancelled", fee_vnd=99),
    ]
    groups, total = d.aggregate(rows, [], [], key=d.group_key("carrier"), today=date(2026, 4, 1))
    assert [g.key for g in groups] == ["a", "b"]
    assert groups[0].postage_vnd == 30_000 and groups[1].postage_vnd == 22_000
    assert groups[1].cancelled == 1 and groups[1].total == 1
    assert total.total == 2 and total.cod_collected_vnd == 5
    assert total.transit_avg_hours == pytest.approx(20)
    assert total.transit_p95_hours == pytest.approx(29)


@pytest.mark.parametrize(
    ("period", "first", "last", "deadline"),
    [
        ("Q1", date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 10)),
        ("Q4", date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 10)),
        ("H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 10)),
        ("Y", date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 10)),
    ],
)
def test_periods_and_deadlines(period: str, first: date, last: date, deadline: date) -> None:
    assert d.period_range(2026, period) == (first, last)
    assert d.report_deadline(2026, period) == deadline


def test_retention_is_never_shorter_than_five_years() -> None:
    with pytest.raises(ValueError, match="older_than_years"):
        d.retention_cutoff(date(2031, 1, 1), 4)
    assert d.retention_cutoff(date(2032, 2, 29), 5) == date(2027, 2, 28)
    assert d.retention_cutoff(date(2031, 6, 1), 7) == date(2024, 6, 1)


def test_local_bounds_cover_whole_local_days() -> None:
    lo, hi = d.local_bounds(date(2026, 1, 1), date(2026, 1, 31))
    assert lo == datetime(2025, 12, 31, 17, tzinfo=UTC)
    assert hi == datetime(2026, 1, 31, 17, tzinfo=UTC)
