"""Serving the published output folder over HTTP for feed readers (`feeds serve`).

One Starlette app on uvicorn; it serves files from the output folder only and answers
readers' conditional requests, so a poll of an unchanged feed costs a 304 and no body.

- **Types**: `<slug>/atom.xml` is `application/atom+xml`, `<slug>/rss.xml` is
  `application/rss+xml`, `feed.json` is `application/feed+json`, `.html` and `.opml` are
  `text/html` and `text/x-opml`, all with `charset=utf-8`; anything else by `mimetypes`.
  A folder serves its `index.html` (never a listing); a folder named without its trailing
  slash is redirected (301) to the slash form, so the pages' relative links work.
- **Validators**: the ETag is the SHA-256 of the file's bytes, so it changes exactly when the
  content does (the publisher rewrites a file only when its bytes change, and a rebuild of the
  same bytes gives the same tag). It is cached per file by (mtime_ns, size, inode): a hot
  feed is hashed once per version, not once per request. `Last-Modified` is the file's mtime.
  `If-None-Match` (a list, `*`, weak comparison) decides when present; otherwise
  `If-Modified-Since`.
- **Compression**: Starlette's `GZipMiddleware` compresses bodies of `GZIP_MIN_SIZE` bytes and
  more for clients that accept gzip (q-values are honoured: `gzip;q=0` means no). The gzip
  representation has other bytes than the identity one, so it must not carry the same strong
  ETag: it gets the identity tag with a `-gz` suffix (`"<sha256>-gz"`), still strong, so
  caches and range requests treat the two as the different representations they are. A client
  that sends either tag back is answered 304 (both name the same content), and the 304
  carries the tag of the representation the client would get now.
- **Containment**: only files inside the output folder are served. `..`, `%2e%2e`, encoded
  slashes (`%2f`) and backslashes, absolute paths (`//etc/passwd`), NUL bytes, empty path
  segments and symlinks that resolve outside the folder all give 404, as does every hidden
  name (a segment starting with `.`, e.g. the atomic writer's `.atom.xml.XXXX.tmp`).
- `/healthz` and `/metrics`: see `create_app`. Only GET and HEAD are allowed (405 otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import mimetypes
import os
import re
import signal
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio.to_thread
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.metrics import Metrics

log = logging.getLogger(__name__)

GZIP_MIN_SIZE = 1024
"""Bodies smaller than this go out uncompressed: gzip saves little there and costs a header."""

GZIP_ETAG_SUFFIX = "-gz"
ETAG_CACHE_SIZE = 4096
"""Files whose tag is remembered (one entry per file, least recently used dropped first)."""

_FEED_TYPES = {
    "atom.xml": "application/atom+xml; charset=utf-8",
    "rss.xml": "application/rss+xml; charset=utf-8",
}
_SUFFIX_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}
_TEXT_LIKE = ("application/xml", "application/json", "application/javascript")
_NOT_FOUND_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EACCES, errno.EPERM, errno.EISDIR,
     errno.ENAMETOOLONG, errno.EINVAL}
)  # fmt: skip
_ENTITY_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')


def content_type(relative: tuple[str, ...]) -> str:
    """The Content-Type of the file at these path segments below the output folder."""
    name = relative[-1]
    if len(relative) == 2 and name in _FEED_TYPES:  # <slug>/atom.xml, <slug>/rss.xml
        return _FEED_TYPES[name]
    if name == "feed.json":
        return "application/feed+json; charset=utf-8"
    suffix = os.path.splitext(name)[1].lower()
    if suffix in _SUFFIX_TYPES:
        return _SUFFIX_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:  # e.g. x.tar.gz: bytes, not a tar
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _TEXT_LIKE or guessed.endswith("+xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


def _compressible(media_type: str) -> bool:
    """Whether GZipMiddleware would compress this type (its default exclusion list)."""
    base = media_type.partition(";")[0].strip().lower()
    return base not in DEFAULT_EXCLUDED_CONTENT_TYPES and (
        base.partition("/")[0] + "/*" not in DEFAULT_EXCLUDED_CONTENT_TYPES
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """RFC 9110 content negotiation for gzip: listed (or `x-gzip`, or `*`) with q > 0."""
    explicit: float | None = None
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            explicit = quality if explicit is None else max(explicit, quality)
        elif coding == "*":
            wildcard = quality
    if explicit is not None:
        return explicit > 0
    return wildcard is not None and wildcard > 0


def _opaque(tag: str) -> str:
    """The content part of one of our tags: the representation suffix dropped."""
    return tag.removesuffix(GZIP_ETAG_SUFFIX)


def if_none_match_hits(header: str, etag: str) -> bool:
    """Weak comparison of `If-None-Match` against a file's tag (RFC 9110 13.1.2).

    `etag` is the bare content tag; `"<tag>"`, `W/"<tag>"` and the gzip form `"<tag>-gz"` all
    match it, since they name the same content. `*` matches any file that exists.
    """
    if header.strip() == "*":
        return True
    return any(_opaque(tag) == etag for tag in _ENTITY_TAG.findall(header))


def not_modified(headers: Headers, etag: str, mtime: float) -> bool:
    """True when a GET or HEAD with these headers gets 304 for a file with this tag and mtime."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return if_none_match_hits(if_none_match, etag)  # If-Modified-Since is then ignored
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # not an HTTP-date: ignored
    if since > time.time():
        return False  # a date in the future is not a valid validator
    return int(mtime) <= since  # HTTP dates have whole seconds


# -- the files --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _File:
    relative: tuple[str, ...]  # path segments below the output folder, as requested
    etag: str  # SHA-256 of the bytes, hex, without quotes
    mtime: float
    size: int
    body: bytes | None  # None when the request is answered 304


class _EtagCache:
    """path -> (mtime_ns, size, inode, tag), least recently used dropped first; thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple[int, int, int, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: str, key: tuple[int, int, int]) -> str | None:
        with self.lock:
            entry = self.entries.get(path)
            if entry is None or entry[:3] != key:
                return None
            self.entries.move_to_end(path)
            return entry[3]

    def put(self, path: str, key: tuple[int, int, int], etag: str) -> None:
        with self.lock:
            self.entries[path] = (*key, etag)
            self.entries.move_to_end(path)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


class _Redirect:
    """`_load`'s answer when the path names a folder without its trailing slash."""


_REDIRECT = _Redirect()


def request_segments(scope: Scope) -> tuple[tuple[str, ...], bool] | None:
    """The decoded path segments of a request and whether it ended with `/`; None: refuse.

    Works on the raw (still percent-encoded) path, so an encoded `/` or `\\` cannot pass for
    a separator after decoding. Refused: anything not starting with one `/`, empty segments
    (`//`), `.`-names (`.`, `..`, hidden files), backslashes, NUL, non-UTF-8.
    """
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes | bytearray):
        raw = str(scope.get("path", "")).encode("utf-8")
    raw = bytes(raw).partition(b"?")[0]
    lowered = raw.lower()
    if not raw.startswith(b"/") or any(bad in lowered for bad in (b"%2f", b"%5c", b"%00")):
        return None
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\\" in text or "\x00" in text:
        return None
    trailing = text.endswith("/")
    inner = text[1:-1] if trailing else text[1:]
    if not inner:
        return (), True
    segments = tuple(inner.split("/"))
    if any(not s or s.startswith(".") for s in segments):
        return None
    return segments, trailing


def _inside(root: Path, path: Path) -> tuple[str, ...] | None:
    """`path` (resolved) relative to `root` (resolved), or None when outside or hidden."""
    try:
        relative = path.relative_to(root).parts
    except ValueError:
        return None
    if any(part.startswith(".") for part in relative):
        return None
    return relative


def _load(
    output_dir: Path, segments: tuple[str, ...], trailing: bool, headers: Headers, cache: _EtagCache
) -> _File | _Redirect | None:
    """Find, check and read one file (runs in a worker thread). None: 404."""
    root = output_dir.resolve()
    target = root.joinpath(*segments).resolve(strict=True)
    if _inside(root, target) is None:
        return None
    named = segments  # as asked for: the name, not a symlink's target, decides the type
    if target.is_dir():
        if not trailing:
            return _REDIRECT
        target = (target / "index.html").resolve(strict=True)
        named = (*segments, "index.html")
    elif trailing:
        return None  # a file asked for as a folder
    if not _inside(root, target):
        return None
    # O_NOFOLLOW: a symlink swapped in after resolve() is refused, not followed.
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())  # the file we read, not whatever the path is now
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (info.st_mtime_ns, info.st_size, info.st_ino)
        etag = cache.get(str(target), key)
        if etag is not None and not_modified(headers, etag, info.st_mtime):
            return _File(named, etag, info.st_mtime, info.st_size, None)
        body = handle.read()
    if etag is None:
        etag = hashlib.sha256(body).hexdigest()
        if len(body) == info.st_size:  # else it changed under us: do not remember
            cache.put(str(target), key, etag)
    if not_modified(headers, etag, info.st_mtime):
        return _File(named, etag, info.st_mtime, info.st_size, None)
    return _File(named, etag, info.st_mtime, info.st_size, body)


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404)


class _Files:
    """The catch-all route: a file or a folder's index.html from the output folder."""

    def __init__(self, output_dir: Path, cache_seconds: int) -> None:
        self.output_dir = output_dir
        self.cache_control = f"public, max-age={cache_seconds}"
        self.cache = _EtagCache(ETAG_CACHE_SIZE)

    async def handle(self, request: Request) -> Response:
        parsed = request_segments(request.scope)
        if parsed is None:
            return _not_found()
        segments, trailing = parsed
        try:
            found = await anyio.to_thread.run_sync(
                _load, self.output_dir, segments, trailing, request.headers, self.cache
            )
        except OSError as exc:
            if exc.errno in _NOT_FOUND_ERRNOS:
                return _not_found()
            raise
        if found is None:
            return _not_found()
        if isinstance(found, _Redirect):
            raw = request.scope.get("raw_path") or request.url.path.encode()
            location = bytes(raw).partition(b"?")[0].decode("ascii", "replace") + "/"
            if request.url.query:
                location += "?" + request.url.query
            return RedirectResponse(location, status_code=301)
        media_type = content_type(found.relative)
        headers = {
            "Last-Modified": formatdate(found.mtime, usegmt=True),
            "Cache-Control": self.cache_control,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if found.body is None:
            # The tag a 200 would carry now: the gzip form when it would be compressed.
            gzipped = (
                accepts_gzip(request.headers.get("accept-encoding", ""))
                and found.size >= GZIP_MIN_SIZE
                and _compressible(media_type)
            )
            suffix = GZIP_ETAG_SUFFIX if gzipped else ""
            headers["ETag"] = f'"{found.etag}{suffix}"'
            return Response(status_code=304, headers=headers)
        headers["ETag"] = f'"{found.etag}"'  # _GzipETags adds the suffix when compressed
        return Response(found.body, headers=headers, media_type=media_type)


class _GzipETags:
    """Around GZipMiddleware: negotiates gzip properly and keeps ETags apart.

    Requests: `Accept-Encoding` is reduced to `gzip` when gzip is acceptable (RFC 9110
    q-values, `x-gzip`, `*`) and removed otherwise; GZipMiddleware itself only looks for the
    substring, so `gzip;q=0` would get gzip. Responses: a gzip-encoded body gets the
    `-gz` form of its ETag; duplicate `Vary` tokens are merged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        accept = Headers(scope=scope).get("accept-encoding", "")
        if accept_gzip := accepts_gzip(accept):
            headers.append((b"accept-encoding", b"gzip"))
        scope = {**scope, "headers": headers}

        async def send_fixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                fixed = MutableHeaders(raw=list(message.get("headers", [])))
                etag = fixed.get("etag", "")
                encoded = fixed.get("content-encoding", "").lower() == "gzip"
                suffixed = etag.endswith(GZIP_ETAG_SUFFIX + '"')
                if accept_gzip and encoded and etag.startswith('"') and not suffixed:
                    fixed["etag"] = etag[:-1] + GZIP_ETAG_SUFFIX + '"'
                vary = fixed.getlist("vary")
                if vary:
                    tokens: dict[str, str] = {}
                    for value in vary:
                        for token in value.split(","):
                            if token.strip():
                                tokens.setdefault(token.strip().lower(), token.strip())
                    fixed["vary"] = ", ".join(tokens.values())
                message = {**message, "headers": fixed.raw}
            await send(message)

        await self.app(scope, receive, send_fixed)


def create_app(
    output_dir: Path,
    *,
    metrics: Metrics | None,
    health_max_age: timedelta,
    cache_seconds: int,
) -> Starlette:
    """The ASGI app serving `output_dir` (see the module docstring), plus two endpoints.

    `/healthz`: with `metrics` (beside the daemon), 200 or 503 from
    `metrics.healthy(health_max_age)`, i.e. whether anything was published recently.
    Without (standalone `feeds serve`), 200 when `output_dir/index.html` exists, else 503.
    Its age is not checked there: the publisher leaves unchanged files alone, so an old
    mtime means "nothing new", not "dead"; liveness of the publisher is the daemon's to tell.
    `health_max_age` is then unused.

    `/metrics`: Prometheus text from `metrics.registry`; 404 without metrics.
    Both are plain routes, so a category whose slug is `healthz` or `metrics` is reachable
    only with the trailing slash (`/metrics/`).
    """
    files = _Files(output_dir, cache_seconds)

    async def healthz(request: Request) -> Response:
        if metrics is not None:
            ok, reason = metrics.healthy(health_max_age)
        else:
            ok = (output_dir / "index.html").is_file()
            reason = "index.html present" if ok else "no index.html published yet"
        return PlainTextResponse(
            reason + "\n", status_code=200 if ok else 503, headers={"Cache-Control": "no-store"}
        )

    async def metrics_page(request: Request) -> Response:
        if metrics is None:
            return _not_found()
        return Response(
            generate_latest(metrics.registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _not_found()  # also for targets no route matches, e.g. `*` or absolute-form

    methods = ["GET", "HEAD"]
    return Starlette(
        exception_handlers={404: not_found},
        routes=[
            Route("/healthz", healthz, methods=methods),
            Route("/metrics", metrics_page, methods=methods),
            Route("/{path:path}", files.handle, methods=methods),
        ],
        middleware=[
            Middleware(_GzipETags),
            Middleware(GZipMiddleware, minimum_size=GZIP_MIN_SIZE),
        ],
    )


# -- running it -------------------------------------------------------------------------------


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to its host (the daemon or `serve`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _uvicorn_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_config=None,  # keep the project's logging setup
        access_log=False,  # readers poll often; use a proxy's log for access logs
        timeout_graceful_shutdown=5,
        server_header=False,
    )


async def serve_async(
    app: ASGIApp,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `app` inside the running event loop until `stop` is set (or the task is cancelled).

    Installs no signal handlers: the caller owns them. `ready` is set once the socket
    listens; the bound address (useful with port 0) is logged at info level as
    `serving on http://HOST:PORT/`. On `stop` (or cancellation) the server stops accepting,
    lets requests in flight finish (5 s at most) and returns.
    Raises OSError when it cannot listen on host:port.
    """
    server = _EmbeddedServer(_uvicorn_config(app, host, port))

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn's answer to a port it cannot bind; it logged why
            raise OSError(f"cannot serve on {host}:{port} (see the log above)") from None

    serving = asyncio.ensure_future(run())
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while not server.started and not serving.done():
            if stopping is not None and stopping.done():
                break
            await asyncio.wait({serving}, timeout=0.02)
        if serving.done():
            serving.result()  # raises the startup failure
            return
        if server.started:
            bound = server.servers[0].sockets[0].getsockname()
            log.info("serving on http://%s:%d/", bound[0], bound[1])
            if ready is not None:
                ready.set()
        waiting: set[asyncio.Future[Any]] = {serving}
        if stopping is not None:
            waiting.add(stopping)
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if stopping is not None:
            stopping.cancel()
        if not serving.done():
            server.should_exit = True
            await serving
    serving.result()


def serve(
    output_dir: Path,
    host: str,
    port: int,
    *,
    metrics: Metrics | None = None,
    health_max_age: timedelta = timedelta(hours=1),
    cache_seconds: int = 300,
) -> None:
    """Serve `output_dir` until SIGTERM or SIGINT, then shut down gracefully and return.

    Blocking; for `feeds serve`. A signal stops accepting new connections and lets requests
    in flight finish (5 s at most); the function then returns normally (exit code 0).
    Raises OSError when it cannot listen on host:port.
    """
    app = create_app(
        output_dir, metrics=metrics, health_max_age=health_max_age, cache_seconds=cache_seconds
    )
    if not (output_dir / "index.html").is_file():
        log.warning("%s has no index.html yet: /healthz is 503 until it is published", output_dir)
    log.info("serving the files in %s", output_dir)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve_async(app, host, port, stop=stop)
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    asyncio.run(main())
