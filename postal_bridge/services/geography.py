"""Everything a consignment learns from its two addresses: route class, J and the J+n due date, the tariff's fee,
an approximate location and the post office that serves the citizen's ward.

Computed at creation (J estimated as today) and again when the post accepts the item (J becomes that day).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from postal_bridge.domain.address import Ward
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.model import Agency
from postal_bridge.domain.post_offices import nearest_office
from postal_bridge.domain.routes import classify, due_date, transit_days
from postal_bridge.domain.status import Kind
from postal_bridge.services.deps import Deps

log = logging.getLogger("postal_bridge.geography")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def route_between(deps: Deps, kind: Kind, agency: Agency, citizen_ward: str, citizen_province: str) -> str | None:
    if deps.routes is None:
        return None
    a = (agency.address.ward_code, agency.address.province_code)
    c = (citizen_ward, citizen_province)
    origin, dest = (a, c) if kind == Kind.RETURN else (c, a)
    return classify(origin[0], origin[1], dest[0], dest[1], deps.routes).value


def enrich(deps: Deps, c: Consignment, agency: Agency, ward: Ward, *, now: datetime) -> None:
    """Fill route class, J, due date, fee, location and post office on a consignment being created.

    Call it outside any open unit of work: the post-office registry reads on its own connection.
    """
    c.route_class = route_between(deps, c.kind, agency, ward.code, ward.province_code)
    set_deadline(deps, c, now)
    if deps.tariff is not None and c.route_class:
        try:
            fee = deps.tariff.quote(c.route_class, c.parcel.weight_g, c.service, c.cod_vnd)
            c.fee_vnd, c.payer = fee.total_vnd, fee.payer.value
        except ValueError as exc:  # a service the tariff has no price for: the courier's quote will do
            log.info("no tariff price", extra={"reason": str(exc)})
    # The ward's point until a geocoder refines it; always marked approximate.
    c.geo_lat, c.geo_lon, c.geo_approximate = ward.lat, ward.lon, True
    if deps.post_offices is not None:
        office = nearest_office(
            deps.post_offices.in_province(ward.province_code),
            lat=ward.lat,
            lon=ward.lon,
            province_code=ward.province_code,
            ward_code=ward.code,
        )
        c.post_office_code = office.code if office else None


def set_deadline(deps: Deps, c: Consignment, j_at: datetime) -> bool:
    """J (the day the post accepts the item, local time) and J + n working days. Returns True if anything changed."""
    if deps.calendar is None or deps.routes is None or not c.route_class:
        return False
    j = j_at.astimezone(TZ).date()
    due = due_date(j, c.route_class, deps.calendar, deps.routes)
    if (c.j_date, c.due_date) == (j, due):
        return False
    c.j_date, c.due_date = j, due
    c.version += 1
    return True


def promised_days(deps: Deps, route_class: str | None) -> int | None:
    if deps.routes is None or not route_class:
        return None
    return transit_days(route_class, deps.routes)
