"""Repositories against the real database: round trips, agency scoping, optimistic versions, outbox claims."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.errors import Conflict
from postal_bridge.domain.model import Agency, OutboxItem, OutboxKind, OutboxState
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.status import Kind, Status
from postal_bridge.storage.engine import make_engine
from postal_bridge.storage.uow import SqlUnitOfWork


@pytest.fixture
def uow_factory(clean_db: str):
    engine = make_engine(clean_db)
    yield lambda: SqlUnitOfWork(engine)
    engine.dispose()


def _agency(code: str) -> Agency:
    return Agency(
        id=str(uuid.uuid4()),
        code=code,
        name=f"Trung tâm {code}",
        phone="+842438253536",
        address=Address(line="Số 1", ward_code="00004", province_code="01"),
    )


def _consignment(agency: Agency, clock) -> Consignment:
    return Consignment.register(
        occurred_at=clock.now(),
        actor="test",
        id=str(uuid.uuid4()),
        agency_id=agency.id,
        kind=Kind.RETURN,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code="000.00.12.H56-261115-0001", procedure_name="Cấp hộ chiếu phổ thông"),
        citizen=Party(
            name="Lê Thị Hoà",
            phone=parse_phone("0912345678"),
            address=Address(line="Ngõ 5 phố Hàng Bông", ward_code="00004", province_code="01"),
        ),
        parcel=Parcel(weight_g=300, contents="Hộ chiếu"),
        tracking_token=uuid.uuid4().hex[:11],
    )


def test_consignment_round_trip_keeps_every_field_and_event(uow_factory, clock) -> None:
    a = _agency("A1")
    c = _consignment(a, clock)
    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.consignments.add(c)
        uow.commit()
    with uow_factory() as uow:
        got = uow.consignments.get(c.id)
        assert got is not None
        got.transition(Status.CANCELLED, occurred_at=clock.advance(5), source=Source.API, actor="x")
        uow.consignments.save(got)
        uow.commit()
    with uow_factory() as uow:
        again = uow.consignments.get(c.id)
    assert again.citizen.name == "Lê Thị Hoà" and again.citizen.phone.e164 == "+84912345678"
    assert again.dossier == c.dossier and again.parcel == c.parcel
    assert [(e.seq, e.status, e.previous_status) for e in again.events] == [
        (1, Status.REQUESTED, None),
        (2, Status.CANCELLED, Status.REQUESTED),
    ]
    assert again.events[1].occurred_at == clock.now()
    assert again.version == 2


def test_reads_are_scoped_to_the_agency(uow_factory, clock) -> None:
    a, b = _agency("A1"), _agency("B1")
    c = _consignment(a, clock)
    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.agencies.add(b)
        uow.consignments.add(c)
        uow.commit()
    with uow_factory() as uow:
        assert uow.consignments.get(c.id, agency_id=a.id) is not None
        assert uow.consignments.get(c.id, agency_id=b.id) is None
        assert uow.consignments.search(agency_id=b.id, dossier_code=None, status=None, offset=0, limit=10) == ([], 0)


def test_concurrent_writers_conflict_instead_of_overwriting(uow_factory, clock) -> None:
    a = _agency("A1")
    c = _consignment(a, clock)
    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.consignments.add(c)
        uow.commit()
    with uow_factory() as first:
        mine = first.consignments.get(c.id)
    with uow_factory() as second:
        theirs = second.consignments.get(c.id)
        theirs.transition(Status.BOOKED, occurred_at=clock.now(), source=Source.SYSTEM)
        second.consignments.save(theirs)
        second.commit()
    with uow_factory() as first:
        first.consignments._loaded_versions[c.id] = mine.version  # what the first writer read earlier
        mine.transition(Status.CANCELLED, occurred_at=clock.now(), source=Source.API)
        with pytest.raises(Conflict):
            first.consignments.save(mine)


def test_outbox_claims_respect_leases_and_ordering_groups(uow_factory, clock) -> None:
    now = clock.now()
    with uow_factory() as uow:
        items = [
            OutboxItem(
                kind=OutboxKind.NOTIFY_DOSSIER,
                payload={"n": i},
                created_at=now,
                next_attempt_at=now,
                ordering_key="webhook:x",
            )
            for i in range(2)
        ]
        later = OutboxItem(kind=OutboxKind.BOOK, payload={}, created_at=now, next_attempt_at=now + timedelta(hours=1))
        for item in [*items, later]:
            uow.outbox.add(item)
        uow.commit()
    first, second = items
    lease = now + timedelta(seconds=60)
    with uow_factory() as uow:
        assert uow.outbox.claim(second.id, now=now, lease_until=lease) is None  # the older one is still live
        assert uow.outbox.claim(later.id, now=now, lease_until=lease) is None  # not due yet
        claimed = uow.outbox.claim(first.id, now=now, lease_until=lease)
        assert claimed is not None and claimed.state == OutboxState.IN_FLIGHT and claimed.attempts == 1
        assert uow.outbox.claim(first.id, now=now, lease_until=lease) is None  # leased
        assert uow.outbox.due(now=now, limit=10) == []  # the first is leased, the second waits behind it
        assert uow.outbox.due(now=lease + timedelta(seconds=1), limit=10) == [first.id]  # lease expired: reclaim
        assert later.id in uow.outbox.due(now=now + timedelta(hours=2), limit=10)
        assert not uow.outbox.complete(first.id, attempt=2, now=now)  # not our claim: fenced off
        assert uow.outbox.complete(first.id, attempt=1, now=now)
        assert not uow.outbox.complete(first.id, attempt=1, now=now)  # already settled
        assert uow.outbox.next_in_group("webhook:x") == second.id
        assert uow.outbox.due(now=now, limit=10) == [second.id]  # no longer waiting
        assert uow.outbox.claim(second.id, now=now, lease_until=lease) is not None
        uow.commit()


def test_raw_courier_events_are_deduplicated_folded_in_time_order_and_adopted(uow_factory, clock) -> None:
    from postal_bridge.domain.carriers import CourierStatus, TrackingEvent

    a = _agency("A1")
    c = _consignment(a, clock)

    def event(key: str, minutes: int, carrier: str = "sandbox", ref: str = "ZZ1") -> TrackingEvent:
        return TrackingEvent(
            carrier=carrier,
            carrier_ref=ref,
            occurred_at=clock.now() + timedelta(minutes=minutes),
            raw_code="X",
            status=CourierStatus.IN_TRANSIT,
            dedup_key=key,
            raw={"k": key},
        )

    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.consignments.add(c)
        assert uow.carrier_events.add_if_new(event("late", 5), consignment_id=c.id, received_at=clock.now())
        assert uow.carrier_events.add_if_new(event("early", 1), consignment_id=c.id, received_at=clock.now())
        assert not uow.carrier_events.add_if_new(event("late", 5), consignment_id=c.id, received_at=clock.now())
        assert uow.carrier_events.add_if_new(
            event("late", 5, carrier="ghn"), consignment_id=c.id, received_at=clock.now()
        )
        assert uow.carrier_events.add_if_new(
            event("orphan", 9, ref="ZZ2"), consignment_id=None, received_at=clock.now()
        )
        uow.commit()
    with uow_factory() as uow:
        pending = uow.carrier_events.pending(c.id)
        assert [e.dedup_key for _, e in pending] == ["early", "late", "late"]
        assert pending[0][1].raw == {"k": "early"} and pending[0][1].occurred_at == clock.now() + timedelta(minutes=1)
        uow.carrier_events.settle(pending[0][0], applied=True)
        assert uow.carrier_events.adopt("sandbox", "ZZ2", c.id) == 1
        assert uow.carrier_events.adopt("sandbox", "ZZ2", c.id) == 0
        assert [e.dedup_key for _, e in uow.carrier_events.pending(c.id)] == ["late", "late", "orphan"]
        uow.commit()


def _api_key(agency: Agency, tag: str, now):
    from postal_bridge.domain.model import ApiKey

    return ApiKey(
        id=str(uuid.uuid4()),
        agency_id=agency.id,
        name="k",
        key_hash=tag * 64,
        key_prefix=f"pb_{tag}",
        webhook_secret=f"whsec_{tag}",
        created_at=now,
    )


def test_a_stale_idempotency_claim_cannot_store_its_response(uow_factory, clock) -> None:
    from postal_bridge.domain.model import IdempotencyRecord

    a = _agency("A1")
    key = _api_key(a, "x", clock.now())
    first_claim = clock.now()
    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.api_keys.add(key)
        assert uow.idempotency.insert(
            IdempotencyRecord(principal_id=key.id, key="k", fingerprint="f", created_at=first_claim)
        )
        assert not uow.idempotency.insert(
            IdempotencyRecord(principal_id=key.id, key="k", fingerprint="f", created_at=first_claim)
        )
        uow.commit()
    retry_claim = clock.advance(61)
    with uow_factory() as uow:
        assert uow.idempotency.take_over(key.id, "k", stale_before=retry_claim - timedelta(seconds=60), now=retry_claim)
        uow.commit()
    with uow_factory() as uow:
        stored = dict(status=201, body="{}", resource_id="r", now=clock.now())
        assert not uow.idempotency.complete(key.id, "k", claimed_at=first_claim, **stored)
        assert uow.idempotency.complete(key.id, "k", claimed_at=retry_claim, **stored)
        uow.commit()


def test_insert_done_stores_a_finished_key_once_and_keeps_the_transaction_usable(uow_factory, clock) -> None:
    from postal_bridge.domain.model import IdempotencyRecord

    a = _agency("A2")
    key = _api_key(a, "y", clock.now())
    answer = IdempotencyRecord(
        principal_id=key.id,
        key="k",
        fingerprint="f",
        created_at=clock.now(),
        state="done",
        response_status=201,
        response_body='{"id": "r"}',
        resource_id="r",
    )
    with uow_factory() as uow:
        uow.agencies.add(a)
        uow.api_keys.add(key)
        assert uow.idempotency.insert_done(answer)
        assert not uow.idempotency.insert_done(answer)  # the key is taken: nothing written, no error
        assert uow.idempotency.get(key.id, "k") == answer  # and the transaction still works
        uow.commit()
    with uow_factory() as uow:
        assert not uow.idempotency.insert_done(answer)
        assert uow.idempotency.get(key.id, "k").response_body == '{"id": "r"}'
