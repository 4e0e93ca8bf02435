"""The checker cannot silently pass: a clean run passes it, and each deliberately broken run fails the invariant it
breaks — a deleted callback row, a duplicate order in a courier's ledger, a status moved backwards, a forged delivery,
personal data in a webhook body or on a tracking page, a lost create."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
import requests
from sqlalchemy import delete, insert, select, update

from postal_bridge.storage import tables as t
from tests.chaos.harness import CARRIERS, World, new_body
from tests.chaos.invariants import CreateAttempt, Snapshot, check

pytestmark = pytest.mark.chaos


def small_run(world: World, n: int = 10, seed: int = 7) -> list[str]:
    """n consignments over every courier, booked, pushed a few steps along, the sandbox polled: a clean run."""
    rng = random.Random(seed)
    for i in range(n):
        resp = world.api.create(new_body(rng, CARRIERS[i % len(CARRIERS)]))
        assert resp is not None and resp.status_code == 201, resp and resp.text
    world.settle()
    ids = world.api.created_ids()
    for cid in ids:
        c = world.consignment(cid)
        assert c.status.value == "booked", (c.carrier, c.status)
        if c.carrier in world.fleet.fakes:
            for step, code in enumerate(world.fleet.lifecycle[c.carrier][:3], start=1):
                world.fleet.push(c.carrier, c.tracking_code, code, world.clock.now() + timedelta(minutes=step))
    world.clock.advance(300)
    world.settle()
    world.advance(2 * 3600)  # the sandbox moves on by polling
    return ids


def violations(snap: Snapshot, invariant: str) -> list[str]:
    return [v.what for v in check(snap) if v.invariant == invariant]


@pytest.fixture(scope="module")
def ran(module_world: World) -> tuple[World, list[str]]:
    """One clean run, broken by each test below in its own way (each looks for its own violation only)."""
    ids = small_run(module_world, n=12)
    assert check(module_world.snapshot()) == []  # the unbroken run is clean
    return module_world, ids


def _callback_rows(world: World, cid: str) -> list:
    with world.engine.connect() as conn:
        return conn.execute(
            select(t.outbox.c.id, t.outbox.c.payload)
            .where(t.outbox.c.consignment_id == cid, t.outbox.c.kind == "notify_dossier")
            .order_by(t.outbox.c.id)
        ).all()


def test_a_clean_run_passes_and_moved_things(ran) -> None:
    world, ids = ran
    statuses = {world.consignment(cid).status.value for cid in ids}
    assert statuses - {"booked"}, statuses  # the run did move consignments past booking
    assert len(world.receiver.events()) > 2 * len(ids)


def test_a_deleted_callback_row_is_a_lost_status_change(ran) -> None:
    world, ids = ran
    row = _callback_rows(world, ids[0])[-1]
    with world.engine.begin() as conn:
        conn.execute(delete(t.outbox).where(t.outbox.c.id == row.id))
    assert any(f"consignment {ids[0]}: status change" in v for v in violations(world.snapshot(), "I1"))


def test_a_duplicate_order_in_a_courier_ledger_is_caught(ran) -> None:
    world, ids = ran
    c = next(world.consignment(cid) for cid in ids if world.consignment(cid).carrier == "ghn")
    fake = world.fleet.fakes["ghn"]
    fake.add_order("LDUP01", c.client_ref, {"note": "second order for one consignment"}, "ready_to_pick")
    assert any(f"ghn holds 2 orders for consignment {c.id}" in v for v in violations(world.snapshot(), "I2"))


def test_an_order_nobody_booked_is_caught(ran) -> None:
    world, _ = ran
    world.fleet.fakes["ghtk"].add_order("S1.GHOST", "PB-ghost-1", {}, "2")
    assert any("S1.GHOST (PB-ghost-1) nobody booked" in v for v in violations(world.snapshot(), "I2"))


def test_a_status_moved_backwards_is_caught(ran) -> None:
    world, ids = ran
    cid = next(i for i in ids[3:] if world.consignment(i).status.value not in ("booked", "requested"))
    c = world.consignment(cid)
    last = c.events[-1]
    with world.engine.begin() as conn:
        conn.execute(
            insert(t.consignment_events).values(
                consignment_id=cid,
                seq=last.seq + 1,
                status="booked",
                previous_status=c.status.value,
                occurred_at=last.occurred_at + timedelta(minutes=1),
                source="courier_webhook",
            )
        )
        conn.execute(update(t.consignments).where(t.consignments.c.id == cid).values(status="booked"))
    found = violations(world.snapshot(), "I3")
    assert any(f"{cid}: {c.status.value} → booked is not an allowed move" in v for v in found), found


def test_a_callback_done_but_never_received_is_caught(ran) -> None:
    world, ids = ran
    row = _callback_rows(world, ids[1])[-1]
    payload = dict(row.payload, message_id="msg_never_sent")
    with world.engine.begin() as conn:
        conn.execute(update(t.outbox).where(t.outbox.c.id == row.id).values(payload=payload))
    found = violations(world.snapshot(), "I1")
    assert any("msg_never_sent marked done, never accepted" in v for v in found), found


def test_a_forged_delivery_is_caught(ran) -> None:
    world, ids = ran
    body = json.dumps({"type": "consignment.status_changed", "data": {"consignment_id": ids[0]}}).encode()
    now = int(world.clock.now().timestamp())
    resp = requests.post(
        f"{world.hook.url}/callbacks",
        data=body,
        headers={"webhook-id": "msg_forged", "webhook-timestamp": str(now), "webhook-signature": "v1,Zm9yZ2Vk"},
        timeout=5,
    )
    assert resp.status_code == 401
    assert any("msg_forged" in v for v in violations(world.snapshot(), "I4"))


def test_personal_data_in_a_webhook_body_or_on_a_page_is_caught(ran) -> None:
    world, _ = ran
    snap = world.snapshot()
    victim = snap.creates[0].body["citizen"]
    leaked = dict(snap.deliveries[0])
    leaked["raw_body"] = leaked["raw_body"] + json.dumps({"phone": victim["phone"]}).encode()
    snap.deliveries.append(leaked)
    snap.pages[snap.creates[0].consignment_id] += f"<p>{victim['address']['line']}</p>"
    found = violations(snap, "I5")
    assert any("webhook bodies carry phone" in v for v in found), found
    assert any("shows street line" in v for v in found), found


def test_a_2xx_create_without_its_consignment_is_lost(ran) -> None:
    world, _ = ran
    snap = world.snapshot()
    snap.creates.append(CreateAttempt(world.api.principal_id, "k-lost", snap.creates[0].body, 201, "c-nowhere"))
    found = violations(snap, "I1")
    assert any("c-nowhere is gone" in v for v in found), found


def test_a_consignment_created_twice_for_one_request_is_caught(ran) -> None:
    world, ids = ran
    with world.engine.begin() as conn:
        conn.execute(delete(t.idempotency_keys).where(t.idempotency_keys.c.resource_id == ids[2]))
    found = violations(world.snapshot(), "I2")
    assert any(f"consignment {ids[2]} is named by 0" in v for v in found), found


def test_work_left_due_and_unclaimed_is_caught(ran) -> None:
    world, _ = ran
    with world.engine.begin() as conn:
        row = conn.execute(select(t.outbox.c.id).where(t.outbox.c.kind == "book")).first()
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.id == row.id)
            .values(state="in_flight", lease_until=world.clock.now() - timedelta(seconds=1))
        )
    assert any(f"outbox #{row.id} (book) left in_flight and due" in v for v in violations(world.snapshot(), "I1"))
