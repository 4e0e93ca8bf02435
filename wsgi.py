"""WSGI entry point for any server: ``gunicorn wsgi:app``. A bad setting stops the process with one line."""

from __future__ import annotations

import sys

from postal_bridge import create_app
from postal_bridge.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None
