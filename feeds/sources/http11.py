"""HTTP/1.1 for direct fetches: httpx's transport for one origin, on the connections of
`feeds.sources.network`, with httptools (llhttp, in C) reading the responses.

httpx's own transport (httpcore's pool with h11, pure Python) cost about 0.25 ms of CPU per
request here: a quarter of a warm run of 1000 feeds that all answer 304, where writing the
request and parsing the answer take a tenth of that. This module does what a feed fetch
needs of HTTP/1.1 and no more: one request at a time per connection, the connection kept
for the origin's next request when the response was read to its end and both sides allow
it. httpx above it still builds the requests and decodes the bodies its callers read
decoded (`fetch_url` reads them raw); this module raises httpx's exceptions, with the words
httpcore's pool would give them.

Bounds: a response head larger than `MAX_HEAD` bytes is refused, a body is handed on in the
pieces the network read (at most `READ_SIZE` bytes each), and every read and write waits at
most the request's read and write timeouts.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpcore
import httptools
import httpx

MAX_HEAD = 64 * 1024  # bytes of status line and headers: h11 allows 16 KiB, nginx 32 KiB
READ_SIZE = 64 * 1024  # bytes asked of the network at a time
# What no line of a request head may carry (a header injected, a request smuggled).
_FORBIDDEN = re.compile(rb"[\r\n\0]")

Header = tuple[bytes, bytes]
Timeouts = dict[str, float | None]  # httpx's request extension: connect, read, write, pool


class _Response:
    """What the parser has read of one response: httptools calls these methods.

    A 1xx answer (103 Early Hints, say) is read and forgotten: the real one follows. What
    follows the response's end (a server answering twice) is not ours: it is ignored, and
    the connection is not kept."""

    def __init__(self) -> None:
        self.parser: Any = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[Header] = []
        self.head_done = False
        self.head_size = 0  # bytes of the status lines and headers read
        self.complete = False
        self.keep_alive = False  # both sides allow another exchange on the connection
        self.trailing = False  # bytes after the end of the response
        self.chunks: deque[bytes] = deque()  # body pieces read and not yet handed on

    def feed(self, data: bytes) -> None:
        """Parse what the network delivered; what follows the response's end is ignored."""
        if self.complete:
            self.trailing = True
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise httpx.RemoteProtocolError("server switched protocols unasked") from None
        except httptools.HttpParserError as exc:
            if self.complete:  # the bytes after its end are no response: not ours either
                self.trailing = True
                return
            raise httpx.RemoteProtocolError(f"malformed response: {exc}") from None

    def on_message_begin(self) -> None:
        self.trailing = self.complete

    def on_status(self, reason: bytes) -> None:
        # llhttp hands the reason over in pieces when a read ends inside it.
        if not self.complete:
            self.reason += reason
            self.head_size += len(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))
            self.head_size += len(name) + len(value) + 4  # ": " and the line's end

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        self.head_size += 15  # "HTTP/1.1 200 " and the status line's end
        self.status = self.parser.get_status_code()
        self.head_done = not 100 <= self.status < 200

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if not self.head_done:  # a 1xx: the response itself comes next
            self.reason, self.headers = b"", []
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # asked later, llhttp forgets


class NoAnswerError(httpx.RemoteProtocolError):
    """The server sent no byte of a response: it had closed the connection, or closed it
    as the request went."""


class _Connection:
    """One connection of an origin: sends a request, reads its response."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self.stream = stream
        self.idle_since = 0.0

    def reusable_now(self, now: float, expiry: float) -> bool:
        """An idle connection that may carry the next request: within its keep-alive time,
        and the server has neither spoken nor hung up since the last response."""
        fresh = now - self.idle_since < expiry
        return fresh and not self.stream.get_extra_info("is_readable")

    async def send(self, request: httpx.Request, timeouts: Timeouts) -> None:
        stream = cast(httpx.AsyncByteStream, request.stream)
        body = [chunk async for chunk in stream]
        if request.headers.get("transfer-encoding", "").lower() == "chunked":
            body = [b"%x\r\n%b\r\n" % (len(c), c) for c in body if c] + [b"0\r\n\r\n"]
        await self.stream.write(_request_head(request) + b"".join(body), timeouts.get("write"))

    async def read_head(self, timeouts: Timeouts) -> _Response:
        """Read until the response's status and headers are in (and what came of its body
        with them)."""
        response = _Response()
        read = 0
        while not response.head_done:
            try:
                data = await self.stream.read(READ_SIZE, timeouts.get("read"))
            except httpcore.ReadError as exc:
                if read == 0:
                    raise NoAnswerError(f"connection reset before a response ({exc})") from exc
                raise
            if not data:
                if read == 0:
                    raise NoAnswerError("server closed the connection before a response")
                raise httpx.RemoteProtocolError("server closed the connection mid-head")
            read += len(data)
            response.feed(data)
            # What was read counts while the head is incomplete; once it is in, its lines.
            if response.head_size > MAX_HEAD or (not response.head_done and read > MAX_HEAD):
                raise httpx.RemoteProtocolError(f"response head over {MAX_HEAD} bytes")
        return response


class OriginPool(httpx.AsyncBaseTransport):
    """Connections to one origin (scheme, host, port) for direct requests: at most
    `max_connections` open at once (a request waits up to its pool timeout for one), at
    most `max_keepalive` of them kept idle, each for `expiry` seconds."""

    def __init__(
        self,
        origin: tuple[bytes, str, int],
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
    ) -> None:
        self.origin = origin
        self.backend = backend
        self.ssl_context = ssl_context
        self.max_keepalive = limits.max_keepalive_connections or 0
        self.expiry = limits.keepalive_expiry or 0.0
        self.slots = asyncio.Semaphore(limits.max_connections or 2**31)
        self.idle: list[_Connection] = []  # the most recently used last
        self.in_flight = 0
        self.closed = False

    def is_idle(self) -> bool:
        """No request in flight: the pool may be closed without harm."""
        return self.in_flight == 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: Timeouts = request.extensions.get("timeout", {})
        if self.slots.locked():  # only then a wait, and its timer
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self.slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no connection free in time", request=request) from None
        else:
            await self.slots.acquire()
        self.in_flight += 1
        try:
            with _mapped(request):
                connection, response = await self._exchange(request, timeouts)
        except BaseException:
            self._done()
            raise
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_Body(self, connection, response, timeouts, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason},
        )

    async def _exchange(
        self, request: httpx.Request, timeouts: Timeouts
    ) -> tuple[_Connection, _Response]:
        """Send `request` and read its response's head, on an idle connection or a new one.

        An idle connection the server closed meanwhile (its keep-alive time may be shorter
        than ours, or end as we send) answers nothing: a GET then goes once more, on a new
        connection."""
        connection = await self._take_idle()
        if connection is not None:
            try:
                await connection.send(request, timeouts)
                return connection, await connection.read_head(timeouts)
            except (NoAnswerError, httpcore.WriteError):
                await connection.stream.aclose()
                if request.method not in _REPLAYABLE:
                    raise
            except BaseException:
                await connection.stream.aclose()
                raise
        connection = await self._connect(timeouts)
        try:
            await connection.send(request, timeouts)
            return connection, await connection.read_head(timeouts)
        except BaseException:
            await connection.stream.aclose()
            raise

    async def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if connection.reusable_now(now, self.expiry):
                return connection
            await connection.stream.aclose()
        return None

    async def _connect(self, timeouts: Timeouts) -> _Connection:
        scheme, host, port = self.origin
        timeout = timeouts.get("connect")
        stream = await self.backend.connect_tcp(host, port, timeout=timeout)
        if scheme == b"https":
            # start_tls closes the connection itself when the handshake fails.
            stream = await stream.start_tls(self.ssl_context, host, timeout)
        return _Connection(stream)

    async def release(self, connection: _Connection, reusable: bool) -> None:
        """The exchange on `connection` ended: keep it for the next request, or close it."""
        self._done()
        if reusable and not self.closed and len(self.idle) < self.max_keepalive:
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
        else:
            await connection.stream.aclose()

    def _done(self) -> None:
        self.in_flight -= 1
        self.slots.release()

    async def aclose(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.stream.aclose()


class _Body(httpx.AsyncByteStream):
    """A response's body as the network delivers it; closing it ends the exchange."""

    def __init__(
        self,
        pool: OriginPool,
        connection: _Connection,
        response: _Response,
        timeouts: Timeouts,
        request: httpx.Request,
    ) -> None:
        self.pool = pool
        self.connection = connection
        self.response = response
        self.timeouts = timeouts
        self.request = request
        self.ended = False  # handed back to the pool, or closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        response = self.response
        with _mapped(self.request):
            while True:
                if response.chunks:
                    # One piece per network read: a body sent in 2-byte chunks would
                    # otherwise be a bytes object (and its overhead) per 2 bytes.
                    pieces = response.chunks
                    yield pieces.popleft() if len(pieces) == 1 else b"".join(pieces)
                    pieces.clear()
                if response.complete:
                    break
                data = await self.connection.stream.read(READ_SIZE, self.timeouts.get("read"))
                if data:
                    response.feed(data)
                elif _ends_at_close(response.headers):
                    response.complete = True  # the close was its end (RFC 9112 6.3)
                    break
                else:
                    raise httpx.RemoteProtocolError(
                        "server closed the connection before the end of the body"
                    )
        await self.aclose()

    async def aclose(self) -> None:
        if self.ended:
            return
        self.ended = True
        response = self.response
        # Read to its end, and nothing after it: else what the connection carries next
        # is not the next response's.
        keep = response.complete and response.keep_alive and not response.trailing
        keep = keep and not self.connection.stream.get_extra_info("is_readable")
        await self.pool.release(self.connection, keep)


def _ends_at_close(headers: list[Header]) -> bool:
    """Whether a response's body runs until the server closes: it has no length, and is
    not chunked last (RFC 9112 6.3: `Transfer-Encoding: identity`, or `gzip` alone, runs
    until the close too)."""
    names = {name.lower() for name, _ in headers}
    if b"content-length" in names:
        return False
    codings = b",".join(value for name, value in headers if name.lower() == b"transfer-encoding")
    last = codings.rsplit(b",", 1)[-1].strip().lower()
    return last != b"chunked"


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path or b"/"
    lines = [b"%b %b HTTP/1.1" % (request.method.encode("ascii"), target)]
    lines += [b"%b: %b" % (name, value) for name, value in request.headers.raw]
    if any(map(_FORBIDDEN.search, lines)):
        raise httpx.LocalProtocolError("a line break or NUL in the request's target or headers")
    return b"\r\n".join(lines) + b"\r\n\r\n"


_REPLAYABLE = frozenset({"GET", "HEAD"})


@contextmanager
def _mapped(request: httpx.Request) -> Iterator[None]:
    """httpcore's errors from the network as httpx's, with the same words."""
    try:
        yield
    except (httpcore.TimeoutException, httpcore.NetworkError) as exc:
        kind = next(_HTTPX_ERRORS[k] for k in type(exc).__mro__ if k in _HTTPX_ERRORS)
        raise kind(str(exc), request=request) from exc
    except httpx.RequestError as exc:
        if exc._request is None:  # raised here, before httpx knew the request
            exc.request = request
        raise


_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.NetworkError: httpx.NetworkError,
}
