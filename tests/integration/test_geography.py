"""Consignments carry their geography: addresses in any form (split communes confirmed by a person), phones,
route class, J+n due date, tariff fee and the post office serving the citizen."""

from __future__ import annotations

import copy
import uuid
from importlib import resources

import pytest

from tests.conftest import drain
from tests.e2e.test_return_flow import RETURN_BODY


@pytest.fixture
def api(container):
    from postal_bridge import create_app
    from postal_bridge.services import agencies
    from postal_bridge.services.post_offices import load_post_offices_cli

    agencies.register_agency(
        container.deps,
        code="HCC-HN",
        name="Trung tâm Phục vụ hành chính công Hà Nội",
        phone="02438253536",
        line="Số 258 Võ Chí Công",
        ward_code="00004",
        province_code="01",
    )
    with resources.as_file(resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")) as path:
        assert load_post_offices_cli(container.deps, str(path)) == 0
    key = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="t").api_key
    client = create_app(container=container).test_client()

    def call(method: str, path: str, **kw):
        return client.open(
            path, method=method, headers={"Authorization": f"Bearer {key}", **kw.pop("headers", {})}, **kw
        )

    return call


def _post(call, address: dict, phone: str = "0912 345 678"):
    body = copy.deepcopy(RETURN_BODY)
    body["citizen"]["address"] = address
    body["citizen"]["phone"] = phone
    return call("POST", "/api/v1/consignments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})


def test_route_due_date_fee_location_and_post_office_are_computed(api, container) -> None:
    resp = _post(api, {"line": "Số 12 ngõ 34 phố Láng Hạ", "ward_code": "00004", "province_code": "01"})
    assert resp.status_code == 201, resp.get_json()
    c = resp.get_json()
    assert c["route_class"] == "same_ward"
    assert c["j_date"] and c["due_date"] and c["due_date"] > c["j_date"]
    assert c["fee_vnd"] > 0 and c["payer"] == "citizen"
    assert c["location"]["approximate"] is True and 20 < c["location"]["lat"] < 22
    assert c["post_office"]["code"] and c["post_office"]["name"]
    assert c["citizen"]["sms_capable"] is True
    far = _post(api, {"line": "Số 1 đường Lê Lợi", "ward_code": "02215", "province_code": "08"})
    assert far.get_json()["route_class"] == "inter_province_other"
    assert far.get_json()["fee_vnd"] > c["fee_vnd"]
    drain(container)
    label = api("GET", c["label_url"])
    from tests.pdf_tools import pdftotext

    assert "Bưu cục phụ trách" in pdftotext(label.data)


def test_free_text_in_the_old_form_is_converted(api) -> None:
    resp = _post(api, {"text": "Số 5 ngõ 2, Phường Trúc Bạch, Quận Ba Đình, Thành phố Hà Nội"})
    assert resp.status_code == 201, resp.get_json()
    address = resp.get_json()["citizen"]["address"]
    assert (address["ward_code"], address["province_code"]) == ("00004", "01")
    assert address["status"] == "exact" and address["legacy_text"].startswith("Số 5 ngõ 2")
    assert address["line"] == "Số 5 ngõ 2"


def test_a_split_commune_waits_for_a_person_to_confirm(api, container) -> None:
    resp = _post(api, {"text": "Số 9 phố Hoàng Hoa Thám, Phường Ngọc Hà, Quận Ba Đình, Hà Nội"})
    assert resp.status_code == 201, resp.get_json()
    c = resp.get_json()
    assert c["citizen"]["address"]["status"] == "suggested"
    drain(container)
    still = api("GET", f"/api/v1/consignments/{c['id']}").get_json()
    assert still["status"] == "requested"  # never booked on a guess
    assert api("GET", c["slip_url"]).status_code == 409
    wrong = api(
        "POST",
        f"/api/v1/consignments/{c['id']}/address/confirm",
        json={"ward_code": "00235", "confirmed_by": "Lê Văn Bình"},
    )
    assert wrong.status_code == 422
    ok = api(
        "POST",
        f"/api/v1/consignments/{c['id']}/address/confirm",
        json={"ward_code": "00004", "confirmed_by": "Lê Văn Bình"},
    )
    assert ok.status_code == 200, ok.get_json()
    address = ok.get_json()["citizen"]["address"]
    assert (address["status"], address["ward_code"], address["confirmed_by"]) == ("confirmed", "00004", "Lê Văn Bình")
    drain(container)
    assert api("GET", f"/api/v1/consignments/{c['id']}").get_json()["status"] == "booked"
    again = api(
        "POST", f"/api/v1/consignments/{c['id']}/address/confirm", json={"ward_code": "00004", "confirmed_by": "x"}
    )
    assert again.status_code == 409


def test_unplaceable_addresses_and_phones_are_named(api) -> None:
    resp = _post(api, {"text": "Một nơi không có thật, Tỉnh Không Tồn Tại"})
    assert resp.status_code == 422 and "text" in resp.get_json()["errors"]["json"]["citizen"]["address"]
    legacy_phone = _post(api, {"line": "Số 1", "ward_code": "00004", "province_code": "01"}, phone="0123 456 7890")
    assert legacy_phone.status_code == 422
    assert "0834 567 890" in legacy_phone.get_json()["errors"]["json"]["citizen"]["phone"][0]
    landline = _post(api, {"line": "Số 1", "ward_code": "00004", "province_code": "01"}, phone="024 3825 3536")
    assert landline.status_code == 201 and landline.get_json()["citizen"]["sms_capable"] is False


def test_quotes_fall_back_to_the_tariff_for_couriers_without_a_price_call(api, container) -> None:
    from postal_bridge.services import carriers

    carriers.configure_carrier(
        container.deps,
        agency_code="HCC-HN",
        carrier="vnpost",
        values={
            "api": "ngsp",
            "base_url": "http://127.0.0.1:9",
            "client_id": "x",
            "client_secret": "y",
            "services": "standard",
        },
    )
    body = {k: v for k, v in RETURN_BODY.items() if k not in ("carrier", "service")}
    quotes = api("POST", "/api/v1/quotes", json=body).get_json()["quotes"]
    vnpost = [q for q in quotes if q["carrier"] == "vnpost"]
    assert vnpost and vnpost[0]["service"] == "standard" and vnpost[0]["fee_vnd"] > 0
    assert vnpost[0]["promised_days"] == 1  # same ward: J+1
