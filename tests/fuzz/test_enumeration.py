"""Probing for what is not yours: tracking-token enumeration, another agency's resources, and the rate limits.

* 1,000 random well-formed tracking tokens all answer 404 with one and the same body (no timing is asserted: timings
  belong in benchmarks).
* Agency B's key on every agency-A resource the API has — every operation of the spec with an id in its path, plus
  the batch operations that take ids in their body — answers 404 exactly like an unknown id; B's lists and reports
  hold none of A's data; a counter user of B sees none of A's data on the pages.
* Past their limits, /login, /t/<token> and POST /api/v1/consignments answer 429 with Retry-After; the API's limit
  is per key, the pages' per client address.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from dataclasses import replace

import pytest

from postal_bridge.cli import openapi_json
from postal_bridge.services import accounts
from tests.conftest import form_token
from tests.fuzz.conftest import AGENCY_B, DOSSIER_CODE, create_body

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]

TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
PASSWORD = "mật khẩu đủ dài"

# A valid body for each operation that acts on one of agency A's resources, so that only ownership can refuse it
# (an invalid body would be refused before the id is looked at, whoever owns it).
BODIES: dict[tuple[str, str], dict | None] = {
    ("get", "/api/v1/consignments/{consignment_id}"): None,
    ("get", "/api/v1/consignments/{consignment_id}/label.pdf"): None,
    ("get", "/api/v1/consignments/{consignment_id}/slip.pdf"): None,
    ("get", "/api/v1/consignments/{consignment_id}/incidents"): None,
    ("get", "/api/v1/consignments/{consignment_id}/complaints"): None,
    ("post", "/api/v1/consignments/{consignment_id}/cancel"): {"reason": "Thử"},
    ("post", "/api/v1/consignments/{consignment_id}/address/confirm"): {"ward_code": "00004", "confirmed_by": "B"},
    ("post", "/api/v1/consignments/{consignment_id}/incidents"): {"kind": "damaged", "description": "Rách bì"},
    ("post", "/api/v1/consignments/{consignment_id}/complaints"): {"complainant": "agency", "description": "Chậm"},
    ("get", "/api/v1/handovers/{handover_id}"): None,
    ("get", "/api/v1/handovers/{handover_id}.pdf"): None,
    ("post", "/api/v1/incidents/{incident_id}/resolve"): {"fault_party": "post", "resolution": "Bồi thường"},
    ("post", "/api/v1/complaints/{complaint_id}/resolve"): {"outcome": "Đúng", "fault_party": "post"},
    ("post", "/api/v1/complaints/{complaint_id}/paid"): None,
    ("get", "/api/v1/dossiers/{dossier_code}/events"): None,
    ("post", "/api/v1/dossiers/{dossier_code}/events"): {
        "type": "appointment_changed",
        "appointment_date": "2026-12-01",
    },
}
# Path parameters that are not an agency's resources (reference data, or admin operations on the province).
SHARED_PARAMETERS = {"code", "province_code", "agency_code", "carrier", "api_key_id"}
UNKNOWN = {
    "consignment_id": lambda: str(uuid.uuid4()),
    "handover_id": lambda: str(uuid.uuid4()),
    "incident_id": lambda: str(uuid.uuid4()),
    "complaint_id": lambda: str(uuid.uuid4()),
    "dossier_code": lambda: "000.00.12.H56-261115-9999",
}


def _agency_operations() -> list[tuple[str, str, str]]:
    """(method, path, parameter) of every operation of the spec addressing one agency resource by its path."""
    spec = json.loads(openapi_json())
    found = []
    for path, item in spec["paths"].items():
        if path == "/api/v1/dossiers/{dossier_code}":
            # A snapshot is keyed by agency and code: another agency's PUT of the same code stores its own dossier
            # (not a 404), and its GET answering 404 like an unknown code is checked in
            # tests/integration/test_dossier_snapshots.py::test_each_agency_sees_only_its_own_snapshots.
            continue
        for method in item:
            names = set(re.findall(r"{(\w+)}", path)) - SHARED_PARAMETERS
            if method in ("get", "post", "put", "patch", "delete") and names:
                (name,) = names
                found.append((method, path, name))
    return sorted(found)


def _same_as_unknown(world, method: str, path: str, name: str, real: str, body: dict | None) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "post" else {}
    unknown = UNKNOWN[name]()
    theirs = world.call(method.upper(), path.replace("{" + name + "}", real), "b", json=body, headers=headers)
    nobody = world.call(method.upper(), path.replace("{" + name + "}", unknown), "b", json=body, headers=headers)
    assert (theirs.status_code, nobody.status_code) == (404, 404), (path, theirs.get_json(), nobody.get_json())
    assert theirs.get_data(as_text=True).replace(real, "<id>") == nobody.get_data(as_text=True).replace(unknown, "<id>")
    assert theirs.headers.get("Content-Type") == nobody.headers.get("Content-Type")


# -- tracking tokens --------------------------------------------------------------------------------------------------


def test_a_thousand_random_tracking_tokens_are_all_the_same_404(world) -> None:
    client = world.app.test_client()
    rng = random.Random(20261202)
    length = len(world.tokens[0])
    tokens = {"".join(rng.choice(TOKEN_ALPHABET) for _ in range(length)) for _ in range(1000)} - set(world.tokens)
    # Near misses of a real token too: one character changed, the case flipped, one character short or long.
    real = world.tokens[0]
    tokens |= {real[:-1] + ("A" if real[-1] != "A" else "B"), real.swapcase(), real[:-1], real + "x"} - {real}
    bodies = set()
    for n, token in enumerate(sorted(tokens)):  # one address each: main's 60-a-minute limit is tested below
        answer = client.get(f"/t/{token}", environ_base={"REMOTE_ADDR": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"})
        assert answer.status_code == 404, token
        # The page links to itself in English (/t/<token>?lang=en): that echo of the request is the only difference.
        bodies.add(answer.get_data(as_text=True).replace(token, "<token>"))
    assert len(bodies) == 1, "unknown tokens must all get one and the same page"
    assert client.get(f"/t/{real}").status_code == 200  # the page itself works: the 404s are not a broken route


# -- another agency ---------------------------------------------------------------------------------------------------


def test_every_resource_operation_of_the_spec_is_covered_here() -> None:
    """A new operation on an agency's resource must be added to BODIES, and so to the cross-agency check."""
    assert {(m, p) for m, p, _ in _agency_operations()} == set(BODIES)


@pytest.mark.parametrize(("method", "path", "name"), _agency_operations(), ids=str)
def test_another_agencys_resource_is_404_like_an_unknown_id(world, method: str, path: str, name: str) -> None:
    real = DOSSIER_CODE if name == "dossier_code" else world.ids[name][-1]
    before = _snapshot(world)
    _same_as_unknown(world, method, path, name, real, BODIES[(method, path)])
    assert _snapshot(world) == before, "another agency's request changed agency A's data"
    if method == "get":  # and it is there for its owner
        assert world.call("GET", path.replace("{" + name + "}", real), "a").status_code == 200


def _snapshot(world) -> list:
    """What agency A can read of its own resources."""
    seen = []
    for cid in world.ids["consignment_id"]:
        for suffix in ("", "/incidents", "/complaints"):
            seen.append(world.call("GET", f"/api/v1/consignments/{cid}{suffix}", "a").get_json())
    seen.append(world.call("GET", f"/api/v1/dossiers/{DOSSIER_CODE}/events", "a").get_json())
    seen.append(world.call("GET", "/api/v1/complaints", "a").get_json())
    return seen


def test_batch_operations_refuse_another_agencys_ids_like_unknown_ones(world) -> None:
    """Ids in a body: 404 for the label batch, 422 naming the item for a handover; for A's ids as for unknown ones."""
    for path, body_of in (
        ("/api/v1/labels", lambda cid: {"ids": [cid]}),
        ("/api/v1/handovers", lambda cid: {"direction": "to_post", "consignment_ids": [cid]}),
    ):
        real, unknown = world.ids["consignment_id"][0], str(uuid.uuid4())
        theirs = world.call("POST", path, "b", json=body_of(real))
        nobody = world.call("POST", path, "b", json=body_of(unknown))
        assert theirs.status_code == nobody.status_code and theirs.status_code in (404, 422), theirs.get_json()
        assert _page(theirs).replace(real, "<id>") == _page(nobody).replace(unknown, "<id>")


def _page(answer) -> str:
    """The page without its CSRF token: signed with the time, two tokens a second apart differ."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', answer.get_data(as_text=True))


def test_another_agencys_lists_and_reports_hold_nothing_of_agency_a(world) -> None:
    a_ids = set(world.ids["consignment_id"])
    listed = world.call("GET", "/api/v1/consignments?per_page=100", "b").get_json()
    assert listed["total"] == 0 and listed["items"] == []
    assert world.call("GET", "/api/v1/consignments?per_page=100", "a").get_json()["total"] == len(a_ids)
    assert world.call("GET", "/api/v1/complaints", "b").get_json()["items"] == []
    attention = json.dumps(world.call("GET", "/api/v1/attention", "b").get_json())
    assert not any(cid in attention for cid in a_ids)
    report = world.call("GET", "/api/v1/reports?from=2026-01-01&to=2027-12-31", "b").get_json()
    assert report["total"]["volume"]["total"] == 0
    mine = world.call("GET", "/api/v1/reports?from=2026-01-01&to=2027-12-31", "a").get_json()
    assert mine["total"]["volume"]["total"] == len(a_ids)
    for token in world.tokens:  # the citizen's link is public by design, but B's key cannot turn it into data
        assert token not in json.dumps(listed)


def _page_rules(app) -> list[tuple[str, str]]:
    """The staff pages addressing one agency resource: (rule, its id variable)."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/", "/t/")) or "GET" not in rule.methods:
            continue
        names = set(rule.arguments) & set(UNKNOWN)
        if names:
            rules.append((rule.rule, names.pop()))
    return rules


def test_a_counter_user_of_another_agency_sees_none_of_agency_a(world) -> None:
    accounts.create_user(
        world.container.deps,
        username="lan.tq",
        role="counter",
        agency_code=AGENCY_B,
        password=PASSWORD,
        full_name="Lan",
    )
    client = world.app.test_client()
    signed = client.post("/login", data={"username": "lan.tq", "password": PASSWORD, "csrf_token": form_token(client)})
    assert signed.status_code == 303
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<span class="v">0</span>Tổng số bưu gửi', dashboard), "B's dashboard counts A's items"
    # Every page taking a resource id (the counter's own pages, as they are added) hides A's like unknown ones.
    for rule, name in _page_rules(world.app):
        real = DOSSIER_CODE if name == "dossier_code" else world.ids[name][0]
        unknown = UNKNOWN[name]()
        theirs = client.get(re.sub(r"<(?:\w+:)?" + name + ">", real, rule))
        nobody = client.get(re.sub(r"<(?:\w+:)?" + name + ">", unknown, rule))
        assert (theirs.status_code, nobody.status_code) == (404, 404), rule
        assert _page(theirs).replace(real, "<id>") == _page(nobody).replace(unknown, "<id>")


def _page(answer) -> str:
    """The page without its CSRF token: signed with the time, two tokens a second apart differ."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', answer.get_data(as_text=True))


# -- rate limits ------------------------------------------------------------------------------------------------------


@pytest.fixture
def limited(world):
    """The same world behind an app with low limits (the settings are read on every request)."""
    from postal_bridge import create_app

    low = replace(
        world.container.settings,
        rate_limit_login="3 per minute",
        rate_limit_api_create="3 per minute",
    )
    return create_app(container=replace(world.container, settings=low))


def test_sign_in_answers_429_past_its_limit_per_address(limited) -> None:
    client = limited.test_client()
    token = form_token(client)
    for _ in range(3):
        wrong = client.post("/login", data={"username": "nobody", "password": "sai", "csrf_token": token})
        assert wrong.status_code == 401
    refused = client.post("/login", data={"username": "nobody", "password": "sai", "csrf_token": token})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) > 0
    assert "Quá nhiều yêu cầu" in refused.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only sign-in attempts count
    other = limited.test_client()  # another address has its own count
    data = {"username": "nobody", "password": "sai", "csrf_token": form_token(other)}
    assert other.post("/login", data=data, environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 401


def test_the_tracking_page_answers_429_past_its_limit_for_known_and_unknown_tokens(world, limited) -> None:
    """The citizen pages' own limit (web/citizen/track.py PAGES_PER_MINUTE, 60 a minute per address) counts
    known and unknown tokens together."""
    from postal_bridge.web.citizen.track import PAGES_PER_MINUTE

    allowed = int(PAGES_PER_MINUTE.split()[0])
    client = limited.test_client()
    for i in range(allowed):
        token = world.tokens[i % 2] if i % 3 == 0 else f"{i:011d}".replace("0", "A")
        assert client.get(f"/t/{token}").status_code in (200, 404)
    for token in ("DDDDDDDDDDD", world.tokens[0]):
        refused = client.get(f"/t/{token}")
        assert refused.status_code == 429 and refused.mimetype == "text/html"
        assert int(refused.headers["Retry-After"]) > 0
    assert (
        limited.test_client().get(f"/t/{world.tokens[0]}", environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code
        == 200
    )


def test_creating_consignments_answers_429_past_the_keys_limit(world, limited) -> None:
    client = limited.test_client()

    def create(who: str):
        return client.post(
            "/api/v1/consignments",
            json=create_body(),
            headers=world.headers(who, **{"Idempotency-Key": str(uuid.uuid4())}),
        )

    before = world.call("GET", "/api/v1/consignments", "a").get_json()["total"]
    assert [create("a").status_code for _ in range(3)] == [201, 201, 201]
    refused = create("a")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    body = refused.get_json()
    assert body["code"] == 429 and body["status"] == "Too Many Requests" and set(body) >= {"message", "errors"}
    assert world.call("GET", "/api/v1/consignments", "a").get_json()["total"] == before + 3  # nothing stored
    assert create("b").status_code == 201  # the limit is the key's, not the address's
    # A request without a valid key is told 401, and does not use up anyone's allowance.
    anonymous = client.post("/api/v1/consignments", json=create_body(), headers={"Idempotency-Key": "x"})
    assert anonymous.status_code == 401
