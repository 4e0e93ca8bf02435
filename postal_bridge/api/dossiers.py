"""``/api/v1/dossiers/<code>`` (the dossier's snapshot: procedure, appointment, citizen) and
``/api/v1/dossiers/<code>/events``: what the one-stop dossier system tells us about one of its dossiers."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta, timezone

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.domain.dossier_events import DossierEvent, DossierEventCommand, DossierEventType
from postal_bridge.domain.dossier_snapshots import DossierSnapshot, Preference, SnapshotCommand
from postal_bridge.domain.text import nfc_deep
from postal_bridge.services import dossier_snapshots as snapshots
from postal_bridge.services import dossiers as svc

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving
blp = Blueprint(
    "dossiers",
    __name__,
    url_prefix="/api/v1/dossiers",
    description="The one-stop dossier system's data about one dossier (its snapshot) and the events it sends about "
    "it (matched by its code).",
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SnapshotAddressSchema(_Strict):
    line = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ward_code = fields.String(required=True, validate=validate.Regexp(r"^\d{5}$", error="Five digits."))
    province_code = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$", error="Two digits."))


class SnapshotCitizenInSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=validate.Length(min=8, max=24))
    id_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["cccd", "cmnd", "passport"]),
        metadata={"description": "cccd (default when id_number is given) | cmnd | passport"},
    )
    id_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=4, max=20),
        metadata={
            "description": "The citizen's identity number. Only its type and last 4 characters are stored (a clerk "
            "checks them when handing the result over); the whole number is never kept."
        },
    )
    address = fields.Nested(SnapshotAddressSchema, required=True)


class SnapshotInSchema(_Strict):
    code = fields.String(
        required=True, validate=validate.Length(min=3, max=64), metadata={"description": "equal to the URL's code"}
    )
    procedure_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    procedure_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    appointment_date = fields.Date(load_default=None, allow_none=True, metadata={"description": "ngày hẹn trả"})
    citizen = fields.Nested(SnapshotCitizenInSchema, required=True)
    preference = fields.String(
        load_default=Preference.COUNTER.value,
        validate=validate.OneOf([p.value for p in Preference]),
        metadata={
            "description": "How the citizen asked to file and receive (Decision 45/2016 Art 5): return (result "
            "delivered home), pickup (dossier picked up at home), both, or counter (neither; the default)."
        },
    )


class SnapshotCitizenOutSchema(Schema):
    name = fields.String()
    phone = fields.String(metadata={"description": "E.164"})
    id_type = fields.String(allow_none=True)
    id_last4 = fields.String(allow_none=True, metadata={"description": "the last 4 characters of the ID only"})
    address = fields.Nested(SnapshotAddressSchema)


class SnapshotOutSchema(Schema):
    code = fields.String()
    procedure_code = fields.String(allow_none=True)
    procedure_name = fields.String(allow_none=True)
    appointment_date = fields.Date(allow_none=True)
    citizen = fields.Nested(SnapshotCitizenOutSchema)
    preference = fields.String()
    revision = fields.Integer(metadata={"description": "1 when created, +1 for each PUT that changed something"})
    received_at = fields.DateTime()
    updated_at = fields.DateTime()
    personal_data_purged = fields.Boolean(metadata={"description": "true once retention ended and it was erased"})


def snapshot_view(s: DossierSnapshot) -> dict:
    return {
        "code": s.code,
        "procedure_code": s.procedure_code,
        "procedure_name": s.procedure_name,
        "appointment_date": s.appointment_date,
        "citizen": {
            "name": s.citizen_name,
            "phone": s.citizen_phone,
            "id_type": s.citizen_id_type,
            "id_last4": s.citizen_id_last4,
            "address": {"line": s.address_line, "ward_code": s.ward_code, "province_code": s.province_code},
        },
        "preference": s.preference.value,
        "revision": s.revision,
        "received_at": s.received_at,
        "updated_at": s.updated_at,
        "personal_data_purged": s.purged,
    }


@blp.route("/<dossier_code>")
class DossierSnapshotById(MethodView):
    @blp.arguments(SnapshotInSchema())
    @blp.response(200, SnapshotOutSchema, description="Updated, or unchanged (the same body again).")
    @blp.alt_response(201, schema=SnapshotOutSchema, description="Stored for the first time.")
    @blp.alt_response(422, description="Invalid fields, each named (nothing stored).")
    def put(self, data: dict, dossier_code: str):
        """Store or replace what the dossier system knows about this dossier, so the counter never retypes it.

        Idempotent: the same body again answers 200 with the same revision and changes nothing."""
        data = nfc_deep(data)
        citizen = data["citizen"]
        cmd = SnapshotCommand(
            code=data["code"],
            procedure_code=data["procedure_code"],
            procedure_name=data["procedure_name"],
            appointment_date=data["appointment_date"],
            citizen_name=citizen["name"],
            citizen_phone=citizen["phone"],
            id_type=citizen["id_type"],
            id_number=citizen["id_number"],
            address_line=citizen["address"]["line"],
            ward_code=citizen["address"]["ward_code"],
            province_code=citizen["address"]["province_code"],
            preference=data["preference"],
        )
        put = snapshots.put_snapshot(deps(), caller(), dossier_code, cmd)
        return snapshot_view(put.snapshot), 201 if put.outcome == snapshots.CREATED else 200

    @blp.response(200, SnapshotOutSchema)
    @blp.alt_response(404, description="This agency's dossier system sent no dossier with this code.")
    def get(self, dossier_code: str) -> dict:
        """What the dossier system sent about this dossier (another agency's dossier answers 404, like unknown)."""
        return snapshot_view(snapshots.get_snapshot(deps(), caller(), dossier_code))


class DossierEventInSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(
        required=True,
        validate=validate.OneOf([t.value for t in DossierEventType]),
        metadata={
            "description": "result_ready (one-stop status 9): book the returns awaiting the result, at once; "
            "appointment_changed (Mẫu 04): new appointment_date; withdrawn (status 7) / collected_at_counter: "
            "cancel the returns the courier does not have yet; supplement_required (Mẫu 02) / rejected (Mẫu 03): "
            "the agency's outcome for the pickups that brought it the dossier."
        },
    )
    occurred_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        default_timezone=VIETNAM,
        metadata={"description": "when it happened at the one-stop (no offset: Vietnam time, UTC+7); default: now"},
    )
    appointment_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "appointment_changed: the new return date"}
    )
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    return_paper_dossier = fields.Boolean(
        load_default=False,
        metadata={"description": "rejected: also create a return carrying the paper dossier back to the citizen"},
    )


class OptionalIdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        load_default=None,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Optional. The same key (with the same body) returns the first answer."},
    )


class AppliedToSchema(Schema):
    consignment_id = fields.String()
    kind = fields.String()
    status_before = fields.String(allow_none=True, metadata={"description": "null for a consignment it created"})
    status_after = fields.String()
    action = fields.String(
        metadata={
            "description": "none | booking_started | awaiting_address_confirmation | redated | cancelled | "
            "cannot_cancel | outcome_set | recorded | created"
        }
    )


class DossierEventAnswerSchema(Schema):
    event_id = fields.Integer()
    type = fields.String()
    applied_to = fields.List(fields.Nested(AppliedToSchema))


class DossierEventOutSchema(DossierEventAnswerSchema):
    dossier_code = fields.String()
    received_at = fields.DateTime()
    actor = fields.String()
    request = fields.Dict()


def event_view(e: DossierEvent) -> dict:
    return {
        **e.answer,
        "dossier_code": e.dossier_code,
        "received_at": e.received_at,
        "actor": e.actor,
        "request": e.payload.get("request", {}),
    }


@blp.route("/<dossier_code>/events")
class DossierEvents(MethodView):
    @blp.arguments(OptionalIdempotencyHeaderSchema(), location="headers")
    @blp.arguments(DossierEventInSchema())
    @blp.response(201, DossierEventAnswerSchema)
    @blp.alt_response(404, description="No consignment of this agency carries this dossier code.")
    @blp.alt_response(409, description="rejected with return_paper_dossier, but no pickup reached the agency.")
    @blp.alt_response(422, description="Invalid type or fields (nothing stored), or a reused Idempotency-Key.")
    def post(self, headers: dict, data: dict, dossier_code: str):
        """Apply one event of the dossier system to every consignment of the dossier; answer what it did to each."""
        who = caller()
        raw = nfc_deep(request.get_json(silent=True))
        fingerprint = hashlib.sha256(
            json.dumps([svc.normalize_code(dossier_code), raw], sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        data = nfc_deep(data)
        cmd = DossierEventCommand(
            type=data["type"],
            occurred_at=data["occurred_at"],
            appointment_date=data["appointment_date"],
            reason=data["reason"],
            return_paper_dossier=data["return_paper_dossier"],
        )
        answer = svc.receive_event(
            deps(),
            who,
            dossier_code,
            cmd,
            idempotency_key=headers.get("idempotency_key"),
            fingerprint=fingerprint,
        )
        extra = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        return answer.body, 201, extra

    @blp.response(200, DossierEventOutSchema(many=True))
    @blp.alt_response(404, description="No consignment of this agency carries this dossier code.")
    def get(self, dossier_code: str) -> list[dict]:
        """The events received for this dossier, oldest first, each with what it did."""
        return [event_view(e) for e in svc.list_events(deps(), caller(), dossier_code)]


def _authenticate_first() -> None:
    """An unauthenticated request hears 401 before any 422 about its body."""
    caller()


blp.before_request(_authenticate_first)
