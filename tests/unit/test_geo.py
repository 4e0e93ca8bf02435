"""Great-circle distance, the geocode cache key and the offline centroid geocoder (engineering.md §7)."""

from __future__ import annotations

import hashlib
import math

import pytest
from geopy.distance import geodesic

from adapters.geo import CentroidGeocoder
from postal_bridge.domain.geo import (
    EARTH_MEAN_RADIUS_KM,
    Geocoder,
    GeoPoint,
    NoLocation,
    geocode_key,
    great_circle_km,
    normalise_query,
)

# Ward centroids from postal_bridge/data/admin_units_2025.csv
DONG_DA = (21.0119, 105.822)  # 00235 Phường Đống Đa, Hà Nội
LANG = (21.0211, 105.806)  # 00199 Phường Láng, Hà Nội
HOAN_KIEM = (21.032, 105.85)  # 00070 Phường Hoàn Kiếm, Hà Nội
SAI_GON = (10.7805, 106.704)  # 26740 Phường Sài Gòn, TP HCM


def test_dong_da_to_lang() -> None:
    # engineering.md §7: 1.950 km (geodesic) vs 1.951 km (great circle) between these centroids.
    assert great_circle_km(*DONG_DA, *LANG) == pytest.approx(1.95, abs=0.005)


def test_ha_noi_to_ho_chi_minh_city() -> None:
    assert great_circle_km(*HOAN_KIEM, *SAI_GON) == pytest.approx(1140, abs=15)


@pytest.mark.parametrize(("a", "b"), [(DONG_DA, LANG), (HOAN_KIEM, SAI_GON), ((8.6, 104.7), (23.4, 105.3))])
def test_close_to_the_ellipsoid(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert great_circle_km(*a, *b) == pytest.approx(geodesic(a, b).km, rel=0.005)


def test_symmetric_and_zero() -> None:
    assert great_circle_km(*DONG_DA, *DONG_DA) == 0.0
    assert great_circle_km(*DONG_DA, *SAI_GON) == pytest.approx(great_circle_km(*SAI_GON, *DONG_DA))


def test_uses_the_mean_earth_radius() -> None:
    assert EARTH_MEAN_RADIUS_KM == 6371.0088
    # A quarter meridian: pole to equator is R·π/2.
    assert great_circle_km(0, 0, 90, 0) == pytest.approx(EARTH_MEAN_RADIUS_KM * math.pi / 2, rel=1e-12)
    # Antipodes stay finite (rounding must not push asin's argument past 1).
    assert great_circle_km(10, 20, -10, -160) == pytest.approx(EARTH_MEAN_RADIUS_KM * math.pi, rel=1e-6)


def test_cache_key_normalises_case_unicode_and_spaces() -> None:
    composed = "Số 1 Láng Hạ, Phường Láng, Hà Nội"
    decomposed = "So\u0302\u0301 1 La\u0301ng Ha\u0323,  PHƯỜNG  Láng, Hà Nội "
    assert normalise_query(composed) == "số 1 láng hạ, phường láng, hà nội"
    assert geocode_key(decomposed) == geocode_key(composed)
    assert geocode_key(composed) == hashlib.sha256("số 1 láng hạ, phường láng, hà nội".encode()).hexdigest()
    assert len(geocode_key(composed)) == 64
    assert geocode_key("Số 2 Láng Hạ, Phường Láng, Hà Nội") != geocode_key(composed)


def test_centroid_geocoder_returns_the_ward_centroid() -> None:
    geocoder: Geocoder = CentroidGeocoder()
    point = geocoder.locate("Số 1 Láng Hạ", ward_lat=LANG[0], ward_lon=LANG[1])
    assert point == GeoPoint(lat=LANG[0], lon=LANG[1], approximate=True, source="ward_centroid")


def test_centroid_geocoder_without_a_centroid() -> None:
    with pytest.raises(NoLocation):
        CentroidGeocoder().locate("Số 1 Láng Hạ", ward_lat=None, ward_lon=None)
