"""Ports: what the services need from the outside, as Protocols. Concrete classes are wired in ``bootstrap.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from postal_bridge.domain.address import Ward
from postal_bridge.domain.addressing import LegacyRecord, UnitRecord
from postal_bridge.domain.carriers import TrackingEvent
from postal_bridge.domain.consignment import Consignment
from postal_bridge.domain.counter import CounterRow, ListFilter
from postal_bridge.domain.dossier_snapshots import DossierSnapshot
from postal_bridge.domain.labels import HandoverContent, LabelContent, SlipContent
from postal_bridge.domain.model import (
    Agency,
    ApiKey,
    CarrierConfig,
    Handover,
    IdempotencyRecord,
    OutboxItem,
    PrintRecord,
    User,
    UserSession,
)
from postal_bridge.domain.sms import (
    SmsMessage,
    SmsReport,
    SmsReportRequest,
    SmsSendResult,
    SmsSettings,
    SmsStatus,
)
from postal_bridge.domain.webhooks import DeliveryResult, WebhookDelivery


class Clock(Protocol):
    def now(self) -> datetime: ...


class LabelRenderer(Protocol):
    """Documents as bytes: PDF by default; ZPL (text) for thermal printers at 203 or 300 dpi."""

    def render_label(self, content: LabelContent) -> bytes: ...

    def render_labels(self, contents: list[LabelContent]) -> bytes: ...

    def render_labels_zpl(self, contents: list[LabelContent], dpi: int = 203) -> str: ...

    def render_slip(self, content: SlipContent) -> bytes: ...

    def render_handover(self, content: HandoverContent) -> bytes: ...


class WebhookSender(Protocol):
    def send(self, delivery: WebhookDelivery) -> DeliveryResult: ...


class SmsGateway(Protocol):
    """An SMS gateway account (eSMS, SpeedSMS, the console).

    ``send`` hands one message over, using ``message.id`` as the request id the gateway deduplicates on (eSMS
    ``RequestId``), and returns the gateway's id for it. It raises ``SmsTransientError`` when trying again later can
    help (timeouts, 5xx, rate limits, account problems a person can fix) and ``SmsPermanentError`` when this message
    can never go out (bad or blocked number, refused content). ``parse_reports`` reads a delivery report that reached
    ``/webhooks/sms/<name>/<secret>``; it raises ``SmsReportInvalid`` for a body not in the gateway's format.
    """

    name: str

    def send(self, message: SmsMessage) -> SmsSendResult: ...

    def parse_reports(self, request: SmsReportRequest) -> list[SmsReport]: ...


class JobQueue(Protocol):
    """Wake-up calls for workers. Losing one is harmless: the relay finds due outbox rows in the database."""

    def enqueue_outbox(self, outbox_ids: Sequence[int]) -> None: ...

    def wake_drain(self) -> None:
        """Make sure a drain job (``outbox.drain``: whatever is due) is queued; one for any number of calls made
        before it starts."""
        ...

    def drain_started(self) -> None:
        """Called by a drain job before it looks for due items: a wake-up after this queues another drain."""
        ...

    def enqueue_poll(self, consignment_ids: Sequence[str]) -> None: ...

    def ping(self) -> bool: ...


class AgencyRepository(Protocol):
    def add(self, agency: Agency) -> None: ...

    def get(self, agency_id: str) -> Agency | None: ...

    def by_code(self, code: str) -> Agency | None: ...

    def list(self) -> list[Agency]: ...


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def by_hash(self, key_hash: str) -> ApiKey | None: ...

    def callback_keys(self, agency_id: str) -> list[ApiKey]: ...

    def for_agency(self, agency_id: str) -> list[ApiKey]: ...


class UnitsRepository(Protocol):
    def ward(self, code: str) -> Ward | None: ...

    def count(self) -> tuple[int, int]: ...


class UnitsCatalog(Protocol):
    """The administrative units as read-only reference data, loaded once per process to build the address resolver."""

    def wards_2025(self) -> list[UnitRecord]: ...

    def legacy(self) -> list[LegacyRecord]: ...

    def provinces(self) -> list[tuple[str, str]]: ...


class ConsignmentRepository(Protocol):
    def add(self, consignment: Consignment) -> None: ...

    def get(self, consignment_id: str, *, agency_id: str | None = None) -> Consignment | None: ...

    def by_token(self, token: str) -> Consignment | None: ...

    def get_many(self, consignment_ids: Sequence[str]) -> dict[str, Consignment]:
        """Several consignments at once (unknown ids are left out); each may then be saved."""
        ...

    def save(self, consignment: Consignment) -> None: ...

    def save_many(self, consignments: Sequence[Consignment]) -> None:
        """``save`` for several at once; ``Conflict`` (nothing written) when any was changed meanwhile."""
        ...

    def search(
        self, *, agency_id: str, dossier_code: str | None, status: str | None, offset: int, limit: int
    ) -> tuple[list[Consignment], int]: ...

    def find_id(self, carrier: str, *, tracking_code: str | None = None, client_ref: str | None = None) -> str | None:
        """The consignment a courier reference belongs to (tracking code, or our client reference)."""
        ...

    def find_ids(
        self, carrier: str, *, tracking_codes: Sequence[str], client_refs: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``find_id`` for a whole push at once: (tracking code → id, client reference → id), newest first."""
        ...

    def due_for_poll(self, *, carriers: Sequence[str], now: datetime, limit: int) -> list[str]: ...

    def poll_failures(self, consignment_id: str) -> int: ...

    def schedule_poll(self, consignment_ids: Sequence[str], *, next_at: datetime, failures: int = 0) -> None: ...


class CarrierEventRepository(Protocol):
    """Raw courier events, stored first (deduplicated per courier), folded into consignments later."""

    def add_if_new(self, event: TrackingEvent, *, consignment_id: str | None, received_at: datetime) -> bool: ...

    def add_many_if_new(
        self, events: Sequence[tuple[TrackingEvent, str | None]], *, received_at: datetime
    ) -> list[bool]:
        """``add_if_new`` for (event, consignment id) pairs in one go; whether each was new (in the order given)."""
        ...

    def pending(self, consignment_id: str) -> list[tuple[int, TrackingEvent]]: ...

    def pending_many(self, consignment_ids: Sequence[str]) -> dict[str, list[tuple[int, TrackingEvent]]]:
        """``pending`` for several consignments at once (those without pending events are left out)."""
        ...

    def settle(self, event_id: int, *, applied: bool) -> None: ...

    def settle_many(self, settled: Sequence[tuple[int, bool]]) -> None:
        """``settle`` for (event id, applied) pairs."""
        ...

    def adopt(self, carrier: str, carrier_ref: str, consignment_id: str) -> int:
        """Attach events that arrived before we knew the tracking code; returns how many."""
        ...


class CarrierSettingsRepository(Protocol):
    def get(self, agency_id: str, carrier: str) -> CarrierConfig | None: ...

    def put(self, config: CarrierConfig) -> None: ...

    def for_agency(self, agency_id: str) -> list[CarrierConfig]: ...

    def for_carrier(self, carrier: str) -> list[CarrierConfig]: ...


class CursorRepository(Protocol):
    def get(self, agency_id: str, carrier: str) -> str | None: ...

    def put(self, agency_id: str, carrier: str, cursor: str | None, now: datetime) -> None: ...


class OutboxRepository(Protocol):
    def add(self, item: OutboxItem) -> None: ...

    def add_many(self, items: Sequence[OutboxItem]) -> None:
        """Insert in order (ids ascending in the order given) and set each item's id."""
        ...

    def get(self, item_id: int) -> OutboxItem | None: ...

    def claim(self, item_id: int, *, now: datetime, lease_until: datetime) -> OutboxItem | None: ...

    # ``attempt`` is the claim's attempt number: a fencing token, so a worker whose lease expired (and whose item was
    # claimed again by another) cannot overwrite the newer outcome. Each returns False when the claim was lost.
    def complete(self, item_id: int, *, attempt: int, now: datetime) -> bool: ...

    def retry_later(self, item_id: int, *, attempt: int, next_attempt_at: datetime, error: str) -> bool: ...

    def dead(self, item_id: int, *, attempt: int, now: datetime, error: str) -> bool: ...

    def due(self, *, now: datetime, limit: int) -> list[int]: ...

    def next_in_group(self, ordering_key: str) -> int | None: ...

    # The same for several items at once (a batch job): one statement each instead of one per item.
    def claim_many(
        self, item_ids: Sequence[int], *, kinds: Sequence[str], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]: ...

    def claim_due(
        self, *, shares: Sequence[tuple[Sequence[str], int]], now: datetime, lease_until: datetime
    ) -> list[OutboxItem]:
        """For each (kinds, limit) share, the oldest claimable items of those kinds, at most limit, all claimed at
        once (a drain job's round)."""
        ...

    def complete_many(self, claims: Sequence[tuple[int, int]], *, now: datetime) -> set[int]: ...

    def release_many(self, claims: Sequence[tuple[int, int]]) -> set[int]: ...

    def next_in_groups(self, ordering_keys: Sequence[str]) -> list[int]: ...

    def counts(self) -> dict[str, int]: ...


class IdempotencyRepository(Protocol):
    def insert(self, record: IdempotencyRecord) -> bool: ...

    def insert_done(self, record: IdempotencyRecord) -> bool:
        """Store a finished request's key with its answer; ``False`` (and nothing written) if the key exists."""
        ...

    def get(self, principal_id: str, key: str) -> IdempotencyRecord | None: ...

    def take_over(self, principal_id: str, key: str, *, stale_before: datetime, now: datetime) -> bool: ...

    def complete(
        self,
        principal_id: str,
        key: str,
        *,
        claimed_at: datetime,
        status: int,
        body: str,
        resource_id: str,
        now: datetime,
    ) -> bool: ...


class LabelRepository(Protocol):
    def get(self, consignment_id: str, tracking_code: str) -> bytes | None: ...

    def put(self, consignment_id: str, tracking_code: str, pdf: bytes, now: datetime) -> None: ...


class HandoverRepository(Protocol):
    def add(self, handover: Handover) -> None: ...

    def get(self, handover_id: str, *, agency_id: str) -> Handover | None: ...


class PrintLogRepository(Protocol):
    """Who printed which label or slip, and when; a second print of the same document is a reprint."""

    def add(self, record: PrintRecord) -> None: ...

    def printed(self, consignment_ids: Sequence[str], document: str) -> set[str]: ...

    def history(self, consignment_id: str) -> list[PrintRecord]: ...

    def booked_not_printed(self, agency_id: str, limit: int) -> list[str]: ...


class UserRepository(Protocol):
    """People who sign in to the pages, and their browser sessions."""

    def add(self, user: User) -> None: ...

    def get(self, user_id: str) -> User | None: ...

    def by_username(self, username: str) -> User | None: ...

    def save(self, user: User) -> None: ...

    def list(self, *, agency_id: str | None = None, post_office_code: str | None = None) -> list[User]: ...

    def add_session(self, session: UserSession) -> None: ...

    def session(self, token_hash: str) -> UserSession | None: ...

    def touch_session(self, token_hash: str, now: datetime) -> None: ...

    def revoke_sessions(self, *, now: datetime, token_hash: str | None = None, user_id: str | None = None) -> int: ...


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id in production). ``verify`` never raises on a wrong password."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class SmsRepository(Protocol):
    """Messages to citizens and each agency's SMS settings. Status changes are conditional updates (no lost writes
    between a worker marking a message sent and a delivery report marking it delivered)."""

    def add(self, message: SmsMessage) -> bool:
        """Store a new message; False (nothing stored) when its dedupe key is already taken."""
        ...

    def get(self, message_id: str) -> SmsMessage | None: ...

    def by_gateway_id(self, gateway: str, gateway_message_id: str) -> SmsMessage | None: ...

    def has_dedupe_key(self, dedupe_key: str) -> bool: ...

    def count_recent(self, phone: str, *, since: datetime, exclude_events: Sequence[str]) -> int:
        """Messages to this phone created since ``since`` that were not skipped, except ``exclude_events``."""
        ...

    def mark_sent(self, message_id: str, *, gateway: str, gateway_message_id: str | None, at: datetime) -> None:
        """Record the hand-over; the status moves to sent only from queued (a report may have come first)."""
        ...

    def settle(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        """Queued → failed / skipped with the reason; False when the message was no longer queued."""
        ...

    def reschedule(self, message_id: str, *, at: datetime, error: str | None = None) -> None: ...

    def apply_report(self, message_id: str, *, status: SmsStatus, error: str | None, at: datetime) -> bool:
        """Queued or sent → delivered / failed; False when the message already had a final status."""
        ...

    def for_consignment(self, consignment_id: str) -> list[SmsMessage]: ...

    def settings(self, agency_id: str) -> SmsSettings | None: ...

    def put_settings(self, settings: SmsSettings) -> None: ...


class DossierSnapshotRepository(Protocol):
    """What the dossier system sent about each dossier, one row per agency and code (``PUT /api/v1/dossiers``)."""

    def get(self, agency_id: str, code: str) -> DossierSnapshot | None: ...

    def put(self, snapshot: DossierSnapshot) -> bool:
        """Insert, or replace the row of this agency and code; False when a concurrent first insert won the race
        (read it again and retry as an update)."""
        ...

    def by_phone(self, e164: str) -> list[DossierSnapshot]:
        """Every agency's snapshots of one citizen (a data-subject request)."""
        ...

    def purge_candidates(self, *, updated_before: datetime, ignoring: Sequence[str] = ()) -> list[tuple[str, str]]:
        """(agency_id, code) of snapshots not purged yet, last changed before ``updated_before``, whose dossier has
        no consignment still holding personal data (``ignoring`` those the same purge erases)."""
        ...

    def erase_personal_data(self, keys: Sequence[tuple[str, str]], *, at: datetime) -> int: ...


class CounterQueries(Protocol):
    """The counter's lists, read straight from the consignments of one agency."""

    def day_list(self, agency_id: str, flt: ListFilter, *, offset: int, limit: int) -> tuple[list[CounterRow], int]: ...

    def day_counts(self, agency_id: str, flt: ListFilter) -> dict[str, int]:
        """How many of the day's consignments (before the status filter) are in each status."""
        ...


class UnitOfWork(Protocol):
    """One transaction per command. Leaving the ``with`` block without ``commit()`` rolls back."""

    agencies: AgencyRepository
    api_keys: ApiKeyRepository
    units: UnitsRepository
    consignments: ConsignmentRepository
    carrier_events: CarrierEventRepository
    carrier_settings: CarrierSettingsRepository
    cursors: CursorRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository
    labels: LabelRepository
    handovers: HandoverRepository
    prints: PrintLogRepository
    users: UserRepository
    sms: SmsRepository
    dossier_snapshots: DossierSnapshotRepository
    counter: CounterQueries

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class HostResolver(Protocol):
    """Resolves a host name to IP address strings (used by the callback-URL guard)."""

    def __call__(self, host: str) -> list[str]: ...


class TokenCache(Protocol):
    """Short-lived courier tokens shared by all processes (Redis in production, memory in tests)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...

    def delete(self, key: str) -> None: ...


class AddressMapStore(Protocol):
    """Each courier's codes for a canonical ward, cached in our database and refreshable from master data."""

    def get(self, carrier: str, account: str, ward_code: str) -> dict | None: ...

    def put(self, carrier: str, account: str, ward_code: str, data: dict) -> None: ...
