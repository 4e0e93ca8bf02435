"""The JSON API v1 (flask-smorest + marshmallow 4). OpenAPI is generated from this code."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

API_TITLE = "postal-bridge"
API_VERSION = "v1"


def init_api(app: Flask) -> Api:
    from postal_bridge.api import (
        addresses,
        admin,
        carriers,
        consignments,
        dossiers,
        errors,
        incidents,
        paperwork,
        post_offices,
        privacy,
        reports,
        webhooks,
        webhooks_admin,
    )
    from postal_bridge.domain.webhooks import webhook_events_markdown

    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs-assets/",  # served locally (air-gapped counters, no CDN)
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Sends dossiers and results of administrative procedures by post (Decision 45/2016/QĐ-TTg). "
                    "Authenticate with `Authorization: Bearer <api_key>`; every POST that creates something needs "
                    "an `Idempotency-Key`. Status changes are pushed to the key's callback URL as Standard Webhooks "
                    "(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`)."
                )
                + "\n\n"
                + webhook_events_markdown(),
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "API key"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    api = Api(app)
    api.register_blueprint(consignments.blp)
    api.register_blueprint(carriers.blp)
    api.register_blueprint(paperwork.blp)
    api.register_blueprint(addresses.blp)
    api.register_blueprint(post_offices.blp)
    api.register_blueprint(dossiers.blp)
    api.register_blueprint(incidents.blp)
    api.register_blueprint(webhooks_admin.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(privacy.blp)
    api.register_blueprint(admin.blp)
    app.register_blueprint(webhooks.bp)  # not part of the OpenAPI: couriers' own formats
    _serve_swagger_assets(app)
    errors.register(app)
    return api


def _serve_swagger_assets(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    @app.get("/api/v1/docs-assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
