"""The outbox page explains each error in Vietnamese (English on request), keeps the technical text folded away, and
never shows the item's citizen: real failures produced by our code paths — a courier answering 500 until the budget
is spent, a courier whose refusal echoes the citizen's name, phone and street, the webhook sender and the courier HTTP
client meeting 500, 429, 410, redirects, bad JSON and a closed port — on the real database and Redis."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from flask import Flask, jsonify, redirect
from sqlalchemy import select, update

from adapters.carriers.base import CarrierEnv
from adapters.carriers.http import CarrierHttp
from adapters.carriers.sandbox import SandboxCarrier
from adapters.dossier.webhook import HttpWebhookSender
from postal_bridge.domain.carriers import CarrierError, InvalidState
from postal_bridge.domain.commands import CreateConsignment
from postal_bridge.domain.model import OutboxItem, OutboxKind, OutboxState
from postal_bridge.domain.webhooks import WebhookDelivery, new_webhook_secret
from postal_bridge.services import accounts, agencies, consignments, outbox, webhooks_admin
from postal_bridge.storage import tables as t
from postal_bridge.web.admin.outbox_errors import explain
from tests.conftest import drain, form_token, installed_container, register_hanoi
from tests.fakes.server import LoopbackServer

PASSWORD = "mật khẩu quản trị đủ dài"
NAME = "Lê Thị Thanh Hương"
PHONE = "0987654321"
STREET = "Số 27 ngõ 58 phố Trần Quốc Hoàn"


def _courier_app(state: dict) -> Flask:
    """A courier's API on loopback: ``/orders`` answers 500 while ``state["down"]``; ``/cancel`` refuses, echoing the
    citizen's details in its message as couriers do ("đơn của <tên> … đã lấy hàng")."""
    app = Flask("fake-courier")

    @app.post("/orders")
    def orders():
        if state["down"]:
            return "<html>Internal Server Error</html>", 500
        return jsonify(ok=True)

    @app.post("/cancel")
    def cancel():
        return jsonify(message=f"Không thể hủy: bưu tá đã lấy hàng của {NAME.upper()}, ĐT {PHONE}, {STREET}"), 400

    @app.post("/status/<int:code>")
    def status(code: int):
        if code in (301, 302):
            return redirect("/elsewhere", code=code)
        return "{}", code, {"Retry-After": "7"} if code == 429 else {}

    @app.post("/garbled")
    def garbled():
        return "<html>not json</html>", 200, {"Content-Type": "application/json"}

    return app


class HttpCourier(SandboxCarrier):
    """The sandbox courier behind a real HTTP hop through ``CarrierHttp`` (the client every adapter uses): creating
    posts to ``/orders`` first; cancelling posts to ``/cancel`` and relays its refusal as the adapters do."""

    def __init__(self, base_url: str, **kw) -> None:
        super().__init__(**kw)
        self.http = CarrierHttp(self.code, base_url, CarrierEnv(now=kw["now"], connect_timeout=1, read_timeout=2))

    def create(self, req):
        self.http.request("POST", "/orders", mutating=True, json_body={"ref": req.client_ref})
        return super().create(req)

    def cancel(self, carrier_ref, reason=None):
        res = self.http.request("POST", "/cancel", mutating=True, json_body={"ref": carrier_ref})
        if res.status >= 400:
            raise InvalidState(self.code, f"cancel refused: {res.data['message']}", raw=res.data)
        super().cancel(carrier_ref, reason)


@pytest.fixture
def world(settings, clock):
    from postal_bridge import create_app

    state = {"down": True}
    with LoopbackServer(_courier_app(state)) as server:
        carrier = HttpCourier(server.url, now=clock.now, step_seconds=settings.sandbox_step_seconds)
        with installed_container(settings, clock, carriers={"sandbox": carrier}) as c:
            register_hanoi(c.deps)
            accounts.create_user(c.deps, username="quantri", role="admin", agency_code="HCC-HN", password=PASSWORD)
            client = create_app(container=c).test_client()
            answer = client.post(
                "/login", data={"username": "quantri", "password": PASSWORD, "csrf_token": form_token(client)}
            )
            assert answer.status_code == 303
            yield c, state, client, server


def _create(c, n: int) -> str:
    issued = agencies.create_api_key(c.deps, agency_code="HCC-HN", name=f"counter-{n}")
    caller = agencies.authenticate(c.deps, issued.api_key)
    cmd = CreateConsignment(
        kind="return",
        carrier="sandbox",
        service="standard",
        citizen_name=NAME,
        citizen_phone=PHONE,
        address_line=STREET,
        ward_code="00004",
        province_code="01",
        weight_g=200,
        contents="Giấy phép xây dựng",
        dossier_code=f"000.00.12.H56-261206-{n:04d}",
    )
    stored = consignments.create_consignment(
        c.deps, caller, cmd, idempotency_key=f"k{n}", fingerprint=f"f{n}", render=lambda x: x.id
    )
    return stored.body


def _row(c, cid: str, kind: OutboxKind):
    with c.engine.connect() as conn:
        return conn.execute(
            select(t.outbox).where(t.outbox.c.consignment_id == cid, t.outbox.c.kind == kind.value)
        ).one()


def _html(client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_dead_items_are_explained_in_vietnamese_without_the_citizens_details(world, caplog) -> None:
    c, state, client, _ = world
    caplog.set_level(logging.INFO, logger="postal_bridge")
    # 1. The courier answers 500 to every create: retried, then dead once the budget is spent.
    down = _create(c, 1)
    drain(c)
    row = _row(c, down, OutboxKind.BOOK)
    assert row.state == "pending" and row.last_error.startswith("outcome unknown, will look up ")
    assert row.last_error.endswith(": HTTP 500")
    budget = len(c.deps.courier_schedule)
    with c.engine.begin() as conn:  # the retries in between are other tests' business (tests/chaos)
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.id == row.id)
            .values(attempts=budget, next_attempt_at=c.deps.clock.now() - timedelta(seconds=1))
        )
    outbox.relay_due(c.deps)
    drain(c)
    row = _row(c, down, OutboxKind.BOOK)
    assert row.state == "dead" and row.last_error.startswith(f"gave up after {budget + 1} attempts: outcome unknown")

    # 2. Booked while the courier is up; the cancel is refused with the citizen's details echoed back.
    state["down"] = False
    booked = _create(c, 2)
    drain(c)
    admin = agencies.authenticate(c.deps, agencies.create_api_key(c.deps, agency_code="HCC-HN", name="ops").api_key)
    consignments.cancel_consignment(c.deps, admin, booked, reason="công dân đổi ý")
    drain(c)
    refused = _row(c, booked, OutboxKind.CANCEL_WITH_CARRIER)
    assert refused.state == "dead" and NAME.upper() in refused.last_error and PHONE in refused.last_error
    logged = [str(getattr(r, "reason", "")) for r in caplog.records]
    assert any("cancel refused" in reason for reason in logged), logged  # the log says why, without the citizen
    for personal in (NAME.upper(), PHONE, STREET):
        assert not any(personal in reason for reason in logged), personal

    page = _html(client, "/admin/outbox?view=dead")
    assert "Hãng không trả lời rõ khi đặt đơn" in page  # outcome unknown
    assert f"Đã thử {budget + 1} lần rồi dừng." in page
    assert "tra đơn theo mã tham chiếu của bưu gửi trước khi đặt" in page  # dead: not "it retries by itself"
    assert "Hãng từ chối hủy đơn" in page and "chạy lại mục này không giúp được" in page
    assert page.count("<summary>Chi tiết kỹ thuật</summary>") == 2
    assert "outcome unknown, will look up" in page and "HTTP 500" in page  # the raw text, inside the details
    for personal in (NAME, NAME.upper(), PHONE, STREET, "27 ngõ 58"):
        assert personal not in page, personal
    assert "lấy hàng của ***, ĐT ********21, ***" in page
    assert ' style="' not in page and "<script>" not in page  # strict CSP: nothing inline

    english = _html(client, "/admin/outbox?view=dead&lang=en")
    assert "The courier gave no clear answer to the booking" in english
    assert f"Stopped after {budget + 1} attempts." in english and "The courier refused to cancel" in english
    assert "<summary>Technical details</summary>" in english and "Hãng từ chối hủy đơn" not in english
    assert NAME.upper() not in english and PHONE not in english


def test_a_retrying_item_says_nothing_needs_doing(world) -> None:
    c, _, client, _ = world
    cid = _create(c, 3)
    drain(c)
    assert _row(c, cid, OutboxKind.BOOK).state == "pending"
    page = _html(client, "/admin/outbox?view=retrying")
    assert "Hãng không trả lời rõ khi đặt đơn" in page
    assert "Không cần làm gì: lần thử sau hệ thống tra đơn theo mã tham chiếu trước" in page


def test_the_webhook_listing_masks_the_citizens_details(world) -> None:
    c, _, _, _ = world
    cid = _create(c, 4)
    now = c.deps.clock.now()
    item = OutboxItem(
        kind=OutboxKind.NOTIFY_DOSSIER,
        payload={"api_key_id": "k", "message_id": "msg_x", "body": "{}"},
        created_at=now,
        next_attempt_at=now,
        consignment_id=cid,
        state=OutboxState.DEAD,
        attempts=10,
        last_error=f"gave up after 10 attempts: receiver said: no dossier for {NAME} at {STREET} ({PHONE})",
    )
    with c.deps.uow() as uow:
        uow.outbox.add(item)
        uow.commit()
    [row] = [r for r in webhooks_admin.list_webhooks(c.deps) if r.id == item.id]
    assert row.last_error == "gave up after 10 attempts: receiver said: no dossier for *** at *** (********21)"
    with c.deps.uow() as uow:  # the stored text is untouched: only what is shown is masked
        assert NAME in uow.outbox.get(item.id).last_error


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_senders_real_error_texts_are_each_explained(world) -> None:
    """The texts our webhook sender and courier HTTP client write for real faults land on a known row, not the
    generic sentence."""
    c, _, client, server = world
    sender = HttpWebhookSender(connect_timeout=1, read_timeout=2)

    def callback(url: str) -> str:
        result = sender.send(
            WebhookDelivery(url=url, secret=new_webhook_secret(), message_id="msg_1", timestamp=0, body=b"{}")
        )
        assert not result.ok
        return result.error or f"HTTP {result.status_code}"

    http_env = CarrierEnv(now=c.deps.clock.now, connect_timeout=1, read_timeout=2)
    http = CarrierHttp("sandbox", server.url, http_env)

    def courier(path: str, *, mutating: bool = True, base: str | None = None) -> str:
        target = http if base is None else CarrierHttp("sandbox", base, http_env)
        with pytest.raises(CarrierError) as caught:
            target.request("POST", path, mutating=mutating)
        return caught.value.message

    closed = f"http://127.0.0.1:{_closed_port()}"
    cases = [
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/500"), "server_error"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/429"), "rate_limited"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/410"), "callback_gone"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/302"), "callback_redirect"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/403"), "callback_signature_refused"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{server.url}/status/404"), "client_error"),
        (OutboxKind.NOTIFY_DOSSIER, callback(f"{closed}/cb"), "connection_failed"),
        (OutboxKind.CANCEL_WITH_CARRIER, courier("/status/503"), "server_error"),
        (OutboxKind.CANCEL_WITH_CARRIER, courier("/status/429"), "rate_limited"),
        (OutboxKind.CANCEL_WITH_CARRIER, courier("/garbled", mutating=False), "malformed_answer"),
        (OutboxKind.CANCEL_WITH_CARRIER, courier("/x", mutating=False, base=closed), "connection_failed"),
    ]
    with client.application.test_request_context("/?lang=vi"):
        for kind, text, expected in cases:
            found = explain(text, kind)
            assert found.pattern == expected, (text, found.pattern)
            dead = explain(f"gave up after 10 attempts: {text}", kind, dead=True)
            assert dead.pattern == expected and dead.gave_up_after == 10
