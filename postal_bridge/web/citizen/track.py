"""``/t/<token>``: the citizen's tracking page. Status in words, the estimated delivery day, the timeline in local
time, the recipient masked (``Nguyễn T. H.``, ``09xx xxx 678``, ward and province), the agency and its hotline, the
postman's phone on the delivery day only, and the way to the changes a citizen may still make.

An unknown and an expired link both get ``citizen/unknown.html`` with 404 — the same bytes — after the same work as a
live page (the page is built for a stand-in and thrown away).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _

from postal_bridge.domain.citizen import Action
from postal_bridge.services import citizen
from postal_bridge.web.citizen import bp, grants, words
from postal_bridge.web.security import limiter

PAGES_PER_MINUTE = "60 per minute"  # every /t/ page together, per address
tracking_limit = limiter.shared_limit(PAGES_PER_MINUTE, scope="citizen-pages")


def deps():
    return current_app.extensions["postal_bridge"].deps


def now():
    return deps().clock.now()


@bp.context_processor
def _words() -> dict[str, Any]:
    return {
        "status_words": words.STATUS_WORDS,
        "source_words": words.SOURCE_WORDS,
        "action_words": words.ACTION_WORDS,
        "request_status_words": words.REQUEST_STATUS_WORDS,
        "closed_words": words.CLOSED_WORDS,
        "Action": Action,
    }


def dead_link():
    """The one answer for an unknown or expired link, on every /t/ address."""
    return render_template("citizen/unknown.html"), 404


def citizen_error(status: int, message: str, token: str | None = None, view=None):
    """An error page in the citizen's layout, with the way back to their tracking page (and, given the page's
    ``view`` — only once the link is known to be live — the agency's hotline)."""
    titles = {
        403: _("Cần mã xác thực"),
        409: _("Không thực hiện được"),
        422: _("Dữ liệu chưa đúng"),
        429: _("Quá nhiều yêu cầu"),
    }
    return render_template(
        "citizen/error.html",
        status=status,
        title=titles.get(status, titles[409]),
        message=message,
        token=token,
        view=view,
    ), status


@bp.errorhandler(429)
def _too_many(exc):
    if not request.path.startswith("/t/"):
        return current_app.extensions["postal_bridge.page_error"](429, "")
    message = _("Bạn đã thao tác quá nhiều lần trong thời gian ngắn. Hãy chờ một lát rồi thử lại.")
    return citizen_error(429, message, (request.view_args or {}).get("token"))


@bp.get("/t/<token>")
@tracking_limit
def track(token: str):
    found = citizen.lookup(deps(), token)
    page = render_template(
        "citizen/track.html", view=found.view, token=token, verified=grants.verified_actions(token, now())
    )
    if not found.live:
        return dead_link()
    return page
