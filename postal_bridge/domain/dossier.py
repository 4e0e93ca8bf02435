"""Dossier codes (mã hồ sơ). TT 01/2018 Art 19: ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``.

Validation is lenient on purpose: vertical agencies (e.g. social insurance ``03706/2026/07906``) use other formats, so a
code that does not follow the structure is accepted and flagged, not refused. Only characters and length are enforced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

STRUCTURED = re.compile(r"^(?P<unit>\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(?P<ymd>\d{6})-(?P<seq>\d{4})$")
ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./_-]{2,63}$")


@dataclass(frozen=True)
class DossierCode:
    value: str
    structured: bool  # follows TT 01/2018 Art 19 exactly
    unit_code: str | None = None  # agency identifier under QCVN 102:2016
    received_on: date | None = None
    sequence: int | None = None

    @property
    def warnings(self) -> list[str]:
        return [] if self.structured else ["dossier code does not follow the TT 01/2018 format; accepted as given"]


def parse_dossier_code(raw: str) -> DossierCode:
    """Parse a dossier code; raise ``ValueError`` only for codes no system could have issued."""
    value = raw.strip().upper()
    if not ALLOWED.match(value):
        raise ValueError("dossier code must be 3–64 letters, digits or . / _ - characters")
    m = STRUCTURED.match(value)
    if not m:
        return DossierCode(value=value, structured=False)
    ymd = m.group("ymd")
    try:
        received = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:6]))
    except ValueError:
        return DossierCode(value=value, structured=False)
    return DossierCode(
        value=value,
        structured=True,
        unit_code=m.group("unit"),
        received_on=received,
        sequence=int(m.group("seq")),
    )
