"""The citizen's tracking page ``/t/<token>``: status in words, timeline, masked personal data."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

from postal_bridge.domain.consignment import Source
from postal_bridge.domain.status import STATUS_LABELS_VI, TERMINAL
from postal_bridge.services.consignments import find_by_token

bp = Blueprint("citizen", __name__)
TZ = "Asia/Ho_Chi_Minh"
SOURCE_VI = {
    Source.API: "Bộ phận Một cửa",
    Source.COURIER_WEBHOOK: "Bưu chính",
    Source.COURIER_POLL: "Bưu chính",
    Source.SCAN: "Nhân viên bưu chính",
    Source.SYSTEM: "Hệ thống",
}


def _deps():
    return current_app.extensions["postal_bridge"].deps


@bp.get("/t/<token>")
def track(token: str):
    """Status in words, timeline, masked personal data. Unknown tokens: a generic 404 page."""
    c = find_by_token(_deps(), token)
    if c is None:
        return render_template("track_unknown.html"), 404
    with _deps().uow() as uow:
        ward = uow.units.ward(c.citizen.address.ward_code)
        agency = uow.agencies.get(c.agency_id)
    tz = ZoneInfo(TZ)
    timeline = [
        {
            "when": e.occurred_at.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
            "status": STATUS_LABELS_VI[e.status],
            "who": SOURCE_VI[e.source],
            "description": " · ".join(x for x in (e.description, e.location) if x and e.source != Source.API),
        }
        for e in reversed(c.events)
    ]
    return render_template(
        "track.html",
        status=STATUS_LABELS_VI[c.status],
        finished=c.status in TERMINAL,
        kind=c.kind.value,
        recipient="(đã xoá)" if c.personal_data_purged_at else c.citizen.masked_name,
        phone="(đã xoá)" if c.personal_data_purged_at else c.citizen.phone.masked,
        area=f"{ward.name}, {ward.province_name}" if ward else "",
        tracking_code=c.tracking_code,
        agency_name=agency.name if agency else "",
        hotline=agency and _display_phone(agency.phone),
        timeline=timeline,
    )


def _display_phone(e164: str) -> str:
    from postal_bridge.domain.phone import Phone

    return Phone(e164).display
