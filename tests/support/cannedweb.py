"""Canned HTTP responses served through httpx's MockTransport: no socket, no server thread.

For update tests where the network is not what they test (states, dates, redirects, 304s);
where the exchange itself is the point (cookies, slow hosts, the connection guard, hostile
servers) tests keep the real server of `feedserver`. Routes answer as that server's do
(`feedserver.answer`: ETag, 304 to a matching If-None-Match), and the client is
`make_client`'s own with only the transport swapped.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from feeds.config import FetchConfig
from feeds.sources.remote import make_client
from support.feedserver import LoggedRequest, Route, answer

BASE_URL = "http://feeds.example"


class CannedWeb:
    """Routes (path -> Route) of one made-up host; `requests` logs what was asked."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[LoggedRequest] = []

    def url(self, path: str) -> str:
        return BASE_URL + path

    def add(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/xml",
        headers: dict[str, str] | None = None,
    ) -> str:
        self.routes[path] = Route(body, status, {"content-type": content_type, **(headers or {})})
        return self.url(path)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler: log the request, answer from the routes."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        split = urlsplit(str(request.url))
        path = split.path + (f"?{split.query}" if split.query else "")
        self.requests.append(LoggedRequest(request.method, path, headers, request.content))
        if f"{split.scheme}://{split.netloc}" != BASE_URL:
            return httpx.Response(502, text=f"no canned host {split.netloc}")
        status, response_headers, body = answer(self.routes.get(path), headers)
        # A stream, not `content=`: content is read at once, and fetch_source streams it.
        headers_sent = {**response_headers, "content-length": str(len(body))}
        return httpx.Response(status, headers=headers_sent, stream=httpx.ByteStream(body))

    def client(self, config: FetchConfig) -> httpx.AsyncClient:
        """The production client for `config`, answered by these routes."""
        return make_client(config, transport=httpx.MockTransport(self.handle))
