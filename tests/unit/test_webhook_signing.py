"""Standard Webhooks signing: round trip, known vectors, rejections, rotation, and no secret leaks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import requests

from adapters.dossier.signing import SignatureError, new_secret, sign, verify
from adapters.dossier.webhook import HttpWebhookSender
from postal_bridge.domain.webhooks import WebhookDelivery

NOW = 1_700_000_000
BODY = b'{"type":"dossier.label_created","data":{"id":"lbl_1"}}'


def headers_for(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def test_new_secret_has_prefix_and_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
    assert new_secret() != secret


def test_round_trip_returns_message_id():
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    assert verify([secret], headers, BODY, now=NOW) == "msg_1"


def test_known_vector_computed_from_the_spec_definition():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    message_id, timestamp, body = "msg_2Xq", 1_712_345_678, b'{"hello":"world"}'
    expected = base64.b64encode(hmac.new(key, b"msg_2Xq.1712345678." + body, hashlib.sha256).digest()).decode()
    assert sign(secret, message_id, timestamp, body) == "v1," + expected


def test_published_standard_webhooks_example():
    # The example from the Standard Webhooks / Svix documentation.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secret_without_prefix_signs_the_same():
    secret = new_secret()
    bare = secret[len("whsec_") :]
    assert sign(bare, "msg_1", NOW, BODY) == sign(secret, "msg_1", NOW, BODY)
    assert verify([bare], headers_for(secret, "msg_1", NOW, BODY), BODY, now=NOW) == "msg_1"


def test_header_names_are_case_insensitive():
    secret = new_secret()
    headers = {k.title(): v for k, v in headers_for(secret, "msg_1", NOW, BODY).items()}
    assert verify([secret], headers, BODY, now=NOW) == "msg_1"


def test_tampered_body_is_rejected():
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    with pytest.raises(SignatureError):
        verify([secret], headers, BODY.replace(b"lbl_1", b"lbl_2"), now=NOW)


def test_tampered_message_id_is_rejected():
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    headers["webhook-id"] = "msg_2"
    with pytest.raises(SignatureError):
        verify([secret], headers, BODY, now=NOW)


def test_wrong_secret_is_rejected():
    headers = headers_for(new_secret(), "msg_1", NOW, BODY)
    with pytest.raises(SignatureError, match="no matching signature"):
        verify([new_secret()], headers, BODY, now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_timestamp_outside_tolerance_is_rejected(skew):
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW - skew, BODY)
    with pytest.raises(SignatureError, match="tolerance"):
        verify([secret], headers, BODY, now=NOW)


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_timestamp_at_tolerance_edge_is_accepted(skew):
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW - skew, BODY)
    assert verify([secret], headers, BODY, now=NOW) == "msg_1"


def test_timestamp_is_part_of_the_signature():
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    headers["webhook-timestamp"] = str(NOW + 1)
    with pytest.raises(SignatureError, match="no matching signature"):
        verify([secret], headers, BODY, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_rejected(missing):
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing"):
        verify([secret], headers, BODY, now=NOW)


def test_non_integer_timestamp_is_rejected():
    secret = new_secret()
    headers = headers_for(secret, "msg_1", NOW, BODY)
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(SignatureError):
        verify([secret], headers, BODY, now=NOW)


def test_rotation_old_and_new_signatures_in_one_header():
    old, new = new_secret(), new_secret()
    header = f"{sign(old, 'msg_1', NOW, BODY)} {sign(new, 'msg_1', NOW, BODY)}"
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": header}
    # A receiver that already switched to the new secret, one still on the old, and one accepting both.
    assert verify([new], headers, BODY, now=NOW) == "msg_1"
    assert verify([old], headers, BODY, now=NOW) == "msg_1"
    assert verify([old, new], headers, BODY, now=NOW) == "msg_1"
    with pytest.raises(SignatureError):
        verify([new_secret()], headers, BODY, now=NOW)


def test_receiver_with_several_secrets_accepts_either():
    old, new = new_secret(), new_secret()
    assert verify([old, new], headers_for(old, "msg_1", NOW, BODY), BODY, now=NOW) == "msg_1"
    assert verify([old, new], headers_for(new, "msg_1", NOW, BODY), BODY, now=NOW) == "msg_1"


def test_unknown_signature_versions_are_ignored():
    secret = new_secret()
    good = sign(secret, "msg_1", NOW, BODY)
    forged = "v1a," + good.split(",", 1)[1]
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": forged}
    with pytest.raises(SignatureError):
        verify([secret], headers, BODY, now=NOW)
    headers["webhook-signature"] = f"{forged} {good}"
    assert verify([secret], headers, BODY, now=NOW) == "msg_1"


def test_invalid_secret_in_list_is_skipped_not_fatal():
    secret = new_secret()
    assert verify(["whsec_%%%not-base64", secret], headers_for(secret, "msg_1", NOW, BODY), BODY, now=NOW) == "msg_1"


# -- the sender never leaks the secret (or the body) into a DeliveryResult error ------------------------------


class _ExplodingSession:
    """Stands in for requests.Session; its exceptions carry the secret and body in their message."""

    def __init__(self, exc_type: type[Exception]) -> None:
        self.exc_type = exc_type

    def post(self, url, data=None, headers=None, **kwargs):
        raise self.exc_type(f"failed sending {data!r} with {headers!r}")

    def close(self):
        pass


@pytest.mark.parametrize(
    "exc_type",
    [
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ReadTimeout,
        requests.exceptions.ConnectionError,
        requests.exceptions.InvalidURL,
    ],
)
def test_secret_and_body_never_appear_in_errors(exc_type):
    secret = new_secret()
    key_part = secret[len("whsec_") :]
    sender = HttpWebhookSender()
    sender._session = _ExplodingSession(exc_type)
    delivery = WebhookDelivery("http://127.0.0.1:9/callbacks", secret, "msg_1", NOW, BODY)
    result = sender.send(delivery)
    assert result.ok is False
    assert exc_type.__name__ in result.error
    assert secret not in result.error and key_part not in result.error
    assert "lbl_1" not in result.error
    assert sign(secret, "msg_1", NOW, BODY) not in result.error


def test_invalid_secret_error_does_not_echo_it():
    secret = "whsec_this-is-not*base64!"
    result = HttpWebhookSender().send(WebhookDelivery("http://127.0.0.1:9/callbacks", secret, "m", NOW, BODY))
    assert result.ok is False
    assert "this-is-not" not in result.error


def test_missing_scheme_error_does_not_echo_secret():
    secret = new_secret()
    result = HttpWebhookSender().send(WebhookDelivery("not a url " + secret, secret, "m", NOW, BODY))
    assert result.ok is False
    assert secret[len("whsec_") :] not in result.error
