"""deploy/: the gunicorn configuration's decisions, and the stop timeouts of systemd and compose against the
longest rq job, so that a warm shutdown is never cut short by a SIGKILL."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from workers.queues import JOB_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _conf(monkeypatch, **env: str) -> dict:
    for name in list(__import__("os").environ):
        if name.startswith("POSTAL_BRIDGE_") or name == "FORWARDED_ALLOW_IPS":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_workers_come_from_the_environment_else_from_the_cores(monkeypatch) -> None:
    import os

    conf = _conf(monkeypatch)
    assert conf["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    conf = _conf(monkeypatch, POSTAL_BRIDGE_WEB_WORKERS="3", POSTAL_BRIDGE_HOST="0.0.0.0", POSTAL_BRIDGE_PORT="9000")
    assert conf["workers"] == 3
    assert conf["bind"] == ["0.0.0.0:9000"]
    assert _conf(monkeypatch, POSTAL_BRIDGE_HOST="::1")["bind"] == ["[::1]:8000"]


def test_the_server_settings_are_the_documented_ones(monkeypatch) -> None:
    conf = _conf(monkeypatch)
    assert conf["wsgi_app"] == "postal_bridge:create_app()"
    assert conf["worker_class"] == "sync" and conf["preload_app"] is True
    assert conf["graceful_timeout"] < conf["timeout"]
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["control_socket_disable"] is True
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert "%(r)s" not in conf["access_log_format"] and "%(q)s" not in conf["access_log_format"]
    assert "%(f)s" not in conf["access_log_format"]  # no Referer


def test_a_bad_setting_stops_with_one_line(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        _conf(monkeypatch, POSTAL_BRIDGE_WEB_WORKERS="many")
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "Configuration error: POSTAL_BRIDGE_WEB_WORKERS must be a whole number, not 'many'"
    )


def test_secrets_in_paths_are_masked_and_queries_dropped(monkeypatch) -> None:
    from datetime import timedelta

    from gunicorn.config import Config

    conf = _conf(monkeypatch)
    redact = conf["redact_path"]
    assert redact("/t/5m3AeezKq0A") == "/t/…"
    assert redact("/webhooks/sms/esms/0123456789abcdef") == "/webhooks/sms/esms/…"
    assert redact("/webhooks/carriers/ghtk/path-token") == "/webhooks/carriers/ghtk/…"
    assert redact("/webhooks/carriers/ghn") == "/webhooks/carriers/ghn"
    assert redact("/api/v1/consignments/abc") == "/api/v1/consignments/abc"

    logger = conf["AccessLogger"](Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/t/5m3AeezKq0A?otp=123456",
        "PATH_INFO": "/t/5m3AeezKq0A",
        "QUERY_STRING": "otp=123456",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://pb.example/t/5m3AeezKq0A",
        "REMOTE_ADDR": "203.0.113.9",
    }
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    line = conf["access_log_format"] % atoms
    assert "5m3AeezKq0A" not in line and "otp" not in line and "123456" not in line
    assert '"GET /t/… HTTP/1.1" 200' in line
    assert atoms["r"] == "GET /t/… HTTP/1.1" and atoms["q"] == "" and atoms["f"] == "-"


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(monkeypatch) -> None:
    conf = _conf(monkeypatch)
    seen = []

    def app(environ, start_response):
        seen.append(environ["REMOTE_ADDR"])
        return []

    fixed = conf["TrustedProxyFix"](app, "127.0.0.1,::1,10.0.0.0/8")
    for peer in ("127.0.0.1", "10.1.2.3", "198.51.100.7"):
        fixed({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, lambda *a: None)
    assert seen == ["203.0.113.9", "203.0.113.9", "198.51.100.7"]  # a direct client cannot pick its address
    assert conf["TrustedProxyFix"](app, "*").trusts("198.51.100.7")
    assert not conf["TrustedProxyFix"](app, "127.0.0.1").trusts("not-an-address")


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value.strip())
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


def _unit(name: str) -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_stop_timeouts_cover_a_warm_shutdown(monkeypatch) -> None:
    longest_job = max(JOB_TIMEOUT.values())
    worker = _unit("postal-bridge-worker@.service")
    assert worker["KillMode"] == "mixed"  # SIGTERM to the rq worker only, never to its work horse
    assert worker["KillSignal"] == "SIGTERM"
    assert _seconds(worker["TimeoutStopSec"]) > longest_job
    web = _unit("postal-bridge-web.service")
    assert _seconds(web["TimeoutStopSec"]) > _conf(monkeypatch)["graceful_timeout"]
    assert web["Type"] == "notify"

    compose = (DEPLOY / "docker-compose.yml").read_text()
    worker_block = compose.split("\n  worker:\n", 1)[1].split("\n  scheduler:\n", 1)[0]
    grace = re.search(r"stop_grace_period:\s*(\S+)", worker_block).group(1)
    assert _seconds(grace) > longest_job
    assert re.search(r"replicas:\s*3", worker_block)
    redis_block = compose.split("\n  redis:\n", 1)[1].split("\n  migrate:\n", 1)[0]
    for flag in ("--appendonly", '"yes"', "everysec", "noeviction"):
        assert flag in redis_block


def test_the_procfile_runs_each_process_type_through_the_cli() -> None:
    types = dict(
        line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines() if re.match(r"^\w+:", line)
    )
    assert {k: v.strip() for k, v in types.items()} == {
        "web": "postal-bridge web",
        "worker": "postal-bridge worker",
        "scheduler": "postal-bridge scheduler",
    }


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path) -> None:
    """systemd-analyze verify on copies whose paths point at this checkout (it checks that ExecStart exists)."""
    units = []
    for path in sorted((DEPLOY / "systemd").glob("postal-bridge*")):
        if path.suffix not in (".service", ".target"):
            continue
        name = path.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(path.read_text().replace("/opt/postal-bridge", str(ROOT)))
        units.append(str(tmp_path / name))
    assert len(units) == 5
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
