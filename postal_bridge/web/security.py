"""What every page gets: CSRF on every form, rate limits shared by all web processes, and strict response headers.

* CSRF (Flask-WTF): every POST to a page needs the session's token, as a form field ``csrf_token`` or the
  ``X-CSRFToken`` header (for the pages' own JSON calls). The JSON API and the courier/SMS webhooks authenticate by
  bearer key or signature, carry no cookies, and are exempt.
* Rate limits (Flask-Limiter) live in Redis so every gunicorn process counts together; when Redis is down they fall
  back to a per-process count rather than failing the page.
* Content-Security-Policy allows only our own scripts and styles, no framing (``CSP_WASM`` adds WebAssembly for
  the clerk's scanning pages alone, which run the vendored barcode reader); ``Referrer-Policy: no-referrer`` so
  tracking links never leak in a Referer header.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)
# The clerk's scanning pages compile the vendored barcode reader (WebAssembly); no other page may.
CSP_WASM = CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)
# Paths served by the JSON API and the machine webhooks: bearer keys or signatures, never cookies.
MACHINE_PREFIXES = ("/api/", "/webhooks/")


def is_machine_request() -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def init_security(app: Flask, *, redis_url: str, secure_cookies: bool) -> None:
    app.config.update(
        WTF_CSRF_TIME_LIMIT=None,  # valid for the whole session: counters keep a page open all morning
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in before_request below, for pages only
        SESSION_COOKIE_NAME="pb_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Strict would drop the session when a citizen follows the SMS link
        SESSION_COOKIE_SECURE=secure_cookies,
        RATELIMIT_STORAGE_URI=redis_url or "memory://",
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _csrf() -> None:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not is_machine_request():
            csrf.protect()

    @app.after_request
    def _headers(response):
        if not is_machine_request():  # (the API's Swagger page keeps its own inline script)
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
