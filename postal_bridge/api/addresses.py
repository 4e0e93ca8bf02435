"""``/api/v1/addresses/resolve``, ``/api/v1/provinces`` and ward type-ahead: addresses after the 2025 reorganisation."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.domain.addressing import Resolution
from postal_bridge.domain.text import nfc_deep
from postal_bridge.services import addresses as svc

blp = Blueprint(
    "addresses",
    __name__,
    url_prefix="/api/v1",
    description="Addresses: old (province, district, commune) or new (province, ward) form → 2025 ward codes.",
)


class ResolveRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(
        load_default=None,
        validate=validate.Length(max=svc.MAX_TEXT),
        metadata={"description": "Free text, e.g. 'Số 12 ngõ 34 phố Láng Hạ, P. Láng Hạ, Q. Đống Đa, Hà Nội'."},
    )
    ward_code = fields.String(load_default=None, validate=validate.Length(max=8))
    province_code = fields.String(load_default=None, validate=validate.Length(max=2))
    scheme = fields.String(
        load_default="2025",
        validate=validate.OneOf(svc.SCHEMES),
        metadata={"description": "2025 (NSO codes after 1/7/2025) or legacy (63-province codes)."},
    )
    line = fields.String(load_default="", validate=validate.Length(max=200))


class CandidateSchema(Schema):
    ward_code = fields.String()
    ward_name = fields.String()
    province_code = fields.String()
    province_name = fields.String()
    line = fields.String(metadata={"description": "house number, street, hamlet"})
    score = fields.Float(metadata={"description": "0..1, best first"})
    via = fields.String(metadata={"description": "2025: named directly; legacy: converted from an old commune"})
    legacy_ward_code = fields.String(allow_none=True, metadata={"description": "the old commune, as provenance"})


class ResolutionSchema(Schema):
    status = fields.String(metadata={"description": "exact | suggested | ambiguous | not_found"})
    candidates = fields.List(fields.Nested(CandidateSchema))
    needs_confirmation = fields.Boolean(
        metadata={"description": "true: a person must pick or confirm the ward (split commune, duplicate name…)"}
    )
    line = fields.String()
    message = fields.String()


class ProvinceSchema(Schema):
    code = fields.String()
    name = fields.String()


class WardSchema(Schema):
    code = fields.String()
    name = fields.String()
    province_code = fields.String()


class WardQueryArgsSchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=svc.MAX_LIMIT))


def resolution_view(res: Resolution) -> dict:
    return {
        "status": res.status,
        "candidates": [
            {
                "ward_code": c.ward_code,
                "ward_name": c.ward_name,
                "province_code": c.province_code,
                "province_name": c.province_name,
                "line": c.line,
                "score": c.score,
                "via": c.via,
                "legacy_ward_code": c.legacy_ward_code,
            }
            for c in res.candidates
        ],
        "needs_confirmation": res.needs_confirmation,
        "line": res.line,
        "message": res.message,
    }


@blp.route("/addresses/resolve", methods=["POST"])
@blp.arguments(ResolveRequestSchema())
@blp.response(200, ResolutionSchema)
def resolve_address(data: dict) -> dict:
    """Resolve free text or codes to 2025 ward candidates. A split old commune is never converted silently."""
    caller()
    data = nfc_deep(data)
    return resolution_view(
        svc.resolve(
            deps(),
            text=data["text"],
            ward_code=data["ward_code"],
            province_code=data["province_code"],
            scheme=data["scheme"],
            line=data["line"],
        )
    )


@blp.route("/provinces")
class Provinces(MethodView):
    @blp.response(200, ProvinceSchema(many=True))
    def get(self) -> list[dict]:
        """The 34 provinces of 2025."""
        caller()
        return [{"code": code, "name": name} for code, name in svc.provinces(deps())]


@blp.route("/provinces/<province_code>/wards")
class ProvinceWards(MethodView):
    @blp.arguments(WardQueryArgsSchema(), location="query")
    @blp.response(200, WardSchema(many=True))
    def get(self, args: dict, province_code: str) -> list[dict]:
        """Wards of one province for type-ahead: ``q`` matches the start of the name or any word, accents optional."""
        caller()
        rows = svc.wards(deps(), province_code, nfc_deep(args["q"]), args["limit"])
        return [{"code": w.code, "name": w.name, "province_code": w.province_code} for w in rows]
