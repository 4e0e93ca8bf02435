"""The citizen's area: the tracking page ``/t/<token>`` (``track``), the changes a citizen may make there behind a
one-time code (``actions``), and the counter's list of what citizens asked for (``requests``, ``/counter/requests``).

Every ``/t/`` page is rate-limited per address (Flask-Limiter on Redis), the code endpoints also per link. An unknown
or expired link gets the same generic page and the same 404 on every ``/t/`` address.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

bp = Blueprint("citizen", __name__, template_folder=str(Path(__file__).resolve().parent.parent / "templates"))

from postal_bridge.web.citizen import actions, requests, track  # noqa: E402  (their routes are on bp)

__all__ = ["actions", "bp", "requests", "track"]
