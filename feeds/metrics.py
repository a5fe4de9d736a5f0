"""Prometheus metrics and a health check, served on an optional port.

Each daemon has its own registry (not prometheus-client's global one), so tests and
several daemons in one process do not collide.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from feeds.model import SourceResult

# The daemon's loops that health watches: claiming due sources, and publishing.
LOOPS = ("claim", "publish")
# Scrapers at once, each in a thread of its own; a connection beyond them gets a 503.
METRICS_CONNECTIONS = 16
# Seconds a scraper gets for its whole exchange, so no connection holds its slot for good.
METRICS_TIMEOUT = 10.0
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

log = logging.getLogger(__name__)


def _seconds(age: timedelta) -> str:
    return f"{age.total_seconds():.0f}s"


def loop_health(
    last_ticks: Mapping[str, datetime],
    started: datetime,
    now: datetime,
    max_age: timedelta,
) -> tuple[bool, str]:
    """Healthy when every loop in LOOPS completed a tick within `max_age` of `now`.

    A tick counts whether or not it found work (nothing due, nothing to publish); a loop
    that has not ticked yet counts from `started`, so a daemon just (re)started is healthy
    until it has had `max_age` to tick. The reason names each late loop and its age.
    """
    late, fine = [], []
    for loop in LOOPS:
        last = last_ticks.get(loop)
        if last is None:
            age = now - started
            if age > max_age:
                late.append(f"{loop} loop has not run since the start {_seconds(age)} ago")
            else:
                fine.append(f"{loop} loop not run yet (started {_seconds(age)} ago)")
        else:
            age = now - last
            if age > max_age:
                late.append(f"{loop} loop last ran {_seconds(age)} ago")
            else:
                fine.append(f"{loop} loop ran {_seconds(age)} ago")
    if late:
        return False, f"late (max {_seconds(max_age)}): " + "; ".join(late)
    return True, "ok: " + ", ".join(fine)


class Metrics:
    """What the daemon counts; `observe_*` methods are called by the daemon as work ends."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "feeds_fetches", "Source updates by outcome.", ["outcome"], registry=self.registry
        )
        self.fetch_seconds = Histogram(
            "feeds_fetch_duration_seconds",
            "Time to update one source (fetch, parse, store).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.entries = Counter(
            "feeds_entries_stored",
            "Entries written to the store.",
            ["kind"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "feeds_publish_duration_seconds", "Time to publish.", registry=self.registry
        )
        self.last_publish = Gauge(
            "feeds_last_publish_timestamp_seconds",
            "When each category was last published (Unix time).",
            ["category"],
            registry=self.registry,
        )
        self.publish_problems = Gauge(
            "feeds_publish_problems",
            "Entries, categories and pages the last publishes could not render "
            "(`feeds status` lists them).",
            registry=self.registry,
        )
        self.last_tick_time = Gauge(
            "feeds_last_tick_timestamp_seconds",
            "When each daemon loop (claim, publish) last completed a tick (Unix time).",
            ["loop"],
            registry=self.registry,
        )
        self.started = clock()
        self.last_ticks: dict[str, datetime] = {}

    def observe_update(self, result: SourceResult, seconds: float) -> None:
        self.fetches.labels(result.outcome.value).inc()
        self.fetch_seconds.observe(seconds)
        self.entries.labels("new").inc(result.new)
        self.entries.labels("updated").inc(result.updated)

    def observe_publish(self, categories: list[str], seconds: float) -> None:
        now = self.clock()
        self.publish_seconds.observe(seconds)
        for slug in categories:
            self.last_publish.labels(slug).set(now.timestamp())

    def observe_publish_problems(self, count: int) -> None:
        """The store holds `count` publish problems now (after a publish)."""
        self.publish_problems.set(count)

    def observe_tick(self, loop: str) -> None:
        """`loop` (one of LOOPS) completed a tick now, whether or not it found work."""
        now = self.clock()
        self.last_ticks[loop] = now
        self.last_tick_time.labels(loop).set(now.timestamp())

    def healthy(self, max_age: timedelta) -> tuple[bool, str]:
        """Whether the daemon's loops ticked within `max_age`, and why (see `loop_health`)."""
        return loop_health(dict(self.last_ticks), self.started, self.clock(), max_age)


class MetricsServer:
    """`/metrics` (Prometheus text format) and `/healthz` on a background thread."""

    def __init__(self, metrics: Metrics, host: str, port: int, max_age: timedelta) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            timeout = METRICS_TIMEOUT

            def handle(self) -> None:
                # The whole exchange within METRICS_TIMEOUT too: a client sending a byte
                # now and then would hold its slot for good under the silence timeout alone.
                cut = threading.Timer(METRICS_TIMEOUT, self._cut)
                cut.start()
                try:
                    super().handle()
                finally:
                    cut.cancel()

            def _cut(self) -> None:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
                elif self.path == "/healthz":
                    ok, reason = metrics.healthy(max_age)
                    self._send(200 if ok else 503, "text/plain; charset=utf-8", reason.encode())
                else:
                    self._send(404, "text/plain; charset=utf-8", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # scrapes every few seconds would flood the log

        self.server = _BoundedServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        outer.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _BoundedServer(ThreadingHTTPServer):
    """At most `METRICS_CONNECTIONS` connections served at once (a thread and a descriptor
    each, in the daemon's process): one more is answered 503 and closed at once. A client
    that drops its connection is a debug line, not a traceback on stderr."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.slots = threading.BoundedSemaphore(METRICS_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(0)
                request.send(_BUSY)
            except OSError:
                pass  # its buffer full or gone: closed all the same
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("metrics: connection from %s failed", client_address, exc_info=True)
