"""Points, great-circle distance and the geocoding ports (engineering.md §7). Pure stdlib.

Geocoding is optional: with no geocoder configured every address gets its ward's centroid, flagged ``approximate``.
A configured geocoder is a *self-hosted* Nominatim or Photon (the public Nominatim allows ≤ 1 request/s, no bulk
jobs, and requires caching and "© OpenStreetMap contributors" attribution).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass
from typing import Protocol

EARTH_MEAN_RADIUS_KM = 6371.0088  # IUGG mean radius R1
WARD_CENTROID = "ward_centroid"


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float
    approximate: bool  # True: a ward centroid or a coarse match, not the address itself
    source: str  # "nominatim", "photon", "ward_centroid"


class NoLocation(LookupError):
    """Neither the geocoder nor a ward centroid gave a point."""


def great_circle_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Haversine distance on a sphere of the mean Earth radius; within 0.5 % of the ellipsoid, fine for sorting."""
    phi1, phi2 = math.radians(a_lat), math.radians(b_lat)
    d_phi = phi2 - phi1
    d_lambda = math.radians(b_lon - a_lon)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def normalise_query(query: str) -> str:
    """NFC, case-folded, whitespace collapsed: ``"  Số 1  Láng HẠ"`` and ``"số 1 láng hạ"`` are one query."""
    # NFC again after casefold: folding can leave a composed character decomposed ("ẞ", some Greek).
    return " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFC", query).casefold()).split())


def geocode_key(query: str) -> str:
    """The cache key of a query: sha256 hex (64 characters) of its normalised form."""
    return hashlib.sha256(normalise_query(query).encode("utf-8")).hexdigest()


def ward_centroid(ward_lat: float | None, ward_lon: float | None) -> GeoPoint:
    if ward_lat is None or ward_lon is None:
        raise NoLocation("no geocoder result and no ward centroid to fall back to")
    return GeoPoint(lat=ward_lat, lon=ward_lon, approximate=True, source=WARD_CENTROID)


class Geocoder(Protocol):
    def locate(self, query: str, *, ward_lat: float | None, ward_lon: float | None) -> GeoPoint:
        """The address's point, else the ward centroid (``approximate``); ``NoLocation`` when there is neither."""
        ...


class GeocodeCache(Protocol):
    def get(self, key: str) -> GeoPoint | None: ...

    def put(self, key: str, query: str, point: GeoPoint) -> None: ...
