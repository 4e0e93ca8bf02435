"""A courier push of many events, stored in a fixed number of statements and folded by one job, behaves exactly like
the same events pushed one by one: duplicates stored once, orphans kept for adoption, every item moved once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.carriers.vnpost.donhang import parse_event
from benchmarks.fixtures import Seed
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.status import Status
from postal_bridge.services.tracking import store_inbound
from postal_bridge.storage import tables as t
from tests.conftest import drain

pytestmark = pytest.mark.integration


def _event(code: str, at, status_id: int = 70):
    vn = (at + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M:%S")
    return parse_event({"ItemCode": code, "OrderStatusId": status_id, "LastUpdateTime": vn}, source="webhook")


def _store(container, events) -> list[int]:
    with container.deps.uow() as uow:
        ids = store_inbound(uow, container.deps, "vnpost", events)
        uow.commit()
    return ids


def test_a_batch_push_is_stored_once_and_folded_by_one_job(container, clock) -> None:
    seed = Seed(container.deps, callback_url="http://127.0.0.1:9/cb")
    codes = seed.items(3, status=Status.BOOKED, at=clock.now() - timedelta(hours=2))
    at = clock.now() - timedelta(hours=1)
    events = [_event(c, at) for c in codes] + [_event(codes[0], at), _event("ZZ999999995VN", at)]

    ids = _store(container, events)
    assert len(ids) == 1  # one fold for the three consignments; the orphan waits, the duplicate is dropped
    with container.engine.connect() as conn:
        item = conn.execute(select(t.outbox).where(t.outbox.c.id == ids[0])).mappings().one()
        stored = conn.execute(select(func.count()).select_from(t.carrier_events)).scalar_one()
        orphans = conn.execute(
            select(func.count()).select_from(t.carrier_events).where(t.carrier_events.c.consignment_id.is_(None))
        ).scalar_one()
    assert item["kind"] == OutboxKind.APPLY_TRACKING.value and len(item["payload"]["consignment_ids"]) == 3
    assert (stored, orphans) == (4, 1)
    assert _store(container, events) == []  # the same push again: nothing new, nothing queued

    container.deps.wake(ids)
    drain(container)
    with container.deps.uow() as uow:
        found = uow.clerk_scope.find(seed.clerk.post_office_code, codes=codes, tokens=[])
        moved = uow.consignments.get_many(list(found.values()))
        pending = uow.carrier_events.pending_many(list(found.values()))
    assert {c.status for c in moved.values()} == {Status.PICKED_UP}
    assert pending == {}
    with container.engine.connect() as conn:
        callbacks = conn.execute(
            select(func.count()).select_from(t.outbox).where(t.outbox.c.kind == OutboxKind.NOTIFY_DOSSIER.value)
        ).scalar_one()
    assert callbacks == 3  # one signed callback per moved item, queued in the fold's transaction


def test_a_late_event_in_a_batch_is_kept_but_never_moves_an_item_back(container, clock) -> None:
    seed = Seed(container.deps, callback_url=None)
    codes = seed.items(2, status=Status.BOOKED, at=clock.now() - timedelta(hours=2))
    now = clock.now()
    ids = _store(container, [_event(codes[0], now - timedelta(minutes=30)), _event(codes[1], now - timedelta(hours=3))])
    container.deps.wake(ids)
    drain(container)
    # Another acceptance scan of the first item, older than the one applied, arrives with news of the second.
    ids = _store(container, [_event(codes[0], now - timedelta(minutes=40)), _event(codes[1], now)])
    assert len(ids) == 1
    container.deps.wake(ids)
    drain(container)
    with container.deps.uow() as uow:
        found = uow.clerk_scope.find(seed.clerk.post_office_code, codes=codes, tokens=[])
        items = uow.consignments.get_many([found[c] for c in codes])
    first, second = (items[found[c]] for c in codes)
    assert first.status == Status.PICKED_UP
    assert [e.status for e in first.events].count(Status.PICKED_UP) == 1
    assert first.events[-1].occurred_at == now - timedelta(minutes=30)
    # The second item's first event predated its booking: kept, not applied; the later one moved it.
    assert second.status == Status.PICKED_UP and second.events[-1].occurred_at == now
    with container.engine.connect() as conn:
        settled = (
            conn.execute(select(t.carrier_events.c.applied).where(t.carrier_events.c.processed.is_(True)))
            .scalars()
            .all()
        )
    assert sorted(settled) == [False, False, True, True]


def test_outbox_add_many_gives_each_item_its_own_row_in_the_order_given(container, clock) -> None:
    """On SQLite the ids of one multi-row INSERT … RETURNING are matched to the items by order (one statement, not one
    per row): each item must get the id of the row holding its own payload, ascending as given (ordering groups)."""
    from postal_bridge.domain.model import OutboxItem

    now = clock.now()
    items = [
        OutboxItem(
            kind=OutboxKind.APPLY_TRACKING,
            payload={"n": n},
            created_at=now,
            next_attempt_at=now,
            ordering_key=f"group-{n % 3}",
        )
        for n in range(25)
    ]
    with container.deps.uow() as uow:
        uow.outbox.add(
            OutboxItem(kind=OutboxKind.APPLY_TRACKING, payload={"n": -1}, created_at=now, next_attempt_at=now)
        )
        uow.outbox.add_many(items)
        uow.commit()
    ids = [item.id for item in items]
    assert None not in ids and ids == sorted(ids) and len(set(ids)) == len(ids)
    with container.engine.connect() as conn:
        stored = dict(conn.execute(select(t.outbox.c.id, t.outbox.c.payload).where(t.outbox.c.id.in_(ids))).all())
    assert [stored[item.id] for item in items] == [{"n": n} for n in range(25)]
