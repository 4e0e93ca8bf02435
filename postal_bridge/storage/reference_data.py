"""Reference data files (holidays, routes, tariff): shipped defaults in ``postal_bridge/data`` or a province's own."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def load_json(default_name: str, override_path: str = "") -> dict[str, Any]:
    if override_path:
        return json.loads(Path(override_path).read_text(encoding="utf-8"))
    return json.loads(resources.files("postal_bridge.data").joinpath(default_name).read_text(encoding="utf-8"))
