"""Callbacks to the dossier system, in memory: the ≈ 3-day schedule with jitter, Retry-After, the dead letter with its
alert, 410 disabling the endpoint, replay, secret rotation, and the one-stop status each event implies."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest

from adapters.dossier.signing import SignatureError, sign, sign_all, verify
from postal_bridge.domain.alerts import Alert, AlertKind, api_key_subject
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import OutboxKind, OutboxState
from postal_bridge.domain.status import Kind, Status
from postal_bridge.domain.webhooks import (
    SECRET_OVERLAP,
    STATUS_CHANGED,
    WEBHOOK_EVENTS,
    DeliveryResult,
    legal_submission_time,
    new_webhook_secret,
    one_stop_status,
    signing_secrets,
    webhook_events_markdown,
)
from postal_bridge.services import outbox, webhooks_admin
from postal_bridge.services.deps import WEBHOOK_SCHEDULE
from postal_bridge.services.effects import webhook_body
from tests.fakes import memory
from tests.fakes.memory import create, make_deps, seed_caller, store_of

CALLBACK = "https://motcua.example.vn/hooks/postal"


# --------------------------------------------------------------------------------------------------------------------
# ``uow.alerts`` for the in-memory unit of work, used only while tests/fakes/memory.py does not provide one.


@pytest.fixture
def no_jitter(monkeypatch):
    """Jitter factor 1.0 (the middle of 0.9–1.1), so the delays are the schedule itself."""
    monkeypatch.setattr(outbox.random, "uniform", lambda a, b: 1.0 if a < 1.0 < b else a)


def _setup(**overrides):
    deps = make_deps(**overrides)
    caller = seed_caller(deps, callback_url=CALLBACK)
    cid = json.loads(create(deps, caller).body)["id"]
    deps.jobs.clear()
    return deps, caller, cid


def _notify_ids(deps) -> list[int]:
    return [i.id for i in store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)]


def _alerts(deps, **kw) -> list[Alert]:
    with deps.uow() as uow:
        return uow.alerts.list(**kw)


def _key(deps, key_id):
    with deps.uow() as uow:
        return uow.api_keys.get(key_id)


# --------------------------------------------------------------------------------------------------------------------
# The schedule


def test_the_schedule_spans_about_three_days_in_ten_attempts():
    assert WEBHOOK_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    total = sum(WEBHOOK_SCHEDULE)
    assert 75 * 3600 <= total <= 76 * 3600  # ≈ 75.6 h: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h


def test_a_receiver_that_never_answers_gets_exactly_the_schedule_then_a_dead_letter_and_one_alert(no_jitter):
    deps, caller, _cid = _setup()
    (nid,) = _notify_ids(deps)
    deps.webhooks.default = DeliveryResult(ok=False, status_code=500, error="HTTP 500")
    start = deps.clock.now()
    sent_at: list[datetime] = []
    outcomes: list[str] = []
    for _ in range(len(WEBHOOK_SCHEDULE) + 1):
        item = store_of(deps).outbox_item(nid)
        deps.clock.set(item.next_attempt_at)
        outcomes.append(outbox.process(deps, nid))
        sent_at.append(deps.clock.now())
    assert outcomes == ["retry"] * len(WEBHOOK_SCHEDULE) + ["dead"]
    gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(sent_at)]
    assert gaps == list(WEBHOOK_SCHEDULE)
    assert sent_at[-1] - start == timedelta(seconds=sum(WEBHOOK_SCHEDULE))
    item = store_of(deps).outbox_item(nid)
    assert item.state == OutboxState.DEAD and item.attempts == 10
    assert item.last_error.startswith("gave up after 10 attempts: HTTP 500")
    assert len({d.message_id for d in deps.webhooks.deliveries}) == 1  # one webhook-id for all ten attempts
    (alert,) = _alerts(deps, kind=AlertKind.WEBHOOK_DEAD)
    assert alert.subject == api_key_subject(caller.key.id)
    assert f"#{nid}" in alert.message and "replay" in alert.message
    assert caller.key.webhook_secret not in alert.message

    # A second dead callback of the same endpoint does not raise a second open alert.
    create(deps, caller)
    (second,) = [i for i in _notify_ids(deps) if i != nid]
    for _ in range(len(WEBHOOK_SCHEDULE) + 1):
        deps.clock.set(store_of(deps).outbox_item(second).next_attempt_at)
        outbox.process(deps, second)
    assert store_of(deps).outbox_item(second).state == OutboxState.DEAD
    assert len(_alerts(deps, kind=AlertKind.WEBHOOK_DEAD)) == 1


def test_jitter_stays_within_ten_percent_and_never_shortens_retry_after(monkeypatch):
    draws: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        draws.append((a, b))
        return b

    monkeypatch.setattr(outbox.random, "uniform", uniform)
    deps, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    deps.webhooks.respond(500, 500, 500)
    for _ in range(3):
        deps.clock.set(store_of(deps).outbox_item(nid).next_attempt_at)
        before = deps.clock.now()
        assert outbox.process(deps, nid) == "retry"
    # 5 s is not jittered; 300 s and 1800 s are, within ±10 %.
    assert draws == [(0.9, 1.1), (0.9, 1.1)]
    assert store_of(deps).outbox_item(nid).next_attempt_at == before + timedelta(seconds=1800 * 1.1)

    draws.clear()
    for status in (429, 502, 503, 504):
        deps.webhooks.respond(memory.status_result(status, retry_after=120))
        deps.clock.set(store_of(deps).outbox_item(nid).next_attempt_at)
        before = deps.clock.now()
        assert outbox.process(deps, nid) == "retry"
        delay = (store_of(deps).outbox_item(nid).next_attempt_at - before).total_seconds()
        assert delay == pytest.approx(120 * 1.1)  # Retry-After is a floor, jitter only lengthens it
    assert draws == [(1.0, 1.1)] * 4


# --------------------------------------------------------------------------------------------------------------------
# 410 Gone


def test_410_dead_letters_disables_the_endpoint_alerts_and_stops_later_callbacks():
    deps, caller, _cid = _setup()
    (first,) = _notify_ids(deps)
    deps.webhooks.respond(410)
    assert outbox.process(deps, first) == "dead"
    assert "410" in store_of(deps).outbox_item(first).last_error
    key = _key(deps, caller.key.id)
    assert key.callback_disabled_at == deps.clock.now()
    (alert,) = _alerts(deps, kind=AlertKind.WEBHOOK_ENDPOINT_DISABLED)
    assert alert.subject == api_key_subject(caller.key.id)

    create(deps, caller)
    second = max(_notify_ids(deps))
    sent = len(deps.webhooks.deliveries)
    assert outbox.process(deps, second) == "dead"
    assert len(deps.webhooks.deliveries) == sent  # no request at all
    assert store_of(deps).outbox_item(second).last_error.startswith("endpoint disabled")
    assert len(_alerts(deps, kind=AlertKind.WEBHOOK_ENDPOINT_DISABLED)) == 1

    # Without re-enabling, a replay leaves them dead; with it, both are sent with their original webhook-ids.
    assert webhooks_admin.replay(deps, ids=[first, second]) == 0
    assert _key(deps, caller.key.id).callback_disabled_at is not None
    deps.jobs.clear()
    assert webhooks_admin.replay(deps, ids=[first, second], reenable=True) == 2
    assert _key(deps, caller.key.id).callback_disabled_at is None
    assert sorted(deps.jobs.outbox_ids) == [first, second]
    for nid in (first, second):
        item = store_of(deps).outbox_item(nid)
        assert (item.state, item.attempts, item.last_error) == (OutboxState.PENDING, 0, None)
        assert outbox.process(deps, nid) == "done"
    first_payload = store_of(deps).outbox_item(first).payload
    assert deps.webhooks.deliveries[-2].message_id == first_payload["message_id"]
    assert deps.webhooks.deliveries[-2].body == first_payload["body"].encode()


def test_replay_needs_ids_or_a_time_range():
    deps, _, _ = _setup()
    now = deps.clock.now()
    with pytest.raises(ValidationFailed):
        webhooks_admin.replay(deps)
    with pytest.raises(ValidationFailed):
        webhooks_admin.replay(deps, ids=[1], since=now)
    with pytest.raises(ValidationFailed):
        webhooks_admin.replay(deps, since=now, until=now - timedelta(hours=1))
    with pytest.raises(ValidationFailed):
        webhooks_admin.replay(deps, since=now.replace(tzinfo=None))
    assert webhooks_admin.replay(deps, since=now - timedelta(days=1)) == 0  # nothing dead


def test_replay_cli_parses_iso_times_and_reports(no_jitter):
    deps, _, _ = _setup(webhook_schedule=())
    (nid,) = _notify_ids(deps)
    deps.webhooks.respond(500)
    assert outbox.process(deps, nid) == "dead"
    lines: list[str] = []
    since = (deps.clock.now() - timedelta(minutes=1)).replace(tzinfo=None).isoformat()  # no offset: UTC
    assert webhooks_admin.replay_cli(deps, ids=None, since=since, until=None, echo=lines.append) == 1
    assert lines == ["re-queued 1 callback(s)"]
    with pytest.raises(ValidationFailed):
        webhooks_admin.replay_cli(deps, ids=None, since="yesterday", until=None, echo=lines.append)


# --------------------------------------------------------------------------------------------------------------------
# Rotation


def test_rotation_signs_with_both_secrets_during_the_overlap_then_only_the_new_one():
    deps, caller, _ = _setup()
    old = caller.key.webhook_secret
    new = webhooks_admin.rotate_secret(deps, caller.key.id)
    assert new != old and new.startswith("whsec_")
    key = _key(deps, caller.key.id)
    assert (key.webhook_secret, key.previous_webhook_secret, key.secret_rotated_at) == (new, old, deps.clock.now())

    (nid,) = _notify_ids(deps)
    assert outbox.process(deps, nid) == "done"
    delivery = deps.webhooks.deliveries[-1]
    assert delivery.signing_secrets == (new, old)

    deps.clock.advance(SECRET_OVERLAP)
    create(deps, caller)
    assert outbox.process(deps, max(_notify_ids(deps))) == "done"
    assert deps.webhooks.deliveries[-1].signing_secrets == (new,)


def test_rotation_overlap_is_the_standard_window_or_none():
    deps, caller, _ = _setup()
    with pytest.raises(ValidationFailed):
        webhooks_admin.rotate_secret(deps, caller.key.id, overlap_hours=5)
    rotated = webhooks_admin.rotate_secret_details(deps, caller.key.id, overlap_hours=0)
    assert rotated.previous_valid_until is None
    assert _key(deps, caller.key.id).previous_webhook_secret is None
    rotated = webhooks_admin.rotate_secret_details(deps, caller.key.id)
    assert rotated.previous_valid_until == deps.clock.now() + timedelta(hours=24)


def test_signing_secrets_and_the_two_signature_header():
    now = memory.T0
    a, b = new_webhook_secret(), new_webhook_secret()
    assert signing_secrets(a, None, None, now) == (a,)
    assert signing_secrets(a, b, now, now) == (a, b)
    assert signing_secrets(a, b, now, now + SECRET_OVERLAP - timedelta(seconds=1)) == (a, b)
    assert signing_secrets(a, b, now, now + SECRET_OVERLAP) == (a,)

    ts, body = int(now.timestamp()), b'{"x":1}'
    header = sign_all((a, b), "msg_1", ts, body)
    assert header == f"{sign(a, 'msg_1', ts, body)} {sign(b, 'msg_1', ts, body)}"
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": header}
    assert verify([a], headers, body, now=ts) == "msg_1"  # a receiver that already has the new secret
    assert verify([b], headers, body, now=ts) == "msg_1"  # a receiver still on the old one
    with pytest.raises(SignatureError):
        verify([new_webhook_secret()], headers, body, now=ts)
    with pytest.raises(ValueError):
        sign_all((), "msg_1", ts, body)


# --------------------------------------------------------------------------------------------------------------------
# What each event implies for the one-stop system


def test_one_stop_status_10_only_for_a_delivered_return():
    assert one_stop_status(Kind.RETURN, Status.DELIVERED) == 10
    for status in Status:
        if status != Status.DELIVERED:
            assert one_stop_status(Kind.RETURN, status) is None, status
    assert one_stop_status(Kind.RETURN, Status.RETURNED_TO_AGENCY) is None
    assert one_stop_status(Kind.PICKUP, Status.DELIVERED) is None  # handed to the agency: not a result
    at = memory.T0
    assert legal_submission_time(Kind.PICKUP, Status.DELIVERED, at) == at
    assert legal_submission_time(Kind.RETURN, Status.DELIVERED, at) is None
    assert legal_submission_time(Kind.PICKUP, Status.IN_TRANSIT, at) is None


def test_webhook_body_carries_the_one_stop_status_and_the_legal_submission_time():
    deps, _caller, cid = _setup()
    c = store_of(deps).consignment(cid)
    at = deps.clock.now()
    delivered = json.loads(webhook_body(c, status=Status.DELIVERED, previous=Status.OUT_FOR_DELIVERY, occurred_at=at))
    assert delivered["data"]["one_stop_status"] == 10
    assert delivered["data"]["legal_submission_time"] is None
    back = json.loads(
        webhook_body(c, status=Status.RETURNED_TO_AGENCY, previous=Status.RETURNING_TO_AGENCY, occurred_at=at)
    )
    assert back["data"]["one_stop_status"] is None
    c.kind = Kind.PICKUP
    handed = json.loads(webhook_body(c, status=Status.DELIVERED, previous=Status.IN_TRANSIT, occurred_at=at))
    assert handed["data"]["one_stop_status"] is None
    assert handed["data"]["legal_submission_time"] == at.isoformat()


def test_every_event_type_is_documented_with_examples_consistent_with_the_rules():
    doc = WEBHOOK_EVENTS[STATUS_CHANGED]
    assert doc.type == STATUS_CHANGED and doc.examples
    seen = set()
    for _, body in doc.examples:
        data = body["data"]
        assert body["type"] == STATUS_CHANGED
        assert data["one_stop_status"] == one_stop_status(data["kind"], data["status"])
        seen.add((data["kind"], data["status"], data["one_stop_status"], data["legal_submission_time"] is not None))
    assert ("return", "delivered", 10, False) in seen
    assert ("return", "returned_to_agency", None, False) in seen
    assert ("pickup", "delivered", None, True) in seen
    text = webhook_events_markdown()
    assert f"`{STATUS_CHANGED}`" in text and '"one_stop_status": 10' in text and "410" in text
    # The documented keys are exactly those a real callback carries.
    deps, _, _ = _setup()
    real = json.loads(store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)[0].payload["body"])
    assert set(real) == set(doc.example) and set(real["data"]) == set(doc.example["data"])
