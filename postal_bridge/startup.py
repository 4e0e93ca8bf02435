"""Start-up checks every long-running process makes before it serves or works (web, worker, scheduler).

A Redis whose ``maxmemory-policy`` may evict keys would drop queued jobs, rq's registries and the scheduler's lease
silently under memory pressure; such a Redis is refused with a message that says how to fix it. The policy is read
with ``INFO memory`` (allowed on managed Redis services that disable ``CONFIG``), falling back to ``CONFIG GET``. AOF
switched off only earns a warning: the outbox in the database is the record of work, Redis only wakes it up.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

log = logging.getLogger("postal_bridge.startup")

SAFE_POLICY = "noeviction"


class StartupRefused(RuntimeError):
    """The process must not start; the message says what is wrong and what to do, on one line."""


def safe_url(url: str) -> str:
    """The Redis URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_redis(url: str, *, wait_seconds: float = 30.0, must_answer: bool = True) -> list[str]:
    """Refuse (``StartupRefused``) a Redis that may evict keys; return warnings (AOF off, Redis not answering).

    Waits up to ``wait_seconds`` for Redis to answer (services started together race). When it still does not answer,
    ``must_answer`` decides: workers and the scheduler cannot do anything without it and refuse; the web keeps
    accepting requests (work waits in the outbox) and only warns, and ``/readyz`` reports Redis as down.
    """
    from redis import Redis
    from redis.exceptions import RedisError

    where = safe_url(url)
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                client.ping()
                break
            except RedisError as exc:
                if time.monotonic() >= deadline:
                    message = (
                        f"Redis at {where} does not answer ({type(exc).__name__}): start it, or fix "
                        "POSTAL_BRIDGE_REDIS_URL"
                    )
                    if must_answer:
                        raise StartupRefused(message) from None
                    log.warning(message + "; starting anyway, work waits in the outbox until it answers")
                    return [message]
                time.sleep(0.5)
        policy = _policy(client, where)
        if policy != SAFE_POLICY:
            raise StartupRefused(
                f"Redis at {where} has maxmemory-policy {policy!r}, which may evict queued jobs and locks: set "
                f"'maxmemory-policy {SAFE_POLICY}' in redis.conf (or run `redis-cli CONFIG SET maxmemory-policy "
                f"{SAFE_POLICY}` and `CONFIG REWRITE`), then start again"
            )
        warnings = []
        if not _aof_enabled(client):
            warnings.append(
                f"Redis at {where} runs without AOF (appendonly no): a restart loses queued wake-ups, which the "
                "relay re-enqueues from the outbox; set 'appendonly yes' and 'appendfsync everysec'"
            )
        for warning in warnings:
            log.warning(warning)
        return warnings
    finally:
        client.close()


def _policy(client, where: str) -> str:
    from redis.exceptions import ResponseError

    try:
        info = client.info("memory")
        if "maxmemory_policy" in info:
            return str(info["maxmemory_policy"])
    except ResponseError:
        pass
    try:
        return str(client.config_get("maxmemory-policy").get("maxmemory-policy", SAFE_POLICY))
    except ResponseError as exc:
        raise StartupRefused(
            f"cannot read the maxmemory-policy of Redis at {where} (INFO and CONFIG refused: {exc}); allow "
            f"INFO for this user, and make sure the policy is '{SAFE_POLICY}'"
        ) from None


def _aof_enabled(client) -> bool:
    from redis.exceptions import ResponseError

    try:
        return bool(int(client.info("persistence").get("aof_enabled", 0)))
    except (ResponseError, ValueError):
        return True  # cannot tell; the policy, which matters, was checked
