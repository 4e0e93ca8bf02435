"""What the services need from a courier, as plain data and a Protocol (reference/carriers.md §5).

Concrete adapters live in ``adapters/carriers``; they hold no database state. The service layer owns persistence,
idempotency and the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from postal_bridge.domain.status import Status


class Capability(StrEnum):
    QUOTE = "quote"
    CREATE = "create"
    CANCEL = "cancel"
    LABEL = "label"
    TRACK_POLL = "track_poll"
    TRACK_PUSH = "track_push"
    TRACK_FEED = "track_feed"
    LOOKUP_BY_REF = "lookup_by_ref"


class CourierStatus(StrEnum):
    """The unified courier taxonomy every adapter maps its raw codes to."""

    CREATED = "created"
    AWAITING_PICKUP = "awaiting_pickup"
    PICKUP_FAILED = "pickup_failed"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    ON_HOLD = "on_hold"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"
    RETURN_IN_PROGRESS = "return_in_progress"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    LOST_OR_DAMAGED = "lost_or_damaged"
    UNKNOWN = "unknown"


# Courier status → consignment status. ``None``: informative only, never a transition.
CONSIGNMENT_STATUS_FOR: dict[CourierStatus, Status | None] = {
    CourierStatus.CREATED: None,
    CourierStatus.AWAITING_PICKUP: None,
    CourierStatus.PICKUP_FAILED: Status.PICKUP_FAILED,
    CourierStatus.PICKED_UP: Status.PICKED_UP,
    CourierStatus.IN_TRANSIT: Status.IN_TRANSIT,
    CourierStatus.ON_HOLD: None,
    CourierStatus.OUT_FOR_DELIVERY: Status.OUT_FOR_DELIVERY,
    CourierStatus.AVAILABLE_FOR_PICKUP: Status.AVAILABLE_FOR_PICKUP,
    CourierStatus.DELIVERY_FAILED: Status.DELIVERY_FAILED,
    CourierStatus.DELIVERED: Status.DELIVERED,
    CourierStatus.RETURN_IN_PROGRESS: Status.RETURNING_TO_AGENCY,
    CourierStatus.RETURNED: Status.RETURNED_TO_AGENCY,
    CourierStatus.CANCELLED: Status.CANCELLED,
    CourierStatus.LOST_OR_DAMAGED: Status.LOST_OR_DAMAGED,
    CourierStatus.UNKNOWN: None,
}


@dataclass(frozen=True)
class CarrierAddress:
    name: str
    phone: str  # E.164
    line: str
    ward_code: str
    ward_name: str
    province_code: str
    province_name: str


@dataclass(frozen=True)
class ConsignmentRequest:
    client_ref: str
    kind: str  # pickup | return | transfer
    service: str
    sender: CarrierAddress
    recipient: CarrierAddress
    weight_g: int
    contents: str
    cod_vnd: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteRequest:
    kind: str
    sender: CarrierAddress
    recipient: CarrierAddress
    weight_g: int
    service: str | None = None  # None: every service the courier offers on this route
    cod_vnd: int = 0


@dataclass(frozen=True)
class Quote:
    carrier: str
    service: str  # our service code: standard | express
    fee_vnd: int
    promised_days: int | None = None
    carrier_service: str | None = None  # the courier's own code, e.g. GHN service_type_id 2
    raw: Any = None


@dataclass(frozen=True)
class LabelDocument:
    """A courier's own label: PDF bytes, an HTML page, or a short-lived URL to one."""

    content_type: str
    content: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class CarrierAddressCodes:
    """How one courier names a canonical (2025) address: its own ids, and the legacy district where still needed."""

    province_id: str
    ward_id: str | None = None
    district_id: str | None = None
    province_name: str = ""
    district_name: str = ""
    ward_name: str = ""


@dataclass(frozen=True)
class WebhookRequest:
    """An inbound courier push, as received: lower-cased header names, the raw body, the query string."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    content_type: str = ""
    path_token: str | None = None  # from /webhooks/carriers/<carrier>/<path_token>, for secret-path authentication


@dataclass(frozen=True)
class ConsignmentResult:
    """A booked order. ``track``/``cancel`` later receive ``carrier_internal_id`` when set, else ``carrier_ref``."""

    carrier: str
    carrier_ref: str  # the tracking number people see
    client_ref: str
    carrier_internal_id: str | None = None
    fee_total_vnd: int | None = None
    raw: Any = None


@dataclass(frozen=True)
class TrackingEvent:
    carrier: str
    carrier_ref: str
    occurred_at: datetime
    raw_code: str
    status: CourierStatus
    dedup_key: str
    raw_text: str = ""
    location: str | None = None
    reason: str | None = None
    provisional: bool = False
    source: str = "poll"  # poll | webhook | feed
    raw: Any = None
    client_ref: str | None = None  # our reference, when the courier echoes it (matches events to consignments)
    cod_status: str | None = None  # none | pending | collected | remitted | reconciled
    upu_event: str | None = None  # e.g. EMA, EMI (UPU EMSEVT code) where the courier's status has one
    courier_phone: str | None = None  # the courier employee's phone, where the event carries it (out for delivery)


class CarrierError(Exception):
    """Base of courier failures; ``retryable`` tells the job whether trying again can help."""

    retryable = False

    def __init__(self, carrier: str, message: str, *, code: str | None = None, raw: Any = None) -> None:
        super().__init__(f"{carrier}: {message}")
        self.carrier = carrier
        self.message = message
        self.code = code
        self.raw = raw


class CarrierAuthError(CarrierError):
    pass


class CarrierValidationError(CarrierError):
    def __init__(self, carrier: str, message: str, *, field_errors: dict[str, str] | None = None, **kw: Any):
        super().__init__(carrier, message, **kw)
        self.field_errors = field_errors or {}


class AddressNotResolvable(CarrierError):
    pass


class RouteNotServiceable(CarrierError):
    pass


class DuplicateReference(CarrierError):
    def __init__(self, carrier: str, message: str, *, existing_ref: str | None = None, **kw: Any):
        super().__init__(carrier, message, **kw)
        self.existing_ref = existing_ref


class InvalidState(CarrierError):
    pass


class RateLimited(CarrierError):
    retryable = True

    def __init__(self, carrier: str, message: str, *, retry_after: int | None = None, **kw: Any):
        super().__init__(carrier, message, **kw)
        self.retry_after = retry_after


class CarrierUnavailable(CarrierError):
    retryable = True


class OutcomeUnknown(CarrierError):
    """A mutating call timed out or failed with 5xx: look the order up by reference before any retry."""

    retryable = True


class WebhookAuthError(CarrierError):
    pass


class WebhookPayloadError(CarrierError):
    pass


class NotSupported(CarrierError):
    def __init__(self, carrier: str, capability: Capability | str) -> None:
        super().__init__(carrier, f"does not support {capability}", code="not_supported")
        self.capability = capability


class CarrierAdapter(Protocol):
    """One courier account (an agency's settings for one courier). A missing capability raises ``NotSupported``."""

    code: str
    name: str
    capabilities: frozenset[Capability]
    services: tuple[str, ...]  # our service codes this account may book

    def quote(self, req: QuoteRequest) -> list[Quote]: ...

    def create(self, req: ConsignmentRequest) -> ConsignmentResult: ...

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None: ...

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None: ...

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument: ...

    def track(self, carrier_ref: str) -> list[TrackingEvent]: ...

    def track_feed(self, cursor: str | None) -> tuple[list[TrackingEvent], str | None]: ...

    def verify_webhook(self, req: WebhookRequest) -> None: ...

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]: ...

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]: ...

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes: ...


@dataclass(frozen=True)
class EnabledCarrier:
    code: str
    name: str
    services: tuple[str, ...]
    capabilities: frozenset[Capability]


class CarrierRegistry(Protocol):
    """Which couriers each agency may use, with its own settings. Built in ``bootstrap``."""

    def adapter(self, agency_id: str, code: str) -> CarrierAdapter | None: ...

    def enabled(self, agency_id: str) -> list[EnabledCarrier]: ...

    def for_webhook(self, code: str) -> list[tuple[str, CarrierAdapter]]: ...

    def codes_with(self, capability: Capability) -> list[str]: ...

    def feeds(self) -> list[tuple[str, CarrierAdapter]]: ...
