"""The day's list, the "needs attention" list, and one consignment's page with its actions."""

from __future__ import annotations

from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import Conflict, ValidationFailed
from postal_bridge.domain.status import Kind, Status
from postal_bridge.services import counter as svc
from postal_bridge.services.labels import Printed
from postal_bridge.web.auth import agency_caller, require_role
from postal_bridge.web.counter import ROLES, bp, deps, translate, translated


@bp.get("/today")
@require_role(*ROLES)
def today():
    who = agency_caller()
    args = request.args
    day, errors = None, {}
    if args.get("day"):
        try:
            day = date.fromisoformat(args["day"])
        except ValueError:
            errors["day"] = [_("Ngày chưa đúng.")]
    filters = {k: args.get(k, "").strip() for k in ("status", "kind", "carrier", "q")}
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    try:
        listing = svc.day_list(
            deps(),
            who,
            day=day,
            status=filters["status"] or None,
            kind=filters["kind"] or None,
            carrier=filters["carrier"] or None,
            search=filters["q"] or None,
            page=page,
        )
    except ValidationFailed as exc:
        errors.update(translated(exc.errors))
        listing = svc.day_list(deps(), who, day=day)
        filters = dict.fromkeys(filters, "")
    return render_template(
        "counter/today.html",
        listing=listing,
        filters=filters,
        errors=errors,
        statuses=list(Status),
        kinds=[Kind.RETURN, Kind.PICKUP, Kind.TRANSFER],
        is_today=day is None or day == svc.local_today(deps().clock.now()),
    ), (400 if errors else 200)


@bp.get("/attention")
@require_role(*ROLES)
def attention():
    who = agency_caller()
    return render_template("counter/attention.html", groups=svc.attention(deps(), who))


@bp.get("/consignments/<consignment_id>")
@require_role(*ROLES)
def detail(consignment_id: str):
    who = agency_caller()
    return render_template(
        "counter/detail.html",
        d=svc.detail(deps(), who, consignment_id),
        tracking_url=deps().tracking_url,
        errors={},
    )


@bp.post("/consignments/<consignment_id>/cancel")
@require_role(*ROLES)
def cancel(consignment_id: str):
    who = agency_caller()
    try:
        svc.cancel(deps(), who, consignment_id, reason=request.form.get("reason", ""))
    except Conflict as exc:
        flash(translate("", exc.message), "error")
    else:
        flash(_("Đã hủy bưu gửi."), "success")
    return redirect(url_for("counter.detail", consignment_id=consignment_id), code=303)


@bp.post("/consignments/<consignment_id>/address")
@require_role(*ROLES)
def confirm_address(consignment_id: str):
    """Confirm (or correct, by choosing another candidate) the ward of an address from a split old commune."""
    who = agency_caller()
    back = request.form.get("back") == "attention"
    try:
        svc.confirm_address(deps(), who, consignment_id, ward_code=request.form.get("ward_code", ""))
    except ValidationFailed as exc:
        flash(" ".join(m for ms in translated(exc.errors).values() for m in ms), "error")
    except Conflict as exc:
        flash(translate("", exc.message), "error")
    else:
        flash(_("Đã xác nhận địa chỉ; bưu gửi sẽ được đặt với đơn vị chuyển phát."), "success")
    target = url_for("counter.attention") if back else url_for("counter.detail", consignment_id=consignment_id)
    return redirect(target, code=303)


def _document(printed: Printed) -> Response:
    return Response(
        printed.content,
        content_type=printed.content_type + ("; charset=utf-8" if printed.content_type.startswith("text/") else ""),
        headers={"Content-Disposition": f'inline; filename="{printed.filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/consignments/<consignment_id>/label")
@require_role(*ROLES)
def label(consignment_id: str):
    """Reprint the label in the desk's printer format (PDF, or ZPL for a thermal printer); logged as a reprint."""
    return _document(svc.reprint(deps(), agency_caller(), consignment_id, "label"))


@bp.get("/consignments/<consignment_id>/slip")
@require_role(*ROLES)
def slip(consignment_id: str):
    return _document(svc.reprint(deps(), agency_caller(), consignment_id, "slip"))
