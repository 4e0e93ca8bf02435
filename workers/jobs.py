"""rq job functions: primitive ids in, one service call, nothing else. No Flask, no request context."""

from __future__ import annotations

from postal_bridge.services import outbox, tracking
from workers.runtime import container


def run_outbox(outbox_id: int) -> str:
    return outbox.process(container().deps, outbox_id)


def run_outbox_batch(outbox_ids: list[int]) -> dict:
    return outbox.process_many(container().deps, outbox_ids)


def run_outbox_drain() -> dict:
    deps = container().deps
    deps.jobs.drain_started()
    return outbox.drain(deps, on_backlog=deps.wake_drain)


def poll_consignment(consignment_id: str) -> int:
    return tracking.poll_consignment(container().deps, consignment_id)
