"""Post offices against the real database: the repository, the CSV loader command and an office's pickup round."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import text

from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.post_offices import PostOffice, _km
from postal_bridge.domain.rounds import plan_round
from postal_bridge.domain.status import Status
from postal_bridge.services import agencies, consignments
from postal_bridge.services import post_offices as svc
from postal_bridge.storage.engine import make_engine
from postal_bridge.storage.post_offices import SqlPostOfficeRepository, load_csv
from tests.conftest import drain, register_hanoi

DEMO = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")


def _wipe(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM post_office_wards"))
        conn.execute(text("DELETE FROM post_offices"))


@pytest.fixture
def engine(clean_db):
    eng = make_engine(clean_db)
    _wipe(eng)  # conftest's clean_db leaves these two tables alone
    yield eng
    _wipe(eng)
    eng.dispose()


HK = PostOffice(
    code="T-HK",
    name="Bưu cục Hoàn Kiếm",
    address_line="Số 75 Đinh Tiên Hoàng",
    ward_code="00070",
    province_code="01",
    lat=21.032,
    lon=105.85,
    phone="+842438251234",
    service_wards=frozenset({"00070", "00082"}),
)
CG = PostOffice(
    "T-CG", "Bưu cục Cầu Giấy", "Số 120 Cầu Giấy", "00166", "01", 21.0309, 105.788, "", frozenset({"00166"})
)
TQ = PostOffice("T-TQ", "Bưu cục Minh Xuân", "Số 1 Tân Trào", "02215", "08", 21.8257, 105.185, "", frozenset({"02215"}))


def test_repository_round_trip_on_a_connection_and_on_an_engine(engine) -> None:
    with engine.connect() as conn:
        repo = SqlPostOfficeRepository(conn)
        for o in (HK, CG, TQ):
            repo.upsert(o)
        assert repo.get("T-HK") == HK
        conn.rollback()  # on a connection the caller owns the transaction
        assert repo.get("T-HK") is None

    repo = SqlPostOfficeRepository(engine)  # on an engine each call commits on its own
    for o in (TQ, CG, HK):
        repo.upsert(o)
    assert repo.get("T-HK") == HK
    assert repo.get("nope") is None
    assert [o.code for o in repo.in_province("01")] == ["T-CG", "T-HK"]
    assert repo.in_province("08") == [TQ]
    assert repo.in_province("31") == []
    assert [o.code for o in repo.for_ward("00082")] == ["T-HK"]
    assert repo.for_ward("00004") == []
    assert [o.code for o in repo.all()] == ["T-CG", "T-HK", "T-TQ"]

    moved = PostOffice(**{**HK.__dict__, "name": "Bưu cục Hoàn Kiếm mới", "service_wards": frozenset({"00256"})})
    repo.upsert(moved)
    assert repo.get("T-HK") == moved
    assert repo.for_ward("00082") == []
    assert [o.code for o in repo.for_ward("00256")] == ["T-HK"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM post_offices")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM post_office_wards")).scalar() == 3


def test_demo_csv_stores_and_reads_back(engine) -> None:
    offices = load_csv(DEMO.read_text(encoding="utf-8"))
    repo = SqlPostOfficeRepository(engine)
    for o in offices:
        repo.upsert(o)
    assert sorted(repo.all(), key=lambda o: o.code) == sorted(offices, key=lambda o: o.code)
    hn = repo.in_province("01")
    assert hn and all(o.province_code == "01" for o in hn)


# --- the service layer, on the app container ---------------------------------------------------------------------


@pytest.fixture
def wired(container, engine):
    container.deps.post_offices = SqlPostOfficeRepository(container.engine)
    register_hanoi(container.deps)
    agencies.register_agency(
        container.deps,
        code="HCC-HN2",
        name="Bộ phận Một cửa khác",
        phone="02438253536",
        line="Số 1",
        ward_code="00004",
        province_code="01",
    )
    for o in (HK, CG, TQ):
        container.deps.post_offices.upsert(o)
    return container


def _caller(deps, agency_code: str = "HCC-HN"):
    issued = agencies.create_api_key(deps, agency_code=agency_code, name="round")
    return agencies.authenticate(deps, issued.api_key), issued.api_key


def _create(deps, caller, ward: str, *, kind: str = "pickup", province: str = "01", **options) -> str:
    cmd = CreateConsignment(
        kind=kind,
        carrier="sandbox",
        service="standard",
        citizen_name="Nguyễn Thị Hằng",
        citizen_phone="0987654321",
        address_line=f"Số 1, {ward}",
        ward_code=ward,
        province_code=province,
        weight_g=300,
        contents="Hồ sơ",
        dossier_code=None if kind == "pickup" else "000.00.12.H56-261115-0001",
        options=options,
    )
    key = f"{ward}-{kind}-{sorted(options.items())}-{caller.agency.code}"
    stored = consignments.create_consignment(
        deps, caller, cmd, idempotency_key=key, fingerprint=key, render=lambda c: f'{{"id":"{c.id}"}}'
    )
    return stored.body.split('"')[3]


def _move(deps, consignment_id: str, *steps: Status) -> None:
    with deps.uow() as uow:
        c = uow.consignments.get(consignment_id)
        for s in steps:
            c.transition(s, occurred_at=deps.clock.now(), source=Source.SCAN, actor="test")
        uow.consignments.save(c)
        uow.commit()


def _ward_point(deps, code: str) -> tuple[float, float]:
    with deps.uow() as uow:
        w = uow.units.ward(code)
    return w.lat, w.lon


@pytest.fixture
def scenario(wired):
    deps = wired.deps
    caller, key = _caller(deps)
    other, _ = _caller(deps, "HCC-HN2")
    today = svc.today(deps)
    tomorrow = (today + timedelta(days=1)).isoformat()
    ids = {
        "hoan_kiem": _create(deps, caller, "00070"),  # listed by T-HK
        "cua_nam": _create(deps, caller, "00082"),  # listed by T-HK
        "hai_ba_trung": _create(deps, caller, "00256"),  # listed by nobody, nearest is T-HK
        "cau_giay": _create(deps, caller, "00166"),  # listed by T-CG
        "lang": _create(deps, caller, "00199"),  # listed by nobody, nearest is T-CG
        "failed": _create(deps, caller, "00082", note="failed"),  # becomes pickup_failed: still on the round
        "tomorrow": _create(deps, caller, "00070", pickup_date=tomorrow),
        "return_booked": _create(deps, caller, "00082", kind="return"),  # a return is not a pickup
        "return_out": _create(deps, caller, "00256", kind="return", note="out"),  # out for delivery
        "cancelled": _create(deps, caller, "00070", note="cancel"),
        "other_agency": _create(deps, other, "00070"),
        "tuyen_quang": _create(deps, caller, "02215", province="08"),
    }
    drain(wired)
    ids["not_booked"] = _create(deps, caller, "00070", note="late")  # still requested: not drained
    _move(deps, ids["failed"], Status.PICKUP_FAILED)
    _move(deps, ids["return_out"], Status.PICKED_UP, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY)
    with deps.uow() as uow:
        c = uow.consignments.get(ids["cancelled"])
        c.cancel(occurred_at=deps.clock.now(), actor="test")
        uow.consignments.save(c)
        uow.commit()
    special = {
        "not_booked": Status.REQUESTED,
        "failed": Status.PICKUP_FAILED,
        "return_out": Status.OUT_FOR_DELIVERY,
        "cancelled": Status.CANCELLED,
    }
    with deps.uow() as uow:
        assert {n: uow.consignments.get(i).status for n, i in ids.items()} == {
            n: special.get(n, Status.BOOKED) for n in ids
        }
    return wired, caller, key, ids, today


def test_pickup_round_of_an_office(scenario) -> None:
    c, caller, _, ids, today = scenario
    deps = c.deps
    r = svc.plan_pickup_round(deps, caller, "T-HK", today)
    on_round = {s.id for s in r.order}
    assert on_round == {ids["hoan_kiem"], ids["cua_nam"], ids["hai_ba_trung"], ids["failed"]}
    for stop in r.order:  # each stop is its ward's point
        assert (stop.lat, stop.lon) in {_ward_point(deps, w) for w in ("00070", "00082", "00256")}
    again = plan_round((HK.lat, HK.lon), r.order)
    assert [s.id for s in again.order] == [s.id for s in r.order]
    assert r.distance_km == pytest.approx(sum(r.legs)) and r.distance_km > 0
    assert r.legs[0] == pytest.approx(_km(HK.lat, HK.lon, r.order[0].lat, r.order[0].lon))

    cg = svc.plan_pickup_round(deps, caller, "T-CG", today)
    assert {s.id for s in cg.order} == {ids["cau_giay"], ids["lang"]}
    tq = svc.plan_pickup_round(deps, caller, "T-TQ", today)
    assert {s.id for s in tq.order} == {ids["tuyen_quang"]}

    later = svc.plan_pickup_round(deps, caller, "T-HK", today + timedelta(days=1))
    assert {s.id for s in later.order} == {ids["tomorrow"]}
    assert svc.plan_pickup_round(deps, caller, "T-HK", today - timedelta(days=1)).order == []

    with_deliveries = svc.round_sheet(deps, caller, "T-HK", today, include_deliveries=True)
    assert {line.consignment_id for line in with_deliveries.lines} == on_round | {ids["return_out"]}
    kinds = {line.consignment_id: line.kind for line in with_deliveries.lines}
    assert kinds[ids["return_out"]] == "return" and kinds[ids["hoan_kiem"]] == "pickup"
    assert [line.order for line in with_deliveries.lines] == list(range(1, 6))

    other, _ = _caller(deps, "HCC-HN2")
    assert {s.id for s in svc.plan_pickup_round(deps, other, "T-HK", today).order} == {ids["other_agency"]}


def test_nearest_for_a_ward(wired) -> None:
    deps = wired.deps
    assert svc.nearest_for(deps, "00082").code == "T-HK"  # service area
    assert svc.nearest_for(deps, "00199").code == "T-CG"  # nearest from the ward point
    assert svc.nearest_for(deps, "00256").code == "T-HK"
    assert svc.nearest_for(deps, "00256", lat=21.0309, lon=105.789).code == "T-CG"  # a geocoded house near Cầu Giấy
    assert svc.nearest_for(deps, "00166", lat=21.032, lon=105.85).code == "T-CG"  # the service area still wins
    assert svc.nearest_for(deps, "00691").code == "T-TQ"  # the only office of Tuyên Quang, however far
    assert svc.nearest_for(deps, "10507") is None  # Hải Phòng has no office on file
    from postal_bridge.domain.errors import NotFound, ValidationFailed

    with pytest.raises(ValidationFailed):
        svc.nearest_for(deps, "99999")
    with pytest.raises(NotFound):
        svc.plan_pickup_round(deps, _caller(deps)[0], "NOPE", date(2025, 7, 1))


def test_nearest_for_never_crosses_the_province(wired) -> None:
    deps = wired.deps
    # Phường Hà Giang 1 (08) is far from T-TQ, and T-HK (01) is irrelevant however the point is placed.
    assert svc.nearest_for(deps, "00694").code == "T-TQ"
    assert svc.nearest_for(deps, "00694", lat=HK.lat, lon=HK.lon).code == "T-TQ"


# --- the HTTP API --------------------------------------------------------------------------------------------------


@pytest.fixture
def client(scenario):
    from postal_bridge import create_app
    from postal_bridge.api import post_offices as api_module

    c = scenario[0]
    app = create_app(container=c)
    if "post_offices" not in app.blueprints:  # until the blueprint is registered in postal_bridge.api
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(api_module.blp)
    return app.test_client()


def test_api_lists_offices_rounds_and_prints(scenario, client) -> None:
    _, _, key, ids, today = scenario
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/post-offices").status_code == 401
    assert client.get("/api/v1/post-offices?province=x").status_code == 401  # authentication before arguments
    listed = client.get("/api/v1/post-offices?province=01", headers=auth)
    assert listed.status_code == 200
    assert [o["code"] for o in listed.get_json()] == ["T-CG", "T-HK"]
    assert [o["code"] for o in client.get("/api/v1/post-offices", headers=auth).get_json()] == ["T-CG", "T-HK", "T-TQ"]
    assert client.get("/api/v1/post-offices?province=1", headers=auth).status_code == 422
    one = client.get("/api/v1/post-offices/T-HK", headers=auth).get_json()
    assert one["service_wards"] == ["00070", "00082"] and one["phone"] == "+842438251234"
    assert client.get("/api/v1/post-offices/NOPE", headers=auth).status_code == 404

    resp = client.get(f"/api/v1/post-offices/T-HK/rounds?date={today.isoformat()}&include_deliveries=1", headers=auth)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["office"]["code"] == "T-HK" and body["date"] == today.isoformat()
    assert [s["order"] for s in body["stops"]] == [1, 2, 3, 4, 5]
    assert {s["consignment_id"] for s in body["stops"]} >= {ids["return_out"], ids["hoan_kiem"]}
    assert all(s["tracking_code"] for s in body["stops"])
    assert {s["ward_name"] for s in body["stops"]} == {"Phường Hoàn Kiếm", "Phường Cửa Nam", "Phường Hai Bà Trưng"}
    assert body["distance_km"] == pytest.approx(sum(s["leg_km"] for s in body["stops"]) + body["return_km"], abs=0.01)

    default_day = client.get("/api/v1/post-offices/T-HK/rounds", headers=auth).get_json()
    assert default_day["date"] == today.isoformat() and len(default_day["stops"]) == 4
    assert client.get("/api/v1/post-offices/NOPE/rounds", headers=auth).status_code == 404
    assert client.get("/api/v1/post-offices/T-HK/rounds?date=2025-13-01", headers=auth).status_code == 422
    assert client.get("/api/v1/post-offices/T-HK/rounds?format=pdf", headers=auth).status_code == 422

    page = client.get("/api/v1/post-offices/T-HK/rounds?format=html&include_deliveries=1", headers=auth)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<table>" in html and "@page" in html and "size: A4" in html
    for heading in ("Lộ trình nhận và phát hồ sơ", "STT", "Mã bưu gửi", "Phường/Xã", "Ký nhận", "Bưu cục Hoàn Kiếm"):
        assert heading in html
    assert html.count("<tr>") == 1 + 5 + 1  # header, five stops, the way home
    assert "Phát" in html and "Nhận" in html


def test_html_escapes_what_people_typed(wired) -> None:
    from postal_bridge import create_app
    from postal_bridge.api import post_offices as api_module

    deps = wired.deps
    caller, key = _caller(deps)
    cmd = CreateConsignment(
        kind="pickup",
        carrier="sandbox",
        service="standard",
        citizen_name="<script>alert(1)</script>",
        citizen_phone="0987654321",
        address_line="Số 1 <b>phố</b>",
        ward_code="00070",
        province_code="01",
        weight_g=300,
        contents="Hồ sơ",
    )
    consignments.create_consignment(deps, caller, cmd, idempotency_key="x", fingerprint="x", render=lambda c: "{}")
    drain(wired)
    app = create_app(container=wired)
    if "post_offices" not in app.blueprints:
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(api_module.blp)
    html = (
        app.test_client()
        .get("/api/v1/post-offices/T-HK/rounds?format=html", headers={"Authorization": f"Bearer {key}"})
        .get_data(as_text=True)
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>phố</b>" not in html


# --- the CLI body ----------------------------------------------------------------------------------------------------


def test_load_post_offices_cli(wired, tmp_path: Path, capsys) -> None:
    deps = wired.deps
    demo = tmp_path / "demo.csv"
    demo.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    assert svc.load_post_offices_cli(deps, demo) == 0
    assert "Loaded 10 post offices" in capsys.readouterr().out
    assert {o.code for o in deps.post_offices.all()} >= {o.code for o in load_csv(demo.read_text("utf-8"))}
    assert svc.load_post_offices_cli(deps, demo) == 0  # loading twice is harmless

    header = "code,name,address_line,ward_code,province_code,lat,lon,phone,service_wards\n"
    bad_ward = tmp_path / "bad_ward.csv"
    bad_ward.write_text(header + "X1,Bưu cục X,Số 1,99999,01,21.0,105.8,,\n", encoding="utf-8")
    assert svc.load_post_offices_cli(deps, bad_ward) == 1
    assert "ward_code 99999 is not a 2025 ward" in capsys.readouterr().err

    across = tmp_path / "across.csv"  # a Hà Nội office listing a Tuyên Quang ward
    across.write_text(header + "X2,Bưu cục X,Số 1,00004,01,21.0,105.8,,00004;02215\n", encoding="utf-8")
    assert svc.load_post_offices_cli(deps, across) == 1
    assert "never serves another province" in capsys.readouterr().err

    wrong_province = tmp_path / "wrong_province.csv"
    wrong_province.write_text(header + "X3,Bưu cục X,Số 1,00004,08,21.0,105.8,,\n", encoding="utf-8")
    assert svc.load_post_offices_cli(deps, wrong_province) == 1

    malformed = tmp_path / "malformed.csv"
    malformed.write_text("# demo\n" + header + "X4,Bưu cục X,Số 1,00004,01,91,105.8,,\n", encoding="utf-8")
    assert svc.load_post_offices_cli(deps, malformed) == 1
    assert "line 3, column lat" in capsys.readouterr().err
    assert svc.load_post_offices_cli(deps, tmp_path / "missing.csv") == 1
    assert {o.code for o in deps.post_offices.all()}.isdisjoint({"X1", "X2", "X3", "X4"})


def _office(code: str, name: str) -> PostOffice:
    return PostOffice(code, name, "Số 2", "00004", "01", 21.03, 105.83, "", frozenset({"00004"}))


def test_the_cached_registry_serves_repeats_from_memory_and_sees_other_writers_within_its_ttl(engine) -> None:
    from sqlalchemy import event

    from postal_bridge.storage.post_offices import CachedPostOfficeRegistry

    now = [100.0]
    ours = CachedPostOfficeRegistry(SqlPostOfficeRepository(engine), ttl_seconds=30, now=lambda: now[0])
    theirs = SqlPostOfficeRepository(engine)  # another process writing to the same database
    theirs.upsert(_office("HN-A", "Bưu cục A"))
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    assert [o.code for o in ours.in_province("01")] == ["HN-A"]
    seen = len(queries)
    for _ in range(5):
        assert ours.in_province("01")[0].name == "Bưu cục A"
    assert len(queries) == seen  # repeats cost no query
    theirs.upsert(_office("HN-A", "Bưu cục A (mới)"))
    now[0] += 29
    assert ours.in_province("01")[0].name == "Bưu cục A"  # within the TTL: still the cached copy
    now[0] += 2
    assert ours.in_province("01")[0].name == "Bưu cục A (mới)"
    assert ours.get("HN-B") is None
    ours.upsert(_office("HN-B", "Bưu cục B"))  # our own write clears the cache at once
    assert ours.get("HN-B") is not None
    assert [o.code for o in ours.in_province("01")] == ["HN-A", "HN-B"]
    theirs.upsert(_office("HN-C", "Bưu cục C"))
    ours.invalidate()  # what an admin upload does after its transaction commits
    assert [o.code for o in ours.all()] == ["HN-A", "HN-B", "HN-C"]
    ours.in_province("01").clear()  # callers get their own list: mutating it leaves the cache alone
    assert len(ours.in_province("01")) == 3
