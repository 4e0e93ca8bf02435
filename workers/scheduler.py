"""The periodic loop: relay due outbox rows (and reclaim expired leases), and schedule tracking polls.

One scheduler leads at a time. Every scheduler process (one per machine is fine, for failover) holds or waits for a
lease in Redis (``postal-bridge:scheduler:leader``, value ``host:pid:random``): the leader renews it every round and
ticks; the others stand by and take over when it is released (clean stop) or expires (crash, lost machine). The lease
saves doubled work and keeps courier feed cursors from being walked twice at once; correctness never depends on it —
relaying, polling and the deadline scan are idempotent (deterministic job ids, claimed rows, unique breaches), so a
moment with two leaders (a lease expiring during a very long round) only duplicates harmless wake-ups.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import time

from postal_bridge.bootstrap import Container
from postal_bridge.services import carriers, outbox, sla, tracking

log = logging.getLogger("postal_bridge.scheduler")

LEADER_KEY = "postal-bridge:scheduler:leader"
MIN_LEASE_SECONDS = 10.0

# Renew if ours; take it if nobody holds it (e.g. Redis restarted empty); otherwise someone else leads.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class SchedulerLease:
    """A renewable lease in Redis: ``hold()`` takes or renews it and says whether this process leads."""

    def __init__(self, redis, *, ttl_seconds: float, key: str = LEADER_KEY, token: str | None = None) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)

    def hold(self) -> bool:
        return bool(self._hold(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> bool:
        return bool(self._release(keys=[self.key], args=[self.token]))

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


def lease_seconds(relay_every: float) -> float:
    """Long enough to survive a slow round (several relay intervals), short enough for a quick failover."""
    return max(MIN_LEASE_SECONDS, 5 * relay_every)


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
    from redis.exceptions import RedisError

    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    relay_every = c.settings.relay_interval_seconds
    poll_every = min(c.settings.poll_interval_seconds, max(c.settings.sandbox_step_seconds, 1.0))
    lease = SchedulerLease(c.redis(), ttl_seconds=lease_seconds(relay_every))
    leading = False
    next_poll = 0.0
    log.info(
        "scheduler started",
        extra={"relay_every_s": relay_every, "poll_every_s": poll_every, "lease": lease.token},
    )
    try:
        while not stop:
            started = time.monotonic()
            try:
                now_leading = lease.hold()
            except RedisError as exc:
                now_leading = False
                log.warning("cannot reach Redis to hold the scheduler lease; standing by", extra={"error": repr(exc)})
            if now_leading != leading:
                if now_leading:
                    log.info("scheduler leads", extra={"lease": lease.token})
                    next_poll = 0.0
                else:
                    log.info("scheduler stands by", extra={"lease": lease.token})
                leading = now_leading
            if leading:
                try:
                    relayed, polled = tick(c, poll=started >= next_poll)
                    if started >= next_poll:
                        next_poll = started + poll_every
                    if relayed or polled:
                        log.info("scheduler tick", extra={"relayed": relayed, "polled": polled})
                except Exception:
                    log.exception("scheduler tick failed; retrying")
            time.sleep(max(0.0, relay_every - (time.monotonic() - started)))
    finally:
        if leading:
            with contextlib.suppress(RedisError):
                lease.release()  # a standby takes over at its next round instead of waiting for the expiry
        log.info("scheduler stopped")
