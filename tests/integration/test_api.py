"""API rules with the real database and Redis: agency scoping, cancel, label states, listing, health."""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.conftest import drain
from tests.e2e.test_return_flow import RETURN_BODY


@pytest.fixture
def api(container):
    from postal_bridge import create_app
    from postal_bridge.services import agencies

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
        code: agencies.create_api_key(container.deps, agency_code=code, name="t").api_key
        for code in ("HCC-HN", "HCC-TQ")
    }
    client = create_app(container=container).test_client()

    def call(method: str, path: str, agency: str = "HCC-HN", **kw):
        headers = {"Authorization": f"Bearer {keys[agency]}", **kw.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kw)

    return call, client


def _create(call, body=None, agency: str = "HCC-HN"):
    resp = call(
        "POST", "/api/v1/consignments", agency, json=body or RETURN_BODY, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_another_agencys_consignment_is_404_like_an_unknown_id(api) -> None:
    call, _ = api
    mine = _create(call)
    for path in (f"/api/v1/consignments/{mine['id']}", f"/api/v1/consignments/{mine['id']}/label.pdf"):
        theirs = call("GET", path, "HCC-TQ")
        unknown = call("GET", path.replace(mine["id"], str(uuid.uuid4())), "HCC-TQ")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.get_json()["message"] == unknown.get_json()["message"]
    assert call("POST", f"/api/v1/consignments/{mine['id']}/cancel", "HCC-TQ", json={}).status_code == 404
    assert call("GET", "/api/v1/consignments", "HCC-TQ").get_json()["total"] == 0
    assert call("GET", f"/api/v1/consignments/{mine['id']}").status_code == 200


def test_cancel_before_booking_after_booking_and_after_pickup(api, container, clock) -> None:
    from postal_bridge.services import tracking

    call, _ = api
    early = _create(call)
    resp = call("POST", f"/api/v1/consignments/{early['id']}/cancel", json={"reason": "Công dân nhận tại quầy"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"

    booked = _create(call)
    late = _create(call)
    drain(container)
    assert call("GET", f"/api/v1/consignments/{booked['id']}").get_json()["status"] == "booked"
    resp = call("POST", f"/api/v1/consignments/{booked['id']}/cancel")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    drain(container)  # the cancel reaches the courier through the outbox
    with container.deps.uow() as uow:
        assert uow.outbox.counts().get("dead", 0) == 0

    clock.advance(container.settings.sandbox_step_seconds + 1)
    tracking.poll_due(container.deps)
    drain(container)
    assert call("GET", f"/api/v1/consignments/{late['id']}").get_json()["status"] == "picked_up"
    refused = call("POST", f"/api/v1/consignments/{late['id']}/cancel")
    assert refused.status_code == 409
    assert set(refused.get_json()) >= {"code", "status", "message", "errors"}


def test_list_filters_and_pages(api) -> None:
    call, _ = api
    for i in range(3):
        body = copy.deepcopy(RETURN_BODY)
        body["dossier"]["code"] = f"000.00.12.H56-261115-010{i}"
        _create(call, body)
    page = call("GET", "/api/v1/consignments?per_page=2&page=1").get_json()
    assert (page["total"], len(page["items"])) == (3, 2)
    assert call("GET", "/api/v1/consignments?per_page=2&page=2").get_json()["items"].__len__() == 1
    one = call("GET", "/api/v1/consignments?dossier_code=000.00.12.h56-261115-0101").get_json()
    assert [c["dossier"]["code"] for c in one["items"]] == ["000.00.12.H56-261115-0101"]
    assert call("GET", "/api/v1/consignments?status=delivered").get_json()["total"] == 0
    assert call("GET", "/api/v1/consignments?status=flying").status_code == 422


def test_nfd_input_is_stored_as_nfc(api) -> None:
    import unicodedata

    call, _ = api
    body = copy.deepcopy(RETURN_BODY)
    body["citizen"]["name"] = unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    created = _create(call, body)
    assert created["citizen"]["name"] == "Nguyễn Thị Hằng"
    assert unicodedata.is_normalized("NFC", created["citizen"]["name"])


def test_unknown_fields_and_wrong_types_are_named(api) -> None:
    call, _ = api
    body = copy.deepcopy(RETURN_BODY)
    body["surprise"] = 1
    body["parcel"]["weight_g"] = "250"
    body["citizen"]["address"]["ward_code"] = "99999"
    resp = call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": "x"})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]["json"]
    assert "surprise" in errors and "weight_g" in errors["parcel"]


def test_ward_of_another_province_is_refused_with_its_field(api) -> None:
    call, _ = api
    body = copy.deepcopy(RETURN_BODY)
    body["citizen"]["address"]["ward_code"] = "02215"  # Tuyên Quang, while province says Hà Nội
    resp = call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": "w"})
    assert resp.status_code == 422
    assert "ward_code" in resp.get_json()["errors"]["json"]["citizen"]["address"]
    assert call("GET", "/api/v1/consignments").get_json()["total"] == 0


def test_health_and_readiness(api, container) -> None:
    _, client = api
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readiness_fails_when_redis_is_unreachable(settings, clock) -> None:
    from dataclasses import replace

    from postal_bridge import create_app
    from postal_bridge.bootstrap import build

    c = build(replace(settings, redis_url="redis://127.0.0.1:1/0"), clock=clock)
    try:
        resp = create_app(container=c).test_client().get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json()["checks"]["redis"].startswith("error")
        assert resp.get_json()["checks"]["database"] == "ok"
    finally:
        c.close()


def test_tracking_page_unknown_token_is_generic(api) -> None:
    _, client = api
    resp = client.get("/t/doesnotexist")
    assert resp.status_code == 404
    assert "Không tìm thấy bưu gửi" in resp.get_data(as_text=True)


def test_carriers_quotes_and_admin_settings(api, container) -> None:
    from postal_bridge.services import agencies

    call, client = api
    listed = call("GET", "/api/v1/carriers").get_json()
    assert [c["code"] for c in listed] == ["sandbox"]
    assert set(listed[0]["services"]) == {"standard", "express"}

    body = {k: v for k, v in RETURN_BODY.items() if k not in ("carrier", "service")}  # every service
    quotes = call("POST", "/api/v1/quotes", json=body).get_json()
    assert {(q["carrier"], q["service"]) for q in quotes["quotes"]} == {("sandbox", "standard"), ("sandbox", "express")}
    assert all(q["fee_vnd"] > 0 and q["promised_days"] >= 1 for q in quotes["quotes"])
    bad = call("POST", "/api/v1/quotes", json={**body, "citizen": {**body["citizen"], "phone": "1"}})
    assert bad.status_code == 422

    path = "/api/v1/admin/agencies/HCC-HN/carriers/ghn"
    assert call("PUT", path, json={"settings": {"token": "t0ps3cret!"}}).status_code == 403  # not an admin key
    admin = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="ops", admin=True).api_key
    resp = client.put(
        path,
        json={"enabled": False, "settings": {"token": "t0ps3cret!", "shop_id": "885"}},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert resp.status_code == 200
    assert resp.get_json() == {"carrier": "ghn", "enabled": False, "settings": {"token": "****t!", "shop_id": "885"}}
    sandbox_off = client.put(
        "/api/v1/admin/agencies/HCC-HN/carriers/sandbox",
        json={"enabled": False},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert sandbox_off.status_code == 200
    assert call("GET", "/api/v1/carriers").get_json() == []  # configuration alone decides
