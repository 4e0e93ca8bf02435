"""Each SMS adapter against its fake gateway over real HTTP on loopback: the wire format, the sandbox flag, the
request id, error mapping (transient or permanent), delivery-report parsing; and the console gateway."""

from __future__ import annotations

import base64
import io
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from adapters.sms.console import ConsoleSmsGateway
from adapters.sms.esms import EsmsGateway
from adapters.sms.speedsms import SpeedSmsGateway
from postal_bridge.domain.sms import (
    SmsMessage,
    SmsPermanentError,
    SmsReportInvalid,
    SmsReportRequest,
    SmsStatus,
    SmsTransientError,
)
from tests.fakes import esms as fake_esms
from tests.fakes import speedsms as fake_speedsms
from tests.fakes.server import LoopbackServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sms"
TEXT = "HCC-HN: Ket qua ho so EB123456785VN da duoc phat thanh cong. Tra cuu: https://hcc.example.vn/t/5m3AeezKq0A"
CALLBACK = "https://hcc.example.vn/webhooks/sms/esms/cb-secret-0123456789abcdef"


def _message(phone: str = "+84912345678", mid: str = "4b7f0d9c2e8a4f51a3c6d2e1f0b9a877") -> SmsMessage:
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    return SmsMessage(id=mid, phone=phone, text=TEXT, event="delivered", created_at=now, scheduled_at=now)


def _fault(server, **fault) -> None:
    requests.post(f"{server.url}/__fake/faults", json=fault, timeout=5).raise_for_status()


def _ledger(server) -> list[dict]:
    return requests.get(f"{server.url}/__fake/messages", timeout=5).json()


# ---------------------------------------------------------------------------------------------------------- eSMS


@pytest.fixture
def esms_server():
    fake = fake_esms.FakeEsms(timeout_seconds=1.0)
    with LoopbackServer(fake.app) as server:
        yield server


def _esms(server, *, sandbox=True, **kw) -> EsmsGateway:
    values = {
        "api_key": fake_esms.API_KEY,
        "secret_key": fake_esms.SECRET_KEY,
        "brandname": fake_esms.BRANDNAME,
        "base_url": server.url,
        "sandbox": sandbox,
        "callback_url": CALLBACK,
        "read_timeout": 0.4,
    }
    values.update(kw)
    return EsmsGateway(**values)


def test_esms_sends_the_documented_body_and_returns_the_smsid(esms_server):
    result = _esms(esms_server).send(_message())
    (request,) = requests.get(f"{esms_server.url}/__fake/requests", timeout=5).json()
    assert request["path"] == "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    assert request["headers"]["content-type"] == "application/json"
    body = json.loads(request["body"])
    documented = json.loads((FIXTURES / "esms_send_request.json").read_text())
    assert set(body) == set(documented)
    assert body == {
        "ApiKey": fake_esms.API_KEY,
        "SecretKey": fake_esms.SECRET_KEY,
        "Phone": "0912345678",
        "Content": TEXT,
        "Brandname": "HCCHANOI",
        "SmsType": "2",
        "IsUnicode": "0",
        "Sandbox": "1",
        "RequestId": "4b7f0d9c2e8a4f51a3c6d2e1f0b9a877",
        "CallbackUrl": CALLBACK,
    }
    (entry,) = _ledger(esms_server)
    assert result.gateway == "esms" and result.gateway_message_id == entry["gateway_id"] and not result.duplicate
    assert entry["sandbox"] is True


def test_esms_live_mode_and_no_callback(esms_server):
    _esms(esms_server, sandbox=False, callback_url=None).send(_message())
    body = json.loads(requests.get(f"{esms_server.url}/__fake/requests", timeout=5).json()[0]["body"])
    assert body["Sandbox"] == "0" and "CallbackUrl" not in body
    assert _ledger(esms_server)[0]["sandbox"] is False


def test_esms_deduplicates_on_our_request_id(esms_server):
    gateway = _esms(esms_server)
    first = gateway.send(_message())
    again = gateway.send(_message())
    assert again.duplicate and again.gateway_message_id is None
    assert first.gateway_message_id
    assert len(_ledger(esms_server)) == 1


def test_esms_lost_answer_is_retried_safely(esms_server):
    _fault(esms_server, op="send", kind="reset", after_commit=True)  # accepted, answer cut off
    gateway = _esms(esms_server)
    with pytest.raises(SmsTransientError):
        gateway.send(_message())
    assert gateway.send(_message()).duplicate  # the retry is recognised by RequestId
    assert len(_ledger(esms_server)) == 1


@pytest.mark.parametrize(
    ("fault", "transient", "code"),
    [
        ({"kind": "code", "code": "101"}, True, "101"),
        ({"kind": "code", "code": "103"}, True, "103"),
        ({"kind": "code", "code": "104"}, True, "104"),
        ({"kind": "code", "code": "140"}, True, "140"),
        ({"kind": "code", "code": "99"}, False, "99"),
        ({"kind": "code", "code": "108"}, False, "108"),
        ({"kind": "code", "code": "146"}, False, "146"),
        ({"kind": "code", "code": "777"}, False, "777"),
        ({"kind": "http500"}, True, "500"),
        ({"kind": "http429"}, True, "429"),
        ({"kind": "timeout"}, True, None),
        ({"kind": "malformed"}, True, None),
    ],
)
def test_esms_error_mapping(esms_server, fault, transient, code):
    _fault(esms_server, op="send", **fault)
    with pytest.raises(SmsTransientError if transient else SmsPermanentError) as exc:
        _esms(esms_server).send(_message())
    assert exc.value.code == code
    assert fake_esms.API_KEY not in str(exc.value) and fake_esms.SECRET_KEY not in str(exc.value)
    if fault["kind"] == "http429":
        assert exc.value.retry_after == 30
    assert _ledger(esms_server) == []


def test_esms_refusals_from_its_own_checks(esms_server):
    with pytest.raises(SmsTransientError, match="CodeResult 101"):
        _esms(esms_server, secret_key="wrong").send(_message())
    with pytest.raises(SmsTransientError, match="CodeResult 104"):
        _esms(esms_server, brandname="NOTREG").send(_message())
    with pytest.raises(SmsPermanentError, match="CodeResult 108"):
        _esms(esms_server).send(_message(phone="+8412345"))
    requests.post(f"{esms_server.url}/__fake/config", json={"blocked": ["0987654321"]}, timeout=5)
    with pytest.raises(SmsPermanentError, match="CodeResult 99"):
        _esms(esms_server).send(_message(phone="+84987654321", mid="other"))


def test_esms_cannot_connect_is_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(SmsTransientError, match="cannot connect"):
        EsmsGateway(api_key="k", secret_key="s", brandname="B", base_url=f"http://127.0.0.1:{port}").send(_message())


def test_esms_reports_from_its_callback_format():
    gateway = EsmsGateway(api_key="k", secret_key="s", brandname="B")

    def parse(name: str):
        query = dict(pair.split("=", 1) for pair in (FIXTURES / name).read_text().strip().split("&"))
        return gateway.parse_reports(SmsReportRequest("GET", query, b""))

    (delivered,) = parse("esms_callback_delivered.txt")
    assert (delivered.status, delivered.message_id) == (SmsStatus.DELIVERED, "4b7f0d9c2e8a4f51a3c6d2e1f0b9a877")
    assert delivered.gateway_message_id == "dc712784-9c5f-4c69-b9a8-ea69d56adc9a87"
    (failed,) = parse("esms_callback_failed.txt")
    assert (failed.status, failed.message_id) == (SmsStatus.FAILED, None)
    for status, expected in (("4", SmsStatus.FAILED), ("7", SmsStatus.SENT), ("1", SmsStatus.SENT)):
        (r,) = gateway.parse_reports(SmsReportRequest("GET", {"SMSID": "x", "SendStatus": status}, b""))
        assert r.status == expected
    form = gateway.parse_reports(
        SmsReportRequest("POST", {}, b"SMSID=x&SendStatus=5&SendSuccess=1", "application/x-www-form-urlencoded")
    )
    assert form[0].status == SmsStatus.DELIVERED
    as_json = gateway.parse_reports(
        SmsReportRequest("POST", {}, b'{"SMSID": "x", "SendStatus": 5, "SendSuccess": 1}', "application/json")
    )
    assert as_json[0].status == SmsStatus.DELIVERED
    for query, body, ctype in (
        ({}, b"", ""),
        ({"SMSID": "x"}, b"", ""),
        ({"SMSID": "x", "SendStatus": "five"}, b"", ""),
        ({}, b"{not json", "application/json"),
    ):
        with pytest.raises(SmsReportInvalid):
            gateway.parse_reports(SmsReportRequest("POST" if body else "GET", query, body, ctype))


# ------------------------------------------------------------------------------------------------------ SpeedSMS


@pytest.fixture
def speedsms_server():
    fake = fake_speedsms.FakeSpeedSms(timeout_seconds=1.0)
    with LoopbackServer(fake.app) as server:
        yield server


def _speedsms(server, **kw) -> SpeedSmsGateway:
    values = {"access_token": fake_speedsms.TOKEN, "brandname": fake_speedsms.SENDER, "base_url": server.url}
    values.update(kw)
    return SpeedSmsGateway(read_timeout=0.4, **values)


def test_speedsms_sends_the_documented_body_with_basic_auth(speedsms_server):
    result = _speedsms(speedsms_server).send(_message())
    (request,) = requests.get(f"{speedsms_server.url}/__fake/requests", timeout=5).json()
    assert request["path"] == "/index.php/sms/send"
    assert request["headers"]["authorization"] == "Basic " + base64.b64encode(
        f"{fake_speedsms.TOKEN}:x".encode()
    ).decode("ascii")
    body = json.loads(request["body"])
    documented = json.loads((FIXTURES / "speedsms_send_request.json").read_text())
    assert set(body) == set(documented)
    assert body == {"to": ["84912345678"], "content": TEXT, "sms_type": 3, "sender": "HCCHANOI"}
    (entry,) = _ledger(speedsms_server)
    assert result.gateway_message_id == entry["gateway_id"] and result.gateway == "speedsms"


def test_speedsms_without_a_brandname_uses_its_default_one(speedsms_server):
    _speedsms(speedsms_server, brandname="").send(_message())
    body = json.loads(requests.get(f"{speedsms_server.url}/__fake/requests", timeout=5).json()[0]["body"])
    assert (body["sms_type"], body["sender"]) == (4, "Notify")


@pytest.mark.parametrize(
    ("fault", "transient", "code"),
    [
        ({"kind": "code", "code": "007"}, True, "007"),
        ({"kind": "code", "code": "300"}, True, "300"),
        ({"kind": "code", "code": "500"}, True, "500"),
        ({"kind": "code", "code": "101"}, False, "101"),
        ({"kind": "code", "code": "113"}, False, "113"),
        ({"kind": "http500"}, True, "500"),
        ({"kind": "http429"}, True, "429"),
    ],
)
def test_speedsms_error_mapping(speedsms_server, fault, transient, code):
    _fault(speedsms_server, op="send", **fault)
    with pytest.raises(SmsTransientError if transient else SmsPermanentError) as exc:
        _speedsms(speedsms_server).send(_message())
    assert exc.value.code == code
    assert fake_speedsms.TOKEN not in str(exc.value)


def test_speedsms_an_answer_lost_after_sending_is_never_retried(speedsms_server):
    _fault(speedsms_server, op="send", kind="timeout", after_commit=True)
    with pytest.raises(SmsPermanentError, match="may or may not have been sent"):
        _speedsms(speedsms_server).send(_message())
    assert len(_ledger(speedsms_server)) == 1


def test_speedsms_refusals_from_its_own_checks(speedsms_server):
    with pytest.raises(SmsTransientError, match="HTTP 401"):
        _speedsms(speedsms_server, access_token="wrong").send(_message())
    with pytest.raises(SmsPermanentError, match="code 105"):
        _speedsms(speedsms_server).send(_message(phone="+84123"))
    with pytest.raises(SmsPermanentError, match="sender not found"):
        _speedsms(speedsms_server, brandname="NOTREG").send(_message())
    requests.post(f"{speedsms_server.url}/__fake/config", json={"balance": 100}, timeout=5)
    with pytest.raises(SmsTransientError, match="code 300"):
        _speedsms(speedsms_server).send(_message())
    assert _ledger(speedsms_server) == []


def test_speedsms_reports_from_its_webhook_format():
    gateway = SpeedSmsGateway(access_token="t")

    def parse(name: str):
        return gateway.parse_reports(SmsReportRequest("POST", {}, (FIXTURES / name).read_bytes(), "application/json"))

    (delivered,) = parse("speedsms_report_delivered.json")
    assert (delivered.status, delivered.gateway_message_id, delivered.message_id) == (
        SmsStatus.DELIVERED,
        "123456",
        None,
    )
    assert parse("speedsms_report_failed.json")[0].status == SmsStatus.FAILED
    pending = gateway.parse_reports(SmsReportRequest("POST", {}, b'{"type":"report","tranId":1,"status":5}', "json"))
    assert pending[0].status == SmsStatus.SENT
    assert gateway.parse_reports(SmsReportRequest("POST", {}, b'{"type":"incoming","phone":"84912"}', "json")) == []
    for body in (b"", b"[1]", b'{"type":"report","status":0}', b'{"type":"report","tranId":1,"status":"x"}'):
        with pytest.raises(SmsReportInvalid):
            gateway.parse_reports(SmsReportRequest("POST", {}, body, "application/json"))


# ------------------------------------------------------------------------------------------------------- console


def test_the_console_writes_the_text_and_a_masked_number():
    out = io.StringIO()
    result = ConsoleSmsGateway(stream=out).send(_message(phone="+84987650123"))
    line = out.getvalue()
    assert "09xx xxx 123" in line and TEXT in line
    assert "987650" not in line and "650 123" not in line
    assert "1 part(s)" in line
    assert result.gateway == "console" and result.gateway_message_id
    with pytest.raises(SmsReportInvalid):
        ConsoleSmsGateway().parse_reports(SmsReportRequest("GET", {}, b""))
