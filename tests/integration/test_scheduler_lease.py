"""One scheduler leads at a time: the lease in Redis, against a private redis-server, and two real scheduler
processes where the standby takes over when the leader stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis

from tests.e2e.test_production_shape import wait_until
from workers.scheduler import LEADER_KEY, SchedulerLease, lease_seconds

ROOT = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time_and_release_hands_over(private_redis) -> None:
    r = Redis.from_url(private_redis.url)
    a = SchedulerLease(r, ttl_seconds=30, token="host-a:1:aa")
    b = SchedulerLease(r, ttl_seconds=30, token="host-b:2:bb")
    assert a.hold() and a.hold()  # taken, then renewed
    assert not b.hold()
    assert b.holder() == "host-a:1:aa"
    assert 0 < r.pttl(LEADER_KEY) <= 30_000
    assert not b.release()  # only the holder may release
    assert a.release()
    assert b.hold() and not a.hold()
    r.close()


def test_an_expired_lease_passes_to_a_standby_and_the_old_leader_steps_down(private_redis) -> None:
    r = Redis.from_url(private_redis.url)
    a = SchedulerLease(r, ttl_seconds=0.3, token="a")
    b = SchedulerLease(r, ttl_seconds=0.3, token="b")
    assert a.hold()
    time.sleep(0.5)  # a stalled past its lease (a hung round, a lost machine)
    assert b.hold()
    assert not a.hold()  # it notices at its next round and stands by
    r.close()


def test_a_redis_restarted_empty_is_taken_again_by_the_leader(private_redis) -> None:
    r = Redis.from_url(private_redis.url)
    a = SchedulerLease(r, ttl_seconds=30, token="a")
    assert a.hold()
    private_redis.restart()  # everything lost, scripts included
    wait_until(lambda: _answers(r), 10, "Redis back")
    assert a.hold() and a.holder() == "a"
    r.close()


def _answers(r: Redis) -> bool:
    try:
        return bool(r.ping())
    except Exception:
        return False


def test_lease_length_survives_slow_rounds() -> None:
    assert lease_seconds(2.0) == 10.0
    assert lease_seconds(5.0) == 25.0


def test_two_scheduler_processes_one_leads_and_the_standby_takes_over_on_sigterm(
    private_redis, clean_db, tmp_path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTAL_BRIDGE_")}
    env.update(
        POSTAL_BRIDGE_REDIS_URL=private_redis.url,
        POSTAL_BRIDGE_DATABASE_URL=clean_db,
        POSTAL_BRIDGE_INSTANCE_DIR=str(tmp_path / "instance"),
        POSTAL_BRIDGE_RELAY_INTERVAL_SECONDS="0.5",
        POSTAL_BRIDGE_SMS_GATEWAY="off",
    )
    r = Redis.from_url(private_redis.url)

    def start(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed right after the fork
        proc = subprocess.Popen(
            [sys.executable, "-m", "postal_bridge.cli", "scheduler"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        log.close()
        return proc

    def leader() -> int | None:
        value = r.get(LEADER_KEY)
        return int(value.split(b":")[1]) if value else None

    first = start("first")
    second = None
    try:
        wait_until(lambda: leader() == first.pid, 60, "the first scheduler to lead")
        second = start("second")
        wait_until(lambda: "scheduler started" in (tmp_path / "second.log").read_text(), 60, "the second scheduler")
        time.sleep(1.5)  # several rounds of the second
        assert leader() == first.pid
        assert "scheduler leads" not in (tmp_path / "second.log").read_text()

        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
        wait_until(lambda: leader() == second.pid, 5, "the standby to take over")  # the lease would last 10 s
        assert "scheduler leads" in (tmp_path / "second.log").read_text()

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
        assert r.get(LEADER_KEY) is None  # released on the way out
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        r.close()
