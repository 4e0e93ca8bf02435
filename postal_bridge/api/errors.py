"""Every error is JSON ``{code, status, message, errors}``; domain errors map to HTTP statuses here."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from postal_bridge.domain.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NotFound,
    PostalBridgeError,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger("postal_bridge.api")

STATUS = [
    (ValidationFailed, 422),
    (IdempotencyKeyReused, 422),
    (IdempotencyKeyInUse, 409),
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
]
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def error_response(status: int, message: str, errors: dict | None = None, code: str | None = None):
    body = {
        "code": status,
        "status": REASONS.get(status) or _phrase(status),
        "message": message,
        "errors": errors or {},
    }
    if code:
        body["error"] = code
    resp = jsonify(body)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="postal-bridge"'
    return resp


def _page_error(status: int, message: str, ref: str | None = None):
    """People's pages answer errors as HTML in their language (``web`` installs the renderer); machines get JSON."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return None
    render = current_app.extensions.get("postal_bridge.page_error")
    return render(status, message, ref) if render else None


def register(app: Flask) -> None:
    @app.errorhandler(PostalBridgeError)
    def _domain(exc: PostalBridgeError):
        status = next((s for cls, s in STATUS if isinstance(exc, cls)), 400)
        errors = {"json": exc.errors} if isinstance(exc, ValidationFailed) else exc.errors
        return _page_error(status, exc.message) or error_response(status, exc.message, errors, exc.code)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        data = getattr(exc, "data", {}) or {}
        message = data.get("message") or exc.description or exc.name
        errors = data.get("messages") or data.get("errors") or {}
        return _page_error(exc.code or 500, message) or error_response(exc.code or 500, message, errors)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error", extra={"error_ref": ref})
        return _page_error(500, "", ref) or error_response(500, f"Internal error; reference {ref}.")
