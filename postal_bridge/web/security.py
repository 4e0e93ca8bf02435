"""What every page gets: CSRF on every form, rate limits shared by all web processes, and strict response headers.

* CSRF (Flask-WTF): every POST to a page needs the session's token, as a form field ``csrf_token`` or the
  ``X-CSRFToken`` header (for the pages' own JSON calls). The JSON API and the courier/SMS webhooks authenticate by
  bearer key or signature, carry no cookies, and are exempt.
<<<<<<< HEAD
* Rate limits (Flask-Limiter, ``postal_bridge.ratelimits``) live in Redis so every gunicorn process counts together;
  when Redis is down they fall back to a per-process count rather than failing the page. Their values are settings.
* Text no database column can store — a NUL character (PostgreSQL refuses it) or a lone surrogate (not UTF-8) — in
  the path, the query, a header, a form field or a JSON body, and JSON nested too deeply to decode, are refused with
  400 before any view runs (found by fuzzing: each was a 500).
* Content-Security-Policy allows only our own scripts and styles (and WebAssembly, for the vendored barcode reader),
  no framing; ``Referrer-Policy: no-referrer`` so tracking links never leak in a Referer header.
=======
* Rate limits (Flask-Limiter) live in Redis so every gunicorn process counts together; when Redis is down they fall
  back to a per-process count rather than failing the page.
* Content-Security-Policy allows only our own scripts and styles, no framing (``CSP_WASM`` adds WebAssembly for
  the clerk's scanning pages alone, which run the vendored barcode reader); ``Referrer-Policy: no-referrer`` so
  tracking links never leak in a Referer header.
>>>>>>> main
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import BadRequest

from postal_bridge.ratelimits import limiter

csrf = CSRFProtect()

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


def unstorable(text: str) -> bool:
    """True for text with a NUL or a lone surrogate: no database column (and no UTF-8 encoder) takes it."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _strings(value: object) -> Iterable[str]:
    """Every string (keys too) in a parsed JSON document, without recursion (a deep document is no crash)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def bad_text_fields() -> dict[str, list[str]]:
    """Where the request carries unstorable text: location → names (``path``, ``query``, ``headers``, ``form``,
    ``json``). File uploads are bytes and are not looked at."""
    found: dict[str, list[str]] = {}
    if unstorable(request.path):
        found["path"] = [request.path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")]
    for location, pairs in (("query", request.args.items(multi=True)), ("headers", request.headers.items())):
        names = sorted({k for k, v in pairs if unstorable(k) or unstorable(v)})
        if names:
            found[location] = names
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Keep the raw body first: parsing the form consumes the stream, and a signed courier push (GHTK posts a
        # form) is verified over its raw bytes afterwards.
        request.get_data(cache=True, parse_form_data=False)
        names = sorted({k for k, v in request.form.items(multi=True) if unstorable(k) or unstorable(v)})
        if names:
            found["form"] = names
    elif request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # thousands of nested arrays: the JSON decoder gives up, which is no server error
            found["json"] = ["(nested too deeply)"]
        else:
            if any(unstorable(s) for s in _strings(body)):
                found["json"] = ["(body)"]
    return found


def _refuse_unstorable_text():
    found = bad_text_fields()
    if not found:
        return None
    if is_machine_request():
        exc = BadRequest()
        exc.data = {
            "message": "The request contains text no field accepts (a NUL character or invalid Unicode), or JSON "
            "nested too deeply.",
            "errors": {location: {name: ["Not acceptable."] for name in names} for location, names in found.items()},
        }
        raise exc
    from postal_bridge.web import TITLES, page_error

    return page_error(400, str(TITLES[422]))


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
    app.before_request(_refuse_unstorable_text)  # first: nothing below may meet such text

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
