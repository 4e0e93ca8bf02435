"""services.sms through in-memory fakes: once per event, quiet hours, skips, limits, retries, reports, previews."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.carriers import CourierStatus
from postal_bridge.domain.errors import ValidationFailed
from postal_bridge.domain.model import OutboxKind, OutboxState
from postal_bridge.domain.sms import (
    SmsPermanentError,
    SmsReportRequest,
    SmsStatus,
    SmsTransientError,
    sms_length,
)
from postal_bridge.domain.status import Status
from postal_bridge.services import outbox, sms
from postal_bridge.services.tracking import record_tracking_events
from tests.fakes.memory import (
    RecordingSmsGateway,
    create,
    make_deps,
    return_command,
    seed_caller,
    store_of,
    tracking_event,
)

CS = CourierStatus
DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, a Tuesday
SECRET = "cb-secret-0123456789abcdef"


def _deps(**kw):
    kw.setdefault("sms", RecordingSmsGateway())
    kw.setdefault("sms_callback_secret", SECRET)
    deps = make_deps(**kw)
    deps.clock.set(DAY)
    return deps


def _booked(deps, caller, cmd=None) -> str:
    cid = json.loads(create(deps, caller, cmd).body)["id"]
    (book,) = store_of(deps).outbox_items(kind=OutboxKind.BOOK, consignment_id=cid)
    assert outbox.process(deps, book.id) == "done"
    return cid


def _messages(deps, cid=None):
    """Oldest first; within one transaction (one clock reading) in event order."""
    rows = store_of(deps).rows("sms_messages")

    def seq(m) -> int:
        tail = (m.dedupe_key or "").rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    return sorted((m for m in rows if cid is None or m.consignment_id == cid), key=lambda m: (m.created_at, seq(m)))


def _sms_items(deps, cid=None):
    return store_of(deps).outbox_items(kind=OutboxKind.SEND_SMS, consignment_id=cid)


def _send_due(deps) -> list[str]:
    """Run every due SEND_SMS row once; the outcomes."""
    return [outbox.process(deps, i.id) for i in _sms_items(deps) if i.state == OutboxState.PENDING]


def _events(deps, cid, *steps, start=None, source="poll"):
    c = store_of(deps).consignment(cid)
    t = start or deps.clock.now()
    evs = [
        replace(tracking_event(c.carrier_ref, status, t + timedelta(minutes=10 * (i + 1))), source=source)
        for i, status in enumerate(steps)
    ]
    return record_tracking_events(deps, cid, evs)


def test_booking_queues_one_message_and_the_outbox_sends_it():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    c = store_of(deps).consignment(cid)
    (message,) = _messages(deps, cid)
    assert (message.event, message.status, message.phone) == ("booked", SmsStatus.QUEUED, "+84912345678")
    assert message.dedupe_key == f"{cid}:booked:2"
    assert message.text == (
        f"TTPVHCC-HN: Ket qua ho so cua ban se duoc gui qua buu dien, ma buu gui {c.tracking_code}. "
        f"Tra cuu: https://buudien.example.vn/t/{c.tracking_token}"
    )
    assert "Nguyen" not in message.text and "Doi Can" not in message.text  # no name, no address
    (item,) = _sms_items(deps, cid)
    assert item.next_attempt_at == DAY and item.ordering_key == f"sms:{cid}"
    assert item.id in deps.jobs.outbox_ids

    assert outbox.process(deps, item.id) == "done"
    (sent,) = deps.sms.sent
    assert sent.id == message.id and sent.text == message.text
    stored = store_of(deps).rows("sms_messages")[0]
    assert (stored.status, stored.gateway, stored.gateway_message_id) == (SmsStatus.SENT, "recording", "rec-1")


def test_a_job_that_runs_again_never_sends_twice():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    (item,) = _sms_items(deps, cid)
    assert outbox.process(deps, item.id) == "done"
    # The row is found due again (a relay after a lost completion, a duplicated wake-up): it must not resend.
    row = store_of(deps).tables["outbox"][item.id]
    row.state, row.next_attempt_at = OutboxState.PENDING, DAY
    assert outbox.process(deps, item.id) == "done"
    assert outbox.process(deps, item.id) == "skipped"
    assert len(deps.sms.sent) == 1


def test_each_templated_change_once_a_replayed_courier_event_adds_nothing():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    c = store_of(deps).consignment(cid)
    t = deps.clock.now()
    out = replace(tracking_event(c.carrier_ref, CS.OUT_FOR_DELIVERY, t + timedelta(minutes=5)), source="webhook")
    picked = replace(tracking_event(c.carrier_ref, CS.PICKED_UP, t + timedelta(minutes=1)), source="webhook")
    record_tracking_events(deps, cid, [picked, out])
    record_tracking_events(deps, cid, [picked, out])  # the courier pushes the same events again
    assert [m.event for m in _messages(deps, cid)] == ["booked", "out_for_delivery"]
    assert len({m.dedupe_key for m in _messages(deps, cid)}) == 2


def test_a_second_failed_attempt_is_a_second_message_a_replay_is_not():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    c = store_of(deps).consignment(cid)
    t = deps.clock.now()
    pushes = [
        replace(tracking_event(c.carrier_ref, s, t + timedelta(minutes=m)), source="webhook")
        for s, m in (
            (CS.PICKED_UP, 1),
            (CS.OUT_FOR_DELIVERY, 2),
            (CS.DELIVERY_FAILED, 3),
            (CS.OUT_FOR_DELIVERY, 60 * 24),
            (CS.DELIVERY_FAILED, 60 * 25),
        )
    ]
    for push in pushes:  # one webhook each, as couriers push them
        record_tracking_events(deps, cid, [push])
    record_tracking_events(deps, cid, pushes)  # and all of them again
    events = [m.event for m in _messages(deps, cid)]
    assert events == ["booked", "out_for_delivery", "delivery_failed", "out_for_delivery", "delivery_failed"]
    seqs = [m.dedupe_key.rsplit(":", 1)[1] for m in _messages(deps, cid)]
    assert seqs == ["2", "4", "5", "6", "7"]


def test_out_for_delivery_followed_by_a_later_change_in_one_batch_is_not_announced():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    _events(deps, cid, CS.PICKED_UP, CS.OUT_FOR_DELIVERY, CS.DELIVERY_FAILED, source="webhook")
    assert [m.event for m in _messages(deps, cid)] == ["booked", "delivery_failed"]


def test_a_poll_that_finds_the_item_delivered_does_not_announce_the_delivery_round():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    _events(deps, cid, CS.OUT_FOR_DELIVERY, CS.DELIVERED)  # one poll: the round started and ended since the last
    statuses = [e.status for e in store_of(deps).consignment(cid).events]
    assert statuses[-2:] == [Status.OUT_FOR_DELIVERY, Status.DELIVERED]
    assert [m.event for m in _messages(deps, cid)] == ["booked", "delivered"]


def test_the_collect_by_date_and_the_post_office_phone_after_a_failed_delivery():
    deps = _deps(calendar=WorkingCalendar(holidays=frozenset()))
    cid = _booked(deps, seed_caller(deps))
    _events(deps, cid, CS.PICKED_UP, CS.OUT_FOR_DELIVERY, CS.DELIVERY_FAILED, source="webhook")
    failed = _messages(deps, cid)[-1]
    assert failed.event == "delivery_failed"
    # Failed on Tuesday 10/03; two invitations two working days apart: back to the agency after Monday 16/03.
    assert "(han 16/03/2026)" in failed.text
    assert "Goi 024 3825 3536" in failed.text  # the agency's number: no post office is known here


def test_messages_wait_for_seven_in_the_morning():
    deps = _deps()
    caller = seed_caller(deps)
    night = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 23:30 in Hà Nội
    deps.clock.set(night)
    cid = _booked(deps, caller)
    (message,) = _messages(deps, cid)
    seven = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 07:00 the next morning
    assert message.scheduled_at == seven
    (item,) = _sms_items(deps, cid)
    assert item.next_attempt_at == seven
    assert outbox.process(deps, item.id) == "skipped"  # not due: nothing sent at night
    deps.jobs.clear()
    outbox.relay_due(deps)
    assert item.id not in deps.jobs.outbox_ids
    deps.clock.set(seven)
    assert outbox.process(deps, item.id) == "done"
    assert len(deps.sms.sent) == 1


def test_a_row_that_falls_due_at_night_is_put_back_to_seven():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    (item,) = _sms_items(deps, cid)
    deps.clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # 23:00: e.g. a retry whose backoff ended now
    assert outbox.process(deps, item.id) == "done"
    assert deps.sms.sent == []
    row = store_of(deps).outbox_item(item.id)
    assert row.state == OutboxState.PENDING
    assert row.next_attempt_at == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert _messages(deps, cid)[0].scheduled_at == row.next_attempt_at


def test_a_one_time_code_goes_out_at_once_even_at_night_and_never_waits_behind_a_notice():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    deps.clock.set(datetime(2026, 3, 10, 16, 30, tzinfo=UTC))
    with deps.uow() as uow:
        c = uow.consignments.get(cid)
        oid = sms.queue_sms(uow, deps, consignment=c, event="otp", params={"code": "004217", "valid_minutes": 5})
        uow.commit()
    assert oid is not None
    item = store_of(deps).outbox_item(oid)
    assert item.ordering_key is None and item.next_attempt_at == deps.clock.now()
    assert outbox.process(deps, oid) == "done"
    (otp,) = deps.sms.sent
    expected = "TTPVHCC-HN: Ma xac thuc cua ban la 004217, hieu luc 5 phut. "
    expected += "Khong chia se ma nay cho bat ky ai, ke ca nhan vien buu dien."
    assert otp.text == expected


def test_one_time_codes_are_checked_and_nothing_is_stored_for_bad_input():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    before = len(_messages(deps))
    with deps.uow() as uow:
        c = uow.consignments.get(cid)
        with pytest.raises(ValidationFailed) as exc:
            sms.queue_sms(uow, deps, consignment=c, event="otp", params={"code": "12345"})
        assert set(exc.value.errors) == {"params.code"}
        with pytest.raises(ValidationFailed) as exc:
            sms.queue_sms(uow, deps, consignment=c, event="picked_up")
        assert set(exc.value.errors) == {"event"}
        with pytest.raises(ValidationFailed) as exc:
            sms.queue_sms(uow, deps, consignment=c, event="booked", params={"name": "x", "date": "12/03"})
        assert set(exc.value.errors) == {"params.name", "params.date"}
    assert len(_messages(deps)) == before


def test_a_dedupe_key_used_once_stores_nothing_the_second_time():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    with deps.uow() as uow:
        c = uow.consignments.get(cid)
        first = sms.queue_sms(uow, deps, consignment=c, event="delivered", dedupe_key="k-1")
        second = sms.queue_sms(uow, deps, consignment=c, event="delivered", dedupe_key="k-1")
        uow.commit()
    assert first is not None and second is None
    assert [m.dedupe_key for m in _messages(deps, cid)].count("k-1") == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("landline", "cannot receive SMS"),
        ("agency_off", "turned off for this agency"),
        ("installation_off", "POSTAL_BRIDGE_SMS_GATEWAY=off"),
    ],
)
def test_messages_that_must_not_go_out_are_stored_as_skipped_with_the_reason(setup, reason):
    deps = _deps(sms=None) if setup == "installation_off" else _deps()
    caller = seed_caller(deps)
    if setup == "agency_off":
        sms.configure_sms(deps, agency_code=caller.agency.code, values={"enabled": "0"})
    cmd = return_command(citizen_phone="024 3825 3536") if setup == "landline" else None
    cid = _booked(deps, caller, cmd)
    (message,) = _messages(deps, cid)
    assert message.status == SmsStatus.SKIPPED and reason in message.error
    assert _sms_items(deps, cid) == []


def test_settings_changed_after_queueing_are_respected_at_send_time():
    deps = _deps()
    caller = seed_caller(deps)
    cid = _booked(deps, caller)
    sms.configure_sms(deps, agency_code=caller.agency.code, values={"enabled": "0"})
    (item,) = _sms_items(deps, cid)
    assert outbox.process(deps, item.id) == "done"
    assert deps.sms.sent == []
    assert _messages(deps, cid)[0].status == SmsStatus.SKIPPED


def test_at_most_five_messages_per_number_in_a_day_one_time_codes_aside():
    deps = _deps()
    caller = seed_caller(deps)
    ids = [_booked(deps, caller) for _ in range(7)]  # seven results to the same citizen on one morning
    statuses = [_messages(deps, cid)[0].status for cid in ids]
    assert statuses == [SmsStatus.QUEUED] * 5 + [SmsStatus.SKIPPED] * 2
    assert "limit of 5 messages" in _messages(deps, ids[-1])[0].error
    with deps.uow() as uow:
        otp = sms.queue_sms(uow, deps, consignment=uow.consignments.get(ids[0]), event="otp", params={"code": "111111"})
        uow.commit()
    assert otp is not None
    deps.clock.advance(hours=24, seconds=1)
    assert _messages(deps, _booked(deps, caller))[0].status == SmsStatus.QUEUED  # a new day, a new allowance


def test_a_transient_error_is_retried_and_a_permanent_one_marks_the_message_failed():
    gateway = RecordingSmsGateway()
    deps = _deps(sms=gateway)
    caller = seed_caller(deps)
    cid = _booked(deps, caller)
    (item,) = _sms_items(deps, cid)
    gateway.fail_next(SmsTransientError("recording", "balance too low", code="103"))
    assert outbox.process(deps, item.id) == "retry"
    (message,) = _messages(deps, cid)
    assert (message.status, message.error) == (SmsStatus.QUEUED, "balance too low")
    deps.clock.advance(seconds=60)
    assert outbox.process(deps, item.id) == "done"
    assert _messages(deps, cid)[0].status == SmsStatus.SENT
    assert [m.id for m in gateway.sent] == [message.id, message.id]  # the same request id both times

    other = _booked(deps, caller)
    (item2,) = _sms_items(deps, other)
    gateway.fail_next(SmsPermanentError("recording", "CodeResult 99: the number is blocked", code="99"))
    assert outbox.process(deps, item2.id) == "dead"
    failed = _messages(deps, other)[0]
    assert (failed.status, failed.error) == (SmsStatus.FAILED, "CodeResult 99: the number is blocked")


def test_a_transient_error_on_the_last_attempt_marks_the_message_failed():
    gateway = RecordingSmsGateway()
    deps = _deps(sms=gateway, courier_schedule=(5,))
    cid = _booked(deps, seed_caller(deps))
    (item,) = _sms_items(deps, cid)
    gateway.fail_next(SmsTransientError("recording", "HTTP 503"), SmsTransientError("recording", "HTTP 503"))
    assert outbox.process(deps, item.id) == "retry"
    deps.clock.advance(seconds=10)
    assert outbox.process(deps, item.id) == "dead"
    assert _messages(deps, cid)[0].status == SmsStatus.FAILED


def test_yesterdays_out_for_delivery_is_not_sent_today():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    for i in _sms_items(deps, cid):
        outbox.process(deps, i.id)
    deps.clock.set(datetime(2026, 3, 10, 14, 50, tzinfo=UTC))  # 21:50
    _events(deps, cid, CS.PICKED_UP, CS.OUT_FOR_DELIVERY, source="webhook")
    out = _messages(deps, cid)[-1]
    assert out.event == "out_for_delivery"
    deps.clock.set(datetime(2026, 3, 11, 2, 0, tzinfo=UTC))  # the gateway was down all night; 09:00 next day
    (item,) = [i for i in _sms_items(deps, cid) if i.payload["message_id"] == out.id]
    assert outbox.process(deps, item.id) == "done"
    assert _messages(deps, cid)[-1].status == SmsStatus.SKIPPED
    assert [m.event for m in deps.sms.sent] == ["booked"]


def test_a_purged_number_is_never_sent_to():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    message = _messages(deps, cid)[0]
    store_of(deps).tables["sms_messages"][message.id].phone = ""  # what the retention purge leaves
    (item,) = _sms_items(deps, cid)
    assert outbox.process(deps, item.id) == "done"
    assert deps.sms.sent == []
    assert "purged" in _messages(deps, cid)[0].error


def test_result_ready_early_only_before_the_appointment_and_once():
    deps = _deps()
    caller = seed_caller(deps)
    cid = _booked(deps, caller, return_command(appointment_date=date(2026, 3, 20)))
    with deps.uow() as uow:
        c = uow.consignments.get(cid)
        on_the_day = sms.queue_result_ready_early(uow, deps, c, ready_at=datetime(2026, 3, 20, 1, 0, tzinfo=UTC))
        assert on_the_day is None and [m.event for m in _messages(deps, cid)] == ["booked"]
        first = sms.queue_result_ready_early(uow, deps, c, ready_at=DAY)
        again = sms.queue_result_ready_early(uow, deps, c, ready_at=DAY)
        uow.commit()
    assert first is not None and again is None
    early = [m for m in _messages(deps, cid) if m.event == "result_ready_early"]
    assert len(early) == 1 and "som hon ngay hen 20/03." in early[0].text


def test_delivery_reports_update_the_status_and_nothing_else():
    deps = _deps()
    cid = _booked(deps, seed_caller(deps))
    (item,) = _sms_items(deps, cid)
    outbox.process(deps, item.id)

    def report(body, secret=SECRET, gateway="recording"):
        req = SmsReportRequest(method="POST", query={}, body=json.dumps(body).encode(), content_type="application/json")
        return sms.receive_report(deps, gateway, secret, req)

    commits = store_of(deps).commits
    assert report({"id": "rec-1", "status": "delivered"}, secret="wrong-secret-0123456789")[0] == 404
    assert report({"id": "rec-1", "status": "delivered"}, gateway="esms")[0] == 404
    assert store_of(deps).commits == commits  # refused before anything
    bad = sms.receive_report(deps, "recording", SECRET, SmsReportRequest("POST", {}, b"<xml/>", "text/xml"))
    assert bad[0] == 400
    assert report({"id": "never-sent", "status": "delivered"}) == (200, {"ok": True, "updated": 0})
    assert _messages(deps, cid)[0].status == SmsStatus.SENT
    assert report({"id": "rec-1", "status": "delivered"}) == (200, {"ok": True, "updated": 1})
    delivered = _messages(deps, cid)[0]
    assert delivered.status == SmsStatus.DELIVERED and delivered.delivered_at == deps.clock.now()
    assert report({"id": "rec-1", "status": "failed"}) == (200, {"ok": True, "updated": 0})  # final stays final
    assert _messages(deps, cid)[0].status == SmsStatus.DELIVERED


def test_no_secret_configured_accepts_no_reports():
    deps = _deps(sms_callback_secret="")
    req = SmsReportRequest("POST", {}, b'{"id": "x", "status": "delivered"}', "application/json")
    assert sms.receive_report(deps, "recording", "", req)[0] == 404


def test_preview_shows_every_message_of_an_unsaved_consignment():
    from postal_bridge.services.consignments import _build

    deps = _deps()
    caller = seed_caller(deps)
    c = _build(deps, caller, return_command())[0]
    previews = sms.preview_sms(deps, c)
    assert [p.event for p in previews] == [
        "booked",
        "out_for_delivery",
        "delivery_failed",
        "available_for_pickup",
        "delivered",
        "returned_to_agency",
    ]
    for p in previews:
        assert p.length == sms_length(p.text)
        assert (p.length.encoding, p.length.parts, p.skip_reason) == ("gsm7", 1, None)
        assert f"/t/{c.tracking_token}" in p.text
    assert _messages(deps) == []  # nothing stored

    landline = _build(deps, caller, return_command(citizen_phone="024 3825 3536"))[0]
    assert {p.skip_reason for p in sms.preview_sms(deps, landline)} == {
        "the citizen's number cannot receive SMS (a landline)"
    }
    waiting = _build(
        deps, caller, return_command(options={"awaiting_result": True}, appointment_date=date(2026, 4, 1))
    )[0]
    assert "result_ready_early" in [p.event for p in sms.preview_sms(deps, waiting)]


def test_pickups_get_their_own_wording_and_transfers_none():
    deps = _deps()
    caller = seed_caller(deps)
    pickup = _booked(deps, caller, return_command(kind="pickup", appointment_date=date(2026, 3, 25)))
    (booked,) = _messages(deps, pickup)
    assert "Buu dien se den nhan ho so tai dia chi cua ban" in booked.text
    _events(deps, pickup, CS.PICKED_UP, CS.IN_TRANSIT, CS.DELIVERED)
    delivered = _messages(deps, pickup)[-1]
    assert delivered.event == "delivered" and "co quan giai quyet" in delivered.text and "25/03" in delivered.text
    transfer = _booked(deps, caller, return_command(kind="transfer"))
    assert _messages(deps, transfer) == []


def test_agency_settings_are_validated():
    deps = _deps()
    caller = seed_caller(deps)
    with pytest.raises(ValidationFailed) as exc:
        sms.configure_sms(
            deps, agency_code=caller.agency.code, values={"sender": "Trung tâm HCC", "hotline": "12", "x": "1"}
        )
    assert set(exc.value.errors) == {"sender", "hotline", "x"}
    stored = sms.configure_sms(
        deps, agency_code=caller.agency.code, values={"sender": "HCCHN", "hotline": "0243 825 3536"}
    )
    assert (stored.sender, stored.hotline) == ("HCCHN", "+842438253536")
    cid = _booked(deps, caller)
    assert _messages(deps, cid)[0].text.startswith("HCCHN: ")
