"""The courier adapter interface (reference/carriers.md §5.1) and what every adapter is given.

Every capability raises ``NotSupported`` by default, so a courier that lacks one fails loudly instead of silently
doing nothing. Data types and errors live in ``postal_bridge.domain.carriers`` so the services can use them without
importing adapters. An adapter is one courier *account*: built per agency from that agency's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    Capability,
    CarrierAddress,
    CarrierAddressCodes,
    CarrierAuthError,
    CarrierError,
    CarrierUnavailable,
    CarrierValidationError,
    ConsignmentRequest,
    ConsignmentResult,
    CourierStatus,
    DuplicateReference,
    InvalidState,
    LabelDocument,
    NotSupported,
    OutcomeUnknown,
    Quote,
    QuoteRequest,
    RateLimited,
    RouteNotServiceable,
    TrackingEvent,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)
from postal_bridge.domain.ports import AddressMapStore, TokenCache

__all__ = [
    "AddressNotResolvable",
    "Capability",
    "CarrierAdapterBase",
    "CarrierAddress",
    "CarrierAddressCodes",
    "CarrierAuthError",
    "CarrierEnv",
    "CarrierError",
    "CarrierUnavailable",
    "CarrierValidationError",
    "ConsignmentRequest",
    "ConsignmentResult",
    "CourierStatus",
    "DuplicateReference",
    "InvalidState",
    "LabelDocument",
    "MemoryAddressMap",
    "MemoryTokenCache",
    "NotSupported",
    "OutcomeUnknown",
    "Quote",
    "QuoteRequest",
    "RateLimited",
    "RouteNotServiceable",
    "SettingError",
    "TrackingEvent",
    "WebhookAuthError",
    "WebhookPayloadError",
    "WebhookRequest",
]


class SettingError(ValueError):
    """An agency's courier settings are missing or malformed; the message names the key."""


class MemoryTokenCache:
    """A per-process token cache (tests, one-off commands)."""

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        import time

        self._now = now or time.time
        self._data: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        hit = self._data.get(key)
        if hit is None or hit[1] <= self._now():
            return None
        return hit[0]

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._data[key] = (value, self._now() + ttl_seconds)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)


class MemoryAddressMap:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str, str], dict] = {}

    def get(self, carrier: str, account: str, ward_code: str) -> dict | None:
        return self._data.get((carrier, account, ward_code))

    def put(self, carrier: str, account: str, ward_code: str, data: dict) -> None:
        self._data[(carrier, account, ward_code)] = dict(data)


@dataclass
class CarrierEnv:
    """What the composition root hands every adapter: the clock, caches and HTTP timeouts."""

    now: Callable[[], datetime]
    tokens: TokenCache = field(default_factory=MemoryTokenCache)
    addresses: AddressMapStore = field(default_factory=MemoryAddressMap)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0


class CarrierAdapterBase:
    """Defaults for every capability: ``NotSupported``. Subclasses set ``code``, ``name``, ``capabilities``."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # Settings keys whose values are secrets: masked by ``carrier-settings --show`` and never logged.
    secret_settings: ClassVar[frozenset[str]] = frozenset(
        {"password", "token", "api_key", "client_secret", "webhook_secret"}
    )
    services: tuple[str, ...] = ("standard",)

    def __init__(self, settings: Mapping[str, Any] | None = None, env: CarrierEnv | None = None) -> None:
        self.settings = dict(settings or {})
        self.env = env or CarrierEnv(now=_utcnow)
        services = self.settings.get("services")
        if services:
            self.services = tuple(s.strip() for s in str(services).split(",") if s.strip())

    @property
    def account(self) -> str:
        """Identifies this courier account in caches (never a secret)."""
        return str(
            self.settings.get("account") or self.settings.get("username") or self.settings.get("shop_id") or "default"
        )

    def require(self, key: str) -> str:
        value = self.settings.get(key)
        if value in (None, ""):
            raise SettingError(f"{self.code}: setting {key!r} is required")
        return str(value)

    def quote(self, req: QuoteRequest) -> list[Quote]:
        raise NotSupported(self.code, Capability.QUOTE)

    def create(self, req: ConsignmentRequest) -> ConsignmentResult:
        raise NotSupported(self.code, Capability.CREATE)

    def find_by_reference(self, client_ref: str) -> ConsignmentResult | None:
        raise NotSupported(self.code, Capability.LOOKUP_BY_REF)

    def cancel(self, carrier_ref: str, reason: str | None = None) -> None:
        raise NotSupported(self.code, Capability.CANCEL)

    def label(self, carrier_refs: list[str], fmt: str = "pdf") -> LabelDocument:
        raise NotSupported(self.code, Capability.LABEL)

    def track(self, carrier_ref: str) -> list[TrackingEvent]:
        raise NotSupported(self.code, Capability.TRACK_POLL)

    def track_feed(self, cursor: str | None) -> tuple[list[TrackingEvent], str | None]:
        raise NotSupported(self.code, Capability.TRACK_FEED)

    def verify_webhook(self, req: WebhookRequest) -> None:
        raise NotSupported(self.code, Capability.TRACK_PUSH)

    def parse_webhook(self, req: WebhookRequest) -> list[TrackingEvent]:
        raise NotSupported(self.code, Capability.TRACK_PUSH)

    def webhook_ack(self, ok: bool, error: str | None = None) -> tuple[int, str, str]:
        """The answer the courier expects: (HTTP status, content type, body)."""
        import json

        body = {"success": ok} if ok else {"success": False, "message": error or "rejected"}
        return (200 if ok else 400), "application/json", json.dumps(body)

    def resolve_address(self, addr: CarrierAddress) -> CarrierAddressCodes:
        raise NotSupported(self.code, "resolve_address")


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
