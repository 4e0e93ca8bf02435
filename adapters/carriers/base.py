"""The courier adapter interface (reference/carriers.md §5.1): every capability raises ``NotSupported`` by default,
so a courier that lacks one fails loudly instead of silently doing nothing. Data types and errors live in
``postal_bridge.domain.carriers`` so the services can use them without importing adapters.
"""

from __future__ import annotations

from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    Capability,
    CarrierAuthError,
    CarrierError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    RouteNotServiceable,
    TrackingEvent,
    WebhookAuthError,
    WebhookPayloadError,
)

__all__ = [
    "AddressNotResolvable",
    "Capability",
    "CarrierAdapterBase",
    "CarrierAuthError",
    "CarrierError",
    "CarrierUnavailable",
    "CarrierValidationError",
    "ConsignmentRequest",
    "ConsignmentResult",
    "CourierStatus",
    "DuplicateReference",
    "InvalidState",
    "NotSupported",
    "OutcomeUnknown",
    "RateLimited",
    "RouteNotServiceable",
    "TrackingEvent",
    "WebhookAuthError",
    "WebhookPayloadError",
]


class CarrierAdapterBase:
    code: str = ""
    name: str = ""
    capabilities: frozenset[Capability] = frozenset()

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        raise NotSupported(self.code, Capability.CREATE)

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        raise NotSupported(self.code, Capability.LOOKUP_BY_REF)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        raise NotSupported(self.code, Capability.CANCEL)

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        raise NotSupported(self.code, Capability.TRACK_POLL)
