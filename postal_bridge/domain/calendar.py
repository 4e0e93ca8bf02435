"""Working days for J + n transit times (TT17 Art 7; domain.md §2.8 and §8.5).

A day is a working day unless it is a Sunday, a Saturday (when Saturdays are not worked), a public holiday, a
compensatory day off or the day-off half of a government swap. The make-up half of a swap (a Saturday worked in
exchange) is a working day even when Saturdays are not. Which days are holidays is data
(``postal_bridge/data/holidays_vn.json``), never code: ``load_calendar`` reads any dict of that shape.

**J + n rule.** J is the day on the Phiếu gửi (the day the dossier is received from the citizen, or the result from the
agency); n counts **working days**. ``add_working_days(J, n)`` returns the n-th working day after J. When J itself is
not a working day (a Saturday pickup, a counter open on a holiday), J is moved to the next working day first and the
count runs from there, so J + 1 for a Saturday pickup is Tuesday, not Monday. Why: §2.8 counts n in working days and
gives the post one whole working day per step; a day on which the network does not work cannot be the day the clock
starts, in the same way that the one-stop rule moves a dossier received after hours to the next working morning
(NĐ 61 Art 18.2, §8.5). The alternative (Monday for a Saturday J + 1) would make the post's first step zero working
days long. The rule only ever gives the post more time, never less, and it is the one ``working_days_between`` inverts.

**Compensatory days (nghỉ bù).** When a public holiday falls on a weekly rest day the worker gets the next working day
off (Bộ luật Lao động 2019 Art 111.3; Art 112.3 lets the Prime Minister fix the actual Tết and Quốc khánh days each
year). The data file lists these days explicitly for a Monday–Friday week; ``compensatory_days`` recomputes them,
which ``load_calendar`` does when Saturdays are worked (then only Sunday is the weekly rest day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

SATURDAY = 5
SUNDAY = 6
ONE_DAY = timedelta(days=1)
MAX_WORKING_DAYS = 3660  # about ten years: a guard against runaway loops on absurd n


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days the post and the one-stop centres work.

    ``holidays`` are days off (public holidays, compensatory days, swapped days off). ``extra_working_days`` are
    weekend days worked by government swap (làm bù). ``names`` gives each listed day its Vietnamese name.
    ``years`` is the (first, last) calendar year the holiday data covers, if known; outside it only weekends count.
    """

    holidays: frozenset[date]
    saturday_is_working: bool = False
    extra_working_days: frozenset[date] = frozenset()
    names: Mapping[date, str] = field(default_factory=dict, compare=False, hash=False)
    years: tuple[int, int] | None = None

    def is_working_day(self, d: date) -> bool:
        if d in self.holidays:
            return False
        if d in self.extra_working_days:
            return True
        weekday = d.weekday()
        if weekday == SUNDAY:
            return False
        return not (weekday == SATURDAY and not self.saturday_is_working)

    def covers(self, d: date) -> bool:
        """Whether the holiday data covers ``d``'s year (outside it, holidays are unknown and only weekends count)."""
        return self.years is not None and self.years[0] <= d.year <= self.years[1]

    def holiday_name(self, d: date) -> str | None:
        return self.names.get(d)

    def next_working_day(self, d: date) -> date:
        """``d`` itself if it is a working day, else the first working day after it."""
        steps = 0
        while not self.is_working_day(d):
            d += ONE_DAY
            steps += 1
            if steps > MAX_WORKING_DAYS:
                raise ValueError("no working day found within ten years: the calendar data is wrong")
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """J + n: the n-th working day after J; a non-working J is first moved to the next working day.

        ``n == 0`` gives J itself when it is a working day (the same-day case, TT17 7.2.d), else the next working day.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"n must be a whole number of working days, not {n!r}")
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        if n > MAX_WORKING_DAYS:
            raise ValueError(f"n is too large ({n} working days)")
        d = self.next_working_day(start)
        for _ in range(n):
            d = self.next_working_day(d + ONE_DAY)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days d satisfy a < d <= b; negative when b is before a.

        For a working day J, ``working_days_between(J, add_working_days(J, n)) == n``. Use it for "how late is this"
        (a positive value on the day after the due date means that many working days late).
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a + ONE_DAY
        while d <= b:
            if self.is_working_day(d):
                count += 1
            d += ONE_DAY
        return count


def compensatory_days(holidays: Iterable[date], *, saturday_is_working: bool = False) -> dict[date, date]:
    """Labour Code 2019 Art 111.3: a holiday on a weekly rest day gives the next working day off.

    Returns {compensatory day: the holiday it makes up for}. Holidays are handled in date order and each takes the
    first day after it that is neither a weekly rest day, nor a holiday, nor already taken by an earlier one (so Tết
    on Saturday and Sunday gives the two first free weekdays after the whole break).
    """
    days = sorted(set(holidays))
    off = set(days)
    rest = {SUNDAY} if saturday_is_working else {SATURDAY, SUNDAY}
    result: dict[date, date] = {}
    for holiday in days:
        if holiday.weekday() not in rest:
            continue
        d = holiday + ONE_DAY
        while d.weekday() in rest or d in off or d in result:
            d += ONE_DAY
        result[d] = holiday
    return result


def _parse_date(value: Any, where: str) -> date:
    if not isinstance(value, str):
        raise ValueError(f"{where}: a date must be an ISO string YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not a valid date ({exc})") from None


def _name(entry: Mapping[str, Any], where: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: every day needs a non-empty 'name'")
    return name.strip()


def load_calendar(data: Mapping[str, Any], *, saturday_is_working: bool | None = None) -> WorkingCalendar:
    """Build a calendar from the ``holidays_vn.json`` shape.

    ``{"saturday_is_working": false, "apply_swaps": true, "years": [2024, 2030],
    "holidays": [{"date": "2026-02-17", "name": "...", "kind": "holiday"|"compensatory", "compensates": "..."}],
    "swaps": [{"day_off": "...", "make_up_day": "...", "name": "..."}]}``. Only ``holidays`` is required.

    Listed compensatory days assume a Monday–Friday week. When Saturdays are worked (from the data or the keyword,
    the keyword wins) they are dropped and recomputed with Sunday as the only weekly rest day.
    """
    if not isinstance(data, Mapping):
        raise ValueError("calendar data must be a JSON object")
    entries = data.get("holidays")
    if not isinstance(entries, list):
        raise ValueError("calendar data needs a 'holidays' list")
    if saturday_is_working is None:
        saturday_is_working = data.get("saturday_is_working", False)
    if not isinstance(saturday_is_working, bool):
        raise ValueError("'saturday_is_working' must be true or false")

    names: dict[date, str] = {}
    statutory: set[date] = set()
    listed_compensatory: dict[date, str] = {}
    for i, entry in enumerate(entries):
        where = f"holidays[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: must be an object with 'date' and 'name'")
        d = _parse_date(entry.get("date"), where)
        name = _name(entry, where)
        kind = entry.get("kind", "holiday")
        if kind not in {"holiday", "compensatory"}:
            raise ValueError(f"{where}: 'kind' must be 'holiday' or 'compensatory', got {kind!r}")
        if d in names or d in listed_compensatory:
            raise ValueError(f"{where}: {d.isoformat()} is listed twice")
        if kind == "compensatory":
            listed_compensatory[d] = name
        else:
            statutory.add(d)
            names[d] = name

    if saturday_is_working:
        for comp, holiday in compensatory_days(statutory, saturday_is_working=True).items():
            names[comp] = f"Nghỉ bù {names[holiday]} ({holiday.strftime('%d/%m/%Y')})"
    else:
        names.update(listed_compensatory)

    extra_working: set[date] = set()
    swaps = data.get("swaps", [])
    if not isinstance(swaps, list):
        raise ValueError("'swaps' must be a list")
    if data.get("apply_swaps", True):
        for i, swap in enumerate(swaps):
            where = f"swaps[{i}]"
            if not isinstance(swap, Mapping):
                raise ValueError(f"{where}: must be an object with 'day_off', 'make_up_day' and 'name'")
            off = _parse_date(swap.get("day_off"), f"{where}.day_off")
            make_up = _parse_date(swap.get("make_up_day"), f"{where}.make_up_day")
            name = _name(swap, where)
            if off in names:
                raise ValueError(f"{where}: {off.isoformat()} is already a holiday")
            names[off] = name
            extra_working.add(make_up)

    years = data.get("years")
    span: tuple[int, int] | None = None
    if years is not None:
        if not (
            isinstance(years, list | tuple)
            and len(years) == 2
            and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
            and years[0] <= years[1]
        ):
            raise ValueError("'years' must be [first_year, last_year]")
        span = (years[0], years[1])

    clash = extra_working & set(names)
    if clash:
        raise ValueError(f"{min(clash).isoformat()} is both a day off and a make-up working day")
    return WorkingCalendar(
        holidays=frozenset(names),
        saturday_is_working=saturday_is_working,
        extra_working_days=frozenset(extra_working),
        names=dict(sorted(names.items())),
        years=span,
    )
