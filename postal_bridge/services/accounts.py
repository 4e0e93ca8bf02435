"""People who sign in to the pages: creating accounts, signing in with lockout, sessions, signing out.

Passwords are hashed with argon2id (``deps.passwords``). Five wrong passwords in a row lock an account for 15 minutes;
while it is locked, no password is even checked, so a guesser learns nothing from trying more. A failed sign-in always
answers the same message, whether the user exists, the password is wrong or the account is locked.

A session is a random 256-bit token in the (signed, HttpOnly) cookie; the database keeps only its SHA-256, so signing
out, disabling the user or changing the password ends it on the server, not only in the browser. Sessions end after
``SESSION_IDLE`` without use and at most ``SESSION_MAX`` after sign-in (a working shift).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from postal_bridge.domain.errors import NotFound, Unauthorized, ValidationFailed
from postal_bridge.domain.model import Role, User, UserSession
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import PRINTER_PROFILES, Caller
from postal_bridge.services.deps import Deps

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
SIGN_IN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị tạm khóa."
# A real argon2 hash of a random password: verifying against it for unknown users keeps their timing like a real one.
_DUMMY_PASSWORD = secrets.token_urlsafe(16)


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # goes into the session cookie; shown nowhere else


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _audit(uow, deps: Deps, actor: str, action: str, subject: str, **details: object) -> None:
    uow.audit.record(AuditEntry(at=deps.clock.now(), actor=actor, action=action, subject=subject, details=details))


def _public(user: User) -> dict[str, object]:
    """What the audit log keeps of a user (never the hash)."""
    return {
        "username": user.username,
        "role": user.role.value,
        "agency_id": user.agency_id,
        "post_office_code": user.post_office_code,
        "disabled": user.disabled_at is not None,
        "printer_profile": user.printer_profile,
    }


def _check_password(password: str, errors: dict[str, list[str]], field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        errors.setdefault(field, []).append(f"At least {MIN_PASSWORD} characters.")
    elif len(password) > 256:
        errors.setdefault(field, []).append("At most 256 characters.")


def new_password() -> str:
    """A generated first password: 96 random bits, easy to read out (no look-alike characters)."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def create_user(
    deps: Deps,
    *,
    username: str,
    role: str,
    agency_code: str | None = None,
    post_office_code: str | None = None,
    full_name: str = "",
    password: str | None = None,
    printer_profile: str = "pdf",
    actor: str = "cli",
    phone: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with its password (generated unless given). Counter staff and admins belong to
    an agency, clerks to a post office. A clerk's ``phone`` is what the citizen may call on the day of delivery."""
    errors: dict[str, list[str]] = {}
    username = nfc(username or "").strip().lower()
    if not USERNAME.match(username):
        errors["username"] = [
            "3–32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."
        ]
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = ["Must be one of: counter, clerk, admin."]
        role_value = None
    if printer_profile not in PRINTER_PROFILES:
        errors["printer_profile"] = [f"Must be one of: {', '.join(PRINTER_PROFILES)}."]
    if len(nfc(full_name or "").strip()) > 200:
        errors["full_name"] = ["At most 200 characters."]
    password = password if password is not None else new_password()
    _check_password(password, errors)
    phone_e164 = None
    if phone and phone.strip():
        try:
            phone_e164 = parse_phone(phone).e164
        except ValueError as exc:
            errors["phone"] = [str(exc)[0].upper() + str(exc)[1:] + "."]
    if role_value == Role.CLERK and (not post_office_code or agency_code):
        errors["post_office"] = ["A clerk belongs to a post office: give --post-office (and no --agency)."]
    if role_value in (Role.COUNTER, Role.ADMIN) and (not agency_code or post_office_code):
        errors["agency"] = [f"A {role_value.value} user belongs to an agency: give --agency (and no --post-office)."]
    with deps.uow() as uow:
        agency = uow.agencies.by_code(agency_code.strip().upper()) if agency_code else None
        if agency_code and agency is None:
            errors.setdefault("agency", []).append(
                f"No agency with code {agency_code!r} (see `postal-bridge agencies`)."
            )
        office = None
        if post_office_code:
            office = deps.post_offices.get(post_office_code.strip()) if deps.post_offices else None
            if office is None:
                errors.setdefault("post_office", []).append(f"No post office with code {post_office_code!r}.")
        if username and USERNAME.match(username) and uow.users.by_username(username) is not None:
            errors.setdefault("username", []).append("This username is taken.")
        if errors:
            raise ValidationFailed(errors)
        assert role_value is not None
        user = User(
            id=str(uuid.uuid4()),
            username=username,
            full_name=nfc(full_name).strip(),
            role=role_value,
            password_hash=deps.passwords.hash(password),
            created_at=deps.clock.now(),
            agency_id=agency.id if agency else None,
            post_office_code=office.code if office else None,
            printer_profile=printer_profile,
            phone=phone_e164,
        )
        uow.users.add(user)
        _audit(uow, deps, actor, "user.created", f"user:{user.id}", before=None, after=_public(user))
        uow.commit()
    return user, password


def sign_in(deps: Deps, username: str, password: str, *, client: str = "") -> SignedIn:
    """Check the password (with lockout) and open a session. Any failure is the same ``Unauthorized``."""
    now = deps.clock.now()
    name = nfc(username or "").strip().lower()[:64]
    with deps.uow() as uow:
        user = _checked(uow, deps, uow.users.by_username(name) if name else None, name, password, client)
        user.last_login_at = now
        uow.users.save(user)
        token = secrets.token_urlsafe(32)
        uow.users.add_session(
            UserSession(
                token_hash=hash_token(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_MAX,
            )
        )
        _audit(uow, deps, f"user:{user.username}", "auth.signed_in", f"user:{user.id}", client=client)
        uow.commit()
    return SignedIn(user=user, token=token)


def _checked(
    uow, deps: Deps, user: User | None, name: str, password: str, client: str, *, purpose: str = "sign_in"
) -> User:
    """The user when ``password`` is theirs and the account is active and not locked; otherwise the failure is
    audited and committed, counts towards the lockout, and raises the same ``Unauthorized`` whatever went wrong.
    On success the failure count is reset (saved, not committed: the caller commits with its own changes)."""
    now = deps.clock.now()
    failed = f"auth.{purpose}_failed"
    if user is None or not user.active:
        deps.passwords.verify(_dummy_hash(deps), password or "")
        _audit(uow, deps, f"anonymous:{client}", failed, f"username:{name}", reason="unknown")
        uow.commit()
        raise Unauthorized(SIGN_IN_FAILED)
    if user.locked_until is not None and user.locked_until > now:
        _audit(uow, deps, f"user:{user.username}", failed, f"user:{user.id}", reason="locked")
        uow.commit()
        raise Unauthorized(SIGN_IN_FAILED)
    if not deps.passwords.verify(user.password_hash, password or ""):
        before = {"failed_logins": user.failed_logins}
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        uow.users.save(user)
        _audit(
            uow,
            deps,
            f"user:{user.username}",
            "auth.locked" if locked else failed,
            f"user:{user.id}",
            reason="password",
            client=client,
            before=before,
            after={"failed_logins": user.failed_logins, "locked_until": _iso(user.locked_until)},
        )
        uow.commit()
        raise Unauthorized(SIGN_IN_FAILED)
    if deps.passwords.needs_rehash(user.password_hash):
        user.password_hash = deps.passwords.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    uow.users.save(user)
    return user


def confirm_identity(deps: Deps, user: User, password: str, *, client: str = "", purpose: str = "") -> None:
    """A signed-in person proves again it is them before a binding act (a clerk signing a Biên bản giao nhận): their
    own password, checked with the same lockout as signing in. ``Unauthorized`` when it is not right; audited."""
    with deps.uow() as uow:
        fresh = _checked(uow, deps, uow.users.get(user.id), user.username, password, client, purpose="identity")
        _audit(uow, deps, f"user:{fresh.username}", "auth.identity_confirmed", f"user:{fresh.id}", purpose=purpose)
        uow.commit()


def countersign(deps: Deps, username: str, password: str, *, client: str = "", purpose: str = "") -> Caller:
    """Another person confirms on this device with their own credentials, without signing in here: the agency's
    counter staff co-signing a clerk's handover. Returns them as a ``Caller`` of their agency; ``Unauthorized`` (the
    sign-in message) for wrong credentials or an account that does not act for an agency. No session is opened."""
    name = nfc(username or "").strip().lower()[:64]
    with deps.uow() as uow:
        user = _checked(
            uow, deps, uow.users.by_username(name) if name else None, name, password, client, purpose="countersign"
        )
        if user.role not in (Role.COUNTER, Role.ADMIN) or user.agency_id is None:
            uow.commit()
            raise Unauthorized("This account does not act for an agency.")
        agency = uow.agencies.get(user.agency_id)
        if agency is None:
            uow.commit()
            raise Unauthorized("This account's agency no longer exists.")
        _audit(uow, deps, f"user:{user.username}", "auth.countersigned", f"user:{user.id}", purpose=purpose)
        uow.commit()
    return Caller(agency=agency, user=user)


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(deps: Deps) -> str:
    """A hash of a random password, made once per hasher: unknown users cost as long to refuse as known ones."""
    key = id(deps.passwords)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = deps.passwords.hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[key]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def session_user(deps: Deps, token: str | None) -> User | None:
    """The user behind a session cookie, or None when it is unknown, revoked, idle too long, expired or disabled."""
    if not token or len(token) > 100:
        return None
    now = deps.clock.now()
    digest = hash_token(token)
    with deps.uow() as uow:
        session = uow.users.session(digest)
        if (
            session is None
            or session.revoked_at is not None
            or session.expires_at <= now
            or session.last_seen_at + SESSION_IDLE <= now
        ):
            return None
        user = uow.users.get(session.user_id)
        if user is None or not user.active:
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            uow.users.touch_session(digest, now)
            uow.commit()
    return user


def sign_out(deps: Deps, token: str | None) -> None:
    if not token:
        return
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.users.session(hash_token(token))
        if session is None or session.revoked_at is not None:
            return
        uow.users.revoke_sessions(now=now, token_hash=session.token_hash)
        user = uow.users.get(session.user_id)
        actor = f"user:{user.username}" if user else "unknown"
        _audit(uow, deps, actor, "auth.signed_out", f"user:{session.user_id}")
        uow.commit()


def change_password(deps: Deps, user: User, *, current: str, new: str) -> None:
    """The user's own change: needs the current password; every other session of theirs ends."""
    errors: dict[str, list[str]] = {}
    _check_password(new, errors, "new_password")
    if errors:
        raise ValidationFailed(errors)
    with deps.uow() as uow:
        fresh = uow.users.get(user.id)
        if fresh is None or not deps.passwords.verify(fresh.password_hash, current or ""):
            raise ValidationFailed({"current_password": ["The current password is not right."]})
        fresh.password_hash = deps.passwords.hash(new)
        uow.users.save(fresh)
        uow.users.revoke_sessions(now=deps.clock.now(), user_id=fresh.id)
        _audit(uow, deps, f"user:{fresh.username}", "user.password_changed", f"user:{fresh.id}")
        uow.commit()


def reset_password(deps: Deps, admin: Caller, user_id: str) -> str:
    """An admin sets a new generated password (shown once), unlocks the account and ends its sessions."""
    password = new_password()
    with deps.uow() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        before = _lock_state(user)
        user.password_hash = deps.passwords.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        uow.users.save(user)
        sessions = uow.users.revoke_sessions(now=deps.clock.now(), user_id=user.id)
        after = {**_lock_state(user), "sessions_ended": sessions}
        _audit(uow, deps, admin.actor, "user.password_reset", f"user:{user.id}", before=before, after=after)
        uow.commit()
    return password


def _lock_state(user: User) -> dict[str, object]:
    return {"failed_logins": user.failed_logins, "locked_until": _iso(user.locked_until)}


def unlock_user(deps: Deps, admin: Caller, user_id: str) -> User:
    """Lift a lockout after too many wrong passwords (the count of failures starts again)."""
    with deps.uow() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        before = _lock_state(user)
        user = replace(user, failed_logins=0, locked_until=None)
        uow.users.save(user)
        _audit(uow, deps, admin.actor, "user.unlocked", f"user:{user.id}", before=before, after=_lock_state(user))
        uow.commit()
    return user


def update_user(deps: Deps, admin: Caller, user_id: str, *, full_name: str, printer_profile: str) -> User:
    """Change what an administrator may change about a person: the name printed on records and the desk's labels."""
    errors: dict[str, list[str]] = {}
    name = nfc(full_name or "").strip()
    if len(name) > 200:
        errors["full_name"] = ["At most 200 characters."]
    if printer_profile not in PRINTER_PROFILES:
        errors["printer_profile"] = [f"Must be one of: {', '.join(PRINTER_PROFILES)}."]
    with deps.uow() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        if errors:
            raise ValidationFailed(errors)
        before = {**_public(user), "full_name": user.full_name}
        user = replace(user, full_name=name, printer_profile=printer_profile)
        uow.users.save(user)
        after = {**_public(user), "full_name": user.full_name}
        _audit(uow, deps, admin.actor, "user.updated", f"user:{user.id}", before=before, after=after)
        uow.commit()
    return user


def set_disabled(deps: Deps, admin: Caller, user_id: str, *, disabled: bool) -> User:
    """Disable (ends every session at once) or re-enable an account."""
    with deps.uow() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        before = _public(user)
        now = deps.clock.now()
        user = replace(user, disabled_at=now if disabled else None)
        uow.users.save(user)
        if disabled:
            uow.users.revoke_sessions(now=now, user_id=user.id)
        action = "user.disabled" if disabled else "user.enabled"
        _audit(uow, deps, admin.actor, action, f"user:{user.id}", before=before, after=_public(user))
        uow.commit()
    return user


def list_users(deps: Deps) -> list[User]:
    with deps.uow() as uow:
        return uow.users.list()


def agency_caller(deps: Deps, user: User) -> Caller:
    """A counter or admin user acts for their agency, like an API key bound to it."""
    if user.agency_id is None:
        raise Unauthorized("This account is not attached to an agency.")
    with deps.uow() as uow:
        agency = uow.agencies.get(user.agency_id)
    if agency is None:
        raise Unauthorized("This account's agency no longer exists.")
    return Caller(agency=agency, user=user)
