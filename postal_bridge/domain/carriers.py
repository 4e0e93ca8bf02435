"""What the services need from a courier, as plain data and a Protocol (reference/carriers.md §5).

Concrete adapters live in ``adapters/carriers``; they hold no database state. The service layer owns persistence,
idempotency and the outbox.
"""

from __future__ import annotations

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
class ConsignmentResult:
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
    """The part of the courier interface the foundation's services call."""

    code: str
    name: str
    capabilities: frozenset[Capability]

    def create(self, req: ConsignmentRequest) -> ConsignmentResult: ...

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None: ...

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None: ...

    def track(self, carrier_ref: str) -> list[TrackingEvent]: ...
