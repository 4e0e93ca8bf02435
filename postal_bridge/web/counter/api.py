"""The request screen's own JSON (``/counter/api/…``): signed-in staff by session cookie, never an API key. The
POST carries the CSRF token in ``X-CSRFToken`` like any form. Without JavaScript the same searches run server-side
from the form's "Tìm" buttons."""

from __future__ import annotations

from flask import jsonify, request

from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.text import nfc_deep
from postal_bridge.services import addresses
from postal_bridge.services import counter as svc
from postal_bridge.web.auth import agency_caller, require_role
from postal_bridge.web.counter import ROLES, bp, deps, translated


@bp.get("/api/provinces")
@require_role(*ROLES)
def api_provinces():
    agency_caller()
    return jsonify([{"code": code, "name": name} for code, name in addresses.provinces(deps())])


@bp.get("/api/provinces/<province_code>/wards")
@require_role(*ROLES)
def api_wards(province_code: str):
    agency_caller()
    try:
        rows = svc.wards_for(deps(), province_code, request.args.get("q"))
    except NotFound:
        return jsonify(error="unknown_province", wards=[]), 404
    except ValidationFailed as exc:
        return jsonify(error="invalid", errors=translated(exc.errors)), 422
    return jsonify([{"code": w.code, "name": w.name, "province_code": w.province_code} for w in rows])


@bp.post("/api/addresses/resolve")
@require_role(*ROLES)
def api_resolve():
    agency_caller()
    body = nfc_deep(request.get_json(silent=True) or {})
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return jsonify(error="invalid", errors={"text": ["Required."]}), 422
    try:
        r = addresses.resolve(deps(), text=text[: addresses.MAX_TEXT])
    except ValidationFailed as exc:
        return jsonify(error="invalid", errors=translated(exc.errors)), 422
    return jsonify(
        status=r.status,
        needs_confirmation=r.needs_confirmation,
        line=r.line,
        candidates=[
            {
                "ward_code": c.ward_code,
                "ward_name": c.ward_name,
                "province_code": c.province_code,
                "province_name": c.province_name,
                "line": c.line,
            }
            for c in r.candidates
        ],
    )
