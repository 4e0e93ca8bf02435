"""Post offices: the registry, the office that serves a ward, and the day's pickup (and delivery) round of an office.

The registry is ``deps.post_offices`` (a ``PostOfficeStore``); consignments and ward centroids come through
``deps.uow()``. A caller only ever sees its own agency's consignments on a round.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postal_bridge.domain.address import Ward
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.post_offices import (
    CsvRowError,
    PostOffice,
    PostOfficeStore,
    nearest_office,
    read_post_offices_csv,
)
from postal_bridge.domain.rounds import Round, Stop, plan_round
from postal_bridge.domain.status import Kind, Status
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps

try:
    TZ: timezone | ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # no tz database on the host: Việt Nam keeps UTC+7 all year
    TZ = timezone(timedelta(hours=7))

PICKUP_STATUSES = (Status.BOOKED, Status.PICKUP_FAILED)
DELIVERY_STATUSES = (Status.OUT_FOR_DELIVERY,)
_PAGE = 200


@dataclass(frozen=True)
class RoundLine:
    """One stop of a printed or listed round, with what the courier needs at the door."""

    order: int
    consignment_id: str
    tracking_code: str | None
    kind: str  # pickup | return
    citizen_name: str
    citizen_phone: str
    address_line: str
    ward_code: str
    ward_name: str
    lat: float
    lon: float
    leg_km: float


@dataclass(frozen=True)
class RoundSheet:
    office: PostOffice
    day: date
    round: Round
    lines: list[RoundLine]
    return_km: float = 0.0  # the last leg, from the last stop back to the office
    unlocated: list[str] = field(default_factory=list)  # consignments whose ward has no coordinates: not on the round


def store(deps: Deps) -> PostOfficeStore:
    found = getattr(deps, "post_offices", None)
    if found is None:
        raise RuntimeError("deps.post_offices is not wired (bootstrap must set a PostOfficeStore)")
    return found


def list_offices(deps: Deps, province_code: str | None = None) -> list[PostOffice]:
    return store(deps).in_province(province_code) if province_code else store(deps).all()


def find_office(deps: Deps, code: str) -> PostOffice | None:
    """The office, or None when the registry is not configured or does not know the code."""
    if getattr(deps, "post_offices", None) is None:
        return None
    return deps.post_offices.get(code)


def get_office(deps: Deps, code: str) -> PostOffice:
    office = store(deps).get(code)
    if office is None:
        raise NotFound(f"No post office with code {code!r}.")
    return office


def nearest_for(deps: Deps, ward_code: str, lat: float | None = None, lon: float | None = None) -> PostOffice | None:
    """The office serving a ward (its service area, else the nearest in the province from the point or the centroid)."""
    with deps.uow() as uow:
        ward = uow.units.ward(ward_code)
    if ward is None:
        raise ValidationFailed({"ward_code": [f"Ward {ward_code} is not in the 2025 list of communes and wards."]})
    if lat is None or lon is None:
        lat, lon = ward.lat, ward.lon
    offices = store(deps).in_province(ward.province_code)
    return nearest_office(offices, lat=lat, lon=lon, province_code=ward.province_code, ward_code=ward_code)


def plan_pickup_round(
    deps: Deps, caller: Caller, office_code: str, day: date, *, include_deliveries: bool = False
) -> Round:
    """The office's round for ``day``; see ``round_sheet``."""
    return round_sheet(deps, caller, office_code, day, include_deliveries=include_deliveries).round


def round_sheet(
    deps: Deps, caller: Caller, office_code: str, day: date, *, include_deliveries: bool = False
) -> RoundSheet:
    """Order the office's stops for ``day``, each at the centroid of the citizen's ward.

    On the round: the caller's pickups in ``booked`` or ``pickup_failed`` for that day (``options.pickup_date`` when
    it is a valid YYYY-MM-DD, else the local date of ``created_at``), and with ``include_deliveries`` its returns that
    went ``out_for_delivery`` on or before that day and are still out. A consignment belongs to the office when its
    ward is in the office's service area or the office is the ward's nearest one (``nearest_office``).
    """
    office = get_office(deps, office_code)
    neighbours = store(deps).in_province(office.province_code)
    wards: dict[str, Ward | None] = {}
    stops: list[Stop] = []
    found: dict[str, tuple[Consignment, Ward]] = {}
    unlocated: list[str] = []
    with deps.uow() as uow:
        for c in _candidates(uow, caller.agency.id, day, include_deliveries=include_deliveries):
            address = c.citizen.address
            if address.province_code != office.province_code:
                continue
            code = address.ward_code
            if code not in wards:
                wards[code] = uow.units.ward(code)
            ward = wards[code]
            if ward is None:
                continue
            if not office.serves(code):
                best = nearest_office(
                    neighbours, lat=ward.lat, lon=ward.lon, province_code=address.province_code, ward_code=code
                )
                if best is None or best.code != office.code:
                    continue
            if ward.lat is None or ward.lon is None:
                unlocated.append(c.id)
                continue
            stops.append(Stop(id=c.id, lat=ward.lat, lon=ward.lon, label=c.tracking_code or ""))
            found[c.id] = (c, ward)
    planned = plan_round((office.lat, office.lon), stops)
    lines = []
    for i, (stop, leg) in enumerate(zip(planned.order, planned.legs, strict=False), 1):
        c, ward = found[stop.id]
        lines.append(
            RoundLine(
                order=i,
                consignment_id=c.id,
                tracking_code=c.tracking_code,
                kind=c.kind.value,
                citizen_name=c.citizen.name,
                citizen_phone=c.citizen.phone.display,
                address_line=c.citizen.address.line,
                ward_code=ward.code,
                ward_name=ward.name,
                lat=stop.lat,
                lon=stop.lon,
                leg_km=leg,
            )
        )
    return RoundSheet(
        office=office,
        day=day,
        round=planned,
        lines=lines,
        return_km=planned.legs[-1] if planned.legs else 0.0,
        unlocated=sorted(unlocated),
    )


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def today(deps: Deps) -> date:
    return local_date(deps.clock.now())


def _candidates(uow: UnitOfWork, agency_id: str, day: date, *, include_deliveries: bool) -> Iterator[Consignment]:
    for status in PICKUP_STATUSES:
        for c in _with_status(uow, agency_id, status):
            if c.kind == Kind.PICKUP and _pickup_day(c) == day:
                yield c
    if include_deliveries:
        for status in DELIVERY_STATUSES:
            for c in _with_status(uow, agency_id, status):
                out = _out_since(c)
                if c.kind == Kind.RETURN and out is not None and out <= day:
                    yield c


def _with_status(uow: UnitOfWork, agency_id: str, status: Status) -> Iterator[Consignment]:
    offset = 0
    while True:
        page, total = uow.consignments.search(
            agency_id=agency_id, dossier_code=None, status=status.value, offset=offset, limit=_PAGE
        )
        yield from page
        offset += len(page)
        if not page or offset >= total:
            return


def _pickup_day(c: Consignment) -> date:
    raw = c.options.get("pickup_date") if isinstance(c.options, dict) else None
    if isinstance(raw, str) and len(raw.strip()) == 10:  # YYYY-MM-DD only
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    return local_date(c.created_at)


def _out_since(c: Consignment) -> date | None:
    """The local date of the latest move to ``out_for_delivery``."""
    for e in reversed(c.events):
        if e.status == Status.OUT_FOR_DELIVERY:
            return local_date(e.occurred_at)
    return None


def load_post_offices_cli(deps: Deps, path: str | Path) -> int:
    """``postal-bridge load-post-offices FILE``: validate the CSV (and its wards against the 2025 list), then upsert.

    Returns the exit code: 0 when every office was stored, 1 when nothing was stored because of an error (every bad
    line is printed).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"{path}: not UTF-8 text", file=sys.stderr)
        return 1
    rows, problems = read_post_offices_csv(text)
    problems = sorted(problems + check_wards(deps, rows), key=lambda p: p.line)
    if problems:
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        return 1
    registry = store(deps)
    offices = [office for _, office in rows]
    for office in offices:
        registry.upsert(office)
    provinces = sorted({o.province_code for o in offices})
    print(f"Loaded {len(offices)} post offices (provinces {', '.join(provinces) or 'none'}).")
    return 0


def check_wards(deps: Deps, rows: list[tuple[int, PostOffice]]) -> list[CsvRowError]:
    """The offices' ward and service-area codes against the 2025 list, one error per bad value with its line."""
    problems: list[CsvRowError] = []
    with deps.uow() as uow:
        cache: dict[str, Ward | None] = {}

        def ward(code: str) -> Ward | None:
            if code not in cache:
                cache[code] = uow.units.ward(code)
            return cache[code]

        for line, o in rows:
            w = ward(o.ward_code)
            if w is None:
                problems.append(
                    CsvRowError(line, "ward_code", f"ward_code {o.ward_code} is not a 2025 ward (office {o.code})")
                )
            elif w.province_code != o.province_code:
                problems.append(
                    CsvRowError(
                        line,
                        "ward_code",
                        f"ward_code {o.ward_code} ({w.name}) is in province {w.province_code}, not {o.province_code}"
                        f" (office {o.code})",
                    )
                )
            for code in sorted(o.service_wards):
                sw = ward(code)
                if sw is None:
                    problems.append(
                        CsvRowError(line, "service_wards", f"service_wards {code} is not a 2025 ward (office {o.code})")
                    )
                elif sw.province_code != o.province_code:
                    problems.append(
                        CsvRowError(
                            line,
                            "service_wards",
                            f"service_wards {code} ({sw.name}) is in province {sw.province_code}; "
                            f"an office never serves another province (office {o.code})",
                        )
                    )
    return problems
