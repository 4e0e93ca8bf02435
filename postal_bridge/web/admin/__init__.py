"""``/admin``: the provincial office's administrator pages (role ``admin``) — overview, agencies, post offices, people,
API keys, courier and SMS settings, the outbox and its dead letters.

Every page is server-rendered and works without JavaScript; every form carries the CSRF token; every change goes
through ``services.admin`` (validated first, audited with before and after). Secrets — a new password, an API key, a
webhook secret — appear once, in the answer to the POST that made them, never in a URL, a flash message or a log.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from postal_bridge.web import nav
from postal_bridge.web.admin import agencies, api_keys, carriers, home, offices, outbox, users  # noqa: F401 - routes
from postal_bridge.web.admin.common import bp

__all__ = ["bp"]

nav.register("admin", "admin_web.home", _l("Tổng quan"), order=10)
nav.register("admin", "admin_web.agencies", _l("Đơn vị"), order=20)
nav.register("admin", "admin_web.offices", _l("Bưu cục"), order=30)
nav.register("admin", "admin_web.users", _l("Người dùng"), order=40)
nav.register("admin", "admin_web.api_keys", _l("Khóa API"), order=50)
nav.register("admin", "admin_web.carriers", _l("Hãng vận chuyển, SMS"), order=60)
nav.register("admin", "admin_web.outbox", _l("Hàng đợi"), order=70)
