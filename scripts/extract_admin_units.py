#!/usr/bin/env python3
"""Regenerate postal_bridge/data/admin_units_2025.csv (and the legacy map).

Vietnam's post-2025 administrative units (34 provinces, 3,321 wards/communes/
special zones) are taken from the SQLite dataset bundled in the MIT-licensed
PyPI package ``vietnamadminunits`` and written out as plain CSV files that ship
inside ``postal_bridge``.

How to run (from the repository root)::

    python3.11 -m venv /tmp/unitsvenv
    /tmp/unitsvenv/bin/pip install vietnamadminunits==1.0.4
    /tmp/unitsvenv/bin/python scripts/extract_admin_units.py

Options: ``--out-dir DIR`` (default ``postal_bridge/data`` next to this
script's repository), ``--db PATH`` (use a ``dataset.db`` directly instead of
locating it inside the installed package), ``--no-legacy`` (skip the
old->new map).

Why ``vietnamadminunits`` is NOT a runtime dependency of postal-bridge: it
depends on ``unidecode`` (GPL-2.0+), plus shapely/geopy/tqdm that we do not
need.  We only need its data, so this script runs in a throwaway virtualenv
and we commit the generated CSV files.  The script itself uses only the
standard library; it never imports the package's code (it only locates the
package's ``data/`` directory through ``importlib.util.find_spec``, which does
not execute the package), so ``unidecode`` is never loaded.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import re
import sqlite3
import sys
import unicodedata
from collections import Counter
from pathlib import Path

PACKAGE = "vietnamadminunits"
REPO_ROOT = Path(__file__).resolve().parent.parent

UNITS_HEADER = [
    "province_code",
    "province_name",
    "ward_code",
    "ward_name",
    "ward_type",
    "lat",
    "lon",
]
LEGACY_HEADER = [
    "legacy_province_code",
    "legacy_province_name",
    "legacy_district_code",
    "legacy_district_name",
    "legacy_ward_code",
    "legacy_ward_name",
    "new_province_code",
    "new_ward_code",
]

# The ward type is derived from the official name prefix.  The package's own
# ``wardType`` column contradicts the name for 4 wards (Hải Phòng 10543/11848,
# Cần Thơ 31213/31299); the names agree with the NSO list, so names win.
TYPE_PREFIXES = (("Đặc khu ", "dac_khu"), ("Phường ", "phuong"), ("Xã ", "xa"))


def clean(text: str | None) -> str:
    """NFC-normalise and collapse runs of whitespace."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())


def ward_type(name: str) -> str:
    for prefix, value in TYPE_PREFIXES:
        if name.startswith(prefix):
            return value
    raise ValueError(f"cannot derive ward type from name {name!r}")


def coord(value: float | None) -> str:
    return "" if value is None else f"{float(value):.6f}"


def locate_data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{PACKAGE} is not installed; see this script's docstring")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def extract_units(conn: sqlite3.Connection) -> list[list[str]]:
    rows = []
    query = "SELECT provinceCode, province, wardCode, ward, wardLat, wardLon FROM admin_units"
    for pcode, pname, wcode, wname, lat, lon in conn.execute(query):
        pcode, wcode = clean(pcode).zfill(2), clean(wcode).zfill(5)
        wname = clean(wname)
        rows.append([pcode, clean(pname), wcode, wname, ward_type(wname), coord(lat), coord(lon)])
    rows.sort(key=lambda r: (r[0], r[2]))
    codes = Counter(r[2] for r in rows)
    dups = [c for c, n in codes.items() if n > 1]
    if dups:
        raise SystemExit(f"duplicate ward codes in source: {dups}")
    return rows


def extract_legacy(conn: sqlite3.Connection, data_dir: Path) -> list[list[str]]:
    """Old (63-province) ward -> new ward pairs from converter_2025.json."""
    new_by_key: dict[tuple[str, str], tuple[str, str]] = {}
    for pkey, wkey, pcode, wcode in conn.execute(
        "SELECT provinceKey, wardKey, provinceCode, wardCode FROM admin_units"
    ):
        new_by_key[(pkey, wkey)] = (clean(pcode).zfill(2), clean(wcode).zfill(5))

    legacy_by_key: dict[str, list[str]] = {}
    for pkey, dkey, wkey, pcode, pname, dcode, dname, wcode, wname in conn.execute(
        "SELECT provinceKey, districtKey, wardKey, provinceCode, province, "
        "districtCode, district, wardCode, ward FROM admin_units_legacy"
    ):
        key = f"{pkey}_{dkey}_{wkey or ''}"
        if key in legacy_by_key:
            raise SystemExit(f"duplicate legacy key {key}")
        legacy_by_key[key] = [
            clean(pcode).zfill(2),
            clean(pname),
            clean(dcode).zfill(3),
            clean(dname),
            clean(wcode).zfill(5) if wcode else "",  # district with no wards
            clean(wname),
        ]

    conv = json.loads((data_dir / "converter_2025.json").read_text(encoding="utf-8"))
    pairs: set[tuple[str, tuple[str, str]]] = set()
    for pkey, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for wkey, legacy_keys in wards.items():
            for lkey in legacy_keys:
                pairs.add((lkey, new_by_key[(pkey, wkey)]))
    for pkey, legacy in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for lkey, targets in legacy.items():
            for target in targets:
                pairs.add((lkey, new_by_key[(pkey, target["newWardKey"])]))

    rows = [legacy_by_key[lkey] + list(new) for lkey, new in pairs]
    rows.sort(key=lambda r: (r[0], r[2], r[4], r[6], r[7]))
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "postal_bridge" / "data")
    parser.add_argument("--db", type=Path, help="path to the package's dataset.db")
    parser.add_argument("--no-legacy", action="store_true")
    args = parser.parse_args()

    data_dir = args.db.parent if args.db else locate_data_dir()
    conn = sqlite3.connect(f"file:{data_dir / 'dataset.db'}?mode=ro", uri=True)

    units = extract_units(conn)
    write_csv(args.out_dir / "admin_units_2025.csv", UNITS_HEADER, units)
    types = Counter(r[4] for r in units)
    print(f"{PACKAGE} {package_version()}: {len({r[0] for r in units})} provinces, {len(units)} wards ({dict(types)})")

    if not args.no_legacy:
        legacy = extract_legacy(conn, data_dir)
        write_csv(args.out_dir / "admin_units_legacy_map.csv", LEGACY_HEADER, legacy)
        print(
            f"legacy map: {len(legacy)} pairs, "
            f"{len({(r[2], r[4]) for r in legacy})} legacy units, "
            f"{len({r[7] for r in legacy})} new wards"
        )


if __name__ == "__main__":
    main()
