"""UPU S10 identifiers: the mod-11 check digit, validation, construction and the spaced label form."""

from __future__ import annotations

import random

import pytest

from postal_bridge.domain.s10 import S10_PATTERN, check_digit, is_valid, make, spaced


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        ("47312482", 9),  # UPU S10 worked example
        ("12345678", 5),
        ("00000000", 5),  # 11 - 0 = 11 → 5
        ("00000008", 0),  # 56 mod 11 = 1 → 10 → 0
        ("28704377", 5),  # RR287043775IN
    ],
)
def test_check_digit_published_examples(serial: str, digit: int) -> None:
    assert check_digit(serial) == digit


def _reference_check_digit(serial: str) -> int:
    """Independent implementation straight from the S10 definition."""
    weights = [8, 6, 4, 2, 3, 5, 9, 7]
    total = 0
    for i in range(8):
        total += int(serial[i]) * weights[i]
    c = 11 - (total % 11)
    if c == 10:
        return 0
    if c == 11:
        return 5
    return c


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        ("00000001", 4),  # 7 → 11 - 7 = 4
        ("10000000", 3),  # 8 → 3
        ("00000010", 2),  # 9 → 2
        ("99999999", 5),  # 9·44 = 396 ≡ 0 (mod 11) → 11 → 5
        ("00000100", 6),  # weight 5 → 11 - 5 = 6
    ],
)
def test_check_digit_hand_computed(serial: str, digit: int) -> None:
    assert check_digit(serial) == digit


def test_check_digit_matches_reference_for_many_serials() -> None:
    rng = random.Random(20260302)
    results = set()
    for _ in range(2000):
        serial = f"{rng.randrange(100_000_000):08d}"
        d = check_digit(serial)
        assert d == _reference_check_digit(serial), serial
        assert 0 <= d <= 9
        results.add(d)
    assert results == set(range(10))


@pytest.mark.parametrize("code", ["EE123456785VN", "EB123456785VN", "RR287043775IN", "RR473124829GB"])
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid(code)
    assert S10_PATTERN.match(code)


@pytest.mark.parametrize(
    "code",
    [
        "EB123456780VN",
        "EB123456781VN",
        "EB123456784VN",
        "EB123456786VN",
        "EB123456789VN",
        "RR287043770IN",
        "RR473124828GB",
    ],
)
def test_wrong_check_digit_is_invalid(code: str) -> None:
    assert not is_valid(code)


def test_every_other_check_digit_is_invalid() -> None:
    for d in range(10):
        code = f"EB12345678{d}VN"
        assert is_valid(code) is (d == 5), code


def test_transposed_digits_are_detected() -> None:
    assert is_valid("EB123456785VN")
    assert not is_valid("EB213456785VN")
    assert not is_valid("EB123456875VN")


@pytest.mark.parametrize(
    "code",
    [
        "",
        "EB12345678VN",  # 8 digits
        "EB1234567855VN",  # 10 digits
        "E123456785VN",  # one prefix letter
        "EBX123456785VN",  # three prefix letters
        "EB123456785V",  # one country letter
        "EB123456785VNM",  # three country letters
        "12123456785VN",  # digits as prefix
        "EB12345678512",  # digits as country
        "EB12345678AVN",  # letter as check digit
        "ÉB123456785VN",  # accented letter
        "EB-123456785-VN",
        "EB123456785VN\n",
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid(code)


@pytest.mark.parametrize(
    "code",
    ["eb123456785vn", "Eb123456785vN", "EB 123 456 785 VN", " EB123456785VN ", "eb 12345678 5 vn", "rr287043775in"],
)
def test_is_valid_ignores_case_and_spaces(code: str) -> None:
    assert is_valid(code)


def test_make_known_values() -> None:
    assert make("EB", 12345678) == "EB123456785VN"
    assert make("EE", 12345678) == "EE123456785VN"
    assert make("RR", 28704377, "IN") == "RR287043775IN"
    assert make("EB", 0) == "EB000000005VN"
    assert make("EB", 8) == "EB000000080VN"
    assert make("EB", 99_999_999) == "EB999999995VN"


def test_make_round_trip_for_many_serials() -> None:
    rng = random.Random(45_2016)
    prefixes = ["EB", "EE", "RR", "CP", "LX"]
    for _ in range(2000):
        serial = rng.randrange(100_000_000)
        prefix = rng.choice(prefixes)
        code = make(prefix, serial)
        assert len(code) == 13
        assert S10_PATTERN.match(code), code
        assert is_valid(code), code
        assert code.startswith(prefix)
        assert code.endswith("VN")
        assert int(code[2:10]) == serial
        assert int(code[10]) == _reference_check_digit(code[2:10])
        assert is_valid(code.lower())
        assert is_valid(spaced(code))
        # Changing the check digit to any other value breaks validity.
        wrong = (int(code[10]) + rng.randrange(1, 10)) % 10
        assert not is_valid(code[:10] + str(wrong) + code[11:]), code


@pytest.mark.parametrize(
    ("prefix", "serial", "country"),
    [
        ("eb", 1, "VN"),
        ("EB", 1, "vn"),
        ("E", 1, "VN"),
        ("EBB", 1, "VN"),
        ("E1", 1, "VN"),
        ("EB", 1, "V"),
        ("EB", -1, "VN"),
        ("EB", 100_000_000, "VN"),
    ],
)
def test_make_refuses_bad_arguments(prefix: str, serial: int, country: str) -> None:
    with pytest.raises(ValueError):
        make(prefix, serial, country)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EB123456785VN", "EB 123 456 785 VN"),
        ("eb123456785vn", "EB 123 456 785 VN"),
        ("EB 123456785 VN", "EB 123 456 785 VN"),
        ("RR287043775IN", "RR 287 043 775 IN"),
        ("EB000000005VN", "EB 000 000 005 VN"),
    ],
)
def test_spaced(code: str, expected: str) -> None:
    assert spaced(code) == expected


@pytest.mark.parametrize("code", ["EB123456780VN", "GHN-12345", "", "not a code"])
def test_spaced_returns_non_s10_unchanged(code: str) -> None:
    assert spaced(code) == code


@pytest.mark.parametrize(
    "serial", ["", "1234567", "123456789", "1234567a", "12 45678", "-1234567", "+1234567", "1234567.", " 12345678"]
)
def test_check_digit_refuses_non_8_digit_input(serial: str) -> None:
    with pytest.raises(ValueError):
        check_digit(serial)


def test_check_digit_refuses_non_ascii_digits() -> None:
    # str.isdigit() is true for fullwidth / Arabic-Indic digits; an S10 serial is ASCII only.
    with pytest.raises(ValueError):
        check_digit("１２３４５６７８")


def test_non_ascii_digits_are_not_a_valid_s10_code() -> None:
    # `\d` in S10_PATTERN and `str.isdigit` accept any Unicode digit, so a fullwidth code would be stored, printed
    # (``spaced``) and sent to couriers as if it were a real S10 id.
    assert not is_valid("EB１２３４５６７８５VN")
    assert not is_valid("EB١٢٣٤٥٦٧٨٥VN")
