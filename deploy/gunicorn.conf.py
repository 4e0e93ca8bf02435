"""gunicorn configuration for postal-bridge: ``postal-bridge web`` runs ``gunicorn --config`` with this file.

It reads the same ``POSTAL_BRIDGE_*`` variables as the app (host, port, workers, log level, JSON logs); any gunicorn
setting can still be overridden for one machine with ``GUNICORN_CMD_ARGS`` (e.g. ``"--timeout 60"``), which gunicorn
applies on top of this file. The choices, and why:

* **Workers** — ``POSTAL_BRIDGE_WEB_WORKERS``, else ``2 × cores + 1`` (gunicorn's rule of thumb; 5 on the 2-core
  benchmark box). Cores are the CPUs this process may run on (``sched_getaffinity``): in a container with a CPU quota
  set the variable explicitly.
* **Worker class: sync.** Every request is short and CPU-bound — validate, one transaction, a label render of tens of
  milliseconds — with no streaming or long polling; anything slow (courier calls, webhooks, SMS) runs in rq workers.
  A sync worker serves one request at a time, so a crash, a leak or a stuck request affects one request and one
  process, and nothing in the app has to be thread-safe. It needs a buffering reverse proxy in front (nginx, which
  terminates TLS anyway) so slow clients never hold a worker; ``GUNICORN_CMD_ARGS="--threads 4"`` switches to gthread
  where there is none. Database and Redis waits are covered by having more processes than cores.
* **Timeouts** — ``timeout`` 30 s kills a worker silent that long (nothing legitimate takes more than a few seconds);
  ``graceful_timeout`` 25 s lets requests in flight finish on SIGTERM/HUP, below the 30 s that systemd
  (``TimeoutStopSec``) and compose (``stop_grace_period``) wait before SIGKILL; ``keepalive`` 5 s applies once
  threads are on (a sync worker closes each connection after its answer).
* **max_requests** 2,000 with jitter 200: each worker is replaced after about that many requests, one at a time
  thanks to the jitter, which bounds slow memory growth (PDF and font caches) without restarting all at once.
* **Access log** — one line per request, path only: query strings are never written (they may carry tokens or
  personal data), and path segments that are secrets are masked: ``/t/<tracking token>``, the SMS delivery-report
  secret and courier webhook path tokens. No Referer (it can hold a tracking link). JSON when
  ``POSTAL_BRIDGE_LOG_JSON=1``.
* **preload_app = True** — the app is built once in the master and the workers fork from it: they share its memory
  pages, a replaced worker (max_requests) is serving again within milliseconds, and a broken app fails once, in the
  master, instead of in a restart loop per worker. Safe because building the app opens no connection; each worker
  still drops any pooled database connection it inherited (``post_worker_init``), and redis-py's pool resets itself
  after a fork. The price: ``kill -HUP`` restarts workers but does not load new code — an upgrade is a restart
  (``systemctl restart postal-bridge-web``), which the upgrade procedure in docs/operations.md does anyway.
* **Forwarded headers** — ``FORWARDED_ALLOW_IPS`` (default ``127.0.0.1,::1``: the proxy on the same machine) lists
  the proxies trusted for ``X-Forwarded-Proto`` (HTTPS detection, secure cookies) and, applied only to requests whose
  TCP peer is one of them, for ``X-Forwarded-For``: the rate limits count per citizen, not per proxy, and a client
  talking to gunicorn directly cannot forge its address.
* **Start-up check** — ``on_starting`` refuses a Redis whose ``maxmemory-policy`` may evict keys before the port is
  bound. A Redis that does not answer only warns: the web keeps taking requests and the outbox keeps the work.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys

from gunicorn.glogging import Logger

from postal_bridge.config import ConfigError, Settings

try:
    _settings = Settings.from_env()
except ConfigError as exc:  # the same one line as every other entry point
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores + 1


wsgi_app = "postal_bridge:create_app()"
bind = [f"[{_settings.host}]:{_settings.port}" if ":" in _settings.host else f"{_settings.host}:{_settings.port}"]
workers = _settings.web_workers if os.environ.get("POSTAL_BRIDGE_WEB_WORKERS") else default_workers()
worker_class = "sync"
timeout = 30
graceful_timeout = 25
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
preload_app = True
proc_name = "postal-bridge-web"
# gunicorn ≥ 25 opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl): two instances on one
# account would fight over it, and the systemd unit's ProtectHome forbids it. Signals do the same (HUP, TTIN, TTOU).
control_socket_disable = True
# The workers' heartbeat files: on tmpfs, so a slow or read-only disk can never make a healthy worker look stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
loglevel = _settings.log_level.lower()
errorlog = "-"
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Path segments that are credentials: shown as "…" in the access log.
_SECRET_PATHS = [
    (re.compile(r"^(/t/)[^/]+"), r"\1…"),
    (re.compile(r"^(/webhooks/sms/[^/]+/)[^/]+"), r"\1…"),
    (re.compile(r"^(/webhooks/carriers/[^/]+/)[^/]+"), r"\1…"),
]


def redact_path(path: str) -> str:
    for pattern, replacement in _SECRET_PATHS:
        path = pattern.sub(replacement, path)
    return path


class AccessLogger(Logger):
    """gunicorn's logger with the access line reduced to what is safe to keep (no query, no Referer, no secrets)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms.update(U=path, q="", f="-", r=f"{atoms['m']} {path} {atoms['H']}")
        return atoms

    def access(self, resp, req, environ, request_time):
        if not _settings.log_json:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        a = self.atoms(resp, req, environ, request_time)
        line = {
            "name": "gunicorn.access",
            "remote_addr": a["h"],
            "method": a["m"],
            "path": a["U"],
            "protocol": a["H"],
            "status": int(a["s"]) if str(a["s"]).isdigit() else a["s"],
            "bytes": a["B"],
            "duration_ms": a["M"],
            "user_agent": a["a"],
            "pid": os.getpid(),
        }
        self.access_log.info(json.dumps(line, ensure_ascii=False))
        return None


logger_class = AccessLogger


class TrustedProxyFix:
    """Takes the client address from ``X-Forwarded-For`` only when the TCP peer is a trusted proxy (one hop)."""

    def __init__(self, app, trusted: str) -> None:
        from werkzeug.middleware.proxy_fix import ProxyFix

        self.app = app
        self._fixed = ProxyFix(app, x_for=1, x_proto=0, x_host=0, x_port=0, x_prefix=0)
        entries = [t.strip() for t in trusted.split(",") if t.strip()]
        self._any = "*" in entries
        self._networks = [ipaddress.ip_network(t, strict=False) for t in entries if t != "*"]

    def trusts(self, peer: str | None) -> bool:
        if not peer:  # a unix socket: only local processes can connect
            return True
        if self._any:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def __call__(self, environ, start_response):
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self._fixed(environ, start_response)
        return self.app(environ, start_response)


def on_starting(server) -> None:
    """In the master, before the port is bound: refuse an evicting Redis (or none, in production)."""
    from postal_bridge.startup import StartupRefused, check_redis

    if not _settings.redis_url:
        if _settings.env == "production":
            _refuse(server, "POSTAL_BRIDGE_REDIS_URL is required when POSTAL_BRIDGE_ENV=production")
        server.log.warning("POSTAL_BRIDGE_REDIS_URL is not set: work waits in the outbox, nothing runs it")
        return
    try:
        check_redis(_settings.redis_url, wait_seconds=10, must_answer=False)
    except StartupRefused as exc:
        _refuse(server, str(exc))


def _refuse(server, message: str) -> None:
    server.log.error("refusing to start: %s", message)  # the error log is stderr
    raise SystemExit(1)


def post_worker_init(worker) -> None:
    """In each worker after the fork: no database connection shared with the master; trusted forwarded addresses."""
    app = worker.wsgi
    container = getattr(app, "extensions", {}).get("postal_bridge")
    if container is not None:
        container.engine.dispose(close=False)
    worker.wsgi = TrustedProxyFix(app, forwarded_allow_ips)
