"""Reports from a generated data set: consignments created through the API with the sandbox courier, driven by the
clock to delivered / failed-then-delivered / returned, some cancelled, one left overdue in transit; incidents and
complaints added in SQL (the incidents service may not exist yet). Every figure the API returns (JSON and CSV, grouped
by agency, courier and post office) is recomputed here independently, in plain Python over what was created and read
back through the consignments API. The PDFs render with their Vietnamese headings.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.conftest import drain, form_token, register_hanoi
from tests.pdf_tools import pdftotext

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ATTEMPTS = {"delivered", "delivery_failed", "available_for_pickup", "returning_to_agency"}
FAILURES = {"delivery_failed", "pickup_failed"}
BACK = {"returning_to_agency", "returned_to_agency"}
EXTRA_TABLES = ("audit_log", "complaints", "incidents")


def make_app(container):
    """The app with the reports, privacy and dashboard blueprints (registered here until the app does it)."""
    from postal_bridge import create_app
    from postal_bridge.api import privacy, reports
    from postal_bridge.web import dashboard

    app = create_app(container=container)
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    mapped = {r.rule for r in app.url_map.iter_rules()}
    if "/api/v1/reports" not in mapped:
        api.register_blueprint(reports.blp)
    if "/api/v1/privacy/export" not in mapped:
        api.register_blueprint(privacy.blp)
    if "/dashboard" not in mapped:
        app.register_blueprint(dashboard.bp)
    return app


def clean_extra(container) -> None:
    with container.engine.begin() as conn:
        for table in EXTRA_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


def body(kind: str, scenario: str, ward: str, province: str, n: int, *, cod: int = 0, weight: int = 250) -> dict:
    return {
        "kind": kind,
        "carrier": "sandbox",
        "service": "standard",
        "dossier": {
            "code": f"000.00.12.H56-260302-{n:04d}",
            "procedure_code": "1.001229",
            "procedure_name": "Cấp Phiếu lý lịch tư pháp",
        },
        "citizen": {
            "name": f"Nguyễn Văn Thử {n}",
            "phone": f"0912 000 {n:03d}",
            "address": {"line": f"Số {n} ngõ Thử Nghiệm", "ward_code": ward, "province_code": province},
        },
        "parcel": {"weight_g": weight, "contents": "Kết quả TTHC"},
        "cod_vnd": cod,
        "options": {"sandbox_scenario": scenario},
    }


class World:
    """The generated data set and a way to drive it."""

    def __init__(self, container, clock) -> None:
        from postal_bridge.services import agencies, carriers
        from postal_bridge.services.post_offices import load_post_offices_cli

        self.container, self.clock = container, clock
        deps = container.deps
        register_hanoi(deps)
        agencies.register_agency(
            deps,
            code="HCC-TQ",
            name="Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
            phone="02073822345",
            line="Số 1 đường Tân Trào",
            ward_code="02215",
            province_code="08",
        )
        from importlib import resources

        with resources.as_file(resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")) as path:
            assert load_post_offices_cli(deps, str(path)) == 0
        # Tuyên Quang's courier is slow: one sandbox step every 12 hours, so some items miss J+n.
        carriers.configure_carrier(deps, agency_code="HCC-TQ", carrier="sandbox", values={"step_seconds": "43200"})
        self.keys = {
            "HCC-HN": agencies.create_api_key(deps, agency_code="HCC-HN", name="hn").api_key,
            "HCC-TQ": agencies.create_api_key(deps, agency_code="HCC-TQ", name="tq").api_key,
            "admin": agencies.create_api_key(deps, agency_code="HCC-HN", name="so", admin=True).api_key,
        }
        self.client = make_app(container).test_client()
        self.owner: dict[str, str] = {}  # consignment id → agency code
        self.n = 0

    def call(self, who: str, method: str, path: str, **kw):
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kw.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kw)

    def create(self, agency: str, kind: str, scenario: str, ward: str, **kw) -> str:
        self.n += 1
        province = "01" if agency == "HCC-HN" else "08"
        resp = self.call(
            agency,
            "POST",
            "/api/v1/consignments",
            json=body(kind, scenario, ward, province, self.n, **kw),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
        cid = resp.get_json()["id"]
        self.owner[cid] = agency
        return cid

    def run(self, hours: float, every: float = 6.0) -> None:
        """Book what is queued, then advance the clock in steps, polling the sandbox courier after each."""
        from postal_bridge.services import tracking

        drain(self.container)
        steps = int(hours / every)
        for _ in range(steps):
            self.clock.advance(every * 3600)
            tracking.poll_due(self.container.deps)
            drain(self.container)

    def get(self, cid: str) -> dict:
        resp = self.call(self.owner[cid], "GET", f"/api/v1/consignments/{cid}")
        assert resp.status_code == 200
        return resp.get_json()

    def sql(self, statement: str, **params) -> None:
        with self.container.engine.begin() as conn:
            conn.execute(text(statement), params)


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def world(container, clock):
    clean_extra(container)
    clock._now = at(2026, 2, 23)  # Monday 09:00 in Hà Nội
    w = World(container, clock)
    # Batch 0, before the reported period (but in Q1).
    early = w.create("HCC-HN", "return", "delivered", "00004")
    w.run(hours=12)
    # Batch 1, Monday 2 March.
    clock._now = at(2026, 3, 2)
    hn = [
        w.create("HCC-HN", "return", "delivered", "00004"),
        w.create("HCC-HN", "return", "delivered", "00070", weight=1200),
        w.create("HCC-HN", "return", "failed_then_delivered", "00235"),
        w.create("HCC-HN", "return", "returned", "00166", cod=15_000),
        w.create("HCC-HN", "pickup", "delivered", "00070"),
        w.create("HCC-HN", "pickup", "failed_then_delivered", "00004"),
        w.create("HCC-HN", "transfer", "delivered", "00235"),
    ]
    cancelled = w.create("HCC-HN", "return", "delivered", "00166")
    assert w.call("HCC-HN", "POST", f"/api/v1/consignments/{cancelled}/cancel", json={}).status_code == 200
    tq = [
        w.create("HCC-TQ", "return", "delivered", "02215", cod=20_000),
        w.create("HCC-TQ", "return", "failed_then_delivered", "00694"),
        w.create("HCC-TQ", "return", "returned", "02215"),
        w.create("HCC-TQ", "pickup", "delivered", "00694"),
    ]
    w.run(hours=5 * 24, every=12)
    # Batch 2, Monday 9 March; Tuyên Quang's item is left in transit and becomes overdue.
    clock._now = at(2026, 3, 9)
    hn2 = [
        w.create("HCC-HN", "return", "delivered", "00166"),
        w.create("HCC-HN", "return", "failed_then_delivered", "00070", cod=30_000),
    ]
    stuck = w.create("HCC-TQ", "return", "delivered", "02215")
    w.run(hours=18)
    clock.advance(4 * 24 * 3600)  # no polling: the stuck item stays in transit past its due date

    # Incidents and complaints, as the incidents service would store them.
    w.sql(
        "INSERT INTO incidents (id, consignment_id, kind, opened_at, opened_by, description, fault_party, "
        "resolved_at, compensation_vnd) VALUES (:id, :c, :k, :o, 'test', 'x', :f, :r, :m)",
        id=str(uuid.uuid4()),
        c=hn[0],
        k="damaged",
        o=at(2026, 3, 10),
        f="post",
        r=at(2026, 3, 11),
        m=88_000,
    )
    w.sql(
        "INSERT INTO incidents (id, consignment_id, kind, opened_at, opened_by, description) "
        "VALUES (:id, :c, 'lost', :o, 'test', 'x')",
        id=str(uuid.uuid4()),
        c=tq[2],
        o=at(2026, 3, 12),
    )
    w.sql(
        "INSERT INTO incidents (id, consignment_id, kind, opened_at, opened_by, description) "
        "VALUES (:id, :c, 'tampered', :o, 'test', 'x')",
        id=str(uuid.uuid4()),
        c=early,
        o=at(2026, 2, 25),  # before the period: not in the March report
    )
    w.sql(
        "INSERT INTO complaints (id, consignment_id, complainant, opened_at, description, due_date, resolved_at, "
        "outcome, fault_party, compensation_vnd, paid_at) VALUES (:id, :c, 'citizen', :o, 'x', :due, :r, "
        "'Đã xin lỗi, hoàn cước', 'post', 50000, :p)",
        id=str(uuid.uuid4()),
        c=hn[2],
        o=at(2026, 3, 10),
        due=date(2026, 3, 17),
        r=at(2026, 3, 12),
        p=at(2026, 3, 13),
    )
    w.sql(
        "INSERT INTO complaints (id, consignment_id, complainant, opened_at, description, due_date) "
        "VALUES (:id, :c, 'agency', :o, 'x', :due)",
        id=str(uuid.uuid4()),
        c=tq[1],
        o=at(2026, 3, 11),
        due=date(2026, 3, 18),
    )
    # A second courier for the grouping: relabel some finished items (the courier is only a label to the report).
    relabel = [hn[4], hn[5], tq[2]]
    for cid in relabel:
        w.sql("UPDATE consignments SET carrier = 'vnpost' WHERE id = :id", id=cid)

    w.ids = {"early": early, "hn": hn + hn2, "tq": [*tq, stuck], "cancelled": cancelled, "stuck": stuck}
    w.in_period = [*hn, cancelled, *tq, *hn2, stuck]
    w.incidents = [(hn[0], "damaged", 88_000), (tq[2], "lost", None)]
    w.complaints = [(hn[2], True, 50_000), (tq[1], False, None)]
    yield w
    clean_extra(container)


# ----------------------------------------------------------------------------------------- independent figures


def local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(TZ).date()


def expected(world: World, items: list[dict], key, today: date) -> dict[str, dict]:
    """Plain Python over the consignments as the API shows them; ``key(item) -> group key``."""
    by_id = {i["id"]: i for i in items}
    out: dict[str, dict] = defaultdict(
        lambda: {
            "volume": Counter(),
            "cancelled": 0,
            "eligible": 0,
            "on_time": 0,
            "attempted": 0,
            "first_ok": 0,
            "delivered": 0,
            "failed_attempts": 0,
            "failed_items": 0,
            "failed_reasons": Counter(),
            "returned": 0,
            "returned_reasons": Counter(),
            "transit": [],
            "incidents": Counter(),
            "complaints": 0,
            "complaints_resolved": 0,
            "comp_cases": 0,
            "comp_total": 0,
            "postage": 0,
            "cod_declared": 0,
            "cod_collected": 0,
        }
    )
    for item in items:
        g = out[key(item)]
        if item["status"] == "cancelled":
            g["cancelled"] += 1
            continue
        events = item["events"]  # in log order
        g["volume"][item["kind"]] += 1
        g["postage"] += item["postage_vnd"] if item["postage_vnd"] is not None else (item["fee_vnd"] or 0)
        g["cod_declared"] += item["cod_vnd"]
        stops = [e for e in events if e["status"] in (ATTEMPTS if item["kind"] == "return" else {"delivered"})]
        stop = min(stops, key=lambda e: e["occurred_at"]) if stops else None
        due = date.fromisoformat(item["due_date"]) if item["due_date"] else None
        if due is not None and (stop is not None or due < today):
            g["eligible"] += 1
            g["on_time"] += int(stop is not None and local_day(stop["occurred_at"]) <= due)
        attempts = [e for e in events if e["status"] in ATTEMPTS]
        if attempts:
            g["attempted"] += 1
            g["first_ok"] += int(attempts[0]["status"] == "delivered")
        if item["status"] == "delivered":
            g["delivered"] += 1
            g["cod_collected"] += item["cod_vnd"]
        failures = [e for e in events if e["status"] in FAILURES]
        if failures:
            g["failed_items"] += 1
            g["failed_attempts"] += len(failures)
            g["failed_reasons"].update((e["description"] or "Không rõ lý do") for e in failures)
        back_i = next((i for i, e in enumerate(events) if e["status"] in BACK), None)
        if back_i is not None:
            g["returned"] += 1
            before = [e for e in events[:back_i] if e["status"] in FAILURES]
            g["returned_reasons"][(before[-1] if before else events[back_i])["description"] or "Không rõ lý do"] += 1
        picked = next((e for e in events if e["status"] == "picked_up"), None)
        done = next((e for e in events if e["status"] == "delivered"), None)
        if picked and done:
            t0, t1 = datetime.fromisoformat(picked["occurred_at"]), datetime.fromisoformat(done["occurred_at"])
            g["transit"].append((t1 - t0).total_seconds() / 3600)
    for cid, kind, money in world.incidents:
        if cid not in by_id:
            continue
        g = out[key(by_id[cid])]
        g["incidents"][kind] += 1
        if money:
            g["comp_cases"] += 1
            g["comp_total"] += money
    for cid, resolved, money in world.complaints:
        if cid not in by_id:
            continue
        g = out[key(by_id[cid])]
        g["complaints"] += 1
        g["complaints_resolved"] += int(resolved)
        if money:
            g["comp_cases"] += 1
            g["comp_total"] += money
    return dict(out)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def check_group(got: dict, exp: dict) -> None:
    assert got["volume"] == {
        "pickup": exp["volume"]["pickup"],
        "return": exp["volume"]["return"],
        "transfer": exp["volume"]["transfer"],
        "total": sum(exp["volume"].values()),
    }
    assert got["cancelled"] == exp["cancelled"]
    assert got["on_time"]["eligible"] == exp["eligible"]
    assert got["on_time"]["on_time"] == exp["on_time"]
    assert got["on_time"]["rate"] == (
        pytest.approx(exp["on_time"] / exp["eligible"], abs=1e-4) if exp["eligible"] else None
    )
    assert got["first_attempt"]["attempted"] == exp["attempted"]
    assert got["first_attempt"]["delivered"] == exp["first_ok"]
    assert got["delivered"] == exp["delivered"]
    assert got["failed"]["attempts"] == exp["failed_attempts"]
    assert got["failed"]["items"] == exp["failed_items"]
    assert {r["reason"]: r["count"] for r in got["failed"]["reasons"]} == dict(exp["failed_reasons"])
    assert got["returned"]["items"] == exp["returned"]
    assert {r["reason"]: r["count"] for r in got["returned"]["reasons"]} == dict(exp["returned_reasons"])
    assert got["transit_hours"]["count"] == len(exp["transit"])
    if exp["transit"]:
        assert got["transit_hours"]["average"] == pytest.approx(statistics.fmean(exp["transit"]), abs=0.01)
        assert got["transit_hours"]["p95"] == pytest.approx(p95(exp["transit"]), abs=0.01)
    else:
        assert got["transit_hours"]["average"] is None
    for kind in ("lost", "damaged", "tampered"):
        assert got["incidents"][kind] == exp["incidents"][kind]
    assert got["complaints"] == {"received": exp["complaints"], "resolved": exp["complaints_resolved"]}
    assert got["compensation"] == {"cases": exp["comp_cases"], "total_vnd": exp["comp_total"]}
    assert got["postage_vnd"] == exp["postage"]
    assert got["cod"] == {"declared_vnd": exp["cod_declared"], "collected_vnd": exp["cod_collected"]}


def merge(groups: dict[str, dict]) -> dict:
    total: dict = {}
    for g in groups.values():
        for k, v in g.items():
            if isinstance(v, Counter):
                total.setdefault(k, Counter()).update(v)
            elif isinstance(v, list):
                total.setdefault(k, []).extend(v)
            else:
                total[k] = total.get(k, 0) + v
    return total


KEYS = {
    "agency": lambda world: lambda item: world.owner[item["id"]],
    "carrier": lambda world: lambda item: item["carrier"],
    "post_office": lambda world: lambda item: (item["post_office"] or {}).get("code") or "",
}


def report(world: World, who: str, group_by: str, fmt: str = "json", start="2026-03-01", end="2026-03-15"):
    return world.call(who, "GET", f"/api/v1/reports?from={start}&to={end}&group_by={group_by}&format={fmt}")


# ----------------------------------------------------------------------------------------------------- the tests


def test_the_data_set_has_the_variety_the_report_needs(world: World) -> None:
    items = [world.get(c) for c in world.in_period]
    statuses = Counter(i["status"] for i in items)
    assert statuses["delivered"] >= 8 and statuses["returned_to_agency"] == 2 and statuses["cancelled"] == 1
    assert world.get(world.ids["stuck"])["status"] in ("picked_up", "in_transit")
    today = world.clock.now().astimezone(TZ).date()
    exp = merge(expected(world, items, lambda i: "*", today))
    assert 0 < exp["on_time"] < exp["eligible"]  # some late, some on time
    assert 0 < exp["first_ok"] < exp["attempted"]
    assert len({(i["post_office"] or {}).get("code") for i in items}) >= 4


@pytest.mark.parametrize("group_by", ["agency", "carrier", "post_office"])
def test_json_figures_match_an_independent_computation(world: World, group_by: str) -> None:
    items = [world.get(c) for c in world.in_period]
    today = world.clock.now().astimezone(TZ).date()
    exp = expected(world, items, KEYS[group_by](world), today)

    resp = report(world, "admin", group_by)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["group_by"] == group_by and data["scope"]["agency_id"] is None
    got = {g["key"]: g for g in data["groups"]}
    assert set(got) == set(exp)
    for k in exp:
        check_group(got[k], exp[k])
    check_group(data["total"], merge(exp))
    if group_by == "post_office":
        assert got["DEMO-HN-02"]["name"] == "Bưu cục Ba Đình (demo)"
    if group_by == "agency":
        assert got["HCC-TQ"]["name"] == "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang"
        # The early consignment (23 Feb) and its incident are outside 1–15 March.
        assert data["total"]["incidents"]["tampered"] == 0
        assert data["total"]["volume"]["total"] == len(world.in_period) - 1


def test_an_agency_key_sees_only_its_agency(world: World) -> None:
    items = [world.get(c) for c in world.in_period if world.owner[c] == "HCC-TQ"]
    today = world.clock.now().astimezone(TZ).date()
    exp = expected(world, items, KEYS["carrier"](world), today)
    resp = report(world, "HCC-TQ", "carrier")
    data = resp.get_json()
    assert data["scope"]["name"] == "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang"
    assert {g["key"] for g in data["groups"]} == set(exp) == {"sandbox", "vnpost"}
    for g in data["groups"]:
        check_group(g, exp[g["key"]])
    by_agency = report(world, "HCC-HN", "agency").get_json()
    assert [g["key"] for g in by_agency["groups"]] == ["HCC-HN"]
    # …and cannot read the other agency's consignment either.
    other = world.ids["tq"][0]
    assert world.call("HCC-HN", "GET", f"/api/v1/consignments/{other}").status_code == 404


def test_csv_has_vietnamese_headers_a_bom_and_the_same_figures(world: World) -> None:
    items = [world.get(c) for c in world.in_period]
    today = world.clock.now().astimezone(TZ).date()
    exp = expected(world, items, KEYS["agency"](world), today)
    resp = report(world, "admin", "agency", "csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[-1]["Nhóm"] == "Tổng cộng"
    by_code = {r["Mã"]: r for r in rows[:-1]}
    assert set(by_code) == set(exp)
    for code, e in [*exp.items(), ("", merge(exp))]:
        r = by_code[code] if code else rows[-1]
        assert int(r["Nhận kết quả"]) == e["volume"]["return"]
        assert int(r["Gửi hồ sơ"]) == e["volume"]["pickup"]
        assert int(r["Liên thông"]) == e["volume"]["transfer"]
        assert int(r["Đã hủy"]) == e["cancelled"]
        assert int(r["Đúng hạn"]) == e["on_time"]
        assert float(r["Tỷ lệ đúng hạn (%)"]) == pytest.approx(100 * e["on_time"] / e["eligible"], abs=0.01)
        assert float(r["Tỷ lệ phát thành công lần đầu (%)"]) == pytest.approx(
            100 * e["first_ok"] / e["attempted"], abs=0.01
        )
        assert int(r["Chuyển hoàn"]) == e["returned"]
        assert float(r["Thời gian toàn trình P95 (giờ)"]) == pytest.approx(p95(e["transit"]), abs=0.01)
        assert int(r["Tiền bồi thường (đồng)"]) == e["comp_total"]
        assert int(r["Cước (đồng)"]) == e["postage"]
        assert int(r["COD đã thu (đồng)"]) == e["cod_collected"]
        for reason, n in e["returned_reasons"].items():
            assert f"{reason}: {n}" in r["Lý do chuyển hoàn"]


def test_the_pdf_report_renders_with_vietnamese_headings(world: World) -> None:
    resp = report(world, "admin", "post_office", "pdf")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/pdf"
    pdf = resp.get_data()
    assert pdf.startswith(b"%PDF")
    text_ = pdftotext(pdf)
    for expected_text in (
        "BÁO CÁO SẢN LƯỢNG VÀ CHẤT LƯỢNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH",
        "Từ ngày 01/03/2026 đến ngày 15/03/2026",
        "I. Sản lượng và chất lượng",
        "II. Sự cố, khiếu nại, bồi thường",
        "III. Lý do phát không thành công và chuyển hoàn",
        "Bưu cục Ba Đình (demo)",
        "Phát không thành công: người nhận vắng nhà",
        "Tổng cộng",
        "Trang 1/",
    ):
        assert expected_text in text_, expected_text


def test_the_periodic_report_follows_circular_17_article_13(world: World) -> None:
    resp = world.call("admin", "GET", "/api/v1/reports/periodic?year=2026&period=Q1")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["from"] == "2026-01-01" and data["to"] == "2026-03-31" and data["deadline"] == "2026-04-10"
    items = [world.get(c) for c in [world.ids["early"], *world.in_period]]
    live = [i for i in items if i["status"] != "cancelled"]
    assert data["volume"]["total"] == len(live)
    assert data["volume"]["return"] == sum(1 for i in live if i["kind"] == "return")
    revenue = sum(i["postage_vnd"] if i["postage_vnd"] is not None else (i["fee_vnd"] or 0) for i in live)
    assert data["revenue_vnd"]["total"] == revenue
    assert sum(line["items"] for line in data["service_catalogue"]) == len(live)
    assert {(line["kind"], line["carrier"]) for line in data["service_catalogue"]} == {
        (i["kind"], i["carrier"]) for i in live
    }
    assert data["incidents"] == {"lost": 1, "damaged": 1, "tampered": 1, "total": 3}  # the February one counts
    assert data["complaints"]["received"] == 2 and data["complaints"]["resolved"] == 1
    assert data["complaints"]["resolved_on_time"] == 1 and data["complaints"]["by_fault"] == {"post": 1}
    assert data["compensation"] == {"cases": 2, "total_vnd": 138_000, "paid_vnd": 50_000}
    custody = [i for i in live if any(e["status"] == "picked_up" for e in i["events"])]
    hit = {world.ids["early"], world.ids["hn"][0], world.ids["tq"][2]}
    assert data["safety"]["items_in_custody"] == len(custody)
    assert data["safety"]["items_safe"] == len(custody) - len(hit)
    assert data["safety"]["rate"] == pytest.approx((len(custody) - 3) / len(custody), abs=1e-4)

    pdf = world.call("admin", "GET", "/api/v1/reports/periodic?year=2026&period=Q1&format=pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text_ = pdftotext(pdf.get_data())
    for heading in (
        "BÁO CÁO TÌNH HÌNH CUNG ỨNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH",
        "Quý I năm 2026",
        "1. Danh mục dịch vụ cung ứng",
        "2. Sản lượng và doanh thu",
        "3. Khiếu nại và kết quả giải quyết",
        "4. Bưu gửi bị mất, thất lạc, hư hỏng",
        "5. Bồi thường",
        "6. Mức độ an toàn đạt được",
        "Điều 13 Thông tư số 17/2017/TT-BTTTT",
    ):
        assert heading in text_, heading


def test_bad_report_requests_are_refused(world: World) -> None:
    assert report(world, "admin", "agency", start="2026-03-15", end="2026-03-01").status_code == 422
    assert report(world, "admin", "ward").status_code == 422
    assert report(world, "admin", "agency", fmt="xml").status_code == 422
    assert world.call("admin", "GET", "/api/v1/reports/periodic?year=2026&period=Q5").status_code == 422
    assert world.client.get("/api/v1/reports?from=2026-03-01&to=2026-03-15").status_code == 401


def test_the_dashboard_draws_accessible_svg_charts(world: World) -> None:
    anonymous = world.client.get("/dashboard")
    assert anonymous.status_code == 401 and "Đăng nhập" in anonymous.get_data(as_text=True)
    assert world.client.get(f"/dashboard?key={world.keys['admin']}").status_code == 401  # never from the URL

    page = world.call("admin", "GET", "/dashboard?from=2026-02-23&to=2026-03-15")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for chart in ("chart-volume", "chart-on-time", "chart-status"):
        assert f'<svg id="{chart}" role="img" aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html
    assert "Số bưu gửi đăng ký theo tuần" in html and "Tỷ lệ đúng hạn J+n theo tuần" in html
    assert "<table>" in html and "Đã phát thành công" in html and "Tất cả cơ quan, đơn vị" in html
    assert "<script" not in html

    # The sign-in form keeps a hash of the key in the session, then the page works without the header. Like every
    # form it needs the session's CSRF token.
    assert world.client.post("/dashboard/login", data={"api_key": world.keys["HCC-TQ"]}).status_code == 400
    token = form_token(world.client, "/dashboard")
    form = world.client.post("/dashboard/login", data={"api_key": world.keys["HCC-TQ"], "csrf_token": token})
    assert form.status_code == 303
    own = world.client.get("/dashboard?from=2026-03-01&to=2026-03-15")
    assert own.status_code == 200
    html = own.get_data(as_text=True)
    assert "Tuyên Quang" in html and "Tất cả cơ quan" not in html
    assert world.keys["HCC-TQ"] not in html
    logout = {"csrf_token": form_token(world.client, "/dashboard")}  # signing in began a fresh session
    assert world.client.post("/dashboard/logout", data=logout).status_code == 303
    assert world.client.get("/dashboard").status_code == 401
    wrong = {"api_key": "pb_wrong", "csrf_token": form_token(world.client, "/dashboard")}
    assert world.client.post("/dashboard/login", data=wrong).status_code == 401
