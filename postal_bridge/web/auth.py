"""Signing in and out of the staff pages, the account page, and the guards every staff page uses.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure over HTTPS) carries only a random session token; the user
is looked up on the server for every request (``services.accounts.session_user``), so signing out or disabling a user
takes effect at once. ``require_role("counter")`` sends anonymous visitors to the sign-in page and answers 403 to
users of another role.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.errors import Unauthorized, ValidationFailed
from postal_bridge.domain.model import Role, User
from postal_bridge.ratelimits import login_limit
from postal_bridge.services import accounts
from postal_bridge.services.agencies import Caller
from postal_bridge.web import nav
from postal_bridge.web.security import limiter

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
SESSION_TOKEN = "sid"
ROLE_NAMES = {Role.COUNTER: _l("Cán bộ Một cửa"), Role.CLERK: _l("Nhân viên bưu chính"), Role.ADMIN: _l("Quản trị")}


def deps():
    return current_app.extensions["postal_bridge"].deps


def load_user() -> None:
    """Before each page: who is signed in (``g.user``), or nobody."""
    g.user = None
    if request.path.startswith(("/api/", "/webhooks/", "/static/")):
        return
    token = session.get(SESSION_TOKEN)
    if token:
        g.user = accounts.session_user(deps(), token)
        if g.user is None:
            session.pop(SESSION_TOKEN, None)


def current_user() -> User | None:
    return g.get("user")


def require_role(*roles: str) -> Callable[[F], F]:
    """Only signed-in users with one of these roles; anonymous visitors go to the sign-in page first."""
    allowed = {Role(r) for r in roles}

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def agency_caller() -> Caller:
    """The signed-in counter or admin user as a ``Caller`` of their agency (what the services take)."""
    user = current_user()
    if user is None:
        abort(401)
    try:
        return accounts.agency_caller(deps(), user)
    except Unauthorized:
        abort(403)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//evil`` or ``https://…``): an open redirect would help phishing."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def home():
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(nav.home_url(user.role))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        try:
            signed = accounts.sign_in(
                deps(), username, request.form.get("password") or "", client=request.remote_addr or ""
            )
        except Unauthorized:
            error = _("Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị tạm khóa.")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session after sign-in: no fixation
            if lang:
                session["lang"] = lang
            session[SESSION_TOKEN] = signed.token
            session.permanent = False
            return redirect(_safe_next(request.args.get("next")) or nav.home_url(signed.user.role), code=303)
    status = 401 if error else 200
    return render_template(
        "login.html",
        error=error,
        username=username,
        max_failures=accounts.MAX_FAILURES,
        lockout_minutes=int(accounts.LOCKOUT.total_seconds() // 60),
    ), status


@bp.post("/logout")
def logout():
    accounts.sign_out(deps(), session.get(SESSION_TOKEN))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@require_role("counter", "clerk", "admin")
def account():
    user = current_user()
    assert user is not None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        new = request.form.get("new_password") or ""
        if new != (request.form.get("confirm_password") or ""):
            errors["confirm_password"] = [_("Hai lần nhập mật khẩu mới không giống nhau.")]
        else:
            try:
                accounts.change_password(deps(), user, current=request.form.get("current_password") or "", new=new)
            except ValidationFailed as exc:
                errors = {k: [translate_error(m) for m in v] for k, v in exc.errors.items()}
            else:
                session.pop(SESSION_TOKEN, None)
                flash(_("Đã đổi mật khẩu. Hãy đăng nhập lại bằng mật khẩu mới."), "success")
                return redirect(url_for("auth.login"), code=303)
    return render_template(
        "account.html",
        errors=errors,
        role_name=ROLE_NAMES[user.role],
        min_password=accounts.MIN_PASSWORD,
    ), (422 if errors else 200)


# Messages from the services are English (they are shared with the JSON API); the pages show them in the user's
# language. Each page module may add its own with ``ERROR_MESSAGES.update(...)``.
# Messages with figures, matched whole: (pattern, render(match, translate_error)); see clerk/messages.py.
ERROR_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str], Callable[[str], str]], str]]] = []
ERROR_MESSAGES: dict[str, object] = {
    "The current password is not right.": _l("Mật khẩu hiện tại không đúng."),
    f"At least {accounts.MIN_PASSWORD} characters.": _l("Cần ít nhất %(n)s ký tự.", n=accounts.MIN_PASSWORD),
    "At most 256 characters.": _l("Tối đa 256 ký tự."),
    "Required.": _l("Bắt buộc."),
}


def translate_error(message: str) -> str:
    """A service's message in the page's language: a fixed sentence by lookup, one with figures by pattern
    (``ERROR_PATTERNS``, registered by the areas); unknown messages are shown as they are."""
    known = ERROR_MESSAGES.get(message)
    if known is not None:
        return str(known)
    for pattern, render in ERROR_PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return render(match, translate_error)
    return message


def init_auth(app) -> None:
    app.before_request(load_user)
    app.register_blueprint(bp)

    @app.context_processor
    def _user_context() -> dict[str, Any]:
        user = current_user()
        return {
            "current_user": user,
            "role_name": ROLE_NAMES.get(user.role) if user else None,
            "nav_items": nav.items_for(user.role) if user else [],
        }
