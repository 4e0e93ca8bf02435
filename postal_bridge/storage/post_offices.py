"""The post-office registry over ``post_offices`` and ``post_office_wards``, and its CSV loader.

``SqlPostOfficeRepository`` takes a connection (inside someone's transaction) or an engine (each call its own short
transaction, so it can live in ``Deps`` for the whole process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, select, update

from postal_bridge.domain.post_offices import PostOffice, parse_post_offices_csv
from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import reading

_P = t.post_offices
_W = t.post_office_wards
T = TypeVar("T")


def load_csv(text: str) -> list[PostOffice]:
    """Parse and validate a registry CSV; a bad row raises ``ValueError`` naming its line and column."""
    return parse_post_offices_csv(text)


class SqlPostOfficeRepository:
    def __init__(self, bind: Connection | Engine) -> None:
        self.bind = bind

    def _run(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        if isinstance(self.bind, Engine):
            if write:
                with self.bind.begin() as conn:
                    return work(conn)
            with reading(self.bind) as conn:  # reads never wait behind an open write transaction
                return work(conn)
        return work(self.bind)

    def upsert(self, office: PostOffice) -> None:
        """Insert or replace the office and its whole service area."""

        def work(conn: Connection) -> None:
            values = {
                "name": office.name,
                "address_line": office.address_line,
                "ward_code": office.ward_code,
                "province_code": office.province_code,
                "lat": office.lat,
                "lon": office.lon,
                "phone": office.phone,
            }
            res = conn.execute(update(_P).where(_P.c.code == office.code).values(**values))
            if res.rowcount == 0:
                conn.execute(insert(_P).values(code=office.code, **values))
            conn.execute(_W.delete().where(_W.c.post_office_code == office.code))
            if office.service_wards:
                conn.execute(
                    insert(_W),
                    [{"post_office_code": office.code, "ward_code": w} for w in sorted(office.service_wards)],
                )

        self._run(work, write=True)

    def get(self, code: str) -> PostOffice | None:
        found = self._run(lambda conn: _offices(conn, select(_P).where(_P.c.code == code)))
        return found[0] if found else None

    def in_province(self, province_code: str) -> list[PostOffice]:
        return self._run(lambda conn: _offices(conn, select(_P).where(_P.c.province_code == province_code)))

    def for_ward(self, ward_code: str) -> list[PostOffice]:
        """Offices whose service area lists this ward."""
        serving = select(_W.c.post_office_code).where(_W.c.ward_code == ward_code)
        return self._run(lambda conn: _offices(conn, select(_P).where(_P.c.code.in_(serving))))

    def all(self) -> list[PostOffice]:
        return self._run(lambda conn: _offices(conn, select(_P)))

    def invalidate(self) -> None:
        """Nothing is cached here; ``CachedPostOfficeRegistry`` caches."""


class CachedPostOfficeRegistry:
    """The process-wide registry (``deps.post_offices``), read through a cache of ``ttl_seconds``.

    Every consignment created reads its province's offices (to pick the nearest) and the chosen office (for its
    JSON, label and texts): two queries and, in a province of hundreds of offices, thousands of service-area rows,
    for a registry that changes a few times a year. Writes through this object, and ``invalidate`` (called after an
    admin upload commits), clear it at once; a change made by another process is seen here within ``ttl_seconds``.
    """

    def __init__(
        self, inner: SqlPostOfficeRepository, *, ttl_seconds: float = 30.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.ttl_seconds = ttl_seconds
        self._now = now
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def _cached(self, key: tuple[str, str], load: Callable[[], T]) -> T:
        now = self._now()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl_seconds:
            return hit[1]
        value = load()
        self._entries[key] = (now, value)
        return value

    def get(self, code: str) -> PostOffice | None:
        return self._cached(("get", code), lambda: self.inner.get(code))

    def in_province(self, province_code: str) -> list[PostOffice]:
        return list(self._cached(("province", province_code), lambda: tuple(self.inner.in_province(province_code))))

    def for_ward(self, ward_code: str) -> list[PostOffice]:
        return list(self._cached(("ward", ward_code), lambda: tuple(self.inner.for_ward(ward_code))))

    def all(self) -> list[PostOffice]:
        return list(self._cached(("all", ""), lambda: tuple(self.inner.all())))

    def upsert(self, office: PostOffice) -> None:
        self.inner.upsert(office)
        self.invalidate()

    def invalidate(self) -> None:
        self._entries.clear()


def _offices(conn: Connection, query: Any) -> list[PostOffice]:
    rows = list(conn.execute(query.order_by(_P.c.code)).mappings())
    areas = _service_areas(conn, [r["code"] for r in rows])
    return [
        PostOffice(
            code=r["code"],
            name=r["name"],
            address_line=r["address_line"],
            ward_code=r["ward_code"],
            province_code=r["province_code"],
            lat=r["lat"],
            lon=r["lon"],
            phone=r["phone"] or "",
            service_wards=frozenset(areas.get(r["code"], ())),
        )
        for r in rows
    ]


def _service_areas(conn: Connection, codes: Iterable[str]) -> dict[str, list[str]]:
    codes = list(codes)
    areas: dict[str, list[str]] = {}
    for start in range(0, len(codes), 500):  # stay far below SQLite's bound-parameter limit
        chunk = codes[start : start + 500]
        for office, ward in conn.execute(
            select(_W.c.post_office_code, _W.c.ward_code).where(_W.c.post_office_code.in_(chunk))
        ):
            areas.setdefault(office, []).append(ward)
    return areas
