"""What a phone-number parser tells the services, and the 2018 mobile renumbering (engineering.md §6).

Pure stdlib. The parser itself (``adapters/phones.py``, libphonenumber metadata) sits behind the ``PhoneParser``
Protocol. ``PhoneInfo.e164`` is what we store; ``postal_bridge.domain.phone.Phone(e164)`` keeps working on it.

Vietnam has mobile number portability: the carrier in ``RENUMBERING_2018`` is the *original* allocation, kept as a
label for people reading the table. Never route, price or choose an SMS gateway by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

NumberType = Literal["mobile", "landline", "other"]


@dataclass(frozen=True)
class PhoneInfo:
    e164: str  # "+84912345678"
    display: str  # national grouping: "0912 345 678", "024 3825 3536"
    number_type: NumberType
    can_receive_sms: bool
    suggestion: str | None = None  # E.164 of the 10-digit number when the input was a legacy 11-digit mobile
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Renumbering:
    old_prefix: str  # "0123" (national, with the trunk 0)
    new_prefix: str  # "083"
    carrier: str  # original allocation only; numbers are portable


# From 15 Sep 2018 (old and new numbers ran in parallel until 14 Nov 2018): the 11-digit mobile numbers lost one
# digit; the 7 subscriber digits after the prefix did not change.
RENUMBERING_2018: tuple[Renumbering, ...] = (
    Renumbering("0120", "070", "MobiFone"),
    Renumbering("0121", "079", "MobiFone"),
    Renumbering("0122", "077", "MobiFone"),
    Renumbering("0126", "076", "MobiFone"),
    Renumbering("0128", "078", "MobiFone"),
    Renumbering("0123", "083", "VinaPhone"),
    Renumbering("0124", "084", "VinaPhone"),
    Renumbering("0125", "085", "VinaPhone"),
    Renumbering("0127", "081", "VinaPhone"),
    Renumbering("0129", "082", "VinaPhone"),
    Renumbering("0162", "032", "Viettel"),
    Renumbering("0163", "033", "Viettel"),
    Renumbering("0164", "034", "Viettel"),
    Renumbering("0165", "035", "Viettel"),
    Renumbering("0166", "036", "Viettel"),
    Renumbering("0167", "037", "Viettel"),
    Renumbering("0168", "038", "Viettel"),
    Renumbering("0169", "039", "Viettel"),
    Renumbering("0186", "056", "Vietnamobile"),
    Renumbering("0188", "058", "Vietnamobile"),
    Renumbering("0199", "059", "Gmobile"),
)
_BY_OLD_PREFIX = {row.old_prefix: row for row in RENUMBERING_2018}


def legacy_to_current(digits: str) -> str | None:
    """``"01234567890"`` → ``"0834567890"``; ``None`` when ``digits`` is not a legacy 11-digit mobile number.

    ``digits`` is the national form with its trunk 0 (``+84``/``84`` forms are accepted too); ASCII digits only.
    """
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 12:
        digits = "0" + digits[2:]
    if len(digits) != 11 or not (digits.isascii() and digits.isdigit()):
        return None
    row = _BY_OLD_PREFIX.get(digits[:4])
    return None if row is None else row.new_prefix + digits[4:]


def national_to_e164(national: str) -> str:
    """``"0912345678"`` → ``"+84912345678"``."""
    return "+84" + national.removeprefix("0")


class LegacyNumber(ValueError):
    """An 11-digit mobile number from before the 2018 renumbering. Ask the user to confirm ``suggestion``.

    ``info`` describes the suggested number (its ``suggestion`` set, a problem noting the migration), so a form can
    show "Did you mean 0834 567 890?" and store ``info.e164`` once the user agrees.
    """

    def __init__(self, raw: str, suggestion: str, info: PhoneInfo | None = None) -> None:
        self.raw = raw
        self.suggestion = suggestion
        self.info = info
        shown = info.display if info is not None else suggestion
        super().__init__(
            f"{raw.strip()!r} is an old 11-digit mobile number (renumbered in 2018); "
            f"did you mean {shown} ({suggestion})?"
        )


class PhoneParser(Protocol):
    def parse(self, raw: str) -> PhoneInfo:
        """Parse a Vietnamese number; raise ``LegacyNumber`` for an 11-digit mobile, ``ValueError`` if invalid."""
        ...
