"""Liveness and readiness for load balancers and process managers."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    c = current_app.extensions["postal_bridge"]
    checks = {"database": "ok", "redis": "ok"}
    try:
        c.ping_database()
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        if not c.deps.jobs.ping():
            checks["redis"] = "error: not configured"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
