"""rq queues by purpose and the ``JobQueue`` port implementation the services enqueue through."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rq import Queue

QUEUES = ("outbox", "tracking")
JOB_TIMEOUT = {"outbox": 90, "tracking": 60}  # longer than a courier call's connect + read timeouts


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
        q = self.queue("outbox")
        with self.conn.pipeline() as pipe:
            for i in outbox_ids:
                q.enqueue(
                    "workers.jobs.run_outbox", i, job_id=f"outbox-{i}", result_ttl=60, failure_ttl=86400, pipeline=pipe
                )
            pipe.execute()

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
