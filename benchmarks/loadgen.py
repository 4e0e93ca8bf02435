"""A small HTTP/1.1 load generator on asyncio streams: closed loop (N connections, as fast as they go) and open loop
(a fixed arrival rate, latency measured from each request's scheduled time, so a slow server cannot hide its queue).

It needs nothing installed: one event loop in one thread costs less CPU per request than a thread per connection, which
matters on a 2-core box where the generator shares the CPUs with the server it measures. Connections are reused when
the server keeps them alive (gthread/async workers) and reopened when it closes them (gunicorn's sync workers answer
``Connection: close``). The same generator measures the hello-world baseline and the product, so its own cost cancels
out in the ratios.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import statistics
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

Request = Callable[[int], bytes]  # the i-th request's bytes


def build_request(
    method: str, path: str, *, host: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Run:
    """What one pass measured: per-request latencies in seconds, status codes and errors."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    offered_rps: float | None = None

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(q * 10) - 1] * 1000

    def summary(self) -> dict:
        return {
            "seconds": round(self.seconds, 3),
            "requests": self.completed,
            "ok": self.ok,
            "rps": round(self.rps, 1),
            "offered_rps": round(self.offered_rps, 1) if self.offered_rps else None,
            "p50_ms": _round(self.percentile_ms(50)),
            "p90_ms": _round(self.percentile_ms(90)),
            "p99_ms": _round(self.percentile_ms(99)),
            "max_ms": _round(max(self.latencies) * 1000) if self.latencies else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


async def _open(host: str, port: int) -> _Conn:
    reader, writer = await asyncio.open_connection(host, port)
    return _Conn(reader, writer)


async def _exchange(conn: _Conn, data: bytes) -> tuple[int, bool]:
    """Send one request, read the whole response; returns (status, whether the connection may be reused)."""
    conn.writer.write(data)
    status_line = await conn.reader.readline()
    if not status_line:
        raise ConnectionError("closed before the status line")
    version, status, *_ = status_line.decode("latin-1").split(" ", 2)
    length = 0
    keep = version == "HTTP/1.1"
    chunked = False
    while True:
        line = await conn.reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            keep = value.strip().lower() != "close"
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await conn.reader.readline()).split(b";")[0], 16)
            await conn.reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await conn.reader.readexactly(length)
    return int(status), keep


async def _closed(
    host: str,
    port: int,
    request: Request,
    connections: int,
    seconds: float,
    warmup: float,
    min_requests: int,
    max_seconds: float,
) -> Run:
    counter = iter(range(10**12))
    started = time.perf_counter()
    measure_from = started + warmup
    deadline = measure_from + seconds
    give_up = measure_from + max(seconds, max_seconds)
    run = Run(seconds=seconds)
    last_end = measure_from

    async def client() -> None:
        nonlocal last_end
        conn: _Conn | None = None
        while True:
            now = time.perf_counter()
            # Past the window, keep going only until ``min_requests`` answers were counted (a slow first answer on a
            # loaded box must not leave a short pass empty), and never past ``give_up``.
            if now >= give_up or (now >= deadline and run.completed >= min_requests):
                break
            data = request(next(counter))
            try:
                if conn is None:
                    conn = await _open(host, port)
                began = time.perf_counter()
                status, keep = await _exchange(conn, data)
                ended = time.perf_counter()
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if time.perf_counter() >= measure_from:
                    run.errors[type(exc).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                await asyncio.sleep(0.01)
                continue
            if not keep:
                conn.close()
                conn = None
            if began >= measure_from:  # an answer that began in the window counts, even if it ended after it
                run.latencies.append(ended - began)
                run.statuses[status] += 1
                last_end = max(last_end, ended)
        if conn is not None:
            conn.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    run.seconds = max(last_end - measure_from, 1e-6) if run.latencies else seconds  # the span actually measured
    return run


async def _open_loop(host: str, port: int, request: Request, rate: float, seconds: float, max_inflight: int) -> Run:
    run = Run(seconds=seconds, offered_rps=rate)
    idle: list[_Conn] = []
    slots = asyncio.Semaphore(max_inflight)
    total = max(1, int(rate * seconds))
    start = time.perf_counter() + 0.05
    tasks = []

    async def one(i: int, scheduled: float) -> None:
        async with slots:  # waiting for a slot counts in the latency: it is measured from the scheduled time
            conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = await _open(host, port)
                status, keep = await _exchange(conn, request(i))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                run.errors[type(exc).__name__] += 1
                if conn is not None:
                    conn.close()
                return
            run.latencies.append(time.perf_counter() - scheduled)
            run.statuses[status] += 1
            if keep:
                idle.append(conn)
            else:
                conn.close()

    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    run.seconds = max(seconds, time.perf_counter() - start)
    for conn in idle:
        conn.close()
    return run


T = TypeVar("T")


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` of ``make()``, on a thread of its own when this thread already runs an event loop (Playwright's
    sync API keeps one running for the whole pytest session once a browser test has started)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def closed_loop(
    host: str,
    port: int,
    request: Request,
    *,
    connections: int = 8,
    seconds: float = 10.0,
    warmup: float = 1.0,
    min_requests: int = 1,
    max_seconds: float = 120.0,
) -> Run:
    """``connections`` clients, each sending its next request as soon as the previous answer is read.

    The pass lasts ``seconds`` after ``warmup``, longer if fewer than ``min_requests`` answers were counted by then
    (up to ``max_seconds``); the rate is the answers over the span actually measured."""
    return _run(lambda: _closed(host, port, request, connections, seconds, warmup, min_requests, max_seconds))


def request_once(host: str, port: int, data: bytes, *, timeout: float = 30.0) -> int:
    """Send one request on a fresh connection and wait for the whole answer: its status (raises on failure)."""

    async def go() -> int:
        conn = await asyncio.wait_for(_open(host, port), timeout)
        try:
            status, _ = await asyncio.wait_for(_exchange(conn, data), timeout)
        finally:
            conn.close()
        return status

    return _run(go)


def wait_ready(host: str, port: int, path: str = "/healthz", *, timeout: float = 60.0) -> float:
    """Poll ``GET path`` until the server answers 2xx (gunicorn binds its port before its workers take requests).

    Returns the seconds waited; raises ``TimeoutError`` if no worker answered in time."""
    data = build_request("GET", path, host=f"{host}:{port}")
    began = time.perf_counter()
    last: object = None
    while time.perf_counter() - began < timeout:
        try:
            status = request_once(host, port, data, timeout=max(1.0, timeout - (time.perf_counter() - began)))
            if 200 <= status < 300:
                return time.perf_counter() - began
            last = f"HTTP {status}"
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, ConnectionError) as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port}{path} did not answer 2xx within {timeout:.0f} s (last: {last!r})")


def open_loop(
    host: str, port: int, request: Request, *, rate: float, seconds: float = 10.0, max_inflight: int = 64
) -> Run:
    """Requests at a fixed ``rate`` per second whatever the answers do; latency from each request's scheduled time."""
    return _run(lambda: _open_loop(host, port, request, rate, seconds, max_inflight))
