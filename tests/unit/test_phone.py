"""Vietnamese phone numbers: parsed to E.164, shown as ``0912 345 678``, masked as ``09xx xxx 678``."""

from __future__ import annotations

import pytest

from postal_bridge.domain.phone import Phone, parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "(+84) 91-234-5678",
        "0 91 234 5678",
        "+84 91 234 5678",
        "0912.345.678",
        "  0912 345 678  ",
        "0912-345-678",
        "(0912) 345678",
        "+84\t912\u00a0345 678",
    ],
)
def test_common_formats_normalise_to_e164(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone == Phone(e164="+84912345678")
    assert phone.national == "0912345678"
    assert phone.is_mobile


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0321234567", "+84321234567"),
        ("0561234567", "+84561234567"),
        ("0701234567", "+84701234567"),
        ("0861234567", "+84861234567"),
        ("0991234567", "+84991234567"),
        ("84861234567", "+84861234567"),
        ("0841234567", "+84841234567"),  # national number starting 084 is not mistaken for the country code
    ],
)
def test_all_mobile_prefixes(raw: str, e164: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == e164
    assert phone.is_mobile


def test_display_and_masked_mobile() -> None:
    phone = parse_phone("+84912345678")
    assert phone.display == "0912 345 678"
    assert phone.masked == "09xx xxx 678"
    assert "345" not in phone.masked
    assert "912345" not in phone.masked


@pytest.mark.parametrize("raw", ["024 3825 3536", "02438253536", "+84 24 3825 3536", "842438253536", "(024) 3825-3536"])
def test_landline_accepted(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == "+842438253536"
    assert phone.national == "02438253536"
    assert phone.is_mobile is False
    assert phone.display == "024 3825 3536"
    assert phone.masked == "02xx xxx 536"


@pytest.mark.parametrize("raw", ["01234567890", "0162 345 6789", "+84 1234567890", "0199 123 4567"])
def test_legacy_11_digit_mobiles_refused_with_a_hint(raw: str) -> None:
    with pytest.raises(ValueError, match="10-digit") as info:
        parse_phone(raw)
    assert "old 11-digit mobile" in str(info.value)


@pytest.mark.parametrize("raw", ["09123abc78", "0912 345 67O", "zero912345678", "0912345678x", "+84-91-234-567a"])
def test_letters_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="only digits"):
        parse_phone(raw)


@pytest.mark.parametrize("raw", ["0912#345678", "0912/345/678", "0912_345_678", "+ 84 912345678 ext"])
def test_other_symbols_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "+84",
        "0",
        "091234567",  # 9 digits
        "912345678",  # no leading 0
        "+8491234567",
        "113",  # emergency short code
        "1900 1234",
    ],
)
def test_too_short_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "09123456789",  # 11 digits starting 09
        "0243825353",  # 10 digits starting 02
        "024382535361",  # 12 digits
        "0112345678",  # 01 + 10 digits is neither mobile nor landline
        "0412345678",  # 04 is not a mobile prefix
        "0612345678",
        "+1 212 555 0100",  # foreign
        "+840912345678",  # country code plus trunk 0
    ],
)
def test_other_invalid_numbers_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_phone(raw)


def test_parse_is_idempotent_over_display_and_e164() -> None:
    for raw in ("0912345678", "02438253536", "0321234567"):
        phone = parse_phone(raw)
        assert parse_phone(phone.e164) == phone
        assert parse_phone(phone.display) == phone
        assert parse_phone(phone.national) == phone
