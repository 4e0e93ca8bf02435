"""Complaint and compensation rules: 5/7 working days (across Tết), the 6-month window, 4 × postage, 30 days."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

import pytest

from postal_bridge.domain.calendar import WorkingCalendar, load_calendar
from postal_bridge.domain.incidents import (
    FaultParty,
    add_months,
    complaint_due_date,
    lodging_deadline,
    minimum_compensation,
    payment_due_date,
    resolution_days,
    within_lodging_window,
)


@pytest.fixture(scope="module")
def vn() -> WorkingCalendar:
    text = resources.files("postal_bridge.data").joinpath("holidays_vn.json").read_text(encoding="utf-8")
    return load_calendar(json.loads(text))


@pytest.mark.parametrize(
    ("route", "same_province", "days"),
    [
        ("same_ward", None, 5),
        ("same_province", False, 5),
        ("inter_province_special", True, 7),
        ("inter_province_other", None, 7),
        ("remote", None, 7),
        (None, True, 5),
        (None, False, 7),
        (None, None, 7),
    ],
)
def test_resolution_days_within_and_between_provinces(route: str | None, same_province: bool | None, days: int) -> None:
    assert resolution_days(route, same_province=same_province) == days


def test_complaint_due_dates_cross_tet(vn: WorkingCalendar) -> None:
    opened = date(2026, 2, 12)  # Thursday before Tết: Fri 13, then Mon 23 …
    assert complaint_due_date(opened, vn, 5) == date(2026, 2, 26)
    assert complaint_due_date(opened, vn, 7) == date(2026, 3, 2)
    # Lodged on a holiday: the count starts on the next working day (Mon 23 is day 0).
    assert complaint_due_date(date(2026, 2, 18), vn, 5) == date(2026, 3, 2)


def test_complaint_due_dates_cross_a_weekend(vn: WorkingCalendar) -> None:
    assert complaint_due_date(date(2026, 3, 6), vn, 5) == date(2026, 3, 13)  # Fri + 5 = next Fri
    assert complaint_due_date(date(2026, 3, 7), vn, 5) == date(2026, 3, 16)  # Sat: from Mon 9


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 2, 23), 6, date(2026, 8, 23)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("lodged", "ok"),
    [(date(2026, 8, 22), True), (date(2026, 8, 23), True), (date(2026, 8, 24), False), (date(2026, 2, 1), True)],
)
def test_six_month_window_after_the_j_plus_n_due_date(lodged: date, ok: bool) -> None:
    assert lodging_deadline(date(2026, 2, 23)) == date(2026, 8, 23)
    assert within_lodging_window(date(2026, 2, 23), lodged) == ok


def test_no_due_date_means_no_window_to_miss() -> None:
    assert within_lodging_window(None, date(2030, 1, 1))


def test_payment_is_due_thirty_days_after_the_decision() -> None:
    assert payment_due_date(date(2026, 2, 27)) == date(2026, 3, 29)
    assert payment_due_date(date(2026, 12, 15)) == date(2027, 1, 14)


@pytest.mark.parametrize(
    ("postage", "party", "loss", "late", "minimum"),
    [
        (22_000, FaultParty.POST, True, False, 88_000),  # 4 × postage (NĐ 47 Art 25.1.a)
        (22_000, FaultParty.POST, True, True, 88_000),  # the refund is inside the 4 ×
        (22_000, FaultParty.POST, False, True, 22_000),  # late only: the postage back (Art 25.2)
        (22_000, FaultParty.POST, False, False, 0),
        (22_000, FaultParty.AGENCY, True, True, 0),
        (22_000, FaultParty.CITIZEN, True, False, 0),
        (None, FaultParty.POST, True, False, 0),
    ],
)
def test_minimum_compensation(postage: int | None, party: FaultParty, loss: bool, late: bool, minimum: int) -> None:
    assert minimum_compensation(postage, fault_party=party, loss_or_damage=loss, late=late) == minimum
