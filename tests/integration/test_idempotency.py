"""Idempotency-Key rules over HTTP against the real database: replay, mismatch, in flight, concurrency."""

from __future__ import annotations

import copy
import threading

import pytest
import requests

from postal_bridge.domain.model import IdempotencyRecord
from tests.conftest import register_hanoi
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes.server import LoopbackServer


@pytest.fixture
def api(container):
    from postal_bridge import create_app
    from postal_bridge.services import agencies

    register_hanoi(container.deps)
    issued = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="t")
    with LoopbackServer(create_app(container=container)) as web:
        yield web.url, issued, container


def _post(base: str, key: str, body: dict, idem: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/consignments",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
        timeout=30,
    )


def _count(base: str, key: str) -> int:
    r = requests.get(f"{base}/api/v1/consignments", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return r.json()["total"]


def test_same_key_same_body_replays_the_stored_response(api) -> None:
    base, issued, _ = api
    first = _post(base, issued.api_key, RETURN_BODY, "same")
    second = _post(base, issued.api_key, RETURN_BODY, "same")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert _count(base, issued.api_key) == 1


def test_same_key_other_body_is_422_and_stores_nothing_new(api) -> None:
    base, issued, _ = api
    assert _post(base, issued.api_key, RETURN_BODY, "k").status_code == 201
    other = copy.deepcopy(RETURN_BODY)
    other["parcel"]["weight_g"] = 400
    resp = _post(base, issued.api_key, other, "k")
    assert resp.status_code == 422
    assert resp.json()["message"].startswith("This Idempotency-Key was already used")
    assert _count(base, issued.api_key) == 1


def test_key_still_in_flight_is_409(api, clock) -> None:
    import hashlib
    import json

    from postal_bridge.domain.text import nfc_deep

    base, issued, container = api
    fingerprint = hashlib.sha256(
        json.dumps(nfc_deep(RETURN_BODY), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    with container.deps.uow() as uow:  # another request holds the key right now
        uow.idempotency.insert(
            IdempotencyRecord(principal_id=issued.key.id, key="busy", fingerprint=fingerprint, created_at=clock.now())
        )
        uow.commit()
    assert _post(base, issued.api_key, RETURN_BODY, "busy").status_code == 409
    clock.advance(container.deps.idempotency_stale_seconds + 1)  # the holder died before committing
    assert _post(base, issued.api_key, RETURN_BODY, "busy").status_code == 201
    assert _count(base, issued.api_key) == 1


def test_concurrent_requests_with_one_key_create_one_consignment(api) -> None:
    base, issued, _ = api
    results: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        r = _post(base, issued.api_key, RETURN_BODY, "race")
        with lock:
            results.append(r)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {201, 409}
    created_ids = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created_ids) == 1
    assert _count(base, issued.api_key) == 1


def test_keys_are_scoped_per_api_key(api, container) -> None:
    from postal_bridge.services import agencies

    base, issued, _ = api
    other = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="other system")
    a = _post(base, issued.api_key, RETURN_BODY, "shared-key")
    b = _post(base, other.api_key, RETURN_BODY, "shared-key")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
