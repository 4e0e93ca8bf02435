"""``GeocodeCache`` over the ``geocode_cache`` table: one row per normalised query (``domain.geo.geocode_key``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from postal_bridge.domain.geo import GeoPoint
from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import reading

QUERY_MAX = 500  # geocode_cache.query is String(500); the key covers the full query anyway


class SqlGeocodeCache:
    """Geocoder answers shared by every process. Only precise points are stored: ``approximate`` ones (ward
    centroids) are recomputed for free, and caching them would hide a later successful lookup."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._now = now or (lambda: datetime.now(UTC))

    def get(self, key: str) -> GeoPoint | None:
        c = t.geocode_cache.c
        with reading(self.engine) as conn:
            row = conn.execute(select(c.lat, c.lon, c.source).where(c.query_key == key)).first()
        if row is None or row.lat is None or row.lon is None:
            return None
        return GeoPoint(lat=row.lat, lon=row.lon, approximate=False, source=row.source)

    def put(self, key: str, query: str, point: GeoPoint) -> None:
        if point.approximate:
            return
        table = t.geocode_cache
        values = {
            "query_key": key,
            "query": query[:QUERY_MAX],
            "lat": point.lat,
            "lon": point.lon,
            "source": point.source[:32],
            "created_at": self._now(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(table).where(table.c.query_key == key))
                conn.execute(insert(table).values(**values))
        except IntegrityError:
            pass  # another process stored the same query meanwhile; its answer is as good as ours
