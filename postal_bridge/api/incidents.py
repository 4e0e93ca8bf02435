"""Incidents, complaints and the needs-attention list.

``/api/v1/consignments/<id>/incidents``, ``/api/v1/incidents/<id>/resolve``, ``/api/v1/consignments/<id>/complaints``,
``/api/v1/complaints/<id>/resolve``, ``/api/v1/complaints/<id>/paid``, ``GET /api/v1/complaints?open=1`` and
``GET /api/v1/attention``. Everything is scoped to the key's agency: another agency's ids answer 404.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.api.links import links
from postal_bridge.domain.incidents import Complainant, Complaint, FaultParty, Incident, IncidentKind
from postal_bridge.services import incidents as svc
from postal_bridge.services import sla as sla_svc

blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/api/v1",
    description="Incidents (lost, damaged, tampered seal), complaints, compensation and the needs-attention list.",
)


@blp.before_request
def _authenticate() -> None:
    caller()  # 401 before any argument is looked at


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _one_of(enum) -> validate.OneOf:
    return validate.OneOf([e.value for e in enum])


class IncidentInSchema(_Strict):
    kind = fields.String(
        required=True, validate=_one_of(IncidentKind), metadata={"description": "lost | damaged | tampered"}
    )
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    record_no = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64), metadata={"description": "the biên bản"}
    )
    unusable = fields.Boolean(
        load_default=False,
        metadata={"description": "damaged/tampered only: the item cannot go on, the consignment ends lost_or_damaged"},
    )


# Far above any real compensation, and inside a 64-bit column on every database (a bigger integer was a 500).
MAX_COMPENSATION_VND = 100_000_000_000


def _compensation_field() -> fields.Integer:
    return fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_COMPENSATION_VND),
        metadata={
            "description": "VND. When the post is at fault: at least 4 × postage for loss or damage (NĐ 47/2011 "
            "Art 25.1.a), the postage back when J+n was missed (25.2); that minimum when left out"
        },
    )


class IncidentResolveSchema(_Strict):
    fault_party = fields.String(
        required=True, validate=_one_of(FaultParty), metadata={"description": "post | agency | citizen"}
    )
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    compensation_vnd = _compensation_field()


class ComplaintInSchema(_Strict):
    complainant = fields.String(
        required=True, validate=_one_of(Complainant), metadata={"description": "citizen | agency"}
    )
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ComplaintResolveSchema(_Strict):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    fault_party = fields.String(
        required=True, validate=_one_of(FaultParty), metadata={"description": "post | agency | citizen"}
    )
    compensation_vnd = _compensation_field()


class ComplaintListArgs(Schema):
    open = fields.Boolean(load_default=False, metadata={"description": "1: unresolved, or compensation unpaid"})


class MoneySchema(Schema):
    postage_vnd = fields.Integer(allow_none=True)
    minimum_vnd = fields.Integer()
    refund_vnd = fields.Integer(metadata={"description": "postage refunded because J+n was missed (NĐ 47 Art 25.2)"})
    late = fields.Boolean()


class IncidentSchema(Schema):
    id = fields.String()
    consignment_id = fields.String()
    kind = fields.String()
    record_no = fields.String(allow_none=True)
    description = fields.String()
    opened_at = fields.DateTime()
    opened_by = fields.String()
    fault_party = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    compensation_vnd = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    consignment_status = fields.String()
    money = fields.Nested(MoneySchema, allow_none=True)


class ComplaintSchema(Schema):
    id = fields.String()
    consignment_id = fields.String()
    complainant = fields.String()
    description = fields.String()
    opened_at = fields.DateTime()
    due_date = fields.Date(metadata={"description": "5 working days within a province, 7 between (TT17 Art 8.1)"})
    resolved_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    fault_party = fields.String(allow_none=True)
    compensation_vnd = fields.Integer(allow_none=True)
    liability_decided_at = fields.DateTime(allow_none=True)
    payment_due_date = fields.Date(allow_none=True, metadata={"description": "30 days after the decision"})
    paid_at = fields.DateTime(allow_none=True)
    money = fields.Nested(MoneySchema, allow_none=True)


class ComplaintListSchema(Schema):
    items = fields.List(fields.Nested(ComplaintSchema))


class IncidentListSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))


class AttentionItemSchema(Schema):
    consignment_id = fields.String()
    dossier_code = fields.String(allow_none=True)
    kind = fields.String()
    status = fields.String()
    reason = fields.String(
        metadata={"description": "a breach kind (transit_overdue, …), address_unconfirmed or delivery_failed"}
    )
    label = fields.String()
    breach = fields.String(allow_none=True)
    since = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    details = fields.Dict()


class AttentionSchema(Schema):
    items = fields.List(fields.Nested(AttentionItemSchema))


def _incident(i: Incident, *, status: str | None = None, money: svc.Money | None = None) -> dict:
    out = {**i.__dict__, "kind": i.kind.value, "fault_party": i.fault_party.value if i.fault_party else None}
    if status is not None:
        out["consignment_status"] = status
    out["money"] = money.__dict__ if money else None
    return out


def _complaint(x: Complaint, money: svc.Money | None = None) -> dict:
    return {
        **x.__dict__,
        "complainant": x.complainant.value,
        "fault_party": x.fault_party.value if x.fault_party else None,
        "money": money.__dict__ if money else None,
    }


@blp.route("/consignments/<consignment_id>/incidents", methods=["POST"])
@blp.arguments(IncidentInSchema())
@blp.response(201, IncidentSchema)
@blp.doc(
    **links(
        201,
        {"ResolveIncident": ("post", "/api/v1/incidents/{incident_id}/resolve", {"incident_id": "$response.body#/id"})},
    )
)
@blp.alt_response(404, description="Unknown id, or another agency's consignment.")
@blp.alt_response(409, description="The post never had the item, or it is already closed.")
def open_incident(data: dict, consignment_id: str) -> dict:
    """Record a loss, damage or broken seal with its biên bản; a loss (or an unusable item) ends the consignment."""
    incident, c = svc.open_incident(deps(), caller(), consignment_id, **data)
    return _incident(incident, status=c.status.value)


@blp.route("/consignments/<consignment_id>/incidents", methods=["GET"])
@blp.response(200, IncidentListSchema)
def list_incidents(consignment_id: str) -> dict:
    """The consignment's incidents, oldest first."""
    return {"items": [_incident(i) for i in svc.incidents_of(deps(), caller(), consignment_id)]}


@blp.route("/incidents/<incident_id>/resolve", methods=["POST"])
@blp.arguments(IncidentResolveSchema())
@blp.response(200, IncidentSchema)
@blp.alt_response(409, description="This incident is already resolved.")
@blp.alt_response(422, description="Compensation below 4 × postage when the post was at fault.")
def resolve_incident(data: dict, incident_id: str) -> dict:
    """Who was at fault and the compensation (at least 4 × postage for loss or damage caused by the post)."""
    incident, money = svc.resolve_incident(deps(), caller(), incident_id, **data)
    return _incident(incident, money=money)


@blp.route("/consignments/<consignment_id>/complaints", methods=["POST"])
@blp.arguments(ComplaintInSchema())
@blp.response(201, ComplaintSchema)
@blp.doc(
    **links(
        201,
        {
            "ResolveComplaint": (
                "post",
                "/api/v1/complaints/{complaint_id}/resolve",
                {"complaint_id": "$response.body#/id"},
            ),
            "ComplaintPaid": ("post", "/api/v1/complaints/{complaint_id}/paid", {"complaint_id": "$response.body#/id"}),
        },
    )
)
@blp.alt_response(422, description="Lodged more than 6 months after the J+n due date.")
def open_complaint(data: dict, consignment_id: str) -> dict:
    """Lodge a complaint (citizen or agency); it is due in 5 working days within a province, 7 between provinces."""
    return _complaint(svc.open_complaint(deps(), caller(), consignment_id, **data))


@blp.route("/consignments/<consignment_id>/complaints", methods=["GET"])
@blp.response(200, ComplaintListSchema)
def consignment_complaints(consignment_id: str) -> dict:
    """The consignment's complaints, oldest first."""
    return {"items": [_complaint(x) for x in svc.complaints_of(deps(), caller(), consignment_id)]}


@blp.route("/complaints", methods=["GET"])
@blp.arguments(ComplaintListArgs(), location="query")
@blp.response(200, ComplaintListSchema)
def list_complaints(args: dict) -> dict:
    """The agency's complaints, newest first; ``open=1`` for the unresolved ones and those with unpaid compensation."""
    return {"items": [_complaint(x) for x in svc.list_complaints(deps(), caller(), open_only=args["open"])]}


@blp.route("/complaints/<complaint_id>/resolve", methods=["POST"])
@blp.arguments(ComplaintResolveSchema())
@blp.response(200, ComplaintSchema)
@blp.alt_response(409, description="This complaint is already resolved.")
@blp.alt_response(422, description="Compensation below the legal minimum when the post was at fault.")
def resolve_complaint(data: dict, complaint_id: str) -> dict:
    """Outcome, fault and compensation; the liability decision starts the 30-day payment period (NĐ 47 Art 26)."""
    complaint, money = svc.resolve_complaint(deps(), caller(), complaint_id, **data)
    return _complaint(complaint, money)


@blp.route("/complaints/<complaint_id>/paid", methods=["POST"])
@blp.response(200, ComplaintSchema)
@blp.alt_response(409, description="No compensation was decided.")
def complaint_paid(complaint_id: str) -> dict:
    """The compensation was paid (stops the compensation_overdue monitor)."""
    return _complaint(svc.record_payment(deps(), caller(), complaint_id))


@blp.route("/attention", methods=["GET"])
@blp.response(200, AttentionSchema)
def attention() -> dict:
    """Needs attention: open deadline breaches, addresses awaiting confirmation, failed deliveries; newest first."""
    return {"items": sla_svc.needs_attention(deps(), caller())}
