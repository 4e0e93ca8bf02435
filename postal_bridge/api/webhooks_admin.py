"""``/api/v1/admin/webhooks`` and ``/api/v1/admin/api-keys/<id>/rotate-secret``: the callbacks to the dossier system,
seen and repaired by an administrator (admin API keys only). Secrets are shown once, when rotated."""

from __future__ import annotations

from datetime import UTC

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from postal_bridge.api.auth import caller, deps
from postal_bridge.services import webhooks_admin as svc
from postal_bridge.services.agencies import require_admin

blp = Blueprint(
    "webhooks_admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Callbacks to the dossier system: dead letters, replay, secret rotation (admin keys only).",
)


class WebhookQueryArgsSchema(Schema):
    state = fields.String(load_default="dead", validate=validate.OneOf(svc.STATES))
    agency = fields.String(load_default=None, metadata={"description": "agency code"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class WebhookSchema(Schema):
    id = fields.Integer(metadata={"description": "outbox id (replay by it)"})
    consignment_id = fields.String(allow_none=True)
    event_type = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"description": "the consignment status the callback reports"})
    webhook_id = fields.String(attribute="message_id", allow_none=True)
    state = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(
        allow_none=True,
        metadata={"description": "the last failure; phone numbers, e-mails, ID numbers and the citizen's name masked"},
    )
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class ReplaySchema(Schema):
    class Meta:
        unknown = RAISE

    ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)), load_default=None)
    since = fields.AwareDateTime(load_default=None, default_timezone=UTC, metadata={"description": "no offset: UTC"})
    until = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    agency = fields.String(load_default=None, metadata={"description": "only this agency's callbacks (code)"})
    reenable = fields.Boolean(
        load_default=False, metadata={"description": "re-enable endpoints disabled by 410 Gone and replay theirs too"}
    )

    @validates_schema
    def _one_selection(self, data: dict, **_: object) -> None:
        if bool(data.get("ids")) == (data.get("since") is not None):
            raise ValidationError("Give either `ids` or `since` (with an optional `until`).", "_schema")


class ReplayResultSchema(Schema):
    requeued = fields.Integer()
    skipped_disabled = fields.Integer()
    reenabled = fields.Integer()


class RotateSchema(Schema):
    class Meta:
        unknown = RAISE

    overlap_hours = fields.Integer(
        load_default=24,
        validate=validate.OneOf([0, 24]),
        metadata={"description": "how long the previous secret keeps signing as a second signature (24, or 0)"},
    )


class RotatedSecretSchema(Schema):
    webhook_secret = fields.String(metadata={"description": "shown once"})
    previous_valid_until = fields.DateTime(allow_none=True)


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.arguments(WebhookQueryArgsSchema(), location="query")
    @blp.response(200, WebhookSchema(many=True))
    @blp.alt_response(404, description="No agency with this code.")
    def get(self, args: dict) -> list:
        """Callbacks to the dossier system in one state (default: dead letters), oldest first."""
        require_admin(caller())
        agency_id = svc.agency_id_for(deps(), args["agency"]) if args.get("agency") else None
        return svc.list_webhooks(deps(), state=args["state"], agency_id=agency_id, limit=args["limit"])


@blp.route("/webhooks/replay")
class WebhookReplay(MethodView):
    @blp.arguments(ReplaySchema())
    @blp.response(200, ReplayResultSchema)
    @blp.alt_response(404, description="No agency with this code.")
    def post(self, data: dict) -> svc.ReplayResult:
        """Send dead callbacks again, by outbox id or by creation time, with their original `webhook-id` and body."""
        require_admin(caller())
        agency_id = svc.agency_id_for(deps(), data["agency"]) if data.get("agency") else None
        return svc.replay_result(
            deps(),
            ids=data.get("ids"),
            since=data.get("since"),
            until=data.get("until"),
            agency_id=agency_id,
            reenable=data["reenable"],
        )


@blp.route("/api-keys/<api_key_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.arguments(RotateSchema(), required=False)
    @blp.response(200, RotatedSecretSchema)
    def post(self, data: dict | None, api_key_id: str) -> svc.RotatedSecret:
        """A new webhook secret for the key; callbacks carry both signatures until `previous_valid_until`."""
        require_admin(caller())
        overlap = (data or {}).get("overlap_hours", 24)
        return svc.rotate_secret_details(deps(), api_key_id, overlap_hours=overlap)
