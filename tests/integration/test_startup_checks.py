"""The start-up check against real Redis servers of this test's own (never the shared one): an evicting
``maxmemory-policy`` is refused by the web, the workers and the scheduler, with a message that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from postal_bridge.startup import StartupRefused, check_redis, safe_url
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def evicting_redis(private_redis):
    """A private redis-server switched to an evicting policy, as a default or cache-tuned Redis would be."""
    r = Redis.from_url(private_redis.url)
    r.config_set("maxmemory-policy", "allkeys-lru")
    r.close()
    return private_redis


def test_an_evicting_redis_is_refused_with_what_to_do(evicting_redis) -> None:
    with pytest.raises(StartupRefused) as refused:
        check_redis(evicting_redis.url, wait_seconds=1)
    message = str(refused.value)
    assert "'allkeys-lru'" in message
    assert "maxmemory-policy noeviction" in message and "CONFIG SET" in message
    # The web, which may start without Redis, still refuses an evicting one.
    with pytest.raises(StartupRefused):
        check_redis(evicting_redis.url, wait_seconds=1, must_answer=False)


def test_noeviction_passes_and_aof_off_only_warns(private_redis) -> None:
    warnings = check_redis(private_redis.url, wait_seconds=1)  # the fixture's Redis runs with appendonly no
    assert len(warnings) == 1 and "appendonly yes" in warnings[0]
    r = Redis.from_url(private_redis.url)
    r.config_set("appendonly", "yes")
    r.close()
    assert check_redis(private_redis.url, wait_seconds=1) == []


def test_a_redis_that_does_not_answer_refuses_workers_and_warns_the_web() -> None:
    url = f"redis://:s3cret@127.0.0.1:{_free_port()}/0"
    with pytest.raises(StartupRefused) as refused:
        check_redis(url, wait_seconds=0.5)
    assert "does not answer" in str(refused.value)
    assert "s3cret" not in str(refused.value)  # the password never reaches a message
    [warning] = check_redis(url, wait_seconds=0.5, must_answer=False)
    assert "does not answer" in warning


def test_safe_url_drops_the_password() -> None:
    assert safe_url("redis://user:pw@cache.internal:6380/2") == "redis://cache.internal:6380/2"
    assert safe_url("rediss://:pw@r.example/0") == "rediss://r.example/0"
    assert safe_url("unix:///run/redis/redis.sock?db=1") == "unix:///run/redis/redis.sock"


@pytest.mark.parametrize("command", ["web", "worker", "scheduler"])
def test_every_long_running_process_refuses_to_start_on_an_evicting_redis(evicting_redis, tmp_path, command) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTAL_BRIDGE_", "GUNICORN_"))}
    env.update(
        POSTAL_BRIDGE_REDIS_URL=evicting_redis.url,
        POSTAL_BRIDGE_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
        POSTAL_BRIDGE_INSTANCE_DIR=str(tmp_path / "instance"),
        POSTAL_BRIDGE_PORT=str(port),
        POSTAL_BRIDGE_WEB_WORKERS="1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "postal_bridge.cli", command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refusing to start" in done.stderr and "maxmemory-policy 'allkeys-lru'" in done.stderr
    assert "Traceback" not in done.stderr
    if command == "web":
        assert "Listening at" not in done.stderr and "Booting worker" not in done.stderr  # never bound the port
    r = Redis.from_url(evicting_redis.url)
    assert r.keys("rq:worker:*") == []  # no worker registered itself before being refused
    r.close()
