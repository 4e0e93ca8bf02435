"""``UnitsCatalog`` over the database: 2025 wards, legacy communes and their 2025 successors (migration 0004)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from postal_bridge.domain.addressing import LegacyRecord, UnitRecord
from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import reading


class SqlUnitsCatalog:
    """Reads the reference tables in one short connection per call; the caller builds its indexes once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def provinces(self) -> list[tuple[str, str]]:
        with reading(self.engine) as conn:
            rows = conn.execute(select(t.provinces.c.code, t.provinces.c.name).order_by(t.provinces.c.code)).all()
        return [(r.code, r.name) for r in rows]

    def wards_2025(self) -> list[UnitRecord]:
        q = (
            select(t.wards, t.provinces.c.name.label("province_name"))
            .join(t.provinces, t.provinces.c.code == t.wards.c.province_code)
            .order_by(t.wards.c.code)
        )
        with reading(self.engine) as conn:
            rows = conn.execute(q).mappings().all()
        return [
            UnitRecord(
                code=r["code"],
                name=r["name"],
                province_code=r["province_code"],
                province_name=r["province_name"],
                ward_type=r["ward_type"],
                lat=r["lat"],
                lon=r["lon"],
            )
            for r in rows
        ]

    def legacy(self) -> list[LegacyRecord]:
        m = t.legacy_ward_map
        with reading(self.engine) as conn:
            wards = conn.execute(select(t.legacy_wards).order_by(t.legacy_wards.c.code)).mappings().all()
            links = conn.execute(
                select(m.c.legacy_ward_code, m.c.new_ward_code, m.c.relation).order_by(
                    m.c.legacy_ward_code, m.c.new_ward_code
                )
            ).all()
        targets: dict[str, list[str]] = {}
        split: dict[str, bool] = {}
        for code, new, relation in links:
            targets.setdefault(code, []).append(new)
            split[code] = split.get(code, False) or relation == "split"
        return [
            LegacyRecord(
                code=r["code"],
                name=r["name"],
                district_code=r["district_code"],
                district_name=r["district_name"],
                province_code=r["province_code"],
                province_name=r["province_name"],
                new_ward_codes=tuple(targets.get(r["code"], ())),
                split=split.get(r["code"], False) or len(targets.get(r["code"], ())) > 1,
            )
            for r in wards
        ]
