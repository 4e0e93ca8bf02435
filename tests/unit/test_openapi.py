"""The committed OpenAPI document must equal the one generated from the code (rewrite it with `make openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

from postal_bridge.cli import openapi_json

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    generated = openapi_json()
    assert json.loads(generated) == json.loads(COMMITTED.read_text(encoding="utf-8")), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_contract_paths_and_fields_are_documented() -> None:
    spec = json.loads(openapi_json())
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/consignments"])
    assert "get" in paths["/api/v1/consignments/{consignment_id}"]
    assert "post" in paths["/api/v1/consignments/{consignment_id}/cancel"]
    assert "get" in paths["/api/v1/consignments/{consignment_id}/label.pdf"]
    post = paths["/api/v1/consignments"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    consignment = spec["components"]["schemas"]["Consignment"]["properties"]
    for field in (
        "id",
        "kind",
        "status",
        "carrier",
        "tracking_code",
        "tracking_url",
        "label_url",
        "dossier",
        "citizen",
        "created_at",
        "events",
    ):
        assert field in consignment
