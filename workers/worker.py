"""The rq worker entry point (``postal-bridge worker``), always with rq's scheduler enabled."""

from __future__ import annotations

import os

from rq import SimpleWorker, Worker

from postal_bridge.bootstrap import Container
from postal_bridge.storage.warmup import warm_up
from workers import runtime
from workers.queues import QUEUES, RqJobQueue


def run(c: Container, *, simple: bool = False, burst: bool = False) -> bool:
    runtime.install(c)
    # Import every outbox handler once here: a forking worker's job children would otherwise each import them (and
    # reportlab, phonenumbers, the courier adapters) afresh, about half a second per job.
    from postal_bridge.bootstrap import CARRIERS, carrier_class
    from postal_bridge.services import booking, labels, notify, outbox, sms, tracking  # noqa: F401

    for code in CARRIERS:
        carrier_class(code)
    q = RqJobQueue(c.redis)
    if not simple:  # the job children inherit a connected dialect and compiled statements instead of redoing them
        warm_up(c.engine)
        with q.conn.pipeline() as pipe:  # rq's enqueue path, its lazy imports included; the pipeline is discarded
            q.queue("outbox").enqueue("workers.jobs.run_outbox", 0, pipeline=pipe)
            pipe.reset()

    # A forking worker's job children must not reuse the parent's pooled database connections.
    os.register_at_fork(after_in_child=lambda: c.engine.dispose(close=False))
    queues = [q.queue(name) for name in QUEUES]
    cls = SimpleWorker if simple else Worker
    worker = cls(queues, connection=q.conn)
    return worker.work(with_scheduler=True, burst=burst, logging_level=c.settings.log_level)
