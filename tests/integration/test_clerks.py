"""Postal clerks on the real database: batches of scans, handover sessions, delivery outcomes, the worklist.

Consignments are created and booked through the services (sandbox courier, drained with rq's SimpleWorker), for two
agencies in two provinces, each served by one demo post office. Clerks of the Hà Nội office (DEMO-HN-02, serving the
HCC-HN centre's ward 00004) and of the Tuyên Quang office (DEMO-TQ-01) scan and record outcomes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from postal_bridge.domain.commands import CreateConsignment, CreateHandover
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.outcomes import set_citizen_id
from postal_bridge.domain.scans import ScanInput, ScanOutcome
from postal_bridge.domain.sla import local_date
from postal_bridge.domain.status import Status
from postal_bridge.services import agencies, consignments, handover_sessions, handovers, outcomes, scans, worklist
from postal_bridge.services.agencies import Caller
from postal_bridge.services.clerk_scope import ClerkCaller
from postal_bridge.storage import tables as t
from postal_bridge.storage.post_offices import load_csv
from tests.conftest import ManualClock, drain, register_hanoi
from tests.pdf_tools import pdftotext

DEMO = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
HN_OFFICE = "DEMO-HN-02"  # serves 00004, the HCC-HN centre's ward
TQ_OFFICE = "DEMO-TQ-01"  # serves 02215, the HCC-TQ centre's ward


@dataclass
class World:
    container: object
    clock: object
    hn: Caller
    tq: Caller
    clerk_hn: ClerkCaller
    clerk_tq: ClerkCaller

    @property
    def deps(self):
        return self.container.deps

    def create(self, kind: str = "return", *, caller: Caller | None = None, ward="00004", province="01") -> str:
        caller = caller or self.hn
        key = str(uuid.uuid4())
        cmd = CreateConsignment(
            kind=kind,
            carrier="sandbox",
            service="standard",
            citizen_name="Nguyễn Thị Hằng",
            citizen_phone="0912345678",
            address_line="Số 12 ngõ 34 phố Láng Hạ",
            ward_code=ward,
            province_code=province,
            weight_g=250,
            contents="Phiếu lý lịch tư pháp",
            dossier_code=None if kind == "pickup" else "000.00.12.H56-261115-0007",
            documents=({"name": "Phiếu lý lịch tư pháp số 2", "kind": "original", "quantity": 1},),
        )
        stored = consignments.create_consignment(
            self.deps, caller, cmd, idempotency_key=key, fingerprint=key, render=lambda c: c.id
        )
        return stored.body

    def book(self, *ids: str) -> None:
        drain(self.container)
        for cid in ids:
            assert self.get(cid).status == Status.BOOKED

    def get(self, cid: str) -> Consignment:
        with self.deps.uow() as uow:
            c = uow.consignments.get(cid)
        assert c is not None
        return c

    def code(self, cid: str) -> str:
        code = self.get(cid).tracking_code
        assert code
        return code

    def hand_to_post(self, *ids: str) -> None:
        handovers.create_handover(self.deps, self.hn, CreateHandover("to_post", tuple(ids)))

    def scan(self, clerk: ClerkCaller, *items: tuple) -> list:
        return scans.ingest_scans(self.deps, clerk, [ScanInput(*item) for item in items])

    def count(self, table, *where) -> int:
        with self.container.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def event(code: str, at: datetime, mode: str, session_id: str | None = None, eid: str | None = None) -> tuple:
    return (eid or str(uuid.uuid4()), code, at, mode, session_id)


@pytest.fixture
def clock() -> ManualClock:
    """Start at 08:00 in Hà Nội on the latest morning: "the same day" and "the next day" in these tests must not
    depend on the hour CI happens to run (a run at 23:00 local time once crossed midnight mid-test)."""
    local = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    morning = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if morning > local:
        morning -= timedelta(days=1)
    return ManualClock(morning.astimezone(UTC))


@pytest.fixture
def world(container, clock) -> World:
    deps = container.deps
    register_hanoi(deps)
    agencies.register_agency(
        deps,
        code="HCC-TQ",
        name="Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        phone="02073822222",
        line="Số 1 đường Tân Trào",
        ward_code="02215",
        province_code="08",
    )
    for office in load_csv(DEMO.read_text(encoding="utf-8")):
        deps.post_offices.upsert(office)
    callers = {}
    for code in ("HCC-HN", "HCC-TQ"):
        issued = agencies.create_api_key(
            deps, agency_code=code, name="one-stop", callback_url="http://127.0.0.1:9/callbacks"
        )
        callers[code] = agencies.authenticate(deps, issued.api_key)
    return World(
        container=container,
        clock=clock,
        hn=callers["HCC-HN"],
        tq=callers["HCC-TQ"],
        clerk_hn=ClerkCaller(user_id="u-hn-1", username="buucuc.badinh.1", post_office_code=HN_OFFICE),
        clerk_tq=ClerkCaller(user_id="u-tq-1", username="buucuc.minhxuan.1", post_office_code=TQ_OFFICE),
    )


def _notifications(w: World, cid: str) -> int:
    return w.count(t.outbox, t.outbox.c.consignment_id == cid, t.outbox.c.kind == OutboxKind.NOTIFY_DOSSIER.value)


# ------------------------------------------------------------------------------------------------------ scans


def test_a_batch_uploaded_twice_gives_the_same_results_and_moves_once(world: World) -> None:
    w = world
    r1 = w.create()
    w.book(r1)
    w.hand_to_post(r1)
    now = w.clock.now()
    code = w.code(r1)
    spaced = f"{code[:2]} {code[2:5]} {code[5:8]} {code[8:11]} {code[11:]}".lower()
    batch = [
        event(spaced, now + timedelta(minutes=1), "arrive"),
        event(f"http://pb.test/t/{w.get(r1).tracking_token}#{code}", now + timedelta(minutes=2), "out_for_delivery"),
        event(code, now + timedelta(minutes=3), "lookup"),
        event("EB123456785VN", now, "arrive"),  # a valid S10 id nobody here knows
        event("EB123456784VN", now, "arrive"),  # wrong check digit
        ("not-a-uuid", code, now, "arrive", None),
        event(code, now + timedelta(minutes=30), "arrive"),  # the device's clock is 30 minutes ahead
    ]
    notified_before = _notifications(w, r1)
    first = w.scan(w.clerk_hn, *batch)
    assert [r.outcome for r in first] == [
        ScanOutcome.ACCEPTED,
        ScanOutcome.ACCEPTED,
        ScanOutcome.ACCEPTED,
        ScanOutcome.UNKNOWN,
        ScanOutcome.INVALID_CODE,
        ScanOutcome.INVALID,
        ScanOutcome.FUTURE_TIME,
    ]
    assert (first[0].status_before, first[0].status_after) == ("picked_up", "in_transit")
    assert (first[1].status_before_label, first[1].status_after_label) == ("Đang vận chuyển", "Đang phát")
    assert first[2].item is not None and first[2].item.next_actions == (
        "delivered",
        "failed",
        "return_to_agency",
    )
    assert first[2].item.recipient == "Nguyễn T. H." and first[2].item.area == "Phường Ba Đình, Thành phố Hà Nội"
    assert first[0].code == code

    c = w.get(r1)
    assert c.status == Status.OUT_FOR_DELIVERY
    moved = [e for e in c.events if e.source == Source.SCAN and e.actor == "user:buucuc.badinh.1"]
    assert [(e.status, e.occurred_at, e.location) for e in moved] == [
        (Status.IN_TRANSIT, now + timedelta(minutes=1), "Bưu cục Ba Đình (demo)"),
        (Status.OUT_FOR_DELIVERY, now + timedelta(minutes=2), "Bưu cục Ba Đình (demo)"),
    ]
    assert _notifications(w, r1) == notified_before + 2  # one signed callback per change, queued in the outbox
    with w.container.engine.connect() as conn:
        queued = conn.execute(
            select(t.outbox.c.payload)
            .where(t.outbox.c.consignment_id == r1, t.outbox.c.kind == OutboxKind.NOTIFY_DOSSIER.value)
            .order_by(t.outbox.c.id)
        ).scalars()
        statuses = [json.loads(p["body"])["data"]["status"] for p in queued]
    assert statuses[-2:] == ["in_transit", "out_for_delivery"]  # in the order they happened, for ordered delivery
    stored, audited, events = w.count(t.scans), w.count(t.audit_log), len(c.events)
    assert stored == 6  # every scan with a valid event id, whatever its outcome
    assert w.count(t.audit_log, t.audit_log.c.action.like("scan.%")) == 2

    w.clock.advance(60)
    again = w.scan(w.clerk_hn, *batch)
    assert again == first
    assert len(w.get(r1).events) == events
    assert (w.count(t.scans), w.count(t.audit_log), _notifications(w, r1)) == (stored, audited, notified_before + 2)


def test_offline_scans_are_applied_in_time_order_and_never_move_an_item_back(world: World) -> None:
    w = world
    r1, r2 = w.create(), w.create()
    w.book(r1, r2)
    w.hand_to_post(r1, r2)
    handed = w.get(r1).events[-1].occurred_at
    w.clock.advance(3600)
    # Uploaded newest first, as an offline queue might: applied in the order they were made.
    results = w.scan(
        w.clerk_hn,
        event(w.code(r1), handed + timedelta(minutes=20), "out_for_delivery"),
        event(w.code(r1), handed + timedelta(minutes=10), "arrive"),
    )
    assert [r.outcome for r in results] == [ScanOutcome.ACCEPTED, ScanOutcome.ACCEPTED]
    assert [e.status for e in w.get(r1).events[-2:]] == [Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY]

    # A scan made before the item's last change is kept but never applied.
    older = w.scan(w.clerk_hn, event(w.code(r2), handed - timedelta(minutes=5), "arrive"))[0]
    assert older.outcome == ScanOutcome.NOT_ALLOWED and "cũ hơn" in older.message
    assert w.get(r2).status == Status.PICKED_UP
    with w.container.engine.connect() as conn:
        row = conn.execute(select(t.scans).where(t.scans.c.consignment_id == r2)).mappings().one()
    assert (row["applied"], row["outcome"], row["scanned_at"]) == (False, "not_allowed", handed - timedelta(minutes=5))

    # A step the item is already past, and the same step again the same day.
    late = w.scan(w.clerk_hn, event(w.code(r1), w.clock.now(), "arrive"))[0]
    assert late.outcome == ScanOutcome.DUPLICATE  # arrived today already
    w.clock.advance(86400)
    past = w.scan(w.clerk_hn, event(w.code(r1), w.clock.now(), "arrive"))[0]
    assert past.outcome == ScanOutcome.ALREADY_APPLIED
    assert w.get(r1).status == Status.OUT_FOR_DELIVERY


def test_another_offices_items_are_unknown_to_a_clerk(world: World) -> None:
    w = world
    hn_item = w.create()
    tq_item = w.create(caller=w.tq, ward="02215", province="08")
    # A Hà Nội centre's result for a citizen in Tuyên Quang: delivered by the TQ office, collected by the HN one.
    crossing = w.create(ward="02215", province="08")
    w.book(hn_item, tq_item, crossing)
    assert w.get(crossing).post_office_code == TQ_OFFICE
    now = w.clock.now()
    tq_sees = w.scan(w.clerk_tq, *(event(w.code(i), now, "lookup") for i in (hn_item, tq_item, crossing)))
    assert [r.outcome for r in tq_sees] == [ScanOutcome.UNKNOWN, ScanOutcome.ACCEPTED, ScanOutcome.ACCEPTED]
    assert tq_sees[0].item is None and tq_sees[0].message == scans.UNKNOWN_MESSAGE
    hn_sees = w.scan(w.clerk_hn, *(event(w.code(i), now, "lookup") for i in (hn_item, tq_item, crossing)))
    assert [r.outcome for r in hn_sees] == [ScanOutcome.ACCEPTED, ScanOutcome.UNKNOWN, ScanOutcome.ACCEPTED]

    assert scans.lookup(w.deps, w.clerk_tq, w.code(hn_item)).outcome == ScanOutcome.UNKNOWN
    assert scans.lookup(w.deps, w.clerk_hn, w.code(hn_item)).item.next_actions == ("handover_to_post",)
    token_url = f"http://pb.test/t/{w.get(hn_item).tracking_token}"
    assert scans.lookup(w.deps, w.clerk_hn, token_url).item.consignment_id == hn_item
    assert scans.lookup(w.deps, w.clerk_tq, token_url).outcome == ScanOutcome.UNKNOWN
    with pytest.raises(NotFound):
        outcomes.record_delivered(
            w.deps,
            w.clerk_tq,
            hn_item,
            receiver="citizen",
            id_type="cccd",
            id_last_digits="1234",
            client_event_id=str(uuid.uuid4()),
        )
    session = handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="HCC-HN")
    with pytest.raises(NotFound):
        handover_sessions.session_view(w.deps, w.clerk_tq, session.id)


def test_collecting_a_pickup_sets_j_and_results_are_not_collected_by_scan(world: World) -> None:
    w = world
    pickup, ret = w.create("pickup"), w.create()
    w.book(pickup, ret)
    w.clock.advance(3600)
    at = w.clock.now() - timedelta(minutes=30)  # collected at the citizen's home, uploaded later
    got = w.scan(w.clerk_hn, event(w.code(pickup), at, "collect"), event(w.code(ret), at, "collect"))
    assert got[0].outcome == ScanOutcome.ACCEPTED and got[0].status_after == "picked_up"
    assert got[1].outcome == ScanOutcome.NOT_ALLOWED and "phiên bàn giao" in got[1].message
    c = w.get(pickup)
    assert c.j_date == local_date(at) and c.due_date is not None and c.due_date >= c.j_date
    assert w.get(ret).status == Status.BOOKED


# -------------------------------------------------------------------------------------------- handover sessions


def test_session_open_scan_confirm_with_the_counter_makes_the_record(world: World) -> None:
    w = world
    a, b, missing, pickup = w.create(), w.create(), w.create(), w.create("pickup")
    w.book(a, b, missing, pickup)
    session = handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="hcc-hn")
    assert handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="HCC-HN") == session
    late = w.create()  # registered after the session opened: not expected, but it may be handed over
    w.book(late)
    now = w.clock.now()
    got = w.scan(
        w.clerk_hn,
        event(w.code(a), now, "handover", session.id),
        event(w.code(b), now + timedelta(seconds=5), "handover", session.id),
        event(w.code(late), now + timedelta(seconds=10), "handover", session.id),
        event(w.code(pickup), now + timedelta(seconds=15), "handover", session.id),
        event(w.code(a), now + timedelta(seconds=20), "handover", session.id),
        event(w.code(a), now + timedelta(seconds=25), "handover", "BG-000000-NOSUCH"),
    )
    assert [r.outcome for r in got] == [
        ScanOutcome.ACCEPTED,
        ScanOutcome.ACCEPTED,
        ScanOutcome.ACCEPTED,
        ScanOutcome.NOT_ALLOWED,
        ScanOutcome.DUPLICATE,
        ScanOutcome.NOT_ALLOWED,
    ]
    assert got[2].message == "Ngoài danh sách, đã thêm vào biên bản."
    view = handover_sessions.session_view(w.deps, w.clerk_hn, session.id)
    assert view.counts == {"expected": 3, "scanned": 3, "missing": 1, "extra": 1, "excluded": 1, "blocked": 0}
    assert [x.item.consignment_id for x in view.missing] == [missing]
    assert [x.item.consignment_id for x in view.extra] == [late]
    assert view.excluded[0].item.consignment_id == pickup and "không bàn giao" in view.excluded[0].reason
    (listed,) = handover_sessions.open_sessions(w.deps, w.clerk_hn)
    assert listed.session.id == session.id and listed.counts["missing"] == 1
    assert w.get(a).status == Status.BOOKED  # nothing moves before both sides confirm

    with pytest.raises(ValidationFailed) as wrong:
        handover_sessions.confirm_session(
            w.deps, w.clerk_hn, session.id, agency_rep=w.tq, clerk_name="Trần Văn Bưu", agency_rep_name="Lê Thị Cửa"
        )
    assert "agency_rep" in wrong.value.errors
    with pytest.raises(ValidationFailed) as unnamed:
        handover_sessions.confirm_session(
            w.deps, w.clerk_hn, session.id, agency_rep=w.hn, clerk_name=" ", agency_rep_name=""
        )
    assert set(unnamed.value.errors) == {"clerk_name", "agency_rep_name"}

    handover = handover_sessions.confirm_session(
        w.deps,
        w.clerk_hn,
        session.id,
        agency_rep=w.hn,
        clerk_name="Trần Văn Bưu",
        agency_rep_name="Lê Thị Cửa",
        note="Một kết quả chưa có tại quầy",
    )
    assert handover.consignment_ids == [a, b, late]
    assert handover.missing_ids == [missing]
    assert (handover.post_signatory, handover.agency_signatory) == ("Trần Văn Bưu", "Lê Thị Cửa")
    assert handover.agency_confirmed_by == f"api_key:{w.hn.key.key_prefix}"
    assert handover.created_by == "user:buucuc.badinh.1"
    with w.deps.uow() as uow:
        stored = uow.handovers.get(handover.id, agency_id=w.hn.agency.id)
    assert stored == handover
    assert [w.get(i).status for i in (a, b, late, missing, pickup)] == [
        Status.PICKED_UP,
        Status.PICKED_UP,
        Status.PICKED_UP,
        Status.BOOKED,
        Status.BOOKED,
    ]
    assert w.get(a).j_date == local_date(w.clock.now())

    text = " ".join(pdftotext(handovers.handover_pdf(w.deps, w.hn, handover.id).content).split())
    for expected in ("Trần Văn Bưu", "Lê Thị Cửa", "Thiếu so với danh sách: 1 bưu gửi", w.code(missing), w.code(late)):
        assert expected in text
    assert "Một kết quả chưa có tại quầy" in text

    # Confirmed: cannot change; a retried confirmation answers with the same record.
    again = handover_sessions.confirm_session(
        w.deps, w.clerk_hn, session.id, agency_rep=w.hn, clerk_name="Trần Văn Bưu", agency_rep_name="Lê Thị Cửa"
    )
    assert again.id == handover.id
    with pytest.raises(Conflict):
        handover_sessions.cancel_session(w.deps, w.clerk_hn, session.id)
    after = w.scan(w.clerk_hn, event(w.code(missing), w.clock.now(), "handover", session.id))[0]
    assert after.outcome == ScanOutcome.NOT_ALLOWED
    assert handover_sessions.open_sessions(w.deps, w.clerk_hn) == []
    with w.deps.uow() as uow:
        audit = uow.audit.entries(subject=f"handover_session:{session.id}")
    confirmed = next(e for e in audit if e.action == "handover_session.confirmed")
    assert confirmed.details["before"]["statuses"] == {a: "booked", b: "booked", late: "booked"}
    assert confirmed.details["after"]["statuses"] == {a: "picked_up", b: "picked_up", late: "picked_up"}
    assert confirmed.details["after"]["missing"] == [missing]
    assert [e.action for e in audit] == ["handover_session.opened", "handover_session.confirmed"]


def test_a_to_agency_session_delivers_dossiers_and_brings_results_back(world: World) -> None:
    w = world
    pickup, ret = w.create("pickup"), w.create()
    w.book(pickup, ret)
    w.hand_to_post(ret)
    now = w.clock.now()
    w.scan(w.clerk_hn, event(w.code(pickup), now, "collect"), event(w.code(ret), now, "out_for_delivery"))
    w.clock.advance(600)
    outcomes.record_failed(
        w.deps, w.clerk_hn, ret, reason="recipient_moved", client_event_id=str(uuid.uuid4()), note="Hàng xóm báo"
    )
    outcomes.record_returned_to_agency(
        w.deps, w.clerk_hn, ret, reason="recipient_moved", client_event_id=str(uuid.uuid4())
    )
    assert w.get(ret).status == Status.RETURNING_TO_AGENCY

    session = handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_agency", agency_code="HCC-HN")
    view = handover_sessions.session_view(w.deps, w.clerk_hn, session.id)
    assert {x.item.consignment_id for x in view.expected} == {pickup, ret}
    w.clock.advance(60)
    w.scan(w.clerk_hn, *(event(w.code(i), w.clock.now(), "handover", session.id) for i in (pickup, ret)))
    handover = handover_sessions.confirm_session(
        w.deps, w.clerk_hn, session.id, agency_rep=w.hn, clerk_name="Trần Văn Bưu", agency_rep_name="Lê Thị Cửa"
    )
    assert handover.missing_ids == []
    assert (w.get(pickup).status, w.get(ret).status) == (Status.DELIVERED, Status.RETURNED_TO_AGENCY)
    text = " ".join(pdftotext(handovers.handover_pdf(w.deps, w.hn, handover.id).content).split())
    assert "Thiếu so với danh sách" not in text and "Thời điểm ký:" in text and "Lê Thị Cửa" in text


def test_a_cancelled_session_moves_nothing_and_a_new_one_can_open(world: World) -> None:
    w = world
    r = w.create()
    w.book(r)
    first = handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="HCC-HN")
    w.scan(w.clerk_hn, event(w.code(r), w.clock.now(), "handover", first.id))
    cancelled = handover_sessions.cancel_session(w.deps, w.clerk_hn, first.id)
    assert cancelled.state == "cancelled" and w.get(r).status == Status.BOOKED
    with pytest.raises(Conflict):
        handover_sessions.confirm_session(
            w.deps, w.clerk_hn, first.id, agency_rep=w.hn, clerk_name="A B", agency_rep_name="C D"
        )
    second = handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="HCC-HN")
    assert second.id != first.id
    with pytest.raises(ValidationFailed) as nothing:
        handover_sessions.confirm_session(
            w.deps, w.clerk_hn, second.id, agency_rep=w.hn, clerk_name="A B", agency_rep_name="C D"
        )
    assert "session_id" in nothing.value.errors
    with pytest.raises(ValidationFailed):
        handover_sessions.open_session(w.deps, w.clerk_hn, direction="sideways", agency_code="HCC-HN")
    with pytest.raises(ValidationFailed):
        handover_sessions.open_session(w.deps, w.clerk_hn, direction="to_post", agency_code="NOPE")


# ------------------------------------------------------------------------------------------------- outcomes


def _out_for_delivery(w: World, *ids: str) -> None:
    w.book(*ids)
    w.hand_to_post(*ids)
    w.scan(w.clerk_hn, *(event(w.code(i), w.clock.now(), "out_for_delivery") for i in ids))
    w.clock.advance(60)


def _proofs(w: World, cid: str) -> list[dict]:
    with w.container.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(t.delivery_proofs).where(t.delivery_proofs.c.consignment_id == cid).order_by("id")
            ).mappings()
        ]


def test_delivered_to_the_citizen_checks_the_id_on_file(world: World) -> None:
    w = world
    r = w.create()
    _out_for_delivery(w, r)
    with w.deps.uow() as uow:
        c = uow.consignments.get(r)
        set_citizen_id(c, "cccd", "1234")
        uow.consignments.save(c)
        uow.commit()
    eid = str(uuid.uuid4())

    def deliver(**kw):
        args = {"receiver": "citizen", "id_type": "cccd", "id_last_digits": "1234", "client_event_id": eid, **kw}
        return outcomes.record_delivered(w.deps, w.clerk_hn, r, **args)

    with pytest.raises(ValidationFailed) as mismatch:
        deliver(id_last_digits="9999")
    assert (
        list(mismatch.value.errors) == ["id_last_digits"] and "không khớp" in mismatch.value.errors["id_last_digits"][0]
    )
    with pytest.raises(ValidationFailed) as full:
        deliver(id_last_digits="001234561234")
    assert "id_last_digits" in full.value.errors
    assert w.get(r).status == Status.OUT_FOR_DELIVERY and _proofs(w, r) == []

    done = deliver()
    assert (done.outcome, done.status_before, done.status_after) == ("delivered", "out_for_delivery", "delivered")
    assert done.item.next_actions == ()
    assert deliver() == done  # the same event again
    c = w.get(r)
    assert [e.status for e in c.events].count(Status.DELIVERED) == 1
    assert c.events[-1].description == "Phát thành công – người nhận: chính chủ"
    (proof,) = _proofs(w, r)
    assert (proof["receiver"], proof["id_type"], proof["id_last4"], proof["id_check"]) == (
        "citizen",
        "cccd",
        "1234",
        "matched",
    )
    assert proof["receiver_name"] is None and proof["authorisation_ref"] is None
    with w.deps.uow() as uow:
        (entry,) = uow.audit.entries(subject=f"consignment:{r}", action="outcome.delivered")
    assert entry.details["before"] == {"status": "out_for_delivery"}
    assert entry.details["after"]["status"] == "delivered" and entry.details["after"]["id_check"] == "matched"
    assert "1234" not in str(entry.details)  # no ID digits in the audit trail
    with pytest.raises(Conflict):  # a new event on a delivered item
        deliver(client_event_id=str(uuid.uuid4()))


def test_an_authorised_receiver_needs_a_name_and_the_authorisation(world: World) -> None:
    w = world
    r = w.create()
    _out_for_delivery(w, r)
    eid = str(uuid.uuid4())
    with pytest.raises(ValidationFailed) as missing:
        outcomes.record_delivered(
            w.deps,
            w.clerk_hn,
            r,
            receiver="authorised",
            id_type="passport",
            id_last_digits="4567",
            client_event_id=eid,
        )
    assert set(missing.value.errors) == {"receiver_name", "authorisation_ref"}
    done = outcomes.record_delivered(
        w.deps,
        w.clerk_hn,
        r,
        receiver="authorised",
        id_type="passport",
        id_last_digits="4567",
        receiver_name="Nguyễn Văn Ủy",
        authorisation_ref="Giấy ủy quyền số 12/2026, UBND phường Ba Đình",
        client_event_id=eid,
    )
    assert done.status_after == "delivered"
    (proof,) = _proofs(w, r)
    assert (proof["receiver"], proof["receiver_name"], proof["id_check"]) == (
        "authorised",
        "Nguyễn Văn Ủy",
        "not_applicable",
    )
    assert proof["authorisation_ref"].startswith("Giấy ủy quyền số 12/2026")
    assert "Ủy" not in (w.get(r).events[-1].description or "")  # names never in the public history


def test_a_refusal_records_the_refuser_and_starts_the_return(world: World) -> None:
    w = world
    r = w.create()
    _out_for_delivery(w, r)
    with pytest.raises(ValidationFailed) as bare:
        outcomes.record_failed(w.deps, w.clerk_hn, r, reason="recipient_refused", client_event_id=str(uuid.uuid4()))
    assert set(bare.value.errors) == {"refuser_name", "refuser_id_type", "refuser_id_last_digits"}
    got = outcomes.record_failed(
        w.deps,
        w.clerk_hn,
        r,
        reason="recipient_refused",
        client_event_id=str(uuid.uuid4()),
        refuser_name="Nguyễn Thị Hằng",
        refuser_id_type="cccd",
        refuser_id_last_digits="5678",
    )
    assert (got.status_before, got.status_after, got.attempt) == ("out_for_delivery", "returning_to_agency", 1)
    assert [e.status for e in w.get(r).events[-2:]] == [Status.DELIVERY_FAILED, Status.RETURNING_TO_AGENCY]
    assert w.get(r).events[-2].description == "Người nhận từ chối nhận"  # the reason the reports count
    (proof,) = _proofs(w, r)
    assert (proof["reason"], proof["refuser_name"], proof["refuser_id_type"], proof["refuser_id_last4"]) == (
        "recipient_refused",
        "Nguyễn Thị Hằng",
        "cccd",
        "5678",
    )
    with w.deps.uow() as uow:
        (entry,) = uow.audit.entries(subject=f"consignment:{r}", action="outcome.failed")
    assert entry.details["before"] == {"status": "out_for_delivery"}
    assert entry.details["after"]["status"] == "returning_to_agency" and entry.details["after"]["attempt"] == 1
    assert "Hằng" not in str(entry.details)


def test_failed_attempts_are_counted_and_the_return_waits_for_two_invitations(world: World) -> None:
    w = world
    r, pickup = w.create(), w.create("pickup")
    _out_for_delivery(w, r)
    first = outcomes.record_failed(w.deps, w.clerk_hn, r, reason="recipient_absent", client_event_id=str(uuid.uuid4()))
    assert (first.status_after, first.attempt) == ("delivery_failed", 1)
    with pytest.raises(ValidationFailed) as early:
        outcomes.record_returned_to_agency(
            w.deps, w.clerk_hn, r, reason="invitations_exhausted", client_event_id=str(uuid.uuid4())
        )
    assert "reason" in early.value.errors
    w.clock.advance(2 * 86400)
    second = outcomes.record_failed(w.deps, w.clerk_hn, r, reason="recipient_absent", client_event_id=str(uuid.uuid4()))
    assert (second.status_before, second.status_after, second.attempt) == ("delivery_failed", "delivery_failed", 2)
    assert [e.description for e in w.get(r).events[-2:]] == ["Đi phát lại", "Người nhận vắng mặt (mời nhận lại)"]
    back = outcomes.record_returned_to_agency(
        w.deps, w.clerk_hn, r, reason="invitations_exhausted", client_event_id=str(uuid.uuid4())
    )
    assert back.status_after == "returning_to_agency" and back.reason_label.startswith("Đã mời nhận 2 lần")

    w.book(pickup)
    with pytest.raises(ValidationFailed) as wrong_kind:
        outcomes.record_failed(w.deps, w.clerk_hn, pickup, reason="recipient_absent", client_event_id=str(uuid.uuid4()))
    assert "reason" in wrong_kind.value.errors
    incomplete = outcomes.record_failed(
        w.deps, w.clerk_hn, pickup, reason="documents_incomplete", client_event_id=str(uuid.uuid4())
    )
    assert (incomplete.status_after, incomplete.attempt) == ("pickup_failed", 1)
    assert "không phải từ chối" in incomplete.message
    with pytest.raises(Conflict):
        outcomes.record_delivered(
            w.deps,
            w.clerk_hn,
            pickup,
            receiver="citizen",
            id_type="cccd",
            id_last_digits="1234",
            client_event_id=str(uuid.uuid4()),
        )


def test_worklist_puts_each_item_in_the_pile_that_says_what_to_do(world: World) -> None:
    w = world
    to_collect, pickup, arrived, out, failed, tq_item = (
        w.create(),
        w.create("pickup"),
        w.create(),
        w.create(),
        w.create(),
        w.create(caller=w.tq, ward="02215", province="08"),
    )
    w.book(to_collect, pickup, arrived, out, failed, tq_item)
    w.hand_to_post(arrived, out, failed)
    now = w.clock.now()
    w.scan(
        w.clerk_hn,
        event(w.code(arrived), now, "arrive"),
        event(w.code(out), now, "out_for_delivery"),
        event(w.code(failed), now, "out_for_delivery"),
    )
    w.clock.advance(60)
    outcomes.record_failed(w.deps, w.clerk_hn, failed, reason="recipient_absent", client_event_id=str(uuid.uuid4()))
    day = local_date(w.clock.now())
    work = worklist.clerk_worklist(w.deps, w.clerk_hn, day=day)
    piles = {p: [x.item.consignment_id for x in items] for p, items in work.piles.items()}
    assert piles == {
        "collect_at_agency": [to_collect],
        "collect_from_citizen": [pickup],
        "arrived": [arrived],
        "out_for_delivery": [out],
        "failed": [failed],
        "return_to_agency": [],
        "hand_to_agency": [],
    }
    (f,) = work.piles["failed"]
    assert f.attempts == 1 and f.second_invitation_on > day and f.return_to_agency_by > f.second_invitation_on
    assert work.labels["failed"].startswith("Phát không thành công")
    # After the invitations' period the deadline monitor's rule puts it on the return pile.
    later = worklist.clerk_worklist(w.deps, w.clerk_hn, day=f.return_to_agency_by + timedelta(days=1))
    assert [x.item.consignment_id for x in later.piles["return_to_agency"]] == [failed]
    assert worklist.clerk_worklist(w.deps, w.clerk_tq, day=day).counts["collect_at_agency"] == 1


def test_an_event_id_belongs_to_one_item_and_erasure_clears_the_door_records(world: World) -> None:
    w = world
    a, b = w.create(), w.create()
    _out_for_delivery(w, a, b)
    eid = str(uuid.uuid4())
    outcomes.record_failed(
        w.deps,
        w.clerk_hn,
        a,
        reason="recipient_refused",
        client_event_id=eid,
        refuser_name="Nguyễn Thị Hằng",
        refuser_id_type="cmnd",
        refuser_id_last_digits="4321",
    )
    with pytest.raises(ValidationFailed) as reused:
        outcomes.record_failed(w.deps, w.clerk_hn, b, reason="recipient_absent", client_event_id=eid)
    assert "client_event_id" in reused.value.errors
    assert w.get(b).status == Status.OUT_FOR_DELIVERY
    with w.deps.uow() as uow:
        c = uow.consignments.get(a)
        set_citizen_id(c, "cccd", "1234")
        uow.consignments.save(c)
        uow.audit.erase_personal_data([a], at=w.clock.now())
        uow.commit()
    (proof,) = _proofs(w, a)
    assert (proof["refuser_name"], proof["refuser_id_last4"], proof["refuser_id_type"]) == (None, None, "cmnd")
    c = w.get(a)
    assert (c.citizen_id_type, c.citizen_id_last4, c.citizen.name) == (None, None, "")
    assert scans.lookup(w.deps, w.clerk_hn, w.code(a)).item.recipient == "(đã xoá)"


def test_signed_in_accounts_act_as_the_clerk_and_as_the_counter_confirming(world: World) -> None:
    from postal_bridge.services import accounts
    from postal_bridge.services.clerk_scope import clerk_caller

    w = world
    clerk_user, _ = accounts.create_user(w.deps, username="nvbc.badinh", role="clerk", post_office_code=HN_OFFICE)
    counter_user, _ = accounts.create_user(w.deps, username="motcua.hn", role="counter", agency_code="HCC-HN")
    clerk = clerk_caller(clerk_user)
    assert clerk == ClerkCaller(clerk_user.id, "nvbc.badinh", HN_OFFICE) and clerk.actor == "user:nvbc.badinh"
    with pytest.raises(Forbidden):
        clerk_caller(counter_user)
    r = w.create()
    w.book(r)
    session = handover_sessions.open_session(w.deps, clerk, direction="to_post", agency_code="HCC-HN")
    w.scan(clerk, event(w.code(r), w.clock.now(), "handover", session.id))
    counter = accounts.agency_caller(w.deps, counter_user)
    handover = handover_sessions.confirm_session(
        w.deps, clerk, session.id, agency_rep=counter, clerk_name="Trần Văn Bưu", agency_rep_name="Lê Thị Cửa"
    )
    assert (handover.created_by, handover.agency_confirmed_by) == ("user:nvbc.badinh", "user:motcua.hn")
    assert w.get(r).status == Status.PICKED_UP and w.get(r).events[-1].actor == "user:nvbc.badinh"
