"""The outbox: booking with the courier, dossier callbacks, cancels with the courier, leases, retries, ordering."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postal_bridge.domain.carriers import (
    Capability,
    CarrierUnavailable,
    CarrierValidationError,
    OutcomeUnknown,
    RateLimited,
)
from postal_bridge.domain.model import OutboxItem, OutboxKind, OutboxState
from postal_bridge.domain.status import Status
from postal_bridge.domain.webhooks import DeliveryResult
from postal_bridge.services import outbox
from postal_bridge.services.carriers import StaticCarrierRegistry
from postal_bridge.services.consignments import cancel_consignment
from postal_bridge.services.deps import COURIER_SCHEDULE, WEBHOOK_SCHEDULE
from tests.fakes.memory import FakeCarrier, create, make_deps, seed_caller, store_of

CALLBACK = "https://motcua.example.vn/hooks/postal"


@pytest.fixture
def no_jitter(monkeypatch):
    """Pin the retry jitter to its lower bound so delays are exact (and the worst case is what is checked)."""
    monkeypatch.setattr(outbox.random, "uniform", lambda a, b: a)


def _setup(callback: str | None = CALLBACK, **deps_overrides):
    deps = make_deps(**deps_overrides)
    caller = seed_caller(deps, callback_url=callback)
    cid = json.loads(create(deps, caller).body)["id"]
    (book,) = store_of(deps).outbox_items(kind=OutboxKind.BOOK)
    deps.jobs.clear()
    return deps, caller, cid, book.id


# --------------------------------------------------------------------------------------------------------------------
# BOOK


def test_book_success_stores_the_tracking_code_and_queues_label_and_callback():
    deps, _, cid, book_id = _setup()
    store = store_of(deps)
    courier: FakeCarrier = deps.carriers["fake"]

    assert outbox.process(deps, book_id) == "done"

    order = courier.only_order()
    c = store.consignment(cid)
    assert c.status == Status.BOOKED
    assert c.tracking_code == order.result.carrier_ref
    assert c.carrier_ref == order.result.carrier_internal_id
    assert order.request.client_ref == c.client_ref
    assert order.request.kind == "return"
    # A return goes from the centre to the citizen.
    assert order.request.sender.name.startswith("Trung tâm")
    assert order.request.recipient.name == "Nguyễn Thị Hằng"
    assert order.request.recipient.ward_name == "Phường Ba Đình"
    assert order.request.recipient.province_name == "Thành phố Hà Nội"
    assert order.request.metadata == {"dossier_code": c.dossier.code, "agency_code": "TTPVHCC-HN"}
    assert courier.calls == [("create", c.client_ref)]  # first attempt: no lookup

    item = store.outbox_item(book_id)
    assert (item.state, item.attempts, item.completed_at, item.lease_until) == (
        OutboxState.DONE,
        1,
        deps.clock.now(),
        None,
    )
    (label,) = store.outbox_items(kind=OutboxKind.RENDER_LABEL)
    notifies = store.outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)
    assert [json.loads(n.payload["body"])["data"]["status"] for n in notifies] == ["requested", "booked"]
    booked_body = json.loads(notifies[-1].payload["body"])["data"]
    assert booked_body["tracking_code"] == c.tracking_code
    assert booked_body["previous_status"] == "requested"
    assert sorted(deps.jobs.outbox_ids) == sorted([label.id, notifies[-1].id])


def test_processing_the_same_book_item_twice_is_skipped():
    deps, _, _, book_id = _setup()
    assert outbox.process(deps, book_id) == "done"
    deps.clock.advance(hours=1)
    assert outbox.process(deps, book_id) == "skipped"
    assert len(deps.carriers["fake"].orders) == 1


def test_unknown_item_is_skipped():
    deps = make_deps()
    assert outbox.process(deps, 12345) == "skipped"


def test_outcome_unknown_after_the_courier_committed_books_exactly_once():
    deps, _, cid, book_id = _setup()
    store = store_of(deps)
    courier: FakeCarrier = deps.carriers["fake"]
    courier.fail_next_create(OutcomeUnknown("fake", "read timeout"), after_recording=True)

    assert outbox.process(deps, book_id) == "retry"

    item = store.outbox_item(book_id)
    assert item.state == OutboxState.PENDING
    assert item.attempts == 1
    assert item.next_attempt_at == deps.clock.now() + timedelta(seconds=COURIER_SCHEDULE[0])
    assert "outcome unknown" in item.last_error
    assert store.consignment(cid).status == Status.REQUESTED
    assert len(courier.orders) == 1  # the courier did take the order

    assert outbox.process(deps, book_id) == "skipped"  # not due yet
    deps.clock.advance(seconds=COURIER_SCHEDULE[0])
    assert outbox.process(deps, book_id) == "done"

    c = store.consignment(cid)
    assert len(courier.orders) == 1
    assert [op for op, _ in courier.calls] == ["create", "find"]
    assert c.status == Status.BOOKED
    assert c.tracking_code == courier.only_order().result.carrier_ref
    assert store.outbox_item(book_id).attempts == 2


def test_outcome_unknown_before_the_courier_committed_creates_on_the_next_attempt():
    deps, _, cid, book_id = _setup()
    courier: FakeCarrier = deps.carriers["fake"]
    courier.fail_next_create(OutcomeUnknown("fake", "502 from the gateway"))
    assert outbox.process(deps, book_id) == "retry"
    assert courier.orders == {}
    deps.clock.advance(seconds=COURIER_SCHEDULE[0])
    assert outbox.process(deps, book_id) == "done"
    assert [op for op, _ in courier.calls] == ["create", "find", "create"]
    assert len(courier.orders) == 1
    assert store_of(deps).consignment(cid).status == Status.BOOKED


def test_duplicate_reference_on_create_is_resolved_by_lookup():
    """The first create committed but the lookup on the retry missed it (eventual consistency): create says dup."""
    deps, _, cid, book_id = _setup()
    courier: FakeCarrier = deps.carriers["fake"]
    courier.fail_next_create(OutcomeUnknown("fake", "timeout"), after_recording=True)
    assert outbox.process(deps, book_id) == "retry"
    real_find = courier.find_by_reference
    lookups = []

    def find_missing_once(ref):
        lookups.append(ref)
        return None if len(lookups) == 1 else real_find(ref)

    courier.find_by_reference = find_missing_once
    deps.clock.advance(seconds=COURIER_SCHEDULE[0])
    assert outbox.process(deps, book_id) == "done"
    assert len(courier.orders) == 1
    assert len(lookups) == 2  # the lookup missed, create said duplicate, the second lookup found it
    assert store_of(deps).consignment(cid).status == Status.BOOKED


def test_permanent_validation_error_marks_booking_failed():
    deps, _, cid, book_id = _setup()
    store = store_of(deps)
    deps.carriers["fake"].fail_next_create(
        CarrierValidationError("fake", "recipient phone rejected", field_errors={"phone": "invalid"})
    )

    assert outbox.process(deps, book_id) == "done"

    c = store.consignment(cid)
    assert c.status == Status.BOOKING_FAILED
    assert "recipient phone rejected" in c.events[-1].description
    assert c.tracking_code is None
    assert store.outbox_item(book_id).state == OutboxState.DONE
    assert store.outbox_items(kind=OutboxKind.RENDER_LABEL) == []
    notifies = store.outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)
    assert json.loads(notifies[-1].payload["body"])["data"]["status"] == "booking_failed"


def test_rate_limited_retries_after_the_couriers_delay(no_jitter):
    deps, _, cid, book_id = _setup()
    deps.carriers["fake"].fail_next_create(RateLimited("fake", "slow down", retry_after=30))

    assert outbox.process(deps, book_id) == "retry"

    item = store_of(deps).outbox_item(book_id)
    assert item.state == OutboxState.PENDING
    assert "rate limited" in item.last_error
    # The courier said "not before 30 s": retrying earlier breaks its limit (jitter may only lengthen the wait).
    assert item.next_attempt_at == deps.clock.now() + timedelta(seconds=30)
    assert store_of(deps).consignment(cid).status == Status.REQUESTED


def test_transient_unavailability_follows_the_courier_schedule(no_jitter):
    deps, _, _, book_id = _setup()
    courier: FakeCarrier = deps.carriers["fake"]
    for attempt in (1, 2, 3):
        courier.fail_next("create", CarrierUnavailable("fake", "503"))
        assert outbox.process(deps, book_id) == "retry"
        item = store_of(deps).outbox_item(book_id)
        assert item.attempts == attempt
        delay = COURIER_SCHEDULE[attempt - 1] * (0.9 if COURIER_SCHEDULE[attempt - 1] > 10 else 1)
        assert item.next_attempt_at == deps.clock.now() + timedelta(seconds=delay)
        deps.clock.set(item.next_attempt_at)
    assert outbox.process(deps, book_id) == "done"
    assert len(courier.orders) == 1


def test_retries_beyond_the_schedule_dead_letter_the_item():
    deps, _, cid, book_id = _setup(courier_schedule=(1, 2))
    store = store_of(deps)
    courier: FakeCarrier = deps.carriers["fake"]
    outcomes = []
    for _ in range(3):
        courier.fail_next("create", CarrierUnavailable("fake", "503 Service Unavailable"))
        outcomes.append(outbox.process(deps, book_id))
        deps.clock.advance(seconds=10)
    assert outcomes == ["retry", "retry", "dead"]
    item = store.outbox_item(book_id)
    assert item.state == OutboxState.DEAD
    assert item.attempts == 3
    assert item.completed_at is not None
    assert "gave up after 3 attempts" in item.last_error
    assert outbox.process(deps, book_id) == "skipped"  # dead items are never claimed again
    assert store.consignment(cid).status == Status.REQUESTED


def test_handler_crash_is_retried_not_lost():
    deps, _, _, book_id = _setup()
    courier: FakeCarrier = deps.carriers["fake"]

    def boom(req):
        raise KeyError("bug in the adapter")

    courier.create = boom
    assert outbox.process(deps, book_id) == "retry"
    item = store_of(deps).outbox_item(book_id)
    assert item.state == OutboxState.PENDING
    assert item.last_error.startswith("KeyError")


def test_unconfigured_carrier_is_dead():
    deps, _, _, book_id = _setup()
    deps.carriers = StaticCarrierRegistry({})
    assert outbox.process(deps, book_id) == "dead"


def test_expired_lease_is_reclaimed():
    deps, _, cid, book_id = _setup()
    store = store_of(deps)
    now = deps.clock.now()
    with deps.uow() as uow:  # a worker claimed the item and died
        assert uow.outbox.claim(book_id, now=now, lease_until=now + timedelta(seconds=120)) is not None
        uow.commit()

    assert outbox.process(deps, book_id) == "skipped"
    deps.clock.advance(seconds=120)
    assert outbox.process(deps, book_id) == "skipped"  # the lease runs until strictly after lease_until
    deps.clock.advance(seconds=1)
    assert outbox.process(deps, book_id) == "done"

    assert store.outbox_item(book_id).attempts == 2
    assert store.consignment(cid).status == Status.BOOKED
    assert [op for op, _ in deps.carriers["fake"].calls] == ["find", "create"]  # looked up first: not a first try


def test_relay_due_finds_due_and_expired_lease_items():
    deps = make_deps()
    store = store_of(deps)
    now = deps.clock.now()

    def add(**kw) -> int:
        kw.setdefault("next_attempt_at", now)
        item = OutboxItem(kind=OutboxKind.RENDER_LABEL, payload={}, created_at=now, **kw)
        with deps.uow() as uow:
            uow.outbox.add(item)
            uow.commit()
        return item.id

    due = add()
    past = add(next_attempt_at=now - timedelta(hours=1))
    add(next_attempt_at=now + timedelta(seconds=1))
    expired = add(state=OutboxState.IN_FLIGHT, lease_until=now - timedelta(seconds=1))
    add(state=OutboxState.IN_FLIGHT, lease_until=now + timedelta(seconds=60))
    add(state=OutboxState.IN_FLIGHT, lease_until=now)  # expires strictly after now
    add(state=OutboxState.DONE)
    add(state=OutboxState.DEAD)

    assert outbox.relay_due(deps) == 3
    assert deps.jobs.outbox_ids == [due, past, expired]
    assert outbox.relay_due(deps, limit=2) == 2
    assert store.outbox_item(due).state == OutboxState.PENDING  # relaying claims nothing


def test_relay_survives_a_dead_queue():
    deps = make_deps()
    deps.jobs.fail = True
    caller = seed_caller(deps)
    res = create(deps, caller)  # a lost wake-up must not fail a committed command
    assert res.status == 201
    deps.jobs.fail = False
    assert outbox.relay_due(deps) == 1


def test_render_label_stores_the_pdf_once():
    deps, _, cid, book_id = _setup(callback=None)
    store = store_of(deps)
    assert outbox.process(deps, book_id) == "done"
    (label_item,) = store.outbox_items(kind=OutboxKind.RENDER_LABEL)
    assert outbox.process(deps, label_item.id) == "done"
    c = store.consignment(cid)
    with deps.uow() as uow:
        assert uow.labels.get(cid, c.tracking_code) == b"%PDF-fake " + c.tracking_code.encode()
    (content,) = deps.labels.rendered
    assert content.tracking_url == f"https://buudien.example.vn/t/{c.tracking_token}"
    assert content.recipient.address_lines == ("Số 12 phố Đội Cấn", "Phường Ba Đình, Thành phố Hà Nội")


# --------------------------------------------------------------------------------------------------------------------
# NOTIFY_DOSSIER


def _notify_ids(deps) -> list[int]:
    return [i.id for i in store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER)]


def test_notify_ok_is_done_and_signed_with_the_key_secret():
    deps, caller, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    item = store_of(deps).outbox_item(nid)

    assert outbox.process(deps, nid) == "done"

    (delivery,) = deps.webhooks.deliveries
    assert delivery.url == CALLBACK
    assert delivery.message_id == item.payload["message_id"]
    assert delivery.body == item.payload["body"].encode()
    assert delivery.timestamp == int(deps.clock.now().timestamp())
    with deps.uow() as uow:
        assert delivery.secret == uow.api_keys.get(caller.key.id).webhook_secret
    assert store_of(deps).outbox_item(nid).state == OutboxState.DONE


def test_notify_500_retries_with_the_webhook_schedule():
    deps, _, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    deps.webhooks.respond(500)
    assert outbox.process(deps, nid) == "retry"
    item = store_of(deps).outbox_item(nid)
    assert item.state == OutboxState.PENDING
    assert item.next_attempt_at == deps.clock.now() + timedelta(seconds=WEBHOOK_SCHEDULE[0])
    assert item.last_error == "HTTP 500"

    deps.clock.advance(seconds=WEBHOOK_SCHEDULE[0])
    assert outbox.process(deps, nid) == "done"
    first, second = deps.webhooks.deliveries
    assert first.message_id == second.message_id  # same message id across retries
    assert second.timestamp > first.timestamp


def test_notify_410_is_dead():
    deps, _, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    deps.webhooks.respond(410)
    assert outbox.process(deps, nid) == "dead"
    item = store_of(deps).outbox_item(nid)
    assert item.state == OutboxState.DEAD
    assert "410" in item.last_error


def test_notify_honours_retry_after(no_jitter):
    deps, _, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    deps.webhooks.respond(DeliveryResult(ok=False, status_code=429, error="HTTP 429", retry_after_seconds=7))
    assert outbox.process(deps, nid) == "retry"
    assert store_of(deps).outbox_item(nid).next_attempt_at == deps.clock.now() + timedelta(seconds=7)


def test_notify_to_a_host_that_now_resolves_privately_is_retried_not_sent():
    deps, _, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    deps.resolve_host = lambda h: ["10.0.0.5"]
    assert outbox.process(deps, nid) == "retry"
    assert deps.webhooks.deliveries == []


def test_notify_for_a_revoked_key_is_dead():
    deps, caller, _, _ = _setup()
    (nid,) = _notify_ids(deps)
    with deps.uow() as uow:
        uow.api_keys.revoke(caller.key.id, deps.clock.now())
        uow.commit()
    assert outbox.process(deps, nid) == "dead"
    assert deps.webhooks.deliveries == []


def test_notifications_of_one_consignment_run_one_at_a_time_in_order():
    deps, caller, cid, _ = _setup()
    cancel_consignment(deps, caller, cid, reason=None)
    first, second = _notify_ids(deps)
    deps.jobs.clear()

    assert outbox.process(deps, second) == "skipped"  # the first is pending
    deps.webhooks.respond(503)
    assert outbox.process(deps, first) == "retry"
    deps.clock.advance(seconds=3600)
    assert outbox.process(deps, second) == "skipped"  # the first is still live (pending again)
    assert deps.webhooks.deliveries[0].body == store_of(deps).outbox_item(first).payload["body"].encode()

    now = deps.clock.now()
    with deps.uow() as uow:  # the first is in flight on another worker
        assert uow.outbox.claim(first, now=now, lease_until=now + timedelta(seconds=120)) is not None
        uow.commit()
    assert outbox.process(deps, second) == "skipped"
    deps.clock.advance(seconds=121)
    deps.jobs.clear()

    assert outbox.process(deps, first) == "done"
    assert deps.jobs.outbox_ids == [second]  # completing the first wakes the second
    assert outbox.process(deps, second) == "done"
    statuses = [json.loads(d.body)["data"]["status"] for d in deps.webhooks.deliveries]
    assert statuses == ["requested", "requested", "cancelled"]


def test_a_dead_notification_unblocks_the_next():
    deps, caller, cid, _ = _setup(webhook_schedule=())  # no retries: the first failure is final
    cancel_consignment(deps, caller, cid, reason=None)
    first, second = _notify_ids(deps)
    deps.jobs.clear()
    deps.webhooks.respond(500)
    assert outbox.process(deps, first) == "dead"
    assert deps.jobs.outbox_ids == [second]
    assert outbox.process(deps, second) == "done"


def test_ordering_groups_are_per_consignment():
    deps = make_deps()
    caller = seed_caller(deps, callback_url=CALLBACK)
    create(deps, caller)
    create(deps, caller)
    a, b = _notify_ids(deps)
    assert outbox.process(deps, b) == "done"  # another consignment's callback is not blocked
    assert outbox.process(deps, a) == "done"


# --------------------------------------------------------------------------------------------------------------------
# CANCEL_WITH_CARRIER


def _booked_then_cancelled(deps_overrides=None):
    deps, caller, cid, book_id = _setup(callback=None, **(deps_overrides or {}))
    assert outbox.process(deps, book_id) == "done"
    cancel_consignment(deps, caller, cid, reason="wrong address")
    (item,) = store_of(deps).outbox_items(kind=OutboxKind.CANCEL_WITH_CARRIER)
    return deps, cid, item.id


def test_cancel_with_carrier_invalid_state_is_dead():
    deps, _, item_id = _booked_then_cancelled()
    courier: FakeCarrier = deps.carriers["fake"]
    courier.pick_up()  # the postman collected it before the cancel arrived
    assert outbox.process(deps, item_id) == "dead"
    item = store_of(deps).outbox_item(item_id)
    assert item.state == OutboxState.DEAD
    assert "refused the cancel" in item.last_error
    assert courier.only_order().cancelled is False


def test_cancel_with_carrier_transient_failure_is_retried():
    deps, _, item_id = _booked_then_cancelled()
    courier: FakeCarrier = deps.carriers["fake"]
    courier.fail_next("cancel", CarrierUnavailable("fake", "503"))
    assert outbox.process(deps, item_id) == "retry"
    deps.clock.advance(seconds=COURIER_SCHEDULE[0])
    assert outbox.process(deps, item_id) == "done"
    assert courier.only_order().cancelled is True


def test_cancelled_while_booking_cancels_the_fresh_order():
    """The agency cancels while the BOOK call is in flight: the order the courier made must be cancelled too."""
    deps, caller, cid, book_id = _setup(callback=None)
    courier: FakeCarrier = deps.carriers["fake"]
    real_create = courier.create

    def create_and_cancel_meanwhile(req):
        result = real_create(req)
        cancel_consignment(deps, caller, cid, reason="changed mind")
        return result

    courier.create = create_and_cancel_meanwhile
    assert outbox.process(deps, book_id) == "done"
    assert store_of(deps).consignment(cid).status == Status.CANCELLED
    (item,) = store_of(deps).outbox_items(kind=OutboxKind.CANCEL_WITH_CARRIER)
    assert item.payload["carrier_ref"] == courier.only_order().result.carrier_internal_id
    assert outbox.process(deps, item.id) == "done"
    assert courier.only_order().cancelled is True


def test_carrier_without_lookup_still_books_once_on_first_try():
    courier = FakeCarrier(capabilities=frozenset({Capability.CREATE, Capability.CANCEL}))
    deps, _, cid, book_id = _setup(carriers={"fake": courier})
    assert outbox.process(deps, book_id) == "done"
    assert courier.calls == [("create", store_of(deps).consignment(cid).client_ref)]
