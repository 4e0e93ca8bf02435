"""PhonenumbersParser (libphonenumber metadata) and the 2018 renumbering table (engineering.md §6)."""

from __future__ import annotations

import phonenumbers
import pytest

from adapters.phones import PhonenumbersParser
from postal_bridge.domain.phone import Phone
from postal_bridge.domain.phones import RENUMBERING_2018, LegacyNumber, PhoneInfo, PhoneParser, legacy_to_current

# The table as engineering.md §6 states it, typed out independently of the module's data.
EXPECTED_2018 = {
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    **{f"016{d}": f"03{d}" for d in range(2, 10)},
    "0186": "056",
    "0188": "058",
    "0199": "059",
}


@pytest.fixture
def parser() -> PhonenumbersParser:
    return PhonenumbersParser()


def test_parser_satisfies_the_port() -> None:
    port: PhoneParser = PhonenumbersParser()
    assert isinstance(port.parse("0912345678"), PhoneInfo)


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "(+84) 91-234-5678",
        "0 91 234 5678",
        "  0912.345.678 ",
        "+84\t912\u00a0345 678",
    ],
)
def test_common_formats(parser: PhonenumbersParser, raw: str) -> None:
    info = parser.parse(raw)
    assert info == PhoneInfo(
        e164="+84912345678",
        display="0912 345 678",
        number_type="mobile",
        can_receive_sms=True,
        suggestion=None,
        problems=(),
    )
    assert Phone(info.e164).national == "0912345678"


@pytest.mark.parametrize(
    ("raw", "e164", "display"),
    [
        ("0321234567", "+84321234567", "0321 234 567"),  # Viettel, ex-0162
        ("0701234567", "+84701234567", "0701 234 567"),  # MobiFone, ex-0120
        ("0591234567", "+84591234567", "0591 234 567"),  # Gmobile, ex-0199
        ("0861234567", "+84861234567", "0861 234 567"),  # Viettel, new range
    ],
)
def test_current_mobile_ranges(parser: PhonenumbersParser, raw: str, e164: str, display: str) -> None:
    info = parser.parse(raw)
    assert (info.e164, info.display, info.number_type, info.can_receive_sms) == (e164, display, "mobile", True)


def test_legacy_number_is_refused_with_a_suggestion(parser: PhonenumbersParser) -> None:
    with pytest.raises(LegacyNumber) as caught:
        parser.parse("0123 456 7890")
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.suggestion == "+84834567890"
    assert "0834 567 890" in str(err)
    assert "+84834567890" in str(err)
    assert err.info is not None
    assert err.info.e164 == err.info.suggestion == "+84834567890"
    assert err.info.number_type == "mobile"
    assert any("2018" in p for p in err.info.problems)


@pytest.mark.parametrize("raw", ["+841234567890", "841234567890", "(+84) 123-456-7890"])
def test_legacy_number_in_international_form(parser: PhonenumbersParser, raw: str) -> None:
    with pytest.raises(LegacyNumber) as caught:
        parser.parse(raw)
    assert caught.value.suggestion == "+84834567890"


def test_table_matches_engineering_notes() -> None:
    assert {row.old_prefix: row.new_prefix for row in RENUMBERING_2018} == EXPECTED_2018
    assert len(RENUMBERING_2018) == 21


@pytest.mark.parametrize(("old", "new"), sorted(EXPECTED_2018.items()))
def test_every_renumbering_row(parser: PhonenumbersParser, old: str, new: str) -> None:
    legacy = old + "4567890"
    assert legacy_to_current(legacy) == new + "4567890"
    with pytest.raises(LegacyNumber) as caught:
        parser.parse(legacy)
    assert caught.value.suggestion == "+84" + new[1:] + "4567890"
    # The suggested number is a valid mobile by libphonenumber's own metadata, not only by our table.
    suggested = phonenumbers.parse(caught.value.suggestion)
    assert phonenumbers.is_valid_number(suggested)
    assert phonenumbers.number_type(suggested) == phonenumbers.PhoneNumberType.MOBILE
    assert parser.parse(new + "4567890").number_type == "mobile"


@pytest.mark.parametrize(
    "digits",
    ["0912345678", "0130456789", "01304567890", "0123456789", "012345678901", "01234567８90", "+84912345678", ""],
)
def test_legacy_to_current_ignores_other_numbers(digits: str) -> None:
    assert legacy_to_current(digits) is None


def test_legacy_to_current_accepts_international_forms() -> None:
    assert legacy_to_current("+841694567890") == "0394567890"
    assert legacy_to_current("841994567890") == "0594567890"


@pytest.mark.parametrize(
    ("raw", "e164", "display"),
    [
        ("024 3825 3536", "+842438253536", "024 3825 3536"),  # Hà Nội
        ("028 3829 6052", "+842838296052", "028 3829 6052"),  # TP HCM
        ("+84 28 3829 6052", "+842838296052", "028 3829 6052"),
        ("0236 3822 222", "+842363822222", "0236 3822 222"),  # Đà Nẵng: four-digit area code
    ],
)
def test_landlines_are_accepted_but_cannot_receive_sms(
    parser: PhonenumbersParser, raw: str, e164: str, display: str
) -> None:
    info = parser.parse(raw)
    assert (info.e164, info.display, info.number_type) == (e164, display, "landline")
    assert info.can_receive_sms is False
    assert info.suggestion is None
    assert info.problems


def test_other_valid_numbers_are_flagged(parser: PhonenumbersParser) -> None:
    info = parser.parse("1800 1234")
    assert info.number_type == "other"
    assert info.can_receive_sms is False
    assert "toll-free" in info.problems[0]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("091234", "too short"),
        ("09123456789012345", "too long"),
        ("0912 ABC 678", "only digits"),
        ("09123456ab", "only digits"),
        ("phone", "only digits"),
        ("", "empty"),
        ("   ", "empty"),
        ("02012345678", "no such area code"),  # 020x is no Vietnamese area code
        ("0200 1234 567", "no such area code"),
        ("024 1234 567", "wrong number of digits"),  # Hà Nội landlines have 8 subscriber digits
        ("0521234567", "not a Vietnamese mobile"),  # 052 was never allocated
        ("+1 650 253 0000", "not a Vietnamese number"),
    ],
)
def test_invalid_numbers_are_refused(parser: PhonenumbersParser, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parser.parse(raw)
    assert not isinstance(caught.value, LegacyNumber)


@pytest.mark.parametrize(
    "raw",
    [
        "０９１２３４５６７８",  # full-width: libphonenumber itself would accept these
        "０９１２ ３４５ ６７８",
        "+８４912345678",
        "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic
    ],
)
def test_non_ascii_digits_are_refused(parser: PhonenumbersParser, raw: str) -> None:
    assert phonenumbers.is_valid_number(phonenumbers.parse(raw, "VN"))  # the library alone would let them through
    with pytest.raises(ValueError, match="0-9"):
        parser.parse(raw)
