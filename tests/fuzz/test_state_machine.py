"""Hypothesis state machines over one consignment: courier events in any order (pushed or polled, duplicated,
back-dated, provisional), bookings, cancels, clerks' scans and time passing.

Invariants after every step:

* the event log is a chain of moves the kind's transition table allows, starting in one of its initial statuses;
* nothing moves backwards: no event is older than the one before it, and an item the post has taken never goes
  back to a before-custody status;
* a terminal status stays terminal, with no event after it;
* an event is applied once: sending a stored event again (same dedup key, or the same scan id) changes nothing;
* a provisional courier event never finishes a consignment;
* every status change queues exactly one callback to the dossier system, in the log's order, with the same
  (previous_status, status) pair.

``MemoryLifecycle`` runs the services over the in-memory fakes (fast: many runs); ``DatabaseLifecycle`` runs them
over the real database and outbox, with the sandbox courier and real clerks' scans.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from postal_bridge.domain.carriers import CONSIGNMENT_STATUS_FOR, CourierStatus, TrackingEvent
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.status import CANCELLABLE, INITIAL, TERMINAL, Kind, Status, allowed

pytestmark = pytest.mark.fuzz

BEFORE_CUSTODY = frozenset(
    {Status.AWAITING_RESULT, Status.REQUESTED, Status.BOOKING_FAILED, Status.BOOKED, Status.PICKUP_FAILED}
)
# Any courier status, with the ordinary journey drawn more often so that runs get somewhere.
COURIER_STATUSES = st.one_of(
    st.sampled_from([s for s in CourierStatus if s != CourierStatus.UNKNOWN]),
    st.sampled_from(
        [CourierStatus.PICKED_UP, CourierStatus.IN_TRANSIT, CourierStatus.OUT_FOR_DELIVERY, CourierStatus.DELIVERED]
    ),
)
# Mostly recent, sometimes a day old (out of order: older than what was applied since).
MINUTES_AGO = st.one_of(st.just(0), st.integers(0, 30), st.integers(0, 24 * 60))
KINDS = st.sampled_from([Kind.RETURN, Kind.PICKUP])
CALLBACK = "https://motcua.example.vn/hooks/postal"
# No shrinking: the failing run is reported step by step as it happened; a database run replayed would meet the
# rows of the runs before it, and a shrink of 30-step runs can outlast the suite's timeout.
COMMON = {
    "phases": [Phase.explicit, Phase.generate],
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


class Lifecycle(RuleBasedStateMachine):
    """The rules and invariants; subclasses say how to reach the services and read what was stored."""

    supports_scans = False
    reached: ClassVar[set[Status]]  # every status any run of this class reached (set per test): the runs went somewhere

    # -- what a subclass provides -----------------------------------------------------------------------------------
    def start(self, kind: Kind) -> str: ...
    def load(self) -> Consignment: ...
    def now(self) -> datetime: ...
    def advance(self, minutes: int) -> None: ...
    def book(self) -> None: ...
    def courier(self, events: list[TrackingEvent]) -> None: ...
    def cancel(self) -> None: ...
    def callbacks(self) -> list[tuple[str | None, str]]: ...
    def scan(self, mode: str, at: datetime, event_id: str) -> None: ...

    # -- state ---------------------------------------------------------------------------------------------------------
    @initialize(kind=KINDS, booked=st.sampled_from([True, True, True, False]))
    def begin(self, kind: Kind, booked: bool) -> None:
        self.kind = kind
        self.sent: list[TrackingEvent] = []
        self.scans: list[tuple[str, datetime, str]] = []
        self.terminal_log: int | None = None  # events in the log when it first became terminal
        self.left_custody_gate = False
        self.provisional_only_terminal: set[Status] = set()
        self.id = self.start(kind)
        if booked:  # most runs start where the courier has the order: that is where its events matter
            self.book()

    # -- rules ---------------------------------------------------------------------------------------------------------
    @rule(minutes=st.integers(min_value=1, max_value=600))
    def time_passes(self, minutes: int) -> None:
        self.advance(minutes)

    @precondition(lambda self: self.load().status == Status.REQUESTED)
    @rule()
    def booking_runs(self) -> None:
        self.book()

    @precondition(lambda self: self.load().tracking_code is not None)
    @rule(
        status=COURIER_STATUSES,
        minutes_ago=MINUTES_AGO,
        source=st.sampled_from(["poll", "webhook", "feed"]),
        provisional=st.booleans(),
    )
    def courier_reports(self, status: CourierStatus, minutes_ago: int, source: str, provisional: bool) -> None:
        c = self.load()
        at = self.now() - timedelta(minutes=minutes_ago)
        event = TrackingEvent(
            carrier=c.carrier,
            carrier_ref=c.carrier_ref or c.tracking_code or "",
            occurred_at=at,
            raw_code=status.value.upper(),
            status=status,
            dedup_key=f"fuzz-{len(self.sent)}-{status}-{minutes_ago}",
            provisional=provisional,
            source=source,
        )
        self.sent.append(event)
        before_terminal = c.status in TERMINAL
        self.courier([event])
        target = CONSIGNMENT_STATUS_FOR[status]
        after = self.load()
        if provisional and target in TERMINAL and not before_terminal:
            assert after.status not in TERMINAL, f"provisional {status} finished the consignment"

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def courier_repeats_itself(self, data: st.DataObject) -> None:
        again = data.draw(st.sampled_from(self.sent))
        before = self.load()
        self.courier([again])
        after = self.load()
        assert (after.status, len(after.events)) == (before.status, len(before.events)), "a duplicate was applied"

    @rule(now=st.integers(0, 3))
    def agency_cancels(self, now: int) -> None:
        if now:  # a quarter of the draws: a cancel ends most runs, which should mostly go on to the courier
            return
        before = self.load()
        try:
            self.cancel()
        except Conflict:
            assert before.status not in CANCELLABLE | {Status.CANCELLED}
            assert self.load().status == before.status
        else:
            assert before.status in CANCELLABLE | {Status.CANCELLED}
            assert self.load().status == Status.CANCELLED

    @precondition(lambda self: self.supports_scans and self.load().tracking_code is not None)
    @rule(mode=st.sampled_from(["collect", "arrive", "out_for_delivery"]), minutes_ago=MINUTES_AGO)
    def clerk_scans(self, mode: str, minutes_ago: int) -> None:
        scan = (mode, self.now() - timedelta(minutes=minutes_ago), str(uuid.UUID(int=len(self.scans) + 1)))
        self.scans.append(scan)
        self.scan(*scan)

    @precondition(lambda self: self.supports_scans and self.scans)
    @rule(data=st.data())
    def offline_queue_uploads_again(self, data: st.DataObject) -> None:
        again = data.draw(st.sampled_from(self.scans))
        before = self.load()
        self.scan(*again)
        after = self.load()
        assert (after.status, len(after.events)) == (before.status, len(before.events)), "a scan was applied twice"

    def teardown(self) -> None:
        if hasattr(self, "id"):
            self.reached.update(e.status for e in self.load().events)

    # -- invariants ----------------------------------------------------------------------------------------------------
    @invariant()
    def the_log_follows_the_table(self) -> None:
        c = self.load()
        first, *rest = c.events
        assert first.previous_status is None and first.status in INITIAL[c.kind]
        for before, after in zip(c.events, rest, strict=False):
            assert after.previous_status == before.status
            assert allowed(c.kind, before.status, after.status), f"{before.status} → {after.status}"
            assert after.occurred_at >= before.occurred_at, "an event older than the one before it was applied"
        assert c.status == c.events[-1].status

    @invariant()
    def nothing_goes_back_before_custody(self) -> None:
        statuses = [e.status for e in self.load().events]
        taken = next((i for i, s in enumerate(statuses) if s not in BEFORE_CUSTODY), None)
        if taken is not None:
            assert not set(statuses[taken:]) & BEFORE_CUSTODY, statuses

    @invariant()
    def terminal_stays_terminal(self) -> None:
        c = self.load()
        if self.terminal_log is not None:
            assert len(c.events) == self.terminal_log and c.status in TERMINAL
        elif c.status in TERMINAL:
            self.terminal_log = len(c.events)

    @invariant()
    def one_callback_per_status_change(self) -> None:
        c = self.load()
        expected = [(e.previous_status.value if e.previous_status else None, e.status.value) for e in c.events]
        assert self.callbacks() == expected


def _callback_pairs(items) -> list[tuple[str | None, str]]:
    pairs = []
    for item in sorted(items, key=lambda i: i.id):
        data = json.loads(item.payload["body"])["data"]
        pairs.append((data["previous_status"], data["status"]))
    return pairs


class MemoryLifecycle(Lifecycle):
    """The services over the in-memory fakes of ``tests/fakes/memory.py`` (the fake courier)."""

    def start(self, kind: Kind) -> str:
        from tests.fakes.memory import create, make_deps, return_command, seed_caller

        self.deps = make_deps()
        self.caller = seed_caller(self.deps, callback_url=CALLBACK)
        cmd = return_command() if kind == Kind.RETURN else return_command(kind="pickup", dossier_code=None)
        return json.loads(create(self.deps, self.caller, cmd).body)["id"]

    def _store(self):
        from tests.fakes.memory import store_of

        return store_of(self.deps)

    def load(self) -> Consignment:
        c = self._store().consignment(self.id)
        assert c is not None
        return c

    def now(self) -> datetime:
        return self.deps.clock.now()

    def advance(self, minutes: int) -> None:
        self.deps.clock.advance(minutes=minutes)

    def book(self) -> None:
        from postal_bridge.services import outbox

        for item in self._store().outbox_items(kind=OutboxKind.BOOK, consignment_id=self.id):
            outbox.process(self.deps, item.id)

    def courier(self, events: list[TrackingEvent]) -> None:
        from postal_bridge.services.tracking import record_tracking_events

        record_tracking_events(self.deps, self.id, events)

    def cancel(self) -> None:
        from postal_bridge.services.consignments import cancel_consignment

        cancel_consignment(self.deps, self.caller, self.id, reason="Công dân nhận tại quầy")

    def callbacks(self) -> list[tuple[str | None, str]]:
        return _callback_pairs(self._store().outbox_items(kind=OutboxKind.NOTIFY_DOSSIER, consignment_id=self.id))


JOURNEY = {Status.BOOKED, Status.PICKED_UP, Status.OUT_FOR_DELIVERY, Status.CANCELLED}


def _went_far(reached: set[Status], *, also: frozenset[Status] = frozenset()) -> None:
    """The runs were not stuck before booking: they reached custody, went out for delivery and were cancelled."""
    assert JOURNEY | also <= reached, reached


def test_consignment_state_machine_over_the_services() -> None:
    class Runs(MemoryLifecycle):
        reached: ClassVar[set[Status]] = set()

    run_state_machine_as_test(Runs, settings=settings(max_examples=100, stateful_step_count=30, **COMMON))
    _went_far(Runs.reached, also=frozenset({Status.DELIVERED}))


class DatabaseLifecycle(Lifecycle):
    """The same rules over the real database and outbox, with the sandbox courier and clerks' scans (Ba Đình)."""

    supports_scans = True
    container = None  # set by the test
    clock = None

    def start(self, kind: Kind) -> str:
        from postal_bridge.domain.commands import CreateConsignment
        from postal_bridge.services import consignments

        deps = self.container.deps
        self.caller = self.__class__.caller_
        key = str(uuid.uuid4())
        cmd = CreateConsignment(
            kind=kind.value,
            carrier="sandbox",
            service="standard",
            citizen_name="Nguyễn Thị Hằng",
            citizen_phone="0912345678",
            address_line="Số 12 ngõ 34 phố Láng Hạ",
            ward_code="00004",
            province_code="01",
            weight_g=250,
            contents="Phiếu lý lịch tư pháp",
            dossier_code=None if kind == Kind.PICKUP else "000.00.12.H56-261115-0007",
        )
        stored = consignments.create_consignment(
            deps, self.caller, cmd, idempotency_key=key, fingerprint=key, render=lambda c: c.id
        )
        return stored.body

    def load(self) -> Consignment:
        with self.container.deps.uow() as uow:
            c = uow.consignments.get(self.id)
        assert c is not None
        return c

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes * 60)

    def _outbox(self, kind: OutboxKind):
        from sqlalchemy import select

        from postal_bridge.storage import tables as t

        with self.container.engine.connect() as conn:
            rows = conn.execute(
                select(t.outbox.c.id, t.outbox.c.payload)
                .where(t.outbox.c.consignment_id == self.id, t.outbox.c.kind == kind.value)
                .order_by(t.outbox.c.id)
            ).all()
        return rows

    def book(self) -> None:
        from postal_bridge.services import outbox

        for row in self._outbox(OutboxKind.BOOK):
            outbox.process(self.container.deps, row.id)

    def courier(self, events: list[TrackingEvent]) -> None:
        from postal_bridge.services.tracking import record_tracking_events

        record_tracking_events(self.container.deps, self.id, events)

    def cancel(self) -> None:
        from postal_bridge.services.consignments import cancel_consignment

        cancel_consignment(self.container.deps, self.caller, self.id, reason="Công dân nhận tại quầy")

    def scan(self, mode: str, at: datetime, event_id: str) -> None:
        from postal_bridge.domain.scans import ScanInput
        from postal_bridge.services import scans
        from postal_bridge.services.clerk_scope import ClerkCaller

        clerk = ClerkCaller(user_id="u-fuzz", username="nvbc.fuzz", post_office_code="DEMO-HN-02")
        code = self.load().tracking_code or ""
        (result,) = scans.ingest_scans(self.container.deps, clerk, [ScanInput(event_id, code, at, mode)])
        assert result is not None

    def callbacks(self) -> list[tuple[str | None, str]]:
        pairs = []
        for row in self._outbox(OutboxKind.NOTIFY_DOSSIER):
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
            data = json.loads(payload["body"])["data"]
            pairs.append((data["previous_status"], data["status"]))
        return pairs


@pytest.mark.integration
def test_consignment_state_machine_on_the_database(container, clock) -> None:
    from postal_bridge.services import agencies
    from postal_bridge.storage.post_offices import load_csv
    from tests.conftest import register_hanoi

    deps = container.deps
    register_hanoi(deps)
    demo = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
    for office in load_csv(demo.read_text(encoding="utf-8")):
        deps.post_offices.upsert(office)
    # A receiver nobody runs: the callbacks are only counted in the outbox, never sent.
    issued = agencies.create_api_key(deps, agency_code="HCC-HN", name="fuzz", callback_url="http://127.0.0.1:9/hooks")

    class Bound(DatabaseLifecycle):
        reached: ClassVar[set[Status]] = set()

    Bound.container, Bound.clock = container, clock
    Bound.caller_ = agencies.authenticate(deps, issued.api_key)
    # Each run is a new consignment in the same database.
    run_state_machine_as_test(Bound, settings=settings(max_examples=40, stateful_step_count=40, **COMMON))
    _went_far(Bound.reached)


@pytest.fixture
def clock():
    """08:00 in Hà Nội on the latest morning: the clerks' rules count days in local time, so the runs must not depend
    on the hour the suite happens to run."""
    from zoneinfo import ZoneInfo

    from tests.conftest import ManualClock

    local = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    morning = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if morning > local:
        morning -= timedelta(days=1)
    return ManualClock(morning.astimezone(UTC))
