"""Events from the one-stop dossier system (``POST /api/v1/dossiers/<code>/events``) through HTTP, on the real DB and
Redis, with the sandbox courier and a fake dossier system on loopback receiving our signed callbacks.
"""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import drain
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

CODE = RETURN_BODY["dossier"]["code"]  # 000.00.12.H56-261115-0007
EVENTS = f"/api/v1/dossiers/{CODE.lower()}/events"  # matched case-insensitively


@pytest.fixture
def api(container, clock):
    from postal_bridge import create_app
    from postal_bridge.api.dossiers import blp
    from postal_bridge.services import agencies

    for code, ward, province in (("HCC-HN", "00004", "01"), ("HCC-TQ", "02215", "08")):
        agencies.register_agency(
            container.deps,
            code=code,
            name=f"Trung tâm Phục vụ hành chính công {code}",
            phone="02438253536",
            line="Số 1",
            ward_code=ward,
            province_code=province,
        )
    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp())
    with LoopbackServer(receiver.app) as hook:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        keys = {
            "HCC-HN": issued.api_key,
            "HCC-TQ": agencies.create_api_key(container.deps, agency_code="HCC-TQ", name="t").api_key,
        }
        app = create_app(container=container)
        if not any(r.rule.startswith("/api/v1/dossiers/") for r in app.url_map.iter_rules()):
            app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
        client = app.test_client()

        def call(method: str, path: str, agency: str = "HCC-HN", **kw):
            headers = {"Authorization": f"Bearer {keys[agency]}", **kw.pop("headers", {})}
            return client.open(path, method=method, headers=headers, **kw)

        call.receiver = receiver  # type: ignore[attr-defined]
        yield call
    with container.engine.begin() as conn:  # conftest's clean-up does not know this table yet
        conn.execute(text("DELETE FROM dossier_events"))


def _create(call, *, kind: str = "return", awaiting: bool = False, code: str = CODE) -> dict:
    body = copy.deepcopy(RETURN_BODY)
    body["kind"] = kind
    body["dossier"]["code"] = code
    if awaiting:
        body["options"] = {"awaiting_result": True}
    resp = call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _get(call, cid: str) -> dict:
    return call("GET", f"/api/v1/consignments/{cid}").get_json()


def _load(container, cid: str):
    with container.deps.uow() as uow:
        return uow.consignments.get(cid)


def _outbox(container, cid: str, kind: str) -> list[str]:
    with container.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT state FROM outbox WHERE consignment_id = :c AND kind = :k ORDER BY id"), {"c": cid, "k": kind}
        )
        return [r[0] for r in rows]


def _stored_events(container) -> int:
    with container.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM dossier_events")).scalar_one()


def _by_id(answer: dict) -> dict[str, dict]:
    return {a["consignment_id"]: a for a in answer["applied_to"]}


def _to_post(call, ids: list[str]) -> None:
    resp = call("POST", "/api/v1/handovers", json={"direction": "to_post", "consignment_ids": ids})
    assert resp.status_code == 201, resp.get_json()


def test_a_return_waits_for_its_result_and_is_booked_when_it_is_ready(api, container, clock) -> None:
    waiting = _create(api, awaiting=True)
    assert waiting["status"] == "awaiting_result"
    assert "awaiting_result" not in waiting["options"]
    booked = _create(api)
    drain(container)
    assert _get(api, waiting["id"])["status"] == "awaiting_result"  # nothing booked before the result exists
    assert _get(api, waiting["id"])["tracking_code"] is None
    assert _outbox(container, waiting["id"], "book") == []
    assert _get(api, booked["id"])["status"] == "booked"

    clock.advance(3600)
    ready_at = clock.now().replace(microsecond=0)
    resp = api("POST", EVENTS, json={"type": "result_ready", "occurred_at": ready_at.isoformat()})
    assert resp.status_code == 201, resp.get_json()
    answer = resp.get_json()
    assert answer["type"] == "result_ready" and isinstance(answer["event_id"], int)
    applied = _by_id(answer)
    assert applied[waiting["id"]] == {
        "consignment_id": waiting["id"],
        "kind": "return",
        "status_before": "awaiting_result",
        "status_after": "requested",
        "action": "booking_started",
    }
    assert applied[booked["id"]]["action"] == "none" and applied[booked["id"]]["status_after"] == "booked"
    assert _outbox(container, waiting["id"], "book") == ["pending"]
    assert _load(container, waiting["id"]).result_ready_at == ready_at

    drain(container)
    now_booked = _get(api, waiting["id"])
    assert now_booked["status"] == "booked" and now_booked["tracking_code"]
    assert [e["status"] for e in now_booked["events"]] == ["awaiting_result", "requested", "booked"]
    heard = [e["data"]["status"] for e in api.receiver.events() if e["data"]["consignment_id"] == waiting["id"]]
    assert heard == ["awaiting_result", "requested", "booked"]

    again = api("POST", EVENTS, json={"type": "result_ready"})
    assert {a["action"] for a in again.get_json()["applied_to"]} == {"none"}
    listed = api("GET", EVENTS)
    assert listed.status_code == 200
    assert [e["type"] for e in listed.get_json()] == ["result_ready", "result_ready"]
    assert listed.get_json()[0]["dossier_code"] == CODE


def test_a_replayed_idempotency_key_returns_the_first_answer(api, container) -> None:
    waiting = _create(api, awaiting=True)
    key = {"Idempotency-Key": "evt-1"}
    first = api("POST", EVENTS, json={"type": "result_ready"}, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    drain(container)
    replay = api("POST", EVENTS, json={"type": "result_ready"}, headers=key)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert _by_id(replay.get_json())[waiting["id"]]["action"] == "booking_started"
    assert _stored_events(container) == 1
    other = api("POST", EVENTS, json={"type": "withdrawn"}, headers=key)
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    assert _get(api, waiting["id"])["status"] == "booked"


def test_appointment_changed_redates_every_open_consignment_of_the_dossier(api, container) -> None:
    waiting = _create(api, awaiting=True)
    missing = api("POST", EVENTS, json={"type": "appointment_changed"})
    assert missing.status_code == 422
    assert "appointment_date" in missing.get_json()["errors"]["json"]
    assert _stored_events(container) == 0

    resp = api("POST", EVENTS, json={"type": "appointment_changed", "appointment_date": "2026-12-04"})
    assert resp.status_code == 201
    entry = _by_id(resp.get_json())[waiting["id"]]
    assert (entry["action"], entry["status_before"], entry["status_after"]) == (
        "redated",
        "awaiting_result",
        "awaiting_result",
    )
    after = _get(api, waiting["id"])
    assert after["dossier"]["appointment_date"] == "2026-12-04"
    assert after["dossier"]["code"] == CODE and after["dossier"]["procedure_code"] == "1.001229"
    assert [e["status"] for e in after["events"]] == ["awaiting_result"]  # no status change
    same = api("POST", EVENTS, json={"type": "appointment_changed", "appointment_date": "2026-12-04"})
    assert _by_id(same.get_json())[waiting["id"]]["action"] == "none"


def test_withdrawn_cancels_what_the_courier_does_not_have_yet(api, container, clock) -> None:
    waiting = _create(api, awaiting=True)
    booked = _create(api)
    in_custody = _create(api)
    drain(container)
    _to_post(api, [in_custody["id"]])
    assert _get(api, booked["id"])["status"] == "booked"

    resp = api("POST", EVENTS, json={"type": "withdrawn", "reason": "Công dân rút hồ sơ"})
    assert resp.status_code == 201, resp.get_json()
    applied = _by_id(resp.get_json())
    assert (applied[waiting["id"]]["action"], applied[waiting["id"]]["status_after"]) == ("cancelled", "cancelled")
    assert (applied[booked["id"]]["status_before"], applied[booked["id"]]["action"]) == ("booked", "cancelled")
    assert applied[in_custody["id"]] == {
        "consignment_id": in_custody["id"],
        "kind": "return",
        "status_before": "picked_up",
        "status_after": "picked_up",
        "action": "cannot_cancel",
    }
    assert _outbox(container, waiting["id"], "cancel_with_carrier") == []  # never booked: nothing to tell
    assert _outbox(container, booked["id"], "cancel_with_carrier") == ["pending"]
    last = _get(api, booked["id"])["events"][-1]
    assert last["status"] == "cancelled" and "withdrew" in last["description"] and "rút" in last["description"]

    drain(container)
    assert _outbox(container, booked["id"], "cancel_with_carrier") == ["done"]  # the courier heard it
    heard = {(e["data"]["consignment_id"], e["data"]["status"]) for e in api.receiver.events()}
    assert (waiting["id"], "cancelled") in heard and (booked["id"], "cancelled") in heard
    assert _get(api, in_custody["id"])["status"] == "picked_up"


def test_collected_at_counter_cancels_the_return(api, container) -> None:
    waiting = _create(api, awaiting=True)
    resp = api("POST", EVENTS, json={"type": "collected_at_counter"})
    assert resp.status_code == 201
    assert _by_id(resp.get_json())[waiting["id"]]["action"] == "cancelled"
    last = _get(api, waiting["id"])["events"][-1]
    assert last["status"] == "cancelled" and "collected the result at the counter" in last["description"]
    again = api("POST", EVENTS, json={"type": "collected_at_counter"})
    assert _by_id(again.get_json())[waiting["id"]]["action"] == "none"


def _delivered_pickup(api, container, clock) -> dict:
    """A pickup of the dossier, collected by the sandbox courier and handed to the agency (Biên bản giao nhận)."""
    from postal_bridge.services import tracking

    pickup = _create(api, kind="pickup")
    drain(container)
    clock.advance(container.settings.sandbox_step_seconds + 1)
    tracking.poll_due(container.deps)
    drain(container)
    assert _get(api, pickup["id"])["status"] == "picked_up"
    resp = api("POST", "/api/v1/handovers", json={"direction": "to_agency", "consignment_ids": [pickup["id"]]})
    assert resp.status_code == 201, resp.get_json()
    assert _get(api, pickup["id"])["status"] == "delivered"
    return pickup


def test_supplement_required_is_recorded_on_the_pickups(api, container, clock) -> None:
    delivered = _delivered_pickup(api, container, clock)
    underway = _create(api, kind="pickup")
    log_before = _get(api, delivered["id"])["events"]
    clock.advance(60)
    resp = api("POST", EVENTS, json={"type": "supplement_required", "reason": "Thiếu bản sao CCCD"})
    assert resp.status_code == 201, resp.get_json()
    applied = _by_id(resp.get_json())
    assert applied[delivered["id"]]["action"] == "outcome_set"
    assert applied[delivered["id"]]["status_after"] == "delivered"
    assert applied[underway["id"]]["action"] == "recorded"
    for cid in (delivered["id"], underway["id"]):
        c = _load(container, cid)
        assert c.agency_outcome == "supplement_required" and c.agency_outcome_at == clock.now()
    assert _get(api, delivered["id"])["events"] == log_before  # not a status change
    assert len(resp.get_json()["applied_to"]) == 2  # no return created


def test_rejected_can_send_the_paper_dossier_back(api, container, clock) -> None:
    delivered = _delivered_pickup(api, container, clock)
    resp = api("POST", EVENTS, json={"type": "rejected", "return_paper_dossier": True, "reason": "Không đủ điều kiện"})
    assert resp.status_code == 201, resp.get_json()
    applied = resp.get_json()["applied_to"]
    assert _by_id(resp.get_json())[delivered["id"]]["action"] == "outcome_set"
    created = [a for a in applied if a["action"] == "created"]
    assert len(created) == 1
    assert created[0]["kind"] == "return" and created[0]["status_before"] is None
    assert created[0]["status_after"] == "requested"
    ret = _get(api, created[0]["consignment_id"])
    pickup = _get(api, delivered["id"])
    assert ret["citizen"]["name"] == pickup["citizen"]["name"]
    assert ret["citizen"]["address"]["ward_code"] == pickup["citizen"]["address"]["ward_code"]
    assert ret["parcel"]["contents"] == "Hồ sơ gốc bị từ chối – trả lại"
    assert ret["dossier"]["code"] == CODE
    assert _load(container, delivered["id"]).agency_outcome == "rejected"
    drain(container)
    assert _get(api, ret["id"])["status"] == "booked"

    again = api("POST", EVENTS, json={"type": "rejected", "return_paper_dossier": True})
    assert again.status_code == 201
    assert "created" not in {a["action"] for a in again.get_json()["applied_to"]}  # never two returns


def test_paper_dossier_needs_a_pickup_that_reached_the_agency(api, container) -> None:
    _create(api, kind="pickup")
    resp = api("POST", EVENTS, json={"type": "rejected", "return_paper_dossier": True})
    assert resp.status_code == 409
    assert _stored_events(container) == 0
    wrong = api("POST", EVENTS, json={"type": "withdrawn", "return_paper_dossier": True})
    assert wrong.status_code == 422 and "return_paper_dossier" in wrong.get_json()["errors"]["json"]


def test_other_agencies_unknown_codes_and_bad_events(api, container) -> None:
    waiting = _create(api, awaiting=True)
    assert api("POST", EVENTS, "HCC-TQ", json={"type": "result_ready"}).status_code == 404
    assert api("GET", EVENTS, "HCC-TQ").status_code == 404
    assert api("POST", "/api/v1/dossiers/000.00.12.H56-261115-9999/events", json={"type": "withdrawn"}).status_code == (
        404
    )
    bad = api("POST", EVENTS, json={"type": "finished"})
    assert bad.status_code == 422 and "type" in bad.get_json()["errors"]["json"]
    unknown = api("POST", EVENTS, json={"type": "withdrawn", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["errors"]["json"]
    future = api("POST", EVENTS, json={"type": "withdrawn", "occurred_at": "2999-01-01T00:00:00+07:00"})
    assert future.status_code == 422 and "occurred_at" in future.get_json()["errors"]["json"]
    unauthenticated = api("POST", EVENTS, headers={"Authorization": "Bearer nope"}, json={"type": "finished"})
    assert unauthenticated.status_code == 401
    assert _stored_events(container) == 0
    assert _get(api, waiting["id"])["status"] == "awaiting_result"


def test_awaiting_result_is_only_for_returns(api) -> None:
    body = copy.deepcopy(RETURN_BODY)
    body["kind"] = "pickup"
    body["options"] = {"awaiting_result": True}
    resp = api("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": "p-1"})
    assert resp.status_code == 422
    assert "awaiting_result" in resp.get_json()["errors"]["json"]["options"]
