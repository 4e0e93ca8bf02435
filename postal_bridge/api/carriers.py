"""``/api/v1/carriers`` and ``/api/v1/quotes``: which couriers the key's agency may use, and what they charge."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.api.schemas import CitizenIn, ParcelIn
from postal_bridge.domain.status import Kind
from postal_bridge.domain.text import nfc_deep
from postal_bridge.services import carriers as svc

blp = Blueprint("carriers", __name__, url_prefix="/api/v1", description="Couriers and quotes.")


class CarrierSchema(Schema):
    code = fields.String(metadata={"description": "sandbox | vnpost | viettelpost | ghn | ghtk"})
    name = fields.String()
    services = fields.List(fields.String(), metadata={"description": "our service codes: standard, express"})
    capabilities = fields.List(fields.String())


class QuoteRequestSchema(Schema):
    """The consignment body without ``carrier`` (extra fields of a full consignment body are accepted and ignored)."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    service = fields.String(load_default=None, validate=validate.OneOf(["standard", "express"]))
    citizen = fields.Nested(CitizenIn, required=True)
    parcel = fields.Nested(ParcelIn, required=True)
    cod_vnd = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=100_000_000))
    dossier = fields.Dict(load_default=dict)
    options = fields.Dict(load_default=dict)


class QuoteSchema(Schema):
    carrier = fields.String()
    service = fields.String()
    fee_vnd = fields.Integer()
    promised_days = fields.Integer(allow_none=True)


class QuotesSchema(Schema):
    quotes = fields.List(fields.Nested(QuoteSchema))
    unavailable = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "courier → why it gave no price for this address"},
    )


@blp.route("/carriers")
class Carriers(MethodView):
    @blp.response(200, CarrierSchema(many=True))
    def get(self) -> list[dict]:
        """The couriers and services the key's agency may book."""
        return [
            {
                "code": c.code,
                "name": c.name,
                "services": list(c.services),
                "capabilities": sorted(cap.value for cap in c.capabilities),
            }
            for c in svc.list_carriers(deps(), caller())
        ]


@blp.route("/quotes")
class Quotes(MethodView):
    @blp.arguments(QuoteRequestSchema())
    @blp.response(200, QuotesSchema)
    def post(self, data: dict) -> dict:
        """Price and promised working days per enabled courier and service, for this citizen address."""
        data = nfc_deep(data)
        citizen = data["citizen"]
        outcome = svc.get_quotes(
            deps(),
            caller(),
            kind=data["kind"],
            name=citizen["name"],
            phone=citizen["phone"],
            line=citizen["address"]["line"],
            ward_code=citizen["address"]["ward_code"],
            province_code=citizen["address"]["province_code"],
            weight_g=data["parcel"]["weight_g"],
            cod_vnd=data["cod_vnd"],
            service=data["service"],
        )
        return {
            "quotes": [
                {"carrier": q.carrier, "service": q.service, "fee_vnd": q.fee_vnd, "promised_days": q.promised_days}
                for q in outcome.quotes
            ],
            "unavailable": outcome.unavailable,
        }
