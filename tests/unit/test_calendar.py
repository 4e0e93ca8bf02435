"""Working-day calendar: J + n across weekends, Tết, 30/4–1/5 and 2/9, and the shipped holiday data."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources

import pytest

from postal_bridge.domain.calendar import WorkingCalendar, compensatory_days, load_calendar

LUNAR_NEW_YEAR = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
HUNG_KINGS = {
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
    2027: date(2027, 4, 16),
    2028: date(2028, 4, 4),
    2029: date(2029, 4, 23),
    2030: date(2030, 4, 12),
}


def shipped_data() -> dict:
    text = resources.files("postal_bridge.data").joinpath("holidays_vn.json").read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def vn() -> WorkingCalendar:
    return load_calendar(shipped_data())


@pytest.fixture(scope="module")
def vn_saturdays() -> WorkingCalendar:
    return load_calendar(shipped_data(), saturday_is_working=True)


PLAIN = WorkingCalendar(holidays=frozenset())
PLAIN_SAT = WorkingCalendar(holidays=frozenset(), saturday_is_working=True)


# --- weekends, no holidays ---------------------------------------------------------------------------------------


def test_weekdays_work_and_weekends_rest() -> None:
    monday = date(2026, 3, 2)
    days = [monday + timedelta(days=i) for i in range(7)]
    assert [PLAIN.is_working_day(d) for d in days] == [True] * 5 + [False, False]
    assert [PLAIN_SAT.is_working_day(d) for d in days] == [True] * 6 + [False]


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 2), 0, date(2026, 3, 2)),  # Monday J+0 is J
        (date(2026, 3, 2), 1, date(2026, 3, 3)),
        (date(2026, 3, 5), 1, date(2026, 3, 6)),  # Thursday → Friday
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday → Monday
        (date(2026, 3, 6), 4, date(2026, 3, 12)),
        (date(2026, 3, 6), 10, date(2026, 3, 20)),
        # J on a weekend: J moves to Monday first, then the count starts
        (date(2026, 3, 7), 0, date(2026, 3, 9)),
        (date(2026, 3, 7), 1, date(2026, 3, 10)),
        (date(2026, 3, 8), 1, date(2026, 3, 10)),
        (date(2026, 3, 8), 2, date(2026, 3, 11)),
    ],
)
def test_add_working_days_over_weekends(start: date, n: int, expected: date) -> None:
    assert PLAIN.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 6), 1, date(2026, 3, 7)),  # Friday → Saturday
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Saturday → Monday
        (date(2026, 3, 8), 0, date(2026, 3, 9)),  # Sunday J+0 → Monday
        (date(2026, 3, 8), 1, date(2026, 3, 10)),
        (date(2026, 3, 2), 6, date(2026, 3, 9)),
    ],
)
def test_add_working_days_with_saturdays(start: date, n: int, expected: date) -> None:
    assert PLAIN_SAT.add_working_days(start, n) == expected


@pytest.mark.parametrize("bad", [-1, 1.0, "1", True, None])
def test_add_working_days_refuses_bad_n(bad: object) -> None:
    with pytest.raises(ValueError, match="n must"):
        PLAIN.add_working_days(date(2026, 3, 2), bad)  # type: ignore[arg-type]


def test_working_days_between() -> None:
    friday, monday = date(2026, 3, 6), date(2026, 3, 9)
    assert PLAIN.working_days_between(friday, friday) == 0
    assert PLAIN.working_days_between(friday, monday) == 1
    assert PLAIN.working_days_between(friday, date(2026, 3, 8)) == 0  # the weekend adds nothing
    assert PLAIN.working_days_between(monday, friday) == -1
    assert PLAIN_SAT.working_days_between(friday, monday) == 2


def test_working_days_between_inverts_add(vn: WorkingCalendar) -> None:
    start = date(2026, 1, 1)
    for offset in range(0, 400, 3):
        j = start + timedelta(days=offset)
        for n in (0, 1, 2, 3, 4, 5, 8, 10):
            due = vn.add_working_days(j, n)
            assert vn.is_working_day(due)
            effective_j = vn.add_working_days(j, 0)
            assert vn.working_days_between(effective_j, due) == n, (j, n)


# --- holidays from the shipped file -------------------------------------------------------------------------------


def test_tet_2026(vn: WorkingCalendar, vn_saturdays: WorkingCalendar) -> None:
    # Official break Sat 14/2 – Sun 22/2/2026; the five Tết days are Mon 16 – Fri 20.
    for d in range(14, 23):
        assert not vn.is_working_day(date(2026, 2, d)), d
    assert vn.is_working_day(date(2026, 2, 13))
    assert vn.is_working_day(date(2026, 2, 23))
    friday = date(2026, 2, 13)
    assert vn.add_working_days(friday, 1) == date(2026, 2, 23)
    assert vn.add_working_days(friday, 2) == date(2026, 2, 24)
    assert vn.add_working_days(friday, 4) == date(2026, 2, 26)
    assert vn.add_working_days(friday, 6) == date(2026, 3, 2)
    assert vn.working_days_between(friday, date(2026, 2, 23)) == 1
    # A dossier received on the holiday itself starts counting after the break.
    assert vn.add_working_days(date(2026, 2, 17), 1) == date(2026, 2, 24)
    # Saturdays worked: Saturday 14/2 and 21/2 are ordinary Saturdays in the official schedule.
    assert vn_saturdays.add_working_days(friday, 1) == date(2026, 2, 14)
    assert vn_saturdays.add_working_days(friday, 2) == date(2026, 2, 21)
    assert vn.holiday_name(date(2026, 2, 17)).startswith("Tết Nguyên đán Bính Ngọ")


def test_tet_2027_statutory_with_compensatory_days(vn: WorkingCalendar, vn_saturdays: WorkingCalendar) -> None:
    # Lunar new year Sat 6/2/2027: Tết = Fri 5/2 (last day of the year) + 6, 7, 8, 9; Sat 6 and Sun 7 give
    # compensatory days on Wed 10 and Thu 11.
    off = {date(2027, 2, d) for d in (5, 6, 7, 8, 9, 10, 11)}
    for d in range(1, 16):
        day = date(2027, 2, d)
        expected = day not in off and day.weekday() < 5
        assert vn.is_working_day(day) is expected, day
    thursday = date(2027, 2, 4)
    assert vn.add_working_days(thursday, 1) == date(2027, 2, 12)
    assert vn.add_working_days(thursday, 2) == date(2027, 2, 15)
    assert vn.add_working_days(date(2027, 1, 29), 4) == date(2027, 2, 4)  # Friday a week before Tết
    assert vn.add_working_days(date(2027, 1, 29), 5) == date(2027, 2, 12)
    assert vn.holiday_name(date(2027, 2, 10)).startswith("Nghỉ bù")
    # Saturdays worked: only Sunday 7/2 is a weekly rest day, so one compensatory day (Wed 10/2), Thu 11/2 works.
    assert not vn_saturdays.is_working_day(date(2027, 2, 10))
    assert vn_saturdays.is_working_day(date(2027, 2, 11))
    assert vn_saturdays.add_working_days(thursday, 1) == date(2027, 2, 11)
    assert vn_saturdays.add_working_days(thursday, 3) == date(2027, 2, 13)


def test_30_4_and_1_5(vn: WorkingCalendar) -> None:
    # 2026: Thu 30/4, Fri 1/5; Giỗ Tổ Sun 26/4 → compensatory Mon 27/4.
    assert vn.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    assert vn.add_working_days(date(2026, 4, 24), 1) == date(2026, 4, 28)
    assert not vn.is_working_day(date(2026, 4, 27))
    # 2028: Sun 30/4 and Mon 1/5 → compensatory Tue 2/5.
    assert vn.add_working_days(date(2028, 4, 28), 1) == date(2028, 5, 3)
    # 2027: Fri 30/4 and Sat 1/5 → compensatory Mon 3/5.
    assert vn.add_working_days(date(2027, 4, 29), 1) == date(2027, 5, 4)


def test_swaps_2025(vn: WorkingCalendar) -> None:
    # 30/4–4/5/2025: Friday 2/5 swapped off, Saturday 26/4 worked instead.
    assert vn.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    assert vn.is_working_day(date(2025, 4, 26))
    assert vn.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)
    without = load_calendar({**shipped_data(), "apply_swaps": False})
    assert without.is_working_day(date(2025, 5, 2))
    assert not without.is_working_day(date(2025, 4, 26))
    assert without.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 28)


def test_quoc_khanh(vn: WorkingCalendar) -> None:
    # 2026: Mon 31/8 swapped off (Sat 22/8 worked), Tue 1/9 and Wed 2/9 holidays.
    assert vn.add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 3)
    assert vn.add_working_days(date(2026, 8, 21), 1) == date(2026, 8, 22)
    # 2028: Fri 1/9, Sat 2/9 → compensatory Mon 4/9.
    assert vn.add_working_days(date(2028, 8, 31), 1) == date(2028, 9, 5)
    # 2029: Sat 1/9 and Sun 2/9 → compensatory Mon 3/9 and Tue 4/9.
    assert vn.add_working_days(date(2029, 8, 31), 1) == date(2029, 9, 5)
    # 2030: Sun 1/9, Mon 2/9 → compensatory Tue 3/9.
    assert vn.add_working_days(date(2030, 8, 30), 1) == date(2030, 9, 4)
    # 2024 (official 2/9 + 3/9).
    assert vn.add_working_days(date(2024, 8, 30), 1) == date(2024, 9, 4)


def test_covers(vn: WorkingCalendar) -> None:
    assert vn.covers(date(2024, 1, 1))
    assert vn.covers(date(2030, 12, 31))
    assert not vn.covers(date(2031, 1, 1))
    assert not PLAIN.covers(date(2026, 1, 1))


# --- the shipped data file itself ---------------------------------------------------------------------------------


def test_shipped_file_shape_and_dates() -> None:
    data = shipped_data()
    assert "_note" in data
    assert data["years"] == [2024, 2030]
    seen: set[date] = set()
    for entry in data["holidays"]:
        d = date.fromisoformat(entry["date"])  # a real date, or this raises
        assert 2024 <= d.year <= 2030, entry
        assert entry["name"].strip(), entry
        assert entry.get("kind", "holiday") in {"holiday", "compensatory"}
        assert d not in seen
        seen.add(d)
    for swap in data["swaps"]:
        off, make_up = date.fromisoformat(swap["day_off"]), date.fromisoformat(swap["make_up_day"])
        assert off.weekday() < 5 and make_up.weekday() == 5, swap
        assert swap["name"].strip()


def test_eleven_statutory_days_a_year() -> None:
    holidays = [e for e in shipped_data()["holidays"] if e.get("kind", "holiday") == "holiday"]
    for year in range(2024, 2031):
        days = {date.fromisoformat(e["date"]) for e in holidays if e["date"].startswith(str(year))}
        assert len(days) == 11, year  # Labour Code 2019 Art 112.1: 1 + 5 + 1 + 1 + 1 + 2
        assert date(year, 1, 1) in days
        assert date(year, 4, 30) in days
        assert date(year, 5, 1) in days
        assert date(year, 9, 2) in days
        assert HUNG_KINGS[year] in days
        assert date(year, 9, 1) in days or date(year, 9, 3) in days


def test_statutory_tet_rule_for_unannounced_years() -> None:
    entries = shipped_data()["holidays"]
    for year in (2027, 2028, 2029, 2030):
        lny = LUNAR_NEW_YEAR[year]
        tet = {date.fromisoformat(e["date"]) for e in entries if e["name"].startswith("Tết Nguyên đán")}
        expected = {lny + timedelta(days=i) for i in range(-1, 4)}
        assert expected <= tet, year
        assert all(e.get("statutory") for e in entries if date.fromisoformat(e["date"]) in expected)


def test_listed_compensatory_days_follow_the_rule() -> None:
    entries = shipped_data()["holidays"]
    statutory = [date.fromisoformat(e["date"]) for e in entries if e.get("kind", "holiday") == "holiday"]
    listed = {
        date.fromisoformat(e["date"]): date.fromisoformat(e["compensates"])
        for e in entries
        if e.get("kind") == "compensatory"
    }
    assert compensatory_days(statutory) == listed
    assert date(2027, 2, 10) in listed and date(2030, 9, 3) in listed


def test_no_weekday_off_without_a_name(vn: WorkingCalendar, vn_saturdays: WorkingCalendar) -> None:
    d = date(2024, 1, 1)
    weekdays_off = 0
    while d.year <= 2030:
        for cal in (vn, vn_saturdays):
            if d.weekday() < 5 and not cal.is_working_day(d):
                assert cal.holiday_name(d), d
        if d.weekday() < 5 and not vn.is_working_day(d):
            weekdays_off += 1
        d += timedelta(days=1)
    # 7 years × 11 holidays, every one landing on a weekday or compensated, plus the 4 swapped days off.
    assert weekdays_off == 7 * 11 + 4


# --- loader validation --------------------------------------------------------------------------------------------


def test_load_minimal_dict() -> None:
    cal = load_calendar({"holidays": [{"date": "2026-03-03", "name": "Ngày thử"}]})
    assert not cal.is_working_day(date(2026, 3, 3))
    assert cal.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 4)
    assert cal.holiday_name(date(2026, 3, 3)) == "Ngày thử"
    assert cal.years is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "needs a 'holidays' list"),
        ({"holidays": [{"date": "2026-02-30", "name": "x"}]}, "not a valid date"),
        ({"holidays": [{"date": 20260217, "name": "x"}]}, "ISO string"),
        ({"holidays": [{"date": "2026-02-17"}]}, "non-empty 'name'"),
        ({"holidays": [{"date": "2026-02-17", "name": " "}]}, "non-empty 'name'"),
        ({"holidays": [{"date": "2026-02-17", "name": "a"}, {"date": "2026-02-17", "name": "b"}]}, "listed twice"),
        ({"holidays": [{"date": "2026-02-17", "name": "a", "kind": "party"}]}, "'kind'"),
        ({"holidays": [], "saturday_is_working": "no"}, "saturday_is_working"),
        ({"holidays": [], "years": [2030, 2024]}, "'years'"),
        (
            {
                "holidays": [{"date": "2026-02-17", "name": "a"}],
                "swaps": [{"day_off": "2026-02-17", "make_up_day": "2026-02-21", "name": "s"}],
            },
            "already a holiday",
        ),
        ({"holidays": [], "swaps": [{"day_off": "2026-02-16", "make_up_day": "2026-02-16", "name": "s"}]}, "both"),
    ],
)
def test_load_calendar_refuses_bad_data(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_calendar(data)


def test_compensatory_days_rule() -> None:
    # Sat + Sun holidays followed by a Monday holiday: the two compensatory days are Tue and Wed.
    sat, sun, mon = date(2028, 1, 29), date(2028, 1, 30), date(2028, 1, 31)
    assert compensatory_days([sat, sun, mon]) == {date(2028, 2, 1): sat, date(2028, 2, 2): sun}
    assert compensatory_days([sat, sun, mon], saturday_is_working=True) == {date(2028, 2, 1): sun}
    assert compensatory_days([date(2028, 2, 1)]) == {}
