"""Vietnamese phone numbers, normalised to E.164 for storage and shown as ``0912 345 678``.

Stdlib only (the domain stays pure). Mobile numbers are 10 digits starting 03/05/07/08/09 since the 2018 renumbering;
landlines are 11 digits starting 02. Legacy 11-digit mobiles (01xx) are refused with a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MOBILE = re.compile(r"0[35789][0-9]{8}")  # used with fullmatch; ASCII digits only
_LANDLINE = re.compile(r"02[0-9]{9}")
_LEGACY_MOBILE = re.compile(r"01[2689][0-9]{8}")


@dataclass(frozen=True)
class Phone:
    e164: str  # "+84912345678"

    @property
    def national(self) -> str:
        return "0" + self.e164[3:]

    @property
    def is_mobile(self) -> bool:
        return bool(_MOBILE.fullmatch(self.national))

    @property
    def display(self) -> str:
        n = self.national
        if len(n) == 10:
            return f"{n[:4]} {n[4:7]} {n[7:]}"
        return f"{n[:3]} {n[3:7]} {n[7:]}"

    @property
    def masked(self) -> str:
        """Public-surface form keeping the first two and last three digits: ``09xx xxx 678``."""
        n = self.national
        return f"{n[:2]}xx xxx {n[-3:]}"


def parse_phone(raw: str) -> Phone:
    """Accept ``0912345678``, ``+84 91 234 5678``, ``84912345678``, ``(+84) 91-234-5678``; raise ``ValueError``."""
    digits = re.sub(r"[\s().\-]", "", raw.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("phone number may contain only digits, spaces, +, -, . and parentheses")
    if _LEGACY_MOBILE.fullmatch(digits):
        raise ValueError("this is an old 11-digit mobile number; use the 10-digit number since 2018")
    if not (_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits)):
        raise ValueError("not a Vietnamese mobile (10 digits, 03/05/07/08/09) or landline (11 digits, 02…) number")
    return Phone(e164="+84" + digits[1:])
