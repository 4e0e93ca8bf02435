"""The periodic loop: relay due outbox rows (and reclaim expired leases), and schedule tracking polls."""

from __future__ import annotations

import logging
import signal
import time

from postal_bridge.bootstrap import Container
from postal_bridge.services import carriers, outbox, sla, tracking

log = logging.getLogger("postal_bridge.scheduler")


def tick(c: Container, *, poll: bool) -> tuple[int, int]:
    """One round: relay due outbox rows; on poll rounds also enqueue due polls and walk tracking feeds."""
    relayed = outbox.relay_due(c.deps)
    polled = 0
    if poll:
        polled = tracking.poll_due(c.deps)
        polled += carriers.walk_feeds(c.deps)
        sla.scan(c.deps)  # deadlines: each breach recorded, listed and sent once
    return relayed, polled


def run_forever(c: Container) -> None:
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    relay_every = c.settings.relay_interval_seconds
    poll_every = min(c.settings.poll_interval_seconds, max(c.settings.sandbox_step_seconds, 1.0))
    next_poll = 0.0
    log.info("scheduler started", extra={"relay_every_s": relay_every, "poll_every_s": poll_every})
    while not stop:
        started = time.monotonic()
        try:
            relayed, polled = tick(c, poll=started >= next_poll)
            if started >= next_poll:
                next_poll = started + poll_every
            if relayed or polled:
                log.info("scheduler tick", extra={"relayed": relayed, "polled": polled})
        except Exception:
            log.exception("scheduler tick failed; retrying")
        time.sleep(max(0.0, relay_every - (time.monotonic() - started)))
    log.info("scheduler stopped")
