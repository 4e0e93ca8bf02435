"""Post offices: the serving office of a ward (service area first, else nearest in the province) and the CSV."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from postal_bridge.domain.post_offices import CsvRowError, PostOffice, _km, nearest_office, parse_post_offices_csv
from postal_bridge.storage.post_offices import load_csv

HEADER = "code,name,address_line,ward_code,province_code,lat,lon,phone,service_wards"
GOOD = "HN1,Bưu cục Ba Đình,Số 2 Đội Cấn,00004,01,21.037,105.836,02438251234,00004;00008"


def office(code: str, province: str, lat: float, lon: float, wards: tuple[str, ...] = ()) -> PostOffice:
    return PostOffice(code, f"Bưu cục {code}", "Số 1", "00004", province, lat, lon, "", frozenset(wards))


# Ba Đình point; a Hà Nội office 10 km away, and a Tuyên Quang one far closer to the point than any Hà Nội office
# (absurd geography on purpose: the province, not the distance, must decide).
POINT = (21.0386, 105.838)
HN_FAR = office("HN-FAR", "01", 21.12, 105.87)
HN_NEAR = office("HN-NEAR", "01", 21.06, 105.84)
TQ_NEXT_DOOR = office("TQ-NEXT", "08", 21.0387, 105.8381)


def test_haversine_matches_a_known_distance() -> None:
    # Đống Đa (00235) → Láng (00199) ward points: 1.951 km by geopy's great_circle (engineering.md §7).
    assert _km(21.0119, 105.822, 21.0211, 105.806) == pytest.approx(1.951, abs=0.0006)
    assert _km(21.0, 105.8, 21.0, 105.8) == 0.0
    one_degree_lat = _km(0.0, 105.0, 1.0, 105.0)
    assert one_degree_lat == pytest.approx(6371.0088 * 3.141592653589793 / 180, rel=1e-9)


def test_nearest_is_chosen_within_the_province_only() -> None:
    offices = [HN_FAR, TQ_NEXT_DOOR, HN_NEAR]
    assert nearest_office(offices, lat=POINT[0], lon=POINT[1], province_code="01") == HN_NEAR
    assert nearest_office(offices, lat=POINT[0], lon=POINT[1], province_code="08") == TQ_NEXT_DOOR
    assert nearest_office(offices, lat=POINT[0], lon=POINT[1], province_code="31") is None


def test_service_area_wins_over_distance() -> None:
    serving_far = office("HN-SERVES", "01", 21.20, 105.90, wards=("00004",))
    offices = [HN_NEAR, serving_far]
    assert nearest_office(offices, lat=POINT[0], lon=POINT[1], province_code="01", ward_code="00004") == serving_far
    assert nearest_office(offices, lat=POINT[0], lon=POINT[1], province_code="01", ward_code="00008") == HN_NEAR
    assert nearest_office(offices, lat=None, lon=None, province_code="01", ward_code="00004") == serving_far


def test_service_area_of_another_province_does_not_count() -> None:
    wrong = office("TQ-LISTS", "08", 21.0387, 105.8381, wards=("00004",))
    assert nearest_office([wrong, HN_FAR], lat=POINT[0], lon=POINT[1], province_code="01", ward_code="00004") == HN_FAR


def test_among_several_serving_offices_the_nearest_then_the_code_wins() -> None:
    a = office("A", "01", 21.0, 105.8, wards=("00004",))
    b = office("B", "01", 21.0, 105.8, wards=("00004",))
    c = office("C", "01", 21.038, 105.838, wards=("00004",))
    assert nearest_office([b, a, c], lat=POINT[0], lon=POINT[1], province_code="01", ward_code="00004") == c
    assert nearest_office([b, a], lat=POINT[0], lon=POINT[1], province_code="01", ward_code="00004") == a


def test_unknown_point_and_no_service_area_gives_none() -> None:
    assert nearest_office([HN_NEAR], lat=None, lon=None, province_code="01", ward_code="00008") is None


def test_good_csv_with_comments_blank_lines_and_bom() -> None:
    text = "\ufeff# demo data\n" + HEADER + "\n\n  # another comment\n" + GOOD + "\n"
    [o] = parse_post_offices_csv(text)
    assert o == PostOffice(
        code="HN1",
        name="Bưu cục Ba Đình",
        address_line="Số 2 Đội Cấn",
        ward_code="00004",
        province_code="01",
        lat=21.037,
        lon=105.836,
        phone="+842438251234",
        service_wards=frozenset({"00004", "00008"}),
    )


def test_phone_and_service_wards_columns_are_optional() -> None:
    [o] = parse_post_offices_csv(
        "code,name,address_line,ward_code,province_code,lat,lon\nX,Bưu cục X,Số 1,00004,01,21,105.8\n"
    )
    assert o.phone == "" and o.service_wards == frozenset()


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("H N1,Bưu cục,Số 2,00004,01,21.037,105.836,,", "code"),
        ("HN1,,Số 2,00004,01,21.037,105.836,,", "name"),
        ("HN1,Bưu cục,,00004,01,21.037,105.836,,", "address_line"),
        ("HN1,Bưu cục,Số 2,4,01,21.037,105.836,,", "ward_code"),
        ("HN1,Bưu cục,Số 2,00004,1,21.037,105.836,,", "province_code"),
        ("HN1,Bưu cục,Số 2,00004,01,48.85,105.836,,", "lat"),
        ("HN1,Bưu cục,Số 2,00004,01,abc,105.836,,", "lat"),
        ("HN1,Bưu cục,Số 2,00004,01,nan,105.836,,", "lat"),
        ("HN1,Bưu cục,Số 2,00004,01,21.037,2.35,,", "lon"),
        ("HN1,Bưu cục,Số 2,00004,01,21.037,105.836,12345,", "phone"),
        ("HN1,Bưu cục,Số 2,00004,01,21.037,105.836,,00004;12", "service_wards"),
        ("HN1,Bưu cục,Số 2,00004,01,21.037", "lon"),
        ("HN1,Bưu cục,Số 2,00004,01,21.037,105.836,,,extra", "service_wards"),
    ],
)
def test_bad_value_names_line_and_column(row: str, column: str) -> None:
    text = "# comment\n" + HEADER + "\n" + GOOD + "\n\n" + row + "\n"
    with pytest.raises(ValueError, match=rf"^line 5, column {column}: ") as info:
        load_csv(text)
    assert isinstance(info.value, CsvRowError)
    assert (info.value.line, info.value.column) == (5, column)


def test_duplicate_code_names_both_lines() -> None:
    with pytest.raises(CsvRowError, match=r"line 3, column code: HN1 already appears on line 2"):
        parse_post_offices_csv(HEADER + "\n" + GOOD + "\n" + GOOD + "\n")


def test_header_problems_are_named() -> None:
    with pytest.raises(CsvRowError, match=r"line 2, column lon: column missing"):
        parse_post_offices_csv("# x\ncode,name,address_line,ward_code,province_code,lat\n")
    with pytest.raises(CsvRowError, match=r"line 1, column latitude: unknown column"):
        parse_post_offices_csv("code,name,address_line,ward_code,province_code,latitude,lon\n")
    with pytest.raises(CsvRowError, match=r"empty"):
        parse_post_offices_csv("# only a comment\n")


def test_demo_csv_loads_with_real_2025_wards_near_their_points() -> None:
    data = resources.files("postal_bridge.data")
    offices = load_csv(data.joinpath("post_offices_demo.csv").read_text(encoding="utf-8"))
    assert 8 <= len(offices) <= 12
    assert {o.province_code for o in offices} == {"01", "08"}
    assert all("demo" in o.name for o in offices)
    wards = {
        r["ward_code"]: r for r in csv.DictReader(data.joinpath("admin_units_2025.csv").read_text("utf-8").splitlines())
    }
    for o in offices:
        ward = wards[o.ward_code]
        assert ward["province_code"] == o.province_code
        assert _km(o.lat, o.lon, float(ward["lat"]), float(ward["lon"])) < 5, o.code
        for code in o.service_wards:
            assert wards[code]["province_code"] == o.province_code
