"""``/api/v1/privacy``: a citizen's data on request (Law 91/2025/QH15), admin keys only, every read audited.

``GET /export?phone=`` is the contract; ``POST /export`` with ``{"phone": …}`` does the same and keeps the phone
number out of URLs (proxies and access logs record query strings) — prefer it.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from postal_bridge.api.auth import caller, deps
from postal_bridge.services import privacy as svc

blp = Blueprint(
    "privacy", __name__, url_prefix="/api/v1/privacy", description="Personal data requests (admin keys only)."
)


class ExportArgsSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=32))


_DESCRIPTION = "Every consignment held for this phone number, with its personal data; an audit row is written."


@blp.route("/export", methods=["GET"])
@blp.arguments(ExportArgsSchema(), location="query")
@blp.response(200, description=_DESCRIPTION)
@blp.alt_response(403, description="Not an admin key.")
def export_get(args: dict) -> dict:
    """Export one citizen's data (data-subject request)."""
    return svc.export_citizen(deps(), caller(), args["phone"])


@blp.route("/export", methods=["POST"])
@blp.arguments(ExportArgsSchema())
@blp.response(200, description=_DESCRIPTION)
@blp.alt_response(403, description="Not an admin key.")
def export_post(args: dict) -> dict:
    """Export one citizen's data, the phone in the body (preferred: not logged with the URL)."""
    return svc.export_citizen(deps(), caller(), args["phone"])
