"""The in-process chaos harness and the pieces both harnesses share.

``World`` runs the real application on a loopback port (Flask app from ``create_app``), the real outbox relay
(``workers.scheduler.tick``) and rq jobs (``SimpleWorker`` in burst mode) against a private Redis and the test's own
database, with the fake couriers and the fake dossier receiver on loopback — all on one ``ManualClock``, so a retry
schedule of hours or days is walked in seconds. Faults that need a real process (SIGKILL of a work-horse, a gunicorn
worker dying) live in ``processes.py``.

Shared: ``FakeFleet`` (the fake couriers, their ledgers, faults and pushes), ``ApiClient`` (records every create as the
client saw it, for the checker), ``new_body`` (a seeded citizen and consignment) and ``fetch_pages``.
"""

from __future__ import annotations

import copy
import importlib
import random
import threading
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from rq import SimpleWorker
from sqlalchemy import exists, func, select

from tests.chaos.invariants import CreateAttempt, Snapshot, assert_invariants, snapshot
from tests.conftest import EmbeddedRedis, ManualClock, register_hanoi
from tests.e2e.test_return_flow import RETURN_BODY
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

# courier code → (fake module, VNPost API surface)
COURIERS: dict[str, tuple[str, str | None]] = {
    "ghn": ("tests.fakes.ghn", None),
    "ghtk": ("tests.fakes.ghtk", None),
    "viettelpost": ("tests.fakes.viettelpost", None),
    "vnpost": ("tests.fakes.vnpost", "donhang"),
}
CARRIERS = ("sandbox", *COURIERS)
# A Monday, 09:00 in Hà Nội: office hours, no holiday, so nothing waits for a working day.
START = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Thị", "Văn", "Hữu", "Minh", "Thu", "Ngọc", "Đức", "Thanh", "Quốc", "Bảo")
GIVEN = ("Hằng", "An", "Bình", "Cường", "Dung", "Giang", "Hải", "Hương", "Khánh", "Lan", "Long", "Mai", "Nam", "Phúc")
STREETS = ("Láng Hạ", "Đội Cấn", "Kim Mã", "Liễu Giai", "Phan Đình Phùng", "Quán Thánh", "Hoàng Hoa Thám", "Ngọc Hà")
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "070", "079", "032", "039", "056")


def new_body(rng: random.Random, carrier: str, *, kind: str = "return") -> dict[str, Any]:
    """A valid create body with a citizen of its own (name, phone in one of the accepted spellings, street line)."""
    body = copy.deepcopy(RETURN_BODY)
    body["carrier"] = carrier
    body["kind"] = kind
    digits = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7))
    spaced, dotted = f"{digits[:4]} {digits[4:7]} {digits[7:]}", f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    phone = rng.choice((digits, spaced, "+84" + digits[1:], dotted))
    body["citizen"] = {
        "name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "phone": phone,
        "address": {
            "line": f"Số {rng.randint(1, 400)} ngõ {rng.randint(1, 200)} phố {rng.choice(STREETS)}",
            "ward_code": "00004",
            "province_code": "01",
        },
    }
    if kind == "pickup":
        body["dossier"] = {"code": None, "procedure_name": "Đăng ký khai sinh"}
    else:
        body["dossier"] = {**body["dossier"], "code": f"000.00.12.H56-261115-{rng.randint(0, 9999):04d}"}
    body["parcel"] = {"weight_g": rng.randint(50, 2000), "contents": "Kết quả giải quyết thủ tục hành chính"}
    return body


class ApiClient:
    """The dossier system's side of the API: every create is recorded as the client saw it (thread-safe)."""

    def __init__(self, base_url: str, api_key: str, principal_id: str, *, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        self.principal_id = principal_id
        self.timeout = timeout
        self.creates: list[CreateAttempt] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            s.headers["Authorization"] = f"Bearer {self.api_key}"
        return s

    def create(self, body: dict[str, Any], *, key: str | None = None, headers: dict[str, str] | None = None):
        key = key or str(uuid.uuid4())
        try:
            resp = self.http.post(
                f"{self.base}/api/v1/consignments",
                json=body,
                headers={"Idempotency-Key": key, **(headers or {})},
                timeout=self.timeout,
            )
        except requests.ConnectionError:
            self._record(CreateAttempt(self.principal_id, key, body, None))
            self._local.session = None  # the connection died with the server process: start afresh
            return None
        cid = None
        if resp.status_code < 300 and resp.headers.get("Content-Type", "").startswith("application/json"):
            cid = resp.json().get("id")
        replayed = resp.headers.get("Idempotent-Replayed") == "true"
        self._record(CreateAttempt(self.principal_id, key, body, resp.status_code, cid, replayed))
        return resp

    def _record(self, attempt: CreateAttempt) -> None:
        with self._lock:
            self.creates.append(attempt)

    def get(self, consignment_id: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.base}/api/v1/consignments/{consignment_id}", timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def created_ids(self) -> list[str]:
        """Each consignment the API answered 2xx for, once, in the order first seen."""
        with self._lock:
            return list(dict.fromkeys(a.consignment_id for a in self.creates if a.consignment_id))


class FakeFleet:
    """The four fake couriers on loopback, set up for agency HCC-HN and pushing to the bridge's webhook URLs."""

    def __init__(self, codes: Iterable[str] = tuple(COURIERS)) -> None:
        self.fakes: dict[str, Any] = {}
        self.servers: dict[str, LoopbackServer] = {}
        self.lifecycle: dict[str, list[str]] = {}
        self.settings: dict[str, dict[str, str]] = {}
        self.web_url = ""
        for code in codes:
            module_name, api = COURIERS[code]
            module = importlib.import_module(module_name)
            fake = module.make(api) if api else module.make()
            server = LoopbackServer(fake.app).start()
            self.fakes[code], self.servers[code] = fake, server
            self.settings[code] = module.agency_settings(server.url, api) if api else module.agency_settings(server.url)
            life = module.LIFECYCLE_RETURN
            self.lifecycle[code] = list(life[api] if isinstance(life, dict) else life)

    def configure(self, deps, web_url: str) -> None:
        from postal_bridge.services import carriers

        self.web_url = web_url
        for code, values in self.settings.items():
            carriers.configure_carrier(deps, agency_code="HCC-HN", carrier=code, values={**values, "enabled": "1"})
            self.control(code, "config", {"webhook_url": f"{web_url}/webhooks/carriers/{code}"})

    def control(self, code: str, what: str, body: dict[str, Any] | None = None) -> Any:
        resp = requests.post(f"{self.servers[code].url}/__fake/{what}", json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def arm(self, code: str, kind: str, *, op: str = "create", count: int = 1, after_commit: bool = False) -> None:
        self.control(code, "faults", {"op": op, "kind": kind, "count": count, "after_commit": after_commit})

    def disarm(self) -> None:
        for fake in self.fakes.values():
            with fake.lock:
                fake.faults.clear()

    def push(self, code: str, tracking_code: str, raw_code: str, at: datetime, *, fire: bool = True) -> None:
        """The courier moves the order (and, with ``fire``, pushes the event to the bridge like the real one)."""
        self.control(code, f"orders/{tracking_code}/advance", {"to": raw_code, "at": at.isoformat(), "fire": fire})

    def signed_push(
        self, code: str, tracking_code: str, raw_code: str, at: datetime, *, forged: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The exact bytes and headers the courier would push for this event (``forged``: signed, or authenticated,
        with a secret that is not the agency's — what an attacker who knows the format but not the secret sends)."""
        fake = self.fakes[code]
        with fake.lock:
            order = fake.orders[tracking_code]
            saved = dict(fake.config)
            if forged:
                fake.config.update(webhook_secret="not-the-secret", webhook_hash="not-the-secret")
            try:
                return fake.webhook_payload(order, {"code": raw_code, "at": at, "reason": None})
            finally:
                fake.config.clear()
                fake.config.update(saved)

    def deliver(self, code: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        """POST a push to the bridge as the courier would."""
        return requests.post(f"{self.web_url}/webhooks/carriers/{code}", data=body, headers=headers, timeout=10)

    def ledgers(self) -> dict[str, list[dict[str, Any]]]:
        return {code: requests.get(f"{s.url}/__fake/orders", timeout=10).json() for code, s in self.servers.items()}

    def requests_seen(self, code: str) -> list[dict[str, Any]]:
        return requests.get(f"{self.servers[code].url}/__fake/requests", timeout=10).json()

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()


def fetch_pages(base_url: str, engine, ids: Sequence[str]) -> dict[str, str]:
    """The public tracking page of each consignment (the citizen's surface), by its token."""
    from postal_bridge.storage import tables as t

    with engine.connect() as conn:
        tokens = dict(
            conn.execute(
                select(t.consignments.c.id, t.consignments.c.tracking_token).where(t.consignments.c.id.in_(list(ids)))
            ).all()
        )
    from postal_bridge.web.security import limiter

    pages = {}
    with requests.Session() as http:
        for i, cid in enumerate(ids):
            if i % 50 == 0:  # /t/ allows 60 pages a minute per address: the checker is one address reading many
                limiter.reset()  # (the counters live in this world's private Redis)
            resp = http.get(f"{base_url}/t/{tokens[cid]}", timeout=10)
            assert resp.status_code == 200, (cid, resp.status_code)
            pages[cid] = resp.text
    return pages


class BurstWorker(SimpleWorker):
    """rq's in-process worker without its command channel: nobody sends this burst run commands, and joining the
    pub/sub thread on teardown costs ≈ 0.4 s per run, which a harness draining hundreds of times cannot afford."""

    def subscribe(self) -> None:
        return None

    def unsubscribe(self) -> None:
        return None


class World:
    """The application, relay and jobs in this process on a controlled clock; couriers and receiver on loopback."""

    def __init__(
        self,
        database_url: str,
        redis: EmbeddedRedis,
        tmp_path: Path,
        *,
        couriers: Iterable[str] = tuple(COURIERS),
        **overrides: Any,
    ) -> None:
        from postal_bridge import create_app
        from postal_bridge.bootstrap import build
        from postal_bridge.config import Settings
        from postal_bridge.services import agencies
        from workers import runtime

        self.redis = redis
        self.clock = ManualClock(START)
        self.settings = Settings.from_env(
            {},
            instance_dir=tmp_path / "instance",
            database_url=database_url,
            redis_url=redis.url,
            allow_private_callbacks=True,
            sandbox_step_seconds=600.0,
            poll_interval_seconds=3600.0,
            public_base_url="http://pb.test",
            env="test",
            secret_key="chaos-secret",
            sms_gateway="off",
            log_level="WARNING",
            **overrides,
        )
        self.container = build(self.settings, clock=self.clock)
        runtime.install(self.container)
        self.deps = self.container.deps
        self.engine = self.container.engine
        register_hanoi(self.deps)
        self.receiver = FakeDossierSystem(secrets=[], now=lambda: self.clock.now().timestamp())
        self.hook = LoopbackServer(self.receiver.app).start()
        self.web = LoopbackServer(create_app(container=self.container)).start()
        self.fleet = FakeFleet(couriers)
        self.fleet.configure(self.deps, self.web.url)
        issued = agencies.create_api_key(
            self.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{self.hook.url}/callbacks"
        )
        self.receiver.secrets.append(issued.webhook_secret)
        self.issued = issued
        self.api = ApiClient(self.web.url, issued.api_key, issued.key.id)
        self.replayed_ids: set[str] = set()

    # -- running the background work --------------------------------------------------------------------------------

    def drain(self, *, max_jobs: int | None = None) -> int:
        """Run queued rq jobs in this process (``SimpleWorker``, burst); returns how many were waiting."""
        from workers.queues import QUEUES

        queues = [self.deps.jobs.queue(name) for name in QUEUES]
        waiting = sum(q.count for q in queues)
        if waiting:
            BurstWorker(queues, connection=self.deps.jobs.conn).work(
                burst=True, max_jobs=max_jobs, logging_level="ERROR"
            )
        return waiting

    def tick(self, *, poll: bool = False) -> int:
        """One round of the scheduler: relay due outbox rows (and reclaim lapsed leases); polls when asked."""
        from workers.scheduler import tick

        relayed, polled = tick(self.container, poll=poll)
        return relayed + polled

    def next_due(self) -> datetime | None:
        from postal_bridge.storage import tables as t

        o, earlier = t.outbox, t.outbox.alias("earlier")
        blocked = exists(  # waits behind an earlier live row of its group: runs when that one settles, not by time
            select(earlier.c.id).where(
                earlier.c.ordering_key == o.c.ordering_key,
                earlier.c.id < o.c.id,
                earlier.c.state.in_(("pending", "in_flight")),
            )
        )
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(func.min(o.c.next_attempt_at)).where(o.c.state == "pending", ~blocked)
            ).scalar()
            lease = conn.execute(select(func.min(o.c.lease_until)).where(o.c.state == "in_flight")).scalar()
        times = [x if x.tzinfo else x.replace(tzinfo=UTC) for x in (pending, lease) if x is not None]
        return min(times) if times else None

    def settle(self, *, within: float = 3600.0, poll: bool = False) -> None:
        """Run everything due; when idle, jump the clock to the next retry (at most ``within`` seconds ahead)."""
        horizon = self.clock.now() + timedelta(seconds=within)
        while True:
            busy = self.drain() + self.tick(poll=poll)
            if busy:
                continue
            nxt = self.next_due()
            if nxt is None or nxt > horizon:
                return
            if nxt > self.clock.now():
                self.clock.advance((nxt - self.clock.now()).total_seconds() + 0.5)
            else:  # due now but not claimable (an earlier callback of its consignment is still live): wait a bit
                self.clock.advance(1.0)

    def advance(self, seconds: float, *, step: float = 600.0, poll: bool = True) -> None:
        """Let controlled time pass in steps, as the scheduler would, running whatever falls due."""
        end = self.clock.now() + timedelta(seconds=seconds)
        while self.clock.now() < end:
            self.clock.advance(min(step, (end - self.clock.now()).total_seconds()))
            self.settle(within=0, poll=poll)

    # -- state --------------------------------------------------------------------------------------------------------

    def consignment(self, cid: str):
        with self.deps.uow() as uow:
            return uow.consignments.get(cid)

    def snapshot(self, *, pages: int = 100, settled: bool = True, seed: int = 0, **extra: Any) -> Snapshot:
        ids = self.api.created_ids()
        sample = random.Random(seed).sample(ids, min(pages, len(ids)))
        return snapshot(
            self.engine,
            now=self.clock.now(),
            receiver=self.receiver,
            ledgers=self.fleet.ledgers(),
            creates=self.api.creates,
            pages=fetch_pages(self.web.url, self.engine, sample),
            replayed_ids=self.replayed_ids,
            settled=settled,
            **extra,
        )

    def check(self, **kw: Any) -> Snapshot:
        snap = self.snapshot(**kw)
        assert_invariants(snap)
        return snap

    def close(self) -> None:
        from workers import runtime

        self.fleet.close()
        self.web.stop()
        self.hook.stop()
        runtime.install(None)
        self.container.close()
