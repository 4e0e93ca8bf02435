"""postal-bridge: sends administrative-procedure dossiers and results by post, and reports every outcome back."""

from __future__ import annotations

from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(settings: Any = None, *, container: Any = None, **overrides: Any) -> Flask:
    """The Flask application factory. ``settings`` defaults to the environment; ``container`` lets tests inject."""
    from postal_bridge.api import init_api
    from postal_bridge.bootstrap import build
    from postal_bridge.config import Settings
    from postal_bridge.logs import configure_logging
    from postal_bridge.web import init_web

    if container is None:
        settings = settings or Settings.from_env(**overrides)
        container = build(settings)
    settings = container.settings
    configure_logging(settings.log_level, json_logs=settings.log_json)
    app = Flask(__name__, instance_path=str(settings.instance_dir), static_folder="web/static")
    app.config.update(
        SECRET_KEY=settings.flask_secret(),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1 << 20,
    )
    app.extensions["postal_bridge"] = container
    init_api(app)
    init_web(app)
    return app
