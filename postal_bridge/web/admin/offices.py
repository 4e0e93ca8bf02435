"""``/admin/post-offices``: the post-office registry — list by province, one office's details (service area, clerks),
and loading a CSV in the ``postal-bridge load-post-offices`` format, with an error for every bad line."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.post_offices import CSV_COLUMNS
from postal_bridge.services import addresses
from postal_bridge.services import admin as svc
from postal_bridge.web.admin.common import admin, bp, deps, field_errors, translate


def _list(province: str, *, upload_errors=None, problems=None, status: int = 200):
    provinces = addresses.provinces(deps())
    known = dict(provinces)
    chosen = province if province in known else ""
    return render_template(
        "admin/offices.html",
        offices=svc.offices(deps(), admin(), chosen or None),
        provinces=provinces,
        province_names=known,
        province=chosen,
        columns=CSV_COLUMNS,
        errors=upload_errors or {},
        problems=problems or [],
        translate=translate,
    ), status


@bp.get("/post-offices")
def offices():
    return _list((request.args.get("province") or "").strip())


@bp.get("/post-offices/<code>")
def office(code: str):
    return render_template("admin/office.html", d=svc.office_detail(deps(), admin(), code))


@bp.post("/post-offices/upload")
def offices_upload():
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    try:
        result = svc.upload_offices(deps(), admin(), data)
    except ValidationFailed as exc:
        return _list("", upload_errors=field_errors(exc), status=422)
    if result.problems:
        return _list("", problems=result.problems, status=422)
    flash(
        _(
            "Đã nạp tệp: thêm %(created)s bưu cục, cập nhật %(updated)s, %(unchanged)s không đổi.",
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
        ),
        "success",
    )
    return redirect(url_for("admin_web.offices"), code=303)
