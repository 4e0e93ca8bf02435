"""The B-rq baselines: rq no-op jobs drained by the same worker class as the product's workers.

    python -m benchmarks.rq_noop REDIS_URL QUEUE (simple|fork)

runs one worker (``SimpleWorker`` or the forking ``Worker``, with rq's scheduler as ``postal-bridge worker`` does) on
``QUEUE``; the benchmark enqueues ``benchmarks.rq_noop.noop`` jobs and times the drain.
"""

from __future__ import annotations

import sys

from redis import Redis
from rq import Queue, SimpleWorker, Worker


def noop() -> None:
    return None


def main() -> None:
    url, queue, kind = sys.argv[1:4]
    conn = Redis.from_url(url)
    cls = SimpleWorker if kind == "simple" else Worker
    cls([Queue(queue, connection=conn)], connection=conn).work(with_scheduler=True, logging_level="WARNING")


if __name__ == "__main__":
    main()
