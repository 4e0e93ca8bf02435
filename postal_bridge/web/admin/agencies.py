"""``/admin/agencies``: the one-stop centres and agencies — list, add, change name, phone, hotline and address; and a
look-up of 2025 ward codes by name for the address (works without JavaScript)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.phone import Phone
from postal_bridge.services import addresses
from postal_bridge.services import admin as svc
from postal_bridge.web.admin.common import admin, bp, deps, field_errors

FIELDS = ("code", "name", "phone", "hotline", "line", "province_code", "ward_code")


def display_phone(e164: str | None) -> str:
    return Phone(e164).display if e164 else ""


def _form(values: dict[str, str], errors: dict[str, list[str]], *, creating: bool, row=None):
    return render_template(
        "admin/agency_form.html",
        values=values,
        errors=errors,
        creating=creating,
        row=row,
        provinces=addresses.provinces(deps()),
    ), (422 if errors else 200)


@bp.get("/agencies")
def agencies():
    return render_template("admin/agencies.html", rows=svc.agencies(deps(), admin()), display_phone=display_phone)


@bp.route("/agencies/new", methods=["GET", "POST"])
def agency_new():
    values = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    if request.method == "GET":
        return _form(values, {}, creating=True)
    try:
        created = svc.create_agency(
            deps(),
            admin(),
            code=values["code"],
            name=values["name"],
            phone=values["phone"],
            hotline=values["hotline"],
            line=values["line"],
            ward_code=values["ward_code"],
            province_code=values["province_code"],
        )
    except ValidationFailed as exc:
        return _form(values, field_errors(exc), creating=True)
    flash(_("Đã thêm đơn vị %(code)s – %(name)s.", code=created.code, name=created.name), "success")
    return redirect(url_for("admin_web.agencies"), code=303)


@bp.route("/agencies/<code>", methods=["GET", "POST"])
def agency_edit(code: str):
    row = svc.agency(deps(), admin(), code)
    a = row.agency
    if request.method == "GET":
        values = {
            "code": a.code,
            "name": a.name,
            "phone": display_phone(a.phone),
            "hotline": display_phone(row.hotline),
            "line": a.address.line,
            "province_code": a.address.province_code,
            "ward_code": a.address.ward_code,
        }
        return _form(values, {}, creating=False, row=row)
    values = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    values["code"] = a.code
    try:
        svc.update_agency(
            deps(),
            admin(),
            a.code,
            name=values["name"],
            phone=values["phone"],
            hotline=values["hotline"],
            line=values["line"],
            ward_code=values["ward_code"],
            province_code=values["province_code"],
        )
    except ValidationFailed as exc:
        return _form(values, field_errors(exc), creating=False, row=row)
    flash(_("Đã lưu thông tin đơn vị %(code)s.", code=a.code), "success")
    return redirect(url_for("admin_web.agencies"), code=303)


@bp.get("/wards")
def wards():
    """Find a ward's 2025 code by its name within a province (for the address of an agency or a post office)."""
    province = (request.args.get("province") or "").strip()
    q = (request.args.get("q") or "").strip()[:100]
    found, error = [], None
    if province:
        try:
            found = addresses.wards(deps(), province, q or None, limit=30)
        except (NotFound, ValidationFailed):
            error = _("Hãy chọn một tỉnh, thành phố trong danh sách.")
    return render_template(
        "admin/wards.html",
        provinces=addresses.provinces(deps()),
        province=province,
        q=q,
        found=found,
        error=error,
        searched=bool(province),
    )
