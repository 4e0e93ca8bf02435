"""HttpWebhookSender against the fake dossier system over real loopback HTTP."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from adapters.dossier.signing import new_secret, sign
from adapters.dossier.webhook import HttpWebhookSender
from postal_bridge.domain.webhooks import WebhookDelivery
from tests.fakes.dossier_system import FakeDossierSystem
from tests.fakes.server import LoopbackServer

SECRET = new_secret()


@pytest.fixture(scope="module")
def fake():
    return FakeDossierSystem([SECRET])


@pytest.fixture(scope="module")
def server(fake):
    with LoopbackServer(fake.app) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _reset(fake):
    fake.reset()
    yield
    fake.reset()


@pytest.fixture
def sender():
    with HttpWebhookSender(connect_timeout=2.0, read_timeout=5.0) as s:
        yield s


def delivery(url: str, message_id: str = "msg_1", payload: dict | None = None) -> WebhookDelivery:
    body = json.dumps(payload or {"type": "label.created", "id": message_id}).encode()
    return WebhookDelivery(url=url, secret=SECRET, message_id=message_id, timestamp=int(time.time()), body=body)


def test_ok_delivery_is_signed_and_recorded(fake, server, sender):
    d = delivery(server.url + "/callbacks", payload={"type": "label.created", "label": "L1"})
    result = sender.send(d)

    assert result.ok is True
    assert result.status_code == 204
    assert result.error is None and result.gone is False
    [received] = fake.deliveries
    assert received["signature_valid"] is True
    assert received["message_id"] == "msg_1"
    assert received["timestamp"] == d.timestamp
    assert received["body"] == {"type": "label.created", "label": "L1"}
    headers = received["headers"]
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(d.timestamp)
    assert headers["webhook-signature"] == sign(SECRET, "msg_1", d.timestamp, d.body)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "postal-bridge-webhooks/1"
    assert fake.events() == [{"type": "label.created", "label": "L1"}]


def test_sub_path_under_callbacks_is_accepted(fake, server, sender):
    result = sender.send(delivery(server.url + "/callbacks/tenant-7"))
    assert result.ok is True
    assert fake.deliveries[0]["path"] == "/callbacks/tenant-7"


def test_retries_are_deduplicated_in_events(fake, server, sender):
    assert sender.send(delivery(server.url + "/callbacks", "msg_a")).ok
    assert sender.send(delivery(server.url + "/callbacks", "msg_a")).ok
    assert sender.send(delivery(server.url + "/callbacks", "msg_b")).ok
    assert fake.received_ids() == ["msg_a", "msg_a", "msg_b"]
    assert [e["id"] for e in fake.events()] == ["msg_a", "msg_b"]


def test_bad_signature_gets_401_and_is_recorded(fake, server, sender):
    d = delivery(server.url + "/callbacks")
    wrong = WebhookDelivery(d.url, new_secret(), d.message_id, d.timestamp, d.body)
    result = sender.send(wrong)
    assert result.ok is False
    assert result.status_code == 401
    assert [x["signature_valid"] for x in fake.deliveries] == [False]
    assert fake.events() == []


def test_stale_timestamp_gets_401(fake, server, sender):
    d = delivery(server.url + "/callbacks")
    stale = WebhookDelivery(d.url, d.secret, d.message_id, d.timestamp - 3600, d.body)
    result = sender.send(stale)
    assert result.status_code == 401
    assert fake.events() == []


def test_500_is_not_ok(fake, server, sender):
    fake.mode = "500"
    result = sender.send(delivery(server.url + "/callbacks"))
    assert result.ok is False
    assert result.status_code == 500
    assert result.gone is False
    assert result.retry_after_seconds is None
    assert "500" in result.error
    assert fake.events() == []


def test_410_means_gone(fake, server, sender):
    fake.mode = "410"
    result = sender.send(delivery(server.url + "/callbacks"))
    assert result.ok is False
    assert result.status_code == 410
    assert result.gone is True


def test_redirect_is_not_followed(fake, server, sender):
    fake.mode = "redirect"
    result = sender.send(delivery(server.url + "/callbacks"))
    assert result.ok is False
    assert result.status_code == 302
    assert "redirect" in result.error.lower()
    paths = [path for _, path in fake.requests_seen]
    assert paths == ["/callbacks"]
    assert "/elsewhere" not in paths


def test_503_with_retry_after(fake, server, sender):
    fake.mode = "down"
    fake.retry_after = 7
    result = sender.send(delivery(server.url + "/callbacks"))
    assert result.ok is False
    assert result.status_code == 503
    assert result.retry_after_seconds == 7


def test_503_without_retry_after(fake, server, sender):
    fake.mode = "down"
    result = sender.send(delivery(server.url + "/callbacks"))
    assert result.status_code == 503
    assert result.retry_after_seconds is None


def test_slow_receiver_times_out(fake, server):
    fake.mode = "slow"
    fake.slow_seconds = 2.0
    with HttpWebhookSender(connect_timeout=2.0, read_timeout=0.5) as sender:
        started = time.monotonic()
        result = sender.send(delivery(server.url + "/callbacks"))
        elapsed = time.monotonic() - started
    assert result.ok is False
    assert result.status_code is None
    assert "Timeout" in result.error
    assert elapsed < 1.9
    assert SECRET not in result.error


def test_connection_refused_on_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with HttpWebhookSender(connect_timeout=2.0, read_timeout=2.0) as sender:
        result = sender.send(delivery(f"http://127.0.0.1:{port}/callbacks"))
    assert result.ok is False
    assert result.status_code is None
    assert "ConnectionError" in result.error
    assert SECRET not in result.error


def test_one_session_per_sender_for_all_deliveries(fake, server, monkeypatch):
    # Werkzeug's dev server always answers "Connection: close", so keep-alive itself cannot be observed here;
    # check instead that every delivery goes through the one Session (and its connection pool) of the sender.
    created, posts = [], []

    class CountingSession(requests.Session):
        def __init__(self):
            super().__init__()
            created.append(self)

        def post(self, *args, **kwargs):
            posts.append(self)
            return super().post(*args, **kwargs)

    monkeypatch.setattr(requests, "Session", CountingSession)
    with HttpWebhookSender() as sender:
        for i in range(3):
            assert sender.send(delivery(server.url + "/callbacks", f"msg_{i}")).ok
    assert len(created) == 1
    assert posts == [created[0]] * 3
    assert fake.received_ids() == ["msg_0", "msg_1", "msg_2"]
