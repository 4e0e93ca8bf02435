"""``benchmarks.run --quick`` end to end on SQLite: every baseline and product figure is measured and written.

Only the shape is checked (a value and a baseline for every figure, the load the run saw): timings are never asserted
in the test suite, they belong to ``make bench``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "creation_rps",
    "creation_p50",
    "creation_p99",
    "creation_p99_at_70",
    "creation_p50_at_70",
    "replay_rps",
    "webhook_single",
    "webhook_batch",
    "scan_single",
    "scan_batch",
    "scan_lookup_batch",
    "apply_simple_1",
    "apply_simple_100",
    "apply_fork_1",
    "apply_fork_100",
    "callbacks",
    "callbacks_backlog",
    "memory_web",
    "memory_worker",
}
BASELINES = {"http", "reportlab", "rq_simple", "rq_fork", "post"}


@pytest.mark.timeout(600)
def test_quick_run_writes_every_figure_with_its_baseline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTAL_BRIDGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--database", "sqlite", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [path] = tmp_path.glob("*-quick.json")
    result = json.loads(path.read_text(encoding="utf-8"))

    assert set(result["baselines"]) == BASELINES
    assert result["baselines"]["http"]["ok"] > 0 and result["baselines"]["rq_simple"]["jobs_per_s"] > 0
    assert {"load_1m", "uptime"} <= set(result["load_before"]) and result["load_after"]["uptime"]
    assert set(result["shared"]) == {"label_single", "label_batch"}
    rows = {**result["shared"], **result["databases"]["sqlite"]}
    assert set(rows) >= FIGURES
    for key, row in rows.items():
        assert row["value"] is not None and row["value"] > 0, key
        assert row["baseline"]["value"] is not None and row["baseline"]["value"] > 0, key
        assert row["ratio"] is not None, key
        assert row["met"] in (True, False, None), key
    targeted = {k for k, r in rows.items() if r["met"] is not None}
    assert {"creation_rps", "creation_p99_at_70", "scan_batch", "webhook_batch", "callbacks"} <= targeted
    assert result["sizing"]["sqlite"]["consignments_per_day"] > 0

    table = path.with_suffix(".md").read_text(encoding="utf-8")
    assert table.count("\n| ") >= len(rows) + 1  # header plus one row per figure
    assert "[sqlite] consignment creation, max rps" in table and "Load before:" in table


class _SlowStart(BaseHTTPRequestHandler):
    """Answers 503 until ``ready_at``, then 200; the first ``slow`` answers after ``ready_at`` take 1.5 s each."""

    ready_at = 0.0
    slow = 0
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if time.monotonic() < self.ready_at:
            self._answer(503)
            return
        if _SlowStart.slow > 0:
            _SlowStart.slow -= 1
            time.sleep(1.5)
        self._answer(200)

    def _answer(self, status: int) -> None:
        body = b'{"status":"ok"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowStart)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_load_generator_waits_for_a_server_that_is_not_ready_yet(slow_server) -> None:
    """The CI failure "creation: 0 of 0 requests": a short pass began before the workers answered. The runner polls
    /healthz until a 2xx, and a closed-loop pass goes on past its window until it has counted ``min_requests``."""
    from benchmarks import loadgen

    port = slow_server.server_address[1]
    _SlowStart.ready_at = time.monotonic() + 1.0
    _SlowStart.slow = 0
    waited = loadgen.wait_ready("127.0.0.1", port, "/healthz", timeout=30)
    assert time.monotonic() >= _SlowStart.ready_at and waited > 0

    _SlowStart.slow = 2  # the first two answers are slower than the whole window
    data = loadgen.build_request("GET", "/", host=f"127.0.0.1:{port}")
    run = loadgen.closed_loop("127.0.0.1", port, lambda i: data, connections=2, seconds=0.2, warmup=0, min_requests=5)
    assert run.ok >= 5 and run.statuses[200] == run.completed and run.seconds > 0

    _SlowStart.ready_at = time.monotonic() + 60
    with pytest.raises(TimeoutError):
        loadgen.wait_ready("127.0.0.1", port, "/healthz", timeout=0.5)
