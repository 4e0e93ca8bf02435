"""Route classes from real 2025 ward/province codes, and J + n due dates per class."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from importlib import resources

import pytest

from postal_bridge.domain.calendar import WorkingCalendar, load_calendar
from postal_bridge.domain.routes import (
    DAC_KHU_2025,
    DEFAULT_ROUTES,
    RouteClass,
    RouteConfig,
    classify,
    due_date,
    load_routes,
    transit_days,
)

# Real NSO 2025 codes (checked against admin_units_2025.csv below).
BA_DINH = ("00004", "01")  # Phường Ba Đình, Hà Nội
NGOC_HA = ("00008", "01")  # Phường Ngọc Hà, Hà Nội
THU_DAU_MOT = ("25747", "79")  # Phường Thủ Dầu Một, TP Hồ Chí Minh
CON_DAO = ("26732", "79")  # Đặc khu Côn Đảo, TP Hồ Chí Minh
HA_GIANG_2 = ("00691", "08")  # Phường Hà Giang 2, Tuyên Quang
PHU_XUAN = ("19753", "46")  # Phường Phú Xuân, Huế
CAI_KHE = ("31120", "92")  # Phường Cái Khế, Cần Thơ
LY_SON = ("21548", "51")  # Đặc khu Lý Sơn, Quảng Ngãi


def read_data(name: str) -> str:
    return resources.files("postal_bridge.data").joinpath(name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def units() -> dict[str, tuple[str, str]]:
    rows = csv.DictReader(io.StringIO(read_data("admin_units_2025.csv")))
    return {r["ward_code"]: (r["province_code"], r["ward_type"]) for r in rows}


@pytest.fixture(scope="module")
def vn() -> WorkingCalendar:
    return load_calendar(json.loads(read_data("holidays_vn.json")))


def test_codes_used_here_are_real(units: dict[str, tuple[str, str]]) -> None:
    for ward, province in (BA_DINH, NGOC_HA, THU_DAU_MOT, CON_DAO, HA_GIANG_2, PHU_XUAN, CAI_KHE, LY_SON):
        assert units[ward][0] == province, ward
    provinces = {p for p, _ in units.values()}
    assert DEFAULT_ROUTES.special_provinces <= provinces
    assert {w for w, (_, kind) in units.items() if kind == "dac_khu"} == DAC_KHU_2025 == DEFAULT_ROUTES.remote_wards


@pytest.mark.parametrize(
    ("origin", "dest", "expected"),
    [
        (BA_DINH, BA_DINH, RouteClass.SAME_WARD),
        (BA_DINH, NGOC_HA, RouteClass.SAME_PROVINCE),
        (NGOC_HA, BA_DINH, RouteClass.SAME_PROVINCE),
        (BA_DINH, THU_DAU_MOT, RouteClass.INTER_PROVINCE_SPECIAL),
        (PHU_XUAN, CAI_KHE, RouteClass.INTER_PROVINCE_SPECIAL),
        (BA_DINH, HA_GIANG_2, RouteClass.INTER_PROVINCE_OTHER),
        (HA_GIANG_2, THU_DAU_MOT, RouteClass.INTER_PROVINCE_OTHER),
        (BA_DINH, CON_DAO, RouteClass.REMOTE),
        (THU_DAU_MOT, CON_DAO, RouteClass.REMOTE),  # same province, but an island
        (LY_SON, BA_DINH, RouteClass.REMOTE),
        (CON_DAO, CON_DAO, RouteClass.SAME_WARD),  # inside the island itself: local
    ],
)
def test_classify_default(origin: tuple[str, str], dest: tuple[str, str], expected: RouteClass) -> None:
    assert classify(origin[0], origin[1], dest[0], dest[1], DEFAULT_ROUTES) is expected


def test_classify_with_a_custom_config() -> None:
    config = load_routes(
        {
            "special_provinces": ["01", "08"],
            "remote_wards": [HA_GIANG_2[0]],
            "days": {c.value: 1 for c in RouteClass},
            "slip_days": {c.value: 2 for c in RouteClass},
        }
    )
    assert classify(*BA_DINH, *HA_GIANG_2, config) is RouteClass.REMOTE
    assert classify(*BA_DINH, *CON_DAO, config) is RouteClass.INTER_PROVINCE_OTHER  # 79 no longer special
    assert classify(*THU_DAU_MOT, *CON_DAO, config) is RouteClass.SAME_PROVINCE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("4", "01", "00008", "01"), "origin ward code must be 5 digits"),
        (("00004", "1", "00008", "01"), "origin province code must be 2 digits"),
        (("00004", "01", "", "01"), "destination ward"),
        (("00004", "01", "00008", None), "destination province"),
        (("00004", "01", "00004", "79"), "cannot be in both province"),
    ],
)
def test_classify_refuses_bad_codes(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classify(*args, DEFAULT_ROUTES)


def test_transit_days_table() -> None:
    assert [transit_days(c) for c in RouteClass] == [1, 2, 3, 4, 5]
    assert [transit_days(c, with_slip=True) for c in RouteClass] == [2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match="unknown route class 'district'"):
        transit_days("district")


@pytest.mark.parametrize(
    ("route", "plain", "slip"),
    [
        # J = Friday 13/2/2026, the last working day before Tết Bính Ngọ (break 14–22/2).
        (RouteClass.SAME_WARD, date(2026, 2, 23), date(2026, 2, 24)),
        (RouteClass.SAME_PROVINCE, date(2026, 2, 24), date(2026, 2, 26)),
        (RouteClass.INTER_PROVINCE_SPECIAL, date(2026, 2, 25), date(2026, 3, 2)),
        (RouteClass.INTER_PROVINCE_OTHER, date(2026, 2, 26), date(2026, 3, 4)),
        (RouteClass.REMOTE, date(2026, 2, 27), date(2026, 3, 6)),
    ],
)
def test_due_dates_from_friday_before_tet(vn: WorkingCalendar, route: RouteClass, plain: date, slip: date) -> None:
    friday = date(2026, 2, 13)
    assert due_date(friday, route, vn, DEFAULT_ROUTES) == plain
    assert due_date(friday, route, vn, DEFAULT_ROUTES, with_slip=True) == slip
    assert due_date(friday, route.value, vn) == plain  # plain strings work too


def test_due_date_end_to_end(vn: WorkingCalendar) -> None:
    route = classify(*BA_DINH, *HA_GIANG_2, DEFAULT_ROUTES)
    # Thursday 4/2/2027, before Tết Đinh Mùi (off 5–11/2 with the compensatory days): J+4 → Wed 17/2.
    assert due_date(date(2027, 2, 4), route, vn) == date(2027, 2, 17)


def test_shipped_routes_round_trip() -> None:
    data = json.loads(read_data("routes_vn.json"))
    assert "proposal" in data["_note"].lower()
    config = load_routes(data)
    assert config == DEFAULT_ROUTES
    assert config.days[RouteClass.REMOTE] == 5


def _valid() -> dict:
    return {
        "special_provinces": ["01"],
        "remote_wards": [],
        "days": {c.value: 1 for c in RouteClass},
        "slip_days": {c.value: 2 for c in RouteClass},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("days"), "needs 'days'"),
        (lambda d: d["days"].pop("remote"), "days has no value for remote"),
        (lambda d: d["days"].update(district=1), "unknown route class 'district'"),
        (lambda d: d["slip_days"].update(remote=-1), r"slip_days\[remote\] must be"),
        (lambda d: d["days"].update(same_ward=1.5), r"days\[same_ward\] must be"),
        (lambda d: d.update(special_provinces=["1"]), "special province code"),
        (lambda d: d.update(remote_wards=["123"]), "remote ward code"),
        (lambda d: d.update(remote_wards="00004"), "must be a list"),
    ],
)
def test_load_routes_refuses_bad_data(change, message: str) -> None:
    data = _valid()
    change(data)
    with pytest.raises(ValueError, match=message):
        load_routes(data)


def test_route_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_ROUTES.special_provinces = frozenset()  # type: ignore[misc]
    assert isinstance(DEFAULT_ROUTES, RouteConfig)
