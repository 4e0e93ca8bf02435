"""The dependencies every use case receives, built by ``bootstrap`` (real) or by tests (fakes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from postal_bridge.domain.carriers import CarrierRegistry
from postal_bridge.domain.ports import Clock, HostResolver, JobQueue, LabelRenderer, UnitOfWork, WebhookSender

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
