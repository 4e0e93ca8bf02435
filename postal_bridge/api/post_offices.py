"""``/api/v1/post-offices``: the registry of post offices and each office's pickup round for a day."""

from __future__ import annotations

from flask import Response, render_template_string
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.domain.post_offices import PostOffice
from postal_bridge.services import post_offices as svc

blp = Blueprint(
    "post_offices", __name__, url_prefix="/api/v1", description="Post offices and their pickup and delivery rounds."
)


@blp.before_request
def _authenticate() -> None:
    caller()  # 401 before any argument is looked at


class PostOfficeArgsSchema(Schema):
    province = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{2}$", error="Two digits (2025 list)."),
        metadata={"description": "2025 province code, e.g. 01; all offices when left out"},
    )


class RoundArgsSchema(Schema):
    date = fields.Date(load_default=None, metadata={"description": "YYYY-MM-DD; today (Asia/Ho_Chi_Minh) by default"})
    include_deliveries = fields.Boolean(
        load_default=False, metadata={"description": "1 to add returns that are out for delivery"}
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(
            ["json", "html"], error="json or html; for paper, open format=html and print it (A4) from the browser."
        ),
    )


class PostOfficeSchema(Schema):
    code = fields.String()
    name = fields.String()
    address_line = fields.String()
    ward_code = fields.String()
    province_code = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    phone = fields.String(metadata={"description": "E.164, or empty"})
    service_wards = fields.List(fields.String(), metadata={"description": "2025 ward codes the office collects from"})


class RoundStopSchema(Schema):
    order = fields.Integer()
    consignment_id = fields.String()
    tracking_code = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "pickup (collect from the citizen) or return (deliver)"})
    ward_name = fields.String()
    lat = fields.Float(metadata={"description": "the ward's centroid, not the house"})
    lon = fields.Float()
    leg_km = fields.Float(metadata={"description": "great-circle km from the previous stop (or the office)"})


class PostOfficeRoundSchema(Schema):
    office = fields.Nested(PostOfficeSchema)
    date = fields.Date()
    distance_km = fields.Float(metadata={"description": "whole round, back to the office, great-circle km"})
    return_km = fields.Float(metadata={"description": "the last leg, back to the office"})
    stops = fields.List(fields.Nested(RoundStopSchema))
    unlocated = fields.List(fields.String(), metadata={"description": "consignments left off: ward has no point"})


def office_view(o: PostOffice) -> dict:
    return {
        "code": o.code,
        "name": o.name,
        "address_line": o.address_line,
        "ward_code": o.ward_code,
        "province_code": o.province_code,
        "lat": o.lat,
        "lon": o.lon,
        "phone": o.phone,
        "service_wards": sorted(o.service_wards),
    }


@blp.route("/post-offices")
@blp.arguments(PostOfficeArgsSchema(), location="query")
@blp.response(200, PostOfficeSchema(many=True))
def list_offices(args: dict) -> list[dict]:
    """Post offices, by code; only one province's with ?province=."""
    return [office_view(o) for o in svc.list_offices(deps(), args.get("province"))]


@blp.route("/post-offices/<code>")
@blp.response(200, PostOfficeSchema)
@blp.alt_response(404, description="No office with this code.")
def get_office(code: str) -> dict:
    """One post office with its service area."""
    return office_view(svc.get_office(deps(), code))


@blp.route("/post-offices/<code>/rounds")
@blp.arguments(RoundArgsSchema(), location="query")
@blp.response(200, PostOfficeRoundSchema)
@blp.alt_response(404, description="No office with this code.")
@blp.doc(responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}})
def office_round(args: dict, code: str) -> dict | Response:
    """The office's round for a day: the caller's pickups (and, if asked, deliveries) in driving order.

    Stops are the wards' centroids; distances are great-circle km. ``?format=html`` gives a page to print on A4.
    """
    who = caller()
    day = args["date"] or svc.today(deps())
    sheet = svc.round_sheet(deps(), who, code, day, include_deliveries=args["include_deliveries"])
    if args["format"] == "html":
        html = render_template_string(ROUND_HTML, sheet=sheet, km=_km_text)
        return Response(html, content_type="text/html; charset=utf-8", headers={"Cache-Control": "private"})
    return {
        "office": office_view(sheet.office),
        "date": sheet.day,
        "distance_km": round(sheet.round.distance_km, 3),
        "return_km": round(sheet.return_km, 3),
        "stops": [
            {
                "order": line.order,
                "consignment_id": line.consignment_id,
                "tracking_code": line.tracking_code,
                "kind": line.kind,
                "ward_name": line.ward_name,
                "lat": line.lat,
                "lon": line.lon,
                "leg_km": round(line.leg_km, 3),
            }
            for line in sheet.lines
        ],
        "unlocated": sheet.unlocated,
    }


def _km_text(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")  # Vietnamese decimal comma


ROUND_HTML = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Lộ trình {{ sheet.office.code }} ngày {{ sheet.day.strftime('%d/%m/%Y') }}</title>
<style>
  @page { size: A4 portrait; margin: 12mm; }
  body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #000; margin: 0 auto;
         max-width: 190mm; }
  h1 { font-size: 15pt; margin: 0 0 2mm; }
  p.meta { margin: 0 0 4mm; }
  table { width: 100%; border-collapse: collapse; }
  th, td { border: 0.3mm solid #000; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
  th { background: #eee; }
  td.num { text-align: right; white-space: nowrap; }
  td.sign { width: 28mm; }
  thead { display: table-header-group; }
  tr { page-break-inside: avoid; break-inside: avoid; }
  tfoot td { font-weight: bold; }
  @media print { th { -webkit-print-color-adjust: exact; print-color-adjust: exact; } .noprint { display: none; } }
</style>
</head>
<body>
<h1>Lộ trình nhận và phát hồ sơ</h1>
<p class="meta">
  Bưu cục: <strong>{{ sheet.office.name }}</strong> ({{ sheet.office.code }}), {{ sheet.office.address_line }}<br>
  Ngày: <strong>{{ sheet.day.strftime('%d/%m/%Y') }}</strong> ·
  Số điểm: <strong>{{ sheet.lines|length }}</strong> ·
  Tổng quãng đường ước tính: <strong>{{ km(sheet.round.distance_km) }} km</strong> (đường chim bay, tâm phường/xã)
</p>
<table>
  <thead>
    <tr>
      <th>STT</th><th>Mã bưu gửi</th><th>Loại</th><th>Người dân</th><th>Điện thoại</th>
      <th>Địa chỉ</th><th>Phường/Xã</th><th>Km</th><th>Ký nhận</th>
    </tr>
  </thead>
  <tbody>
  {% for line in sheet.lines %}
    <tr>
      <td class="num">{{ line.order }}</td>
      <td>{{ line.tracking_code or "" }}</td>
      <td>{{ "Phát" if line.kind == "return" else "Nhận" }}</td>
      <td>{{ line.citizen_name }}</td>
      <td>{{ line.citizen_phone }}</td>
      <td>{{ line.address_line }}</td>
      <td>{{ line.ward_name }}</td>
      <td class="num">{{ km(line.leg_km) }}</td>
      <td class="sign"></td>
    </tr>
  {% else %}
    <tr><td colspan="9">Không có hồ sơ nào cần nhận hoặc phát trong ngày.</td></tr>
  {% endfor %}
  </tbody>
  <tfoot>
    <tr><td colspan="7">Quay về bưu cục</td><td class="num">{{ km(sheet.return_km) }}</td><td></td></tr>
  </tfoot>
</table>
{% if sheet.unlocated %}
<p>Chưa xác định được vị trí (không có trong lộ trình): {{ sheet.unlocated|join(", ") }}</p>
{% endif %}
<p class="noprint">In trang này trên khổ A4 (Ctrl+P).</p>
</body>
</html>
"""
