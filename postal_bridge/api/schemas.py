"""marshmallow 4 schemas: the API's input shapes and output views. Edge only; rules live in the domain."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from postal_bridge.domain.status import Kind, Status


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DossierIn(_Strict):
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    procedure_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    procedure_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    appointment_date = fields.Date(load_default=None, allow_none=True)


class AddressIn(_Strict):
    line = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ward_code = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$", error="Five digits (2025 list)."))
    province_code = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$", error="Two digits (2025 list)."))


class CitizenIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=validate.Length(min=8, max=24))
    address = fields.Nested(AddressIn, required=True)


class ParcelIn(_Strict):
    weight_g = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=30_000))
    contents = fields.String(required=True, validate=validate.Length(min=1, max=200))


class OptionsIn(_Strict):
    sandbox_scenario = fields.String(validate=validate.OneOf(["delivered", "failed_then_delivered", "returned"]))


class ConsignmentCreateSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=32))
    service = fields.String(load_default="standard", validate=validate.OneOf(["standard", "express"]))
    dossier = fields.Nested(DossierIn, required=True)
    citizen = fields.Nested(CitizenIn, required=True)
    parcel = fields.Nested(ParcelIn, required=True)
    cod_vnd = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=100_000_000))
    options = fields.Nested(OptionsIn, load_default=dict)

    @validates_schema
    def _return_needs_code(self, data: dict, **_: object) -> None:
        if data.get("kind") in ("return", "transfer") and not (data.get("dossier") or {}).get("code"):
            raise ValidationError({"dossier": {"code": ["Required for a return or transfer."]}})


class EventOut(Schema):
    status = fields.String()
    previous_status = fields.String(allow_none=True)
    occurred_at = fields.DateTime()
    source = fields.String()
    description = fields.String(allow_none=True)
    location = fields.String(allow_none=True)


class DossierOut(Schema):
    code = fields.String(allow_none=True)
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    appointment_date = fields.Date(allow_none=True)


class AddressOut(Schema):
    line = fields.String()
    ward_code = fields.String()
    province_code = fields.String()
    scheme = fields.String()


class CitizenOut(Schema):
    name = fields.String()
    phone = fields.String(metadata={"description": "E.164"})
    address = fields.Nested(AddressOut)


class ParcelOut(Schema):
    weight_g = fields.Integer()
    contents = fields.String()


class ConsignmentSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": [k.value for k in Kind]})
    status = fields.String(metadata={"enum": [s.value for s in Status]})
    carrier = fields.String()
    service = fields.String()
    tracking_code = fields.String(allow_none=True)
    tracking_url = fields.String()
    label_url = fields.String()
    dossier = fields.Nested(DossierOut)
    citizen = fields.Nested(CitizenOut)
    parcel = fields.Nested(ParcelOut)
    cod_vnd = fields.Integer()
    options = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    events = fields.List(fields.Nested(EventOut))


class ConsignmentPageSchema(Schema):
    items = fields.List(fields.Nested(ConsignmentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ConsignmentQueryArgsSchema(Schema):
    dossier_code = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CancelSchema(_Strict):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Unique per request body; replays return the stored response."},
    )
