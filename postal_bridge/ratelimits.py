"""The one Flask-Limiter of the application, shared by the pages and the JSON API, and the configured limits.

Counts live in Redis (``RATELIMIT_STORAGE_URI``, set by ``web.security.init_security``) so every gunicorn process
counts together. The limits are read from the app's settings on each request, so a test (or a province) can lower
or raise them with ``POSTAL_BRIDGE_RATE_LIMIT_*`` without touching the decorators:

* ``RATE_LIMIT_LOGIN`` — sign-in attempts (POST /login) per client address;
* ``RATE_LIMIT_API_CREATE`` — POST /api/v1/consignments per API key (each one may book a billed courier order).

Past a limit the answer is 429 with ``Retry-After``: an HTML page for people, the JSON error body on the API.
"""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def _settings():
    return current_app.extensions["postal_bridge"].settings


def login_limit() -> str:
    return _settings().rate_limit_login


def api_create_limit() -> str:
    return _settings().rate_limit_api_create
