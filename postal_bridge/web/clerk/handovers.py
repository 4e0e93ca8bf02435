"""Handover sessions (bàn giao) on the clerk's device: open, scan into, confirm by both sides, print the Biên bản.

Confirming is a binding act (the Biên bản's signing time is the dossiers' legal submission time, QĐ 45/2016 Art 7.4),
so both sides prove who they are on the clerk's device: the clerk re-enters their own password
(``accounts.confirm_identity``) and the agency's counter staff enter theirs (``accounts.countersign``: checked with the
same lockout as signing in, no session opened). Then ``handover_sessions.confirm_session`` creates the record and
moves every item in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from postal_bridge.domain.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from postal_bridge.domain.model import HandoverDirection
from postal_bridge.domain.scans import ScanMode
from postal_bridge.services import accounts, agencies, handover_sessions
from postal_bridge.web.auth import current_user, translate_error
from postal_bridge.web.clerk import bp, clerk, clerk_page, deps
from postal_bridge.web.clerk.scan import recent_for, scan_strings, with_wasm
from postal_bridge.web.clerk.words import DIRECTIONS
from postal_bridge.web.security import limiter


def _fields(errors: dict[str, Any]) -> dict[str, list[str]]:
    return {k: [translate_error(str(m)) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _list_page(*, status: int = 200, errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None):
    return render_template(
        "clerk/handovers.html",
        sessions=handover_sessions.open_sessions(deps(), clerk()),
        agencies=agencies.list_agencies(deps()),
        directions=DIRECTIONS,
        errors=errors or {},
        form=form or {},
    ), status


@bp.get("/handovers")
@clerk_page
def handovers():
    return _list_page()


@bp.post("/handovers")
@clerk_page
def open_handover():
    form = {"direction": request.form.get("direction", ""), "agency_code": request.form.get("agency_code", "")}
    try:
        session = handover_sessions.open_session(deps(), clerk(), **form)
    except ValidationFailed as exc:
        return _list_page(status=422, errors=_fields(exc.errors), form=form)
    return redirect(url_for("clerk.handover", session_id=session.id), 303)


def _view(session_id: str):
    try:
        return handover_sessions.session_view(deps(), clerk(), session_id)
    except NotFound:
        abort(404)


def _session_page(
    session_id: str,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    problem: str | None = None,
):
    view = _view(session_id)
    user = current_user()
    last = next((v for v in recent_for(session_id) if v.get("client_event_id") == request.args.get("r")), None)
    response = current_app.make_response(
        (
            render_template(
                "clerk/handover.html",
                view=view,
                session=view.session,
                direction=HandoverDirection(view.session.direction),
                directions=DIRECTIONS,
                errors=errors or {},
                form=form or {"clerk_name": user.full_name if user else ""},
                problem=problem,
                strings=scan_strings(),
                recent=recent_for(session_id),
                last=last,
                mode=ScanMode.HANDOVER,
                new_event_id=str(uuid.uuid4()),
            ),
            status,
        )
    )
    return with_wasm(response)


@bp.get("/handovers/<session_id>")
@clerk_page
def handover(session_id: str):
    return _session_page(session_id)


CONFIRM_FIELDS = ("clerk_name", "agency_username", "agency_rep_name", "note")


@bp.post("/handovers/<session_id>/confirm")
@clerk_page
@limiter.limit("20 per minute")
def confirm(session_id: str):
    caller = clerk()
    _view(session_id)  # 404 before any password is looked at
    form = {k: request.form.get(k, "") for k in CONFIRM_FIELDS}
    user = current_user()
    assert user is not None
    client = request.remote_addr or ""
    purpose = f"handover_session:{session_id}"
    errors: dict[str, list[str]] = {}
    if not request.form.get("password"):
        errors["password"] = [_("Nhập mật khẩu của bạn để ký.")]
    if not form["agency_username"].strip():
        errors["agency_username"] = [_("Nhập tên đăng nhập của cán bộ cơ quan.")]
    if not request.form.get("agency_password"):
        errors["agency_password"] = [_("Cán bộ cơ quan nhập mật khẩu của mình để ký.")]
    if errors:
        return _session_page(session_id, status=422, errors=errors, form=form)
    try:
        accounts.confirm_identity(deps(), user, request.form["password"], client=client, purpose=purpose)
    except Unauthorized:
        errors["password"] = [_("Mật khẩu của bạn không đúng, hoặc tài khoản đang bị tạm khóa.")]
        return _session_page(session_id, status=422, errors=errors, form=form)
    try:
        rep = accounts.countersign(
            deps(), form["agency_username"], request.form["agency_password"], client=client, purpose=purpose
        )
    except Unauthorized:
        errors["agency_password"] = [
            _("Tên đăng nhập hoặc mật khẩu của cán bộ cơ quan không đúng, hoặc tài khoản không thuộc một cơ quan.")
        ]
        return _session_page(session_id, status=422, errors=errors, form=form)
    try:
        record = handover_sessions.confirm_session(
            deps(),
            caller,
            session_id,
            agency_rep=rep,
            clerk_name=form["clerk_name"],
            agency_rep_name=form["agency_rep_name"],
            note=form["note"],
        )
    except ValidationFailed as exc:
        found = _fields(exc.errors)
        if "agency_rep" in found:
            found["agency_username"] = found.pop("agency_rep")
        problem = " ".join(found.pop("session_id", [])) or None
        return _session_page(session_id, status=422, errors=found, form=form, problem=problem)
    except Conflict as exc:
        return _session_page(session_id, status=409, form=form, problem=translate_error(exc.message))
    flash(_("Hai bên đã xác nhận. Biên bản giao nhận %(id)s đã được lập.", id=record.id), "success")
    return redirect(url_for("clerk.handover", session_id=session_id), 303)


@bp.post("/handovers/<session_id>/cancel")
@clerk_page
def cancel(session_id: str):
    try:
        handover_sessions.cancel_session(deps(), clerk(), session_id)
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(translate_error(exc.message), "error")
        return redirect(url_for("clerk.handover", session_id=session_id), 303)
    flash(_("Đã hủy phiên bàn giao; không bưu gửi nào thay đổi."), "info")
    return redirect(url_for("clerk.handovers"), 303)


@bp.get("/handovers/<session_id>/bien-ban.pdf")
@clerk_page
def handover_pdf(session_id: str):
    try:
        printed = handover_sessions.session_pdf(deps(), clerk(), session_id)
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(translate_error(exc.message), "error")
        return redirect(url_for("clerk.handover", session_id=session_id), 303)
    response = current_app.response_class(printed.content, mimetype=printed.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{printed.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
