"""`postal-bridge run` (what `make run` calls): embedded Redis + web + worker + scheduler, real processes, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

import psutil
import requests

from tests.e2e.test_return_flow import RETURN_BODY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_run_serves_the_whole_path_and_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTAL_BRIDGE_")}
    env.update(
        POSTAL_BRIDGE_INSTANCE_DIR=str(tmp_path / "instance"),
        POSTAL_BRIDGE_PORT=str(port),
        POSTAL_BRIDGE_SANDBOX_STEP_SECONDS="1",
        POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS="1",
        POSTAL_BRIDGE_WEB_WORKERS="1",
    )
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 - read back after the process ends
    proc = subprocess.Popen(
        [sys.executable, "-m", "postal_bridge.cli", "run"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        _wait(ready, 60, "/readyz")
        log.seek(0)
        banner = log.read()
        assert f"running at {base}" in banner
        key = re.search(r"HCC-HN\s+api_key=(pb_demo_\w+)", banner).group(1)
        assert "create-api-key" in banner
        for username, role in (("motcua.hn", "counter"), ("buucuc.hk", "clerk"), ("quantri", "admin")):
            password = re.search(rf"{re.escape(username)}\s+(demo-\w+)\s+\({role}\)", banner).group(1)
            person = requests.Session()
            token = re.search(r'name="csrf_token" value="([^"]+)"', person.get(f"{base}/login", timeout=5).text)
            signed = person.post(
                f"{base}/login",
                data={"username": username, "password": password, "csrf_token": token.group(1)},
                allow_redirects=False,
                timeout=10,
            )
            assert signed.status_code == 303, f"{username} could not sign in with the printed password"

        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        created = http.post(
            f"{base}/api/v1/consignments", json=RETURN_BODY, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10
        )
        assert created.status_code == 201, created.text
        url = f"{base}/api/v1/consignments/{created.json()['id']}"
        _wait(lambda: http.get(url, timeout=5).json()["status"] == "delivered", 60, "delivery by the sandbox")
        assert http.get(f"{url}/label.pdf", timeout=10).content.startswith(b"%PDF")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4  # redis, web (+ its workers), worker, scheduler
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the whole process group
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert _wait(
        lambda: not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE],
        15,
        "children to exit",
    )
    log.seek(0)
    assert "stopped." in log.read()
