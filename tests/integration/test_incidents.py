"""Incidents and complaints over HTTP with the real database: the loss ends the consignment (and the dossier system
hears of it), compensation of at least 4 × postage, complaint due dates (5/7 working days across Tết), the 6-month
lodging window, the postage refund when late, the 30-day payment date, and another agency's ids answering 404.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from postal_bridge.domain.consignment import Source
from postal_bridge.domain.incidents import lodging_deadline
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.sla import TZ
from postal_bridge.domain.status import Status
from postal_bridge.storage import tables as t
from tests.e2e.test_return_flow import RETURN_BODY

S = Status
THURSDAY_BEFORE_TET = date(2026, 2, 12)


def at(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=TZ).astimezone(UTC)


def set_clock(clock, moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


@pytest.fixture
def api(container, clock):
    from postal_bridge import create_app
    from postal_bridge.api.incidents import blp
    from postal_bridge.services import agencies
    from postal_bridge.storage.engine import make_engine

    engine = make_engine(container.settings.database_url)

    def clean() -> None:  # conftest's cleaner does not know these tables yet (FK to consignments)
        with engine.begin() as conn:
            for table in ("breaches", "complaints", "incidents"):
                conn.execute(text(f"DELETE FROM {table}"))

    clean()
    set_clock(clock, at(THURSDAY_BEFORE_TET))
    for code, ward, province in (("HCC-HN", "00004", "01"), ("HCC-TQ", "02215", "08")):
        agencies.register_agency(
            container.deps,
            code=code,
            name=f"Trung tâm {code}",
            phone="02438253536",
            line="Số 1",
            ward_code=ward,
            province_code=province,
        )
    keys = {
        "HCC-HN": agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="t", callback_url="http://127.0.0.1:9/callbacks"
        ).api_key,
        "HCC-TQ": agencies.create_api_key(container.deps, agency_code="HCC-TQ", name="t").api_key,
    }
    app = create_app(container=container)
    if not any(rule.rule == "/api/v1/complaints" for rule in app.url_map.iter_rules()):
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    client = app.test_client()

    def call(method: str, path: str, agency: str = "HCC-HN", **kw):
        headers = {"Authorization": f"Bearer {keys[agency]}", **kw.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kw)

    yield call, engine
    clean()
    engine.dispose()


def create(call, *, ward: str = "00004", province: str = "01") -> dict:
    body = copy.deepcopy(RETURN_BODY)
    body["citizen"]["address"].update(ward_code=ward, province_code=province)
    resp = call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def move(container, consignment_id: str, *statuses: Status, when: datetime | None = None) -> None:
    with container.deps.uow() as uow:
        c = uow.consignments.get(consignment_id)
        for status in statuses:
            c.transition(status, occurred_at=when or container.deps.clock.now(), source=Source.COURIER_POLL)
        c.new_events.clear()
        uow.consignments.save(c)
        uow.commit()


def postage(consignment: dict) -> int:
    amount = consignment["postage_vnd"] or consignment["fee_vnd"]
    assert amount and amount > 0
    return amount


def status_webhooks(engine, consignment_id: str) -> list[dict]:
    with engine.connect() as conn:
        payloads = conn.execute(
            select(t.outbox.c.payload).where(
                t.outbox.c.kind == OutboxKind.NOTIFY_DOSSIER.value, t.outbox.c.consignment_id == consignment_id
            )
        ).scalars()
        return [json.loads(p["body"]) for p in payloads]


def test_a_loss_ends_the_consignment_and_compensation_is_at_least_four_times_postage(api, container) -> None:
    call, engine = api
    c = create(call)
    move(container, c["id"], S.BOOKED, S.PICKED_UP, S.IN_TRANSIT)

    resp = call(
        "POST",
        f"/api/v1/consignments/{c['id']}/incidents",
        json={"kind": "lost", "record_no": "BB-07/2026", "description": "Thất lạc tại bưu cục khai thác"},
    )
    assert resp.status_code == 201, resp.get_json()
    incident = resp.get_json()
    assert incident["consignment_status"] == "lost_or_damaged"
    assert incident["record_no"] == "BB-07/2026" and incident["resolved_at"] is None
    after = call("GET", f"/api/v1/consignments/{c['id']}").get_json()
    assert after["status"] == "lost_or_damaged"
    assert after["events"][-1]["description"] == "Thất lạc (biên bản BB-07/2026)"
    hooks = status_webhooks(engine, c["id"])
    assert [h["data"]["status"] for h in hooks if h["type"] == "consignment.status_changed"][-1] == "lost_or_damaged"

    minimum = 4 * postage(c)
    path = f"/api/v1/incidents/{incident['id']}/resolve"
    low = call("POST", path, json={"fault_party": "post", "resolution": "Bồi thường", "compensation_vnd": minimum - 1})
    assert low.status_code == 422
    assert "compensation_vnd" in low.get_json()["errors"]["json"]
    assert str(minimum) in low.get_json()["errors"]["json"]["compensation_vnd"][0]

    ok = call("POST", path, json={"fault_party": "post", "resolution": "Bồi thường", "compensation_vnd": minimum})
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["fault_party"] == "post" and body["compensation_vnd"] == minimum and body["resolved_at"]
    assert body["money"]["minimum_vnd"] == minimum
    again = call("POST", path, json={"fault_party": "post", "resolution": "x", "compensation_vnd": minimum})
    assert again.status_code == 409


def test_without_an_amount_the_minimum_is_recorded_and_no_minimum_when_not_the_posts_fault(api, container) -> None:
    call, _ = api
    c = create(call)
    move(container, c["id"], S.BOOKED, S.PICKED_UP)
    first = call("POST", f"/api/v1/consignments/{c['id']}/incidents", json={"kind": "damaged", "description": "Ướt"})
    second = call("POST", f"/api/v1/consignments/{c['id']}/incidents", json={"kind": "tampered", "description": "x"})
    assert first.status_code == second.status_code == 201
    resolved = call(
        "POST", f"/api/v1/incidents/{first.get_json()['id']}/resolve", json={"fault_party": "post", "resolution": "BT"}
    ).get_json()
    assert resolved["compensation_vnd"] == 4 * postage(c)
    agency_fault = call(
        "POST",
        f"/api/v1/incidents/{second.get_json()['id']}/resolve",
        json={"fault_party": "agency", "resolution": "Niêm phong lỗi từ cơ quan", "compensation_vnd": 0},
    )
    assert agency_fault.status_code == 200 and agency_fault.get_json()["money"]["minimum_vnd"] == 0
    bad = call(
        "POST",
        f"/api/v1/incidents/{first.get_json()['id']}/resolve",
        json={"fault_party": "courier", "resolution": "x"},
    )
    assert bad.status_code == 422 and "fault_party" in bad.get_json()["errors"]["json"]


def test_damage_is_recorded_in_transit_unless_the_item_is_unusable(api, container, clock) -> None:
    call, _ = api
    c = create(call)
    before = call("POST", f"/api/v1/consignments/{c['id']}/incidents", json={"kind": "damaged", "description": "x"})
    assert before.status_code == 409  # the post never had it

    move(container, c["id"], S.BOOKED, S.PICKED_UP, S.IN_TRANSIT)
    damaged = call(
        "POST",
        f"/api/v1/consignments/{c['id']}/incidents",
        json={"kind": "damaged", "record_no": "BB-1", "description": "Bao bì rách, đã kiểm kê và đóng gói lại"},
    )
    assert damaged.status_code == 201 and damaged.get_json()["consignment_status"] == "in_transit"
    assert call("GET", f"/api/v1/consignments/{c['id']}").get_json()["status"] == "in_transit"

    clock.advance(60)
    unusable = call(
        "POST",
        f"/api/v1/consignments/{c['id']}/incidents",
        json={"kind": "tampered", "description": "Niêm phong bị cắt, thiếu bản chính", "unusable": True},
    )
    assert unusable.status_code == 201 and unusable.get_json()["consignment_status"] == "lost_or_damaged"
    listed = call("GET", f"/api/v1/consignments/{c['id']}/incidents").get_json()["items"]
    assert [i["kind"] for i in listed] == ["damaged", "tampered"]
    wrong = call("POST", f"/api/v1/consignments/{c['id']}/incidents", json={"kind": "stolen", "description": "x"})
    assert wrong.status_code == 422 and "kind" in wrong.get_json()["errors"]["json"]


def test_complaints_are_due_in_five_working_days_within_a_province_and_seven_between(api, container) -> None:
    call, _ = api
    local = create(call)
    far = create(call, ward="02215", province="08")
    assert local["route_class"] in ("same_ward", "same_province")
    assert far["route_class"].startswith("inter_province")
    due = {}
    for c in (local, far):
        resp = call(
            "POST",
            f"/api/v1/consignments/{c['id']}/complaints",
            json={"complainant": "citizen", "description": "Chưa nhận được kết quả"},
        )
        assert resp.status_code == 201, resp.get_json()
        due[c["id"]] = resp.get_json()["due_date"]
    # Thursday 12/2/2026: Fri 13, then Tết (16–20/2) and two weekends, Mon 23 …
    assert due == {local["id"]: "2026-02-26", far["id"]: "2026-03-02"}
    bad = call(
        "POST", f"/api/v1/consignments/{local['id']}/complaints", json={"complainant": "post", "description": "x"}
    )
    assert bad.status_code == 422 and "complainant" in bad.get_json()["errors"]["json"]


def test_a_complaint_must_be_lodged_within_six_months_of_the_due_date(api, container, clock) -> None:
    call, _ = api
    c = create(call)
    last_day = lodging_deadline(date.fromisoformat(c["due_date"]))
    body = {"complainant": "agency", "description": "Kết quả bị giao nhầm"}

    set_clock(clock, at(last_day, 16))
    assert call("POST", f"/api/v1/consignments/{c['id']}/complaints", json=body).status_code == 201
    set_clock(clock, at(last_day + timedelta(days=1), 9))
    late = call("POST", f"/api/v1/consignments/{c['id']}/complaints", json=body)
    assert late.status_code == 422
    assert last_day.isoformat() in late.get_json()["errors"]["json"]["opened_at"][0]


def test_a_late_delivery_refunds_the_postage_and_payment_is_due_in_thirty_days(api, container, clock) -> None:
    call, _ = api
    c = create(call)
    move(container, c["id"], S.BOOKED, S.PICKED_UP, S.IN_TRANSIT)
    assert c["due_date"] == "2026-02-13"
    set_clock(clock, at(date(2026, 2, 24)))  # still in transit after Tết: late
    complaint = call(
        "POST", f"/api/v1/consignments/{c['id']}/complaints", json={"complainant": "citizen", "description": "Chậm"}
    ).get_json()
    path = f"/api/v1/complaints/{complaint['id']}/resolve"
    amount = postage(c)
    low = call(
        "POST", path, json={"outcome": "Chậm do bưu điện", "fault_party": "post", "compensation_vnd": amount - 1}
    )
    assert low.status_code == 422 and "compensation_vnd" in low.get_json()["errors"]["json"]

    ok = call("POST", path, json={"outcome": "Chậm do bưu điện", "fault_party": "post"})
    assert ok.status_code == 200, ok.get_json()
    resolved = ok.get_json()
    assert resolved["compensation_vnd"] == amount
    assert resolved["money"] == {"postage_vnd": amount, "minimum_vnd": amount, "refund_vnd": amount, "late": True}
    assert resolved["liability_decided_at"] and resolved["resolved_at"]
    assert resolved["payment_due_date"] == "2026-03-26"
    assert call("POST", path, json={"outcome": "x", "fault_party": "post"}).status_code == 409

    open_ids = [x["id"] for x in call("GET", "/api/v1/complaints?open=1").get_json()["items"]]
    assert open_ids == [complaint["id"]]  # resolved, but the compensation is not paid yet
    paid = call("POST", f"/api/v1/complaints/{complaint['id']}/paid")
    assert paid.status_code == 200 and paid.get_json()["paid_at"]
    assert call("GET", "/api/v1/complaints?open=1").get_json()["items"] == []
    assert [x["id"] for x in call("GET", "/api/v1/complaints").get_json()["items"]] == [complaint["id"]]


def test_on_time_and_not_the_posts_fault_owes_nothing(api, container) -> None:
    call, _ = api
    c = create(call)
    complaint = call(
        "POST", f"/api/v1/consignments/{c['id']}/complaints", json={"complainant": "citizen", "description": "Sai"}
    ).get_json()
    resolved = call(
        "POST",
        f"/api/v1/complaints/{complaint['id']}/resolve",
        json={"outcome": "Không có lỗi", "fault_party": "citizen"},
    ).get_json()
    assert resolved["compensation_vnd"] is None and resolved["payment_due_date"] is None
    assert resolved["money"]["late"] is False and resolved["money"]["refund_vnd"] == 0
    assert call("POST", f"/api/v1/complaints/{complaint['id']}/paid").status_code == 409
    assert call("GET", "/api/v1/complaints?open=1").get_json()["items"] == []


def test_another_agency_gets_404_everywhere(api, container) -> None:
    call, _ = api
    c = create(call)
    move(container, c["id"], S.BOOKED, S.PICKED_UP)
    incident = call("POST", f"/api/v1/consignments/{c['id']}/incidents", json={"kind": "damaged", "description": "x"})
    complaint = call(
        "POST", f"/api/v1/consignments/{c['id']}/complaints", json={"complainant": "citizen", "description": "x"}
    )
    iid, kid = incident.get_json()["id"], complaint.get_json()["id"]
    other = "HCC-TQ"
    checks = [
        ("POST", f"/api/v1/consignments/{c['id']}/incidents", {"kind": "lost", "description": "x"}),
        ("GET", f"/api/v1/consignments/{c['id']}/incidents", None),
        ("POST", f"/api/v1/incidents/{iid}/resolve", {"fault_party": "post", "resolution": "x"}),
        ("POST", f"/api/v1/consignments/{c['id']}/complaints", {"complainant": "citizen", "description": "x"}),
        ("GET", f"/api/v1/consignments/{c['id']}/complaints", None),
        ("POST", f"/api/v1/complaints/{kid}/resolve", {"outcome": "x", "fault_party": "post"}),
        ("POST", f"/api/v1/complaints/{kid}/paid", None),
    ]
    for method, path, body in checks:
        resp = call(method, path, other, json=body) if body is not None else call(method, path, other)
        assert resp.status_code == 404, (path, resp.get_json())
    assert call("GET", "/api/v1/complaints", other).get_json()["items"] == []
    assert call("GET", "/api/v1/attention", other).get_json()["items"] == []
    assert call("GET", f"/api/v1/consignments/{c['id']}").get_json()["status"] == "picked_up"  # nothing changed
    assert len(call("GET", f"/api/v1/consignments/{c['id']}/complaints").get_json()["items"]) == 1
