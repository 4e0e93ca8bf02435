"""Agencies and API keys: registering one-stop centres, issuing keys shown once, authenticating requests."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, replace

from postal_bridge.domain.address import Address, validate_address_codes
from postal_bridge.domain.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from postal_bridge.domain.model import Agency, ApiKey, Role, User
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.text import nfc
from postal_bridge.domain.webhooks import new_webhook_secret
from postal_bridge.services.callbacks import check_callback_url
from postal_bridge.services.deps import Deps

KEY_PREFIX = "pb_"
PRINTER_PROFILES = ("pdf", "zpl203", "zpl300")  # the desk's label format


def hash_key(raw_key: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 is enough to store them (ASVS: ≥ 112 bits)."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: str  # shown once
    webhook_secret: str
    key: ApiKey


@dataclass(frozen=True)
class Caller:
    """Who is acting for an agency: a system with an API key, or a person signed in to the pages (counter staff or an
    admin). Either way the agency bounds what they may see; ``actor`` is what events and the audit log record."""

    agency: Agency
    key: ApiKey | None = None
    user: User | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.user is None):
            raise ValueError("a Caller is either an API key or a signed-in user")

    @property
    def actor(self) -> str:
        if self.key is not None:
            return f"api_key:{self.key.key_prefix}"
        assert self.user is not None
        return f"user:{self.user.username}"

    @property
    def principal_id(self) -> str:
        """Whose Idempotency-Keys these are: keys never collide between callers."""
        if self.key is not None:
            return self.key.id
        assert self.user is not None
        return f"user:{self.user.id}"

    @property
    def api_key_id(self) -> str | None:
        """The key that created a consignment (its callbacks go to that key's URL); None for a person."""
        return self.key.id if self.key is not None else None

    @property
    def is_admin(self) -> bool:
        if self.key is not None:
            return self.key.scope == "admin"
        assert self.user is not None
        return self.user.role == Role.ADMIN

    @property
    def printer_profile(self) -> str:
        source = self.key if self.key is not None else self.user
        assert source is not None
        return source.printer_profile


def register_agency(
    deps: Deps, *, code: str, name: str, phone: str, line: str, ward_code: str, province_code: str
) -> Agency:
    """Create an agency, or return the existing one with that code (seeding is idempotent)."""
    code = nfc(code).upper()
    with deps.uow() as uow:
        existing = uow.agencies.by_code(code)
        if existing:
            return existing
        agency = Agency(id=str(uuid.uuid4()), code=code, name=nfc(name), phone="", address=Address("", "", ""))
        agency = checked_agency(
            uow,
            agency,
            name=name,
            phone=phone,
            line=line,
            ward_code=ward_code,
            province_code=province_code,
            require_name=False,
        )
        uow.agencies.add(agency)
        uow.commit()
        return agency


def checked_agency(
    uow,
    agency: Agency,
    *,
    name: str,
    phone: str,
    line: str,
    ward_code: str,
    province_code: str,
    require_name: bool = True,
) -> Agency:
    """``agency`` with these details, or ``ValidationFailed`` naming each bad field (the address against the 2025
    list of wards, the phone as a Vietnamese number)."""
    ward_code, province_code = (ward_code or "").strip(), (province_code or "").strip()
    address = Address(line=nfc(line or "").strip(), ward_code=ward_code, province_code=province_code)
    errors = validate_address_codes(address, uow.units.ward(ward_code) if ward_code else None)
    name = nfc(name or "").strip()
    if require_name and (not name or len(name) > 200):
        errors["name"] = ["Required, at most 200 characters."]
    e164 = ""
    if not (phone or "").strip():
        errors["phone"] = ["Required."]
    else:
        try:
            e164 = parse_phone(phone).e164
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    return replace(agency, name=name, phone=e164, address=address)


def list_agencies(deps: Deps) -> list[Agency]:
    with deps.uow() as uow:
        return uow.agencies.list()


def create_api_key(
    deps: Deps,
    *,
    agency_code: str,
    name: str,
    callback_url: str | None = None,
    raw_key: str | None = None,
    admin: bool = False,
    printer_profile: str = "pdf",
    actor: str | None = None,
) -> IssuedKey:
    """Issue a key bound to one agency. ``raw_key`` lets the demo seed use a stable, derived key. With ``actor`` (an
    administrator on the pages, the CLI) the issue is written to the audit log."""
    errors: dict[str, list[str]] = {}
    name = nfc(name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["Required, at most 100 characters."]
    if printer_profile not in PRINTER_PROFILES:
        errors["printer_profile"] = [f"Must be one of: {', '.join(PRINTER_PROFILES)}."]
    callback_url = (callback_url or "").strip() or None
    if callback_url:
        try:
            check_callback_url(callback_url, resolve=deps.resolve_host, allow_private=deps.allow_private_callbacks)
        except ValidationFailed as exc:
            errors.update(exc.errors)
        if len(callback_url) > 500:
            errors["callback_url"] = ["At most 500 characters."]
    if errors:
        raise ValidationFailed(errors)
    raw = raw_key or KEY_PREFIX + secrets.token_urlsafe(32)
    with deps.uow() as uow:
        agency = uow.agencies.by_code(agency_code.upper())
        if agency is None:
            raise NotFound(f"No agency with code {agency_code!r}; list them with `postal-bridge agencies`.")
        existing = uow.api_keys.by_hash(hash_key(raw))
        if existing:
            return IssuedKey(api_key=raw, webhook_secret=existing.webhook_secret, key=existing)
        key = ApiKey(
            id=str(uuid.uuid4()),
            agency_id=agency.id,
            name=name,
            key_hash=hash_key(raw),
            key_prefix=raw[:10],
            webhook_secret=new_webhook_secret(),
            callback_url=callback_url,
            created_at=deps.clock.now(),
            scope="admin" if admin else "agency",
            printer_profile=printer_profile,
        )
        uow.api_keys.add(key)
        if actor:
            uow.audit.record(
                AuditEntry(
                    at=key.created_at,
                    actor=actor,
                    action="api_key.created",
                    subject=f"api_key:{key.id}",
                    details={"before": None, "after": public_key(key, agency.code)},
                )
            )
        uow.commit()
        return IssuedKey(api_key=raw, webhook_secret=key.webhook_secret, key=key)


def public_key(key: ApiKey, agency_code: str) -> dict[str, object]:
    """What the audit log keeps of a key: never the key, its hash or a webhook secret."""
    return {
        "agency": agency_code,
        "name": key.name,
        "key_prefix": key.key_prefix,
        "scope": key.scope,
        "printer_profile": key.printer_profile,
        "callback_url": key.callback_url,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "secret_rotated_at": key.secret_rotated_at.isoformat() if key.secret_rotated_at else None,
        "callback_disabled": key.callback_disabled_at is not None,
    }


def authenticate(deps: Deps, raw_key: str | None) -> Caller:
    """The caller behind a bearer key; any failure is the same ``Unauthorized`` so keys cannot be probed."""
    if not raw_key:
        raise Unauthorized("Missing API key: send `Authorization: Bearer <api_key>`.")
    with deps.reader() as uow:
        key = uow.api_keys.by_hash(hash_key(raw_key))
        if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, hash_key(raw_key)):
            raise Unauthorized("The API key is unknown or revoked.")
        agency = uow.agencies.get(key.agency_id)
        assert agency is not None
        return Caller(key=key, agency=agency)


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise Forbidden("This needs an admin API key (`postal-bridge create-api-key --admin`).")
