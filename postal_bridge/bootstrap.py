"""The composition root: the only module that knows concrete classes. Builds ``Deps`` from ``Settings``."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from postal_bridge.config import Settings
from postal_bridge.domain.carriers import CarrierAdapter
from postal_bridge.domain.ports import Clock, JobQueue, SmsGateway, WebhookSender
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
    _redis: Redis | None = None

    def redis(self) -> Redis:
        """One client per process (it pools its own connections)."""
        if self._redis is not None:
            return self._redis
        from redis import Redis

        if not self.settings.redis_url:
            raise RuntimeError(
                "POSTAL_BRIDGE_REDIS_URL is not set: start everything with `postal-bridge run`, or point it at Redis."
            )
        self._redis = Redis.from_url(self.settings.redis_url)
        return self._redis

    def ping_database(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


# Courier code → adapter class. Only this module knows them; imported on first use.
CARRIERS: dict[str, str] = {
    "sandbox": "adapters.carriers.sandbox:SandboxCarrier",
    "vnpost": "adapters.carriers.vnpost:VNPostCarrier",
    "viettelpost": "adapters.carriers.viettelpost:ViettelPostCarrier",
    "ghn": "adapters.carriers.ghn:GHNCarrier",
    "ghtk": "adapters.carriers.ghtk:GHTKCarrier",
}


def carrier_class(code: str) -> type:
    import importlib

    module, _, name = CARRIERS[code].partition(":")
    return getattr(importlib.import_module(module), name)


class DbCarrierRegistry:
    """Adapters per agency from the ``carrier_settings`` table; the sandbox is on for every agency unless disabled."""

    def __init__(self, deps_uow, env, *, sandbox_default: bool, sandbox_step: float) -> None:
        self._uow = deps_uow
        self._env = env
        self._sandbox_default = sandbox_default
        self._sandbox_step = sandbox_step
        self._cache: dict[tuple[str, str], tuple[object, object]] = {}

    def _build(self, agency_id: str, code: str, config):
        key = (agency_id, code)
        stamp = config.updated_at if config else None
        hit = self._cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        settings = dict(config.settings) if config else {}
        if code == "sandbox":
            settings.setdefault("step_seconds", self._sandbox_step)
        adapter = carrier_class(code)(settings, self._env)
        self._cache[key] = (stamp, adapter)
        return adapter

    def adapter(self, agency_id: str, code: str):
        if code not in CARRIERS:
            return None
        with self._uow() as uow:
            config = uow.carrier_settings.get(agency_id, code)
        if config is not None and not config.enabled:
            return None
        if config is None and not (code == "sandbox" and self._sandbox_default):
            return None
        return self._build(agency_id, code, config)

    def enabled(self, agency_id: str) -> list:
        from postal_bridge.domain.carriers import EnabledCarrier

        with self._uow() as uow:
            configs = {c.carrier: c for c in uow.carrier_settings.for_agency(agency_id)}
        codes = [c for c, cfg in configs.items() if cfg.enabled and c in CARRIERS]
        if self._sandbox_default and "sandbox" not in configs:
            codes.append("sandbox")
        out = []
        for code in sorted(codes):
            a = self._build(agency_id, code, configs.get(code))
            out.append(EnabledCarrier(a.code, a.name, tuple(a.services), a.capabilities))
        return out

    def for_webhook(self, code: str) -> list:
        if code not in CARRIERS:
            return []
        with self._uow() as uow:
            configs = [c for c in uow.carrier_settings.for_carrier(code) if c.enabled]
        return [(c.agency_id, self._build(c.agency_id, code, c)) for c in configs]

    def codes_with(self, capability) -> list[str]:
        out = []
        for code in CARRIERS:
            try:
                if capability in carrier_class(code).capabilities:
                    out.append(code)
            except (ImportError, AttributeError):  # a broken adapter must not stop the others being polled
                logging.getLogger("postal_bridge").exception("courier adapter %s cannot be loaded", code)
        return out

    def feeds(self) -> list:
        from postal_bridge.domain.carriers import Capability

        out = []
        for code in self.codes_with(Capability.TRACK_FEED):
            out.extend(self.for_webhook(code))
        return out


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    carriers: Mapping[str, CarrierAdapter] | None = None,
    jobs: JobQueue | None = None,  # default: rq on settings.redis_url
    webhooks: WebhookSender | None = None,  # default: HTTP with Standard Webhooks signatures
    sms: SmsGateway | bool | None = True,  # True: from settings.sms_gateway; a gateway or None to override
) -> Container:
    from adapters.carriers.base import CarrierEnv, MemoryTokenCache
    from adapters.dossier.webhook import HttpWebhookSender
    from adapters.passwords import Argon2Hasher
    from labels import PdfLabelRenderer
    from postal_bridge.services.carriers import StaticCarrierRegistry
    from postal_bridge.storage.caches import RedisTokenCache, SqlAddressMapStore
    from postal_bridge.storage.engine import make_engine
    from postal_bridge.storage.uow import SqlUnitOfWork
    from workers.queues import RqJobQueue

    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    container = Container(settings=settings, engine=engine, deps=None)  # type: ignore[arg-type]

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    if carriers is None:
        env = CarrierEnv(
            now=clock.now,
            tokens=RedisTokenCache(container.redis) if settings.redis_url else MemoryTokenCache(),
            addresses=SqlAddressMapStore(engine),
        )
        registry = DbCarrierRegistry(
            lambda: SqlUnitOfWork(engine, readonly=True),  # looked up beside open write transactions
            env,
            sandbox_default=settings.sandbox_enabled,
            sandbox_step=settings.sandbox_step_seconds,
        )
    else:
        registry = StaticCarrierRegistry(carriers)
    if jobs is None:
        jobs = RqJobQueue(container.redis) if settings.redis_url else _NoQueue()
    container.deps = Deps(
        uow=uow,
        read_uow=lambda: SqlUnitOfWork(engine, readonly=True),
        clock=clock,
        carriers=registry,
        labels=PdfLabelRenderer(),
        webhooks=webhooks or HttpWebhookSender(),
        jobs=jobs,
        resolve_host=resolve_host,
        public_base_url=settings.public_base_url,
        allow_private_callbacks=settings.allow_private_callbacks,
        outbox_lease_seconds=settings.outbox_lease_seconds,
        poll_interval_seconds=settings.poll_interval_seconds,
        known_carriers=tuple(CARRIERS),
        passwords=Argon2Hasher(),
        sms=sms_gateway(settings) if sms is True else sms or None,
        sms_brandname=settings.sms_brandname,
        sms_callback_secret=settings.sms_callback_secret,
        sms_max_per_day=settings.sms_max_per_day,
        **_geography(settings, engine),
    )
    return container


def sms_gateway(settings: Settings) -> SmsGateway | None:
    """The SMS gateway ``POSTAL_BRIDGE_SMS_GATEWAY`` names (None when off); delivery reports come back to
    ``<PUBLIC_BASE_URL>/webhooks/sms/<gateway>/<SMS_CALLBACK_SECRET>`` when a secret is set."""
    kind = settings.sms_gateway
    if kind == "off":
        return None
    if kind == "console":
        from adapters.sms.console import ConsoleSmsGateway

        return ConsoleSmsGateway()
    if kind == "esms":
        from adapters.sms import esms

        callback = None
        if settings.sms_callback_secret:
            callback = f"{settings.public_base_url}/webhooks/sms/esms/{settings.sms_callback_secret}"
        return esms.EsmsGateway(
            api_key=settings.sms_api_key,
            secret_key=settings.sms_secret_key,
            brandname=settings.sms_brandname,
            base_url=settings.sms_base_url or esms.DEFAULT_BASE_URL,
            sandbox=bool(settings.sms_sandbox),
            callback_url=callback,
        )
    from adapters.sms import speedsms

    return speedsms.SpeedSmsGateway(
        access_token=settings.sms_api_key,
        brandname=settings.sms_brandname,
        base_url=settings.sms_base_url or speedsms.DEFAULT_BASE_URL,
    )


def _geography(settings: Settings, engine: Engine) -> dict:
    """Phones, geocoder, calendar, routes, tariff, post offices and the address catalogue."""
    from adapters.geo.geocoder import CentroidGeocoder, GeopyGeocoder
    from adapters.phones import PhonenumbersParser
    from postal_bridge.domain.calendar import load_calendar
    from postal_bridge.domain.routes import load_routes
    from postal_bridge.domain.tariff import load_tariff
    from postal_bridge.storage.geocode_cache import SqlGeocodeCache
    from postal_bridge.storage.post_offices import CachedPostOfficeRegistry, SqlPostOfficeRepository
    from postal_bridge.storage.reference_data import load_json

    geocoder = CentroidGeocoder()
    if settings.geocoder:
        geocoder = GeopyGeocoder(
            kind=settings.geocoder,
            domain=settings.geocoder_domain,
            scheme=settings.geocoder_scheme,
            user_agent=settings.geocoder_user_agent,
            cache=SqlGeocodeCache(engine),
            min_delay_seconds=settings.geocoder_min_delay,
            timeout=settings.geocoder_timeout,
        )
    out = {
        "phones": PhonenumbersParser(),
        "geocoder": geocoder,
        "calendar": load_calendar(
            load_json("holidays_vn.json", settings.holidays_file), saturday_is_working=settings.saturday_is_working
        ),
        "routes": load_routes(load_json("routes_vn.json", settings.routes_file)),
        "tariff": load_tariff(load_json("tariff_vn.json", settings.tariff_file)),
        "post_offices": CachedPostOfficeRegistry(SqlPostOfficeRepository(engine)),
    }
    try:
        from postal_bridge.storage.units_catalog import SqlUnitsCatalog

        out["units_catalog"] = SqlUnitsCatalog(engine)
    except ImportError:  # pragma: no cover - the catalogue module ships with the address resolver
        pass
    return out


class _NoQueue:
    """Used when no Redis is configured (e.g. one-off CLI commands): work waits in the outbox for the relay."""

    def enqueue_outbox(self, outbox_ids) -> None:
        return None

    def wake_drain(self) -> None:
        return None

    def drain_started(self) -> None:
        return None

    def enqueue_poll(self, consignment_ids) -> None:
        return None

    def ping(self) -> bool:
        return False
