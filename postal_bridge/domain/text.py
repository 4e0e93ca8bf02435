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


def strip_diacritics(value: str) -> str:
    """Unaccented Vietnamese: decompose, drop combining marks, map đ/Đ (unidecode is GPL, so this is ours)."""
    decomposed = unicodedata.normalize("NFD", value)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


_ADMIN_PREFIXES = (
    "thanh pho",
    "tinh",
    "tp.",
    "tp ",
    "phuong",
    "xa",
    "thi tran",
    "dac khu",
    "quan",
    "huyen",
    "thi xa",
    "p.",
    "q.",
)


def fold_place_name(value: str) -> str:
    """A comparison key for place names across sources: no accents, no case, no type word (Phường, Xã, Tỉnh…)."""
    key = " ".join(strip_diacritics(value).lower().replace("'", "").replace("’", "").split())
    for prefix in _ADMIN_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :].strip(" .")
            break
    return key
