"""The JSON API v1 (flask-smorest + marshmallow 4). OpenAPI is generated from this code."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask
from flask_smorest import Api

from postal_bridge.api.schemas import ErrorSchema

API_TITLE = "postal-bridge"
API_VERSION = "v1"
METHODS = ("get", "put", "post", "delete", "patch")
ADMIN_PREFIX = "/api/v1/admin/"  # every operation under it needs an admin key


class PostalApi(Api):
    """Our error body (with ``error``) in the spec, and no catch-all ``default`` response: every status an operation
    can answer is listed, so a client (and the schema fuzzer's status check) knows them all."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


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
    api = PostalApi(app)
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
    _document_errors(api)
    app.register_blueprint(webhooks.bp)  # not part of the OpenAPI: couriers' own formats
    _serve_swagger_assets(app)
    errors.register(app)
    return api


def _document_errors(api: Api) -> None:
    """The errors any operation may answer, added to each one (its own ``alt_response`` entries stay as written):
    401 for a missing or unknown key (every operation needs one), 400 for a body that is not JSON or text with a NUL
    or invalid Unicode anywhere in the request (``web.security``), 413 for a body over 1 MiB, 404 for an unknown
    or another agency's id in the path, 403 under /api/v1/admin/ for a key that is not an admin's. Every 4xx
    documented without a body gets the error schema."""
    components = api.spec.components
    error_content = {"application/json": {"schema": components.get_ref("schema", "Error")}}
    for path, item in api.spec._paths.items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            common = [401, 400]
            if "requestBody" in operation:
                common.append(413)
            if "{" in path:
                common.append(404)
            if path.startswith(ADMIN_PREFIX):
                common.append(403)
            for code in common:
                if str(code) not in responses:
                    responses[str(code)] = components.get_ref("response", HTTPStatus(code).name)
            for status, response in responses.items():
                if status.startswith("4") and "$ref" not in response and "content" not in response:
                    response["content"] = error_content


def _serve_swagger_assets(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    @app.get("/api/v1/docs-assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
