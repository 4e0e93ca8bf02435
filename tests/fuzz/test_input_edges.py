"""The inputs fuzzing turned into server errors, kept as regression cases on both databases.

Each was a 500 before its fix: text PostgreSQL cannot store (NUL) or no encoder can (a lone surrogate), JSON nested
deeper than the decoder goes, integers past 64 bits, and report dates whose local-day bounds overflow. Each must now
be a 4xx with the error body, change nothing, and be the same on SQLite and PostgreSQL (hence ``integration``).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.fuzz.conftest import create_body

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]


def _with(path: tuple[str, ...], value) -> dict:
    body = create_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


CREATE = "/api/v1/consignments"
CASES = {
    # name: (method, path, json body or raw text, extra headers, expected status)
    "NUL in a body field": ("POST", CREATE, _with(("parcel", "contents"), "Phiếu\x00"), {}, 400),
    "NUL in a JSON key": ("POST", "/api/v1/addresses/resolve", {"te\x00xt": "Láng Hạ"}, {}, 400),
    "NUL in the Idempotency-Key": ("POST", CREATE, create_body(), {"Idempotency-Key": "a\x00b"}, 400),
    "NUL in the query": ("GET", CREATE + "?dossier_code=000%00", None, {}, 400),
    "NUL in the path": ("GET", CREATE + "/abc%00def", None, {}, 400),
    "NUL in a dossier code": ("GET", "/api/v1/dossiers/000.00%00/events", None, {}, 400),
    "a lone surrogate": ("POST", CREATE, '{"kind": "return", "carrier": "\\ud800"}', {}, 400),
    "JSON nested 100,000 deep": ("POST", "/api/v1/quotes", "[" * 100_000 + "]" * 100_000, {}, 400),
    "a page past 64 bits": ("GET", CREATE + "?page=99999999999999999999", None, {}, 422),
    "a page at 2**63 - 1": ("GET", CREATE + "?page=9223372036854775807", None, {}, 422),
    "report from year 1": ("GET", "/api/v1/reports?from=0001-01-01&to=0001-01-01", None, {}, 422),
    "report to 9999-12-31": ("GET", "/api/v1/reports?from=9999-12-30&to=9999-12-31", None, {}, 422),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_input_is_a_client_error_not_a_crash(world, name: str) -> None:
    method, path, body, headers, expected = CASES[name]
    client = world.app.test_client()
    headers = world.headers(**{"Idempotency-Key": str(uuid.uuid4()), **headers})
    before = world.call("GET", "/api/v1/consignments", "a").get_json()["total"]
    if isinstance(body, str):
        answer = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
    else:
        answer = client.open(path, method=method, json=body, headers=headers)
    assert answer.status_code == expected, answer.get_data(as_text=True)[:300]
    error = answer.get_json()
    assert set(error) >= {"code", "status", "message", "errors"} and error["code"] == expected
    assert world.call("GET", "/api/v1/consignments", "a").get_json()["total"] == before


def test_huge_integers_in_bodies_are_refused(world) -> None:
    incident = world.ids["incident_id"][0]
    answer = world.call(
        "POST",
        f"/api/v1/incidents/{incident}/resolve",
        json={"fault_party": "post", "resolution": "Bồi thường", "compensation_vnd": 10**20},
    )
    assert answer.status_code == 422 and "compensation_vnd" in json.dumps(answer.get_json()["errors"])
    replay = world.call("POST", "/api/v1/admin/webhooks/replay", "a_admin", json={"ids": [2**64]})
    assert replay.status_code == 422


def test_a_page_with_a_nul_is_refused_with_a_page(world) -> None:
    answer = world.app.test_client().get("/t/AAAA%00AAAAAA")
    assert answer.status_code == 400 and answer.mimetype == "text/html"
