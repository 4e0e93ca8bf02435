"""Small entities besides the consignment: agencies, API keys, outbox items and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from postal_bridge.domain.address import Address


@dataclass
class Agency:
    """A one-stop centre or agency (Trung tâm Phục vụ hành chính công / Bộ phận Một cửa)."""

    id: str
    code: str
    name: str
    phone: str  # E.164
    address: Address


@dataclass
class ApiKey:
    id: str
    agency_id: str
    name: str
    key_hash: str  # sha256 of the key; the key itself is shown once and never stored
    key_prefix: str
    webhook_secret: str
    created_at: datetime
    callback_url: str | None = None
    revoked_at: datetime | None = None
    scope: str = "agency"  # "admin" keys may also manage every agency's courier settings
    printer_profile: str = "pdf"  # the desk's default label format: pdf | zpl203 | zpl300
    previous_webhook_secret: str | None = None  # also signs callbacks during the rotation overlap
    secret_rotated_at: datetime | None = None
    callback_disabled_at: datetime | None = None  # the receiver answered 410 Gone


class OutboxKind(StrEnum):
    BOOK = "book"
    CANCEL_WITH_CARRIER = "cancel_with_carrier"
    RENDER_LABEL = "render_label"
    NOTIFY_DOSSIER = "notify_dossier"
    APPLY_TRACKING = "apply_tracking"  # fold a consignment's newly stored courier events
    SEND_SMS = "send_sms"  # one text to a citizen (services.sms), not before its sending time


class OutboxState(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    DEAD = "dead"


@dataclass
class OutboxItem:
    """A durable intent to do one external effect; the rq job is only a wake-up for it."""

    kind: OutboxKind
    payload: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    consignment_id: str | None = None
    ordering_key: str | None = None  # items sharing a key run one at a time, oldest first
    id: int | None = None
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    lease_until: datetime | None = None
    last_error: str | None = None
    completed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class IdempotencyRecord:
    principal_id: str  # who sent the key: an API key's id, or "user:<id>" for a signed-in person (keys are per caller)
    key: str
    fingerprint: str
    created_at: datetime
    state: str = "in_progress"  # in_progress | done
    response_status: int | None = None
    response_body: str | None = None
    resource_id: str | None = None


@dataclass
class CarrierConfig:
    """One agency's account with one courier: whether it is enabled and its settings (credentials included)."""

    agency_id: str
    carrier: str
    enabled: bool
    settings: dict[str, Any]
    updated_at: datetime


class HandoverDirection(StrEnum):
    TO_POST = "to_post"  # the one-stop centre hands results (returns) to the post
    TO_AGENCY = "to_agency"  # the post hands dossiers (pickups) or undelivered results back to the agency


@dataclass
class Handover:
    """A Biên bản giao nhận: many consignments changing hands at one time; that time is legally binding."""

    id: str
    agency_id: str
    direction: HandoverDirection
    consignment_ids: list[str]
    created_at: datetime
    created_by: str
    place: str = ""
    # Confirmed through a clerk's handover session: who signed for each side (by name), the agency side's account,
    # the expected items that were not there ("Thiếu so với danh sách") and a free note.
    post_signatory: str | None = None
    agency_signatory: str | None = None
    agency_confirmed_by: str | None = None
    missing_ids: list[str] = field(default_factory=list)
    note: str = ""
    session_id: str | None = None


@dataclass
class PrintRecord:
    consignment_id: str
    document: str  # label | slip
    printed_at: datetime
    actor: str
    reprint: bool


class Role(StrEnum):
    """What a signed-in person may do. Counter staff and admins belong to an agency, clerks to a post office."""

    COUNTER = "counter"  # agency staff at the one-stop counter (Bộ phận Một cửa)
    CLERK = "clerk"  # post-office staff (nhân viên bưu chính)
    ADMIN = "admin"  # the provincial office: every agency, users, keys, couriers, the outbox


@dataclass
class User:
    """A person who signs in to the pages. The password is stored only as an argon2 hash."""

    id: str
    username: str  # lower-case, [a-z0-9._-]
    full_name: str
    role: Role
    password_hash: str
    created_at: datetime
    agency_id: str | None = None  # counter and admin
    post_office_code: str | None = None  # clerk
    failed_logins: int = 0  # consecutive failures since the last success
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    disabled_at: datetime | None = None
    printer_profile: str = "pdf"  # the desk's label format: pdf | zpl203 | zpl300
    phone: str | None = None  # E.164; a clerk's number, shown to the citizen on the day the clerk delivers

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass
class UserSession:
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so logout revokes it."""

    token_hash: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
