"""OpenAPI links: what a client (or a stateful fuzzer) can call next with an id from a response."""

from __future__ import annotations


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def links(status: int, targets: dict[str, tuple[str, str, dict[str, str]]]) -> dict:
    """``blp.doc`` argument linking ``status``'s response to ``targets``: name → (method, path, {param: expression})."""
    return {
        "responses": {
            status: {
                "links": {
                    name: {"operationRef": _ref(path, method), "parameters": params}
                    for name, (method, path, params) in targets.items()
                }
            }
        }
    }
