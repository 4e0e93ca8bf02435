"""``/admin/users``: people who sign in — list with role, place and status; create with a generated password (shown
once, on the answer to the POST); reset the password (shown once); disable or enable; unlock; change the name and
the desk's label format."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import Conflict, ValidationFailed
from postal_bridge.domain.model import Role
from postal_bridge.services import admin as svc
from postal_bridge.services.agencies import PRINTER_PROFILES
from postal_bridge.web.admin.common import (
    PRINTER_LABELS,
    USER_STATUS_LABELS,
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
from postal_bridge.web.auth import ROLE_NAMES

FIELDS = ("username", "full_name", "role", "agency", "post_office", "printer_profile")


def _choices():
    return {
        "roles": [(r.value, ROLE_NAMES[r]) for r in Role],
        "agencies": svc.agencies(deps(), admin()),
        "offices": svc.offices(deps(), admin()),
        "printers": [(p, PRINTER_LABELS[p]) for p in PRINTER_PROFILES],
        "role_names": {r.value: ROLE_NAMES[r] for r in Role},
        "status_labels": USER_STATUS_LABELS,
    }


@bp.get("/users")
def users():
    filters = {k: (request.args.get(k) or "").strip() for k in ("role", "agency", "office", "status")}
    rows = svc.users(
        deps(),
        admin(),
        role=filters["role"] or None,
        agency_code=filters["agency"] or None,
        office_code=filters["office"] or None,
        status=filters["status"] or None,
    )
    return render_template("admin/users.html", rows=rows, filters=filters, **_choices())


def _new_form(values: dict[str, str], errors: dict[str, list[str]]):
    return render_template("admin/user_new.html", values=values, errors=errors, **_choices()), (422 if errors else 200)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    if request.method == "GET":
        role = request.args.get("role") if request.args.get("role") in {r.value for r in Role} else "counter"
        return _new_form(
            {
                "role": role,
                "agency": (request.args.get("agency") or "").upper(),
                "post_office": request.args.get("post_office") or "",
                "printer_profile": "pdf",
                "once": once_token(),
            },
            {},
        )
    values = {k: (request.form.get(k) or "").strip() for k in (*FIELDS, "once")}
    if already_sent(values["once"]):
        return resent_page()
    try:
        user, password = svc.create_user(
            deps(),
            admin(),
            username=values["username"],
            role=values["role"],
            agency_code=values["agency"] or None,
            post_office_code=values["post_office"] or None,
            full_name=values["full_name"],
            printer_profile=values["printer_profile"] or "pdf",
        )
    except ValidationFailed as exc:
        return _new_form(values, field_errors(exc))
    mark_sent(values["once"])
    return render_template("admin/password.html", user=user, password=password, created=True)


def _detail(user_id: str, errors: dict[str, list[str]] | None = None, values: dict[str, str] | None = None):
    row = svc.user(deps(), admin(), user_id)
    values = values or {"full_name": row.user.full_name, "printer_profile": row.user.printer_profile}
    return render_template(
        "admin/user.html",
        row=row,
        values=values,
        errors=errors or {},
        once=once_token(),
        history=svc.audit_entries(deps(), admin(), f"user:{row.user.id}"),
        is_self=row.user.id == admin().user.id,
        **_choices(),
    ), (422 if errors else 200)


@bp.route("/users/<user_id>", methods=["GET", "POST"])
def user(user_id: str):
    if request.method == "GET":
        return _detail(user_id)
    values = {k: (request.form.get(k) or "").strip() for k in ("full_name", "printer_profile")}
    try:
        svc.update_user(
            deps(), admin(), user_id, full_name=values["full_name"], printer_profile=values["printer_profile"]
        )
    except ValidationFailed as exc:
        return _detail(user_id, field_errors(exc), values)
    flash(_("Đã lưu thông tin người dùng."), "success")
    return redirect(url_for("admin_web.user", user_id=user_id), code=303)


@bp.post("/users/<user_id>/reset-password")
def user_reset_password(user_id: str):
    token = request.form.get("once")
    if already_sent(token):
        return resent_page()
    try:
        password = svc.reset_password(deps(), admin(), user_id)
    except Conflict as exc:
        return page_error(409, message_of(exc))
    mark_sent(token)
    return render_template("admin/password.html", user=svc.user(deps(), admin(), user_id).user, password=password)


@bp.post("/users/<user_id>/disable")
def user_disable(user_id: str):
    try:
        svc.set_disabled(deps(), admin(), user_id, disabled=True)
    except Conflict as exc:
        return page_error(409, message_of(exc))
    flash(_("Đã vô hiệu hóa tài khoản; mọi phiên đăng nhập của tài khoản đã kết thúc."), "success")
    return redirect(url_for("admin_web.user", user_id=user_id), code=303)


@bp.post("/users/<user_id>/enable")
def user_enable(user_id: str):
    svc.set_disabled(deps(), admin(), user_id, disabled=False)
    flash(_("Đã cho phép tài khoản đăng nhập lại."), "success")
    return redirect(url_for("admin_web.user", user_id=user_id), code=303)


@bp.post("/users/<user_id>/unlock")
def user_unlock(user_id: str):
    svc.unlock_user(deps(), admin(), user_id)
    flash(_("Đã mở khóa tài khoản."), "success")
    return redirect(url_for("admin_web.user", user_id=user_id), code=303)
