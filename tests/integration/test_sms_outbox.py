"""SMS through the real database, Redis and rq workers to the fake eSMS gateway on loopback: sent once even when the
job runs twice, deferred by quiet hours and sent at 07:00, delivery reports over HTTP, the early-result notice,
the SQL repository and the sms-settings command."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.dossier_events import DossierEventCommand
from postal_bridge.domain.model import OutboxKind
from postal_bridge.domain.sms import SmsMessage, SmsStatus
from postal_bridge.services import agencies, consignments, dossiers, outbox, sms, tracking
from tests.conftest import ManualClock, drain, register_hanoi
from tests.fakes import esms as fake_esms
from tests.fakes.server import LoopbackServer
from tests.integration.test_cli import _cli

DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
SECRET = "cb-secret-0123456789abcdef"


@pytest.fixture
def esms_fake():
    fake = fake_esms.FakeEsms(timeout_seconds=1.0)
    with LoopbackServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def world(settings, esms_fake):
    from postal_bridge.bootstrap import build
    from workers import runtime

    fake, server = esms_fake
    s = replace(
        settings,
        sms_gateway="esms",
        sms_base_url=server.url,
        sms_api_key=fake_esms.API_KEY,
        sms_secret_key=fake_esms.SECRET_KEY,
        sms_brandname=fake_esms.BRANDNAME,
        sms_callback_secret=SECRET,
    )
    clock = ManualClock(DAY)
    c = build(s, clock=clock)
    runtime.install(c)
    register_hanoi(c.deps)
    issued = agencies.create_api_key(c.deps, agency_code="HCC-HN", name="one-stop")
    caller = agencies.authenticate(c.deps, issued.api_key)
    yield {"c": c, "clock": clock, "fake": fake, "server": server, "caller": caller}
    runtime.install(None)
    c.close()


def _create(world, **kw) -> str:
    values = {
        "kind": "return",
        "carrier": "sandbox",
        "service": "standard",
        "citizen_name": "Nguyễn Thị Hằng",
        "citizen_phone": "0912 345 678",
        "address_line": "Số 12 ngõ 34 phố Láng Hạ",
        "ward_code": "00004",
        "province_code": "01",
        "weight_g": 250,
        "contents": "Phiếu lý lịch tư pháp",
        "dossier_code": "000.00.12.H56-261115-0007",
    }
    values.update(kw)
    stored = consignments.create_consignment(
        world["c"].deps,
        world["caller"],
        CreateConsignment(**values),
        idempotency_key=uuid.uuid4().hex,
        fingerprint="f",
        render=lambda x: x.id,
    )
    return stored.body


def _messages(world, cid) -> list[SmsMessage]:
    return sms.messages_of(world["c"].deps, cid)


def _sms_rows(world, cid) -> list[dict]:
    from sqlalchemy import select

    from postal_bridge.storage.tables import outbox as table

    q = select(table.c.id, table.c.state, table.c.next_attempt_at, table.c.attempts).where(
        table.c.consignment_id == cid, table.c.kind == OutboxKind.SEND_SMS.value
    )
    with world["c"].engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(table.c.id))]


def _ledger(world) -> list[dict]:
    return requests.get(f"{world['server'].url}/__fake/messages", timeout=5).json()


def test_the_booked_notice_goes_out_once_with_our_id_as_request_id(world):
    cid = _create(world)
    drain(world["c"])  # book, label, SMS
    (message,) = _messages(world, cid)
    (entry,) = _ledger(world)
    assert message.status == SmsStatus.SENT and message.gateway == "esms"
    assert message.gateway_message_id == entry["gateway_id"]
    assert entry["request_id"] == message.id
    assert entry["content"] == message.text and entry["phone"] == "0912345678" and entry["sandbox"] is True
    assert entry["callback_url"] == f"http://pb.test/webhooks/sms/esms/{SECRET}"
    assert entry["extra"]["SmsType"] == "2" and entry["extra"]["IsUnicode"] == "0"

    # The job runs again (a relay after a lost completion, a duplicated wake-up): nothing is sent twice.
    (row,) = _sms_rows(world, cid)
    with world["c"].engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET state = 'pending' WHERE id = :i"), {"i": row["id"]})
    from workers.jobs import run_outbox

    assert run_outbox(row["id"]) == "done"
    assert run_outbox(row["id"]) == "skipped"
    assert len(_ledger(world)) == 1


def test_an_answer_lost_after_the_gateway_took_the_message_is_retried_and_sent_once(world):
    requests.post(
        f"{world['server'].url}/__fake/faults", json={"op": "send", "kind": "reset", "after_commit": True}, timeout=5
    )
    cid = _create(world)
    drain(world["c"])
    (message,) = _messages(world, cid)
    assert (message.status, message.error) == (SmsStatus.QUEUED, "transport error (ChunkedEncodingError)")
    world["clock"].advance(30)
    outbox.relay_due(world["c"].deps)
    drain(world["c"])
    (message,) = _messages(world, cid)
    assert message.status == SmsStatus.SENT
    assert len(_ledger(world)) == 1  # eSMS refused the second request id as a duplicate


def test_a_change_at_night_is_sent_at_seven_in_the_morning(world):
    clock = world["clock"]
    clock._now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 22:30 in Hà Nội
    cid = _create(world)
    drain(world["c"])
    (row,) = _sms_rows(world, cid)
    seven = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert row["state"] == "pending" and row["next_attempt_at"] == seven
    clock.advance(3600)
    outbox.relay_due(world["c"].deps)
    drain(world["c"])
    assert _ledger(world) == []
    clock._now = seven
    outbox.relay_due(world["c"].deps)
    drain(world["c"])
    assert len(_ledger(world)) == 1
    assert _messages(world, cid)[0].status == SmsStatus.SENT


def test_a_retry_that_falls_due_at_night_is_put_back_to_seven(world):
    clock = world["clock"]
    clock._now = datetime(2026, 3, 10, 14, 59, 50, tzinfo=UTC)  # 21:59:50
    requests.post(f"{world['server'].url}/__fake/faults", json={"op": "send", "kind": "http500"}, timeout=5)
    cid = _create(world)
    drain(world["c"])
    assert _messages(world, cid)[0].error == "HTTP 500"
    clock.advance(60)  # 22:00:50: the retry is due, the relay wakes it
    assert outbox.relay_due(world["c"].deps) >= 1
    drain(world["c"])
    assert _ledger(world) == []
    (row,) = _sms_rows(world, cid)
    assert row["state"] == "pending" and row["next_attempt_at"] == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    clock._now = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    outbox.relay_due(world["c"].deps)
    drain(world["c"])
    assert len(_ledger(world)) == 1


def test_delivery_reports_over_http(world):
    from postal_bridge import create_app

    cid = _create(world)
    drain(world["c"])
    (entry,) = _ledger(world)
    with LoopbackServer(create_app(container=world["c"])) as web:
        hook = f"{web.url}/webhooks/sms/esms/{SECRET}"
        assert requests.get(hook, params={"SMSID": "never-sent", "SendStatus": "5", "SendSuccess": "1"}).json() == {
            "ok": True,
            "updated": 0,
        }
        assert requests.get(hook, params={"SendStatus": "5"}).status_code == 400
        report = {"SMSID": entry["gateway_id"], "SendStatus": "5", "SendSuccess": "1"}
        assert requests.get(f"{web.url}/webhooks/sms/esms/wrong-secret-0123456789", params=report).status_code == 404
        assert requests.get(f"{web.url}/webhooks/sms/speedsms/{SECRET}", params=report).status_code == 404
        assert _messages(world, cid)[0].status == SmsStatus.SENT  # nothing changed so far

        pending = requests.post(
            f"{world['server'].url}/__fake/messages/{entry['gateway_id']}/report",
            json={"status": "pending", "base": web.url},
            timeout=10,
        ).json()
        assert pending["answer"] == 200 and _messages(world, cid)[0].status == SmsStatus.SENT
        done = requests.post(
            f"{world['server'].url}/__fake/messages/{entry['gateway_id']}/report",
            json={"status": "delivered", "base": web.url},
            timeout=10,
        ).json()
        assert done["answer"] == 200
    (message,) = _messages(world, cid)
    assert message.status == SmsStatus.DELIVERED and message.delivered_at == world["clock"].now()


def test_a_result_ready_before_its_appointment_is_announced_then_booked(world):
    cid = _create(world, options={"awaiting_result": True}, appointment_date=date(2026, 3, 20))
    drain(world["c"])
    assert _messages(world, cid) == []  # nothing booked yet: nothing to tell
    dossiers.receive_event(
        world["c"].deps, world["caller"], "000.00.12.H56-261115-0007", DossierEventCommand(type="result_ready")
    )
    drain(world["c"])
    events = [(m.event, m.status) for m in _messages(world, cid)]
    assert events == [("result_ready_early", SmsStatus.SENT), ("booked", SmsStatus.SENT)]
    assert "som hon ngay hen 20/03" in _ledger(world)[0]["content"]
    dossiers.receive_event(  # sent twice by the dossier system: announced once
        world["c"].deps, world["caller"], "000.00.12.H56-261115-0007", DossierEventCommand(type="result_ready")
    )
    assert len(_messages(world, cid)) == 2


def test_the_sandbox_return_sends_one_message_per_templated_change(world):
    cid = _create(world, options={"sandbox_scenario": "returned"})
    drain(world["c"])
    for _ in range(8):
        world["clock"].advance(world["c"].settings.sandbox_step_seconds + 1)
        tracking.poll_due(world["c"].deps)
        drain(world["c"])
    events = [m.event for m in _messages(world, cid)]
    assert events == ["booked", "out_for_delivery", "delivery_failed", "available_for_pickup", "returned_to_agency"]
    assert [e["content"] for e in _ledger(world)] == [m.text for m in _messages(world, cid)]


def test_the_sql_repository_counts_dedupes_and_moves_statuses_conditionally(world):
    c = world["c"]
    cid = _create(world)
    now = world["clock"].now()

    def msg(mid, **kw) -> SmsMessage:
        base = {"phone": "+84987650123", "text": "t", "event": "booked", "created_at": now, "scheduled_at": now}
        return SmsMessage(id=mid, consignment_id=cid, **{**base, **kw})

    with c.deps.uow() as uow:
        assert uow.sms.add(msg("m1", dedupe_key="k1"))
        assert not uow.sms.add(msg("m2", dedupe_key="k1"))  # the key is taken; the transaction goes on
        assert uow.sms.add(msg("m3", event="otp"))
        assert uow.sms.add(msg("m4", status=SmsStatus.SKIPPED))
        assert uow.sms.add(msg("m5", created_at=now - timedelta(hours=25)))
        assert uow.sms.add(msg("m6", event="delivered"))
        uow.commit()
    with c.deps.uow() as uow:
        assert uow.sms.count_recent("+84987650123", since=now - timedelta(hours=24), exclude_events=("otp",)) == 2
        assert uow.sms.apply_report("m1", status=SmsStatus.DELIVERED, error=None, at=now)
        uow.sms.mark_sent("m1", gateway="esms", gateway_message_id="G1", at=now)  # a report came first
        assert not uow.sms.settle("m1", status=SmsStatus.FAILED, error="x", at=now)
        assert uow.sms.settle("m6", status=SmsStatus.FAILED, error="CodeResult 99", at=now)
        assert not uow.sms.apply_report("m6", status=SmsStatus.DELIVERED, error=None, at=now)
        uow.commit()
    with c.deps.uow() as uow:
        m1 = uow.sms.get("m1")
        assert (m1.status, m1.gateway_message_id) == (SmsStatus.DELIVERED, "G1")
        assert uow.sms.by_gateway_id("esms", "G1").id == "m1"
        assert uow.sms.get("m6").status == SmsStatus.FAILED
        # The retention purge erases the numbers the messages went to.
        uow.audit.erase_personal_data([cid], at=now)
        uow.commit()
    with c.deps.uow() as uow:
        assert {m.phone for m in uow.sms.for_consignment(cid)} == {""}


def test_the_sms_settings_command(clean_db, tmp_path):
    env = {"POSTAL_BRIDGE_DATABASE_URL": clean_db}
    assert _cli(["migrate"], env, tmp_path).returncode == 0
    assert _cli(["seed-demo"], env, tmp_path).returncode == 0
    stored = _cli(["sms-settings", "--agency", "HCC-HN", "sender=HCCHANOI", "hotline=024 3825 3536"], env, tmp_path)
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.strip() == "HCC-HN\tenabled\tsender=HCCHANOI\thotline=+842438253536"
    off = _cli(["sms-settings", "--agency", "HCC-HN", "enabled=0"], env, tmp_path)
    assert off.stdout.strip().split("\t")[1] == "disabled"
    bad = _cli(["sms-settings", "--agency", "HCC-HN", "sender=Trung tâm HCC Hà Nội"], env, tmp_path)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "sender" in bad.stderr.lower()
