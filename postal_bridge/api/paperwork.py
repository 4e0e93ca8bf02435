"""``/api/v1/labels`` (batch printing) and ``/api/v1/handovers`` (Biên bản giao nhận)."""

from __future__ import annotations

from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from postal_bridge.api.auth import caller, deps
from postal_bridge.api.consignments import printed
from postal_bridge.api.links import links
from postal_bridge.api.schemas import HandoverCreateSchema, HandoverSchema, LabelBatchSchema, LabelFormatArgsSchema
from postal_bridge.domain.commands import CreateHandover
from postal_bridge.domain.model import Handover
from postal_bridge.services import handovers as handover_svc
from postal_bridge.services import labels as label_svc

blp = Blueprint("paperwork", __name__, url_prefix="/api/v1", description="Batch labels and handover records.")


@blp.route("/labels", methods=["POST"])
@blp.arguments(LabelFormatArgsSchema(), location="query")
@blp.arguments(LabelBatchSchema())
@blp.response(200, description="One document, one label per page, in the order given.", content_type="application/pdf")
@blp.alt_response(404, description="An id is unknown, or another agency's consignment.")
def batch_labels(args: dict, data: dict) -> Response:
    """Print many labels at once: the ids given, or every booked consignment whose label was never printed."""
    return printed(label_svc.batch(deps(), caller(), data.get("ids"), fmt=args["format"], dpi=args["dpi"]))


def handover_view(h: Handover) -> dict:
    return {
        "id": h.id,
        "direction": h.direction.value,
        "consignment_ids": h.consignment_ids,
        "created_at": h.created_at,
        "created_by": h.created_by,
        "place": h.place,
        "pdf_url": url_for("paperwork.handover_pdf", handover_id=h.id),
    }


@blp.route("/handovers")
class Handovers(MethodView):
    @blp.arguments(HandoverCreateSchema())
    @blp.response(201, HandoverSchema)
    @blp.doc(
        **links(
            201,
            {
                "GetHandover": ("get", "/api/v1/handovers/{handover_id}", {"handover_id": "$response.body#/id"}),
                "GetHandoverPdf": ("get", "/api/v1/handovers/{handover_id}.pdf", {"handover_id": "$response.body#/id"}),
            },
        )
    )
    def post(self, data: dict) -> dict:
        """Record a handover between one-stop shop and post and move each consignment on it (all or none)."""
        cmd = CreateHandover(
            direction=data["direction"], consignment_ids=tuple(data["consignment_ids"]), place=data["place"]
        )
        return handover_view(handover_svc.create_handover(deps(), caller(), cmd))


@blp.route("/handovers/<handover_id>")
class HandoverById(MethodView):
    @blp.response(200, HandoverSchema)
    def get(self, handover_id: str) -> dict:
        """One handover record."""
        return handover_view(handover_svc.get_handover(deps(), caller(), handover_id))


@blp.route("/handovers/<handover_id>.pdf")
@blp.response(200, description="The Biên bản giao nhận (A4, several pages when long).", content_type="application/pdf")
def handover_pdf(handover_id: str) -> Response:
    """The Biên bản giao nhận hồ sơ with each consignment's slip number and tracking code, to sign."""
    return printed(handover_svc.handover_pdf(deps(), caller(), handover_id))
