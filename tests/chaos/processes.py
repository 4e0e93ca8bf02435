"""The process-level chaos harness: the faults that need a real process (a SIGKILLed rq work-horse or worker, a warm
or cold rq shutdown, a gunicorn worker dying after the commit, a cut database connection).

``Cluster`` runs rq workers as subprocesses (``postal-bridge worker``: rq's forking ``Worker``, as deploy/ starts them)
and, when asked, gunicorn through deploy/gunicorn.conf.py, all on the real clock, against the test's own database and
private Redis. In this process: the fake couriers and the fake dossier receiver on loopback, the API on a loopback port
(``create_app``) for the scenarios that do not need gunicorn, and the reconciler (``workers.scheduler.tick``: relay due
rows, re-enqueue lapsed leases), called by the test so that "after the restart the reconciler runs" is a step, not a
sleep.

``TcpProxy`` sits between a process and PostgreSQL or Redis: it forwards bytes, and on command holds them (the process
blocks on its next call), cuts every connection, or cuts the one connection that sends a given statement — a database
connection dropped mid-transaction.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests
from sqlalchemy import func
from sqlalchemy import select as sql_select

from tests.chaos.harness import COURIERS, ApiClient, FakeFleet, fetch_pages
from tests.chaos.invariants import Snapshot, assert_invariants, snapshot
from tests.conftest import EmbeddedRedis, _free_port, register_hanoi
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 5  # the smallest lease the settings accept: a killed job's row is reclaimable 5 s later


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class TcpProxy:
    """A loopback TCP proxy to ``(host, port)`` that the test can hold, cut, or arm to cut on a statement."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.conns: list[_Pipe] = []
        self.held = threading.Event()
        self.held_bytes = 0  # bytes clients sent while held (each one a call now blocked)
        self.trigger: bytes | None = None
        self.cut_count = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pipe = _Pipe(self, client, upstream)
            with self.lock:
                self.conns.append(pipe)
            threading.Thread(target=pipe.run, name="tcp-proxy-pipe", daemon=True).start()

    def hold(self) -> None:
        """Stop forwarding: every call through the proxy blocks until ``release`` (or a cut)."""
        self.held_bytes = 0
        self.held.set()

    def release(self) -> None:
        self.held.clear()

    def cut(self) -> None:
        """Close every connection now, dropping whatever was held: the process sees the server vanish."""
        with self.lock:
            pipes, self.conns = list(self.conns), []
        for pipe in pipes:
            pipe.close()

    def cut_on(self, statement: bytes) -> None:
        """Arm a one-shot cut: the first connection that sends ``statement`` is closed before it reaches the server."""
        self.trigger = statement

    def held_peers(self) -> set[int]:
        """The client-side ports of connections with bytes waiting in the hold."""
        with self.lock:
            return {p.peer_port for p in self.conns if p.waiting}

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()


class _Pipe:
    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.peer_port = client.getpeername()[1]
        self.waiting = False
        self.closed = False
        self.tail = b""

    def run(self) -> None:
        pending = b""  # client bytes held back
        try:
            while not self.closed:
                socks = [self.upstream] if self.proxy.held.is_set() else [self.client, self.upstream]
                if self.proxy.held.is_set() and not pending:
                    socks.append(self.client)  # notice the first held call (then stop reading)
                readable, _, _ = select.select(socks, [], [], 0.05)
                if pending and not self.proxy.held.is_set():
                    self.upstream.sendall(pending)
                    pending, self.waiting = b"", False
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is self.upstream:
                        self.client.sendall(data)
                        continue
                    trigger = self.proxy.trigger
                    if trigger is not None and trigger in self.tail + data:
                        self.proxy.trigger = None
                        self.proxy.cut_count += 1
                        return  # the statement never reaches the server: the connection is gone mid-transaction
                    self.tail = (self.tail + data)[-256:]
                    if self.proxy.held.is_set():
                        pending += data
                        self.waiting = True
                        self.proxy.held_bytes += len(data)
                    else:
                        self.upstream.sendall(data)
        except OSError:
            return
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


class Cluster:
    """rq workers (and gunicorn) as subprocesses; couriers, receiver, API and reconciler in this process."""

    def __init__(
        self,
        database_url: str,
        redis: EmbeddedRedis,
        tmp_path: Path,
        *,
        couriers: Iterable[str] = ("ghn",),
        app_database_url: str | None = None,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        from postal_bridge import create_app
        from postal_bridge.bootstrap import build
        from postal_bridge.config import Settings
        from postal_bridge.services import agencies

        self.tmp = tmp_path
        self.redis = redis
        self.database_url = database_url
        self.procs: list[tuple[str, subprocess.Popen]] = []
        common = dict(
            instance_dir=tmp_path / "instance",
            redis_url=redis.url,
            allow_private_callbacks=True,
            outbox_lease_seconds=lease_seconds,
            public_base_url="http://pb.test",
            env="test",
            secret_key="chaos-secret",
            sms_gateway="off",
            log_level="WARNING",
        )
        self.settings = Settings.from_env({}, database_url=database_url, **common)
        self.container = build(self.settings)  # the test's view (setup, reconciler, checker): real clock, direct
        self.deps = self.container.deps
        self.engine = self.container.engine
        register_hanoi(self.deps)
        # The API in this process; through a proxy when the scenario cuts its database connection.
        self.app_container = (
            build(Settings.from_env({}, database_url=app_database_url, **common)) if app_database_url else None
        )
        self.receiver = FakeDossierSystem(secrets=[])
        self.hook = LoopbackServer(self.receiver.app).start()
        self.web = LoopbackServer(create_app(container=self.app_container or self.container)).start()
        self.fleet = FakeFleet(couriers)
        self.fleet.configure(self.deps, self.web.url)
        issued = agencies.create_api_key(
            self.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{self.hook.url}/callbacks"
        )
        self.receiver.secrets.append(issued.webhook_secret)
        self.issued = issued
        self.api = ApiClient(self.web.url, issued.api_key, issued.key.id)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTAL_BRIDGE_", "GUNICORN_"))}
        self.env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            POSTAL_BRIDGE_ENV="test",
            POSTAL_BRIDGE_SECRET_KEY="chaos-secret",
            POSTAL_BRIDGE_DATABASE_URL=database_url,
            POSTAL_BRIDGE_REDIS_URL=redis.url,
            POSTAL_BRIDGE_INSTANCE_DIR=str(tmp_path / "instance"),
            POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS="1",  # the fake dossier receiver listens on loopback
            POSTAL_BRIDGE_OUTBOX_LEASE_SECONDS=str(lease_seconds),
            POSTAL_BRIDGE_SMS_GATEWAY="off",
            POSTAL_BRIDGE_LOG_LEVEL="INFO",  # as much as the processes say, for the personal-data check of the logs
        )

    # -- processes ------------------------------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed once the child has it
        proc = subprocess.Popen(
            argv, env={**self.env, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def start_worker(self, **env: str) -> subprocess.Popen:
        """``postal-bridge worker`` (rq's forking Worker, with its scheduler), ready once rq registered it."""
        from rq import Worker

        before = {w.name for w in Worker.all(connection=self.deps.jobs.conn)}
        proc = self.start("worker", ["postal-bridge", "worker"], **env)

        def registered() -> bool:
            assert proc.poll() is None, f"the worker exited with {proc.returncode}:\n{self.logs()}"
            return bool({w.name for w in Worker.all(connection=self.deps.jobs.conn)} - before)

        wait_until(registered, 30, "the rq worker to register")
        return proc

    def start_gunicorn(self, *, workers: int = 3, redis_url: str | None = None) -> tuple[subprocess.Popen, str]:
        port = _free_port()
        env = {
            "POSTAL_BRIDGE_HOST": "127.0.0.1",
            "POSTAL_BRIDGE_PORT": str(port),
            "POSTAL_BRIDGE_WEB_WORKERS": str(workers),
            "POSTAL_BRIDGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
        if redis_url:
            env["POSTAL_BRIDGE_REDIS_URL"] = redis_url
        argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py")]
        proc = self.start("gunicorn", argv, **env)
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}:\n{self.logs()}"
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            return False

        wait_until(up, 30, "gunicorn to answer /healthz", every=0.1)
        wait_until(lambda: len(psutil.Process(proc.pid).children()) >= workers, 30, "gunicorn's workers")
        return proc, base

    @staticmethod
    def horse(worker: subprocess.Popen, timeout: float = 10) -> psutil.Process:
        """The work-horse a forking rq worker runs its job in: the child that leads a process group of its own (rq's
        horse calls ``setpgrp``; the worker's other child, rq's scheduler, stays in the worker's group)."""

        def find() -> psutil.Process | None:
            for kid in psutil.Process(worker.pid).children():
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    if os.getpgid(kid.pid) == kid.pid:
                        return kid
            return None

        return wait_until(find, timeout, "the rq work-horse")

    @staticmethod
    def kill_group(proc: subprocess.Popen) -> None:
        """SIGKILL a process and every descendant (the worker, rq's scheduler and the work-horse, which sits in a
        process group of its own): nothing gets to clean up."""
        with contextlib.suppress(psutil.Error):
            for kid in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    kid.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
            for p in sorted(self.tmp.glob("*.log"))
        )

    def log_texts(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log"))}

    # -- the reconciler, and waiting for the work to settle ---------------------------------------------------------

    def reconcile(self) -> int:
        """One scheduler round in this process: re-enqueue due rows and rows whose lease lapsed."""
        from workers.scheduler import tick

        relayed, _ = tick(self.container, poll=False)
        return relayed

    def live_work(self) -> int:
        from postal_bridge.storage import tables as t

        with self.engine.connect() as conn:
            return conn.execute(
                sql_select(func.count()).select_from(t.outbox).where(t.outbox.c.state.in_(("pending", "in_flight")))
            ).scalar_one()

    def settle(self, *, timeout: float = 40.0) -> None:
        """Run the reconciler every half second until no outbox row is pending or in flight."""
        deadline = time.monotonic() + timeout
        while self.live_work():
            if time.monotonic() > deadline:
                raise AssertionError(f"work still live after {timeout:g} s:\n{self.outbox_rows()}\n{self.logs()}")
            self.reconcile()
            time.sleep(0.5)

    def outbox_rows(self) -> list[dict[str, Any]]:
        from postal_bridge.storage import tables as t

        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sql_select(t.outbox).order_by(t.outbox.c.id)).mappings()]

    def consignment(self, cid: str):
        with self.deps.uow() as uow:
            return uow.consignments.get(cid)

    def ledger(self, code: str = "ghn") -> list[dict[str, Any]]:
        return self.fleet.ledgers()[code]

    def creates_seen(self, code: str = "ghn") -> int:
        return sum(1 for r in self.fleet.requests_seen(code) if r["path"].endswith("/shipping-order/create"))

    # -- the checker ------------------------------------------------------------------------------------------------

    def check(self, *, web_url: str | None = None) -> Snapshot:
        ids = self.api.created_ids()
        snap = snapshot(
            self.engine,
            now=datetime.now(UTC),
            receiver=self.receiver,
            ledgers=self.fleet.ledgers(),
            creates=self.api.creates,
            pages=fetch_pages(web_url or self.web.url, self.engine, ids[:20]),
            logs=self.log_texts(),
        )
        assert_invariants(snap)
        return snap

    def strays(self) -> list[psutil.Process]:
        """Every process still running for this cluster (found by its instance directory), orphans included."""
        mine = str(self.tmp / "instance")
        found = []
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if p.pid != os.getpid() and p.environ().get("POSTAL_BRIDGE_INSTANCE_DIR") == mine:
                    found.append(p)
        return found

    def close(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                self.kill_group(proc)
        for stray in self.strays():  # e.g. a work-horse whose worker died first
            with contextlib.suppress(psutil.Error):
                stray.kill()
        self.fleet.close()
        self.web.stop()
        self.hook.stop()
        self.container.close()
        if self.app_container is not None:
            self.app_container.close()


__all__ = ["COURIERS", "Cluster", "TcpProxy", "wait_until"]
