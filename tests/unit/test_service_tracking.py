"""Courier tracking: folding courier events into the consignment's status, and the polling safety net."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

from postal_bridge.domain.carriers import Capability, CarrierUnavailable, CourierStatus
from postal_bridge.domain.consignment import Source
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.status import Status
from postal_bridge.services import outbox
from postal_bridge.services.tracking import poll_consignment, poll_due, record_tracking_events
from tests.fakes.memory import FakeCarrier, create, make_deps, return_command, seed_caller, store_of, tracking_event

CALLBACK = "https://motcua.example.vn/hooks/postal"
CS = CourierStatus


def _booked(deps, caller, cmd=None) -> str:
    """Create and book a consignment; returns its id. The clock then moves on an hour."""
    cid = json.loads(create(deps, caller, cmd).body)["id"]
    (book,) = store_of(deps).outbox_items(kind=OutboxKind.BOOK, consignment_id=cid)
    assert outbox.process(deps, book.id) == "done"
    deps.clock.advance(hours=1)
    return cid


def _setup(callback: str | None = CALLBACK, **deps_overrides):
    deps = make_deps(**deps_overrides)
    caller = seed_caller(deps, callback_url=callback)
    cid = _booked(deps, caller)
    c = store_of(deps).consignment(cid)
    deps.jobs.clear()
    return deps, c


def _record(deps, cid, events, source=Source.COURIER_POLL) -> int:
    """Events as the courier adapter would label them: ``poll`` or ``webhook``."""
    kind = "webhook" if source == Source.COURIER_WEBHOOK else "poll"
    return record_tracking_events(deps, cid, [replace(e, source=kind) for e in events])


def _statuses(deps, cid) -> list[Status]:
    return [e.status for e in store_of(deps).consignment(cid).events]


def _notify_statuses(deps, cid) -> list[str]:
    items = store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER, consignment_id=cid)
    return [json.loads(i.payload["body"])["data"]["status"] for i in items]


def test_events_are_applied_in_time_order_whatever_the_input_order():
    deps, c = _setup()
    t = deps.clock.now()
    events = [
        tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=10), location="Bộ phận Một cửa"),
        tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(hours=2)),
        tracking_event(c.carrier_ref, CS.OUT_FOR_DELIVERY, t + timedelta(hours=5), raw_text="Bưu tá đang đi phát"),
        tracking_event(c.carrier_ref, CS.DELIVERED, t + timedelta(hours=6)),
    ]
    shuffled = [events[2], events[0], events[3], events[1]]
    random.Random(7).shuffle(shuffled)

    assert _record(deps, c.id, shuffled) == 4

    stored = store_of(deps).consignment(c.id)
    assert stored.status == Status.DELIVERED
    assert _statuses(deps, c.id) == [
        Status.REQUESTED,
        Status.BOOKED,
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERED,
    ]
    new = stored.events[2:]
    assert [e.occurred_at for e in new] == [e.occurred_at for e in events]
    assert [e.seq for e in stored.events] == [1, 2, 3, 4, 5, 6]
    assert all(e.source == Source.COURIER_POLL and e.actor == "fake" for e in new)
    assert new[0].location == "Bộ phận Một cửa"
    assert new[2].description == "Bưu tá đang đi phát"
    assert [e.previous_status for e in new] == [
        Status.BOOKED,
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
    ]
    assert all(row.applied for row in store_of(deps).carrier_events())


def test_duplicates_are_applied_once():
    deps, c = _setup()
    t = deps.clock.now()
    picked = tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5), dedup_key="evt-1")
    in_transit = tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(minutes=50), dedup_key="evt-2")

    assert _record(deps, c.id, [picked, picked, in_transit]) == 2
    assert _record(deps, c.id, [picked, in_transit]) == 0  # a re-poll brings the same events back
    assert _record(deps, c.id, [picked], source=Source.COURIER_WEBHOOK) == 0  # and a push of one of them

    assert _statuses(deps, c.id) == [Status.REQUESTED, Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT]
    assert sorted(r.dedup_key for r in store_of(deps).carrier_events()) == ["evt-1", "evt-2"]
    assert _notify_statuses(deps, c.id) == ["requested", "booked", "picked_up", "in_transit"]


def test_same_dedup_key_of_another_carrier_is_a_different_event():
    deps, c = _setup()
    t = deps.clock.now()
    a = tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5), dedup_key="1")
    b = tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5), dedup_key="1", carrier="other")
    _record(deps, c.id, [a, b])
    assert len(store_of(deps).carrier_events()) == 2


def test_event_older_than_the_latest_change_is_stored_not_applied():
    deps, c = _setup()
    t = deps.clock.now()
    assert _record(deps, c.id, [tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(hours=2))]) == 1

    # OUT_FOR_DELIVERY would be a legal next step, but it happened before the change we already applied.
    late = tracking_event(c.carrier_ref, CS.OUT_FOR_DELIVERY, t + timedelta(hours=1), dedup_key="late")
    assert _record(deps, c.id, [late]) == 0

    assert store_of(deps).consignment(c.id).status == Status.IN_TRANSIT
    rows = {r.dedup_key: r for r in store_of(deps).carrier_events()}
    assert rows["late"].applied is False
    assert rows["late"].event.status == CS.OUT_FOR_DELIVERY
    assert rows["late"].event.occurred_at == t + timedelta(hours=1)
    assert rows["late"].processed and not rows["late"].applied


def test_event_older_than_the_booking_is_not_applied():
    deps, c = _setup()
    before_booking = c.events[-1].occurred_at - timedelta(minutes=1)
    assert _record(deps, c.id, [tracking_event(c.carrier_ref, CS.PICKED_UP, before_booking)]) == 0
    assert store_of(deps).consignment(c.id).status == Status.BOOKED


def test_illegal_target_is_stored_not_applied():
    deps, c = _setup()
    t = deps.clock.now()
    # Pushed events follow the table strictly: a booked return is not delivered or returned without a pickup.
    events = [
        tracking_event(c.carrier_ref, CS.DELIVERED, t + timedelta(minutes=1), dedup_key="d"),
        tracking_event(c.carrier_ref, CS.RETURNED, t + timedelta(minutes=2), dedup_key="r"),
    ]
    assert _record(deps, c.id, events, source=Source.COURIER_WEBHOOK) == 0
    stored = store_of(deps).consignment(c.id)
    assert stored.status == Status.BOOKED
    assert stored.version == c.version
    assert {r.dedup_key: r.applied for r in store_of(deps).carrier_events()} == {"d": False, "r": False}
    assert _notify_statuses(deps, c.id) == ["requested", "booked"]


def test_provisional_delivered_is_not_applied():
    deps, c = _setup()
    t = deps.clock.now()
    head = [
        tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=30)),
        tracking_event(c.carrier_ref, CS.OUT_FOR_DELIVERY, t + timedelta(hours=1)),
    ]
    assert _record(deps, c.id, head) == 2

    provisional = tracking_event(c.carrier_ref, CS.DELIVERED, t + timedelta(hours=2), provisional=True)
    assert _record(deps, c.id, [provisional]) == 0
    assert store_of(deps).consignment(c.id).status == Status.OUT_FOR_DELIVERY

    confirmed = tracking_event(c.carrier_ref, CS.DELIVERED, t + timedelta(hours=3), dedup_key="pod")
    assert _record(deps, c.id, [confirmed]) == 1
    assert store_of(deps).consignment(c.id).status == Status.DELIVERED


def test_provisional_non_terminal_event_is_applied():
    deps, c = _setup()
    t = deps.clock.now()
    event = tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(hours=1), provisional=True)
    assert _record(deps, c.id, [event]) == 1


def test_unknown_and_informative_statuses_never_transition():
    deps, c = _setup()
    t = deps.clock.now()
    events = [
        tracking_event(c.carrier_ref, CS.UNKNOWN, t + timedelta(minutes=1)),
        tracking_event(c.carrier_ref, CS.AWAITING_PICKUP, t + timedelta(minutes=2)),
        tracking_event(c.carrier_ref, CS.ON_HOLD, t + timedelta(minutes=3)),
        tracking_event(c.carrier_ref, CS.CREATED, t + timedelta(minutes=4)),
    ]
    assert _record(deps, c.id, events) == 0
    stored = store_of(deps).consignment(c.id)
    assert stored.status == Status.BOOKED
    assert stored.version == c.version
    assert len(store_of(deps).carrier_events()) == 4
    assert not any(r.applied for r in store_of(deps).carrier_events())

    # An UNKNOWN between two real events does not stop them.
    more = [
        tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=10)),
        tracking_event(c.carrier_ref, CS.UNKNOWN, t + timedelta(minutes=20), dedup_key="u2"),
        tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(minutes=30)),
    ]
    assert _record(deps, c.id, more) == 2


def test_each_applied_change_yields_one_notification_and_wakes_it():
    deps, c = _setup()
    t = deps.clock.now()
    events = [
        tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5)),
        tracking_event(c.carrier_ref, CS.UNKNOWN, t + timedelta(minutes=6)),
        tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(minutes=50)),
        tracking_event(c.carrier_ref, CS.DELIVERED, t + timedelta(minutes=55)),
    ]
    applied = _record(deps, c.id, events)

    notes = store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER, consignment_id=c.id)
    new_notes = notes[2:]
    assert len(new_notes) == applied == 3
    bodies = [json.loads(n.payload["body"])["data"] for n in new_notes]
    assert [(b["previous_status"], b["status"]) for b in bodies] == [
        ("booked", "picked_up"),
        ("picked_up", "in_transit"),
        ("in_transit", "delivered"),
    ]
    assert [b["occurred_at"] for b in bodies] == [e.occurred_at.isoformat() for e in (events[0], events[2], events[3])]
    assert all(n.ordering_key == f"webhook:{c.id}" for n in new_notes)
    assert len({n.payload["message_id"] for n in notes}) == len(notes)
    assert deps.jobs.outbox_ids == [n.id for n in new_notes]
    assert store_of(deps).outbox_items(kind=OutboxKind.RENDER_LABEL, consignment_id=c.id)  # only from booking
    assert len(store_of(deps).outbox_items(kind=OutboxKind.RENDER_LABEL)) == 1


def test_no_callback_no_notification():
    deps, c = _setup(callback=None)
    t = deps.clock.now()
    assert _record(deps, c.id, [tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5))]) == 1
    assert store_of(deps).outbox_items(kind=OutboxKind.NOTIFY_DOSSIER) == []
    assert deps.jobs.outbox_ids == []


def test_unknown_consignment_records_nothing():
    deps = make_deps()
    event = tracking_event("X", CS.PICKED_UP, deps.clock.now())
    assert _record(deps, "no-such-id", [event]) == 0
    assert store_of(deps).carrier_events() == []


def test_poll_consignment_applies_the_couriers_events():
    deps, c = _setup()
    courier: FakeCarrier = deps.carriers["fake"]
    t = deps.clock.now()
    courier.add_tracking(
        c.carrier_ref,
        tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=5)),
        tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(minutes=50)),
    )
    assert poll_consignment(deps, c.id) == 2
    assert ("track", c.carrier_ref) in courier.calls
    assert store_of(deps).consignment(c.id).events[-1].source == Source.COURIER_POLL
    assert poll_consignment(deps, c.id) == 0  # same events again

    courier.fail_next("track", CarrierUnavailable("fake", "503"))
    assert poll_consignment(deps, c.id) == 0  # a failed poll changes nothing and raises nothing


def test_poll_due_enqueues_only_active_booked_pollable_consignments():
    push_only = FakeCarrier(
        code="push", name="Push Courier", capabilities=frozenset({Capability.CREATE, Capability.LOOKUP_BY_REF})
    )
    deps = make_deps(carriers={"fake": FakeCarrier(), "push": push_only})
    caller = seed_caller(deps)
    store = store_of(deps)

    active = _booked(deps, caller)
    not_booked = json.loads(create(deps, caller).body)["id"]
    push = _booked(deps, caller, return_command(carrier="push"))
    delivered = _booked(deps, caller)
    ref = store.consignment(delivered).carrier_ref
    t = deps.clock.now()
    _record(
        deps,
        delivered,
        [
            tracking_event(ref, CS.PICKED_UP, t + timedelta(minutes=1)),
            tracking_event(ref, CS.DELIVERED, t + timedelta(minutes=2)),
        ],
    )
    deps.clock.advance(minutes=5)
    deps.jobs.clear()

    assert poll_due(deps) == 1
    assert deps.jobs.poll_ids == [active]
    assert store.next_poll_at(active) == deps.clock.now() + timedelta(seconds=deps.poll_interval_seconds)
    assert store.next_poll_at(not_booked) is None
    assert store.next_poll_at(push) is None
    assert poll_due(deps) == 0  # claimed for one interval: the next tick does not enqueue it again
    assert store.consignment(delivered).status == Status.DELIVERED

    # Polled within the interval: not again; once the interval has passed: again.
    deps.clock.advance(seconds=deps.poll_interval_seconds - 1)
    assert poll_due(deps) == 0
    deps.clock.advance(seconds=1)
    assert poll_due(deps) == 1
    assert deps.jobs.poll_ids == [active, active]


def test_poll_due_takes_never_polled_first_and_respects_the_limit():
    deps = make_deps()
    caller = seed_caller(deps)
    first = _booked(deps, caller)
    assert poll_due(deps) == 1
    deps.clock.advance(seconds=deps.poll_interval_seconds + 1)
    second = _booked(deps, caller)  # never polled
    deps.jobs.clear()
    assert poll_due(deps, limit=1) == 1
    assert deps.jobs.poll_ids == [second]
    assert poll_due(deps, limit=1) == 1
    assert deps.jobs.poll_ids == [second, first]


def test_poll_due_without_pollable_carriers_does_nothing():
    push_only = FakeCarrier(capabilities=frozenset({Capability.CREATE}))
    deps = make_deps(carriers={"fake": push_only})
    caller = seed_caller(deps)
    _booked(deps, caller)
    assert poll_due(deps) == 0
    assert deps.jobs.poll_ids == []


def test_a_poll_showing_only_the_current_state_fills_in_the_skipped_steps():
    deps, c = _setup()
    t = deps.clock.now() + timedelta(minutes=5)
    assert _record(deps, c.id, [tracking_event(c.carrier_ref, CS.DELIVERED, t, dedup_key="d")]) == 1
    stored = store_of(deps).consignment(c.id)
    assert [e.status for e in stored.events] == [Status.REQUESTED, Status.BOOKED, Status.PICKED_UP, Status.DELIVERED]
    assert stored.events[2].description == "Suy ra từ trạng thái sau của bưu chính"
    assert stored.events[2].occurred_at == stored.events[3].occurred_at == t
    # A status the table cannot reach forwards is never inferred (no regression, no forbidden jump).
    assert _record(deps, c.id, [tracking_event(c.carrier_ref, CS.IN_TRANSIT, t + timedelta(minutes=1))]) == 0
