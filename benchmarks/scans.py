"""Clerk scan ingestion speed: events per second through ``services.scans.ingest_scans`` in batches.

    python -m benchmarks.scans [--items 5000] [--batch 100] [--database-url URL]

Seeds ``--items`` returns in postal custody (``picked_up``) for one post office, each created through an API key with
a callback URL (so every move also queues a signed callback in the outbox, as in production), then uploads, in
batches of ``--batch``:

1. ``arrive`` scans — each moves an item (``picked_up`` → ``in_transit``): the heaviest case;
2. the same events again — the offline queue's retry after a lost response: every event is a replay;
3. ``lookup`` scans — nothing moves.

The database is a fresh SQLite file in a temporary folder, or a fresh database on the PostgreSQL server of
``--database-url`` (created and dropped); ``--analyze`` gathers the planner's statistics after seeding. The baseline is
a raw batched INSERT of the same number of rows into the ``scans`` table with SQLAlchemy Core on the same connection.
Prints a markdown table; writes ``benchmarks/results/scans-<backend>-<YYYY-MM-DD>.json``. Issue 8's target: ≥ 5,000
events/s in batches of 100 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from benchmarks.fixtures import OFFICE, Seed
from postal_bridge.bootstrap import build
from postal_bridge.config import Settings
from postal_bridge.domain.scans import ScanInput
from postal_bridge.domain.status import Status
from postal_bridge.services import scans
from postal_bridge.services.clerk_scope import ClerkCaller
from postal_bridge.storage import tables as t
from postal_bridge.storage.migrate import upgrade


def _seed(container, items: int) -> tuple[ClerkCaller, list[str]]:
    seed = Seed(container.deps, callback_url="http://127.0.0.1:9/cb")
    return seed.clerk, seed.items(items, status=Status.PICKED_UP)


def _run(container, clerk, events: list[ScanInput], batch: int) -> float:
    began = time.perf_counter()
    for i in range(0, len(events), batch):
        scans.ingest_scans(container.deps, clerk, events[i : i + batch])
    return len(events) / (time.perf_counter() - began)


def _baseline(container, n: int, batch: int) -> float:
    now = datetime.now(UTC)
    rows = [
        {
            "user_id": "baseline",
            "client_event_id": str(uuid.uuid4()),
            "post_office_code": OFFICE,
            "actor": "baseline",
            "mode": "lookup",
            "code": "ZZ000000000VN",
            "scanned_at": now,
            "scanned_on": now.date(),
            "received_at": now,
            "outcome": "accepted",
            "message": "",
            "applied": False,
        }
        for _ in range(n)
    ]
    began = time.perf_counter()
    for i in range(0, n, batch):
        with container.engine.begin() as conn:
            conn.execute(insert(t.scans), rows[i : i + batch])
    return n / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE after seeding, as autovacuum would have on a live PostgreSQL (a freshly seeded table has no "
        "statistics and the planner scans it whole); off by default so figures compare with earlier runs",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    admin = None
    if args.database_url:
        name = f"pb_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings.from_env(
        {}, instance_dir=tmp, database_url=url, redis_url=None, env="test", secret_key="x", allow_private_callbacks=True
    )
    container = build(settings)
    try:
        upgrade(container.engine)
        print(f"seeding {args.items} items …", file=sys.stderr)
        clerk, codes = _seed(container, args.items)
        if args.analyze:
            with container.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        at = datetime.now(UTC) - timedelta(minutes=30)
        arrive = [
            ScanInput(str(uuid.uuid4()), c, at + timedelta(milliseconds=i), "arrive") for i, c in enumerate(codes)
        ]
        lookups = [ScanInput(str(uuid.uuid4()), c, at, "lookup") for c in codes]
        figures = {
            "arrive (moves)": _run(container, clerk, arrive, args.batch),
            "same events again (replay)": _run(container, clerk, arrive, args.batch),
            "lookup (no move)": _run(container, clerk, lookups, args.batch),
            "baseline: raw batched INSERT into scans": _baseline(container, args.items, args.batch),
        }
        backend = container.engine.url.get_backend_name()
    finally:
        container.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\n| scans ({backend}, batches of {args.batch}, {args.items} items) | events/s |\n|---|---|")
    print(f"(load average over the last minute: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)", file=sys.stderr)
    for label, value in figures.items():
        print(f"| {label} | {value:,.0f} |")
    out = Path(__file__).with_name("results") / f"scans-{backend}-{date.today():%Y-%m-%d}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "backend": backend,
                "batch": args.batch,
                "items": args.items,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average_1m_after": round(os.getloadavg()[0], 2),  # other work on the box skews every figure
                "analyzed_after_seeding": args.analyze,
                "events_per_second": {k: round(v) for k, v in figures.items()},
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
