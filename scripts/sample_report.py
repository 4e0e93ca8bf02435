"""Build a sample data set in a temporary SQLite database and write the sample reports to ``docs/samples/``.

    .venv/bin/python scripts/sample_report.py [--year 2026] [--period Q1] [--out docs/samples] [--seed 7]

Everything goes through the application: bootstrap, migrations, agencies and API keys, consignments created over the
API with the sandbox courier (Hà Nội's a step every 4 hours, Tuyên Quang's once a day, so some miss J+n), driven
by a simulated clock with the outbox and the tracking polls run in this process (no Redis needed). Incidents and
complaints are inserted as rows, as the incidents service would store them. Writes:

* ``report-<year>-<period>.csv`` and ``.pdf``: the figures per agency (``GET /api/v1/reports``);
* ``report-<year>-<period>-post-office.pdf``: the same per post office;
* ``report-<year>-<period>-tt17.pdf``: the Circular 17/2017 Art 13 report (``GET /api/v1/reports/periodic``).

Data are invented (demo post offices, made-up citizens); the figures are not real.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCIES = {
    "HCC-HN": {
        "name": "Trung tâm Phục vụ hành chính công Thành phố Hà Nội",
        "phone": "02438253536",
        "line": "Số 258 đường Võ Chí Công",
        "ward": "00004",
        "province": "01",
        "wards": ["00004", "00008", "00070", "00082", "00235", "00190", "00166", "00160", "00145", "09556"],
        "step": "14400",
        "weight": 3,
    },
    "HCC-TQ": {
        "name": "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        "phone": "02073822345",
        "line": "Số 1 đường Tân Trào",
        "ward": "02215",
        "province": "08",
        "wards": ["02215", "02212", "00694", "00691", "02536", "02287"],
        "step": "86400",
        "weight": 1,
    },
}
PROCEDURES = [
    ("1.001229", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"),
    ("1.000656", "Đăng ký khai sinh"),
    ("1.004227", "Cấp đổi giấy phép lái xe"),
    ("1.001612", "Chứng thực bản sao từ bản chính"),
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Thu Hà", "Quốc Huy", "Thị Lan", "Đức Long", "Ngọc Mai"]


class Clock:
    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = max(self._now, moment)


def local(d: date, hour: float) -> datetime:
    return (datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(hours=hour)).astimezone(UTC)


def pump(deps) -> None:
    """What the workers would do: every due outbox item, then every due tracking poll, until quiet."""
    from postal_bridge.services import outbox, tracking

    for _ in range(20):
        with deps.uow() as uow:
            ids = uow.outbox.due(now=deps.clock.now(), limit=1000)
            polls = uow.consignments.due_for_poll(carriers=["sandbox"], now=deps.clock.now(), limit=1000)
        for item_id in ids:
            outbox.process(deps, item_id)
        for cid in polls:
            tracking.poll_consignment(deps, cid)
        if not ids and not polls:
            return


def build_world(tmp: Path, year: int, period: str, seed: int):
    from postal_bridge import create_app
    from postal_bridge.bootstrap import build
    from postal_bridge.config import Settings
    from postal_bridge.domain.reports import period_range
    from postal_bridge.services import agencies, carriers
    from postal_bridge.services.post_offices import load_post_offices_cli
    from postal_bridge.storage import tables as t
    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.migrate import upgrade

    rng = random.Random(seed)
    start, end = period_range(year, period)
    url = f"sqlite:///{tmp / 'sample.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings.from_env(
        {},
        instance_dir=tmp,
        database_url=url,
        redis_url="",
        public_base_url="https://bcci.example.gov.vn",
        env="development",
        secret_key="sample",
        poll_interval_seconds=3600.0,
    )
    clock = Clock(local(start - timedelta(days=3), 8))
    container = build(settings, clock=clock)
    deps = container.deps
    for code, a in AGENCIES.items():
        agencies.register_agency(
            deps,
            code=code,
            name=a["name"],
            phone=a["phone"],
            line=a["line"],
            ward_code=a["ward"],
            province_code=a["province"],
        )
        carriers.configure_carrier(deps, agency_code=code, carrier="sandbox", values={"step_seconds": a["step"]})
    demo = ROOT / "postal_bridge" / "data" / "post_offices_demo.csv"
    load_post_offices_cli(deps, str(demo))
    keys = {code: agencies.create_api_key(deps, agency_code=code, name="sample").api_key for code in AGENCIES}
    admin = agencies.create_api_key(deps, agency_code="HCC-HN", name="Sở", admin=True).api_key
    app = create_app(container=container)
    if "/api/v1/reports" not in {r.rule for r in app.url_map.iter_rules()}:  # until the app registers it itself
        from postal_bridge.api import reports

        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(reports.blp)
    client = app.test_client()

    created: list[str] = []
    day = start
    n = 0
    while day <= end:
        if day.weekday() < 5:
            for hour in sorted(rng.uniform(7.5, 16.5) for _ in range(rng.randint(1, 4))):
                clock.set(local(day, hour))
                code = rng.choices(list(AGENCIES), weights=[a["weight"] for a in AGENCIES.values()])[0]
                a = AGENCIES[code]
                kind = rng.choices(["return", "pickup", "transfer"], weights=[6, 3, 1])[0]
                scenario = rng.choices(["delivered", "failed_then_delivered", "returned"], weights=[14, 4, 1])[0]
                n += 1
                proc = rng.choice(PROCEDURES)
                payload = {
                    "kind": kind,
                    "carrier": "sandbox",
                    "service": rng.choices(["standard", "express"], weights=[4, 1])[0],
                    "dossier": {
                        "code": f"000.00.12.H56-{day:%y%m%d}-{n:04d}",
                        "procedure_code": proc[0],
                        "procedure_name": proc[1],
                    },
                    "citizen": {
                        "name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                        "phone": f"091{rng.randint(1_000_000, 9_999_999)}",
                        "address": {
                            "line": f"Số {rng.randint(1, 200)} ngõ {rng.randint(1, 90)}",
                            "ward_code": rng.choice(a["wards"]),
                            "province_code": a["province"],
                        },
                    },
                    "parcel": {"weight_g": rng.choice([150, 250, 400, 900, 1600]), "contents": "Hồ sơ TTHC"},
                    "cod_vnd": rng.choice([0, 0, 0, 0, 25_000, 50_000]) if kind == "return" else 0,
                    "options": {"sandbox_scenario": scenario},
                }
                resp = client.post(
                    "/api/v1/consignments",
                    json=payload,
                    headers={"Authorization": f"Bearer {keys[code]}", "Idempotency-Key": str(uuid.uuid4())},
                )
                if resp.status_code != 201:
                    raise SystemExit(f"create failed: {resp.status_code} {resp.get_data(as_text=True)}")
                cid = resp.get_json()["id"]
                created.append(cid)
                if rng.random() < 0.03:
                    client.post(
                        f"/api/v1/consignments/{cid}/cancel", json={}, headers={"Authorization": f"Bearer {keys[code]}"}
                    )
                pump(deps)
        for hour in (18, 22):  # the evening and night rounds of the courier
            clock.set(local(day, hour))
            pump(deps)
        day += timedelta(days=1)
    for extra in range(1, 8):  # the quarter's last items arrive in the following days
        clock.set(local(end + timedelta(days=extra), 9))
        pump(deps)

    # Incidents and complaints (rows as the incidents service would store them).
    with container.engine.begin() as conn:
        sample = rng.sample(created, k=min(len(created), 8))
        for i, (cid, kind, money) in enumerate(
            zip(sample[:3], ["damaged", "lost", "tampered"], [120_000, 88_000, None], strict=True)
        ):
            conn.execute(
                t.incidents.insert().values(
                    id=str(uuid.uuid4()),
                    consignment_id=cid,
                    kind=kind,
                    opened_at=local(start + timedelta(days=20 + i * 15), 10),
                    opened_by="Bưu cục",
                    record_no=f"BB-{i + 1:03d}",
                    description="Biên bản sự cố",
                    fault_party="post",
                    resolved_at=local(start + timedelta(days=25 + i * 15), 10),
                    resolution="Đã bồi thường" if money else "Đã lập biên bản, đóng gói lại",
                    compensation_vnd=money,
                )
            )
        for i, cid in enumerate(sample[3:7]):
            opened = start + timedelta(days=10 + i * 17)
            resolved = i < 3
            conn.execute(
                t.complaints.insert().values(
                    id=str(uuid.uuid4()),
                    consignment_id=cid,
                    complainant="citizen" if i % 2 else "agency",
                    opened_at=local(opened, 9),
                    description="Phát chậm so với J+n",
                    due_date=opened + timedelta(days=7),
                    resolved_at=local(opened + timedelta(days=3 + i), 15) if resolved else None,
                    outcome="Hoàn cước do phát chậm" if resolved else None,
                    fault_party=("post" if i != 1 else "citizen") if resolved else None,
                    compensation_vnd=25_000 if i == 0 else None,
                    paid_at=local(opened + timedelta(days=9), 10) if i == 0 else None,
                )
            )
    return container, client, admin, start, end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--period", default="Q1")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "samples")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pb-sample-") as tmp:
        container, client, admin, start, end = build_world(Path(tmp), args.year, args.period, args.seed)
        auth = {"Authorization": f"Bearer {admin}"}
        base = f"/api/v1/reports?from={start}&to={end}"
        stem = f"report-{args.year}-{args.period}"
        outputs = {
            f"{stem}.csv": f"{base}&group_by=agency&format=csv",
            f"{stem}.pdf": f"{base}&group_by=agency&format=pdf",
            f"{stem}-post-office.pdf": f"{base}&group_by=post_office&format=pdf",
            f"{stem}-tt17.pdf": f"/api/v1/reports/periodic?year={args.year}&period={args.period}&format=pdf",
        }
        for name, path in outputs.items():
            resp = client.get(path, headers=auth)
            if resp.status_code != 200:
                raise SystemExit(f"{path}: {resp.status_code} {resp.get_data(as_text=True)[:500]}")
            (args.out / name).write_bytes(resp.get_data())
            print(f"wrote {args.out / name}")
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
