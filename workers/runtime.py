"""The per-process container for jobs: built from the environment on first use, or installed by tests."""

from __future__ import annotations

import threading

from postal_bridge.bootstrap import Container

_lock = threading.Lock()
_container: Container | None = None


def install(container: Container | None) -> None:
    global _container
    with _lock:
        _container = container


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            from postal_bridge.bootstrap import build
            from postal_bridge.config import Settings

            _container = build(Settings.from_env())
        return _container
