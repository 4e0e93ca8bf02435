"""``/admin``: the administrator's home — how many agencies, people and keys there are, how the outbox stands, and
the latest changes in the audit log. The province's delivery figures stay on ``/dashboard`` (linked, not copied)."""

from __future__ import annotations

from flask import render_template

from postal_bridge.services import admin as svc
from postal_bridge.web.admin.common import admin, bp, deps


@bp.get("")
def home():
    return render_template(
        "admin/home.html",
        counts=svc.overview(deps(), admin()),
        activity=svc.recent_activity(deps(), admin()),
    )
