"""Vietnamese text is stored and compared in NFC; everything entering the domain passes through here."""

from __future__ import annotations

import unicodedata
from typing import Any


def nfc(value: str) -> str:
    """Return ``value`` in Unicode NFC with surrounding whitespace removed and inner runs collapsed."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def nfc_deep(value: Any) -> Any:
    """Normalise every string inside nested dicts and lists (the API boundary calls this on request bodies)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc_deep(k): nfc_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_deep(v) for v in value]
    return value
