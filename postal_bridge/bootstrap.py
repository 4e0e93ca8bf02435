"""The composition root: the only module that knows concrete classes. Builds ``Deps`` from ``Settings``."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from postal_bridge.config import Settings
from postal_bridge.domain.carriers import CarrierAdapter
from postal_bridge.domain.ports import Clock, JobQueue, WebhookSender
from postal_bridge.services.deps import Deps

if TYPE_CHECKING:
    from redis import Redis


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def resolve_host(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


@dataclass
class Container:
    """Everything a process needs, built once per process (web worker, rq worker, scheduler)."""

    settings: Settings
    engine: Engine
    deps: Deps

    def redis(self) -> Redis:
        from redis import Redis

        if not self.settings.redis_url:
            raise RuntimeError(
                "POSTAL_BRIDGE_REDIS_URL is not set: start everything with `postal-bridge run`, or point it at Redis."
            )
        return Redis.from_url(self.settings.redis_url)

    def ping_database(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    carriers: Mapping[str, CarrierAdapter] | None = None,
    jobs: JobQueue | None = None,  # default: rq on settings.redis_url
    webhooks: WebhookSender | None = None,  # default: HTTP with Standard Webhooks signatures
) -> Container:
    from adapters.carriers.sandbox import SandboxCarrier
    from adapters.dossier.webhook import HttpWebhookSender
    from labels import PdfLabelRenderer
    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.uow import SqlUnitOfWork
    from workers.queues import RqJobQueue

    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if carriers is None:
        carriers = {"sandbox": SandboxCarrier(now=clock.now, step_seconds=settings.sandbox_step_seconds)}
    container = Container(settings=settings, engine=engine, deps=None)  # type: ignore[arg-type]
    if jobs is None:
        jobs = RqJobQueue(container.redis) if settings.redis_url else _NoQueue()
    container.deps = Deps(
        uow=lambda: SqlUnitOfWork(engine),
        clock=clock,
        carriers=dict(carriers),
        labels=PdfLabelRenderer(),
        webhooks=webhooks or HttpWebhookSender(),
        jobs=jobs,
        resolve_host=resolve_host,
        public_base_url=settings.public_base_url,
        allow_private_callbacks=settings.allow_private_callbacks,
        outbox_lease_seconds=settings.outbox_lease_seconds,
        poll_interval_seconds=settings.poll_interval_seconds,
    )
    return container


class _NoQueue:
    """Used when no Redis is configured (e.g. one-off CLI commands): work waits in the outbox for the relay."""

    def enqueue_outbox(self, outbox_ids) -> None:
        return None

    def enqueue_poll(self, consignment_ids) -> None:
        return None

    def ping(self) -> bool:
        return False
