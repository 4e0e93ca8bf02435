"""``/api/v1/consignments``: create (idempotent), read, list, cancel, label."""

from __future__ import annotations

import hashlib
import json

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from postal_bridge.api.auth import caller, deps
from postal_bridge.api.errors import error_response
from postal_bridge.api.links import links
from postal_bridge.api.schemas import (
    CREATE_EXAMPLE,
    AddressConfirmSchema,
    CancelSchema,
    ConsignmentCreateSchema,
    ConsignmentPageSchema,
    ConsignmentQueryArgsSchema,
    ConsignmentSchema,
    IdempotencyHeaderSchema,
    LabelFormatArgsSchema,
)
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.text import nfc_deep
from postal_bridge.ratelimits import api_create_limit, limiter
from postal_bridge.services import consignments as svc
from postal_bridge.services import labels as label_svc
from postal_bridge.services import post_offices as office_svc

blp = Blueprint(
    "consignments", __name__, url_prefix="/api/v1/consignments", description="Consignments: one item on one leg."
)
_schema = ConsignmentSchema()


_ID = {"consignment_id": "$response.body#/id"}
_ONE = "/api/v1/consignments/{consignment_id}"
CREATED_LINKS = {
    "GetConsignment": ("get", _ONE, _ID),
    "CancelConsignment": ("post", _ONE + "/cancel", _ID),
    "GetLabel": ("get", _ONE + "/label.pdf", _ID),
    "GetSlip": ("get", _ONE + "/slip.pdf", _ID),
    "ConfirmAddress": ("post", _ONE + "/address/confirm", _ID),
    "OpenIncident": ("post", _ONE + "/incidents", _ID),
    "ListIncidents": ("get", _ONE + "/incidents", _ID),
    "OpenComplaint": ("post", _ONE + "/complaints", _ID),
    "ListComplaints": ("get", _ONE + "/complaints", _ID),
    "DossierEvents": (
        "get",
        "/api/v1/dossiers/{dossier_code}/events",
        {"dossier_code": "$response.body#/dossier/code"},
    ),
    "SendDossierEvent": (
        "post",
        "/api/v1/dossiers/{dossier_code}/events",
        {"dossier_code": "$response.body#/dossier/code"},
    ),
}


def view(c: Consignment) -> dict:
    """The public JSON of a consignment (the API's own view; personal data only for the owning agency)."""
    return {
        "id": c.id,
        "kind": c.kind.value,
        "status": c.status.value,
        "carrier": c.carrier,
        "service": c.service,
        "tracking_code": c.tracking_code,
        "tracking_url": deps().tracking_url(c.tracking_token),
        "label_url": url_for("consignments.label", consignment_id=c.id, _external=False),
        "dossier": c.dossier.__dict__,
        "citizen": {
            "name": c.citizen.name,
            "phone": c.citizen.phone.e164,
            "sms_capable": c.citizen.phone.is_mobile,
            "address": {
                **c.citizen.address.__dict__,
                "status": c.address_status,
                "legacy_text": c.address_legacy_text,
                "confirmed_by": c.address_confirmed_by,
                "confirmed_at": c.address_confirmed_at,
            },
        },
        "parcel": {
            "weight_g": c.parcel.weight_g,
            "contents": c.parcel.contents,
            "documents": [d.__dict__ for d in c.parcel.documents],
        },
        "cod_vnd": c.cod_vnd,
        "postage_vnd": c.postage_vnd,
        "fee_vnd": c.fee_vnd,
        "payer": c.payer,
        "route_class": c.route_class,
        "j_date": c.j_date,
        "due_date": c.due_date,
        "post_office": _office(c.post_office_code),
        "location": None
        if c.geo_lat is None
        else {"lat": c.geo_lat, "lon": c.geo_lon, "approximate": bool(c.geo_approximate)},
        "slip_url": url_for("consignments.slip", consignment_id=c.id, _external=False),
        "options": c.options,
        "created_at": c.created_at,
        "updated_at": c.events[-1].occurred_at if c.events else c.created_at,
        "events": [
            {
                "status": e.status.value,
                "previous_status": e.previous_status.value if e.previous_status else None,
                "occurred_at": e.occurred_at,
                "source": e.source.value,
                "description": e.description,
                "location": e.location,
            }
            for e in c.events
        ],
    }


def _office(code: str | None) -> dict | None:
    if not code:
        return None
    office = office_svc.find_office(deps(), code)
    return {"code": code, "name": office.name if office else None, "phone": office.phone if office else None}


def _per_api_key() -> str:
    """Creation is limited per API key (after authentication: an unknown key has already heard 401)."""
    return f"api-key:{caller().principal_id}"


def _json(status: int, body: str, **headers: str) -> Response:
    return Response(body, status=status, mimetype="application/json", headers=headers)


@blp.route("")
class Consignments(MethodView):
    @blp.arguments(ConsignmentQueryArgsSchema(), location="query")
    @blp.response(200, ConsignmentPageSchema)
    def get(self, args: dict) -> dict:
        """List the agency's consignments, newest first, filtered by dossier code and status."""
        items, total = svc.list_consignments(
            deps(),
            caller(),
            dossier_code=args.get("dossier_code"),
            status=args.get("status"),
            page=args["page"],
            per_page=args["per_page"],
        )
        return {"items": [view(c) for c in items], "total": total, "page": args["page"], "per_page": args["per_page"]}

    @limiter.limit(api_create_limit, key_func=_per_api_key)
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(ConsignmentCreateSchema(), example=CREATE_EXAMPLE)
    @blp.response(201, ConsignmentSchema)
    @blp.alt_response(409, description="A request with this Idempotency-Key is still being processed.")
    @blp.alt_response(422, description="Invalid fields, or the Idempotency-Key was used with another body.")
    @blp.alt_response(429, description="Too many consignments created with this key; retry after `Retry-After`.")
    @blp.doc(**links(201, CREATED_LINKS))
    def post(self, headers: dict, data: dict) -> Response:
        """Request a pickup, return or transfer. Booking with the courier happens in the background."""
        who = caller()
        raw = nfc_deep(request.get_json(silent=True))
        fingerprint = hashlib.sha256(
            json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()
        data = nfc_deep(data)
        cmd = CreateConsignment(
            kind=data["kind"],
            carrier=data["carrier"],
            service=data["service"],
            dossier_code=data["dossier"].get("code"),
            procedure_code=data["dossier"].get("procedure_code"),
            procedure_name=data["dossier"].get("procedure_name"),
            appointment_date=data["dossier"].get("appointment_date"),
            citizen_name=data["citizen"]["name"],
            citizen_phone=data["citizen"]["phone"],
            address_line=data["citizen"]["address"]["line"],
            ward_code=data["citizen"]["address"]["ward_code"] or "",
            province_code=data["citizen"]["address"]["province_code"] or "",
            address_text=data["citizen"]["address"]["text"],
            address_scheme=data["citizen"]["address"]["scheme"],
            weight_g=data["parcel"]["weight_g"],
            contents=data["parcel"]["contents"],
            cod_vnd=data["cod_vnd"],
            options={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data["options"].items()},
            documents=tuple(data["parcel"]["documents"]),
        )
        stored = svc.create_consignment(
            deps(),
            who,
            cmd,
            idempotency_key=headers["idempotency_key"],
            fingerprint=fingerprint,
            render=lambda c: json.dumps(_schema.dump(view(c)), ensure_ascii=False),
        )
        extra = {"Idempotent-Replayed": "true"} if stored.replayed else {}
        location = url_for("consignments.ConsignmentById", consignment_id=json.loads(stored.body)["id"])
        return _json(stored.status, stored.body, Location=location, **extra)


@blp.route("/<consignment_id>")
class ConsignmentById(MethodView):
    @blp.response(200, ConsignmentSchema)
    @blp.alt_response(404, description="Unknown id, or another agency's consignment.")
    def get(self, consignment_id: str) -> dict:
        """One consignment with its event log."""
        return view(svc.get_consignment(deps(), caller(), consignment_id))


@blp.route("/<consignment_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema(), required=False)
@blp.response(200, ConsignmentSchema)
@blp.alt_response(409, description="The courier already has the item.")
def cancel(data: dict, consignment_id: str) -> dict:
    """Cancel before the courier has the item; a booked order is cancelled with the courier too."""
    return view(svc.cancel_consignment(deps(), caller(), consignment_id, reason=(data or {}).get("reason")))


def printed(doc: label_svc.Printed) -> Response:
    return Response(
        doc.content,
        content_type=doc.content_type + ("; charset=utf-8" if doc.content_type.startswith("text/") else ""),
        headers={"Content-Disposition": f'inline; filename="{doc.filename}"', "Cache-Control": "private"},
    )


@blp.route("/<consignment_id>/address/confirm", methods=["POST"])
@blp.arguments(AddressConfirmSchema())
@blp.response(200, ConsignmentSchema)
@blp.alt_response(409, description="The address needs no confirmation, or it can no longer change.")
def confirm_address(data: dict, consignment_id: str) -> dict:
    """Confirm the 2025 ward of an address converted from a split commune; booking then goes ahead."""
    c = svc.confirm_address(deps(), caller(), consignment_id, ward_code=data["ward_code"], by=data["confirmed_by"])
    return view(c)


@blp.route("/<consignment_id>/label.pdf")
@blp.arguments(LabelFormatArgsSchema(), location="query")
@blp.response(
    200,
    description="The 100×150 mm label: PDF, or ZPL text with ?format=zpl&dpi=203|300.",
    content_type="application/pdf",
)
@blp.alt_response(409, description="Not booked yet.")
def label(args: dict, consignment_id: str) -> Response:
    """The consignment label: Code128 of the tracking code, QR of the tracking link and code, both address blocks."""
    return printed(label_svc.label(deps(), caller(), consignment_id, fmt=args["format"], dpi=args["dpi"]))


@blp.route("/<consignment_id>/slip.pdf")
@blp.response(
    200, description="The Phiếu gửi hồ sơ (A5), for both parties' signatures.", content_type="application/pdf"
)
def slip(consignment_id: str) -> Response:
    """The Phiếu gửi hồ sơ: parties, procedure, document list (originals marked), price, J+n, liability."""
    return printed(label_svc.slip(deps(), caller(), consignment_id))


def require_idempotency_header() -> Response | None:
    """flask-smorest answers a missing header with 422; the contract says 400, so check it first."""
    if request.method == "POST" and request.endpoint == "consignments.Consignments":
        caller()  # an unauthenticated request hears 401 first
        if request.headers.get("Idempotency-Key"):
            return None
        return error_response(
            400, "The Idempotency-Key header is required.", {"headers": {"Idempotency-Key": ["Missing."]}}
        )
    return None


blp.before_request(require_idempotency_header)
