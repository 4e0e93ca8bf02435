"""Server-rendered pages (Flask + Jinja, Flask-Babel): sign-in, the staff areas, the citizen's tracking page, help.

Every core action works without JavaScript; scripts (``static/js``) only add scanning, type-ahead and offline work.
Areas register their blueprints in ``AREAS`` and their navigation entries with ``web.nav.register``.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

# Modules with a ``bp`` blueprint (and optionally ``init(app)``), registered in this order.
AREAS = (
    "postal_bridge.web.ops",
    "postal_bridge.web.pages",
    "postal_bridge.web.citizen",
    "postal_bridge.web.dashboard",
    "postal_bridge.web.admin",
    "postal_bridge.web.counter",
    "postal_bridge.web.clerk",
)


def init_web(app: Flask) -> None:
    from postal_bridge.web.auth import init_auth
    from postal_bridge.web.i18n import init_i18n
    from postal_bridge.web.security import init_security

    container = app.extensions["postal_bridge"]
    settings = container.settings
    secure = settings.env == "production" or settings.public_base_url.startswith("https://")
    init_security(app, redis_url=settings.redis_url, secure_cookies=secure)
    init_i18n(app)
    init_auth(app)
    from postal_bridge.web.labels import init_labels

    init_labels(app)
    app.extensions["postal_bridge.page_error"] = page_error

    version = static_version()

    @app.context_processor
    def _site() -> dict[str, Any]:
        return {"sandbox": settings.env != "production", "static_version": version}

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return page_error(400, _("Phiên làm việc đã hết hạn hoặc biểu mẫu đã cũ. Hãy tải lại trang và làm lại."))

    for name in AREAS:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)
        if hasattr(module, "init"):
            module.init(app)


TITLES = {
    400: _l("Yêu cầu không hợp lệ"),
    401: _l("Cần đăng nhập"),
    403: _l("Không có quyền truy cập"),
    404: _l("Không tìm thấy trang"),
    405: _l("Không hỗ trợ thao tác này"),
    409: _l("Không thực hiện được"),
    413: _l("Dữ liệu quá lớn"),
    422: _l("Dữ liệu chưa đúng"),
    429: _l("Quá nhiều yêu cầu"),
    500: _l("Đã có lỗi"),
    503: _l("Dịch vụ tạm dừng"),
}


def page_error(status: int, message: str, ref: str | None = None):
    """An error page in the user's language. Messages from the services are shown only for 4xx (they name the
    problem); a 500 shows just a reference to quote to the help desk."""
    title = str(TITLES.get(status, TITLES[500]))
    if status >= 500:
        message = _("Hệ thống gặp lỗi ngoài ý muốn. Hãy thử lại sau ít phút.")
    elif status == 404:
        message = _("Địa chỉ này không có trên hệ thống, hoặc bạn không có quyền xem.")
    elif status == 403:
        message = _("Tài khoản của bạn không được dùng trang này.")
    elif status == 429:
        message = _("Bạn đã thao tác quá nhiều lần trong thời gian ngắn. Hãy chờ một lát rồi thử lại.")
    return render_template("error.html", status=status, title=title, message=message, ref=ref), status


def static_version() -> str:
    """Cache-busting for scripts and styles: a digest of the static files' names, sizes and times."""
    root = Path(__file__).resolve().parent / "static"
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:10]


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
