"""A booking an administrator replays after it stopped must not make a second order at the courier: its attempts
count restarts at zero, but an earlier attempt may have reached the courier with its answer lost, so the replay looks
the order up by reference before it creates one (real database and Redis; a courier that keeps every create it
gets, as one that does not deduplicate by reference would)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from adapters.carriers.sandbox import SandboxCarrier
from postal_bridge.domain.carriers import Capability, ConsignmentRequest, ConsignmentResult, OutcomeUnknown
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.model import OutboxKind
from postal_bridge.services import admin, agencies, consignments
from postal_bridge.storage import tables as t
from tests.conftest import drain, installed_container, register_hanoi


class LedgerCourier(SandboxCarrier):
    """Keeps every order it is sent, even under a reference it already has; while ``answers_lost`` the order is
    recorded and the answer never arrives (a timeout after the courier committed)."""

    capabilities = SandboxCarrier.capabilities | {Capability.LOOKUP_BY_REF}

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.orders: list[ConsignmentResult] = []
        self.lookups: list[str] = []
        self.answers_lost = True

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        result = super().create(req)
        self.orders.append(result)
        if self.answers_lost:
            raise OutcomeUnknown(self.code, "read timeout after 10 s")
        return result

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        self.lookups.append(client_ref)
        return next((o for o in self.orders if o.client_ref == client_ref), None)


@pytest.fixture
def world(settings, clock):
    courier = LedgerCourier(now=clock.now, step_seconds=settings.sandbox_step_seconds)
    with installed_container(settings, clock, carriers={"sandbox": courier}) as c:
        register_hanoi(c.deps)
        yield c, courier


def _create(c) -> str:
    caller = agencies.authenticate(c.deps, agencies.create_api_key(c.deps, agency_code="HCC-HN", name="quầy").api_key)
    cmd = CreateConsignment(
        kind="return",
        carrier="sandbox",
        service="standard",
        citizen_name="Trần Văn Bình",
        citizen_phone="0912345678",
        address_line="Số 5 phố Hàng Bông",
        ward_code="00004",
        province_code="01",
        weight_g=300,
        contents="Giấy chứng nhận quyền sử dụng đất",
        dossier_code="000.00.12.H56-261206-0101",
    )
    return consignments.create_consignment(
        c.deps, caller, cmd, idempotency_key="k-replay", fingerprint="f-replay", render=lambda x: x.id
    ).body


def test_a_replayed_booking_finds_the_order_an_earlier_attempt_left_at_the_courier(world) -> None:
    c, courier = world
    cid = _create(c)
    drain(c)  # the first attempt: the courier records the order, its answer is lost
    assert len(courier.orders) == 1 and courier.lookups == []  # a first attempt creates without a look-up
    with c.engine.begin() as conn:  # the retry budget spent meanwhile (every retry's look-up failing too)
        book_id = conn.execute(
            update(t.outbox)
            .where(t.outbox.c.consignment_id == cid, t.outbox.c.kind == OutboxKind.BOOK.value)
            .values(state="dead", attempts=12, last_error="gave up after 12 attempts: outcome unknown, …")
            .returning(t.outbox.c.id)
        ).scalar_one()

    courier.answers_lost = False
    ops = agencies.authenticate(
        c.deps, agencies.create_api_key(c.deps, agency_code="HCC-HN", name="vận hành", admin=True).api_key
    )
    assert admin.replay(c.deps, ops, [book_id]).requeued == (book_id,)
    drain(c)

    assert len(courier.orders) == 1, "the replay created a second order at the courier"
    assert courier.lookups and courier.lookups[0] == courier.orders[0].client_ref
    with c.engine.connect() as conn:
        row = conn.execute(select(t.consignments).where(t.consignments.c.id == cid)).mappings().one()
        state = conn.execute(select(t.outbox.c.state).where(t.outbox.c.id == book_id)).scalar_one()
    assert (row["status"], row["tracking_code"], state) == ("booked", courier.orders[0].carrier_ref, "done")
