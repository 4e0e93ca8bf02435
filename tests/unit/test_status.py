"""Consignment statuses, the per-kind transition table and the Consignment aggregate's state rules.

The EXPECTED table below is written out by hand from reference/domain.md §8.2–8.3 as implemented by the
code's simplified status set (REQUESTED/BOOKED/... instead of SCHEDULED/COLLECTED/...). It is deliberately literal
data, not computed from ``TRANSITIONS``, so an accidental edit to the table in the code makes these tests fail.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.consignment import Consignment, ConsignmentEvent, DossierLink, Parcel, Source
from postal_bridge.domain.errors import Conflict, IllegalTransition
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.status import (
    BOOKED_WITH_COURIER,
    CANCELLABLE,
    INITIAL,
    STATUS_LABELS_VI,
    TERMINAL,
    TRANSITIONS,
    Kind,
    Status,
    allowed,
)

# ---------------------------------------------------------------------------------------------------------------------
# The expected transition table, as literal data. Every status not listed as a key has no outgoing transition.
# ---------------------------------------------------------------------------------------------------------------------

_PICKUP_LIKE: dict[str, set[str]] = {
    # before custody: booking with the courier, reschedules, cancels
    "requested": {"booked", "booking_failed", "cancelled"},
    "booking_failed": {"requested", "cancelled"},
    "booked": {"pickup_failed", "picked_up", "in_transit", "cancelled"},
    "pickup_failed": {"booked", "picked_up", "cancelled"},
    # in postal custody, heading to the agency
    "picked_up": {"in_transit", "out_for_delivery", "delivered", "lost_or_damaged"},
    "in_transit": {"out_for_delivery", "delivered", "delivery_failed", "lost_or_damaged"},
    "out_for_delivery": {"delivered", "delivery_failed", "lost_or_damaged"},
    "delivery_failed": {"out_for_delivery", "delivered", "lost_or_damaged"},
    # no outgoing transitions
    "awaiting_result": set(),
    "available_for_pickup": set(),
    "returning_to_agency": set(),
    "delivered": set(),
    "returned_to_agency": set(),
    "cancelled": set(),
    "lost_or_damaged": set(),
}

EXPECTED: dict[str, dict[str, set[str]]] = {
    "return": {
        "awaiting_result": {"requested", "cancelled"},
        "requested": {"booked", "booking_failed", "cancelled"},
        "booking_failed": {"requested", "cancelled"},
        "booked": {"pickup_failed", "picked_up", "in_transit", "cancelled"},
        "pickup_failed": {"booked", "picked_up", "cancelled"},
        "picked_up": {
            "in_transit",
            "out_for_delivery",
            "delivery_failed",
            "available_for_pickup",
            "delivered",
            "returning_to_agency",
            "lost_or_damaged",
        },
        "in_transit": {
            "out_for_delivery",
            "delivery_failed",
            "available_for_pickup",
            "delivered",
            "returning_to_agency",
            "lost_or_damaged",
        },
        "out_for_delivery": {
            "delivered",
            "delivery_failed",
            "available_for_pickup",
            "returning_to_agency",
            "lost_or_damaged",
        },
        "delivery_failed": {
            "out_for_delivery",
            "available_for_pickup",
            "delivered",
            "returning_to_agency",
            "lost_or_damaged",
        },
        "available_for_pickup": {"delivered", "out_for_delivery", "returning_to_agency", "lost_or_damaged"},
        "returning_to_agency": {"returned_to_agency", "lost_or_damaged"},
        "delivered": set(),
        "returned_to_agency": set(),
        "cancelled": set(),
        "lost_or_damaged": set(),
    },
    "pickup": _PICKUP_LIKE,
    "transfer": _PICKUP_LIKE,
}

ALL_STATUS_VALUES = [
    "awaiting_result",
    "requested",
    "booking_failed",
    "booked",
    "pickup_failed",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_failed",
    "available_for_pickup",
    "delivered",
    "returning_to_agency",
    "returned_to_agency",
    "cancelled",
    "lost_or_damaged",
]
ALL_KIND_VALUES = ["pickup", "return", "transfer"]

# Statuses in which the courier physically holds the item (domain.md §8.2 "only before COLLECTED").
IN_POSTAL_CUSTODY = {
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_failed",
    "available_for_pickup",
    "returning_to_agency",
}
EXPECTED_TERMINAL = {"delivered", "returned_to_agency", "cancelled", "lost_or_damaged"}
EXPECTED_INITIAL = {"return": {"requested", "awaiting_result"}, "pickup": {"requested"}, "transfer": {"requested"}}


# ---------------------------------------------------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------------------------------------------------


def test_enums_are_exactly_the_expected_values() -> None:
    # If a status or kind is added, the EXPECTED table above must be extended consciously.
    assert sorted(s.value for s in Status) == sorted(ALL_STATUS_VALUES)
    assert sorted(k.value for k in Kind) == sorted(ALL_KIND_VALUES)


def test_expected_table_is_well_formed() -> None:
    for kind, table in EXPECTED.items():
        assert kind in ALL_KIND_VALUES
        assert set(table) == set(ALL_STATUS_VALUES), kind
        for current, targets in table.items():
            assert targets <= set(ALL_STATUS_VALUES), (kind, current)
            assert current not in targets, f"self-loop {kind}:{current}"


@pytest.mark.parametrize("target", ALL_STATUS_VALUES)
@pytest.mark.parametrize("current", ALL_STATUS_VALUES)
@pytest.mark.parametrize("kind", ALL_KIND_VALUES)
def test_allowed_matches_expected_table(kind: str, current: str, target: str) -> None:
    expected = target in EXPECTED[kind][current]
    assert allowed(Kind(kind), Status(current), Status(target)) is expected, (
        f"{kind}: {current} → {target} should be {'allowed' if expected else 'refused'}"
    )


@pytest.mark.parametrize("kind", ALL_KIND_VALUES)
def test_transitions_table_has_no_extra_keys(kind: str) -> None:
    # A status that appears as a key with an empty set would be harmless, but an unexpected non-empty key is not.
    for current, targets in TRANSITIONS[Kind(kind)].items():
        assert {t.value for t in targets} == EXPECTED[kind][current.value], (kind, current)


def test_terminal_set() -> None:
    assert {s.value for s in TERMINAL} == EXPECTED_TERMINAL


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("terminal", sorted(EXPECTED_TERMINAL))
def test_terminal_statuses_have_no_outgoing_transitions(kind: Kind, terminal: str) -> None:
    assert not TRANSITIONS[kind].get(Status(terminal))
    for target in Status:
        assert not allowed(kind, Status(terminal), target)


def test_initial_statuses() -> None:
    assert {k.value: {s.value for s in v} for k, v in INITIAL.items()} == EXPECTED_INITIAL


@pytest.mark.parametrize("kind", list(Kind))
def test_no_transition_goes_back_to_awaiting_result(kind: Kind) -> None:
    for targets in TRANSITIONS[kind].values():
        assert Status.AWAITING_RESULT not in targets


def test_every_status_in_transitions_has_a_vietnamese_label() -> None:
    seen: set[Status] = set()
    for table in TRANSITIONS.values():
        for current, targets in table.items():
            seen.add(current)
            seen |= targets
    for initials in INITIAL.values():
        seen |= initials
    for status in seen:
        label = STATUS_LABELS_VI.get(status)
        assert isinstance(label, str), status
        assert label.strip(), status


def test_every_status_has_a_distinct_vietnamese_label() -> None:
    assert set(STATUS_LABELS_VI) == set(Status)
    labels = list(STATUS_LABELS_VI.values())
    assert len(set(labels)) == len(labels)
    assert STATUS_LABELS_VI[Status.DELIVERED] == "Đã phát thành công"
    assert STATUS_LABELS_VI[Status.CANCELLED] == "Đã hủy"


def test_cancellable_never_contains_a_custody_status() -> None:
    assert not {s.value for s in CANCELLABLE} & IN_POSTAL_CUSTODY
    assert not {s.value for s in CANCELLABLE} & EXPECTED_TERMINAL
    assert {s.value for s in CANCELLABLE} == {
        "awaiting_result",
        "requested",
        "booking_failed",
        "booked",
        "pickup_failed",
    }


@pytest.mark.parametrize("kind", list(Kind))
def test_cancellable_is_disjoint_from_statuses_that_can_be_lost(kind: Kind) -> None:
    # Being able to lose or damage the item means the post has it, so it can no longer be cancelled.
    can_be_lost = {s for s, targets in TRANSITIONS[kind].items() if Status.LOST_OR_DAMAGED in targets}
    assert can_be_lost, kind
    assert not can_be_lost & CANCELLABLE


@pytest.mark.parametrize("kind", list(Kind))
def test_no_transition_into_cancelled_from_custody(kind: Kind) -> None:
    for current, targets in TRANSITIONS[kind].items():
        if Status.CANCELLED in targets:
            assert current in CANCELLABLE, (kind, current)


def _reachable(kind: Kind) -> set[Status]:
    seen = set(INITIAL[kind])
    todo = list(seen)
    while todo:
        for nxt in TRANSITIONS[kind].get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("kind", list(Kind))
def test_every_reachable_cancellable_status_can_actually_be_cancelled(kind: Kind) -> None:
    for status in _reachable(kind) & CANCELLABLE:
        assert allowed(kind, status, Status.CANCELLED), (kind, status)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_reachable_non_terminal_status_has_a_way_out(kind: Kind) -> None:
    for status in _reachable(kind) - TERMINAL:
        assert TRANSITIONS[kind].get(status), (kind, status)


@pytest.mark.parametrize("kind", list(Kind))
def test_a_terminal_status_is_reachable_from_every_reachable_status(kind: Kind) -> None:
    reachable = _reachable(kind)
    for start in reachable:
        seen = {start}
        todo = [start]
        while todo:
            for nxt in TRANSITIONS[kind].get(todo.pop(), frozenset()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen & TERMINAL, (kind, start)


def test_booked_with_courier() -> None:
    assert {s.value for s in BOOKED_WITH_COURIER} == {"booked", "pickup_failed"}
    assert BOOKED_WITH_COURIER <= CANCELLABLE


def test_return_never_reports_returned_from_a_non_returning_status() -> None:
    # domain.md §8.3: RETURNED_TO_AGENCY only after RETURNING_TO_AGENCY (a signed handover back).
    for current, targets in TRANSITIONS[Kind.RETURN].items():
        if Status.RETURNED_TO_AGENCY in targets:
            assert current == Status.RETURNING_TO_AGENCY


# ---------------------------------------------------------------------------------------------------------------------
# The Consignment aggregate
# ---------------------------------------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CITIZEN = Party(
    name="Nguyễn Thị Hằng",
    phone=Phone(e164="+84912345678"),
    address=Address(line="Số 12 ngõ 34 phố Láng Hạ", ward_code="00004", province_code="01"),
)


def _fields(kind: Kind = Kind.RETURN, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "0b6f7c9e-3c1a-4d2b-9f7e-1a2b3c4d5e6f",
        "agency_id": "agency-1",
        "kind": kind,
        "carrier": "sandbox",
        "service": "standard",
        "dossier": DossierLink(code="000.00.10.H36-250314-0012"),
        "citizen": CITIZEN,
        "parcel": Parcel(weight_g=300, contents="Kết quả hồ sơ"),
        "tracking_token": "tok",
    }
    base.update(over)
    return base


def _new(kind: Kind = Kind.RETURN, initial: Status = Status.REQUESTED, **over: object) -> Consignment:
    return Consignment.register(initial=initial, occurred_at=T0, actor="staff-1", **_fields(kind, **over))


def _walk(c: Consignment, *path: Status) -> None:
    for i, status in enumerate(path, start=1):
        c.transition(status, occurred_at=T0 + timedelta(minutes=i), source=Source.COURIER_POLL)


@pytest.mark.parametrize("kind", list(Kind))
def test_register_records_a_first_event(kind: Kind) -> None:
    c = _new(kind)
    assert c.status == Status.REQUESTED
    assert c.created_at == T0
    assert c.version == 1
    assert len(c.events) == 1
    assert c.new_events == c.events
    first = c.events[0]
    assert first.seq == 1
    assert first.previous_status is None
    assert first.status == Status.REQUESTED
    assert first.source == Source.API
    assert first.actor == "staff-1"
    assert first.occurred_at == T0


def test_register_return_as_awaiting_result() -> None:
    c = _new(Kind.RETURN, Status.AWAITING_RESULT)
    assert c.status == Status.AWAITING_RESULT
    assert c.events[0].status == Status.AWAITING_RESULT


@pytest.mark.parametrize(
    ("kind", "initial"),
    [(kind, status) for kind in Kind for status in Status if status.value not in EXPECTED_INITIAL[kind.value]],
)
def test_register_refuses_a_non_initial_status(kind: Kind, initial: Status) -> None:
    with pytest.raises(Conflict):
        _new(kind, initial)


def test_transition_records_events_with_increasing_seq_and_chained_previous_status() -> None:
    c = _new(Kind.RETURN, Status.AWAITING_RESULT)
    path = [
        Status.REQUESTED,
        Status.BOOKED,
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.AVAILABLE_FOR_PICKUP,
        Status.RETURNING_TO_AGENCY,
        Status.RETURNED_TO_AGENCY,
    ]
    _walk(c, *path)
    assert c.status == Status.RETURNED_TO_AGENCY
    assert c.is_terminal
    assert [e.seq for e in c.events] == list(range(1, len(path) + 2))
    assert [e.status for e in c.events] == [Status.AWAITING_RESULT, *path]
    assert c.events[0].previous_status is None
    for before, after in zip(c.events, c.events[1:], strict=False):
        assert after.previous_status == before.status
        assert after.seq == before.seq + 1
    assert c.version == len(path) + 1
    assert c.new_events == c.events


def test_transition_returns_the_recorded_event_with_its_details() -> None:
    c = _new(Kind.PICKUP)
    c.transition(Status.BOOKED, occurred_at=T0, source=Source.SYSTEM)
    at = T0 + timedelta(hours=2)
    event = c.transition(
        Status.PICKED_UP,
        occurred_at=at,
        source=Source.SCAN,
        actor="nvbc-7",
        location="Bưu cục Láng Hạ",
        description="Đã nhận hồ sơ",
    )
    assert isinstance(event, ConsignmentEvent)
    assert event is c.events[-1]
    assert event == ConsignmentEvent(
        status=Status.PICKED_UP,
        occurred_at=at,
        source=Source.SCAN,
        previous_status=Status.BOOKED,
        actor="nvbc-7",
        location="Bưu cục Láng Hạ",
        description="Đã nhận hồ sơ",
        seq=3,
    )


@pytest.mark.parametrize(
    ("kind", "path", "refused"),
    [
        (Kind.RETURN, [], Status.DELIVERED),
        (Kind.RETURN, [], Status.PICKED_UP),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP], Status.PICKUP_FAILED),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP], Status.CANCELLED),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT], Status.PICKED_UP),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP, Status.DELIVERED], Status.IN_TRANSIT),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT], Status.RETURNED_TO_AGENCY),
        (Kind.PICKUP, [], Status.AWAITING_RESULT),
        (Kind.PICKUP, [Status.BOOKED, Status.PICKED_UP], Status.AVAILABLE_FOR_PICKUP),
        (Kind.PICKUP, [Status.BOOKED, Status.PICKED_UP], Status.RETURNING_TO_AGENCY),
        (Kind.PICKUP, [Status.CANCELLED], Status.REQUESTED),
        (Kind.TRANSFER, [Status.BOOKED], Status.LOST_OR_DAMAGED),
        (Kind.TRANSFER, [Status.BOOKED], Status.BOOKED),
    ],
)
def test_refused_transition_raises_and_changes_nothing(kind: Kind, path: list[Status], refused: Status) -> None:
    c = _new(kind)
    _walk(c, *path)
    before_status = c.status
    before_events = list(c.events)
    before_new = list(c.new_events)
    before_version = c.version
    assert not c.can_transition(refused)
    with pytest.raises(IllegalTransition) as info:
        c.transition(refused, occurred_at=T0 + timedelta(days=1), source=Source.COURIER_WEBHOOK)
    assert isinstance(info.value, Conflict)
    assert info.value.code == "illegal_transition"
    assert info.value.current == before_status
    assert info.value.target == refused
    assert info.value.kind == kind
    assert c.status == before_status
    assert c.events == before_events
    assert c.new_events == before_new
    assert c.version == before_version


def test_mark_booked_sets_tracking_and_mark_booking_failed_records_reason() -> None:
    c = _new(Kind.PICKUP)
    failed = c.mark_booking_failed(reason="address not serviceable", occurred_at=T0)
    assert c.status == Status.BOOKING_FAILED
    assert failed.description == "address not serviceable"
    assert failed.source == Source.SYSTEM
    assert c.tracking_code is None
    c.transition(Status.REQUESTED, occurred_at=T0, source=Source.API)
    event = c.mark_booked(tracking_code="EB123456785VN", carrier_ref="int-1", occurred_at=T0)
    assert c.status == Status.BOOKED
    assert event.status == Status.BOOKED
    assert event.previous_status == Status.REQUESTED
    assert c.tracking_code == "EB123456785VN"
    assert c.carrier_ref == "int-1"


def test_mark_booked_refused_leaves_tracking_code_unset() -> None:
    c = _new(Kind.RETURN, Status.AWAITING_RESULT)
    with pytest.raises(IllegalTransition):
        c.mark_booked(tracking_code="EB123456785VN", carrier_ref=None, occurred_at=T0)
    assert c.tracking_code is None
    assert c.status == Status.AWAITING_RESULT


# ------------------------------------------------------------------------------------------------------ cancel


@pytest.mark.parametrize(
    ("kind", "initial", "path", "expected"),
    [
        (Kind.RETURN, Status.AWAITING_RESULT, [], False),
        (Kind.RETURN, Status.REQUESTED, [], False),
        (Kind.RETURN, Status.REQUESTED, [Status.BOOKING_FAILED], False),
        (Kind.RETURN, Status.REQUESTED, [Status.BOOKED], True),
        (Kind.PICKUP, Status.REQUESTED, [], False),
        (Kind.PICKUP, Status.REQUESTED, [Status.BOOKING_FAILED], False),
        (Kind.PICKUP, Status.REQUESTED, [Status.BOOKED], True),
        (Kind.PICKUP, Status.REQUESTED, [Status.BOOKED, Status.PICKUP_FAILED], True),
        (Kind.TRANSFER, Status.REQUESTED, [Status.BOOKED], True),
        (Kind.TRANSFER, Status.REQUESTED, [Status.BOOKED, Status.PICKUP_FAILED], True),
        (Kind.TRANSFER, Status.REQUESTED, [], False),
    ],
)
def test_cancel_returns_whether_the_courier_must_be_told(
    kind: Kind, initial: Status, path: list[Status], expected: bool
) -> None:
    c = _new(kind, initial)
    _walk(c, *path)
    previous = c.status
    assert c.cancel(occurred_at=T0 + timedelta(days=1), actor="staff-2", reason="citizen withdrew") is expected
    assert c.status == Status.CANCELLED
    assert c.is_terminal
    last = c.events[-1]
    assert last.status == Status.CANCELLED
    assert last.previous_status == previous
    assert last.actor == "staff-2"
    assert last.description == "citizen withdrew"
    assert last.source == Source.API


def test_cancel_default_description() -> None:
    c = _new(Kind.PICKUP)
    c.cancel(occurred_at=T0, actor=None)
    assert c.events[-1].description == "Cancelled"


def test_cancel_twice_returns_false_and_records_nothing() -> None:
    c = _new(Kind.PICKUP)
    _walk(c, Status.BOOKED)
    assert c.cancel(occurred_at=T0, actor="a") is True
    events = list(c.events)
    version = c.version
    assert c.cancel(occurred_at=T0, actor="a") is False
    assert c.status == Status.CANCELLED
    assert c.events == events
    assert c.version == version


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (Kind.PICKUP, [Status.BOOKED, Status.PICKED_UP]),
        (Kind.PICKUP, [Status.BOOKED, Status.PICKUP_FAILED, Status.PICKED_UP]),
        (Kind.PICKUP, [Status.BOOKED, Status.IN_TRANSIT]),
        (Kind.PICKUP, [Status.BOOKED, Status.PICKED_UP, Status.IN_TRANSIT, Status.DELIVERY_FAILED]),
        (Kind.PICKUP, [Status.BOOKED, Status.PICKED_UP, Status.DELIVERED]),
        (Kind.TRANSFER, [Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY]),
        (Kind.TRANSFER, [Status.BOOKED, Status.PICKED_UP, Status.LOST_OR_DAMAGED]),
        (Kind.RETURN, [Status.BOOKED, Status.PICKED_UP]),
        (Kind.RETURN, [Status.BOOKED, Status.IN_TRANSIT, Status.AVAILABLE_FOR_PICKUP]),
        (Kind.RETURN, [Status.BOOKED, Status.IN_TRANSIT, Status.RETURNING_TO_AGENCY]),
        (Kind.RETURN, [Status.BOOKED, Status.IN_TRANSIT, Status.RETURNING_TO_AGENCY, Status.RETURNED_TO_AGENCY]),
    ],
)
def test_cancel_refused_once_the_courier_has_the_item(kind: Kind, path: list[Status]) -> None:
    c = _new(kind)
    _walk(c, *path)
    status = c.status
    events = list(c.events)
    with pytest.raises(Conflict) as info:
        c.cancel(occurred_at=T0 + timedelta(days=1), actor="staff")
    assert not isinstance(info.value, IllegalTransition)
    assert status.value in info.value.message
    assert c.status == status
    assert c.events == events


# ------------------------------------------------------------------------------------------------------ client_ref

CLIENT_REF = re.compile(r"^[A-Za-z0-9-]+$")


def test_client_ref_is_deterministic_and_well_formed() -> None:
    c = _new(Kind.PICKUP)
    again = _new(Kind.PICKUP)
    assert c.client_ref == c.client_ref == again.client_ref
    assert c.client_ref == "PB-0b6f7c9e3c1a4d2b9f7e-1"
    assert len(c.client_ref) <= 32
    assert CLIENT_REF.match(c.client_ref)


def test_client_ref_for_many_uuids() -> None:
    refs = set()
    for i in range(500):
        cid = str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15_F39CC0605CEDC834) % (1 << 128)))
        for attempt in (1, 2, 9, 10, 999):
            c = _new(Kind.RETURN, id=cid, booking_attempt=attempt)
            ref = c.client_ref
            assert len(ref) <= 32, ref
            assert CLIENT_REF.match(ref), ref
            refs.add(ref)
    assert len(refs) == 500 * 5


def test_client_ref_changes_with_booking_attempt() -> None:
    c = _new(Kind.PICKUP)
    first = c.client_ref
    c.booking_attempt = 2
    second = c.client_ref
    c.booking_attempt = 3
    third = c.client_ref
    assert len({first, second, third}) == 3
    assert all(len(r) <= 32 and CLIENT_REF.match(r) for r in (first, second, third))


def test_client_ref_differs_between_consignments() -> None:
    a = _new(Kind.PICKUP, id="11111111-1111-4111-8111-111111111111")
    b = _new(Kind.PICKUP, id="22222222-2222-4222-8222-222222222222")
    assert a.client_ref != b.client_ref


# ------------------------------------------------------------------------------------------------------ Party


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Nguyễn Thị Hằng", "Nguyễn T. H."),
        ("Trần Văn An", "Trần V. A."),
        ("Lê  Đức   Ánh", "Lê Đ. Á."),
        ("Phạm Minh", "Phạm M."),
        ("Hằng", "H."),
        ("", ""),
    ],
)
def test_masked_name(name: str, masked: str) -> None:
    party = Party(name=name, phone=CITIZEN.phone, address=CITIZEN.address)
    assert party.masked_name == masked


def test_masked_name_hides_given_names() -> None:
    assert "Thị" not in CITIZEN.masked_name
    assert "Hằng" not in CITIZEN.masked_name
    assert CITIZEN.masked_name.startswith("Nguyễn ")
