"""``/api/v1/dossiers/<code>/events``: what the one-stop dossier system tells us about one of its dossiers."""

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
from postal_bridge.domain.text import nfc_deep
from postal_bridge.services import dossiers as svc

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving
blp = Blueprint(
    "dossiers",
    __name__,
    url_prefix="/api/v1/dossiers",
    description="Events from the one-stop dossier system about one dossier (matched by its code).",
)


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
    @blp.arguments(OptionalIdempotencyHeaderSchema, location="headers")
    @blp.arguments(DossierEventInSchema)
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
