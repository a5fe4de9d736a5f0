"""A real HTTP server on 127.0.0.1 for tests: routes of canned responses, a request log,
and conditional GET (ETag / If-Modified-Since) like a well-behaved feed host."""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # answer 304 to a matching If-None-Match
    delay: float = 0.0  # seconds to wait before answering (a slow host)
    # Request headers (lower-case name: exact value) without which the answer is 401/403.
    demands: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    peer: int = 0  # the client's port: requests over one connection share it
    lines: tuple[tuple[str, str], ...] = ()  # the header lines as sent, repeats and all


def answer(route: Route | None, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for a GET of `route` with request `headers` (lower-case)."""
    if route is None:
        return 404, {"content-type": "text/plain"}, b"not found"
    for name, value in route.demands.items():
        if headers.get(name) != value:
            status = 401 if name == "authorization" else 403
            return status, {"content-type": "text/plain"}, f"{name} missing".encode()
    etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
    if route.conditional and route.status == 200 and headers.get("if-none-match") == etag:
        return 304, {"etag": etag}, b""
    return route.status, {"etag": etag, **route.headers}, route.body


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, answers with a Content-Length, and no log lines in the test output."""

    protocol_version = "HTTP/1.1"

    def send(self, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


def start(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> ThreadingHTTPServer:
    """A threading server of `handler` on a free port of 127.0.0.1, serving until shut down;
    HTTPS with `tls` (a server context), its handshake made in the request's thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class FeedServer:
    """Serve `routes` (path -> Route) until closed; `requests` logs what arrived. With
    `tls` (a server context) over HTTPS."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Route] = {}
        self.requests: list[LoggedRequest] = []
        self.in_flight = 0
        self.most_in_flight = 0  # the most GETs this server answered at the same time
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    peer = self.client_address[1]
                    lines = tuple(self.headers.items())
                    logged = LoggedRequest("GET", self.path, headers, peer=peer, lines=lines)
                    server.requests.append(logged)
                    route = server.routes.get(self.path)
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    if route is not None and route.delay:
                        time.sleep(route.delay)
                    status, answer_headers, body = answer(route, headers)
                    self.send(status, answer_headers.items(), body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = self.rfile.read(int(headers.get("content-length", "0")))
                with server._lock:
                    server.requests.append(LoggedRequest("POST", self.path, headers, body))
                    route = server.routes.get(self.path)
                status = route.status if route is not None else 404
                self.send(status, [("content-type", "text/plain")], b"")

        self.httpd = start(Handler, tls)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/xml",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        demands: dict[str, str] | None = None,
    ) -> str:
        self.routes[path] = Route(
            body,
            status,
            {"content-type": content_type, **(headers or {})},
            delay=delay,
            demands=demands or {},
        )
        return self.url(path)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def request_counts(self, paths: Iterable[str]) -> Counter[str]:
        """How many requests arrived for each of `paths` (those asked at least once)."""
        wanted = set(paths)
        with self._lock:
            return Counter(r.path for r in self.requests if r.path in wanted)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve() -> Iterator[FeedServer]:
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()
