"""UPU S10 item identifiers (``EB123456785VN``): format and mod-11 check digit (weights 8,6,4,2,3,5,9,7)."""

from __future__ import annotations

import re

S10_PATTERN = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")  # ASCII only; used with fullmatch
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def check_digit(serial: str) -> int:
    """Check digit for an 8-digit serial: 11 − (Σ dᵢ·wᵢ mod 11), with 10 → 0 and 11 → 5."""
    if len(serial) != 8 or not (serial.isascii() and serial.isdigit()):
        raise ValueError("an S10 serial is exactly 8 digits")
    c = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def is_valid(code: str) -> bool:
    """True when ``code`` is a well-formed S10 id whose check digit matches (spaces and case are ignored)."""
    code = code.replace(" ", "").upper()
    if not S10_PATTERN.fullmatch(code):
        return False
    return check_digit(code[2:10]) == int(code[10])


def make(prefix: str, serial: int, country: str = "VN") -> str:
    """Build an S10 id from a 2-letter service indicator, a serial number (0 … 99,999,999) and a country code."""
    if not re.fullmatch(r"[A-Z]{2}", prefix, re.ASCII) or not re.fullmatch(r"[A-Z]{2}", country, re.ASCII):
        raise ValueError("prefix and country are two capital letters")
    if not 0 <= serial <= 99_999_999:
        raise ValueError("serial out of range")
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{check_digit(digits)}{country}"


def spaced(code: str) -> str:
    """Human-readable form used on labels: ``EB 123 456 785 VN``; non-S10 codes are returned unchanged."""
    if not is_valid(code):
        return code
    c = code.replace(" ", "").upper()
    return f"{c[:2]} {c[2:5]} {c[5:8]} {c[8:11]} {c[11:]}"
