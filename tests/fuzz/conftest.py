"""A seeded world for the fuzz and security tests: two agencies, their keys, and real resources of agency A.

Everything is seeded through the JSON API, as the dossier system would, on the real database and Redis of
``tests/conftest.py``. The rate limits are raised here: the fuzzers send hundreds of requests a minute from one
address and one key, and ``test_enumeration.py`` lowers them again where the limits themselves are under test.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field, replace
from importlib import resources

import pytest

from tests.conftest import drain

AGENCY_A = "HCC-HN"
AGENCY_B = "HCC-TQ"
AGENCIES = {AGENCY_A: ("00004", "01"), AGENCY_B: ("02215", "08")}
# The create body of the API's own example (docs/openapi.json), so the docs' example is known to work.
DOSSIER_CODE = "000.00.12.H56-261115-0007"
UNLIMITED = "100000 per minute"


@pytest.fixture
def settings(settings):
    """The suite's settings with limits no fuzzer reaches."""
    return replace(settings, rate_limit_login=UNLIMITED, rate_limit_api_create=UNLIMITED)


@dataclass
class World:
    app: object
    container: object
    keys: dict[str, str]  # "a", "a_admin", "b" → raw API key
    ids: dict[str, list[str]] = field(default_factory=dict)  # resource kind → ids of agency A
    tokens: list[str] = field(default_factory=list)  # tracking tokens of agency A's consignments

    def headers(self, who: str = "a", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}", **extra}

    def call(self, method: str, path: str, who: str = "a", **kw):
        client = self.app.test_client()
        return client.open(path, method=method, headers=self.headers(who, **kw.pop("headers", {})), **kw)


def create_body(**changes) -> dict:
    from postal_bridge.api.schemas import CREATE_EXAMPLE

    body = copy.deepcopy(CREATE_EXAMPLE)
    body.update(changes)
    return body


def pickup_body() -> dict:
    body = create_body(kind="pickup")
    body["dossier"] = {"code": None, "procedure_code": "1.001229", "procedure_name": "Cấp Phiếu lý lịch tư pháp"}
    return body


@pytest.fixture
def world(container) -> World:
    """Agency A (Hà Nội) with a booked return, a return handed to the post (with an incident and a complaint), a
    requested pickup and a handover record; agency B (Tuyên Quang) with nothing; the demo post offices."""
    from postal_bridge import create_app
    from postal_bridge.services import agencies
    from postal_bridge.services.post_offices import load_post_offices_cli

    deps = container.deps
    for code, (ward, province) in AGENCIES.items():
        agencies.register_agency(
            deps, code=code, name=f"Trung tâm {code}", phone="02438253536", line="Số 1", ward_code=ward,
            province_code=province,
        )  # fmt: skip
    issued = {
        "a": agencies.create_api_key(deps, agency_code=AGENCY_A, name="fuzz-a"),
        "a_admin": agencies.create_api_key(deps, agency_code=AGENCY_A, name="fuzz-admin", admin=True),
        "b": agencies.create_api_key(deps, agency_code=AGENCY_B, name="fuzz-b"),
    }
    keys = {who: i.api_key for who, i in issued.items()}
    with resources.as_file(resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")) as path:
        assert load_post_offices_cli(deps, str(path)) == 0
    w = World(app=create_app(container=container), container=container, keys=keys)

    def create(body: dict) -> dict:
        resp = w.call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    booked, handed, pickup = create(create_body()), create(create_body()), create(pickup_body())
    drain(container)
    handover = w.call("POST", "/api/v1/handovers", json={"direction": "to_post", "consignment_ids": [handed["id"]]})
    assert handover.status_code == 201, handover.get_json()
    incident = w.call(
        "POST", f"/api/v1/consignments/{handed['id']}/incidents", json={"kind": "damaged", "description": "Rách bì"}
    )
    assert incident.status_code == 201, incident.get_json()
    complaint = w.call(
        "POST",
        f"/api/v1/consignments/{handed['id']}/complaints",
        json={"complainant": "citizen", "description": "Bì hồ sơ bị rách"},
    )
    assert complaint.status_code == 201, complaint.get_json()
    drain(container)
    w.ids = {
        "consignment_id": [booked["id"], handed["id"], pickup["id"]],
        "handover_id": [handover.get_json()["id"]],
        "incident_id": [incident.get_json()["id"]],
        "complaint_id": [complaint.get_json()["id"]],
        "api_key_id": [issued["a"].key.id],
    }
    w.tokens = [c["tracking_url"].rsplit("/", 1)[-1] for c in (booked, handed, pickup)]
    return w
