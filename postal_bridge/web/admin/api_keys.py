"""``/admin/api-keys``: the keys systems use to call the API — list per agency, create (the key and its webhook
secret shown once, on the answer to the POST), revoke (after a confirmation page), rotate the webhook secret (the new
one shown once; the old one keeps signing during the overlap), and set or clear the callback URL."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import Conflict, ValidationFailed
from postal_bridge.domain.webhooks import SECRET_OVERLAP
from postal_bridge.services import admin as svc
from postal_bridge.services.agencies import PRINTER_PROFILES
from postal_bridge.web.admin.common import (
    PRINTER_LABELS,
    admin,
    already_sent,
    bp,
    deps,
    field_errors,
    mark_sent,
    message_of,
    once_token,
    page_error,
    resent_page,
)

OVERLAP_HOURS = int(SECRET_OVERLAP.total_seconds() // 3600)


@bp.get("/api-keys")
def api_keys():
    agency = (request.args.get("agency") or "").strip().upper()
    agencies = svc.agencies(deps(), admin())
    known = {r.agency.code for r in agencies}
    listing = svc.keys(deps(), admin(), agency if agency in known else None)
    groups: dict[str, list] = {}
    for k in listing:
        groups.setdefault(k.agency_code, []).append(k)
    return render_template(
        "admin/api_keys.html", groups=groups, agencies=agencies, agency=agency if agency in known else ""
    )


def _new_form(values: dict[str, str], errors: dict[str, list[str]]):
    return render_template(
        "admin/api_key_new.html",
        values=values,
        errors=errors,
        agencies=svc.agencies(deps(), admin()),
        printers=[(p, PRINTER_LABELS[p]) for p in PRINTER_PROFILES],
    ), (422 if errors else 200)


@bp.route("/api-keys/new", methods=["GET", "POST"])
def api_key_new():
    if request.method == "GET":
        agency = (request.args.get("agency") or "").strip().upper()
        return _new_form({"agency": agency, "printer_profile": "pdf", "once": once_token()}, {})
    values = {k: (request.form.get(k) or "").strip() for k in ("agency", "name", "callback_url", "printer_profile")}
    values["scope"] = "admin" if request.form.get("scope") == "admin" else "agency"
    values["once"] = request.form.get("once") or ""
    if already_sent(values["once"]):
        return resent_page()
    try:
        issued = svc.create_key(
            deps(),
            admin(),
            agency_code=values["agency"],
            name=values["name"],
            callback_url=values["callback_url"] or None,
            admin_scope=values["scope"] == "admin",
            printer_profile=values["printer_profile"] or "pdf",
        )
    except ValidationFailed as exc:
        return _new_form(values, field_errors(exc))
    mark_sent(values["once"])
    return render_template("admin/api_key_secret.html", issued=issued, key=issued.key, created=True)


def _detail(key_id: str, errors: dict[str, list[str]] | None = None, callback_url: str | None = None):
    listing = svc.key(deps(), admin(), key_id)
    return render_template(
        "admin/api_key.html",
        k=listing,
        errors=errors or {},
        callback_url=listing.key.callback_url or "" if callback_url is None else callback_url,
        once=once_token(),
        overlap_hours=OVERLAP_HOURS,
        history=svc.audit_entries(deps(), admin(), f"api_key:{key_id}"),
        printer_labels=PRINTER_LABELS,
    ), (422 if errors else 200)


@bp.get("/api-keys/<key_id>")
def api_key(key_id: str):
    return _detail(key_id)


@bp.post("/api-keys/<key_id>/callback")
def api_key_callback(key_id: str):
    url = "" if request.form.get("clear") else (request.form.get("callback_url") or "").strip()
    try:
        changed = svc.set_callback_url(deps(), admin(), key_id, url or None)
    except ValidationFailed as exc:
        return _detail(key_id, field_errors(exc), url)
    except Conflict as exc:
        return page_error(409, message_of(exc))
    if changed.callback_url:
        flash(_("Đã lưu địa chỉ nhận thông báo."), "success")
    else:
        flash(_("Đã bỏ địa chỉ nhận thông báo: khóa này không nhận thông báo nữa."), "success")
    return redirect(url_for("admin_web.api_key", key_id=key_id), code=303)


@bp.post("/api-keys/<key_id>/rotate")
def api_key_rotate(key_id: str):
    token = request.form.get("once")
    if already_sent(token):
        return resent_page()
    try:
        overlap = int(request.form.get("overlap_hours") or OVERLAP_HOURS)
    except ValueError:
        overlap = -1
    try:
        rotated = svc.rotate_secret(deps(), admin(), key_id, overlap_hours=overlap)
    except ValidationFailed as exc:
        return _detail(key_id, field_errors(exc))
    mark_sent(token)
    listing = svc.key(deps(), admin(), key_id)
    return render_template("admin/api_key_secret.html", rotated=rotated, key=listing.key, created=False)


@bp.route("/api-keys/<key_id>/revoke", methods=["GET", "POST"])
def api_key_revoke(key_id: str):
    listing = svc.key(deps(), admin(), key_id)
    if request.method == "GET":
        if listing.key.revoked_at is not None:
            return redirect(url_for("admin_web.api_key", key_id=key_id))
        return render_template("admin/api_key_revoke.html", k=listing)
    try:
        svc.revoke_key(deps(), admin(), key_id)
    except Conflict as exc:
        return page_error(409, message_of(exc))
    flash(
        _("Đã thu hồi khóa %(prefix)s…: từ giờ mọi yêu cầu dùng khóa này bị từ chối.", prefix=listing.key.key_prefix),
        "success",
    )
    return redirect(url_for("admin_web.api_key", key_id=key_id), code=303)
