"""Couriers per agency: which ones it may use, quotes, courier settings, inbound webhooks and feed walking."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from postal_bridge.domain.carriers import (
    AddressNotResolvable,
    Capability,
    CarrierAdapter,
    CarrierAddress,
    CarrierError,
    EnabledCarrier,
    NotSupported,
    Quote,
    QuoteRequest,
    RouteNotServiceable,
    WebhookAuthError,
    WebhookPayloadError,
    WebhookRequest,
)
from postal_bridge.domain.errors import NotFound, ValidationFailed
from postal_bridge.domain.model import CarrierConfig
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.reports import AuditEntry
from postal_bridge.domain.status import Kind
from postal_bridge.domain.text import nfc
from postal_bridge.services.agencies import Caller
from postal_bridge.services.deps import Deps
from postal_bridge.services.geography import promised_days, route_between
from postal_bridge.services.tracking import store_inbound

log = logging.getLogger("postal_bridge.carriers")
SECRET_HINTS = ("password", "secret", "token", "api_key", "apikey", "key")


class StaticCarrierRegistry:
    """The same adapters for every agency: tests and single-tenant set-ups."""

    def __init__(self, adapters: Mapping[str, CarrierAdapter]) -> None:
        self.adapters = dict(adapters)

    def __getitem__(self, code: str) -> CarrierAdapter:
        return self.adapters[code]

    def adapter(self, agency_id: str, code: str) -> CarrierAdapter | None:
        return self.adapters.get(code)

    def enabled(self, agency_id: str) -> list[EnabledCarrier]:
        return [EnabledCarrier(a.code, a.name, tuple(a.services), a.capabilities) for a in self.adapters.values()]

    def for_webhook(self, code: str) -> list[tuple[str, CarrierAdapter]]:
        return [("*", self.adapters[code])] if code in self.adapters else []

    def codes_with(self, capability: Capability) -> list[str]:
        return [code for code, a in self.adapters.items() if capability in a.capabilities]

    def feeds(self) -> list[tuple[str, CarrierAdapter]]:
        return [("*", a) for a in self.adapters.values() if Capability.TRACK_FEED in a.capabilities]


def list_carriers(deps: Deps, caller: Caller) -> list[EnabledCarrier]:
    return sorted(deps.carriers.enabled(caller.agency.id), key=lambda e: e.code)


@dataclass(frozen=True)
class QuoteOutcome:
    quotes: list[Quote]
    unavailable: dict[str, str]  # carrier → why it gave no price


def get_quotes(
    deps: Deps,
    caller: Caller,
    *,
    kind: str,
    name: str,
    phone: str,
    line: str,
    ward_code: str,
    province_code: str,
    weight_g: int,
    cod_vnd: int,
    service: str | None,
) -> QuoteOutcome:
    """Price and promised days per enabled courier and service for one citizen address."""
    with deps.uow() as uow:
        ward = uow.units.ward(ward_code)
        agency_ward = uow.units.ward(caller.agency.address.ward_code)
    if ward is None or ward.province_code != province_code:
        raise ValidationFailed({"citizen": {"address": {"ward_code": ["Not a ward of this province (2025 list)."]}}})
    try:
        e164 = parse_phone(phone).e164
    except ValueError as exc:
        raise ValidationFailed({"citizen": {"phone": [str(exc)]}}) from None
    assert agency_ward is not None
    citizen = CarrierAddress(nfc(name), e164, nfc(line), ward.code, ward.name, ward.province_code, ward.province_name)
    a = caller.agency
    centre = CarrierAddress(
        a.name,
        a.phone,
        a.address.line,
        agency_ward.code,
        agency_ward.name,
        agency_ward.province_code,
        agency_ward.province_name,
    )
    sender, recipient = (centre, citizen) if kind == "return" else (citizen, centre)
    quotes: list[Quote] = []
    unavailable: dict[str, str] = {}
    route = route_between(deps, Kind(kind), a, ward.code, ward.province_code)
    for enabled in list_carriers(deps, caller):
        if Capability.QUOTE not in enabled.capabilities:
            # The courier prices nothing by API: the province's tariff table stands in (QĐ 45/2016 Art 12).
            table = _table_quotes(deps, enabled, route, weight_g, cod_vnd, service)
            if table:
                quotes.extend(table)
            else:
                unavailable[enabled.code] = "this courier gives no quotes and the tariff has no price for it"
            continue
        adapter = deps.carriers.adapter(caller.agency.id, enabled.code)
        if adapter is None:
            continue
        try:
            for q in adapter.quote(
                QuoteRequest(
                    kind=kind, sender=sender, recipient=recipient, weight_g=weight_g, service=service, cod_vnd=cod_vnd
                )
            ):
                if q.service in adapter.services and (service is None or q.service == service):
                    quotes.append(q)
        except (AddressNotResolvable, RouteNotServiceable) as exc:
            unavailable[enabled.code] = exc.message
        except CarrierError as exc:
            unavailable[enabled.code] = f"no answer from the courier: {exc.message}"
    quotes.sort(key=lambda q: (q.fee_vnd, q.carrier, q.service))
    return QuoteOutcome(quotes=quotes, unavailable=unavailable)


def _table_quotes(
    deps: Deps, enabled: EnabledCarrier, route: str | None, weight_g: int, cod_vnd: int, service: str | None
) -> list[Quote]:
    if deps.tariff is None or route is None:
        return []
    out = []
    for s in [service] if service else list(enabled.services):
        try:
            fee = deps.tariff.quote(route, weight_g, s, cod_vnd)
        except ValueError:
            continue
        out.append(
            Quote(
                carrier=enabled.code,
                service=s,
                fee_vnd=fee.total_vnd,
                promised_days=promised_days(deps, route),
                raw={"source": "tariff", "route_class": route},
            )
        )
    return out


def receive_webhook(deps: Deps, code: str, req: WebhookRequest) -> tuple[int, str, str]:
    """Authenticate a courier push against the agencies using that courier, store its events, answer fast."""
    candidates = deps.carriers.for_webhook(code)
    if not candidates:
        return 404, "application/json", '{"success": false, "message": "unknown courier"}'
    adapter = None
    for _agency_id, candidate in candidates:
        try:
            candidate.verify_webhook(req)
        except (WebhookAuthError, NotSupported):  # this agency's account does not take pushes, or not this one
            continue
        adapter = candidate
        break
    if adapter is None:
        log.warning("courier webhook refused: authentication failed", extra={"carrier": code})
        return 401, "application/json", '{"success": false, "message": "authentication failed"}'
    try:
        events = adapter.parse_webhook(req)
    except WebhookPayloadError as exc:
        log.warning("courier webhook refused: bad payload", extra={"carrier": code, "error": exc.message})
        return adapter.webhook_ack(False, exc.message)
    with deps.uow() as uow:
        ids = store_inbound(uow, deps, code, events)
        uow.commit()
    deps.wake(ids)
    return adapter.webhook_ack(True)


def walk_feeds(deps: Deps, *, max_pages: int = 20) -> int:
    """Walk every paged tracking feed (VNPost NGSP) from its stored cursor; returns how many events were stored."""
    stored = 0
    for agency_id, adapter in deps.carriers.feeds():
        if Capability.TRACK_FEED not in adapter.capabilities:  # e.g. a VNPost account on another API surface
            continue
        with deps.uow() as uow:
            cursor = uow.cursors.get(agency_id, adapter.code)
        for _ in range(max_pages):
            try:
                events, next_cursor = adapter.track_feed(cursor)
            except CarrierError as exc:
                log.warning("feed walk failed", extra={"carrier": adapter.code, "error": exc.message})
                break
            with deps.uow() as uow:
                ids = store_inbound(uow, deps, adapter.code, events)
                uow.cursors.put(agency_id, adapter.code, next_cursor, deps.clock.now())
                uow.commit()
            deps.wake(ids)
            stored += len(events)
            if not events or next_cursor == cursor:
                break
            cursor = next_cursor
    return stored


def configure_carrier(
    deps: Deps, *, agency_code: str, carrier: str, values: Mapping[str, str], actor: str | None = None
) -> CarrierConfig:
    """Store an agency's settings for one courier, merged into what is there (``enabled=0`` switches it off). With
    ``actor`` the change is written to the audit log, secrets masked before and after."""
    known = deps.known_carriers
    if carrier not in known:
        raise ValidationFailed({"carrier": [f"Unknown courier {carrier!r}; known: {', '.join(sorted(known))}."]})
    with deps.uow() as uow:
        agency = uow.agencies.by_code(agency_code.upper())
        if agency is None:
            raise NotFound(f"No agency with code {agency_code!r}.")
        current = uow.carrier_settings.get(agency.id, carrier)
        settings = dict(current.settings) if current else {}
        enabled = current.enabled if current else True
        for key, value in values.items():
            if key == "enabled":
                enabled = value.strip().lower() in ("1", "true", "yes", "on")
            elif value == "":
                settings.pop(key, None)
            else:
                settings[key] = value
        config = CarrierConfig(
            agency_id=agency.id, carrier=carrier, enabled=enabled, settings=settings, updated_at=deps.clock.now()
        )
        uow.carrier_settings.put(config)
        if actor:
            before = {"enabled": current.enabled, "settings": masked(current.settings)} if current else None
            uow.audit.record(
                AuditEntry(
                    at=config.updated_at,
                    actor=actor,
                    action="carrier.configured",
                    subject=f"agency:{agency.code}:{carrier}",
                    details={"before": before, "after": {"enabled": enabled, "settings": masked(settings)}},
                )
            )
        uow.commit()
    return config


def carrier_settings(deps: Deps, agency_code: str) -> list[CarrierConfig]:
    with deps.uow() as uow:
        agency = uow.agencies.by_code(agency_code.upper())
        if agency is None:
            raise NotFound(f"No agency with code {agency_code!r}.")
        return uow.carrier_settings.for_agency(agency.id)


def masked(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings safe to print: secrets show only their last two characters."""
    out = {}
    for key, value in settings.items():
        text = str(value)
        if is_secret_setting(key):
            text = "****" + text[-2:] if len(text) > 6 else "****"
        out[key] = text
    return out


def is_secret_setting(key: str) -> bool:
    """Credentials (passwords, tokens, keys, secrets): shown masked, never echoed back in full."""
    return any(h in key.lower() for h in SECRET_HINTS)
