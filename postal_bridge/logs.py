"""Logging: plain text for people at a terminal, JSON (python-json-logger) for machines. No personal data in logs."""

from __future__ import annotations

import logging
import sys

_configured = False


def configure_logging(level: str = "INFO", *, json_logs: bool = False) -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger("postal_bridge")
    root.setLevel(level)
    root.addHandler(handler)
    root.propagate = False
    _configured = True
