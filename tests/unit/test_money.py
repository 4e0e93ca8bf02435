"""Money: whole đồng only, parsed strictly and shown the Vietnamese way."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest

from postal_bridge.domain.money import MAX_VND, format_vnd, parse_vnd


def test_max_vnd() -> None:
    assert MAX_VND == 10_000_000_000


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (1, 1), (25_000, 25_000), (MAX_VND, MAX_VND)])
def test_parse_vnd_accepts_ints(value: int, expected: int) -> None:
    result = parse_vnd(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(("value", "expected"), [(0.0, 0), (-0.0, 0), (25000.0, 25_000), (1e9, 1_000_000_000)])
def test_parse_vnd_accepts_integral_floats_as_int(value: float, expected: int) -> None:
    result = parse_vnd(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False])
def test_parse_vnd_refuses_bools(value: bool) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_vnd(value)


@pytest.mark.parametrize(
    "value",
    [0.5, 25000.5, 1e-9, float("nan"), float("inf"), float("-inf"), Decimal("25000"), Fraction(1, 2), Fraction(4, 1)],
)
def test_parse_vnd_refuses_fractions_and_non_int_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_vnd(value)


@pytest.mark.parametrize("value", ["25000", "25.000", "", "0", b"1", None, [1], {"amount": 1}])
def test_parse_vnd_refuses_strings_and_other_types(value: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_vnd(value)


@pytest.mark.parametrize("value", [-1, -25_000, -1.0, -MAX_VND])
def test_parse_vnd_refuses_negatives(value: object) -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_vnd(value)


@pytest.mark.parametrize("value", [MAX_VND + 1, 10**12, float(MAX_VND) * 10, 1e20])
def test_parse_vnd_refuses_amounts_above_max(value: object) -> None:
    with pytest.raises(ValueError, match=re.escape("larger than 10.000.000.000 đ")):
        parse_vnd(value)


def test_parse_vnd_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^cod_vnd must be a whole number"):
        parse_vnd("1", "cod_vnd")
    with pytest.raises(ValueError, match=r"^fee cannot be negative"):
        parse_vnd(-1, field="fee")
    with pytest.raises(ValueError, match=r"^amount "):
        parse_vnd(-1)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (25_000, "25.000 đ"),
        (0, "0 đ"),
        (1_234_567, "1.234.567 đ"),
        (5, "5 đ"),
        (999, "999 đ"),
        (1_000, "1.000 đ"),
        (100_000, "100.000 đ"),
        (MAX_VND, "10.000.000.000 đ"),
        (-25_000, "-25.000 đ"),
        (-1, "-1 đ"),
        (-1_234_567, "-1.234.567 đ"),
    ],
)
def test_format_vnd(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


def test_format_vnd_uses_the_precomposed_dong_sign() -> None:
    # "đ" is U+0111 (Latin small d with stroke), not the currency sign U+20AB.
    assert format_vnd(1).endswith(" \u0111")
    assert "\u20ab" not in format_vnd(1)
