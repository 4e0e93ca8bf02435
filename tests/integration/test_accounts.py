"""Accounts on the real database: creating users, signing in with lockout, sessions revoked on the server, audit."""

from __future__ import annotations

from importlib import resources

import pytest

from postal_bridge.domain.errors import Unauthorized, ValidationFailed
from postal_bridge.services import accounts
from postal_bridge.services.post_offices import load_post_offices_cli
from tests.conftest import register_hanoi

DEMO_OFFICES = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")


@pytest.fixture
def deps(container, capsys):
    register_hanoi(container.deps)
    with resources.as_file(DEMO_OFFICES) as path:
        assert load_post_offices_cli(container.deps, str(path)) == 0
    capsys.readouterr()
    return container.deps


def _audit(deps, action: str):
    with deps.uow() as uow:
        return uow.audit.entries(action=action)


def test_create_user_generates_a_password_and_stores_only_its_hash(deps) -> None:
    user, password = accounts.create_user(
        deps, username="Hoa.NT", role="counter", agency_code="hcc-hn", full_name="Nguyễn Thị Hoa"
    )
    assert user.username == "hoa.nt" and user.role == "counter" and user.agency_id
    assert len(password) >= accounts.MIN_PASSWORD
    with deps.uow() as uow:
        stored = uow.users.by_username("hoa.nt")
    assert stored is not None and password not in stored.password_hash
    assert stored.password_hash.startswith("$argon2id$")
    [entry] = _audit(deps, "user.created")
    assert entry.actor == "cli" and entry.details["after"]["username"] == "hoa.nt"
    assert "password_hash" not in str(entry.details)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "x", "role": "counter", "agency_code": "HCC-HN"}, "username"),
        ({"username": "ok.user", "role": "boss", "agency_code": "HCC-HN"}, "role"),
        ({"username": "ok.user", "role": "counter", "agency_code": "NOPE"}, "agency"),
        ({"username": "ok.user", "role": "counter", "post_office_code": "DEMO-HN-01"}, "agency"),
        ({"username": "ok.user", "role": "clerk", "agency_code": "HCC-HN"}, "post_office"),
        ({"username": "ok.user", "role": "clerk", "post_office_code": "NOPE"}, "post_office"),
        ({"username": "ok.user", "role": "admin", "agency_code": "HCC-HN", "password": "short"}, "password"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field_and_store_nothing(deps, kwargs, field) -> None:
    with pytest.raises(ValidationFailed) as err:
        accounts.create_user(deps, **kwargs)
    assert field in err.value.errors
    assert accounts.list_users(deps) == []


def test_a_username_is_taken_once(deps) -> None:
    accounts.create_user(deps, username="clerk1", role="clerk", post_office_code="DEMO-HN-01")
    with pytest.raises(ValidationFailed) as err:
        accounts.create_user(deps, username="CLERK1", role="clerk", post_office_code="DEMO-HN-01")
    assert "username" in err.value.errors


def test_sign_in_opens_a_server_side_session_that_sign_out_ends(deps) -> None:
    accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN", password="mật khẩu dài 2026")
    signed = accounts.sign_in(deps, "HOA", "mật khẩu dài 2026")
    assert accounts.session_user(deps, signed.token).username == "hoa"
    assert accounts.session_user(deps, signed.token + "x") is None
    accounts.sign_out(deps, signed.token)
    assert accounts.session_user(deps, signed.token) is None
    assert [e.action for e in _audit(deps, "auth.signed_in")] == ["auth.signed_in"]
    assert [e.action for e in _audit(deps, "auth.signed_out")] == ["auth.signed_out"]


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(deps, clock) -> None:
    accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN", password="correct horse 1")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(Unauthorized) as err:
            accounts.sign_in(deps, "hoa", "wrong password")
        assert err.value.message == accounts.SIGN_IN_FAILED
    with pytest.raises(Unauthorized) as err:  # locked: even the right password is refused, with the same words
        accounts.sign_in(deps, "hoa", "correct horse 1")
    assert err.value.message == accounts.SIGN_IN_FAILED
    assert len(_audit(deps, "auth.locked")) == 1
    clock.advance(accounts.LOCKOUT.total_seconds() - 1)
    with pytest.raises(Unauthorized):
        accounts.sign_in(deps, "hoa", "correct horse 1")
    clock.advance(2)
    assert accounts.sign_in(deps, "hoa", "correct horse 1").user.failed_logins == 0


def test_unknown_users_get_the_same_answer(deps) -> None:
    with pytest.raises(Unauthorized) as err:
        accounts.sign_in(deps, "nobody", "whatever it is")
    assert err.value.message == accounts.SIGN_IN_FAILED
    [entry] = _audit(deps, "auth.sign_in_failed")
    assert entry.details["reason"] == "unknown"


def test_sessions_expire_when_idle_and_after_a_shift(deps, clock) -> None:
    accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN", password="correct horse 1")
    token = accounts.sign_in(deps, "hoa", "correct horse 1").token
    clock.advance(accounts.SESSION_IDLE.total_seconds() - 60)
    assert accounts.session_user(deps, token) is not None  # use keeps it alive
    clock.advance(accounts.SESSION_IDLE.total_seconds() - 60)
    assert accounts.session_user(deps, token) is not None
    clock.advance(accounts.SESSION_IDLE.total_seconds() + 1)
    assert accounts.session_user(deps, token) is None
    token = accounts.sign_in(deps, "hoa", "correct horse 1").token
    for _ in range(int(accounts.SESSION_MAX / accounts.SESSION_IDLE) + 1):
        clock.advance(accounts.SESSION_IDLE.total_seconds() - 60)
        accounts.session_user(deps, token)
    assert accounts.session_user(deps, token) is None  # never longer than one shift


def test_disabling_or_changing_the_password_ends_every_session(deps) -> None:
    user, _ = accounts.create_user(
        deps, username="hoa", role="counter", agency_code="HCC-HN", password="correct horse 1"
    )
    admin_user, _ = accounts.create_user(deps, username="boss", role="admin", agency_code="HCC-HN")
    admin = accounts.agency_caller(deps, admin_user)
    first = accounts.sign_in(deps, "hoa", "correct horse 1").token
    second = accounts.sign_in(deps, "hoa", "correct horse 1").token
    with pytest.raises(ValidationFailed) as err:
        accounts.change_password(deps, user, current="not it", new="a new long secret")
    assert "current_password" in err.value.errors
    accounts.change_password(deps, user, current="correct horse 1", new="a new long secret")
    assert accounts.session_user(deps, first) is None and accounts.session_user(deps, second) is None
    third = accounts.sign_in(deps, "hoa", "a new long secret").token
    accounts.set_disabled(deps, admin, user.id, disabled=True)
    assert accounts.session_user(deps, third) is None
    with pytest.raises(Unauthorized):
        accounts.sign_in(deps, "hoa", "a new long secret")
    [entry] = _audit(deps, "user.disabled")
    assert entry.actor == "user:boss"
    assert entry.details["before"]["disabled"] is False and entry.details["after"]["disabled"] is True


def test_agency_caller_acts_for_the_users_agency(deps) -> None:
    user, _ = accounts.create_user(deps, username="hoa", role="counter", agency_code="HCC-HN")
    caller = accounts.agency_caller(deps, user)
    assert caller.agency.code == "HCC-HN"
    assert caller.actor == "user:hoa" and caller.principal_id == f"user:{user.id}"
    assert caller.api_key_id is None and not caller.is_admin
