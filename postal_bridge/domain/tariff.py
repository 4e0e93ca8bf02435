"""Postage (cước) for carrying dossiers and results, and the money rules around it (domain.md §2.9 and §2.13).

The prices are **data** (``postal_bridge/data/tariff_vn.json``): TT 22/2017/TT-BTTTT sets maximum prices and the
exemptions and reductions, but its values are not in our references, so the shipped file holds placeholders to be
replaced by the province's contract with VNPost. Everything is whole đồng; nothing here uses floats.

A quote is: the first weight step's price, plus one price per started additional step, less any exemption (postage
only: a discount of p % leaves ``ceil(base × (100 − p) / 100)``), rounded **up** to ``round_up_to_vnd``; plus a COD fee
when the post collects money for the agency (``max(minimum, ceil(amount × percent / 100))``, rounded up the same way).
The citizen pays by default (QĐ45 Art 12.3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from postal_bridge.domain.money import parse_vnd
from postal_bridge.domain.routes import RouteClass


class Service(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"


class Payer(StrEnum):
    CITIZEN = "citizen"
    AGENCY = "agency"
    POST = "post"


@dataclass(frozen=True)
class StepPrice:
    first_vnd: int  # up to and including the first step
    additional_vnd: int  # per started additional step


@dataclass(frozen=True)
class ServiceTariff:
    first_step_g: int
    additional_step_g: int
    prices: Mapping[RouteClass, StepPrice]


@dataclass(frozen=True)
class CodRule:
    percent: Fraction
    minimum_vnd: int

    def fee(self, amount_vnd: int) -> int:
        if amount_vnd == 0:
            return 0
        return max(self.minimum_vnd, math.ceil(amount_vnd * self.percent / 100))


@dataclass(frozen=True)
class Exemption:
    """A reduction of the postage: by reason code, or for any of the listed TTHC procedure codes."""

    code: str
    reason: str
    discount_percent: int  # 100 = free
    procedure_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fee:
    postage_vnd: int
    cod_fee_vnd: int
    total_vnd: int
    payer: Payer
    breakdown: tuple[tuple[str, int], ...]  # labelled parts; they add up to total_vnd


def round_up(amount: int, unit: int) -> int:
    return -(-amount // unit) * unit


def _whole(value: Any, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return value


def refund_for_late(postage_vnd: int) -> int:
    """Published transit time missed and proven: the postage is refunded (NĐ 47/2011 Art 25.2)."""
    return parse_vnd(postage_vnd, "postage_vnd")


def compensation_minimum(postage_vnd: int) -> int:
    """Loss or damage, domestic service: at least 4 × the postage, the refunded postage included (NĐ 47 Art 25.1.a)."""
    return 4 * parse_vnd(postage_vnd, "postage_vnd")


def repeat_carriage_payer(fault_party: Payer | str) -> Payer:
    """Carriage needed more than once: the party whose fault caused it pays the extra cost (QĐ45 Art 12.4)."""
    try:
        return Payer(fault_party)
    except ValueError:
        known = ", ".join(p.value for p in Payer)
        raise ValueError(f"unknown party at fault {fault_party!r}; known: {known}") from None


@dataclass(frozen=True)
class Tariff:
    services: Mapping[Service, ServiceTariff]
    cod: CodRule
    exemptions: tuple[Exemption, ...] = ()
    payer: Payer = Payer.CITIZEN
    round_up_to_vnd: int = 1
    max_weight_g: int = 30_000
    placeholder: bool = False
    _by_key: dict[str, Exemption] = field(init=False, repr=False, compare=False, hash=False)

    refund_for_late = staticmethod(refund_for_late)
    compensation_minimum = staticmethod(compensation_minimum)
    repeat_carriage_payer = staticmethod(repeat_carriage_payer)

    def __post_init__(self) -> None:
        by_key: dict[str, Exemption] = {}
        for ex in self.exemptions:
            for key in (ex.code, *sorted(ex.procedure_codes)):
                if key in by_key:
                    raise ValueError(f"exemption key {key!r} is used twice")
                by_key[key] = ex
        object.__setattr__(self, "_by_key", by_key)

    def exemption_for(self, key: str) -> Exemption:
        """The exemption with this reason code, or the one that lists this procedure code."""
        try:
            return self._by_key[key]
        except (KeyError, TypeError):
            known = ", ".join(ex.code for ex in self.exemptions) or "none configured"
            raise ValueError(
                f"unknown exemption {key!r}: not a reason code ({known}) nor a listed procedure code"
            ) from None

    def quote(
        self,
        route: RouteClass | str,
        weight_g: int,
        service: Service | str = Service.STANDARD,
        cod_vnd: int = 0,
        exemption: str | None = None,
    ) -> Fee:
        try:
            svc = Service(service)
        except ValueError:
            known = ", ".join(s.value for s in Service)
            raise ValueError(f"unknown service {service!r}; known: {known}") from None
        if svc not in self.services:
            raise ValueError(f"service {svc.value!r} has no prices in this tariff")
        try:
            route_class = RouteClass(route)
        except ValueError:
            known = ", ".join(c.value for c in RouteClass)
            raise ValueError(f"unknown route class {route!r}; known: {known}") from None
        if isinstance(weight_g, bool) or not isinstance(weight_g, int) or weight_g <= 0:
            raise ValueError(f"weight_g must be a positive whole number of grams, got {weight_g!r}")
        if weight_g > self.max_weight_g:
            raise ValueError(f"weight_g {weight_g} is over the tariff's limit of {self.max_weight_g} g")
        cod_amount = parse_vnd(cod_vnd, "cod_vnd")

        table = self.services[svc]
        price = table.prices[route_class]
        extra_steps = max(0, -(-(weight_g - table.first_step_g) // table.additional_step_g))
        breakdown: list[tuple[str, int]] = [("first_step", price.first_vnd)]
        if extra_steps:
            breakdown.append(
                (f"additional_steps:{extra_steps}x{table.additional_step_g}g", extra_steps * price.additional_vnd)
            )
        base = price.first_vnd + extra_steps * price.additional_vnd

        postage_exact = base
        if exemption is not None:
            ex = self.exemption_for(exemption)
            postage_exact = math.ceil(Fraction(base * (100 - ex.discount_percent), 100))
            if base != postage_exact:
                breakdown.append((f"exemption:{ex.code}:{ex.discount_percent}%", postage_exact - base))
        postage = round_up(postage_exact, self.round_up_to_vnd)
        if postage != postage_exact:
            breakdown.append(("rounding", postage - postage_exact))

        cod_fee = round_up(self.cod.fee(cod_amount), self.round_up_to_vnd)
        if cod_fee:
            breakdown.append(("cod_fee", cod_fee))
        return Fee(
            postage_vnd=postage,
            cod_fee_vnd=cod_fee,
            total_vnd=postage + cod_fee,
            payer=self.payer,
            breakdown=tuple(breakdown),
        )


def _percent(value: Any, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        result = Fraction(str(value))
    except ValueError:
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not 0 <= result <= 100:
        raise ValueError(f"{what} must be between 0 and 100, got {value!r}")
    return result


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object")
    return value


def load_tariff(data: Mapping[str, Any]) -> Tariff:
    """Build a ``Tariff`` from the ``tariff_vn.json`` shape (see that file)."""
    data = _object(data, "tariff data")
    services_data = _object(data.get("services"), "'services'")
    services: dict[Service, ServiceTariff] = {}
    for name, svc_data in services_data.items():
        try:
            svc = Service(name)
        except ValueError:
            raise ValueError(f"unknown service {name!r} in tariff data") from None
        svc_data = _object(svc_data, f"services.{name}")
        routes = _object(svc_data.get("routes"), f"services.{name}.routes")
        prices: dict[RouteClass, StepPrice] = {}
        for route in RouteClass:
            if route.value not in routes:
                raise ValueError(f"services.{name}.routes has no price for {route.value}")
            row = _object(routes[route.value], f"services.{name}.routes.{route.value}")
            where = f"services.{name}.routes.{route.value}"
            prices[route] = StepPrice(
                first_vnd=parse_vnd(row.get("first_vnd"), f"{where}.first_vnd"),
                additional_vnd=parse_vnd(row.get("additional_vnd"), f"{where}.additional_vnd"),
            )
        unknown = set(routes) - {r.value for r in RouteClass}
        if unknown:
            raise ValueError(f"services.{name}.routes has unknown route classes: {', '.join(sorted(unknown))}")
        services[svc] = ServiceTariff(
            first_step_g=_whole(svc_data.get("first_step_g"), f"services.{name}.first_step_g", minimum=1),
            additional_step_g=_whole(
                svc_data.get("additional_step_g"), f"services.{name}.additional_step_g", minimum=1
            ),
            prices=prices,
        )
    if not services:
        raise ValueError("tariff data has no services")

    cod_data = _object(data.get("cod"), "'cod'")
    cod = CodRule(
        percent=_percent(cod_data.get("percent"), "cod.percent"),
        minimum_vnd=parse_vnd(cod_data.get("minimum_vnd"), "cod.minimum_vnd"),
    )

    exemptions: list[Exemption] = []
    ex_list = data.get("exemptions", [])
    if not isinstance(ex_list, list):
        raise ValueError("'exemptions' must be a list")
    for i, item in enumerate(ex_list):
        item = _object(item, f"exemptions[{i}]")
        code = item.get("code")
        if not isinstance(code, str) or not code:
            raise ValueError(f"exemptions[{i}].code must be a non-empty string")
        procedures = item.get("procedure_codes", [])
        if not isinstance(procedures, list) or not all(isinstance(p, str) and p for p in procedures):
            raise ValueError(f"exemptions[{i}].procedure_codes must be a list of strings")
        exemptions.append(
            Exemption(
                code=code,
                reason=str(item.get("reason", "")),
                discount_percent=_whole(item.get("discount_percent"), f"exemptions[{i}].discount_percent"),
                procedure_codes=frozenset(procedures),
            )
        )
        if exemptions[-1].discount_percent > 100:
            raise ValueError(f"exemptions[{i}].discount_percent must be at most 100")

    try:
        payer = Payer(data.get("payer", Payer.CITIZEN.value))
    except ValueError:
        raise ValueError(f"unknown payer {data.get('payer')!r}") from None
    placeholder = data.get("placeholder", False)
    if not isinstance(placeholder, bool):
        raise ValueError("'placeholder' must be true or false")
    return Tariff(
        services=services,
        cod=cod,
        exemptions=tuple(exemptions),
        payer=payer,
        round_up_to_vnd=_whole(data.get("round_up_to_vnd", 1), "round_up_to_vnd", minimum=1),
        max_weight_g=_whole(data.get("max_weight_g", 30_000), "max_weight_g", minimum=1),
        placeholder=placeholder,
    )
