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
