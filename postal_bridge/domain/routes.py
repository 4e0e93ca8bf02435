"""Route classes and J + n due dates (TT17 Art 7; domain.md §2.8 and §8.5).

TT17's table is written for the three-tier map (same district / same province / between provinces). The district tier
is gone since 1/7/2025 (domain.md §6), so the classes below are a **configurable proposal** [I], read from
``postal_bridge/data/routes_vn.json`` and never hard-coded in callers:

| class | rule | J + n | with appointment slip |
|---|---|---|---|
| ``same_ward`` | both ends in one ward / commune / special zone | 1 | 2 |
| ``same_province`` | one province, different wards | 2 | 4 |
| ``inter_province_special`` | both provinces in ``special_provinces`` | 3 | 6 |
| ``inter_province_other`` | any other pair of provinces | 4 | 8 |
| ``remote`` | either end in ``remote_wards`` (special geography, set by VNPost) | 5 | 10 |

Precedence: same ward first (a trip inside an island commune is local), then remote, then the province rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from postal_bridge.domain.calendar import WorkingCalendar

WARD_CODE = re.compile(r"^\d{5}$")
PROVINCE_CODE = re.compile(r"^\d{2}$")


def _check_code(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        digits = 5 if pattern is WARD_CODE else 2
        raise ValueError(f"{what} code must be {digits} digits (NSO 2025), got {value!r}")
    return value


class RouteClass(StrEnum):
    SAME_WARD = "same_ward"
    SAME_PROVINCE = "same_province"
    INTER_PROVINCE_SPECIAL = "inter_province_special"  # both ends in special-class or class-I cities
    INTER_PROVINCE_OTHER = "inter_province_other"
    REMOTE = "remote"


@dataclass(frozen=True)
class RouteConfig:
    special_provinces: frozenset[str]
    remote_wards: frozenset[str]
    days: Mapping[RouteClass, int]
    slip_days: Mapping[RouteClass, int]

    def __post_init__(self) -> None:
        for label, table in (("days", self.days), ("slip_days", self.slip_days)):
            missing = [c.value for c in RouteClass if c not in table]
            if missing:
                raise ValueError(f"route {label} has no value for {', '.join(missing)}")
            for route, n in table.items():
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise ValueError(f"route {label}[{route}] must be a whole number of working days >= 0, not {n!r}")
        for code in self.special_provinces:
            _check_code(code, PROVINCE_CODE, "special province")
        for code in self.remote_wards:
            _check_code(code, WARD_CODE, "remote ward")


# The six centrally-run cities after 1/7/2025: Hà Nội and TP Hồ Chí Minh are special-class cities; Hải Phòng,
# Đà Nẵng, Cần Thơ and Huế are class-I cities. Provincial cities (class I under a province, e.g. the former Vinh or
# Nha Trang) no longer exist as address units, so the province is the finest unit we can test.
SPECIAL_PROVINCES_2025 = frozenset({"01", "79", "31", "48", "92", "46"})

# The 13 đặc khu (island special zones) of 2025, from admin_units_2025.csv: a stand-in for VNPost's published list
# of areas with special geography.
DAC_KHU_2025 = frozenset(
    {
        "06994",  # Vân Đồn (22)
        "07192",  # Cô Tô (22)
        "11914",  # Cát Hải (31)
        "11948",  # Bạch Long Vĩ (31)
        "19742",  # Cồn Cỏ (44)
        "20333",  # Hoàng Sa (48)
        "21548",  # Lý Sơn (51)
        "22736",  # Trường Sa (56)
        "23272",  # Phú Quý (68)
        "26732",  # Côn Đảo (79)
        "31078",  # Phú Quốc (91)
        "31105",  # Thổ Châu (91)
        "31108",  # Kiên Hải (91)
    }
)

DEFAULT_ROUTES = RouteConfig(
    special_provinces=SPECIAL_PROVINCES_2025,
    remote_wards=DAC_KHU_2025,
    days={
        RouteClass.SAME_WARD: 1,
        RouteClass.SAME_PROVINCE: 2,
        RouteClass.INTER_PROVINCE_SPECIAL: 3,
        RouteClass.INTER_PROVINCE_OTHER: 4,
        RouteClass.REMOTE: 5,
    },
    slip_days={
        RouteClass.SAME_WARD: 2,
        RouteClass.SAME_PROVINCE: 4,
        RouteClass.INTER_PROVINCE_SPECIAL: 6,
        RouteClass.INTER_PROVINCE_OTHER: 8,
        RouteClass.REMOTE: 10,
    },
)


def classify(
    origin_ward: str, origin_province: str, dest_ward: str, dest_province: str, config: RouteConfig = DEFAULT_ROUTES
) -> RouteClass:
    """The route class between two addresses given as NSO 2025 ward and province codes."""
    _check_code(origin_ward, WARD_CODE, "origin ward")
    _check_code(dest_ward, WARD_CODE, "destination ward")
    _check_code(origin_province, PROVINCE_CODE, "origin province")
    _check_code(dest_province, PROVINCE_CODE, "destination province")
    if origin_ward == dest_ward:
        if origin_province != dest_province:
            raise ValueError(
                f"ward {origin_ward} cannot be in both province {origin_province} and province {dest_province}"
            )
        return RouteClass.SAME_WARD
    if origin_ward in config.remote_wards or dest_ward in config.remote_wards:
        return RouteClass.REMOTE
    if origin_province == dest_province:
        return RouteClass.SAME_PROVINCE
    if origin_province in config.special_provinces and dest_province in config.special_provinces:
        return RouteClass.INTER_PROVINCE_SPECIAL
    return RouteClass.INTER_PROVINCE_OTHER


def transit_days(route: RouteClass | str, config: RouteConfig = DEFAULT_ROUTES, with_slip: bool = False) -> int:
    """n in J + n for a route (the appointment-slip column when ``with_slip``)."""
    route = _route(route)
    return (config.slip_days if with_slip else config.days)[route]


def due_date(
    j: date,
    route: RouteClass | str,
    calendar: WorkingCalendar,
    config: RouteConfig = DEFAULT_ROUTES,
    with_slip: bool = False,
) -> date:
    """The last allowed day, J + n working days (see ``WorkingCalendar.add_working_days`` for a non-working J)."""
    return calendar.add_working_days(j, transit_days(route, config, with_slip))


def _route(value: RouteClass | str) -> RouteClass:
    try:
        return RouteClass(value)
    except ValueError:
        known = ", ".join(c.value for c in RouteClass)
        raise ValueError(f"unknown route class {value!r}; known: {known}") from None


def _day_table(data: Any, label: str) -> dict[RouteClass, int]:
    if not isinstance(data, Mapping):
        raise ValueError(f"routes '{label}' must be an object mapping route class to working days")
    table: dict[RouteClass, int] = {}
    for key, n in data.items():
        table[_route(key)] = n
    return table


def _code_set(data: Any, label: str) -> frozenset[str]:
    if not isinstance(data, list):
        raise ValueError(f"routes '{label}' must be a list of codes")
    return frozenset(data)


def load_routes(data: Mapping[str, Any]) -> RouteConfig:
    """Build a ``RouteConfig`` from the ``routes_vn.json`` shape; every key except ``_note`` is required."""
    if not isinstance(data, Mapping):
        raise ValueError("route data must be a JSON object")
    for key in ("special_provinces", "remote_wards", "days", "slip_days"):
        if key not in data:
            raise ValueError(f"route data needs '{key}'")
    return RouteConfig(
        special_provinces=_code_set(data["special_provinces"], "special_provinces"),
        remote_wards=_code_set(data["remote_wards"], "remote_wards"),
        days=_day_table(data["days"], "days"),
        slip_days=_day_table(data["slip_days"], "slip_days"),
    )
