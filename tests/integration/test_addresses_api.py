"""Address resolution against the real database (migration 0004 data) and through the HTTP API."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.services import addresses as svc
from postal_bridge.services.deps import Deps
from postal_bridge.storage.units_catalog import SqlUnitsCatalog
from tests.fakes.memory import make_deps


def deps_with(catalog: SqlUnitsCatalog) -> Deps:
    if "units_catalog" in {f.name for f in dataclasses.fields(Deps)}:
        return make_deps(units_catalog=catalog)
    deps = make_deps()
    deps.units_catalog = catalog  # type: ignore[attr-defined]  # until Deps gains the field
    return deps


@pytest.fixture
def catalog(migrated: str) -> Iterator[SqlUnitsCatalog]:
    from postal_bridge.storage.engine import make_engine

    engine = make_engine(migrated)
    yield SqlUnitsCatalog(engine)
    engine.dispose()


def test_catalog_reads_the_reference_tables(catalog: SqlUnitsCatalog) -> None:
    provinces = catalog.provinces()
    assert len(provinces) == 34 and ("01", "Thành phố Hà Nội") in provinces
    wards = catalog.wards_2025()
    assert len(wards) == 3321
    dong_da = next(w for w in wards if w.code == "00235")
    assert (dong_da.name, dong_da.province_name, dong_da.ward_type) == ("Phường Đống Đa", "Thành phố Hà Nội", "phuong")
    legacy = {r.code: r for r in catalog.legacy()}
    assert len(legacy) == 10040  # incl. 5 island districts without communes (code "D" + district)
    lang_ha = legacy["00199"]
    assert lang_ha.split and set(lang_ha.new_ward_codes) == {"00025", "00199", "00235"}
    assert lang_ha.district_name == "Quận Đống Đa"
    assert not legacy["00004"].split and legacy["00004"].new_ward_codes == ("00004",)
    assert sum(r.split for r in legacy.values()) == 471


def test_service_resolves_old_and_new_forms_from_the_database(catalog: SqlUnitsCatalog) -> None:
    deps = deps_with(catalog)
    old = svc.resolve(deps, text="Số 12 ngõ 34 phố Láng Hạ, Phường Láng Hạ, Quận Đống Đa, Hà Nội")
    assert old.status == "ambiguous" and old.needs_confirmation and old.line == "Số 12 ngõ 34 phố Láng Hạ"
    assert {c.ward_code for c in old.candidates} == {"00025", "00199", "00235"}
    new = svc.resolve(deps, text="Số 12 ngõ 34 phố Láng Hạ, Phường Đống Đa, Thành phố Hà Nội")
    assert new.status == "exact" and [c.ward_code for c in new.candidates] == ["00235"]
    my_tho = svc.resolve(deps, text="Số 10 Ấp Bắc, Phường 1, TP Mỹ Tho, Tiền Giang")
    assert my_tho.status == "suggested" and not my_tho.needs_confirmation
    assert (my_tho.candidates[0].ward_code, my_tho.candidates[0].province_code) == ("28261", "82")
    coded = svc.resolve(deps, ward_code="00199", province_code="01", scheme="legacy", line="Số 1")
    assert coded.status == "ambiguous" and coded.line == "Số 1"
    assert svc.resolve(deps, ward_code="00235", province_code="01").status == "exact"


def test_resolver_is_built_once_per_catalog(catalog: SqlUnitsCatalog, migrated: str) -> None:
    deps = deps_with(catalog)
    first = svc.resolver(deps)
    assert svc.resolver(deps) is first
    assert svc.resolver(deps_with(catalog)) is first  # cached on the catalog, not per Deps
    other = SqlUnitsCatalog(catalog.engine)
    assert svc.resolver(deps_with(other)) is not first


def test_service_validation_and_type_ahead(catalog: SqlUnitsCatalog) -> None:
    deps = deps_with(catalog)
    with pytest.raises(ValidationFailed) as exc:
        svc.resolve(deps)
    assert "text" in exc.value.errors
    with pytest.raises(ValidationFailed):
        svc.resolve(deps, text="Hà Nội", ward_code="00004")
    with pytest.raises(ValidationFailed):
        svc.resolve(deps, ward_code="00004", scheme="1990")
    with pytest.raises(NotFound):
        svc.wards(deps, "30")  # Hải Dương's old code is not a 2025 province
    assert len(svc.provinces(deps)) == 34
    assert svc.wards(deps, "01", "lang")[0].name == "Phường Láng"
    assert [w.code for w in svc.wards(deps, "82", "Mỹ Thọ", limit=1)] == ["30076"]
    assert len(svc.wards(deps, "79", None, limit=500)) == svc.MAX_LIMIT


@pytest.fixture
def api(container):
    from postal_bridge import create_app
    from postal_bridge.api import addresses
    from postal_bridge.services import agencies

    if getattr(container.deps, "units_catalog", None) is None:  # until bootstrap wires it
        container.deps.units_catalog = SqlUnitsCatalog(container.engine)
    agencies.register_agency(
        container.deps,
        code="HCC-HN",
        name="Trung tâm HCC-HN",
        phone="02438253536",
        line="Số 1",
        ward_code="00004",
        province_code="01",
    )
    key = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="t").api_key
    app = create_app(container=container)
    if "addresses" not in app.blueprints:  # until the blueprint is registered in init_api
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(addresses.blp)
    client = app.test_client()

    def call(method: str, path: str, **kw):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {key}"}, **kw)

    return call, client


def test_every_address_endpoint_needs_the_key(api) -> None:
    _, client = api
    assert client.get("/api/v1/provinces").status_code == 401
    assert client.get("/api/v1/provinces/01/wards").status_code == 401
    assert client.post("/api/v1/addresses/resolve", json={"text": "Phường Láng, Hà Nội"}).status_code == 401


def test_resolve_endpoint(api) -> None:
    call, _ = api
    resp = call("POST", "/api/v1/addresses/resolve", json={"text": "12 Le Loi, P. Ben Thanh, Q.1, Tp.HCM"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "suggested" and body["needs_confirmation"] is False
    (cand,) = body["candidates"]
    assert cand["ward_code"] == "26743" and cand["ward_name"] == "Phường Bến Thành"
    assert cand["province_code"] == "79" and cand["line"] == "12 Le Loi" and 0 < cand["score"] <= 1

    split = call("POST", "/api/v1/addresses/resolve", json={"text": "Xã Kim Phú, TP Tuyên Quang, Tuyên Quang"})
    body = split.get_json()
    assert body["status"] == "ambiguous" and body["needs_confirmation"] is True
    assert {c["ward_code"] for c in body["candidates"]} == {"02215", "02509"}

    coded = call(
        "POST",
        "/api/v1/addresses/resolve",
        json={"ward_code": "00694", "province_code": "08", "scheme": "2025", "line": "Tổ 5"},
    ).get_json()
    assert coded["status"] == "exact" and coded["candidates"][0]["line"] == "Tổ 5"

    nothing = call("POST", "/api/v1/addresses/resolve", json={"text": "asdf qwer"}).get_json()
    assert nothing["status"] == "not_found" and nothing["candidates"] == []

    assert call("POST", "/api/v1/addresses/resolve", json={}).status_code == 422
    assert call("POST", "/api/v1/addresses/resolve", json={"text": "x", "bogus": 1}).status_code == 422
    assert call("POST", "/api/v1/addresses/resolve", json={"ward_code": "1", "scheme": "old"}).status_code == 422


def test_provinces_and_wards_endpoints(api) -> None:
    call, _ = api
    provinces = call("GET", "/api/v1/provinces").get_json()
    assert len(provinces) == 34 and {"code": "82", "name": "Tỉnh Đồng Tháp"} in provinces
    wards = call("GET", "/api/v1/provinces/01/wards?q=dong%20da").get_json()
    assert wards[0] == {"code": "00235", "name": "Phường Đống Đa", "province_code": "01"}
    assert len(call("GET", "/api/v1/provinces/79/wards?limit=3").get_json()) == 3
    missing = call("GET", "/api/v1/provinces/30/wards")
    assert missing.status_code == 404 and "30" in missing.get_json()["message"]
    assert call("GET", "/api/v1/provinces/01/wards?limit=0").status_code == 422
