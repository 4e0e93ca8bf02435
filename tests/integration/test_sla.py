"""The deadline monitor on the real database: every breach kind gives one breach row, one needs-attention line and one
``consignment.deadline_breached`` callback, however often the scheduler scans; cleared breaches are resolved quietly.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, text

from postal_bridge.domain.address import Address, Party
from postal_bridge.domain.consignment import Consignment, DossierLink, Parcel, Source
from postal_bridge.domain.incidents import Complainant, Complaint
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.sla import TZ
from postal_bridge.domain.status import Kind, Status
from postal_bridge.storage import tables as t
from tests.conftest import drain, register_hanoi
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

S = Status
MY_TABLES = ("breaches", "complaints", "incidents")
TODAY = date(2026, 3, 10)  # a Tuesday


def at(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=TZ).astimezone(UTC)


def set_clock(clock, moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


@pytest.fixture
def my_tables(container):
    """conftest's cleaner does not know the breach, complaint and incident tables (FK to consignments)."""
    from postal_bridge.storage.engine import make_engine

    engine = make_engine(container.settings.database_url)

    def clean() -> None:
        with engine.begin() as conn:
            for table in MY_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))

    clean()
    yield engine
    clean()
    engine.dispose()


@pytest.fixture
def agency(container, clock, my_tables):
    from postal_bridge.services import agencies

    set_clock(clock, at(date(2026, 3, 1)))
    hn = register_hanoi(container.deps)
    with_hook = agencies.create_api_key(
        container.deps, agency_code="HCC-HN", name="one-stop", callback_url="http://127.0.0.1:9/callbacks"
    )
    silent = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="no-callback")
    return {"agency": hn, "key": with_hook, "silent": silent}


def add(
    container,
    agency,
    *,
    path: list[tuple[Status, date]] = (),
    initial: Status = S.REQUESTED,
    due: date | None = None,
    appointment: date | None = None,
    key=None,
    address_status: str = "exact",
    kind: Kind = Kind.RETURN,
) -> str:
    key = key or agency["key"]
    c = Consignment.register(
        initial=initial,
        occurred_at=at(date(2026, 3, 1)),
        actor="test",
        id=str(uuid.uuid4()),
        agency_id=agency["agency"].id,
        api_key_id=key.key.id,
        kind=kind,
        carrier="sandbox",
        service="standard",
        dossier=DossierLink(code=f"000.00.12.H56-260301-{uuid.uuid4().int % 10000:04d}", appointment_date=appointment),
        citizen=Party(name="Nguyễn Thị Hằng", phone=Phone("+84912345678"), address=Address("Số 12", "00004", "01")),
        parcel=Parcel(weight_g=250, contents="Kết quả"),
        tracking_token=uuid.uuid4().hex[:16],
        due_date=due,
        address_status=address_status,
        postage_vnd=22_000,
    )
    for status, d in path:
        c.transition(status, occurred_at=at(d), source=Source.COURIER_POLL)
    c.new_events.clear()
    with container.deps.uow() as uow:
        uow.consignments.add(c)
        uow.commit()
    return c.id


def add_complaint(container, consignment_id: str, **kw) -> str:
    complaint = Complaint(
        id=str(uuid.uuid4()),
        consignment_id=consignment_id,
        complainant=Complainant.CITIZEN,
        opened_at=at(date(2026, 3, 2)),
        description="Chưa nhận được kết quả",
        **kw,
    )
    with container.deps.uow() as uow:
        uow.complaints.add(complaint)
        uow.commit()
    return complaint.id


def breach_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.breaches).order_by(t.breaches.c.id)).mappings()]


def breach_webhooks(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.outbox.c.consignment_id, t.outbox.c.ordering_key, t.outbox.c.payload)
            .where(t.outbox.c.kind == OutboxKind.NOTIFY_DOSSIER.value)
            .order_by(t.outbox.c.id)
        ).mappings()
        out = []
        for r in rows:
            payload = r["payload"]
            body = json.loads(payload["body"])
            if body["type"] == "consignment.deadline_breached":
                out.append({**r, "payload": payload, "body": body})
        return out


def test_every_breach_is_recorded_listed_and_notified_once(container, clock, agency, my_tables) -> None:
    from postal_bridge.services import incidents, sla
    from postal_bridge.services.agencies import Caller

    custody = [S.BOOKED, S.PICKED_UP, S.IN_TRANSIT]
    ids = {
        # J + n ended Monday 9, last scan Monday 9 (not stale yet)
        "transit": add(container, agency, path=[(s, date(2026, 3, 9)) for s in custody], due=date(2026, 3, 9)),
        "result": add(container, agency, initial=S.AWAITING_RESULT, appointment=date(2026, 3, 9)),
        # failed Tue 3, invited to the post office Thu 5: due back at the agency after Mon 9 (4 working days)
        "invitation": add(
            container,
            agency,
            path=[
                *[(s, date(2026, 3, 3)) for s in [*custody, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED]],
                (S.AVAILABLE_FOR_PICKUP, date(2026, 3, 5)),
            ],
        ),
        "failed": add(
            container, agency, path=[(s, date(2026, 3, 9)) for s in [*custody, S.OUT_FOR_DELIVERY, S.DELIVERY_FAILED]]
        ),
        # last news Wed 4: Thu 5, Fri 6, Mon 9
        "stale": add(container, agency, path=[(s, date(2026, 3, 4)) for s in [*custody, S.OUT_FOR_DELIVERY]]),
        "complaint": add(container, agency, path=[(s, date(2026, 3, 2)) for s in [*custody, S.DELIVERED]]),
        "compensation": add(container, agency, path=[(s, date(2026, 3, 2)) for s in [*custody, S.DELIVERED]]),
        "unconfirmed": add(container, agency, address_status="suggested"),
        "fine": add(container, agency, path=[(s, date(2026, 3, 9)) for s in custody], due=date(2026, 3, 10)),
    }
    add_complaint(container, ids["complaint"], due_date=date(2026, 3, 9))
    compensation_complaint = add_complaint(
        container,
        ids["compensation"],
        due_date=date(2026, 2, 9),
        resolved_at=at(date(2026, 2, 6)),
        outcome="Bồi thường",
        compensation_vnd=88_000,
        liability_decided_at=at(date(2026, 2, 6)),
        payment_due_date=date(2026, 3, 9),
    )
    expected = {
        (ids["transit"], "transit_overdue"),
        (ids["result"], "result_overdue"),
        (ids["invitation"], "invitation_overdue"),
        (ids["stale"], "stale_custody"),
        (ids["complaint"], "complaint_overdue"),
        (ids["compensation"], "compensation_overdue"),
    }

    set_clock(clock, at(date(2026, 3, 9), 23))  # the day of every deadline: nothing yet
    assert sla.scan(container.deps) == 0
    assert breach_rows(my_tables) == []

    set_clock(clock, at(TODAY, 0) + timedelta(minutes=5))  # 00:05 the day after
    assert sla.scan(container.deps) == len(expected)
    for _ in range(3):
        clock.advance(3600)
        assert sla.scan(container.deps) == 0

    rows = breach_rows(my_tables)
    assert {(r["consignment_id"], r["kind"]) for r in rows} == expected
    assert all(r["resolved_at"] is None for r in rows)
    transit = next(r for r in rows if r["kind"] == "transit_overdue")
    assert transit["due_at"] == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # 00:00 on the 10th

    hooks = breach_webhooks(my_tables)
    assert {(h["consignment_id"], h["body"]["data"]["breach"]) for h in hooks} == expected
    assert len(hooks) == len(expected)
    assert len({h["payload"]["message_id"] for h in hooks}) == len(hooks)
    for h in hooks:
        assert h["ordering_key"] == f"webhook:{h['consignment_id']}"
        assert h["payload"]["api_key_id"] == agency["key"].key.id
        data = h["body"]["data"]
        assert set(data) == {"consignment_id", "dossier_code", "kind", "status", "breach", "due_at", "detected_at"}
        assert data["kind"] == "return" and data["dossier_code"].startswith("000.00.12.H56-")
    by_id = {h["consignment_id"]: h["body"]["data"] for h in hooks if h["body"]["data"]["breach"] != "stale_custody"}
    assert by_id[ids["transit"]]["status"] == "in_transit"
    assert by_id[ids["result"]]["status"] == "awaiting_result"

    caller = Caller(key=agency["key"].key, agency=agency["agency"])
    lines = sla.needs_attention(container.deps, caller)
    reasons = {(line["consignment_id"], line["reason"]) for line in lines}
    assert reasons == expected | {(ids["unconfirmed"], "address_unconfirmed"), (ids["failed"], "delivery_failed")}
    assert [line["since"] for line in lines] == sorted((line["since"] for line in lines), reverse=True)
    assert all(line["label"] for line in lines)

    # The stale item moves again and the compensation is paid: both breaches clear, without another callback.
    with container.deps.uow() as uow:
        c = uow.consignments.get(ids["stale"])
        c.transition(S.DELIVERED, occurred_at=clock.now(), source=Source.COURIER_POLL)
        c.new_events.clear()
        uow.consignments.save(c)
        uow.commit()
    incidents.record_payment(container.deps, caller, compensation_complaint)
    clock.advance(3600)
    assert sla.scan(container.deps) == 0
    resolved = {(r["consignment_id"], r["kind"]) for r in breach_rows(my_tables) if r["resolved_at"] is not None}
    assert resolved == {(ids["stale"], "stale_custody"), (ids["compensation"], "compensation_overdue")}
    assert len(breach_webhooks(my_tables)) == len(expected)
    still = {(line["consignment_id"], line["reason"]) for line in sla.needs_attention(container.deps, caller)}
    assert (ids["stale"], "stale_custody") not in still and (ids["transit"], "transit_overdue") in still

    # Another agency sees none of it.
    from postal_bridge.services import agencies

    other = agencies.register_agency(
        container.deps,
        code="HCC-TQ",
        name="TQ",
        phone="02438253536",
        line="Số 1",
        ward_code="02215",
        province_code="08",
    )
    other_key = agencies.create_api_key(container.deps, agency_code="HCC-TQ", name="t")
    assert sla.needs_attention(container.deps, Caller(key=other_key.key, agency=other)) == []


def test_a_key_without_callback_gets_the_breach_but_no_webhook(container, clock, agency, my_tables) -> None:
    from postal_bridge.services import sla

    cid = add(container, agency, initial=S.AWAITING_RESULT, appointment=date(2026, 3, 9), key=agency["silent"])
    set_clock(clock, at(TODAY))
    assert sla.scan(container.deps) == 1
    assert [(r["consignment_id"], r["kind"]) for r in breach_rows(my_tables)] == [(cid, "result_overdue")]
    assert breach_webhooks(my_tables) == []


def test_scans_walk_past_the_limit_and_tet_holds_the_clock(container, clock, agency, my_tables) -> None:
    from postal_bridge.services import sla

    # In transit since Thu 12/2 with J + n on Mon 23/2 (Tết 16–20/2 in between).
    custody = [S.BOOKED, S.PICKED_UP, S.IN_TRANSIT]
    ids = [
        add(container, agency, path=[(s, date(2026, 2, 12)) for s in custody], due=date(2026, 2, 23)) for _ in range(3)
    ]
    set_clock(clock, at(date(2026, 2, 20)))  # Tết: not a working day has passed since Friday 13
    assert sla.scan(container.deps, limit=2) == 0
    set_clock(clock, at(date(2026, 2, 24)))  # transit is late; stale only after Fri 13, Mon 23, Tue 24
    found = sum(sla.scan(container.deps, limit=2) for _ in range(3))
    assert found == 3
    assert {(r["consignment_id"], r["kind"]) for r in breach_rows(my_tables)} == {(i, "transit_overdue") for i in ids}
    set_clock(clock, at(date(2026, 2, 25)))
    assert sum(sla.scan(container.deps, limit=2) for _ in range(3)) == 3  # now stale too: Fri 13, Mon 23, Tue 24
    assert len(breach_webhooks(my_tables)) == 6


def test_the_dossier_system_hears_a_breach_once(container, clock, agency, my_tables) -> None:
    from postal_bridge.services import agencies, sla

    receiver = FakeDossierSystem(secrets=[], now=lambda: clock.now().timestamp())
    with LoopbackServer(receiver.app) as hook:
        issued = agencies.create_api_key(
            container.deps, agency_code="HCC-HN", name="hook", callback_url=f"{hook.url}/callbacks"
        )
        receiver.secrets.append(issued.webhook_secret)
        cid = add(container, agency, initial=S.AWAITING_RESULT, appointment=date(2026, 3, 9), key=issued)
        set_clock(clock, at(TODAY))
        for _ in range(3):
            sla.scan(container.deps)
            drain(container)
            clock.advance(600)
        events = [e for e in receiver.events() if e["type"] == "consignment.deadline_breached"]
        assert len(events) == 1
        assert events[0]["data"]["consignment_id"] == cid
        assert events[0]["data"]["breach"] == "result_overdue"
        assert all(d["signature_valid"] for d in receiver.deliveries)
