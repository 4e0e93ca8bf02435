"""Tariff: weight steps, COD fee, exemptions, rounding, the money rules, and the shipped placeholder table."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from importlib import resources

import pytest

from postal_bridge.domain.routes import RouteClass
from postal_bridge.domain.tariff import (
    Fee,
    Payer,
    Service,
    Tariff,
    compensation_minimum,
    load_tariff,
    refund_for_late,
    repeat_carriage_payer,
)


def _routes(first: int, additional: int) -> dict:
    return {c.value: {"first_vnd": first + i * 1000, "additional_vnd": additional} for i, c in enumerate(RouteClass)}


# A test table with known numbers: same_province = 15,000 first 500 g + 2,500 per started 500 g.
DATA: dict = {
    "payer": "citizen",
    "round_up_to_vnd": 100,
    "max_weight_g": 30000,
    "services": {
        "standard": {"first_step_g": 500, "additional_step_g": 500, "routes": _routes(14000, 2500)},
        "express": {"first_step_g": 500, "additional_step_g": 500, "routes": _routes(20000, 4000)},
    },
    "cod": {"percent": "1.5", "minimum_vnd": 10000},
    "exemptions": [
        {"code": "policy", "reason": "giảm 1/3", "discount_percent": 33, "procedure_codes": ["1.000001"]},
        {"code": "free", "reason": "miễn", "discount_percent": 100},
    ],
}


@pytest.fixture
def tariff() -> Tariff:
    return load_tariff(copy.deepcopy(DATA))


def shipped() -> dict:
    return json.loads(resources.files("postal_bridge.data").joinpath("tariff_vn.json").read_text(encoding="utf-8"))


def check_breakdown(fee: Fee) -> None:
    assert sum(amount for _, amount in fee.breakdown) == fee.total_vnd
    assert fee.total_vnd == fee.postage_vnd + fee.cod_fee_vnd
    assert all(type(amount) is int for _, amount in fee.breakdown)


@pytest.mark.parametrize(
    ("weight_g", "postage"),
    [
        (1, 15000),
        (499, 15000),
        (500, 15000),
        (501, 17500),
        (1000, 17500),
        (1001, 20000),
        (2000, 22500),
        (30000, 15000 + 59 * 2500),
    ],
)
def test_weight_steps(tariff: Tariff, weight_g: int, postage: int) -> None:
    fee = tariff.quote(RouteClass.SAME_PROVINCE, weight_g, "standard")
    assert fee.postage_vnd == postage
    assert fee.cod_fee_vnd == 0
    assert fee.total_vnd == postage
    assert fee.payer is Payer.CITIZEN
    check_breakdown(fee)


def test_breakdown_labels(tariff: Tariff) -> None:
    assert tariff.quote("same_province", 500).breakdown == (("first_step", 15000),)
    assert tariff.quote("same_province", 2000).breakdown == (
        ("first_step", 15000),
        ("additional_steps:3x500g", 7500),
    )


def test_service_and_route_pick_the_row(tariff: Tariff) -> None:
    assert tariff.quote("same_ward", 1, Service.STANDARD).postage_vnd == 14000
    assert tariff.quote("remote", 1, Service.STANDARD).postage_vnd == 18000
    assert tariff.quote("inter_province_special", 501, Service.EXPRESS).postage_vnd == 22000 + 4000
    assert tariff.quote("same_ward", 1).postage_vnd == 14000  # standard is the default


def test_cod_fee_minimum_and_percentage(tariff: Tariff) -> None:
    # 1.5 % of 500,000 = 7,500 < minimum 10,000
    fee = tariff.quote("same_province", 500, cod_vnd=500_000)
    assert fee.cod_fee_vnd == 10000
    assert fee.total_vnd == 25000
    assert ("cod_fee", 10000) in fee.breakdown
    # 1.5 % of 2,000,000 = 30,000
    assert tariff.quote("same_province", 500, cod_vnd=2_000_000).cod_fee_vnd == 30000
    # 1.5 % of 1,234,567 = 18,518.505 → 18,519 → rounded up to 18,600
    fee = tariff.quote("same_province", 500, cod_vnd=1_234_567)
    assert fee.cod_fee_vnd == 18600
    check_breakdown(fee)
    assert tariff.quote("same_province", 500, cod_vnd=0).cod_fee_vnd == 0


def test_exemption_by_reason_and_by_procedure(tariff: Tariff) -> None:
    # 33 % off 15,000 = 10,050 → rounded up to 10,100
    fee = tariff.quote("same_province", 500, exemption="policy")
    assert fee.postage_vnd == 10100
    assert fee.breakdown == (("first_step", 15000), ("exemption:policy:33%", -4950), ("rounding", 50))
    check_breakdown(fee)
    assert tariff.quote("same_province", 500, exemption="1.000001") == fee
    # Free of charge: the postage goes, the COD fee stays.
    free = tariff.quote("same_province", 2000, cod_vnd=2_000_000, exemption="free")
    assert free.postage_vnd == 0
    assert free.cod_fee_vnd == 30000
    assert free.total_vnd == 30000
    check_breakdown(free)


def test_unknown_exemption(tariff: Tariff) -> None:
    with pytest.raises(ValueError, match="unknown exemption 'veteran'"):
        tariff.quote("same_province", 500, exemption="veteran")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_g": 0}, "weight_g must be a positive whole number of grams, got 0"),
        ({"weight_g": -5}, "weight_g must be a positive"),
        ({"weight_g": 12.5}, "weight_g must be a positive"),
        ({"weight_g": True}, "weight_g must be a positive"),
        ({"weight_g": 30001}, "over the tariff's limit of 30000 g"),
        ({"service": "overnight"}, "unknown service 'overnight'; known: standard, express"),
        ({"route": "district"}, "unknown route class 'district'"),
        ({"cod_vnd": -1}, "cod_vnd cannot be negative"),
        ({"cod_vnd": 10.5}, "cod_vnd must be a whole number"),
    ],
)
def test_bad_inputs(tariff: Tariff, kwargs: dict, message: str) -> None:
    args = {"route": "same_province", "weight_g": 500, "service": "standard"} | kwargs
    with pytest.raises(ValueError, match=message):
        tariff.quote(**args)


def test_no_rounding_when_unit_is_one() -> None:
    tariff = load_tariff({**copy.deepcopy(DATA), "round_up_to_vnd": 1})
    assert tariff.quote("same_province", 500, exemption="policy").postage_vnd == 10050
    assert tariff.quote("same_province", 500, cod_vnd=1_234_567).cod_fee_vnd == 18519


def test_money_rules() -> None:
    assert refund_for_late(15000) == 15000
    assert compensation_minimum(15000) == 60000
    assert compensation_minimum(0) == 0
    assert repeat_carriage_payer("agency") is Payer.AGENCY
    assert repeat_carriage_payer(Payer.POST) is Payer.POST
    assert repeat_carriage_payer("citizen") is Payer.CITIZEN
    with pytest.raises(ValueError, match="unknown party at fault 'courier'"):
        repeat_carriage_payer("courier")
    with pytest.raises(ValueError, match="cannot be negative"):
        compensation_minimum(-1)
    with pytest.raises(ValueError, match="whole number"):
        refund_for_late(1.5)  # type: ignore[arg-type]


def test_money_rules_on_the_tariff(tariff: Tariff) -> None:
    postage = tariff.quote("inter_province_other", 700).postage_vnd
    assert tariff.refund_for_late(postage) == postage
    assert tariff.compensation_minimum(postage) == 4 * postage
    assert tariff.repeat_carriage_payer("post") is Payer.POST


def test_payer_from_data() -> None:
    tariff = load_tariff({**copy.deepcopy(DATA), "payer": "agency"})
    assert tariff.quote("same_ward", 1).payer is Payer.AGENCY


def _broken(path: list, value: object) -> dict:
    data = copy.deepcopy(DATA)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_broken(["services"], {}), "no services"),
        (_broken(["services"], None), "'services' must be an object"),
        (_broken(["services", "overnight"], DATA["services"]["standard"]), "unknown service 'overnight'"),
        (_broken(["services", "standard", "routes", "remote"], KeyError), "no price for remote"),
        (_broken(["services", "standard", "routes", "district"], {"first_vnd": 1, "additional_vnd": 1}), "district"),
        (_broken(["services", "standard", "routes", "remote", "first_vnd"], -1), "first_vnd cannot be negative"),
        (_broken(["services", "standard", "routes", "remote", "additional_vnd"], 1.5), "additional_vnd must be"),
        (_broken(["services", "standard", "additional_step_g"], 0), "additional_step_g must be at least 1"),
        (_broken(["cod", "percent"], "abc"), "cod.percent must be a number"),
        (_broken(["cod", "percent"], 150), "between 0 and 100"),
        (_broken(["cod", "minimum_vnd"], KeyError), "cod.minimum_vnd"),
        (_broken(["exemptions", 0, "discount_percent"], 101), "at most 100"),
        (_broken(["exemptions", 1, "code"], "policy"), "used twice"),
        (_broken(["exemptions", 0, "procedure_codes"], "1.000001"), "procedure_codes must be a list"),
        (_broken(["payer"], "state"), "unknown payer 'state'"),
        (_broken(["round_up_to_vnd"], 0), "round_up_to_vnd must be at least 1"),
    ],
)
def test_load_tariff_refuses_bad_data(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tariff(data)


def test_cod_percent_is_exact() -> None:
    assert load_tariff(copy.deepcopy(DATA)).cod.percent == Fraction(3, 2)
    assert load_tariff(_broken(["cod", "percent"], 0.1)).cod.percent == Fraction(1, 10)


# --- the shipped placeholder file ---------------------------------------------------------------------------------


def test_shipped_tariff_round_trip() -> None:
    data = shipped()
    assert data["placeholder"] is True
    assert "PLACEHOLDER" in data["_note"]
    tariff = load_tariff(data)
    assert tariff.placeholder
    assert tariff.payer is Payer.CITIZEN
    assert set(tariff.services) == {Service.STANDARD, Service.EXPRESS}
    for service in Service:
        table = tariff.services[service]
        for route in RouteClass:
            price = table.prices[route]
            one, first = tariff.quote(route, 1, service), tariff.quote(route, table.first_step_g, service)
            assert one.postage_vnd == first.postage_vnd >= price.first_vnd
            over = tariff.quote(route, table.first_step_g + 1, service)
            assert over.postage_vnd >= price.first_vnd + price.additional_vnd
            heaviest = tariff.quote(route, tariff.max_weight_g, service)
            assert heaviest.postage_vnd % tariff.round_up_to_vnd == 0
            check_breakdown(heaviest)
    for exemption in tariff.exemptions:
        assert (
            tariff.quote("same_ward", 1, exemption=exemption.code).postage_vnd
            <= tariff.quote("same_ward", 1).postage_vnd
        )
