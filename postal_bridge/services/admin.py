"""The provincial office's administration: agencies, post offices, people, API keys, courier and SMS settings, and the
outbox with its dead letters. What the ``/admin`` pages call.

Every function takes the administrator as a ``Caller`` (``admin.is_admin`` or ``Forbidden``), validates its input
before changing anything (``ValidationFailed`` naming each bad field), and writes every change to the audit log in the
same transaction, with what it was before and after — never a password, an API key or a webhook secret.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import ceil

from postal_bridge.domain.address import Address, Ward
from postal_bridge.domain.admin import AdminCounts, KeyListing, OutboxCounts, OutboxEntry, OutboxView, ReplayOutcome
from postal_bridge.domain.carriers import EnabledCarrier
from postal_bridge.domain.errors import Conflict, NotFound, ValidationFailed
from postal_bridge.domain.model import Agency, ApiKey, CarrierConfig, OutboxKind, OutboxState, Role, User
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.ports import UnitOfWork
from postal_bridge.domain.post_offices import CsvRowError, PostOffice, read_post_offices_csv
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.sms import SmsSettings
from postal_bridge.domain.text import nfc
from postal_bridge.services import accounts, booking, webhooks_admin
from postal_bridge.services import carriers as carrier_svc
from postal_bridge.services import sms as sms_svc
from postal_bridge.services.agencies import Caller, IssuedKey, checked_agency, create_api_key, public_key, require_admin
from postal_bridge.services.callbacks import check_callback_url
from postal_bridge.services.deps import Deps
from postal_bridge.services.post_offices import check_wards

AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,31}")  # used with fullmatch; fits agencies.code
SETTING_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_SETTING = 2000
MAX_REPLAY = 200
MAX_UPLOAD = 1 << 20
PER_PAGE = 50


def _audit(uow, deps: Deps, admin: Caller, action: str, subject: str, before: object, after: object) -> None:
    uow.audit.record(
        AuditEntry(
            at=deps.clock.now(),
            actor=admin.actor,
            action=action,
            subject=subject,
            details={"before": before, "after": after},
        )
    )


# --------------------------------------------------------------------------------------------------------------------
# Overview


def overview(deps: Deps, admin: Caller) -> AdminCounts:
    require_admin(admin)
    with deps.uow() as uow:
        return uow.admin.counts(now=deps.clock.now())


def recent_activity(deps: Deps, admin: Caller, limit: int = 8) -> list[AuditEntry]:
    """The latest entries of the audit log (who did what, when)."""
    require_admin(admin)
    with deps.uow() as uow:
        return uow.admin.audit_recent(limit)


def audit_entries(deps: Deps, admin: Caller, subject: str) -> list[AuditEntry]:
    """Everything the audit log holds about one subject (``user:<id>``, ``api_key:<id>``, ``agency:<code>``…)."""
    require_admin(admin)
    with deps.uow() as uow:
        return list(reversed(uow.audit.entries(subject=subject)))[:50]


# --------------------------------------------------------------------------------------------------------------------
# Agencies


@dataclass(frozen=True)
class AgencyRow:
    agency: Agency
    ward: Ward | None
    hotline: str | None  # E.164, from the agency's SMS settings; None: its phone is used
    sms_enabled: bool
    keys_active: int
    users: int


def _public_agency(agency: Agency, hotline: str | None) -> dict[str, object]:
    return {
        "code": agency.code,
        "name": agency.name,
        "phone": agency.phone,
        "address_line": agency.address.line,
        "ward_code": agency.address.ward_code,
        "province_code": agency.address.province_code,
        "hotline": hotline,
    }


def agencies(deps: Deps, admin: Caller) -> list[AgencyRow]:
    require_admin(admin)
    with deps.uow() as uow:
        keys = uow.admin.keys()
        people = uow.users.list()
        out = []
        for a in uow.agencies.list():
            settings = uow.sms.settings(a.id) or SmsSettings(agency_id=a.id)
            out.append(
                AgencyRow(
                    agency=a,
                    ward=uow.units.ward(a.address.ward_code),
                    hotline=settings.hotline,
                    sms_enabled=settings.enabled,
                    keys_active=sum(1 for k in keys if k.key.agency_id == a.id and k.key.revoked_at is None),
                    users=sum(1 for u in people if u.agency_id == a.id),
                )
            )
        return out


def agency(deps: Deps, admin: Caller, code: str) -> AgencyRow:
    found = next((row for row in agencies(deps, admin) if row.agency.code == (code or "").upper()), None)
    if found is None:
        raise NotFound(f"No agency with code {code!r}.")
    return found


def _hotline(raw: str | None, errors: dict[str, list[str]]) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return parse_phone(raw).e164
    except ValueError as exc:
        errors["hotline"] = [str(exc)]
        return None


def _validated_agency(uow: UnitOfWork, base: Agency, errors: dict[str, list[str]], **fields: str) -> Agency:
    """``base`` with ``fields`` applied and checked; every field error (the caller's first) raised together."""
    try:
        agency = checked_agency(uow, base, **fields)
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    return agency


def create_agency(
    deps: Deps,
    admin: Caller,
    *,
    code: str,
    name: str,
    phone: str,
    line: str,
    ward_code: str,
    province_code: str,
    hotline: str = "",
) -> Agency:
    """A new one-stop centre or agency; its code is how keys, users and the CLI name it and cannot change later."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    code = nfc(code or "").strip().upper()
    if not AGENCY_CODE.fullmatch(code):
        errors["code"] = ["2–32 characters: capital letters, digits, '.', '_' or '-' (e.g. HCC-HN)."]
    hotline_e164 = _hotline(hotline, errors)
    with deps.uow() as uow:
        if not errors.get("code") and uow.agencies.by_code(code) is not None:
            errors["code"] = ["This code is taken."]
        draft = Agency(id=str(uuid.uuid4()), code=code, name="", phone="", address=Address("", "", ""))
        created = _validated_agency(
            uow, draft, errors, name=name, phone=phone, line=line, ward_code=ward_code, province_code=province_code
        )
        uow.agencies.add(created)
        if hotline_e164:
            uow.sms.put_settings(SmsSettings(agency_id=created.id, hotline=hotline_e164, updated_at=deps.clock.now()))
        _audit(uow, deps, admin, "agency.created", f"agency:{code}", None, _public_agency(created, hotline_e164))
        uow.commit()
    return created


def update_agency(
    deps: Deps,
    admin: Caller,
    code: str,
    *,
    name: str,
    phone: str,
    line: str,
    ward_code: str,
    province_code: str,
    hotline: str = "",
) -> Agency:
    """Change an agency's name, phone, address and hotline (the number texts and the tracking page give citizens)."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    hotline_e164 = _hotline(hotline, errors)
    with deps.uow() as uow:
        current = uow.agencies.by_code((code or "").upper())
        if current is None:
            raise NotFound(f"No agency with code {code!r}.")
        changed = _validated_agency(
            uow, current, errors, name=name, phone=phone, line=line, ward_code=ward_code, province_code=province_code
        )
        settings = uow.sms.settings(current.id) or SmsSettings(agency_id=current.id)
        before = _public_agency(current, settings.hotline)
        uow.admin.save_agency(changed)
        if settings.hotline != hotline_e164:
            uow.sms.put_settings(replace(settings, hotline=hotline_e164, updated_at=deps.clock.now()))
        after = _public_agency(changed, hotline_e164)
        if before != after:
            _audit(uow, deps, admin, "agency.updated", f"agency:{current.code}", before, after)
        uow.commit()
    return changed


# --------------------------------------------------------------------------------------------------------------------
# Post offices


@dataclass(frozen=True)
class OfficeDetail:
    office: PostOffice
    ward: Ward | None
    service_wards: list[tuple[str, Ward | None]]
    clerks: list[User]


def offices(deps: Deps, admin: Caller, province_code: str | None = None) -> list[PostOffice]:
    require_admin(admin)
    with deps.uow() as uow:
        return uow.post_offices.in_province(province_code) if province_code else uow.post_offices.all()


def office_detail(deps: Deps, admin: Caller, code: str) -> OfficeDetail:
    require_admin(admin)
    with deps.uow() as uow:
        office = uow.post_offices.get(code)
        if office is None:
            raise NotFound(f"No post office with code {code!r}.")
        return OfficeDetail(
            office=office,
            ward=uow.units.ward(office.ward_code),
            service_wards=[(w, uow.units.ward(w)) for w in sorted(office.service_wards)],
            clerks=uow.users.list(post_office_code=office.code),
        )


@dataclass(frozen=True)
class OfficeUpload:
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    problems: tuple[CsvRowError, ...] = field(default_factory=tuple)  # nothing was stored when there are any

    @property
    def stored(self) -> int:
        return len(self.created) + len(self.updated)


def _public_office(o: PostOffice) -> dict[str, object]:
    return {
        "name": o.name,
        "address_line": o.address_line,
        "ward_code": o.ward_code,
        "province_code": o.province_code,
        "lat": o.lat,
        "lon": o.lon,
        "phone": o.phone,
        "service_wards": sorted(o.service_wards),
    }


def upload_offices(deps: Deps, admin: Caller, data: bytes) -> OfficeUpload:
    """Load a registry CSV (the ``load-post-offices`` format) uploaded by an administrator: every bad line is
    reported and then nothing is stored; otherwise every office is created or updated in one transaction."""
    require_admin(admin)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed({"file": ["The file is larger than 1 MB."]})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"file": ["The file is not UTF-8 text (save it as CSV UTF-8)."]}) from None
    if not text.strip():
        raise ValidationFailed({"file": ["Choose a CSV file."]})
    rows, problems = read_post_offices_csv(text)
    problems = sorted(problems + check_wards(deps, rows), key=lambda p: p.line)
    if problems:
        return OfficeUpload(problems=tuple(problems))
    created, updated, unchanged = [], [], []
    with deps.uow() as uow:
        for _, office in rows:
            current = uow.post_offices.get(office.code)
            if current == office:
                unchanged.append(office.code)
                continue
            uow.post_offices.upsert(office)
            (updated if current else created).append(office.code)
            _audit(
                uow,
                deps,
                admin,
                "post_office.updated" if current else "post_office.created",
                f"post_office:{office.code}",
                _public_office(current) if current else None,
                _public_office(office),
            )
        uow.commit()
    if deps.post_offices is not None and (created or updated):
        deps.post_offices.invalidate()  # the upload wrote inside its own transaction, not through the registry
    return OfficeUpload(created=tuple(created), updated=tuple(updated), unchanged=tuple(unchanged))


# --------------------------------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True)
class UserRow:
    user: User
    agency_code: str | None
    office_name: str | None
    locked: bool

    @property
    def status(self) -> str:
        if self.user.disabled_at is not None:
            return "disabled"
        return "locked" if self.locked else "active"


USER_STATUSES = ("active", "locked", "disabled")


def users(
    deps: Deps,
    admin: Caller,
    *,
    role: str | None = None,
    agency_code: str | None = None,
    office_code: str | None = None,
    status: str | None = None,
) -> list[UserRow]:
    require_admin(admin)
    now = deps.clock.now()
    with deps.uow() as uow:
        by_id = {a.id: a.code for a in uow.agencies.list()}
        names = {o.code: o.name for o in uow.post_offices.all()}
        rows = [
            UserRow(
                user=u,
                agency_code=by_id.get(u.agency_id or ""),
                office_name=names.get(u.post_office_code or ""),
                locked=u.locked_until is not None and u.locked_until > now,
            )
            for u in uow.users.list()
        ]
    return [
        r
        for r in rows
        if (not role or r.user.role.value == role)
        and (not agency_code or r.agency_code == agency_code.upper())
        and (not office_code or r.user.post_office_code == office_code)
        and (not status or r.status == status)
    ]


def user(deps: Deps, admin: Caller, user_id: str) -> UserRow:
    found = next((r for r in users(deps, admin) if r.user.id == user_id), None)
    if found is None:
        raise NotFound("No user with this id.")
    return found


def create_user(
    deps: Deps,
    admin: Caller,
    *,
    username: str,
    role: str,
    agency_code: str | None,
    post_office_code: str | None,
    full_name: str = "",
    printer_profile: str = "pdf",
) -> tuple[User, str]:
    """A new account with a generated password, returned once to be shown once (it is stored only hashed)."""
    require_admin(admin)
    # The form offers both places; the role decides which one counts.
    if role == Role.CLERK.value:
        agency_code = None
    elif role in (Role.COUNTER.value, Role.ADMIN.value):
        post_office_code = None
    return accounts.create_user(
        deps,
        username=username,
        role=role,
        agency_code=agency_code or None,
        post_office_code=post_office_code or None,
        full_name=full_name,
        printer_profile=printer_profile,
        actor=admin.actor,
    )


def _not_self(admin: Caller, user_id: str, message: str) -> None:
    if admin.user is not None and admin.user.id == user_id:
        raise Conflict(message)


def reset_password(deps: Deps, admin: Caller, user_id: str) -> str:
    require_admin(admin)
    _not_self(admin, user_id, "Change your own password on the account page.")
    return accounts.reset_password(deps, admin, user_id)


def set_disabled(deps: Deps, admin: Caller, user_id: str, *, disabled: bool) -> User:
    require_admin(admin)
    if disabled:
        _not_self(admin, user_id, "You cannot disable your own account.")
    return accounts.set_disabled(deps, admin, user_id, disabled=disabled)


def unlock_user(deps: Deps, admin: Caller, user_id: str) -> User:
    require_admin(admin)
    return accounts.unlock_user(deps, admin, user_id)


def update_user(deps: Deps, admin: Caller, user_id: str, *, full_name: str, printer_profile: str) -> User:
    require_admin(admin)
    return accounts.update_user(deps, admin, user_id, full_name=full_name, printer_profile=printer_profile)


# --------------------------------------------------------------------------------------------------------------------
# API keys


def keys(deps: Deps, admin: Caller, agency_code: str | None = None) -> list[KeyListing]:
    require_admin(admin)
    with deps.uow() as uow:
        agency_id = None
        if agency_code:
            found = uow.agencies.by_code(agency_code.upper())
            if found is None:
                raise NotFound(f"No agency with code {agency_code!r}.")
            agency_id = found.id
        return uow.admin.keys(agency_id=agency_id)


def key(deps: Deps, admin: Caller, key_id: str) -> KeyListing:
    found = next((k for k in keys(deps, admin) if k.key.id == key_id), None)
    if found is None:
        raise NotFound("No API key with this id.")
    return found


def create_key(
    deps: Deps,
    admin: Caller,
    *,
    agency_code: str,
    name: str,
    callback_url: str | None,
    admin_scope: bool = False,
    printer_profile: str = "pdf",
) -> IssuedKey:
    """A new key for an agency; the key and its webhook secret are in the answer, and nowhere else ever again."""
    require_admin(admin)
    with deps.uow() as uow:
        known = bool(agency_code) and uow.agencies.by_code(agency_code.strip().upper()) is not None
    unknown = {} if known else {"agency": ["Choose an agency."]}
    try:
        return create_api_key(
            deps,
            agency_code=(agency_code or "").strip(),
            name=name,
            callback_url=callback_url,
            admin=admin_scope,
            printer_profile=printer_profile,
            actor=admin.actor,
        )
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **unknown}) from None
    except NotFound:
        raise ValidationFailed(unknown) from None


def revoke_key(deps: Deps, admin: Caller, key_id: str) -> ApiKey:
    """The key stops authenticating at once; its consignments and history stay."""
    require_admin(admin)
    now = deps.clock.now()
    with deps.uow() as uow:
        current = uow.api_keys.get(key_id)
        if current is None:
            raise NotFound("No API key with this id.")
        if current.revoked_at is not None:
            raise Conflict("This key is already revoked.")
        code = uow.agencies.get(current.agency_id).code  # type: ignore[union-attr]
        uow.admin.revoke_key(key_id, at=now)
        revoked = replace(current, revoked_at=now)
        _audit(
            uow,
            deps,
            admin,
            "api_key.revoked",
            f"api_key:{key_id}",
            public_key(current, code),
            public_key(revoked, code),
        )
        uow.commit()
    return revoked


def rotate_secret(deps: Deps, admin: Caller, key_id: str, *, overlap_hours: int) -> webhooks_admin.RotatedSecret:
    require_admin(admin)
    return webhooks_admin.rotate_secret_details(deps, key_id, overlap_hours=overlap_hours, actor=admin.actor)


def set_callback_url(deps: Deps, admin: Caller, key_id: str, url: str | None) -> ApiKey:
    """Where the key's status changes are POSTed (``None`` or empty: nowhere), checked against the same SSRF rules as
    ``create-api-key --callback-url``; a new address also lifts a 410 Gone of the old one."""
    require_admin(admin)
    url = (url or "").strip() or None
    if url:
        if len(url) > 500:
            raise ValidationFailed({"callback_url": ["At most 500 characters."]})
        check_callback_url(url, resolve=deps.resolve_host, allow_private=deps.allow_private_callbacks)
    with deps.uow() as uow:
        current = uow.api_keys.get(key_id)
        if current is None:
            raise NotFound("No API key with this id.")
        if current.revoked_at is not None:
            raise Conflict("This key is revoked.")
        code = uow.agencies.get(current.agency_id).code  # type: ignore[union-attr]
        uow.admin.set_callback_url(key_id, url)
        changed = replace(current, callback_url=url, callback_disabled_at=None)
        _audit(
            uow,
            deps,
            admin,
            "api_key.callback_changed",
            f"api_key:{key_id}",
            public_key(current, code),
            public_key(changed, code),
        )
        uow.commit()
    return changed


# --------------------------------------------------------------------------------------------------------------------
# Couriers and SMS per agency


@dataclass(frozen=True)
class CarrierRow:
    code: str
    configured: bool  # settings stored for this agency
    enabled: bool  # as stored (a courier without settings counts as off, the sandbox aside)
    usable: bool  # the agency can book with it now
    settings: dict[str, str]  # secrets masked
    secret_keys: frozenset[str]
    updated_at: object = None


def carriers(deps: Deps, admin: Caller, agency_code: str) -> tuple[Agency, list[CarrierRow], SmsSettings]:
    require_admin(admin)
    configs = {c.carrier: c for c in carrier_svc.carrier_settings(deps, agency_code)}
    found, sms_settings = sms_svc.sms_settings(deps, agency_code)
    usable: set[str] = {e.code for e in _enabled(deps, found.id)}
    rows = []
    for code in sorted(set(deps.known_carriers) | set(configs)):
        config = configs.get(code)
        stored = dict(config.settings) if config else {}
        rows.append(
            CarrierRow(
                code=code,
                configured=config is not None,
                enabled=config.enabled if config else code in usable,
                usable=code in usable,
                settings=carrier_svc.masked(stored),
                secret_keys=frozenset(k for k in stored if carrier_svc.is_secret_setting(k)),
                updated_at=config.updated_at if config else None,
            )
        )
    return found, rows, sms_settings


def _enabled(deps: Deps, agency_id: str) -> list[EnabledCarrier]:
    try:
        return deps.carriers.enabled(agency_id)
    except Exception:  # noqa: BLE001 - a courier whose settings cannot build an adapter is simply not usable
        return []


def configure_carrier(
    deps: Deps,
    admin: Caller,
    agency_code: str,
    carrier: str,
    *,
    enabled: bool,
    values: Mapping[str, str],
    remove: Sequence[str] = (),
) -> CarrierConfig:
    """Switch a courier on or off for an agency and change its settings: ``values`` are set (an empty value keeps
    what is stored), ``remove`` are deleted. Secret values are only ever written, never read back."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    current = next((c for c in carrier_svc.carrier_settings(deps, agency_code) if c.carrier == carrier), None)
    stored = set(current.settings) if current else set()
    changes: dict[str, str] = {"enabled": "1" if enabled else "0"}
    for name, value in values.items():
        if name not in stored and not SETTING_KEY.fullmatch(name):
            errors.setdefault("new_key", []).append(
                "A setting's name is 1–40 lower-case letters, digits or '_', starting with a letter."
            )
            continue
        if len(value) > MAX_SETTING:
            field_name = f"value:{name}" if name in stored else "new_value"
            errors.setdefault(field_name, []).append(f"At most {MAX_SETTING} characters.")
        elif value.strip():
            changes[name] = value.strip()
    for name in remove:
        changes[name] = ""
    if carrier not in deps.known_carriers:
        errors["carrier"] = [f"Unknown courier {carrier!r}."]
    if errors:
        raise ValidationFailed(errors)
    return carrier_svc.configure_carrier(
        deps, agency_code=agency_code, carrier=carrier, values=changes, actor=admin.actor
    )


def configure_sms(deps: Deps, admin: Caller, agency_code: str, *, enabled: bool, sender: str) -> SmsSettings:
    require_admin(admin)
    return sms_svc.configure_sms(
        deps,
        agency_code=agency_code,
        values={"enabled": "1" if enabled else "0", "sender": sender or ""},
        actor=admin.actor,
    )


# --------------------------------------------------------------------------------------------------------------------
# The outbox


@dataclass(frozen=True)
class OutboxPage:
    entries: list[OutboxEntry]
    total: int
    counts: OutboxCounts
    page: int
    pages: int


def outbox(
    deps: Deps,
    admin: Caller,
    *,
    view: str = OutboxView.OPEN.value,
    kind: str | None = None,
    agency_code: str | None = None,
    page: int = 1,
) -> OutboxPage:
    """One page of the outbox: what is waiting, retrying, in flight, dead (first) or done, filtered."""
    require_admin(admin)
    errors: dict[str, list[str]] = {}
    try:
        chosen_view = OutboxView(view or OutboxView.OPEN.value)
    except ValueError:
        errors["view"] = [f"Must be one of: {', '.join(v.value for v in OutboxView)}."]
        chosen_view = OutboxView.OPEN
    chosen_kind = None
    if kind:
        try:
            chosen_kind = OutboxKind(kind)
        except ValueError:
            errors["kind"] = [f"Must be one of: {', '.join(k.value for k in OutboxKind)}."]
    if errors:
        raise ValidationFailed(errors)
    page = max(1, page)
    with deps.uow() as uow:
        agency_id = None
        if agency_code:
            found = uow.agencies.by_code(agency_code.upper())
            if found is None:
                raise ValidationFailed({"agency": [f"No agency with code {agency_code!r}."]})
            agency_id = found.id
        entries, total = uow.admin.outbox(
            view=chosen_view, kind=chosen_kind, agency_id=agency_id, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
        )
        counts = uow.admin.outbox_counts(kind=chosen_kind, agency_id=agency_id)
    return OutboxPage(entries=entries, total=total, counts=counts, page=page, pages=max(1, ceil(total / PER_PAGE)))


def replay(deps: Deps, admin: Caller, ids: Sequence[int], *, reenable: bool = False) -> ReplayOutcome:
    """Send dead outbox items again: back to pending, attempts reset, due now. Callbacks keep their webhook id and
    body (``webhooks_admin``), and go again only if their key still has a usable endpoint (``reenable`` lifts a
    410 Gone); a failed text goes back to queued so its handler re-checks and sends it. Items no longer dead are left
    alone, so replaying twice (or two administrators at once) re-queues each item exactly once."""
    require_admin(admin)
    chosen = sorted({int(i) for i in ids})
    if not chosen:
        raise ValidationFailed({"ids": ["Choose at least one dead item."]})
    if len(chosen) > MAX_REPLAY:
        raise ValidationFailed({"ids": [f"At most {MAX_REPLAY} items at a time."]})
    now = deps.clock.now()
    with deps.uow() as uow:
        items = {i: uow.outbox.get(i) for i in chosen}
        dead = {i: item for i, item in items.items() if item is not None and item.state == OutboxState.DEAD}
        hooks = [i for i, item in dead.items() if item.kind == OutboxKind.NOTIFY_DOSSIER]
        records = uow.alerts.webhooks(ids=hooks, state=OutboxState.DEAD.value, limit=None) if hooks else []
        hook_ids, unusable, reenabled = webhooks_admin.requeue_in(uow, records, now=now, reenable=reenable)
        others = uow.admin.requeue_dead(
            [i for i in dead if i not in hooks], now=now, exclude_kind=OutboxKind.NOTIFY_DOSSIER
        )
        # A replayed booking starts its attempts afresh; the courier may hold the order of an earlier one whose answer
        # was lost, so it looks the order up by reference before creating one (no second order).
        uow.admin.set_payloads(
            {i: {**dead[i].payload, booking.LOOK_UP_FIRST: True} for i in others if dead[i].kind == OutboxKind.BOOK}
        )
        texts = [str(dead[i].payload.get("message_id")) for i in others if dead[i].kind == OutboxKind.SEND_SMS]
        uow.admin.requeue_sms([t for t in texts if t], at=now)
        requeued = sorted(set(hook_ids) | set(others))
        for i in requeued:
            item = dead[i]
            _audit(
                uow,
                deps,
                admin,
                "outbox.replayed",
                f"outbox:{i}",
                {"state": item.state.value, "attempts": item.attempts, "kind": item.kind.value},
                {"state": OutboxState.PENDING.value, "attempts": 0, "kind": item.kind.value},
            )
        uow.commit()
    deps.wake(requeued)
    return ReplayOutcome(
        requeued=tuple(requeued),
        # not dead when read, or re-queued by a replay that committed between our read and our update
        not_dead=tuple(i for i in chosen if i not in requeued and i not in unusable),
        endpoint_unusable=tuple(unusable),
        reenabled=reenabled,
    )
