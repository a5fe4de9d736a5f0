"""A plain HTTP forward proxy on 127.0.0.1 for tests: it forwards `GET` and `POST` requests
for `http://host/path` to their host and logs each one (the absolute URL and the headers it
came with). No CONNECT: the tests have no TLS."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from support.feedserver import QuietHandler, start

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te",
               "trailer", "transfer-encoding", "upgrade"}  # fmt: skip


@dataclass(frozen=True)
class ProxiedRequest:
    url: str  # the absolute URL the client asked the proxy for
    headers: dict[str, str]  # lower-case names, as they reached the proxy


class ForwardProxy:
    """Forward requests until closed; `requests` logs what passed through. `upstream`
    maps a "host:port" asked for to the loopback address it is really sent to, so a test
    can ask for a public address without a packet leaving the machine."""

    def __init__(self) -> None:
        self.requests: list[ProxiedRequest] = []
        self.upstream: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server names it
                self._forward("GET", b"")

            def do_POST(self) -> None:  # noqa: N802 - http.server names it
                self._forward("POST", self.rfile.read(int(self.headers["content-length"] or 0)))

            def _forward(self, method: str, body: bytes) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy._lock:
                    proxy.requests.append(ProxiedRequest(self.path, headers))
                target = urlsplit(self.path)
                if target.scheme != "http" or not target.hostname:
                    self.send(400, [], b"absolute http:// URLs only")
                    return
                path = target.path or "/"
                path += f"?{target.query}" if target.query else ""
                forwarded = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
                asked = f"{target.hostname}:{target.port or 80}"
                host, port = proxy.upstream.get(asked, (target.hostname, target.port or 80))
                if host not in ("127.0.0.1", "localhost", "::1"):
                    self.send(502, [], b"this test proxy forwards to loopback only")
                    return
                upstream = http.client.HTTPConnection(host, port, timeout=10)
                try:
                    upstream.request(method, path, body=body or None, headers=forwarded)
                    answer = upstream.getresponse()
                    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
                    self.send(answer.status, kept, answer.read())
                except OSError:
                    self.send(502, [], b"bad gateway")
                finally:
                    upstream.close()

        self.httpd = start(Handler)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def urls(self) -> list[str]:
        with self._lock:
            return [r.url for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy()
    try:
        yield proxy
    finally:
        proxy.close()
