"""Dossier codes (mã hồ sơ): TT 01/2018 Art 19 structure parsed, other formats accepted with a warning."""

from __future__ import annotations

from datetime import date

import pytest

from postal_bridge.domain.dossier import DossierCode, parse_dossier_code

UNSTRUCTURED_WARNING = "dossier code does not follow the TT 01/2018 format; accepted as given"


@pytest.mark.parametrize(
    ("raw", "unit", "received", "seq"),
    [
        ("000.00.10.H36-250314-0012", "000.00.10.H36", date(2025, 3, 14), 12),
        ("000.00.01.H26-240229-0001", "000.00.01.H26", date(2024, 2, 29), 1),  # leap day
        ("123.45.67.G01-261231-9999", "123.45.67.G01", date(2026, 12, 31), 9999),
        ("000.01.20.H29-000101-0000", "000.01.20.H29", date(2000, 1, 1), 0),
    ],
)
def test_structured_codes_parse(raw: str, unit: str, received: date, seq: int) -> None:
    code = parse_dossier_code(raw)
    assert code == DossierCode(value=raw, structured=True, unit_code=unit, received_on=received, sequence=seq)
    assert code.warnings == []


def test_lowercase_is_upper_cased_and_still_structured() -> None:
    code = parse_dossier_code("000.00.10.h36-250314-0012")
    assert code.value == "000.00.10.H36-250314-0012"
    assert code.structured
    assert code.unit_code == "000.00.10.H36"
    assert code.received_on == date(2025, 3, 14)


def test_surrounding_whitespace_is_removed() -> None:
    code = parse_dossier_code("  000.00.10.H36-250314-0012\n")
    assert code.value == "000.00.10.H36-250314-0012"
    assert code.structured


def test_lowercase_unstructured_is_upper_cased() -> None:
    code = parse_dossier_code("hs-abc/2026")
    assert code.value == "HS-ABC/2026"
    assert not code.structured


@pytest.mark.parametrize(
    "raw",
    [
        "000.00.10.H36-251399-0012",  # month 13
        "000.00.10.H36-250230-0012",  # 30 February
        "000.00.10.H36-250229-0012",  # 29 February in a non-leap year
        "000.00.10.H36-250400-0012",  # day 0
        "000.00.10.H36-250431-0012",  # 31 April
        "000.00.10.H36-000000-0001",
    ],
)
def test_invalid_date_in_structured_looking_code_is_accepted_unstructured(raw: str) -> None:
    code = parse_dossier_code(raw)
    assert code.value == raw
    assert not code.structured
    assert code.unit_code is None
    assert code.received_on is None
    assert code.sequence is None
    assert code.warnings == [UNSTRUCTURED_WARNING]


@pytest.mark.parametrize(
    "raw",
    [
        "03706/2026/07906",  # BHXH (social insurance)
        "000.00.10.H36-250314-012",  # 3-digit sequence
        "000.00.10.H36-25031-0012",  # 5-digit date
        "000.00.10.36-250314-0012",  # letter missing from the unit code
        "00.00.10.H36-250314-0012",
        "000.00.10.H36_250314_0012",
        "000.00.10.H36-250314-0012-1",
        "H36.250314.0012",
        "ABC",
    ],
)
def test_other_formats_are_accepted_unstructured_with_a_warning(raw: str) -> None:
    code = parse_dossier_code(raw)
    assert code.value == raw
    assert code.structured is False
    assert (code.unit_code, code.received_on, code.sequence) == (None, None, None)
    assert code.warnings == [UNSTRUCTURED_WARNING]


def test_bhxh_code() -> None:
    code = parse_dossier_code("03706/2026/07906")
    assert code.value == "03706/2026/07906"
    assert not code.structured
    assert len(code.warnings) == 1
    assert "TT 01/2018" in code.warnings[0]


def test_length_bounds() -> None:
    assert parse_dossier_code("A12").value == "A12"  # 3 characters: shortest allowed
    assert parse_dossier_code("A" * 64).value == "A" * 64  # 64 characters: longest allowed


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "A",
        "AB",
        " AB ",  # 2 characters once stripped
        "A" * 65,
        "1" * 200,
        "-ABC",  # must start with a letter or digit
        ".ABC",
        "/ABC",
        "_ABC",
        "HS 2026 001",  # inner space
        "HS#2026",
        "HS:2026",
        "HỒSƠ-2026",  # Vietnamese letters
        "HS-2026\n001",
        "HS-2026;DROP",
        "HS-２０２６",  # fullwidth digits
    ],
)
def test_impossible_codes_raise_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_dossier_code(raw)


def test_dossier_code_is_immutable() -> None:
    code = parse_dossier_code("03706/2026/07906")
    with pytest.raises(AttributeError):
        code.value = "X"  # type: ignore[misc]
