"""Address code validation in the 2025 two-level scheme (ward + province, no district)."""

from __future__ import annotations

import pytest

from postal_bridge.domain.address import SCHEME_2025, Address, Ward, validate_address_codes

HANOI_WARD = Ward(code="00004", name="Phường Ba Đình", province_code="01", province_name="Thành phố Hà Nội")
HCMC_WARD = Ward(code="26734", name="Phường Sài Gòn", province_code="79", province_name="Thành phố Hồ Chí Minh")
LINE = "Số 12 ngõ 34 phố Láng Hạ"


def _addr(line: str = LINE, ward_code: str = "00004", province_code: str = "01") -> Address:
    return Address(line=line, ward_code=ward_code, province_code=province_code)


def test_good_address_has_no_errors() -> None:
    assert validate_address_codes(_addr(), HANOI_WARD) == {}
    assert validate_address_codes(_addr(ward_code="26734", province_code="79"), HCMC_WARD) == {}


def test_default_scheme_is_2025() -> None:
    assert _addr().scheme == SCHEME_2025 == "2025"


def test_unknown_ward() -> None:
    errors = validate_address_codes(_addr(ward_code="99999"), None)
    assert set(errors) == {"ward_code"}
    assert len(errors["ward_code"]) == 1
    assert "99999" in errors["ward_code"][0]
    assert "not in the 2025 list" in errors["ward_code"][0]


def test_ward_in_another_province() -> None:
    errors = validate_address_codes(_addr(ward_code="26734", province_code="01"), HCMC_WARD)
    assert set(errors) == {"ward_code"}
    message = errors["ward_code"][0]
    assert "26734" in message
    assert "Phường Sài Gòn" in message
    assert "belongs to province 79" in message
    assert "not 01" in message


@pytest.mark.parametrize("province_code", ["1", "001", "", "AB", "0a", " 01", "01 "])
def test_malformed_province_code(province_code: str) -> None:
    errors = validate_address_codes(_addr(province_code=province_code), HANOI_WARD)
    assert set(errors) == {"province_code"}
    assert errors["province_code"] == ["Province code is two digits of the 2025 list (e.g. 01)."]


@pytest.mark.parametrize("ward_code", ["4", "0004", "000004", "", "0000A", "00-04", " 00004"])
def test_malformed_ward_code(ward_code: str) -> None:
    # The ward passed in does not matter: a malformed code is reported as such, never as "unknown" or "elsewhere".
    for ward in (None, HANOI_WARD, HCMC_WARD):
        errors = validate_address_codes(_addr(ward_code=ward_code), ward)
        assert set(errors) == {"ward_code"}
        assert errors["ward_code"] == ["Ward code is five digits of the 2025 list (e.g. 00004)."]


def test_malformed_province_does_not_add_a_cross_province_error() -> None:
    errors = validate_address_codes(_addr(ward_code="26734", province_code="7"), HCMC_WARD)
    assert set(errors) == {"province_code"}


def test_both_codes_malformed_and_line_empty() -> None:
    errors = validate_address_codes(_addr(line="", ward_code="x", province_code="y"), None)
    assert set(errors) == {"province_code", "ward_code", "line"}
    assert all(len(messages) == 1 for messages in errors.values())


def test_empty_line() -> None:
    errors = validate_address_codes(_addr(line=""), HANOI_WARD)
    assert errors == {"line": ["Street line is required, at most 200 characters."]}


def test_line_length_bounds() -> None:
    assert validate_address_codes(_addr(line="x" * 200), HANOI_WARD) == {}
    assert validate_address_codes(_addr(line="1"), HANOI_WARD) == {}
    assert set(validate_address_codes(_addr(line="x" * 201), HANOI_WARD)) == {"line"}


def test_errors_combine_unknown_ward_and_empty_line() -> None:
    errors = validate_address_codes(_addr(line="", ward_code="12345"), None)
    assert set(errors) == {"ward_code", "line"}


WARDS = {w.code: w for w in (HANOI_WARD, HCMC_WARD)}


@pytest.mark.parametrize(
    ("ward_code", "province_code"),
    [("00004\n", "01"), ("00004", "01\n"), ("０００04", "01"), ("00004", "０1")],
)
def test_codes_with_stray_characters_are_not_accepted(ward_code: str, province_code: str) -> None:
    # The services look the ward up by the exact code, as here.
    address = _addr(ward_code=ward_code, province_code=province_code)
    assert validate_address_codes(address, WARDS.get(ward_code)) != {}


def test_lines_use_the_two_level_form() -> None:
    assert _addr().lines(HANOI_WARD) == (LINE, "Phường Ba Đình, Thành phố Hà Nội")
