"""The forking worker's warm-up: statements compiled once in the parent, and nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import make_engine
from postal_bridge.storage.warmup import warm_up


def test_warm_up_compiles_the_job_statements_and_writes_nothing(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        before = len(engine._compiled_cache)
        warm_up(engine)
        compiled = len(engine._compiled_cache) - before
        assert compiled >= 15  # claim, settle, loads, inserts: each now compiled, for the job children to inherit
        warm_up(engine)
        assert len(engine._compiled_cache) - before == compiled  # a second run finds them all cached
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.outbox)).scalar_one() == 0
    finally:
        engine.dispose()
