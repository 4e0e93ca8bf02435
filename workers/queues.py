"""rq queues by purpose and the ``JobQueue`` port implementation the services enqueue through."""

from __future__ import annotations

import hashlib
import uuid
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
# A wake-up of up to SPREAD items rings a doorbell instead: the first ring after a drain job started queues the next
# drain job (``workers.jobs.run_outbox_drain``: whatever is due), and rings while that job waits cost one Redis SET
# each. So a stream of single status changes and single courier pushes, faster than the workers, becomes a few
# drain jobs carrying many items each, not one rq job per item. The bell expires after BELL_TTL seconds, so a drain
# job lost with Redis or a killed worker delays later wake-ups by at most that (the relay finds their rows anyway).
BELL_KEY = "postal-bridge:outbox:bell"
BELL_TTL = 15


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
        """Several wake-ups at once, each queued as ``enqueue_outbox`` would queue it alone: the small ones ring the
        bell once for all, the large ones become batch jobs, in one Redis round trip (two when the bell rings)."""
        q = self.queue("outbox")
        wakes = [list(dict.fromkeys(w)) for w in wakes if w]
        self._enqueue(q, ring=any(len(w) <= SPREAD for w in wakes), batches=[w for w in wakes if len(w) > SPREAD])

    def wake_drain(self) -> None:
        self._enqueue(self.queue("outbox"), ring=True, batches=[])

    def _enqueue(self, q: Queue, *, ring: bool, batches: list[list[int]]) -> None:
        rung = ring and self._ring()
        if not rung and not batches:
            return
        try:
            with self.conn.pipeline() as pipe:
                if rung:
                    self._enqueue_drain(q, pipe)
                for ids in batches:
                    self._enqueue_batches(q, ids, pipe)
                pipe.execute()
        except Exception:
            if rung:  # no drain was queued: the next wake-up must not find the bell rung
                self.drain_started()
            raise

    def drain_started(self) -> None:
        self.conn.delete(BELL_KEY)

    def _ring(self) -> bool:
        """True when this ring must queue a drain: no drain job is waiting that has not yet looked for work."""
        return bool(self.conn.set(BELL_KEY, 1, nx=True, ex=BELL_TTL))

    @staticmethod
    def _enqueue_drain(q: Queue, pipe) -> None:
        q.enqueue(
            "workers.jobs.run_outbox_drain",
            job_id=f"outbox-drain-{uuid.uuid4().hex}",
            job_timeout=JOB_TIMEOUT["outbox"] + BATCH_BUDGET_SECONDS,
            result_ttl=60,
            failure_ttl=86400,
            pipeline=pipe,
        )

    @staticmethod
    def _enqueue_batches(q: Queue, ids: list[int], pipe) -> None:
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
