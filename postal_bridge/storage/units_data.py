"""Reads the 2025 administrative-units CSV shipped in ``postal_bridge/data`` (source and licence in its README)."""

from __future__ import annotations

import csv
import unicodedata
from importlib import resources


def load_units() -> tuple[list[dict], list[dict]]:
    """Return (provinces, wards) rows ready for insertion, names in NFC."""
    text = resources.files("postal_bridge.data").joinpath("admin_units_2025.csv").read_text(encoding="utf-8")
    provinces: dict[str, str] = {}
    wards: list[dict] = []
    for row in csv.DictReader(text.splitlines()):
        provinces[row["province_code"]] = unicodedata.normalize("NFC", row["province_name"])
        wards.append(
            {
                "code": row["ward_code"],
                "province_code": row["province_code"],
                "name": unicodedata.normalize("NFC", row["ward_name"]),
                "ward_type": row["ward_type"],
                "lat": float(row["lat"]) if row["lat"] else None,
                "lon": float(row["lon"]) if row["lon"] else None,
            }
        )
    return [{"code": c, "name": n} for c, n in sorted(provinces.items())], wards


def load_legacy() -> tuple[list[dict], list[dict]]:
    """(legacy wards, legacy → 2025 map rows). A legacy commune mapped to several 2025 wards was split."""
    text = resources.files("postal_bridge.data").joinpath("admin_units_legacy_map.csv").read_text(encoding="utf-8")
    wards: dict[str, dict] = {}
    targets: dict[str, list[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        code = row["legacy_ward_code"]
        if not code:  # an island district without wards: mapped as a whole to its special zone
            code = "D" + row["legacy_district_code"]
        wards.setdefault(
            code,
            {
                "code": code,
                "name": unicodedata.normalize("NFC", row["legacy_ward_name"] or row["legacy_district_name"]),
                "district_code": row["legacy_district_code"],
                "district_name": unicodedata.normalize("NFC", row["legacy_district_name"]),
                "province_code": row["legacy_province_code"],
                "province_name": unicodedata.normalize("NFC", row["legacy_province_name"]),
            },
        )
        targets.setdefault(code, [])
        if row["new_ward_code"] not in targets[code]:
            targets[code].append(row["new_ward_code"])
    mapping = [
        {"legacy_ward_code": code, "new_ward_code": new, "relation": "whole" if len(news) == 1 else "split"}
        for code, news in targets.items()
        for new in news
    ]
    return list(wards.values()), mapping
