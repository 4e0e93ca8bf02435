"""Addresses in the 2025 two-level scheme (street line, ward, province; no district) and the people at each end."""

from __future__ import annotations

import re
from dataclasses import dataclass

from postal_bridge.domain.phone import Phone

SCHEME_2025 = "2025"
PROVINCE_CODE = re.compile(r"[0-9]{2}")  # used with fullmatch: ASCII digits, no trailing newline
WARD_CODE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True)
class Ward:
    """One commune, ward or special zone (xã / phường / đặc khu) of the 2025 list."""

    code: str
    name: str
    province_code: str
    province_name: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Address:
    line: str  # house number, street, hamlet (số nhà, đường, thôn/ấp/tổ)
    ward_code: str
    province_code: str
    scheme: str = SCHEME_2025

    def lines(self, ward: Ward) -> tuple[str, ...]:
        """Printable lines: street, then ``Ward, Province`` (the 2025 form, no district)."""
        return (self.line, f"{ward.name}, {ward.province_name}")


@dataclass(frozen=True)
class Party:
    name: str
    phone: Phone
    address: Address

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def mask_name(name: str) -> str:
    """``Nguyễn Thị Hằng`` → ``Nguyễn T. H.``: family name kept, other names reduced to initials."""
    parts = name.split()
    if len(parts) <= 1:
        return (parts[0][0] + ".") if parts else ""
    return " ".join([parts[0], *(p[0] + "." for p in parts[1:])])


def validate_address_codes(address: Address, ward: Ward | None) -> dict[str, list[str]]:
    """Field errors for an address whose ward was looked up (``None`` when the code is unknown)."""
    errors: dict[str, list[str]] = {}
    if not PROVINCE_CODE.fullmatch(address.province_code):
        errors["province_code"] = ["Province code is two digits of the 2025 list (e.g. 01)."]
    if not WARD_CODE.fullmatch(address.ward_code):
        errors["ward_code"] = ["Ward code is five digits of the 2025 list (e.g. 00004)."]
    elif ward is None:
        errors["ward_code"] = [f"Ward {address.ward_code} is not in the 2025 list of 3,321 communes and wards."]
    elif "province_code" not in errors and ward.province_code != address.province_code:
        errors["ward_code"] = [
            f"Ward {address.ward_code} ({ward.name}) belongs to province {ward.province_code}, "
            f"not {address.province_code}."
        ]
    if not address.line.strip() or len(address.line) > 200:
        errors["line"] = ["Street line is required, at most 200 characters."]
    return errors
