"""The postal clerk's pages (nhân viên bưu chính): the day's worklist, scanning, handover sessions, delivery outcomes.

URLs (all for the ``clerk`` role; another office's items answer 404, exactly like unknown ones):

* ``/clerk`` — today's worklist of the clerk's post office, by pile, and the open handover sessions;
* ``/clerk/scan`` — the scan page: one always-focused input for keyboard-wedge scanners (code + Enter), the phone's
  camera (``BarcodeDetector``, or the vendored polyfill), a mode; ``POST /clerk/api/scans`` takes JSON batches from
  the page and its offline queue (IndexedDB, idempotent by ``client_event_id``); ``/clerk/sw.js`` is the service
  worker that opens the page offline;
* ``/clerk/handovers`` and ``/clerk/handovers/<id>`` — handover sessions (bàn giao): expected vs scanned, missing and
  extra, both sides confirm, then ``/clerk/handovers/<id>/bien-ban.pdf``;
* ``/clerk/items/<code>`` — one item with the outcome buttons (delivered, failed with the legal reason, returned to
  the agency) and the scan steps it can take now.

Without JavaScript every action is a plain form with POST-redirect-GET; the scripts in ``static/js/clerk/`` add the
focus keeping, local S10 check, sounds, camera and offline queue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, jsonify
from flask_babel import lazy_gettext as _l

from postal_bridge.domain.errors import Forbidden
from postal_bridge.services.clerk_scope import ClerkCaller, clerk_caller
from postal_bridge.web import nav
from postal_bridge.web.auth import ERROR_MESSAGES, ERROR_PATTERNS, current_user, require_role
from postal_bridge.web.clerk.messages import PATTERNS
from postal_bridge.web.clerk.words import SERVICE_MESSAGES

bp = Blueprint("clerk", __name__, url_prefix="/clerk")
F = TypeVar("F", bound=Callable[..., Any])

nav.register("clerk", "clerk.worklist", _l("Việc hôm nay"), order=10)
nav.register("clerk", "clerk.scan", _l("Quét mã"), order=20)
nav.register("clerk", "clerk.handovers", _l("Bàn giao"), order=30)
ERROR_MESSAGES.update(SERVICE_MESSAGES)
ERROR_PATTERNS.extend(PATTERNS)


def deps():
    return current_app.extensions["postal_bridge"].deps


def clerk() -> ClerkCaller:
    """The signed-in clerk as the services take them (403 for an account that is not an active clerk's)."""
    user = current_user()
    if user is None:
        abort(401)
    try:
        return clerk_caller(user)
    except Forbidden:
        abort(403)


def clerk_page(view: F) -> F:
    """A page for clerks: anonymous visitors go to the sign-in page first, other roles get 403."""
    return require_role("clerk")(view)


def clerk_json(view: F) -> F:
    """A JSON endpoint of the clerk's pages: signed-in session (and CSRF header), answered in JSON even when refused."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return jsonify(error="unauthorized", message="Sign in again."), 401
        try:
            clerk_caller(user)
        except Forbidden:
            return jsonify(error="forbidden", message="Only active postal clerks of a post office."), 403
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def init(app) -> None:
    from postal_bridge.domain import s10
    from postal_bridge.web.clerk import words

    app.jinja_env.globals.update(clerk_words=words)
    app.jinja_env.filters["s10_spaced"] = s10.spaced


from postal_bridge.web.clerk import handovers, items, scan  # noqa: E402  (routes on ``bp``)

__all__ = ["bp", "clerk", "clerk_json", "clerk_page", "deps", "handovers", "items", "scan"]
