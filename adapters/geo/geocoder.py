"""``Geocoder`` implementations (engineering.md §7).

- ``CentroidGeocoder``: the default. No network; every address gets its ward's centroid, flagged ``approximate``.
- ``GeopyGeocoder``: a self-hosted Nominatim (``/search``) or Photon (``/api``) through geopy, throttled by geopy's
  ``RateLimiter`` and cached in the database by a normalised query key. Whatever goes wrong (no result, a result
  coarser than a street, a result implausibly far from the ward, HTTP errors, timeouts, an unreachable server) the
  answer is the ward centroid, flagged ``approximate``; only precise answers are cached.

The rate limit is per ``GeopyGeocoder`` instance, i.e. per process: N gunicorn workers make up to N requests per
``min_delay_seconds``. Keep that in mind before pointing this at the public Nominatim (≤ 1 request/s per app).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Literal

from geopy.adapters import RequestsAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim, Photon

from postal_bridge.domain.geo import (
    GeocodeCache,
    GeoPoint,
    geocode_key,
    great_circle_km,
    ward_centroid,
)

log = logging.getLogger(__name__)

GeocoderKind = Literal["nominatim", "photon"]

# Public instances: their usage policies allow at most one request per second for the whole application.
PUBLIC_HOSTS = frozenset({"nominatim.openstreetmap.org", "photon.komoot.io"})
PUBLIC_MIN_DELAY_SECONDS = 1.0

# Nominatim place_rank: 26 = street, 30 = house/POI; below that the match is a neighbourhood, ward, city…
# which is no better than the ward centroid we already have.
MIN_NOMINATIM_PLACE_RANK = 26
COARSE_PHOTON_TYPES = frozenset({"locality", "district", "city", "county", "state", "country"})


class CentroidGeocoder:
    """Never touches the network: the ward centroid, flagged ``approximate``; ``NoLocation`` without one."""

    def locate(self, query: str, *, ward_lat: float | None, ward_lon: float | None) -> GeoPoint:
        return ward_centroid(ward_lat, ward_lon)


class GeopyGeocoder:
    def __init__(
        self,
        *,
        kind: GeocoderKind,
        domain: str,
        scheme: Literal["http", "https"],
        user_agent: str,
        cache: GeocodeCache,
        min_delay_seconds: float = 1.0,
        timeout: float = 5.0,
        country_codes: str = "vn",
        max_distance_km: float | None = 50.0,
    ) -> None:
        if kind not in ("nominatim", "photon"):
            raise ValueError(f"unknown geocoder {kind!r}: use 'nominatim' or 'photon'")
        if scheme not in ("http", "https"):
            raise ValueError(f"geocoder scheme must be 'http' or 'https', not {scheme!r}")
        if not user_agent.strip():
            raise ValueError("a geocoder needs a real User-Agent naming this application")
        if domain.partition("/")[0].partition(":")[0].lower() in PUBLIC_HOSTS:
            min_delay_seconds = max(min_delay_seconds, PUBLIC_MIN_DELAY_SECONDS)
        self.kind = kind
        self.cache = cache
        self.country_codes = country_codes
        self.max_distance_km = max_distance_km
        self.min_delay_seconds = min_delay_seconds
        engine_cls = Nominatim if kind == "nominatim" else Photon
        # No retries anywhere (geopy's requests adapter lets urllib3 retry twice by default, RateLimiter twice more):
        # a failure falls back to the centroid at once instead of holding a request for several timeouts.
        self._engine = engine_cls(
            domain=domain,
            scheme=scheme,
            user_agent=user_agent,
            timeout=timeout,
            adapter_factory=functools.partial(RequestsAdapter, max_retries=0),
        )
        self._geocode = RateLimiter(
            self._engine.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=0,
            error_wait_seconds=min_delay_seconds,
            swallow_exceptions=False,
        )

    def locate(self, query: str, *, ward_lat: float | None, ward_lon: float | None) -> GeoPoint:
        key = geocode_key(query)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            location = self._geocode(query, **self._params(ward_lat, ward_lon))
        except GeopyError as exc:
            # Not the message: it holds the request URL, i.e. the citizen's address.
            log.warning("geocoder %s failed (%s); using the ward centroid", self.kind, type(exc).__name__)
            return ward_centroid(ward_lat, ward_lon)
        if location is None:
            log.info("geocoder %s found nothing for query %s…; using the ward centroid", self.kind, key[:12])
            return ward_centroid(ward_lat, ward_lon)
        if self._coarse(location.raw):
            log.info("geocoder %s matched query %s… only coarsely; using the ward centroid", self.kind, key[:12])
            return ward_centroid(ward_lat, ward_lon)
        point = GeoPoint(lat=location.latitude, lon=location.longitude, approximate=False, source=self.kind)
        if self._too_far(point, ward_lat, ward_lon):
            log.warning("geocoder %s put query %s… too far from its ward; using the ward centroid", self.kind, key[:12])
            return ward_centroid(ward_lat, ward_lon)
        self.cache.put(key, query, point)
        return point

    def _params(self, ward_lat: float | None, ward_lon: float | None) -> dict[str, Any]:
        params: dict[str, Any] = {"exactly_one": True}
        if self.kind == "nominatim":
            if self.country_codes:
                params["country_codes"] = self.country_codes
        elif ward_lat is not None and ward_lon is not None:
            params["location_bias"] = (ward_lat, ward_lon)  # Photon has no country filter in geopy; bias instead
        return params

    def _coarse(self, raw: dict[str, Any]) -> bool:
        if self.kind == "nominatim":
            try:
                return int(raw.get("place_rank", 30)) < MIN_NOMINATIM_PLACE_RANK
            except (TypeError, ValueError):
                return False
        properties = raw.get("properties") or {}
        return properties.get("type") in COARSE_PHOTON_TYPES

    def _too_far(self, point: GeoPoint, ward_lat: float | None, ward_lon: float | None) -> bool:
        if self.max_distance_km is None or ward_lat is None or ward_lon is None:
            return False
        return great_circle_km(point.lat, point.lon, ward_lat, ward_lon) > self.max_distance_km
