"""Callbacks to a fake one-stop dossier system on loopback, with a clock we move by hand and the relay + workers run
step by step: a three-day outage, the dead letter and its replay, 410 Gone, secret rotation, and the SSRF guard."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from flask import Flask, Response, redirect

from postal_bridge.domain.alerts import AlertKind, api_key_subject
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import OutboxKind, OutboxState
from postal_bridge.services import agencies, outbox, tracking, webhooks_admin
from tests.conftest import drain, register_hanoi
from tests.e2e.test_return_flow import LIFECYCLE, RETURN_BODY
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

HOUR = 3600


@pytest.fixture
def hub(container, clock, monkeypatch):
    """The app (test client), the fake dossier system on loopback, an agency key calling back to it, an admin key."""
    from postal_bridge import create_app
    from postal_bridge.api.webhooks_admin import blp

    # Real jitter, but reproducible: the same draws on every run.
    monkeypatch.setattr(outbox, "random", random.Random(20261122))
    register_hanoi(container.deps)
    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp())
    with LoopbackServer(receiver.app) as hook:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="one-stop", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        admin = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="ops", admin=True)
        app = create_app(container=container)
        if not any(r.rule == "/api/v1/admin/webhooks" for r in app.url_map.iter_rules()):
            app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
        yield Hub(container, clock, receiver, hook, issued, admin, app.test_client())


class Hub:
    def __init__(self, container, clock, receiver, hook, issued, admin, client) -> None:
        self.container, self.clock, self.receiver, self.hook = container, clock, receiver, hook
        self.deps = container.deps
        self.issued, self.admin, self.client = issued, admin, client
        self.created = 0

    def headers(self, key=None) -> dict:
        return {"Authorization": f"Bearer {(key or self.issued).api_key}"}

    def create(self) -> str:
        """A return, booked at once by the sandbox courier (its callbacks start now)."""
        self.created += 1
        body = dict(RETURN_BODY, dossier={**RETURN_BODY["dossier"], "code": f"000.00.12.H56-261115-{self.created:04d}"})
        resp = self.client.post(
            "/api/v1/consignments", json=body, headers={**self.headers(), "Idempotency-Key": f"wh-{self.created}"}
        )
        assert resp.status_code == 201, resp.get_json()
        drain(self.container)
        return resp.get_json()["id"]

    def deliver_by_courier(self) -> None:
        """Drive every sandbox consignment to ``delivered`` (a few courier events, seconds apart)."""
        for _ in range(4):
            self.clock.advance(self.container.settings.sandbox_step_seconds + 1)
            tracking.poll_due(self.deps)
            drain(self.container)

    def run(self, hours: float) -> None:
        """Let ``hours`` pass, the clock stepping from one due retry to the next, the relay (the scheduler's job) and
        the workers running at each step."""
        end = self.clock.now() + timedelta(hours=hours)
        while self.clock.now() < end:
            due = self.next_due()
            target = end if due is None else min(end, max(due, self.clock.now() + timedelta(seconds=1)))
            self.clock.advance((target - self.clock.now()).total_seconds())
            if outbox.relay_due(self.deps):
                drain(self.container)

    def next_due(self):
        """When the next runnable outbox item (the oldest live one of its ordering group) is due."""
        far = self.clock.now() + timedelta(days=3650)
        with self.deps.uow() as uow:
            items = [uow.outbox.get(i) for i in uow.outbox.due(now=far, limit=10_000)]
        heads: dict = {}
        for item in sorted(items, key=lambda i: i.id):
            heads.setdefault(item.ordering_key or item.id, item)
        times = [i.next_attempt_at if i.state == OutboxState.PENDING else i.lease_until for i in heads.values()]
        return min(times, default=None)

    def statuses(self, cid: str) -> list[str]:
        resp = self.client.get(f"/api/v1/consignments/{cid}", headers=self.headers())
        return [e["status"] for e in resp.get_json()["events"]]

    def notify_rows(self) -> list:
        with self.deps.uow() as uow:
            return uow.alerts.webhooks(limit=None)

    def states(self) -> Counter:
        return Counter(r.state for r in self.notify_rows())

    def received(self) -> dict[str, list[str]]:
        """Per consignment, the statuses the receiver accepted (first arrival of each webhook-id), in arrival order."""
        out: dict[str, list[str]] = defaultdict(list)
        for body in self.receiver.events():
            out[body["data"]["consignment_id"]].append(body["data"]["status"])
        return dict(out)

    def assert_each_event_accepted_exactly_once(self, cids: list[str]) -> None:
        rows = self.notify_rows()
        expected = sum(len(self.statuses(c)) for c in cids)
        assert len(rows) == expected
        accepted = Counter(d["message_id"] for d in self.receiver.deliveries if d["accepted"])
        assert set(accepted) == {r.message_id for r in rows}  # distinct webhook-ids = status events
        assert set(accepted.values()) == {1}  # each accepted exactly once
        assert all(d["signature_valid"] for d in self.receiver.deliveries if d["accepted"])
        assert self.received() == {c: self.statuses(c) for c in cids}  # in order, per consignment

    def alerts(self, kind: str) -> list:
        with self.deps.uow() as uow:
            return uow.alerts.list(kind=kind, subject=api_key_subject(self.issued.key.id))


# --------------------------------------------------------------------------------------------------------------------
# Outage, dead letter, replay


def test_a_three_day_outage_delivers_every_event_exactly_once_in_order(hub) -> None:
    hub.receiver.mode = "down"
    a, b = hub.create(), hub.create()
    hub.deliver_by_courier()
    assert hub.statuses(a) == LIFECYCLE and hub.statuses(b) == LIFECYCLE
    hub.run(hours=30)
    c = hub.create()  # more events in the middle of the outage
    hub.deliver_by_courier()
    hub.run(hours=42)  # 72 h down in all
    assert hub.receiver.events() == []
    assert all(d["status"] == 503 for d in hub.receiver.deliveries)
    assert hub.states() == Counter({OutboxState.PENDING.value: 18})  # nothing given up within the budget
    attempts = Counter(d["message_id"] for d in hub.receiver.deliveries)
    # Only the first callback of each consignment is tried (the rest wait behind it, in order): backing off, ≈ 9 tries.
    assert len(attempts) == 3 and min(attempts.values()) >= 8
    assert max(attempts.values()) <= 9

    hub.receiver.mode = "ok"
    hub.run(hours=12)
    assert hub.states() == Counter({OutboxState.DONE.value: 18})
    hub.assert_each_event_accepted_exactly_once([a, b, c])
    assert hub.alerts(AlertKind.WEBHOOK_DEAD) == []


def test_503_with_retry_after_is_honoured(hub) -> None:
    hub.receiver.mode = "down"
    hub.receiver.retry_after = 3 * HOUR
    hub.create()
    first = min(r.id for r in hub.notify_rows())
    with hub.deps.uow() as uow:
        item = uow.outbox.get(first)
    assert item.attempts == 1
    delay = (item.next_attempt_at - hub.clock.now()).total_seconds()
    assert 3 * HOUR <= delay <= 3 * HOUR * 1.1  # not the 5 s of the schedule
    hub.receiver.mode = "ok"
    hub.run(hours=2.5)
    assert hub.receiver.events() == []
    hub.run(hours=1)
    assert [e["data"]["status"] for e in hub.receiver.events()][:1] == ["requested"]


def test_a_receiver_down_past_the_budget_is_dead_lettered_with_an_alert_and_replayed(hub, capsys) -> None:
    hub.receiver.mode = "500"
    a = hub.create()
    hub.deliver_by_courier()
    b = hub.create()
    hub.deliver_by_courier()
    hub.run(hours=80)
    assert hub.states() == Counter({OutboxState.DEAD.value: 12})
    assert len(Counter(d["message_id"] for d in hub.receiver.deliveries)) == 12
    per_message = Counter(d["message_id"] for d in hub.receiver.deliveries)
    # The first callback of each consignment gets the whole budget; the ones queued behind it (in order), by then
    # as old as the budget, get one attempt each.
    assert sorted(per_message.values()) == [1] * 10 + [10] * 2
    (alert,) = hub.alerts(AlertKind.WEBHOOK_DEAD)  # one open alert for the endpoint, not one per callback
    assert "replay" in alert.message and hub.issued.webhook_secret not in alert.message

    listing = hub.client.get("/api/v1/admin/webhooks?state=dead", headers=hub.headers(hub.admin))
    assert listing.status_code == 200
    rows = listing.get_json()
    assert len(rows) == 12
    assert rows[0]["consignment_id"] == a and rows[0]["event_type"] == "consignment.status_changed"
    assert rows[0]["status"] == "requested" and rows[0]["attempts"] == 10
    assert rows[0]["last_error"].startswith("gave up after 10 attempts: HTTP 500")
    assert {"id", "created_at", "webhook_id", "state"} <= set(rows[0])
    forbidden = hub.client.get("/api/v1/admin/webhooks?state=dead", headers=hub.headers())
    assert forbidden.status_code == 403

    # Replay by id (the CLI), then the rest by time range (the admin API), with the receiver back.
    hub.receiver.mode = "ok"
    first = rows[0]["id"]
    assert webhooks_admin.replay_cli(hub.deps, ids=[first], since=None, until=None) == 1
    assert "re-queued 1 callback(s)" in capsys.readouterr().out
    drain(hub.container)
    assert hub.received() == {a: ["requested"]}
    since = min(r.created_at for r in hub.notify_rows())
    until = max(r.created_at for r in hub.notify_rows()) + timedelta(seconds=1)
    resp = hub.client.post(
        "/api/v1/admin/webhooks/replay",
        json={"since": since.isoformat(), "until": until.isoformat()},
        headers=hub.headers(hub.admin),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["requeued"] == 11
    drain(hub.container)
    hub.run(hours=1)
    assert hub.states() == Counter({OutboxState.DONE.value: 12})
    hub.assert_each_event_accepted_exactly_once([a, b])
    # The replayed callbacks kept their webhook-ids: the receiver saw the same ids during the outage.
    assert {d["message_id"] for d in hub.receiver.deliveries if d["accepted"]} == {
        d["message_id"] for d in hub.receiver.deliveries if d["status"] == 500
    }

    bad = hub.client.post("/api/v1/admin/webhooks/replay", json={}, headers=hub.headers(hub.admin))
    assert bad.status_code == 422


def test_410_disables_the_endpoint_alerts_and_later_events_are_not_sent_until_replayed(hub) -> None:
    hub.receiver.mode = "410"
    a = hub.create()
    hub.deliver_by_courier()
    b = hub.create()
    hub.run(hours=1)
    with hub.deps.uow() as uow:
        key = uow.api_keys.get(hub.issued.key.id)
    assert key.callback_disabled_at is not None
    (alert,) = hub.alerts(AlertKind.WEBHOOK_ENDPOINT_DISABLED)
    assert "410" in alert.message
    assert [p for _, p in hub.receiver.requests_seen] == ["/callbacks"]  # one request, then silence
    rows = hub.notify_rows()
    assert {r.state for r in rows} == {OutboxState.DEAD.value}
    assert "410" in rows[0].last_error
    assert all(r.last_error.startswith("endpoint disabled") for r in rows[1:])

    hub.receiver.mode = "ok"
    since = (rows[0].created_at - timedelta(minutes=1)).isoformat()
    kept = hub.client.post("/api/v1/admin/webhooks/replay", json={"since": since}, headers=hub.headers(hub.admin))
    assert kept.get_json() == {"requeued": 0, "skipped_disabled": len(rows), "reenabled": 0}
    resp = hub.client.post(
        "/api/v1/admin/webhooks/replay", json={"since": since, "reenable": True}, headers=hub.headers(hub.admin)
    )
    assert resp.get_json() == {"requeued": len(rows), "skipped_disabled": 0, "reenabled": 1}
    drain(hub.container)
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once([a, b])


# --------------------------------------------------------------------------------------------------------------------
# Secret rotation


def test_rotation_overlap_accepts_either_secret_then_only_the_new_one(hub) -> None:
    old = hub.issued.webhook_secret
    resp = hub.client.post(
        f"/api/v1/admin/api-keys/{hub.issued.key.id}/rotate-secret", json={}, headers=hub.headers(hub.admin)
    )
    assert resp.status_code == 200, resp.get_json()
    new = resp.get_json()["webhook_secret"]
    assert new.startswith("whsec_") and new != old
    assert resp.get_json()["previous_valid_until"].startswith(
        (hub.clock.now() + timedelta(hours=24)).date().isoformat()
    )
    assert (
        hub.client.post(f"/api/v1/admin/api-keys/{hub.issued.key.id}/rotate-secret", headers=hub.headers()).status_code
        == 403
    )

    hub.receiver.secrets[:] = [old]  # a receiver that has not switched yet
    a = hub.create()
    hub.receiver.secrets[:] = [new]  # one that already has
    b = hub.create()
    deliveries = hub.receiver.deliveries
    assert deliveries and all(d["accepted"] and d["signature_valid"] for d in deliveries)
    assert all(len(d["headers"]["webhook-signature"].split()) == 2 for d in deliveries)

    hub.clock.advance(24 * HOUR + 1)
    hub.receiver.secrets[:] = [old]
    seen = len(hub.receiver.deliveries)
    c = hub.create()
    late = hub.receiver.deliveries[seen:]
    assert late and not any(d["accepted"] for d in late)  # the old secret no longer verifies
    assert all(len(d["headers"]["webhook-signature"].split()) == 1 for d in late)
    hub.receiver.secrets[:] = [new]
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once([a, b, c])


# --------------------------------------------------------------------------------------------------------------------
# SSRF


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8099/callbacks",
        "http://10.20.30.40/callbacks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/callbacks",
        "http://hooks.motcua.example/callbacks",  # resolves to loopback (below)
    ],
)
def test_private_callback_urls_are_refused_at_save_time(container, url) -> None:
    deps = container.deps
    deps.allow_private_callbacks = False
    deps.resolve_host = lambda host: ["127.0.0.1"]
    register_hanoi(deps)
    with pytest.raises(ValidationFailed) as exc:
        agencies.create_api_key(deps, agency_code="HCC-HN", name="x", callback_url=url)
    (message,) = exc.value.errors["callback_url"]
    assert "private, loopback or link-local" in message


def test_callbacks_are_refused_at_send_time_after_dns_resolution(hub) -> None:
    """The URL was fine when saved; at send time it resolves inside: nothing is sent, the item waits and retries."""
    deps = hub.deps
    deps.allow_private_callbacks = False
    deps.resolve_host = lambda host: ["127.0.0.1"]  # hub.hook is on 127.0.0.1 (an IP literal) anyway
    a = hub.create()
    assert hub.receiver.requests_seen == []
    rows = hub.notify_rows()
    assert rows and all(r.state == OutboxState.PENDING.value for r in rows)
    assert "refused at send time" in rows[0].last_error and "127.0.0.1" in rows[0].last_error

    # A name that resolved to a public address when saved and to loopback now (DNS rebinding).
    deps.resolve_host = lambda host: ["93.184.216.34"]
    rebound = agencies.create_api_key(
        deps, agency_code="HCC-HN", name="rebinding", callback_url="http://hooks.motcua.example/callbacks"
    )
    deps.resolve_host = lambda host: ["127.0.0.1"]
    with deps.uow() as uow:
        from postal_bridge.services.effects import add_outbox

        nid = add_outbox(
            uow,
            OutboxKind.NOTIFY_DOSSIER,
            now=hub.clock.now(),
            consignment_id=a,
            payload={"api_key_id": rebound.key.id, "message_id": "msg_rebind", "body": "{}"},
        )
        uow.commit()
    assert outbox.process(deps, nid) == "retry"
    with deps.uow() as uow:
        assert "refused at send time" in uow.outbox.get(nid).last_error

    # Allowed again (e.g. the allow-list setting): everything goes out, in order.
    deps.allow_private_callbacks = True
    hub.run(hours=1)
    assert hub.received() == {a: hub.statuses(a)}


def test_a_redirect_to_an_internal_address_is_never_followed(hub) -> None:
    internal_hits: list[str] = []
    internal = Flask("internal")

    @internal.route("/<path:p>", methods=["GET", "POST"])
    def metadata(p: str) -> Response:
        internal_hits.append(p)
        return Response("secret metadata", status=200)

    with LoopbackServer(internal) as inside:
        bouncer = Flask("bouncer")

        @bouncer.post("/callbacks")
        def bounce() -> Response:
            return redirect(f"{inside.url}/latest/meta-data/", code=307)

        with LoopbackServer(bouncer) as outside:
            key = agencies.create_api_key(
                hub.deps, agency_code="HCC-HN", name="bouncer", callback_url=f"{outside.url}/callbacks"
            )
            hub.issued = key
            hub.create()
            hub.run(hours=1)
    assert internal_hits == []
    rows = [r for r in hub.notify_rows() if r.api_key_id == key.key.id]
    assert rows and all(r.state == OutboxState.PENDING.value for r in rows)
    assert all("redirects are not followed" in r.last_error for r in rows[:1])

    # The fake dossier system's own redirect: /elsewhere is never requested either.
    hub.receiver.mode = "redirect"
    hub.issued = hub.issued  # callbacks of the receiver's own key
    seen = len(hub.receiver.requests_seen)
    hub.run(hours=1)
    assert all(p != "/elsewhere" for _, p in hub.receiver.requests_seen[seen:])


# --------------------------------------------------------------------------------------------------------------------
# Batch jobs


def _statements(hub, run) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        seen.append(" ".join(statement.split())[:60])

    event.listen(hub.container.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(hub.container.engine, "before_cursor_execute", record)
    return seen


def test_a_backlog_of_callbacks_is_claimed_and_completed_in_one_statement_per_batch(hub) -> None:
    hub.receiver.mode = "down"
    cids = [hub.create() for _ in range(8)]  # each consignment's first callback waits; the others queue behind it
    hub.run(hours=0.1)
    hub.receiver.mode = "ok"
    hub.clock.advance(3 * HOUR)  # past every backoff: all eight heads are due together

    def relay_and_drain() -> None:
        assert outbox.relay_due(hub.deps) == 8
        assert [j.func_name for j in hub.deps.jobs.queue("outbox").jobs] == ["workers.jobs.run_outbox_batch"]
        drain(hub.container)  # each batch wakes the next callback of each of the eight consignments: another batch

    sent_before = len(hub.receiver.deliveries)
    updates = [s for s in _statements(hub, relay_and_drain) if s.startswith("UPDATE outbox")]
    sent = len(hub.receiver.deliveries) - sent_before
    assert sent >= 16 and sent % 8 == 0  # whole batches of eight callbacks, one per consignment
    assert len(updates) == 2 * sent // 8, updates  # one claim and one completion per batch, not 8 + 8
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once(cids)


def test_a_batch_past_its_budget_releases_what_it_has_not_sent(hub) -> None:
    hub.receiver.mode = "down"
    cids = [hub.create() for _ in range(5)]
    hub.run(hours=0.1)
    hub.receiver.mode = "ok"
    hub.clock.advance(3 * HOUR)
    with hub.deps.reader() as uow:
        due = uow.outbox.due(now=hub.clock.now(), limit=100)
        before = {i: uow.outbox.get(i).attempts for i in due}
    outcome = outbox.process_many(hub.deps, due, budget_seconds=0.0)
    assert outcome == {"done": 1, "deferred": 4}
    with hub.deps.reader() as uow:
        after = {i: (uow.outbox.get(i).state, uow.outbox.get(i).attempts) for i in due}
    assert after[due[0]][0] == OutboxState.DONE
    # The four not sent are pending again, their claim not counted as an attempt.
    assert {i: after[i] for i in due[1:]} == {i: (OutboxState.PENDING, before[i]) for i in due[1:]}
    drain(hub.container)
    hub.run(hours=1)
    hub.assert_each_event_accepted_exactly_once(cids)
