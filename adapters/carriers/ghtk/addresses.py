"""GHTK takes addresses by NAME (``province``, ``district``, ``ward`` as text), so resolving a canonical 2025 ward
means checking it against the 2025 administrative-unit list we ship (``postal_bridge/data``) and producing the names
GHTK reads, plus the legacy (pre-2025) district where one is unambiguous (GHTK's API still has a ``district`` field;
whether it is still needed after the reform is an open question, carriers.md §5.7 q2).

GHTK publishes no province/ward id tree, so there is no master-data endpoint to call: the ward is placed only when its
code exists in the list, in the given province, under a name that folds to the name given. Anything else is
unresolvable — never guessed.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from postal_bridge.domain.text import fold_place_name


@dataclass(frozen=True)
class WardName:
    province_code: str
    province_name: str
    ward_code: str
    ward_name: str
    legacy_district: str  # "" when none or ambiguous


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


@lru_cache(maxsize=1)
def ward_table() -> dict[str, WardName]:
    data = resources.files("postal_bridge.data")
    units = csv.DictReader(data.joinpath("admin_units_2025.csv").read_text(encoding="utf-8").splitlines())
    legacy_rows = csv.DictReader(data.joinpath("admin_units_legacy_map.csv").read_text(encoding="utf-8").splitlines())
    same_code: dict[str, str] = {}
    districts: dict[str, Counter] = {}
    for row in legacy_rows:
        new = row["new_ward_code"]
        name = _nfc(row["legacy_district_name"])
        districts.setdefault(new, Counter())[name] += 1
        if row["legacy_ward_code"] == new:
            same_code[new] = name
    table: dict[str, WardName] = {}
    for row in units:
        code = row["ward_code"]
        counts = districts.get(code, Counter())
        legacy = same_code.get(code, "")
        if not legacy and len(counts) == 1:
            legacy = next(iter(counts))
        table[code] = WardName(
            province_code=row["province_code"],
            province_name=_nfc(row["province_name"]),
            ward_code=code,
            ward_name=_nfc(row["ward_name"]),
            legacy_district=legacy,
        )
    return table


def lookup_ward(province_code: str, ward_code: str, ward_name: str) -> WardName | None:
    """The canonical ward when code, province and (folded) name all agree; else ``None``."""
    ward = ward_table().get(ward_code.strip())
    if ward is None or ward.province_code != province_code.strip():
        return None
    if ward_name and fold_place_name(ward_name) != fold_place_name(ward.ward_name):
        return None
    return ward
