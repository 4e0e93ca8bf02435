"""``PhoneParser`` on libphonenumber's metadata (``phonenumbers``, Apache-2.0): which VN prefixes and area codes exist.

Only Vietnamese numbers are accepted (storage assumes ``+84``; ``Phone.national`` strips it). The carrier is never
looked up: Vietnam has number portability, so ``phonenumbers.carrier`` only knows the original allocation.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

from postal_bridge.domain.phones import LegacyNumber, NumberType, PhoneInfo, legacy_to_current

_ALLOWED_PUNCTUATION = frozenset("+().-/")

_TYPES: dict[int, NumberType] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
}
_OTHER_NAMES = {
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed line or mobile",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "universal access number",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
_LENGTH_PROBLEMS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "the wrong length",
    ValidationResult.INVALID_COUNTRY_CODE: "not a known country code",
}


class PhonenumbersParser:
    """``parse("0912 345 678")`` → ``PhoneInfo("+84912345678", "0912 345 678", "mobile", True)``."""

    region = "VN"

    def parse(self, raw: str) -> PhoneInfo:
        text = " ".join(raw.split())  # tabs, no-break spaces from copy-paste: libphonenumber wants plain spaces
        _check_characters(raw, text)
        try:
            number = phonenumbers.parse(text, self.region)
        except NumberParseException as exc:
            raise ValueError(f"{text!r} is not a phone number: {exc}") from exc
        if number.country_code != 84:
            raise ValueError(f"{text!r} is not a Vietnamese number (+84); only Vietnamese numbers are accepted")
        if not phonenumbers.is_valid_number(number):
            national = "0" + str(number.national_number)
            current = legacy_to_current(national)
            if current is not None:
                suggestion = self._suggestion(current)
                raise LegacyNumber(raw, suggestion.e164, suggestion)
            raise ValueError(_invalid_reason(text, number))
        return _info(number)

    def _suggestion(self, current_national: str) -> PhoneInfo:
        info = _info(phonenumbers.parse(current_national, self.region))
        return PhoneInfo(
            e164=info.e164,
            display=info.display,
            number_type=info.number_type,
            can_receive_sms=info.can_receive_sms,
            suggestion=info.e164,
            problems=(*info.problems, f"renumbered in 2018; the 10-digit number is {info.display}"),
        )


def _check_characters(raw: str, text: str) -> None:
    if not text:
        raise ValueError("phone number is empty")
    for ch in text:
        if ch.isdigit() and not ch.isascii():
            raise ValueError(f"{raw!r}: type the digits 0-9 (not {ch!r}, a full-width or non-Latin digit)")
        if not (ch.isascii() and ch.isdigit()) and ch not in _ALLOWED_PUNCTUATION and not ch.isspace():
            raise ValueError(f"{raw!r}: a phone number may contain only digits, spaces, + ( ) . - / (found {ch!r})")


def _invalid_reason(text: str, number: phonenumbers.PhoneNumber) -> str:
    length = phonenumbers.is_possible_number_with_reason(number)
    if length in _LENGTH_PROBLEMS:
        return f"{text!r} is {_LENGTH_PROBLEMS[length]} for a Vietnamese number"
    national = "0" + str(number.national_number)
    if national.startswith("02"):
        return f"{text!r} is not a Vietnamese landline: no such area code, or the wrong number of digits for it"
    return f"{text!r} is not a Vietnamese mobile (10 digits: 03, 05, 07, 08, 09…) or landline (11 digits: 02…) number"


def _info(number: phonenumbers.PhoneNumber) -> PhoneInfo:
    kind = phonenumbers.number_type(number)
    number_type = _TYPES.get(kind, "other")
    problems: tuple[str, ...] = ()
    if number_type == "landline":
        problems = ("landline: cannot receive SMS",)
    elif number_type == "other":
        problems = (f"not a personal mobile or landline number ({_OTHER_NAMES.get(kind, 'unknown type')})",)
    return PhoneInfo(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        display=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        number_type=number_type,
        can_receive_sms=number_type == "mobile",
        suggestion=None,
        problems=problems,
    )
