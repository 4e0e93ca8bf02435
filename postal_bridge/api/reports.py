"""``/api/v1/reports``: the province's figures per agency, post office or courier (JSON, CSV for Excel, PDF), and the
quarterly / half-year / annual report of Circular 17/2017 Art 13. A normal key sees its own agency; an admin key sees
every agency."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.domain.reports import FORMATS, GROUP_BYS, PERIODS
from postal_bridge.services import reports as svc

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Reports for the provincial office: volume, on-time rate (J+n), failures, returns, incidents, money.",
)

EXAMPLE = {
    "from": "2026-01-01",
    "to": "2026-03-31",
    "group_by": "agency",
    "scope": {"agency_id": None, "name": "Tất cả cơ quan, đơn vị"},
    "generated_at": "2026-04-02T03:00:00+00:00",
    "groups": [
        {
            "key": "HCC-HN",
            "name": "Trung tâm Phục vụ hành chính công Thành phố Hà Nội",
            "volume": {"pickup": 12, "return": 40, "transfer": 0, "total": 52},
            "cancelled": 1,
            "on_time": {"eligible": 50, "on_time": 47, "rate": 0.94},
            "first_attempt": {"attempted": 40, "delivered": 36, "rate": 0.9},
            "delivered": 48,
            "failed": {"attempts": 5, "items": 4, "reasons": [{"reason": "Người nhận vắng nhà", "count": 5}]},
            "returned": {"items": 1, "reasons": [{"reason": "Người nhận vắng nhà", "count": 1}]},
            "transit_hours": {"count": 48, "average": 26.5, "p95": 49.0},
            "incidents": {"lost": 0, "damaged": 1, "tampered": 0, "total": 1},
            "complaints": {"received": 1, "resolved": 1},
            "compensation": {"cases": 1, "total_vnd": 88000},
            "postage_vnd": 1144000,
            "cod": {"declared_vnd": 0, "collected_vnd": 0},
        }
    ],
    "total": "… the same fields over every group …",
}


class ReportArgsSchema(Schema):
    from_ = fields.Date(required=True, data_key="from", metadata={"description": "first day (local), YYYY-MM-DD"})
    to = fields.Date(required=True, metadata={"description": "last day (local, inclusive), YYYY-MM-DD"})
    group_by = fields.String(load_default="agency", validate=validate.OneOf(GROUP_BYS))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class PeriodicArgsSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")))


# What ``format`` may answer besides JSON: documented so a client knows every media type it can get back.
DOWNLOADS = {
    "text/csv": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}


def _download(content: bytes, content_type: str, filename: str) -> Response:
    return Response(
        content,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@blp.route("", methods=["GET"])
@blp.arguments(ReportArgsSchema(), location="query")
@blp.response(
    200,
    description=(
        "Figures per group and in total. `format=csv`: UTF-8 with BOM, Vietnamese header row, one row per group "
        "and a total row. `format=pdf`: the printable A4 report."
    ),
    example=EXAMPLE,
)
@blp.doc(responses={200: {"content": DOWNLOADS}})
def report(args: dict):
    """Volume by kind, on-time rate against J+n, first-attempt delivery rate, failures and returns with reasons,
    transit time (average, 95th percentile), incidents, complaints, compensation, postage and COD."""
    who = caller()
    r = svc.build_report(deps(), who, start=args["from_"], end=args["to"], group_by=args["group_by"])
    name = f"bao-cao-{r.start:%Y%m%d}-{r.end:%Y%m%d}-{r.group_by}"
    if args["format"] == "csv":
        return _download(svc.report_csv(r), "text/csv; charset=utf-8", f"{name}.csv")
    if args["format"] == "pdf":
        return _download(svc.report_pdf(deps(), r), "application/pdf", f"{name}.pdf")
    return svc.report_dict(r)


@blp.route("/periodic", methods=["GET"])
@blp.arguments(PeriodicArgsSchema(), location="query")
@blp.response(
    200,
    description=(
        "The report of Circular 17/2017/TT-BTTTT Art 13: service catalogue, volume and revenue, complaints and "
        "outcomes, items lost/misplaced/damaged, compensation cases and total, safety level achieved; with its "
        "deadline (quarterly: the 10th of the next quarter's first month; half-year 10/7; annual 10/1)."
    ),
)
@blp.doc(
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                **{"application/pdf": DOWNLOADS["application/pdf"]},
            }
        }
    }
)
def periodic(args: dict):
    """The quarterly (Q1–Q4), half-year (H1, H2) or annual (Y) report, as JSON or PDF."""
    who = caller()
    p = svc.build_periodic(deps(), who, year=args["year"], period=args["period"])
    if args["format"] == "pdf":
        return _download(svc.periodic_pdf(deps(), p), "application/pdf", f"bao-cao-tt17-{p.year}-{p.period}.pdf")
    return svc.periodic_dict(p)
