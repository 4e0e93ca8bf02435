"""Stores adapters use outside a unit of work: courier address codes (database) and courier tokens (Redis)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import reading


class SqlAddressMapStore:
    """Each courier account's codes for a 2025 ward, refreshed from the courier's master data when missing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, carrier: str, account: str, ward_code: str) -> dict | None:
        m = t.carrier_address_map
        with reading(self.engine) as conn:
            return conn.execute(
                select(m.c.data).where(m.c.carrier == carrier, m.c.account == account, m.c.ward_code == ward_code)
            ).scalar()

    def put(self, carrier: str, account: str, ward_code: str, data: dict) -> None:
        m = t.carrier_address_map
        with self.engine.begin() as conn:
            conn.execute(m.delete().where(m.c.carrier == carrier, m.c.account == account, m.c.ward_code == ward_code))
            conn.execute(
                insert(m).values(
                    carrier=carrier, account=account, ward_code=ward_code, data=data, refreshed_at=datetime.now(UTC)
                )
            )


class RedisTokenCache:
    """Courier login tokens shared by every process, so a fleet of workers logs in once, not once per job."""

    PREFIX = "pb:token:"

    def __init__(self, connect: Callable[[], object]) -> None:
        self._connect = connect

    def get(self, key: str) -> str | None:
        value = self._connect().get(self.PREFIX + key)
        return value.decode() if value is not None else None

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._connect().set(self.PREFIX + key, value, ex=max(1, ttl_seconds))

    def delete(self, key: str) -> None:
        self._connect().delete(self.PREFIX + key)
