"""The dependencies every use case receives, built by ``bootstrap`` (real) or by tests (fakes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from postal_bridge.domain.calendar import WorkingCalendar
from postal_bridge.domain.carriers import CarrierRegistry
from postal_bridge.domain.geo import Geocoder
from postal_bridge.domain.phones import PhoneParser
from postal_bridge.domain.ports import (
    Clock,
    HostResolver,
    JobQueue,
    LabelRenderer,
    PasswordHasher,
    SmsGateway,
    UnitOfWork,
    UnitsCatalog,
    WebhookSender,
)
from postal_bridge.domain.post_offices import PostOfficeStore
from postal_bridge.domain.routes import RouteConfig
from postal_bridge.domain.tariff import Tariff

log = logging.getLogger("postal_bridge.services")

# Standard Webhooks retry schedule (seconds after the previous attempt): ≈ 3 days in 10 attempts.
WEBHOOK_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
COURIER_SCHEDULE: tuple[int, ...] = (5, 15, 60, 300, 900, 1800, 3600, 3600, 3600, 3600, 3600)


@dataclass
class Deps:
    uow: Callable[[], UnitOfWork]
    clock: Clock
    carriers: CarrierRegistry
    labels: LabelRenderer
    webhooks: WebhookSender
    jobs: JobQueue
    resolve_host: HostResolver
    public_base_url: str
    allow_private_callbacks: bool = False
    outbox_lease_seconds: int = 120
    poll_interval_seconds: float = 60.0
    idempotency_stale_seconds: int = 60
    webhook_schedule: Sequence[int] = field(default=WEBHOOK_SCHEDULE)
    courier_schedule: Sequence[int] = field(default=COURIER_SCHEDULE)
    known_carriers: tuple[str, ...] = ("sandbox",)  # every courier code the installation has an adapter for
    # Geography and money (issue: addresses, phones, deadlines, fees). None: the feature is off (unit tests).
    phones: PhoneParser | None = None
    geocoder: Geocoder | None = None
    calendar: WorkingCalendar | None = None
    routes: RouteConfig | None = None
    tariff: Tariff | None = None
    post_offices: PostOfficeStore | None = None
    units_catalog: UnitsCatalog | None = None  # the address resolver is built from it once per process
    passwords: PasswordHasher | None = None  # argon2id for people who sign in to the pages
    # SMS to citizens (services.sms). None: turned off for the installation (POSTAL_BRIDGE_SMS_GATEWAY=off).
    sms: SmsGateway | None = None
    sms_brandname: str = ""  # the registered brandname; also the default sender in front of each message
    sms_callback_secret: str = ""  # the secret path segment of delivery-report callbacks; "" accepts none
    sms_max_per_day: int = 5  # messages (one-time codes aside) per phone number per 24 hours
    # Read-only units of work for lookups (on SQLite they begin DEFERRED and never take the write lock, so reads in
    # one process do not queue behind another process's writes). None: ``uow`` serves reads too (tests' fakes).
    read_uow: Callable[[], UnitOfWork] | None = None

    def reader(self) -> UnitOfWork:
        """A unit of work for reads only (it cannot commit)."""
        return self.read_uow() if self.read_uow is not None else self.uow()

    def tracking_url(self, token: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/t/{token}"

    def wake(self, outbox_ids: Sequence[int]) -> None:
        """Enqueue after commit. A lost wake-up is harmless (the relay re-finds due rows), so failures only log."""
        if not outbox_ids:
            return
        try:
            self.jobs.enqueue_outbox(outbox_ids)
        except Exception as exc:  # noqa: BLE001 - Redis down must not fail a committed command
            log.warning("enqueue failed; the relay will pick the work up", extra={"error": type(exc).__name__})

    def wake_drain(self) -> None:
        """Make sure a drain job is queued (a drain with more work than it takes asks for a second beside it)."""
        try:
            self.jobs.wake_drain()
        except Exception as exc:  # noqa: BLE001 - as in ``wake``: the relay finds what a lost wake-up leaves
            log.warning("enqueue failed; the relay will pick the work up", extra={"error": type(exc).__name__})
