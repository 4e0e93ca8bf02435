"""The citizen's tracking page and its actions on the real database and Redis, with the fake eSMS gateway on loopback
receiving the one-time codes (read back from its ledger, as a phone would).

A return for Nguyễn Thị Hằng (0912 345 678, Số 12 ngõ 34 phố Láng Hạ, Phường Ba Đình, Hà Nội) is created and booked
through the services; the pages are driven with Flask's test client, CSRF tokens included.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import pytest
import requests
from sqlalchemy import select

from postal_bridge.domain.citizen import Action, RequestStatus
from postal_bridge.domain.commands import CreateConsignment, CreateHandover
from postal_bridge.domain.consignment import Consignment, Source
from postal_bridge.domain.outcomes import set_citizen_id
from postal_bridge.domain.scans import ScanInput
from postal_bridge.domain.sla import local_date
from postal_bridge.domain.status import Status
from postal_bridge.services import accounts, agencies, consignments, handovers, privacy, scans, tracking
from postal_bridge.services.clerk_scope import clerk_caller
from postal_bridge.storage import tables as t
from postal_bridge.storage.post_offices import load_csv
from tests.conftest import ManualClock, drain, form_token, register_hanoi
from tests.fakes import esms as fake_esms
from tests.fakes.server import LoopbackServer

DAY = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # Monday 16/11/2026, 08:30 in Hà Nội
DEMO = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
HN_OFFICE = "DEMO-HN-02"  # serves 00004
NAME, PHONE, LINE = "Nguyễn Thị Hằng", "0912345678", "Số 12 ngõ 34 phố Láng Hạ"
CODE_IN_SMS = re.compile(r"Ma xac thuc cua ban la ([0-9]{6})")
VOLATILE = re.compile(r'(name="csrf_token" value=")[^"]+|(\?v=)[0-9a-f]+')


def create_return(deps, caller) -> str:
    """A sandbox return to the citizen of these tests; returns its id (the browser test uses it too)."""
    key = str(uuid.uuid4())
    cmd = CreateConsignment(
        kind="return",
        carrier="sandbox",
        service="standard",
        citizen_name=NAME,
        citizen_phone=PHONE,
        address_line=LINE,
        ward_code="00004",
        province_code="01",
        weight_g=250,
        contents="Phiếu lý lịch tư pháp",
        dossier_code="000.00.12.H56-261115-0007",
    )
    return consignments.create_consignment(
        deps, caller, cmd, idempotency_key=key, fingerprint=key, render=lambda c: c.id
    ).body


@dataclass
class World:
    container: object
    clock: ManualClock
    gateway: LoopbackServer
    app: object
    hn: agencies.Caller

    @property
    def deps(self):
        return self.container.deps

    def create(self, *, booked: bool = True) -> Consignment:
        cid = create_return(self.deps, self.hn)
        if booked:
            drain(self.container)
        return self.get(cid)

    def get(self, cid: str) -> Consignment:
        with self.deps.uow() as uow:
            c = uow.consignments.get(cid)
        assert c is not None
        return c

    def move(self, cid: str, *statuses: Status) -> Consignment:
        """Move a consignment along as the post would (scans), without going through the clerk's scope rules."""
        with self.deps.uow() as uow:
            c = uow.consignments.get(cid)
            assert c is not None
            for s in statuses:
                c.transition(s, occurred_at=self.clock.now(), source=Source.SCAN, actor="user:test")
            uow.consignments.save(c)
            uow.commit()
        self.clock.advance(60)
        return self.get(cid)

    def codes(self) -> list[str]:
        """The one-time codes the citizen's phone received, oldest first."""
        drain(self.container)
        codes = []
        for message in self.ledger():
            found = CODE_IN_SMS.search(message["content"])
            if found and message["phone"] == PHONE:
                codes.append(found.group(1))
        return codes

    def ledger(self) -> list[dict]:
        """What the fake gateway received, from its control plane."""
        return requests.get(f"{self.gateway.url}/__fake/messages", timeout=5).json()

    def requests(self, cid: str) -> list[dict]:
        with self.container.engine.connect() as conn:
            q = select(t.citizen_requests).where(t.citizen_requests.c.consignment_id == cid)
            return [dict(r) for r in conn.execute(q.order_by(t.citizen_requests.c.created_at)).mappings()]

    def audit(self, cid: str) -> list[dict]:
        with self.container.engine.connect() as conn:
            q = select(t.audit_log).where(t.audit_log.c.subject == f"consignment:{cid}").order_by(t.audit_log.c.id)
            return [dict(r) for r in conn.execute(q).mappings()]


@pytest.fixture
def world(settings):
    from postal_bridge import create_app
    from postal_bridge.bootstrap import build
    from workers import runtime

    fake = fake_esms.FakeEsms()
    with LoopbackServer(fake.app) as gateway:
        s = replace(
            settings,
            sms_gateway="esms",
            sms_base_url=gateway.url,
            sms_api_key=fake_esms.API_KEY,
            sms_secret_key=fake_esms.SECRET_KEY,
            sms_brandname=fake_esms.BRANDNAME,
        )
        clock = ManualClock(DAY)
        container = build(s, clock=clock)
        runtime.install(container)
        try:
            register_hanoi(container.deps)
            for office in load_csv(DEMO.read_text(encoding="utf-8")):
                container.deps.post_offices.upsert(office)
            issued = agencies.create_api_key(container.deps, agency_code="HCC-HN", name="one-stop")
            hn = agencies.authenticate(container.deps, issued.api_key)
            yield World(container, clock, gateway, create_app(container=container), hn)
        finally:
            runtime.install(None)
            container.close()


def _page(client, path: str):
    answer = client.get(path)
    return answer, answer.get_data(as_text=True)


def _post(client, path: str, data: dict, *, token_from: str):
    return client.post(path, data={**data, "csrf_token": form_token(client, token_from)})


def _verify(w: World, client, c: Consignment, action: Action = Action.RESCHEDULE) -> None:
    """Ask for a code and enter it: the browser may then make this change for ten minutes."""
    base = f"/t/{c.tracking_token}"
    sent = _post(client, f"{base}/code", {"action": action.value}, token_from=base)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"{base}/verify?action={action.value}")
    code = w.codes()[-1]
    ok = _post(client, f"{base}/verify", {"action": action.value, "code": code}, token_from=base)
    assert ok.status_code == 303 and ok.headers["Location"].endswith(f"{base}/{action.value}")


# ------------------------------------------------------------------------------------------------------ the page


def test_unknown_and_expired_links_get_the_same_404_page_and_a_live_one_200(world: World) -> None:
    w = world
    live, finished, purged = w.create(), w.create(), w.create()
    consignments.cancel_consignment(w.deps, w.hn, finished.id, reason="Công dân nhận tại quầy")
    client = w.app.test_client()
    assert client.get(f"/t/{live.tracking_token}").status_code == 200
    cancelled, html = _page(client, f"/t/{finished.tracking_token}")
    assert cancelled.status_code == 200 and "Đã hủy" in html  # within 90 days of its end: still shown
    with w.deps.uow() as uow:
        uow.audit.erase_personal_data([purged.id], at=w.clock.now())
        uow.commit()

    w.clock.advance(timedelta(days=91).total_seconds())
    answers = {
        "unknown": client.get("/t/AAAAAAAAAAA"),
        "unknown-long": client.get("/t/" + "x" * 60),
        "expired": client.get(f"/t/{finished.tracking_token}"),
        "purged": client.get(f"/t/{purged.tracking_token}"),
    }
    assert {k: a.status_code for k, a in answers.items()} == dict.fromkeys(answers, 404)
    bodies = {a.get_data() for a in answers.values()}
    assert len(bodies) == 1  # byte for byte the same page
    assert "Không tìm thấy bưu gửi" in answers["unknown"].get_data(as_text=True)
    for sub in ("/verify?action=reschedule", "/reschedule", "/hold", "/address"):
        dead = [client.get(f"/t/{tok}{sub}") for tok in ("AAAAAAAAAAA", finished.tracking_token)]
        if sub == "/verify?action=reschedule":
            assert [d.status_code for d in dead] == [404, 404] and dead[0].get_data() == dead[1].get_data()
        else:  # no code was entered in this browser: the way to one, the same for any link
            assert [d.status_code for d in dead] == [303, 303]
    token = form_token(client, f"/t/{live.tracking_token}")
    refused = client.post("/t/AAAAAAAAAAA/code", data={"action": "reschedule", "csrf_token": token})
    assert refused.status_code == 404 and refused.get_data() == next(iter(bodies))
    assert client.get(f"/t/{live.tracking_token}").status_code == 200  # an open item's link never expires


def test_the_page_shows_status_words_timeline_and_only_masked_personal_data(world: World) -> None:
    w = world
    c = w.create()
    with w.deps.uow() as uow:
        row = uow.consignments.get(c.id)
        assert row is not None
        set_citizen_id(row, "cccd", "7391")
        uow.consignments.save(row)
        uow.commit()
    answer, html = _page(w.app.test_client(), f"/t/{c.tracking_token}")
    assert answer.status_code == 200
    assert "Đã tạo bưu gửi" in html and "Đã đăng ký gửi" in html  # status in words and the timeline
    assert "16/11/2026" in html and "08:30" in html  # local time (UTC+7)
    assert "Nguyễn T. H." in html and "09xx xxx 678" in html and "Phường Ba Đình, Thành phố Hà Nội" in html
    assert "Trung tâm Phục vụ hành chính công Thành phố Hà Nội" in html and 'href="tel:02438253536"' in html
    due = w.get(c.id).due_date
    assert due is not None and due.strftime("%d/%m/%Y") in html  # the estimated delivery day
    assert "Nhận mã" in html and 'name="csrf_token"' in html
    text = VOLATILE.sub(r"\1\2", html)  # the CSRF token and cache-busting digests are random characters
    for value in (
        "0912345678",
        "0912 345 678",
        "+84912345678",
        "912345678",
        "345 678",
        LINE,
        "Láng Hạ",
        NAME,
        "Thị Hằng",
        "7391",
        c.id,
    ):
        assert value not in text, value
    english = w.app.test_client().get(f"/t/{c.tracking_token}?lang=en").get_data(as_text=True)
    assert "Booked with the post" in english and "Get a code" in english and 'lang="en"' in english
    assert f"/t/{c.tracking_token}?lang" not in html  # the language link never repeats the path


def test_tracking_pages_are_rate_limited_per_address_with_a_vietnamese_page(world: World) -> None:
    w = world
    c = w.create()
    client = w.app.test_client()
    statuses = [client.get(f"/t/{c.tracking_token}").status_code for _ in range(60)]
    assert statuses == [200] * 60
    limited = client.get("/t/AAAAAAAAAAA")  # the limit counts every /t/ page of the address together
    assert limited.status_code == 429
    body = limited.get_data(as_text=True)
    assert "Quá nhiều yêu cầu" in body and 'lang="vi"' in body and "Retry-After" in limited.headers
    other = w.app.test_client()
    assert other.get(f"/t/{c.tracking_token}", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(world: World) -> None:
    w = world
    c = w.create()
    client = w.app.test_client()
    client.get(f"/t/{c.tracking_token}")
    refused = client.post(f"/t/{c.tracking_token}/code", data={"action": "reschedule"})
    assert refused.status_code == 400
    assert w.codes() == []
    forged = client.post(f"/t/{c.tracking_token}/code", data={"action": "reschedule", "csrf_token": "forged"})
    assert forged.status_code == 400 and w.codes() == []


# ------------------------------------------------------------------------------------------------ one-time codes


def test_a_code_goes_by_sms_and_a_wrong_one_then_the_right_one_then_reuse(world: World, caplog) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    caplog.set_level(logging.DEBUG)
    sent = _post(client, f"{base}/code", {"action": "reschedule"}, token_from=base)
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "09xx xxx 678" in page and 'autocomplete="one-time-code"' in page and "5 phút" in page
    (code,) = w.codes()
    sms = w.ledger()[-1]
    assert sms["content"].startswith("HCCHANOI: Ma xac thuc cua ban la ") and sms["phone"] == PHONE
    wrong = "000000" if code != "000000" else "111111"

    refused = _post(client, f"{base}/verify", {"action": "reschedule", "code": wrong}, token_from=base)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Mã chưa đúng. Bạn còn 4 lần thử." in html and 'aria-describedby="code-hint code-error"' in html
    assert client.get(f"{base}/reschedule").status_code == 303  # still locked

    malformed = _post(client, f"{base}/verify", {"action": "reschedule", "code": "12"}, token_from=base)
    assert malformed.status_code == 422 and "đủ 6 chữ số" in malformed.get_data(as_text=True)

    spaced = f"{code[:3]} {code[3:]}"  # pasted with a space, as some phones show it
    ok = _post(client, f"{base}/verify", {"action": "reschedule", "code": spaced}, token_from=base)
    assert ok.status_code == 303 and ok.headers["Location"].endswith(f"{base}/reschedule")
    assert client.get(f"{base}/reschedule").status_code == 200

    again = _post(w.app.test_client(), f"{base}/verify", {"action": "reschedule", "code": code}, token_from=base)
    assert again.status_code == 422 and "đã được dùng" in again.get_data(as_text=True)

    other_action = _post(w.app.test_client(), f"{base}/verify", {"action": "hold", "code": code}, token_from=base)
    assert other_action.status_code == 422 and "Chưa có mã" in other_action.get_data(as_text=True)

    with w.container.engine.connect() as conn:
        stored = [dict(r) for r in conn.execute(select(t.otp_challenges)).mappings()]
    assert len(stored) == 1 and code not in str(stored)  # only a salted hash
    assert not any(code in r.getMessage() or code in str(r.__dict__) for r in caplog.records)
    actions = [(e["actor"], e["action"]) for e in w.audit(c.id) if e["action"].startswith("citizen.")]
    actor = actions[0][0]
    assert re.fullmatch(r"citizen:[0-9a-f]{12}", actor) and c.tracking_token not in actor
    assert [a for _, a in actions] == [
        "citizen.otp_sent",
        "citizen.otp_failed",
        "citizen.otp_verified",
        "citizen.otp_failed",
        "citizen.otp_failed",
    ]


def test_an_expired_code_and_too_many_tries_need_a_new_code(world: World) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    _post(client, f"{base}/code", {"action": "hold"}, token_from=base)
    (first,) = w.codes()
    w.clock.advance(5 * 60 + 1)
    expired = _post(client, f"{base}/verify", {"action": "hold", "code": first}, token_from=base)
    assert expired.status_code == 422 and "hết hạn" in expired.get_data(as_text=True)

    _post(client, f"{base}/code", {"action": "hold"}, token_from=base)
    second = w.codes()[-1]
    wrong = "000000" if second != "000000" else "111111"
    answers = [
        _post(client, f"{base}/verify", {"action": "hold", "code": wrong}, token_from=base).get_data(as_text=True)
        for _ in range(5)
    ]
    assert "Bạn còn 1 lần thử" in answers[3] and "quá 5 lần" in answers[4]
    late = _post(client, f"{base}/verify", {"action": "hold", "code": second}, token_from=base)
    assert late.status_code == 422 and "quá 5 lần" in late.get_data(as_text=True)
    assert client.get(f"{base}/hold").status_code == 303

    _post(client, f"{base}/code", {"action": "hold"}, token_from=base)  # a new code starts afresh
    third = w.codes()[-1]
    assert _post(client, f"{base}/verify", {"action": "hold", "code": third}, token_from=base).status_code == 303
    replaced = _post(w.app.test_client(), f"{base}/verify", {"action": "hold", "code": second}, token_from=base)
    assert replaced.status_code == 422


def test_code_requests_are_rate_limited_per_link(world: World) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    answers = []
    for i in range(6):  # from six addresses: the link's own limit still holds
        client = w.app.test_client()
        env = {"REMOTE_ADDR": f"10.0.0.{i + 1}"}
        page = client.get(base, environ_base=env).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        answers.append(
            client.post(
                f"{base}/code", data={"action": "reschedule", "csrf_token": token.group(1)}, environ_base=env
            ).status_code
        )
    assert answers == [303] * 5 + [429]
    assert len(w.codes()) == 5


# --------------------------------------------------------------------------------------------------- the actions


def test_reschedule_to_an_offered_day_is_a_request_for_the_counter_and_the_page_shows_it(world: World) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    locked = client.get(f"{base}/reschedule")
    assert locked.status_code == 303 and locked.headers["Location"].endswith(f"{base}#thay-doi")
    assert _post(client, f"{base}/reschedule", {"date": "2026-11-20"}, token_from=base).status_code == 403

    _verify(w, client, c, Action.RESCHEDULE)
    form = client.get(f"{base}/reschedule").get_data(as_text=True)
    offered = re.findall(r'name="date" value="([0-9-]+)"', form)
    assert len(offered) == 5 and all(date.fromisoformat(d).weekday() < 5 for d in offered)
    assert date.fromisoformat(offered[0]) >= w.get(c.id).due_date

    sunday = "2026-11-22"
    bad = _post(client, f"{base}/reschedule", {"date": sunday}, token_from=base)
    assert bad.status_code == 422 and "Hãy chọn một trong các ngày được đề xuất." in bad.get_data(as_text=True)
    assert w.requests(c.id) == []

    chosen = offered[2]
    done = _post(client, f"{base}/reschedule", {"date": chosen}, token_from=base)
    assert done.status_code == 303 and done.headers["Location"].endswith(base)
    page = client.get(base).get_data(as_text=True)
    assert date.fromisoformat(chosen).strftime("%d/%m/%Y") in page and "ngày bạn đã chọn" in page
    assert "Đã ghi nhận ngày phát bạn chọn" in page
    (request,) = w.requests(c.id)
    assert (request["kind"], request["status"], request["details"]) == ("reschedule", "open", {"date": chosen})
    entry = next(e for e in w.audit(c.id) if e["action"] == "citizen.reschedule")
    assert entry["actor"].startswith("citizen:") and entry["details"]["after"]["date"] == chosen
    assert entry["details"]["before"] is None
    assert w.get(c.id).status == Status.BOOKED and w.get(c.id).version == c.version  # the consignment is untouched

    _verify(w, client, c, Action.HOLD)
    hold_page = client.get(f"{base}/hold").get_data(as_text=True)
    assert "Giữ tại bưu cục này" in hold_page
    assert _post(client, f"{base}/hold", {}, token_from=base).status_code == 303
    kinds = [(r["kind"], r["status"]) for r in w.requests(c.id)]
    assert kinds == [("reschedule", "superseded"), ("hold", "open")]
    page = client.get(base).get_data(as_text=True)
    assert "Bưu gửi được giữ tại" in page and "ngày bạn đã chọn" not in page
    held = next(e for e in w.audit(c.id) if e["action"] == "citizen.hold")
    assert held["details"]["before"][0]["kind"] == "reschedule"


def test_an_address_change_is_only_a_request_and_never_shown_back(world: World) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    _verify(w, client, c, Action.ADDRESS)
    form = client.get(f"{base}/address").get_data(as_text=True)
    assert '<option value="00004" selected>' in form and "Số nhà, đường, thôn, tổ" in form
    empty = _post(client, f"{base}/address", {"line": "  ", "ward_code": "02215"}, token_from=base)
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Bắt buộc." in html and "Hãy chọn xã, phường trong danh sách." in html
    assert 'aria-describedby="line-error"' in html and w.requests(c.id) == []

    new_line = "Số 7 ngách 3 ngõ 15 phố Kim Mã"
    done = _post(client, f"{base}/address", {"line": new_line, "ward_code": "00004"}, token_from=base)
    assert done.status_code == 303
    (request,) = w.requests(c.id)
    assert request["kind"] == "address" and request["details"] == {"line": new_line, "ward_code": "00004"}
    after = w.get(c.id)
    assert after.citizen.address.line == LINE and after.version == c.version  # never a direct edit
    page = client.get(base).get_data(as_text=True)
    assert new_line not in page and "Kim Mã" not in page and "Yêu cầu đổi địa chỉ nhận" in page
    entry = next(e for e in w.audit(c.id) if e["action"] == "citizen.address")
    assert "Kim Mã" not in str(entry["details"])  # the audit log keeps the ward, never the street line

    admin = agencies.authenticate(
        w.deps, agencies.create_api_key(w.deps, agency_code="HCC-HN", name="province", admin=True).api_key
    )
    (exported,) = privacy.export_citizen(w.deps, admin, PHONE)["consignments"]
    assert exported["tracking_page_requests"][0]["details"]["line"] == new_line  # the citizen's own data

    with w.deps.uow() as uow:  # retention erasure removes the street line the citizen sent
        uow.audit.erase_personal_data([c.id], at=w.clock.now())
        uow.commit()
    assert w.requests(c.id)[0]["details"] == {"erased": True}


def test_every_action_is_closed_once_the_item_is_out_for_delivery(world: World) -> None:
    w = world
    c = w.create()
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    _verify(w, client, c, Action.RESCHEDULE)  # verified while it was still possible
    token = form_token(client, base)
    w.move(c.id, Status.PICKED_UP, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY)

    page = client.get(base).get_data(as_text=True)
    assert "Đang phát" in page and "Nhận mã" not in page and 'name="action"' not in page
    assert "không thể thay đổi trên trang này" in page
    for path, data in (
        (f"{base}/code", {"action": "hold"}),
        (f"{base}/reschedule", {"date": "2026-11-20"}),
        (f"{base}/verify", {"action": "reschedule", "code": "123456"}),
    ):
        answer = client.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 409, path
        assert "không thể thay đổi" in answer.get_data(as_text=True)
    assert client.get(f"{base}/reschedule").status_code == 409
    assert client.get(f"{base}/verify?action=hold").status_code == 409
    assert w.requests(c.id) == [] and len(w.codes()) == 1

    w.move(c.id, Status.DELIVERED)
    finished = client.get(base).get_data(as_text=True)
    assert "Đã phát thành công" in finished and "Bưu gửi đã kết thúc" in finished


# ------------------------------------------------------------------------------------------------ postman's phone


def test_the_postmans_phone_shows_on_the_delivery_day_only(world: World) -> None:
    w = world
    user, _ = accounts.create_user(
        w.deps, username="nvbc.badinh", role="clerk", post_office_code=HN_OFFICE, phone="0912 000 111"
    )
    clerk = clerk_caller(user)
    c = w.create()
    handovers.create_handover(w.deps, w.hn, CreateHandover("to_post", (c.id,)))
    base = f"/t/{c.tracking_token}"
    client = w.app.test_client()
    assert "Gọi bưu tá" not in client.get(base).get_data(as_text=True)
    code = w.get(c.id).tracking_code
    scans.ingest_scans(w.deps, clerk, [ScanInput(str(uuid.uuid4()), code, w.clock.now(), "out_for_delivery", None)])
    assert w.get(c.id).status == Status.OUT_FOR_DELIVERY
    page = client.get(base).get_data(as_text=True)
    assert "Gọi bưu tá: 0912 000 111" in page and 'href="tel:0912000111"' in page

    w.clock.advance(timedelta(days=1).total_seconds())  # still out the next morning: yesterday's number is gone
    assert "0912 000 111" not in client.get(base).get_data(as_text=True)


def test_a_courier_event_carrying_the_employee_phone_feeds_the_page(world: World) -> None:
    from adapters.carriers.viettelpost.mapper import format_vtp_time, parse_event

    w = world
    c = w.move(w.create().id, Status.PICKED_UP, Status.IN_TRANSIT)
    now = w.clock.now()
    data = {
        "ORDER_NUMBER": c.tracking_code,
        "ORDER_STATUS": 500,
        "ORDER_STATUSDATE": format_vtp_time(now),
        "STATUS_NAME": "Giao bưu tá đi phát",
        "EMPLOYEE_NAME": "Nguyễn Văn Bưu",
        "EMPLOYEE_PHONE": "0987111222",
    }
    event = parse_event(data, source="poll", now=now)
    assert event.courier_phone == "0987111222"
    assert tracking.record_tracking_events(w.deps, c.id, [event]) == 1
    assert w.get(c.id).status == Status.OUT_FOR_DELIVERY
    assert local_date(now) == date(2026, 11, 16)
    page = w.app.test_client().get(f"/t/{c.tracking_token}").get_data(as_text=True)
    assert "Gọi bưu tá: 0987 111 222" in page
    with w.container.engine.connect() as conn:
        (row,) = conn.execute(select(t.postman_contacts)).mappings()
    assert (row["consignment_id"], row["phone"], row["source"]) == (c.id, "+84987111222", "viettelpost")


# --------------------------------------------------------------------------------------------------- the counter


def test_the_counter_sees_its_agencys_open_requests_and_marks_them_handled(world: World) -> None:
    w = world
    c = w.create()
    citizen_client = w.app.test_client()
    _verify(w, citizen_client, c, Action.RESCHEDULE)
    base = f"/t/{c.tracking_token}"
    offered = re.findall(r'name="date" value="([0-9-]+)"', citizen_client.get(f"{base}/reschedule").get_data(True))
    _post(citizen_client, f"{base}/reschedule", {"date": offered[0]}, token_from=base)
    agencies.register_agency(
        w.deps,
        code="HCC-TQ",
        name="Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        phone="02073822222",
        line="Số 1 đường Tân Trào",
        ward_code="02215",
        province_code="08",
    )
    password = "mật khẩu đủ dài"
    accounts.create_user(w.deps, username="hoa", role="counter", agency_code="HCC-HN", password=password)
    accounts.create_user(w.deps, username="lan", role="counter", agency_code="HCC-TQ", password=password)
    (request,) = w.requests(c.id)

    def signed_in(username: str):
        client = w.app.test_client()
        client.post("/login", data={"username": username, "password": password, "csrf_token": form_token(client)})
        return client

    other = signed_in("lan")
    listed = other.get("/counter/requests").get_data(as_text=True)
    assert "Không có yêu cầu nào đang chờ." in listed and c.tracking_code not in listed
    stranger = other.post(
        f"/counter/requests/{request['id']}/handled", data={"csrf_token": form_token(other, "/counter/requests")}
    )
    assert stranger.status_code == 404 and w.requests(c.id)[0]["status"] == "open"

    staff = signed_in("hoa")
    page = staff.get("/counter/requests")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and c.tracking_code in html and NAME in html and "Đổi ngày phát" in html
    assert 'href="/counter/requests" aria-current="page"' in html  # the navigation entry
    token = form_token(staff, "/counter/requests")
    too_long = staff.post(f"/counter/requests/{request['id']}/handled", data={"note": "x" * 501, "csrf_token": token})
    assert too_long.status_code == 422 and "Tối đa 500 ký tự." in too_long.get_data(as_text=True)
    done = staff.post(
        f"/counter/requests/{request['id']}/handled",
        data={"note": "Đã báo Bưu cục Ba Đình", "csrf_token": token},
    )
    assert done.status_code == 303
    row = w.requests(c.id)[0]
    assert (row["status"], row["handled_by"], row["note"]) == ("handled", "user:hoa", "Đã báo Bưu cục Ba Đình")
    assert row["handled_at"] == w.clock.now()
    after = staff.get("/counter/requests").get_data(as_text=True)
    assert "Không có yêu cầu nào đang chờ." in after and "Đã báo Bưu cục Ba Đình" in after
    entry = next(e for e in w.audit(c.id) if e["action"] == "citizen_request.handled")
    assert entry["actor"] == "user:hoa" and entry["details"]["before"] == {"status": RequestStatus.OPEN.value}
    twice = staff.post(f"/counter/requests/{request['id']}/handled", data={"csrf_token": token})
    assert twice.status_code == 303 and w.requests(c.id)[0]["handled_by"] == "user:hoa"
    assert "đã được xử lý trước đó" in staff.get("/counter/requests").get_data(as_text=True)
    citizen_page = citizen_client.get(base).get_data(as_text=True)
    assert "Đã xử lý" in citizen_page
