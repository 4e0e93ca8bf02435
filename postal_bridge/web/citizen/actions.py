"""The changes a citizen may make from the tracking page, each behind a one-time code sent to the registered phone.

``POST /t/<token>/code`` (the "Nhận mã" button, with the chosen action) sends the code, ``/t/<token>/verify`` takes
it (paste and autofill allowed: ``autocomplete="one-time-code"``), and a right code unlocks that action for ten
minutes in this browser (``grants``): ``/t/<token>/reschedule``, ``/t/<token>/hold``, ``/t/<token>/address``. Plain
forms, POST-redirect-GET with 303; nothing needs JavaScript. Once the item is out for delivery the buttons are gone
and every one of these addresses answers 409.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.citizen import OTP_LIFETIME, Action, CodeCheck, token_digest
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.services import citizen
from postal_bridge.web.auth import ERROR_MESSAGES, translate_error
from postal_bridge.web.citizen import bp, grants
from postal_bridge.web.citizen.track import citizen_error, dead_link, deps, now, tracking_limit
from postal_bridge.web.citizen.words import CLOSED_WORDS, CODE_WORDS
from postal_bridge.web.security import limiter


def _per_link() -> str:
    """Limits per tracking link (as well as per address): a code cannot be hammered from many addresses."""
    return "link:" + token_digest((request.view_args or {}).get("token", ""))[:16]


CODES_PER_ADDRESS = "20 per hour"
CODES_PER_LINK = "5 per 15 minutes"
TRIES_PER_ADDRESS = "30 per hour"
TRIES_PER_LINK = "10 per 15 minutes"
ERROR_MESSAGES.update(
    {
        citizen.NOT_OFFERED: _l("Hãy chọn một trong các ngày được đề xuất."),
        "Choose a ward of the list.": _l("Hãy chọn xã, phường trong danh sách."),
        "At most 200 characters.": _l("Tối đa 200 ký tự."),
        "Choose what you want to change.": _l("Hãy chọn việc bạn muốn làm."),
    }
)
REFUSALS = {
    citizen.TOO_MANY_CODES: _l(
        "Bạn đã nhận quá nhiều mã cho bưu gửi này trong 24 giờ qua. Hãy thử lại sau hoặc gọi đường dây nóng."
    ),
    citizen.CODE_NOT_SENT: _l(
        "Không gửi được mã đến số điện thoại đã đăng ký (số cố định hoặc tin nhắn đang tạm dừng). "
        "Hãy gọi đường dây nóng để được hỗ trợ."
    ),
    citizen.NO_OFFICE: _l("Chưa xác định được bưu cục gần địa chỉ của bạn. Hãy gọi đường dây nóng để được hỗ trợ."),
}
FORMS = {Action.RESCHEDULE: "citizen.reschedule", Action.HOLD: "citizen.hold", Action.ADDRESS: "citizen.address"}


def _action(value: str | None) -> Action | None:
    try:
        return Action(value or "")
    except ValueError:
        return None


def _refused(exc: Exception, token: str):
    """The shared answers: a dead link, too late to change, or a refusal the services name."""
    if isinstance(exc, NotFound):
        return dead_link()
    if not isinstance(exc, Conflict):
        raise exc
    view = citizen.tracking_view(deps(), token)  # the link is live: the page may show the hotline
    if isinstance(exc, citizen.ActionsClosed):
        return citizen_error(409, str(CLOSED_WORDS[exc.reason]), token, view)
    return citizen_error(409, str(REFUSALS.get(exc.message, translate_error(exc.message))), token, view)


def _errors(exc: ValidationFailed) -> dict[str, list[str]]:
    return {k: [translate_error(str(m)) for m in v] for k, v in exc.errors.items()}


# ------------------------------------------------------------------------------------------------------- the code


@bp.post("/t/<token>/code")
@tracking_limit
@limiter.limit(CODES_PER_ADDRESS)
@limiter.limit(CODES_PER_LINK, key_func=_per_link)
def send_code(token: str):
    action = _action(request.form.get("action"))
    if action is None:
        found = citizen.lookup(deps(), token)
        if not found.live:
            return dead_link()
        return citizen_error(422, _("Hãy chọn việc bạn muốn làm."), token)
    try:
        citizen.request_code(deps(), token, action.value)
    except (NotFound, Conflict) as exc:
        return _refused(exc, token)
    return redirect(url_for("citizen.enter_code", token=token, action=action.value), code=303)


@bp.get("/t/<token>/verify")
@tracking_limit
def enter_code(token: str):
    view = citizen.tracking_view(deps(), token)
    if view is None:
        return dead_link()
    action = _action(request.args.get("action"))
    if action is None:
        return redirect(url_for("citizen.track", token=token), code=303)
    if view.closed is not None:
        return citizen_error(409, str(CLOSED_WORDS[view.closed]), token)
    return _code_page(token, view, action, error=None)


def _code_page(token: str, view, action: Action, *, error: str | None, status: int = 200):
    return render_template(
        "citizen/code.html",
        token=token,
        view=view,
        action=action,
        error=error,
        minutes=int(OTP_LIFETIME.total_seconds() // 60),
    ), status


@bp.post("/t/<token>/verify")
@tracking_limit
@limiter.limit(TRIES_PER_ADDRESS)
@limiter.limit(TRIES_PER_LINK, key_func=_per_link)
def verify(token: str):
    action = _action(request.form.get("action"))
    try:
        if action is None:
            raise ValidationFailed({"action": ["Choose what you want to change."]})
        verified = citizen.verify_code(deps(), token, action.value, request.form.get("code", ""))
    except citizen.CodeRefused as exc:
        view = citizen.tracking_view(deps(), token)
        if view is None or action is None:
            return dead_link()
        if exc.reason == CodeCheck.WRONG:
            message = _("Mã chưa đúng. Bạn còn %(n)s lần thử.", n=exc.attempts_left)
        else:
            message = str(CODE_WORDS[exc.reason])
        return _code_page(token, view, action, error=message, status=422)
    except ValidationFailed:
        return redirect(url_for("citizen.track", token=token), code=303)
    except (NotFound, Conflict) as exc:
        return _refused(exc, token)
    grants.grant(token, verified.action, verified.until, now())
    return redirect(url_for(FORMS[verified.action], token=token), code=303)


# ---------------------------------------------------------------------------------------------------- the actions


def _unverified(token: str, action: Action):
    """``None`` when this browser entered the action's code in the last ten minutes; else the way to get one."""
    if grants.verified(token, action, now()):
        return None
    if request.method == "GET":
        flash(_("Hãy nhận mã xác thực và nhập mã trước khi thay đổi."), "warning")
        return redirect(url_for("citizen.track", token=token) + "#thay-doi", code=303)
    return citizen_error(403, _("Hãy nhận mã xác thực và nhập mã trước khi thay đổi."), token)


def _form_page(token: str, action: Action, *, errors=None, values=None, status: int = 200):
    try:
        form = citizen.action_form(deps(), token, action.value)
    except (NotFound, Conflict) as exc:
        return _refused(exc, token)
    templates = {
        Action.RESCHEDULE: "citizen/reschedule.html",
        Action.HOLD: "citizen/hold.html",
        Action.ADDRESS: "citizen/address.html",
    }
    return render_template(
        templates[action], token=token, form=form, view=form.view, errors=errors or {}, values=values or {}
    ), status


def _act(token: str, action: Action, fields: tuple[str, ...], do, said):
    """One change's page: locked without a code; GET shows the form; POST files it (``do(values)``), shows the
    form again with its errors, or goes back to the tracking page with what was recorded (``said(request)``)."""
    refused = _unverified(token, action)
    if refused is not None:
        return refused
    if request.method == "GET":
        return _form_page(token, action)
    values = {f: request.form.get(f, "") for f in fields}
    try:
        filed = do(values)
    except ValidationFailed as exc:
        return _form_page(token, action, errors=_errors(exc), values=values, status=422)
    except (NotFound, Conflict) as exc:
        return _refused(exc, token)
    flash(said(filed), "success")
    return redirect(url_for("citizen.track", token=token), code=303)


@bp.route("/t/<token>/reschedule", methods=["GET", "POST"])
@tracking_limit
def reschedule(token: str):
    return _act(
        token,
        Action.RESCHEDULE,
        ("date",),
        lambda v: citizen.reschedule(deps(), token, v["date"]),
        lambda filed: _(
            "Đã ghi nhận ngày phát bạn chọn: %(day)s. Bộ phận Một cửa sẽ báo bưu điện.",
            day=format_date(filed.day, "EEEE, dd/MM/yyyy"),
        ),
    )


@bp.route("/t/<token>/hold", methods=["GET", "POST"])
@tracking_limit
def hold(token: str):
    return _act(
        token,
        Action.HOLD,
        (),
        lambda v: citizen.hold_at_post_office(deps(), token),
        lambda filed: _(
            "Đã ghi nhận: bưu gửi sẽ được giữ tại %(office)s để bạn đến nhận. Hãy mang theo CCCD.",
            office=filed.details.get("post_office_name", ""),
        ),
    )


@bp.route("/t/<token>/address", methods=["GET", "POST"])
@tracking_limit
def address(token: str):
    return _act(
        token,
        Action.ADDRESS,
        ("line", "ward_code"),
        lambda v: citizen.request_address_change(deps(), token, line=v["line"], ward_code=v["ward_code"]),
        lambda filed: _(
            "Đã gửi yêu cầu đổi địa chỉ. Bộ phận Một cửa sẽ kiểm tra và liên hệ với bạn trước khi thay đổi."
        ),
    )
