"""rq queues by purpose and the ``JobQueue`` port implementation the services enqueue through."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from rq import Queue

from postal_bridge.services.outbox import BATCH_BUDGET_SECONDS

QUEUES = ("outbox", "tracking")
JOB_TIMEOUT = {"outbox": 90, "tracking": 60}  # longer than a courier call's connect + read timeouts
# A wake-up of more than SPREAD items (the relay's, a push of many events) is enqueued as batch jobs of up to BATCH
# items each: rq's own cost per job (a few milliseconds: Redis round trips, job bookkeeping, a fork for the forking
# worker) is then paid once per batch. Up to SPREAD items keep a job each, so the few effects of one command still
# run side by side on several workers.
SPREAD = 4
BATCH = 25


class RqJobQueue:
    """Enqueues by deterministic job id; the outbox lease, not rq, decides whether work actually runs."""

    def __init__(self, connect: Callable[[], object]) -> None:
        self._connect = connect
        self._conn = None

    @property
    def conn(self):
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.conn, default_timeout=JOB_TIMEOUT[name])

    def enqueue_outbox(self, outbox_ids: Sequence[int]) -> None:
        self.enqueue_wakes([outbox_ids])

    def enqueue_wakes(self, wakes: Sequence[Sequence[int]]) -> None:
        """Several wake-ups in one Redis round trip, each queued as ``enqueue_outbox`` would queue it alone."""
        q = self.queue("outbox")
        with self.conn.pipeline() as pipe:
            for wake in wakes:
                self._enqueue_wake(q, list(dict.fromkeys(wake)), pipe)
            pipe.execute()

    @staticmethod
    def _enqueue_wake(q: Queue, ids: list[int], pipe) -> None:
        if len(ids) <= SPREAD:
            for i in ids:
                q.enqueue(
                    "workers.jobs.run_outbox", i, job_id=f"outbox-{i}", result_ttl=60, failure_ttl=86400, pipeline=pipe
                )
            return
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            q.enqueue(
                "workers.jobs.run_outbox_batch",
                chunk,
                job_id=batch_job_id(chunk),
                job_timeout=JOB_TIMEOUT["outbox"] + BATCH_BUDGET_SECONDS,
                result_ttl=60,
                failure_ttl=86400,
                pipeline=pipe,
            )

    def enqueue_poll(self, consignment_ids: Sequence[str]) -> None:
        q = self.queue("tracking")
        with self.conn.pipeline() as pipe:
            for cid in consignment_ids:
                q.enqueue(
                    "workers.jobs.poll_consignment",
                    cid,
                    job_id=f"poll-{cid}",
                    result_ttl=60,
                    failure_ttl=86400,
                    pipeline=pipe,
                )
            pipe.execute()

    def ping(self) -> bool:
        return bool(self.conn.ping())


def batch_job_id(ids: Sequence[int]) -> str:
    """Deterministic, so the same wake-up enqueued twice replaces its job instead of adding one."""
    digest = hashlib.blake2s(",".join(map(str, ids)).encode(), digest_size=8).hexdigest()
    return f"outbox-{ids[0]}-{len(ids)}-{digest}"
