"""``/api/v1/admin``: courier settings per agency (admin API keys only). Secrets are never echoed back."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from postal_bridge.api.auth import caller, deps
from postal_bridge.services import carriers as svc
from postal_bridge.services.agencies import require_admin

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Administration (admin keys only).")


class CarrierSettingsSchema(Schema):
    carrier = fields.String(dump_only=True)
    enabled = fields.Boolean()
    settings = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "secrets are shown masked; an empty value removes a key"},
    )


@blp.route("/agencies/<agency_code>/carriers")
class AgencyCarriers(MethodView):
    @blp.response(200, CarrierSettingsSchema(many=True))
    def get(self, agency_code: str) -> list[dict]:
        """Every courier configured for the agency, secrets masked."""
        require_admin(caller())
        return [
            {"carrier": c.carrier, "enabled": c.enabled, "settings": svc.masked(c.settings)}
            for c in svc.carrier_settings(deps(), agency_code)
        ]


@blp.route("/agencies/<agency_code>/carriers/<carrier>")
class AgencyCarrier(MethodView):
    @blp.arguments(CarrierSettingsSchema())
    @blp.response(200, CarrierSettingsSchema)
    def put(self, data: dict, agency_code: str, carrier: str) -> dict:
        """Merge settings for one courier (base URL, credentials, shop/customer ids, webhook secret, services)."""
        require_admin(caller())
        values = {k: str(v) for k, v in (data.get("settings") or {}).items()}
        if "enabled" in data:
            values["enabled"] = "1" if data["enabled"] else "0"
        config = svc.configure_carrier(deps(), agency_code=agency_code, carrier=carrier, values=values)
        return {"carrier": config.carrier, "enabled": config.enabled, "settings": svc.masked(config.settings)}
