"""A hostile HTTP server on 127.0.0.1 for fault tests: one path per way a feed host can hurt us.

The server speaks HTTP/1.1 over raw asyncio streams in a background thread with its own event
loop, so each path can misbehave at the byte level (never answer, trickle, reset the
connection, stream without end, lie about its encoding). Every connection carries exactly one
request and is closed afterwards. Every loop is bounded in count and in time, and `close()`
cancels whatever is still running, so nothing outlives the fixture.

Paths (a query string is ignored for routing, logged, and carried along by redirects, so
tests sharing one server can tag their requests: ``url("/ok-rss", tag="run2")``):

==================  ===========================================================================
``/ok-rss``         a good RSS 2.0 feed; ETag + Last-Modified, 304 on If-None-Match (or on an
``/ok-atom``        equal If-Modified-Since when no If-None-Match came); likewise in Atom 1.0
``/timeout``        reads the request, never answers (until the client closes, or 60 s)
``/trickle``        200 and headers, then one byte of a valid feed start per second (120 s)
``/huge``           a valid-looking RSS body of 50 MB, chunked, items generated on the fly
``/gzip-bomb``      ``Content-Encoding: gzip``, ~1 MB that inflates to 1 GiB of whitespace
``/zstd-bomb``      ``Content-Encoding: zstd``, ~8 KB that inflates to 256 MiB of whitespace
``/gzip-gzip-bomb`` ``Content-Encoding: gzip, gzip``, ~1 KB that inflates (twice) to 256 MiB
``/entity-bomb``    billion laughs in the DOCTYPE, used in a title and a description
``/xxe``            ``<!ENTITY x SYSTEM "file:///etc/passwd">`` used in a title
``/500`` ``/404``   those statuses with a short text body
``/410``            410 Gone
``/429``            429 with ``Retry-After: 120`` (seconds)
``/503``            503 with ``Retry-After`` as an HTTP date one hour after the server's clock
``/moved-1``        301 -> ``/moved-2`` 301 -> ``/moved-final`` (a good feed)
``/loop-a``         302 -> ``/loop-b`` 302 -> ``/loop-a`` ...
``/chain-0``        302 -> ``/chain-1`` -> ... -> ``/chain-20`` (a good feed at the end)
``/redirect-bomb``  302 -> ``/ok-rss``, its body the ``/gzip-bomb`` (gzip, 1 GiB inflated)
``/bad-location/K`` 302 to what no fetch can follow: K in ``BAD_LOCATIONS`` (``[`` in a host,
                    other schemes, no host (name), 20,000 characters)
``/reset``          reads the request, then SO_LINGER 0 and close: a TCP RST
``/html``           200 text/html, a web page
``/binary``         200 application/rss+xml, random bytes with NULs
``/wrong-charset``  RSS in windows-1252 (ä ö ü € in titles), header says utf-8, no prolog
==================  ===========================================================================

Any other path gets a plain 404. `requests` logs every request with its headers and times,
and when its handler finished and how many body bytes it sent.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http
import random
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import zstandard

from support.feedfactory import FeedItem, atom10, rss20

__all__ = [
    "CHAIN_LENGTH",
    "GOOD_PATHS",
    "WRONG_CHARSET_TITLES",
    "HostileServer",
    "LoggedRequest",
    "good_feed",
    "gzip_bomb",
    "gzip_gzip_bomb",
    "serve",
    "wrong_charset_feed",
    "zstd_bomb",
]

MIB = 1 << 20
CHAIN_LENGTH = 20  # /chain-0 .. /chain-20
GOOD_PATHS = ("/ok-rss", "/ok-atom", "/moved-final")
LAST_MODIFIED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
READ_HEAD_TIMEOUT = 10.0  # seconds a client has to send its request head
MAX_HEAD = 64 * 1024
WRITE_SIZE = 64 * 1024

_CHAIN = re.compile(r"^/chain-(\d{1,3})$")
_BOMB_PREFIX = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>'


@dataclass
class LoggedRequest:
    """One request as it arrived, and what became of its handler."""

    method: str
    target: str  # as sent: path and query
    path: str
    tag: str | None  # the ?t= query parameter, if any
    headers: dict[str, str]  # lower-case names
    time: float  # wall clock (time.time()) at arrival
    started: float  # time.monotonic() at arrival
    ended: float | None = None  # time.monotonic() when the handler finished
    sent: int = 0  # body bytes written
    note: str = ""  # how the handler ended: "complete", "client gone", "capped", ...


# --- payloads -------------------------------------------------------------------------------


def _items(prefix: str, count: int = 3) -> list[FeedItem]:
    return [
        FeedItem(
            id=f"urn:hostile:{prefix}:{n}",
            title=f"{prefix} item {n}: Größe & Maß",
            link=f"https://example.com/{prefix}/{n}",
            html=f"<p>{prefix} body {n}</p>",
            summary=f"{prefix} summary {n}",
            published=datetime(2026, 11, n, 8, 0, tzinfo=UTC),
            authors=("Jörg",),
        )
        for n in range(1, count + 1)
    ]


def good_feed(path: str) -> bytes:
    """The body of one of the good paths (GOOD_PATHS)."""
    name = path.strip("/")
    if path == "/ok-atom":
        return atom10(_items(name), title=f"Good {name}")
    return rss20(_items(name), title=f"Good {name}")


def _entity_bomb() -> bytes:
    entities = ['<!ENTITY lol "lol">']
    for level in range(1, 10):
        inner = ("&lol;" if level == 1 else f"&lol{level - 1};") * 10
        entities.append(f'<!ENTITY lol{level} "{inner}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(entities) + "\n]>\n"
        '<rss version="2.0"><channel><title>Laughs</title><link>https://example.com/</link>'
        "<description>billion laughs</description>"
        "<item><title>laugh &lol9;</title><guid>urn:hostile:lol:1</guid>"
        "<description>&lol9; &lol8;</description></item></channel></rss>\n"
    ).encode("ascii")


def _xxe() -> bytes:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
        '<rss version="2.0"><channel><title>XXE &x;</title><link>https://example.com/</link>'
        "<description>external entity</description>"
        "<item><title>leak &x; end</title><guid>urn:hostile:xxe:1</guid>"
        "<link>https://example.com/xxe/1</link><description>body &x;</description></item>"
        "</channel></rss>\n"
    ).encode("ascii")


def wrong_charset_feed() -> bytes:
    """RSS encoded in windows-1252 with no XML declaration at all (served as utf-8)."""
    items = [
        FeedItem(id="urn:hostile:cp1252:1", title="Bäume ä ö ü € 1", link="https://example.com/c/1"),
        FeedItem(id="urn:hostile:cp1252:2", title="Preis 5 € für Übermaß", link="https://example.com/c/2"),
    ]  # fmt: skip
    body = rss20(items, encoding="windows-1252")
    return body.split(b"?>", 1)[1].lstrip()


WRONG_CHARSET_TITLES = ("Bäume ä ö ü € 1", "Preis 5 € für Übermaß")


def _html_page() -> bytes:
    return (
        b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>"
        b"<body><h1>Our new website</h1><p>The feed moved somewhere.</p></body></html>\n"
    )


def _binary() -> bytes:
    noise = random.Random(20261127).randbytes(16 * 1024)
    return b"\x00\x01\x02" + noise[:4096] + b"\x00" * 64 + noise[4096:]


def _trickle_body(length: int) -> bytes:
    start = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        b"<title>Trickle</title><description>"
    )
    return (start + b"slowly " * (length // 7 + 1))[:length]


def _huge_batch(first: int, count: int) -> bytes:
    return "".join(
        f"<item><title>Huge item {n}</title><guid>urn:hostile:huge:{n}</guid>"
        f"<link>https://example.com/huge/{n}</link>"
        f"<description>Item {n} of a feed that never seems to end, padded out.</description>"
        "</item>\n"
        for n in range(first, first + count)
    ).encode("ascii")


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int = 1 << 30) -> bytes:
    """A gzip member of `size` bytes (a feed start, then spaces), built cheaply.

    Each MiB is deflated after a full flush, so every MiB after the first compresses to the
    same bytes: compress two, repeat the second, write the end block and trailer ourselves.
    About 1 MB for 1 GiB (deflate cannot do better than ~1:1030). Cached per process.
    """
    if size % MIB or size < 2 * MIB:
        raise ValueError("size must be a multiple of 1 MiB, at least 2 MiB")
    spaces = b" " * MIB
    first_chunk = _BOMB_PREFIX + spaces[len(_BOMB_PREFIX) :]
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(first_chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    steady = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    chunks = size // MIB
    crc = zlib.crc32(first_chunk)
    for _ in range(chunks - 1):
        crc = zlib.crc32(spaces, crc)
    final_empty_block = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return first + steady * (chunks - 1) + final_empty_block + trailer


@functools.lru_cache(maxsize=4)
def zstd_bomb(size: int = 256 * MIB) -> bytes:
    """A zstd frame of `size` bytes (a feed start, then spaces); ~32 bytes per MiB."""
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    spaces = b" " * MIB
    parts = [compressor.compress(_BOMB_PREFIX + spaces[len(_BOMB_PREFIX) :])]
    parts.extend(compressor.compress(spaces) for _ in range(size // MIB - 1))
    parts.append(compressor.flush())
    return b"".join(parts)


@functools.lru_cache(maxsize=4)
def gzip_gzip_bomb(size: int = 256 * MIB) -> bytes:
    """`gzip_bomb(size)` gzipped once more: its repeated blocks squeeze to a few KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(gzip_bomb(size)) + compressor.flush()


# --- the server -----------------------------------------------------------------------------


class _ClientGoneError(Exception):
    pass


Handler = Callable[
    ["HostileServer", LoggedRequest, asyncio.StreamReader, asyncio.StreamWriter],
    Coroutine[Any, Any, None],
]


class HostileServer:
    """Serve the hostile paths until `close()`; `requests` logs what arrived.

    `clock` is what "now" means for the 503's Retry-After date (tests with a fake clock set
    it to theirs). The caps bound every slow path.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        timeout_cap: float = 60.0,
        trickle_seconds: int = 120,
        trickle_interval: float = 1.0,
        huge_size: int = 50_000_000,
        bomb_size: int = 1 << 30,
        compressed_bomb_size: int = 256 * MIB,
    ) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.timeout_cap = timeout_cap
        self.trickle_seconds = trickle_seconds
        self.trickle_interval = trickle_interval
        self.huge_size = huge_size
        self.bomb_size = bomb_size
        self.compressed_bomb_size = compressed_bomb_size
        self._requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._bodies = {path: good_feed(path) for path in GOOD_PATHS}
        # Precomputed once (and cached per process) so no request waits for it.
        self._gzip_bomb = gzip_bomb(bomb_size)
        self._zstd_bomb = zstd_bomb(compressed_bomb_size)
        self._gzip_gzip_bomb = gzip_gzip_bomb(compressed_bomb_size)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._port = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"hostile server did not start: {self._error!r}")

    # -- public ----------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def url(self, path: str, tag: str | None = None) -> str:
        return self.base_url + path + (f"?t={tag}" if tag else "")

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, tag: str | None = None) -> list[LoggedRequest]:
        """Requests to `path` (any query if `tag` is None, else only that tag)."""
        return [r for r in self.requests if r.path == path and (tag is None or r.tag == tag)]

    def wait_ended(self, request: LoggedRequest, timeout: float) -> bool:
        """Wait until the handler of `request` has finished; whether it did in time."""
        deadline = time.monotonic() + timeout
        while request.ended is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return request.ended is not None

    def close(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        if self._thread.is_alive():
            raise RuntimeError("hostile server thread did not stop")

    # -- the loop --------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, limit=MAX_HEAD, backlog=128
        )
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await asyncio.wait_for(server.wait_closed(), 5)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        request: LoggedRequest | None = None
        try:
            request = await self._read_request(reader)
            if request is None:
                return
            with self._lock:
                self._requests.append(request)
            handler = _route(request.path)
            await handler(self, request, reader, writer)
            request.note = request.note or "complete"
        except (_ClientGoneError, ConnectionError, asyncio.IncompleteReadError):
            if request is not None:
                request.note = "client gone"
        except asyncio.CancelledError:
            if request is not None:
                request.note = "cancelled at shutdown"
            raise
        finally:
            if request is not None:
                request.ended = time.monotonic()
            if not writer.is_closing():
                writer.close()
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _read_request(self, reader: asyncio.StreamReader) -> LoggedRequest | None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_HEAD_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        method, target, _version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        path, _, query = target.partition("?")
        tags = parse_qs(query).get("t")
        return LoggedRequest(
            method=method,
            target=target,
            path=path,
            tag=tags[0] if tags else None,
            headers=headers,
            time=time.time(),
            started=time.monotonic(),
        )

    # -- writing ---------------------------------------------------------------------------

    async def respond(
        self,
        request: LoggedRequest,
        writer: asyncio.StreamWriter,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        *,
        length: bool = True,
    ) -> None:
        """Write a status line, headers (plus Date, Connection: close) and `body`."""
        writer.write(self.head(status, {**(headers or {})}, len(body) if length else None))
        await self.send(request, writer, body)

    def head(self, status: int, headers: dict[str, str], length: int | None) -> bytes:
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
        headers.setdefault("Date", format_datetime(self.clock(), usegmt=True))
        headers.setdefault("Connection", "close")
        if length is not None:
            headers.setdefault("Content-Length", str(length))
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, request: LoggedRequest, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write `data` in pieces, draining each; raises _ClientGoneError once the client left."""
        for start in range(0, len(data), WRITE_SIZE) if data else [0]:
            piece = data[start : start + WRITE_SIZE]
            if writer.is_closing():
                raise _ClientGoneError
            writer.write(piece)
            try:
                await asyncio.wait_for(writer.drain(), 30)
            except (ConnectionError, TimeoutError) as exc:
                raise _ClientGoneError from exc
            request.sent += len(piece)


# --- handlers -------------------------------------------------------------------------------

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


async def _good(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
    body = server._bodies[request.path]
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    last_modified = format_datetime(LAST_MODIFIED, usegmt=True)
    content_type = "application/atom+xml" if "atom" in request.path else "application/rss+xml"
    validators = {"ETag": etag, "Last-Modified": last_modified}
    match = request.headers.get("if-none-match")
    since = request.headers.get("if-modified-since")
    if (match is not None and etag in (m.strip() for m in match.split(","))) or (
        match is None and since == last_modified
    ):
        request.note = "304"
        await server.respond(request, w, 304, validators, length=False)
        return
    headers = {"Content-Type": f"{content_type}; charset=utf-8", **validators}
    await server.respond(request, w, 200, headers, body)


async def _timeout(server: HostileServer, request: LoggedRequest, r: Reader, _w: Writer) -> None:
    # Answer nothing; wait for the client to give up (EOF) or for the cap.
    deadline = time.monotonic() + server.timeout_cap
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(r.read(1024), left)
        except TimeoutError:
            break
        if not data:
            request.note = "client gone"
            return
    request.note = "capped"


async def _trickle(server: HostileServer, request: LoggedRequest, r: Reader, w: Writer) -> None:
    body = _trickle_body(server.trickle_seconds)
    w.write(server.head(200, {"Content-Type": "application/rss+xml"}, None))
    for byte in range(len(body)):  # one byte a tick, at most trickle_seconds of them
        if r.at_eof():
            raise _ClientGoneError
        await server.send(request, w, body[byte : byte + 1])
        await asyncio.sleep(server.trickle_interval)
    request.note = "capped"


async def _huge(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
    headers = {"Content-Type": "application/rss+xml", "Transfer-Encoding": "chunked"}
    w.write(server.head(200, headers, None))
    start = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        b"<title>Huge</title><link>https://example.com/</link><description>big</description>\n"
    )
    total = 0
    number = 0
    pieces = [start]
    while total < server.huge_size:  # ends after huge_size bytes, or when the client leaves
        pieces.append(_huge_batch(number, 250))
        number += 250
        data = b"".join(pieces)
        pieces = []
        total += len(data)
        await server.send(request, w, b"%x\r\n" % len(data) + data + b"\r\n")
    end = b"</channel></rss>\n"
    await server.send(request, w, b"%x\r\n" % len(end) + end + b"\r\n0\r\n\r\n")
    request.note = "capped"


def _encoded(encoding: str, attribute: str) -> Handler:
    async def handler(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
        body: bytes = getattr(server, attribute)
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
        await server.respond(request, w, 200, headers, body)

    return handler


def _canned(
    status: int, body: bytes, content_type: str, extra: Callable[[HostileServer], dict[str, str]]
) -> Handler:
    async def handler(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
        headers = {"Content-Type": content_type, **extra(server)}
        await server.respond(request, w, status, headers, body)

    return handler


def _redirect(status: int, to: str | Callable[[str], str]) -> Handler:
    async def handler(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
        target = to(request.path) if callable(to) else to
        query = request.target.partition("?")[2]
        location = server.base_url + target + (f"?{query}" if query else "")
        await server.respond(request, w, status, {"Location": location}, b"")

    return handler


async def _redirect_bomb(
    server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer
) -> None:
    # A redirect whose body is the gzip bomb: a client that reads redirect bodies inflates it.
    headers = {
        "Location": server.url("/ok-rss", request.tag),
        "Content-Type": "text/html",
        "Content-Encoding": "gzip",
    }
    await server.respond(request, w, 302, headers, server._gzip_bomb)


def _next_in_chain(path: str) -> str:
    match = _CHAIN.match(path)
    assert match is not None
    return f"/chain-{int(match.group(1)) + 1}"


async def _chain_end(server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    await server.respond(request, w, 200, headers, server._bodies["/ok-rss"])


async def _reset(_server: HostileServer, request: LoggedRequest, _r: Reader, w: Writer) -> None:
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()  # close at once: with linger 0 the kernel sends RST
    request.note = "reset"


def _no_headers(_server: HostileServer) -> dict[str, str]:
    return {}


def _retry_in_an_hour(server: HostileServer) -> dict[str, str]:
    return {"Retry-After": format_datetime(server.clock() + timedelta(hours=1), usegmt=True)}


# What a redirect may name that no fetch can follow (/bad-location/<name>).
BAD_LOCATIONS = {
    "bracket": "http://[feeds.example.org/feed.xml",
    "ftp": "ftp://files.example.org/feed.xml",
    "javascript": "javascript:alert(1)",
    "no-host": "https:///feed.xml",
    "no-host-name": "http://reader@/feed.xml",  # a netloc, but no host to connect to
    "data": "data:application/rss+xml,<rss/>",
    "long": "http://[" + "a" * 20_000,
}


def _location(location: str) -> Callable[[HostileServer], dict[str, str]]:
    return lambda _server: {"Location": location}


_TEXT = "text/plain; charset=utf-8"
_ROUTES: dict[str, Handler] = {
    **{
        f"/bad-location/{name}": _canned(302, b"", _TEXT, _location(location))
        for name, location in BAD_LOCATIONS.items()
    },
    "/ok-rss": _good,
    "/ok-atom": _good,
    "/moved-final": _good,
    "/timeout": _timeout,
    "/trickle": _trickle,
    "/huge": _huge,
    "/gzip-bomb": _encoded("gzip", "_gzip_bomb"),
    "/zstd-bomb": _encoded("zstd", "_zstd_bomb"),
    "/gzip-gzip-bomb": _encoded("gzip, gzip", "_gzip_gzip_bomb"),
    "/entity-bomb": _canned(200, _entity_bomb(), "application/rss+xml", _no_headers),
    "/xxe": _canned(200, _xxe(), "application/rss+xml", _no_headers),
    "/500": _canned(500, b"internal error\n", _TEXT, _no_headers),
    "/404": _canned(404, b"no such feed\n", _TEXT, _no_headers),
    "/410": _canned(410, b"this feed is gone for good\n", _TEXT, _no_headers),
    "/429": _canned(429, b"slow down\n", _TEXT, lambda _s: {"Retry-After": "120"}),
    "/503": _canned(503, b"maintenance\n", _TEXT, _retry_in_an_hour),
    "/moved-1": _redirect(301, "/moved-2"),
    "/moved-2": _redirect(301, "/moved-final"),
    "/redirect-bomb": _redirect_bomb,
    "/loop-a": _redirect(302, "/loop-b"),
    "/loop-b": _redirect(302, "/loop-a"),
    f"/chain-{CHAIN_LENGTH}": _chain_end,
    "/reset": _reset,
    "/html": _canned(200, _html_page(), "text/html; charset=utf-8", _no_headers),
    "/binary": _canned(200, _binary(), "application/rss+xml", _no_headers),
    "/wrong-charset": _canned(
        200, wrong_charset_feed(), "application/rss+xml; charset=utf-8", _no_headers
    ),
}
_NOT_FOUND = _canned(404, b"not found\n", _TEXT, _no_headers)


def _route(path: str) -> Handler:
    if path in _ROUTES:
        return _ROUTES[path]
    match = _CHAIN.match(path)
    if match and int(match.group(1)) < CHAIN_LENGTH:
        return _redirect(302, _next_in_chain)
    return _NOT_FOUND


def serve(**options: Any) -> Iterator[HostileServer]:
    """A generator for a pytest fixture: the server, closed when the fixture ends."""
    server = HostileServer(**options)
    try:
        yield server
    finally:
        server.close()
