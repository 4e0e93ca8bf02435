"""Post offices (bưu cục) that collect and deliver, the one that serves a citizen's ward, and their CSV registry.

Pure stdlib. An office serves the wards its service area lists; any other ward goes to the nearest office of the same
province by great-circle distance. A ward is never served across a province border: the 2025 provinces are the unit
the post and the one-stop centres are organised by (reference/domain.md §6).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from postal_bridge.domain.address import PROVINCE_CODE, WARD_CODE
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.text import nfc

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius
# Vietnam's bounding box, mainland and islands (Trường Sa / Hoàng Sa lie outside it; no office there is on file).
LAT_RANGE = (8.0, 24.0)
LON_RANGE = (102.0, 110.0)
OFFICE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")  # used with fullmatch; fits post_offices.code

CSV_COLUMNS = (
    "code",
    "name",
    "address_line",
    "ward_code",
    "province_code",
    "lat",
    "lon",
    "phone",
    "service_wards",
)
_REQUIRED = CSV_COLUMNS[:7]


@dataclass(frozen=True)
class PostOffice:
    code: str
    name: str
    address_line: str
    ward_code: str
    province_code: str
    lat: float
    lon: float
    phone: str = ""  # E.164, or empty
    service_wards: frozenset[str] = field(default_factory=frozenset)  # 2025 ward codes this office collects from

    def serves(self, ward_code: str) -> bool:
        return ward_code in self.service_wards


class PostOfficeStore(Protocol):
    """The post-office registry (``deps.post_offices``). Each read returns offices with their service areas."""

    def get(self, code: str) -> PostOffice | None: ...

    def in_province(self, province_code: str) -> list[PostOffice]: ...

    def for_ward(self, ward_code: str) -> list[PostOffice]:
        """Offices whose service area lists this ward."""
        ...

    def all(self) -> list[PostOffice]: ...

    def upsert(self, office: PostOffice) -> None: ...

    def invalidate(self) -> None:
        """Forget anything cached: the registry was changed through another path (an admin upload's transaction)."""
        ...


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km on a sphere of the mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_office(
    offices: Iterable[PostOffice],
    *,
    lat: float | None,
    lon: float | None,
    province_code: str,
    ward_code: str | None = None,
) -> PostOffice | None:
    """The office for a point in a province: one whose service area lists the ward, else the nearest one.

    Only offices of ``province_code`` are considered. Among several offices listing the ward the nearest wins (by code
    when the point is unknown). ``None`` when the province has no office, or when no office lists the ward and the
    point is unknown.
    """
    same = [o for o in offices if o.province_code == province_code]
    located = lat is not None and lon is not None

    def key(o: PostOffice) -> tuple[float, str]:
        return (_km(lat, lon, o.lat, o.lon) if located else 0.0, o.code)  # type: ignore[arg-type]

    if ward_code:
        serving = [o for o in same if o.serves(ward_code)]
        if serving:
            return min(serving, key=key)
    if not same or not located:
        return None
    return min(same, key=key)


class CsvRowError(ValueError):
    """A bad line of a post-office CSV; the message names the line (1-based, as an editor shows it) and the column."""

    def __init__(self, line: int, column: str, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


def parse_post_offices_csv(text: str) -> list[PostOffice]:
    """Read the registry CSV (header ``code,name,address_line,ward_code,province_code,lat,lon,phone,service_wards``).

    Lines starting with ``#`` and blank lines are skipped; ``service_wards`` is ``;``-separated. ``phone`` and
    ``service_wards`` may be left out of the header. The first bad value raises ``CsvRowError`` (a ``ValueError``).
    Whether the ward codes exist is for the caller to check against the database.
    """
    rows, problems = read_post_offices_csv(text)
    if problems:
        raise problems[0]
    return [office for _, office in rows]


def read_post_offices_csv(text: str) -> tuple[list[tuple[int, PostOffice]], list[CsvRowError]]:
    """Like ``parse_post_offices_csv``, but every bad line is reported (in file order), with the good ones and their
    line numbers: an administrator uploading a file sees all its problems at once. A bad header, or a line the CSV
    reader cannot split, ends the reading there."""
    lines = _numbered_lines(text.removeprefix("\ufeff"))
    where = {"start": 0}

    def feed() -> Iterator[str]:
        for number, line in lines:
            if where["start"] == 0:
                where["start"] = number
            yield line

    reader = csv.reader(feed())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [CsvRowError(1, "code", "the file is empty; expected a header line")]
    header_line = where["start"]
    for col in header:
        if col not in CSV_COLUMNS:
            return [], [CsvRowError(header_line, col or "?", f"unknown column; expected {','.join(CSV_COLUMNS)}")]
    for col in _REQUIRED:
        if col not in header:
            return [], [CsvRowError(header_line, col, "column missing from the header")]
    if len(set(header)) != len(header):
        dup = next(c for c in header if header.count(c) > 1)
        return [], [CsvRowError(header_line, dup, "column appears twice in the header")]

    rows: list[tuple[int, PostOffice]] = []
    problems: list[CsvRowError] = []
    seen: dict[str, int] = {}
    while True:
        where["start"] = 0
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(CsvRowError(where["start"], "?", f"malformed CSV ({exc})"))
            break
        number = where["start"]
        try:
            office = _row(number, header, values)
        except CsvRowError as exc:
            problems.append(exc)
            continue
        if office.code in seen:
            problems.append(CsvRowError(number, "code", f"{office.code} already appears on line {seen[office.code]}"))
            continue
        seen[office.code] = number
        rows.append((number, office))
    return rows, problems


def _row(number: int, header: list[str], values: list[str]) -> PostOffice:
    if len(values) > len(header):
        raise CsvRowError(number, header[-1], f"{len(values)} values for {len(header)} columns")
    row = dict(zip(header, (v.strip() for v in values), strict=False))
    for col in header:
        if col not in row:
            raise CsvRowError(number, col, "value missing (too few columns)")
    return _office(number, row)


def _numbered_lines(text: str) -> list[tuple[int, str]]:
    return [
        (n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")
    ]


def _office(number: int, row: dict[str, str]) -> PostOffice:
    def bad(col: str, message: str) -> CsvRowError:
        return CsvRowError(number, col, message)

    code = row["code"]
    if not OFFICE_CODE.fullmatch(code):
        raise bad("code", f"{code!r} is not an office code (1–32 letters, digits, '.', '_' or '-')")
    name = nfc(row["name"])
    if not name or len(name) > 200:
        raise bad("name", "required, at most 200 characters")
    address_line = nfc(row["address_line"])
    if not address_line or len(address_line) > 300:
        raise bad("address_line", "required, at most 300 characters")
    if not WARD_CODE.fullmatch(row["ward_code"]):
        raise bad("ward_code", f"{row['ward_code']!r} is not a 2025 ward code (five digits, e.g. 00004)")
    if not PROVINCE_CODE.fullmatch(row["province_code"]):
        raise bad("province_code", f"{row['province_code']!r} is not a 2025 province code (two digits, e.g. 01)")
    lat = _coordinate(row["lat"], LAT_RANGE, bad("lat", f"{row['lat']!r} is not a latitude in Vietnam (8–24)"))
    lon = _coordinate(row["lon"], LON_RANGE, bad("lon", f"{row['lon']!r} is not a longitude in Vietnam (102–110)"))
    phone = ""
    if row.get("phone"):
        try:
            phone = parse_phone(row["phone"]).e164
        except ValueError as exc:
            raise bad("phone", str(exc)) from None
    wards = [w.strip() for w in row.get("service_wards", "").split(";") if w.strip()]
    for w in wards:
        if not WARD_CODE.fullmatch(w):
            raise bad("service_wards", f"{w!r} is not a 2025 ward code (five digits)")
    return PostOffice(
        code=code,
        name=name,
        address_line=address_line,
        ward_code=row["ward_code"],
        province_code=row["province_code"],
        lat=lat,
        lon=lon,
        phone=phone,
        service_wards=frozenset(wards),
    )


def _coordinate(raw: str, bounds: tuple[float, float], error: CsvRowError) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise error from None
    if not (math.isfinite(value) and bounds[0] <= value <= bounds[1]):
        raise error
    return value
