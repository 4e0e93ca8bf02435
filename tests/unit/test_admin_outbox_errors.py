"""The outbox page's error explanations (``web/admin/outbox_errors``) and the scrubbing of the item's own personal data
(``domain.admin.scrub_error``). The error texts below are the ones our code writes, copied from where it writes them
(``tests/integration/test_admin_outbox_errors.py`` produces several by running the code paths)."""

from __future__ import annotations

import unicodedata

import pytest
from flask import Flask

from postal_bridge.domain.admin import scrub_error
from postal_bridge.domain.model import OutboxKind as K
from postal_bridge.web.admin.outbox_errors import GENERIC, PATTERNS, REPLAY_WHEN_FIXED, explain
from postal_bridge.web.i18n import init_i18n

# (kind, the text as stored in outbox.last_error, the row of PATTERNS that must explain it, where it is written)
SAMPLES = [
    (K.BOOK, "carrier 'ghn' is not enabled for this agency", "carrier_not_enabled"),  # services/booking.py book
    (K.CANCEL_WITH_CARRIER, "carrier 'viettelpost' is not configured", "carrier_not_enabled"),  # cancel_with_carrier
    (K.BOOK, "duplicate reference but no order found yet: order exists", "duplicate_reference"),  # _book_once
    (K.BOOK, "outcome unknown, will look up pb-3f2a9c first: HTTP 500", "outcome_unknown"),  # CarrierHttp 5xx
    (K.BOOK, "outcome unknown, will look up pb-3f2a9c first: no answer within the read timeout", "outcome_unknown"),
    (
        K.CANCEL_WITH_CARRIER,
        "the courier refused the cancel (it may already have the item): cancel refused: Đơn đã lấy hàng",
        "cancel_refused",
    ),
    (  # an unexpected exception: "<class>: <str(exc)>", and CarrierError's str is "<carrier>: <message>"
        K.BOOK,
        "AddressNotResolvable: ghn: GHN has no ward matching Phường Cửa Nam in Thành phố Hà Nội",
        "address_unresolved",
    ),
    (K.BOOK, "RouteNotServiceable: ghn: GHN offers no service standard 01→79", "route_not_served"),
    (K.CANCEL_WITH_CARRIER, "Viettel Post refused the change: Đơn đã giao cho bưu tá", "cancel_refused"),
    (K.CANCEL_WITH_CARRIER, "login refused: Sai tên đăng nhập hoặc mật khẩu", "credentials_refused"),  # vnpost
    (K.SEND_SMS, "HTTP 401: credentials refused", "credentials_refused"),  # adapters/sms/esms.py
    (K.SEND_SMS, "CodeResult 101: wrong ApiKey or SecretKey", "credentials_refused"),
    (K.NOTIFY_DOSSIER, "the API key's callback endpoint was removed or revoked", "callback_key_revoked"),
    (K.NOTIFY_DOSSIER, "the receiver answered 410 Gone; endpoint disabled", "callback_gone"),
    (
        K.NOTIFY_DOSSIER,
        "endpoint disabled (410 Gone at 2026-12-06T08:00:00+00:00); replay with re-enable to resend",
        "callback_gone",
    ),
    (
        K.NOTIFY_DOSSIER,
        "callback URL refused at send time: {'callback_url': ['Callback host 127.0.0.1 is not public.']}",
        "callback_url_refused",
    ),
    (K.NOTIFY_DOSSIER, "invalid webhook secret (not whsec_ + base64)", "webhook_secret_invalid"),  # dossier/webhook
    (K.NOTIFY_DOSSIER, "HTTP 401", "callback_signature_refused"),
    (K.NOTIFY_DOSSIER, "HTTP 302: redirects are not followed", "callback_redirect"),
    (K.SEND_SMS, "quiet hours", "sms_quiet_hours"),  # services/sms.py send
    (
        K.SEND_SMS,
        "no answer within the read timeout: the message may or may not have been sent; not retried (no request id "
        "to deduplicate on)",
        "sms_maybe_sent",
    ),
    (K.SEND_SMS, "CodeResult 108: malformed phone number", "sms_bad_number"),
    (K.SEND_SMS, "SpeedSMS lists the number as invalid", "sms_bad_number"),
    (K.SEND_SMS, "CodeResult 99: the number is blocked", "sms_bad_number"),
    (K.SEND_SMS, "CodeResult 103: balance too low (Tài khoản không đủ tiền)", "sms_account"),
    (K.SEND_SMS, "code 007: this server's IP address is locked", "sms_account"),
    (
        K.SEND_SMS,
        "CodeResult 146: the text does not match a registered customer-care template (Sai mẫu)",
        "sms_content_refused",
    ),
    (K.SEND_SMS, "code 113: content too long", "sms_content_refused"),
    (K.BOOK, "rate limited: rate limited", "rate_limited"),  # _book_once, RateLimited from CarrierHttp
    (K.SEND_SMS, "rate limited (HTTP 429)", "rate_limited"),
    (K.NOTIFY_DOSSIER, "HTTP 429", "rate_limited"),
    (K.NOTIFY_DOSSIER, "SSLError: could not reach the receiver", "tls_error"),
    (K.NOTIFY_DOSSIER, "ConnectTimeout: no connection within 3.0s", "connect_timeout"),
    (K.SEND_SMS, "cannot connect (ConnectTimeout)", "connect_timeout"),
    (
        K.RENDER_LABEL,
        "ConnectTimeout: HTTPSConnectionPool(host='online-gateway.ghn.vn', port=443): Max retries exceeded with url: "
        "/shiip/public-api/v2/a5/gen-token (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object "
        "at 0x7f>, 'Connection to online-gateway.ghn.vn timed out. (connect timeout=3.0)'))",
        "connect_timeout",
    ),
    (K.NOTIFY_DOSSIER, "ReadTimeout: no answer within 15.0s", "read_timeout"),
    (K.CANCEL_WITH_CARRIER, "no answer within the read timeout", "read_timeout"),
    (K.NOTIFY_DOSSIER, "ConnectionError: could not reach the receiver", "connection_failed"),
    (K.CANCEL_WITH_CARRIER, "connection broken (ConnectionError)", "connection_failed"),
    (K.NOTIFY_DOSSIER, "ChunkedEncodingError: request could not be sent", "answer_cut"),
    (K.CANCEL_WITH_CARRIER, "transport error (ChunkedEncodingError)", "answer_cut"),
    (K.APPLY_TRACKING, "JSONDecodeError: Expecting value: line 1 column 1 (char 0)", "malformed_answer"),
    (K.SEND_SMS, "malformed answer", "malformed_answer"),
    (K.CANCEL_WITH_CARRIER, "HTTP 503", "server_error"),
    (K.SEND_SMS, "code 500: SpeedSMS internal error", "server_error"),
    (K.NOTIFY_DOSSIER, "HTTP 404", "client_error"),
    (K.APPLY_TRACKING, "OperationalError: (sqlite3.OperationalError) database is locked", "database_error"),
]


@pytest.fixture
def app():
    app = Flask(__name__)
    app.secret_key = "test"
    init_i18n(app)
    return app


def _vi(app):
    return app.test_request_context("/?lang=vi")


@pytest.mark.parametrize(("kind", "text", "expected"), SAMPLES, ids=[f"{s[2]}:{s[1][:30]}" for s in SAMPLES])
def test_each_error_our_code_writes_is_explained(app, kind, text, expected) -> None:
    with _vi(app):
        found = explain(text, kind)
    assert found is not None and found.pattern == expected
    assert found.what and found.todo and found.gave_up_after is None
    assert not found.what.isascii()  # Vietnamese, not the English technical text


def test_every_pattern_has_a_sample() -> None:
    assert {p.name for p in PATTERNS} == {s[2] for s in SAMPLES}
    assert len({p.name for p in PATTERNS}) == len(PATTERNS)


def test_named_groups_fill_the_sentence(app) -> None:
    with _vi(app):
        found = explain("carrier 'ghtk' is not enabled for this agency", K.BOOK)
    assert "ghtk" in found.what and "%(" not in found.what


def test_a_spent_budget_says_how_many_attempts_and_to_replay_once_fixed(app) -> None:
    with _vi(app):
        found = explain("gave up after 12 attempts: HTTP 500", K.NOTIFY_DOSSIER)
        again = explain("HTTP 500", K.NOTIFY_DOSSIER)
        assert (found.pattern, found.gave_up_after, found.todo) == ("server_error", 12, str(REPLAY_WHEN_FIXED))
    assert again.todo != found.todo and "tự thử lại" in again.todo  # still retrying: nothing to do yet
    with _vi(app):  # a dead text with no prefix (the last try of an SMS) gets the same advice when told it is dead
        assert explain("cannot connect (ConnectTimeout)", K.SEND_SMS, dead=True).todo == str(REPLAY_WHEN_FIXED)
        permanent = explain("CodeResult 108: malformed phone number", K.SEND_SMS, dead=True)
    assert "không gửi lại được" in permanent.todo  # a permanent fault keeps its own advice


def test_a_stopped_booking_that_may_have_reached_the_courier_says_a_replay_looks_it_up_first(app) -> None:
    text = "gave up after 11 attempts: outcome unknown, will look up pb-3f2a9c first: HTTP 500"
    with _vi(app):
        stopped = explain(text, K.BOOK, dead=True)
        trying = explain("outcome unknown, will look up pb-3f2a9c first: HTTP 500", K.BOOK)
        duplicate = explain("duplicate reference but no order found yet: exists", K.BOOK, dead=True)
    assert "tra đơn theo mã tham chiếu" in stopped.todo and stopped.todo == duplicate.todo
    assert trying.todo.startswith("Không cần làm gì")


def test_a_pattern_of_another_kind_does_not_apply(app) -> None:
    with _vi(app):
        assert explain("HTTP 401", K.NOTIFY_DOSSIER).pattern == "callback_signature_refused"
        assert explain("HTTP 401", K.CANCEL_WITH_CARRIER).pattern == "client_error"
        assert explain("quiet hours", K.BOOK).pattern == "generic"


@pytest.mark.parametrize("kind", list(K))
def test_unknown_texts_get_the_sentence_of_their_kind(app, kind) -> None:
    with _vi(app):
        found = explain("KeyError: 'status'", kind)
    assert found.pattern == "generic" and found.what == str(GENERIC[kind])
    assert set(GENERIC) == set(K)


def test_no_error_no_explanation(app) -> None:
    with _vi(app):
        assert explain(None, K.BOOK) is None and explain("", K.BOOK) is None


def test_english_on_request(app) -> None:
    with app.test_request_context("/?lang=en"):
        found = explain("gave up after 10 attempts: ConnectTimeout: no connection within 3.0s", K.NOTIFY_DOSSIER)
        named = explain("carrier 'ghn' is not enabled for this agency", K.BOOK)
    assert found.what == "Could not connect to the outside system (the connection timed out)."
    assert found.todo.startswith("The system has stopped retrying")
    assert named.what.startswith("The courier ghn is not enabled")


# ------------------------------------------------------------------------------------------------- scrub_error


NAME = "Nguyễn Thị Thu Hường"
STREET = "Số 18 ngõ 124 phố Hoàng Hoa Thám"
PHONE = "+84912345678"


def test_the_items_own_name_street_and_phone_are_masked() -> None:
    text = f"ghtk: Người nhận {NAME}, {STREET} không liên lạc được qua 0912345678"
    out = scrub_error(text, known=[NAME, PHONE, STREET])
    assert NAME not in out and STREET not in out and "0912345678" not in out
    assert out.startswith("ghtk: Người nhận ***, *** không liên lạc được qua ")


def test_a_courier_echo_without_diacritics_in_capitals_or_decomposed_is_masked() -> None:
    for echoed in (
        "NGUYEN THI THU HUONG",
        "nguyen  thi thu huong",
        unicodedata.normalize("NFD", NAME),
        "Nguyễn Thị Thu Hường".upper(),
    ):
        out = scrub_error(f"receiver {echoed} refused", known=[NAME])
        assert out == "receiver *** refused", (echoed, out)
    # A combining mark that NFC cannot compose (a stray tone on "y" + dot) goes with the mask, not after it.
    assert scrub_error("gọi An Ny\u0323\u0301 xong", known=["An Ny"]) == "gọi *** xong"
    # Old-style tone placement (hoà / hòa) folds to the same letters.
    assert scrub_error("gọi Trần Thị Hoà thất bại", known=["Trần Thị Hòa"]) == "gọi *** thất bại"


def test_only_whole_words_are_masked_and_short_or_empty_strings_are_ignored() -> None:
    assert scrub_error("Anh Tuấn: HTTP 500", known=["An"]) == "Anh Tuấn: HTTP 500"  # too short to mask safely
    assert scrub_error("Bình Anhdương", known=["Bình An"]) == "Bình Anhdương"  # not a whole word
    assert scrub_error("HTTP 500", known=["", None]) == "HTTP 500"
    assert scrub_error(None, known=[NAME]) is None


def test_masking_keeps_the_rest_and_the_length_cap() -> None:
    out = scrub_error(f"gave up after 12 attempts: {NAME} " + "x" * 400, known=[NAME])
    assert out.startswith("gave up after 12 attempts: *** x") and len(out) == 300 and out.endswith("…")
    assert scrub_error("a@b.vn 012345678901", known=[]) == "***@*** **********01"
