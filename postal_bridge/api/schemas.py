"""marshmallow 4 schemas: the API's input shapes and output views. Edge only; rules live in the domain."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from postal_bridge.domain.status import Kind, Status


class ErrorSchema(Schema):
    """Every error the API answers: ``{code, status, message, errors}``, plus ``error`` when the domain names it."""

    code = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    status = fields.String(required=True, metadata={"description": "the HTTP status name"})
    message = fields.String(required=True, metadata={"description": "what went wrong, in English"})
    errors = fields.Dict(
        required=True, metadata={"description": "the bad fields by location (json, query, headers), when any"}
    )
    error = fields.String(metadata={"description": "a machine-readable error code, e.g. unauthorized, not_found"})


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DossierIn(_Strict):
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    procedure_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    procedure_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    appointment_date = fields.Date(load_default=None, allow_none=True)


class AddressIn(_Strict):
    """Either the 2025 codes with a street line, legacy codes (``scheme: legacy``), or the whole address as text."""

    line = fields.String(load_default="", validate=validate.Length(max=200))
    ward_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{5}$", error="Five digits."))
    province_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{2}$", error="Two digits."))
    scheme = fields.String(load_default="2025", validate=validate.OneOf(["2025", "legacy"]))
    text = fields.String(
        load_default=None,
        validate=validate.Length(min=3, max=500),
        metadata={"description": "free text, old (phường, quận, tỉnh) or new (phường/xã, tỉnh) form, any accents"},
    )

    @validates_schema
    def _codes_or_text(self, data: dict, **_: object) -> None:
        if data.get("text"):
            if data.get("ward_code"):
                raise ValidationError({"text": ["Give either text or ward_code, not both."]})
            return
        required = ("ward_code", "province_code", "line")
        missing = {f: ["Required unless the address is given as text."] for f in required if not data.get(f)}
        if missing:
            raise ValidationError(missing)


class CitizenIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=validate.Length(min=8, max=24))
    address = fields.Nested(AddressIn, required=True)


class DocumentIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(
        load_default="copy",
        validate=validate.OneOf(["original", "certified_copy", "copy"]),
        metadata={"description": "original (bản chính) | certified_copy (bản chứng thực) | copy (bản sao)"},
    )
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=99))


class ParcelIn(_Strict):
    weight_g = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=30_000))
    contents = fields.String(required=True, validate=validate.Length(min=1, max=200))
    documents = fields.List(
        fields.Nested(DocumentIn),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "The papers in the package, printed on the Phiếu gửi (originals marked)."},
    )


class OptionsIn(_Strict):
    sandbox_scenario = fields.String(validate=validate.OneOf(["delivered", "failed_then_delivered", "returned"]))
    pickup_date = fields.Date(metadata={"description": "the day the citizen wants the pickup (pickup rounds)"})
    awaiting_result = fields.Boolean(metadata={"description": "return registered before the result exists"})


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


# A whole create body, shown in the docs (and sent first by the schema fuzzer): a result sent home in Hà Nội.
CREATE_EXAMPLE = {
    "kind": "return",
    "carrier": "sandbox",
    "service": "standard",
    "dossier": {
        "code": "000.00.12.H56-261115-0007",
        "procedure_code": "1.001229",
        "procedure_name": "Cấp Phiếu lý lịch tư pháp",
        "appointment_date": "2026-11-25",
    },
    "citizen": {
        "name": "Nguyễn Thị Hằng",
        "phone": "0912 345 678",
        "address": {"line": "Số 12 ngõ 34 phố Láng Hạ", "ward_code": "00004", "province_code": "01"},
    },
    "parcel": {
        "weight_g": 250,
        "contents": "Phiếu lý lịch tư pháp",
        "documents": [{"name": "Phiếu lý lịch tư pháp số 2", "kind": "original", "quantity": 1}],
    },
    "cod_vnd": 0,
    "options": {"sandbox_scenario": "delivered"},
}


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
    status = fields.String(metadata={"description": "exact | suggested (a person must confirm) | confirmed"})
    legacy_text = fields.String(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)


class CitizenOut(Schema):
    name = fields.String()
    phone = fields.String(metadata={"description": "E.164"})
    sms_capable = fields.Boolean(metadata={"description": "false for a landline: no SMS notices"})
    address = fields.Nested(AddressOut)


class DocumentOut(Schema):
    name = fields.String()
    kind = fields.String()
    quantity = fields.Integer()


class ParcelOut(Schema):
    weight_g = fields.Integer()
    contents = fields.String()
    documents = fields.List(fields.Nested(DocumentOut))


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
    postage_vnd = fields.Integer(allow_none=True, metadata={"description": "the courier's price, once booked"})
    fee_vnd = fields.Integer(allow_none=True, metadata={"description": "the tariff's price at creation"})
    payer = fields.String(allow_none=True)
    route_class = fields.String(allow_none=True)
    j_date = fields.Date(allow_none=True, metadata={"description": "J: the day the post accepts the item"})
    due_date = fields.Date(allow_none=True, metadata={"description": "J + n working days (TT 17/2017 Art 7)"})
    post_office = fields.Dict(allow_none=True, metadata={"description": "the office serving the citizen's ward"})
    location = fields.Dict(allow_none=True, metadata={"description": "lat, lon, approximate"})
    slip_url = fields.String()
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
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
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


class LabelFormatArgsSchema(Schema):
    format = fields.String(
        load_default=None,
        validate=validate.OneOf(["pdf", "zpl"]),
        metadata={"description": "pdf (default) or zpl; without it the API key's printer profile decides"},
    )
    dpi = fields.Integer(
        load_default=None, validate=validate.OneOf([203, 300]), metadata={"description": "ZPL printer resolution"}
    )


class LabelBatchSchema(_Strict):
    ids = fields.List(
        fields.String(),
        load_default=None,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "consignment ids, printed in this order; omit for every booked label not yet printed"},
    )


class HandoverCreateSchema(_Strict):
    direction = fields.String(required=True, validate=validate.OneOf(["to_post", "to_agency"]))
    consignment_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))
    place = fields.String(load_default="", validate=validate.Length(max=300))


class HandoverSchema(Schema):
    id = fields.String()
    direction = fields.String()
    consignment_ids = fields.List(fields.String())
    created_at = fields.DateTime(metadata={"description": "for to_agency: the dossiers' legal submission time"})
    created_by = fields.String()
    place = fields.String()
    pdf_url = fields.String()


class AddressConfirmSchema(_Strict):
    ward_code = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$"))
    confirmed_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
