"""Languages and times for the pages: Vietnamese by default, English on request; every time in Asia/Ho_Chi_Minh.

The source strings in templates and code are Vietnamese (the product's first language); the English catalogue lives in
``web/translations/en/LC_MESSAGES/<area>.po``, one file per area of the site so teams can translate side by side
(Flask-Babel merges them). ``?lang=en`` or ``?lang=vi`` switches and is remembered in the session; otherwise the
browser's ``Accept-Language`` decides among the two, and Vietnamese wins ties.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

from flask import Flask, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale

LANGUAGES = ("vi", "en")
TIMEZONE = "Asia/Ho_Chi_Minh"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# One catalogue (gettext domain) per area of the site; every one is merged into the request's translations.
DOMAINS = ("common", "counter", "clerk", "citizen", "admin")


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
        return wanted
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES, default="vi") or "vi"


def current_language() -> str:
    return str(get_locale() or "vi")


def local_datetime(value: datetime | None, fmt: str = "HH:mm dd/MM/yyyy") -> str:
    """A moment as people at the counter read it: local time, day/month/year."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def local_date(value: date | datetime | None, fmt: str = "dd/MM/yyyy") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, fmt)
    return format_date(value, fmt)


def vnd(amount: int | None) -> str:
    """Whole đồng with dot thousands, as printed on receipts: ``25.000 đ``."""
    if amount is None:
        return "—"
    return f"{amount:,}".replace(",", ".") + " đ"


def lang_url(code: str) -> str:
    """This page again in another language (the other query arguments kept). A query-only relative reference: the
    browser keeps the path, and a page never repeats its own path (a tracking token) in its body."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    query = "&".join(f"{quote(k)}={quote(v)}" for k, values in args.items() for v in values)
    return f"?{query}"


def init_i18n(app: Flask) -> Babel:
    existing = [d for d in DOMAINS if any(TRANSLATIONS.glob(f"*/LC_MESSAGES/{d}.mo"))] or ["common"]
    app.config.update(
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE=TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=";".join(str(TRANSLATIONS) for _ in existing),
        BABEL_DOMAIN=";".join(existing),
    )
    babel = Babel(app, locale_selector=select_locale, timezone_selector=lambda: TIMEZONE)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.filters.update(local_datetime=local_datetime, local_date=local_date, vnd=vnd)
    app.jinja_env.globals.update(current_language=current_language, lang_url=lang_url, LANGUAGES=LANGUAGES)
    return babel
