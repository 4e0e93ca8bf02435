"""Labels in batches and formats, the Phiếu gửi, handovers and their Biên bản — through the API, real DB and Redis."""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.conftest import drain
from tests.e2e.test_return_flow import RETURN_BODY
from tests.pdf_tools import decode, pdfinfo, pdftotext, rasterise

DOCS = [
    {"name": "Phiếu lý lịch tư pháp số 2", "kind": "original", "quantity": 1},
    {"name": "Bản sao Căn cước công dân", "kind": "certified_copy", "quantity": 1},
]


@pytest.fixture
def api(container):
    from postal_bridge import create_app
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
    keys = {
        code: agencies.create_api_key(container.deps, agency_code=code, name="t").api_key
        for code in ("HCC-HN", "HCC-TQ")
    }
    client = create_app(container=container).test_client()

    def call(method: str, path: str, agency: str = "HCC-HN", **kw):
        headers = {"Authorization": f"Bearer {keys[agency]}", **kw.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kw)

    return call


def _create(call, container, *, kind: str = "return", docs=DOCS, book: bool = True) -> dict:
    body = copy.deepcopy(RETURN_BODY)
    body["kind"] = kind
    body["parcel"]["documents"] = docs
    if kind == "pickup":
        body["dossier"] = {"code": None, "procedure_name": "Đăng ký khai sinh"}
    resp = call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert resp.status_code == 201, resp.get_json()
    if book:
        drain(container)
    return call("GET", f"/api/v1/consignments/{resp.get_json()['id']}").get_json()


def test_documents_and_postage_are_kept(api, container) -> None:
    c = _create(api, container)
    assert c["parcel"]["documents"] == DOCS
    assert c["postage_vnd"] and c["postage_vnd"] > 0
    bad = copy.deepcopy(RETURN_BODY)
    bad["parcel"]["documents"] = [{"name": "X", "kind": "photocopy"}]
    resp = api("POST", "/api/v1/consignments", json=bad, headers={"Idempotency-Key": "d"})
    assert resp.status_code == 422 and "documents" in resp.get_json()["errors"]["json"]["parcel"]


def test_slip_has_every_party_and_document(api, container) -> None:
    c = _create(api, container)
    resp = api("GET", c["slip_url"])
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdftotext(resp.data)
    for expected in (
        "Nguyễn Thị Hằng",
        "Phiếu lý lịch tư pháp số 2",
        "Bản sao Căn cước công dân",
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        c["tracking_code"],
    ):
        assert expected in text.replace("\n", " ") or expected in text
    assert abs(pdfinfo(resp.data)["page_sizes"][0][0] - 419.53) < 0.1  # A5


def test_label_formats_and_reprint_log(api, container) -> None:
    c = _create(api, container)
    pdf = api("GET", c["label_url"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    zpl = api("GET", c["label_url"] + "?format=zpl&dpi=203")
    assert zpl.status_code == 200 and zpl.mimetype == "text/plain"
    text = zpl.get_data(as_text=True)
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ")
    assert api("GET", c["label_url"] + "?format=zpl&dpi=150").status_code == 422
    with container.deps.uow() as uow:
        history = uow.prints.history(c["id"])
    assert [r.reprint for r in history] == [False, True]
    assert all(r.actor.startswith("api_key:") for r in history)


def test_batch_labels_in_order_and_unprinted_ones(api, container) -> None:
    made = [_create(api, container) for _ in range(3)]
    order = [made[2]["id"], made[0]["id"], made[1]["id"]]
    resp = api("POST", "/api/v1/labels", json={"ids": order})
    assert resp.status_code == 200
    pages = [pdftotext(resp.data, first_page=i) for i in (1, 2, 3)]
    codes = [next(m["tracking_code"] for m in made if m["id"] == i) for i in order]
    spaced = [" ".join([c[:2], c[2:5], c[5:8], c[8:11], c[11:]]) for c in codes]
    assert all(code in page for code, page in zip(spaced, pages, strict=True))
    fresh = _create(api, container)
    unprinted = api("POST", "/api/v1/labels", json={})
    assert unprinted.status_code == 200 and int(pdfinfo(unprinted.data)["Pages"]) == 1
    assert fresh["tracking_code"][:2] in pdftotext(unprinted.data)
    assert api("POST", "/api/v1/labels", json={}).status_code == 404  # nothing left to print
    other = api("POST", "/api/v1/labels", "HCC-TQ", json={"ids": order})
    assert other.status_code == 404


def test_handover_to_post_moves_returns_and_prints_the_record(api, container) -> None:
    made = [_create(api, container) for _ in range(3)]
    ids = [m["id"] for m in made]
    resp = api("POST", "/api/v1/handovers", json={"direction": "to_post", "consignment_ids": ids})
    assert resp.status_code == 201, resp.get_json()
    h = resp.get_json()
    assert h["consignment_ids"] == ids and h["id"].startswith("BB-")
    for cid in ids:
        assert api("GET", f"/api/v1/consignments/{cid}").get_json()["status"] == "picked_up"
    assert api("GET", f"/api/v1/handovers/{h['id']}").get_json()["consignment_ids"] == ids
    pdf = api("GET", h["pdf_url"])
    assert pdf.status_code == 200
    text = pdftotext(pdf.data)
    assert all(m["tracking_code"] in text for m in made)
    found = {t for page in rasterise(pdf.data, dpi=203, mono=True) for _, t in decode(page)}
    assert h["id"] in found
    assert api("GET", f"/api/v1/handovers/{h['id']}", "HCC-TQ").status_code == 404
    again = api("POST", "/api/v1/handovers", json={"direction": "to_post", "consignment_ids": ids[:1]})
    assert again.status_code == 422  # already in postal custody: the whole list is refused


def test_handover_to_agency_is_the_legal_submission_of_pickups(api, container, clock) -> None:
    from postal_bridge.services import tracking

    pickup = _create(api, container, kind="pickup")
    ret = _create(api, container)
    wrong = api("POST", "/api/v1/handovers", json={"direction": "to_agency", "consignment_ids": [pickup["id"]]})
    assert wrong.status_code == 422  # not collected yet
    clock.advance(container.settings.sandbox_step_seconds + 1)
    tracking.poll_due(container.deps)
    drain(container)
    assert api("GET", f"/api/v1/consignments/{pickup['id']}").get_json()["status"] == "picked_up"
    mixed = api(
        "POST", "/api/v1/handovers", json={"direction": "to_agency", "consignment_ids": [pickup["id"], ret["id"]]}
    )
    assert mixed.status_code == 422 and "1" in mixed.get_json()["errors"]["json"]["consignment_ids"]
    ok = api("POST", "/api/v1/handovers", json={"direction": "to_agency", "consignment_ids": [pickup["id"]]})
    assert ok.status_code == 201
    done = api("GET", f"/api/v1/consignments/{pickup['id']}").get_json()
    assert done["status"] == "delivered"
    assert done["events"][-1]["description"] == f"Biên bản giao nhận {ok.get_json()['id']}"
    assert done["events"][-1]["occurred_at"] == ok.get_json()["created_at"]


def test_a_desk_printer_profile_picks_the_default_format(api, container) -> None:
    from postal_bridge.services import agencies

    c = _create(api, container)
    zpl_desk = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="desk 2", printer_profile="zpl300")
    from postal_bridge import create_app

    client = create_app(container=container).test_client()
    resp = client.get(c["label_url"], headers={"Authorization": f"Bearer {zpl_desk.api_key}"})
    assert resp.mimetype == "text/plain" and resp.get_data(as_text=True).startswith("^XA")
    pdf = client.get(c["label_url"] + "?format=pdf", headers={"Authorization": f"Bearer {zpl_desk.api_key}"})
    assert pdf.mimetype == "application/pdf"
