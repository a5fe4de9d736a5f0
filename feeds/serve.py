"""Serving the published output folder over HTTP for feed readers (`feeds serve`).

Starlette's `FileResponse` streams each file from disk in 64 KB chunks (never the whole file
in memory) with validators from the file's mtime and size: an ETag and Last-Modified that change
exactly when the file does, since the publisher rewrites a file only when its bytes change.
What this module adds around it:

- **Types** with charset: a category's file of an output format (`<slug>/atom.xml`,
  `<slug>/feed.json`, ...) has its format's media type (feeds/publish/formats.py); other
  `.html` and `.opml` are `text/html` and `text/x-opml`; anything else by `mimetypes`. A
  folder serves its `index.html` (never a listing); a folder named without its trailing
  slash is redirected (301) to the slash form, so the pages' relative links work.
- **Precompressed variants**: `atom.xml.br` / `atom.xml.gz`, written by the publisher
  (feeds/publish/variants.py), go to clients that accept them (RFC 9110 q-values), with
  `Content-Encoding` and their own validators (other bytes, so another ETag); a variant whose
  mtime is not its file's (stale) is ignored. Nothing is compressed per request.
- **Conditional GET**: `If-None-Match` (a list, `*`, weak comparison) decides when present,
  otherwise `If-Modified-Since`; both give 304.
- **Containment**: only files inside the output folder are served. `..`, `%2e%2e`, encoded
  slashes (`%2f`) and backslashes, absolute paths (`//etc/passwd`), NUL bytes, empty path
  segments and symlinks that resolve outside the folder all give 404, as does every hidden
  name (a segment starting with `.`, e.g. the atomic writer's `.atom.xml.XXXX.tmp`).
- `/healthz` and `/metrics`: see `create_app`. Only GET and HEAD are allowed (405 otherwise).

Files are found, opened and read on the event loop, as nginx does without `aio`: a stat, an
open or a 64 KB read of a file in the page cache take microseconds, less than a hop to a
worker thread (a cold read from a slow disk holds the loop for its duration).
The server around the app (deadlines, connection cap, access log) is feeds/http_server.py.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import mimetypes
import os
import signal
import stat
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from io import FileIO
from pathlib import Path
from urllib.parse import unquote_to_bytes

import anyio
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import NotModifiedResponse
from starlette.types import Receive, Scope, Send

from feeds import early_signals
from feeds.http_server import serve_async
from feeds.metrics import Metrics
from feeds.publish.formats import by_file_name
from feeds.publish.variants import VARIANTS, Variant
from feeds.server_options import ServerOptions

log = logging.getLogger(__name__)

_SUFFIX_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}
_TEXT_LIKE = ("application/xml", "application/json", "application/javascript")
_NOT_FOUND_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EACCES, errno.EPERM, errno.EISDIR,
     errno.ENAMETOOLONG, errno.EINVAL}
)  # fmt: skip
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_METHODS = ("GET", "HEAD")
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
CHUNK_SIZE = 16 * 1024  # bytes read and sent at a time: what a waiting client holds, twice
VALIDATOR_CACHE = 4096  # file versions whose validators are remembered
ROOT_RECHECK = 1.0  # seconds between lookups of the output folder's real path


def content_type(relative: tuple[str, ...]) -> str:
    """The Content-Type of the file at these path segments below the output folder."""
    name = relative[-1]
    if len(relative) == 2 and (output := by_file_name(name)):  # <slug>/atom.xml, ...
        return output.content_type
    suffix = os.path.splitext(name)[1].lower()
    if suffix in _SUFFIX_TYPES:
        return _SUFFIX_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:  # e.g. x.tar.gz: bytes, not a tar
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _TEXT_LIKE or guessed.endswith("+xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


def accepted_variants(accept_encoding: str) -> tuple[Variant, ...]:
    """The variants a client with this `Accept-Encoding` takes, most preferred first
    (remembered for headers of real clients' size only: `MAX_REMEMBERED_HEADER`).

    RFC 9110 12.5.3: a coding listed with q > 0 (`x-gzip` counts as gzip), or covered by `*`
    with q > 0 when not listed; `q=0` refuses. Equal q-values keep our order (Brotli first).
    """
    if len(accept_encoding) <= MAX_REMEMBERED_HEADER:
        return _ranked_variants(accept_encoding)
    return _ranked_variants.__wrapped__(accept_encoding)


MAX_REMEMBERED_HEADER = 256  # characters of an Accept-Encoding remembered; browsers send 30


@functools.lru_cache(maxsize=256)
def _ranked_variants(accept_encoding: str) -> tuple[Variant, ...]:
    """`accepted_variants`, worked out."""
    explicit: dict[str, float] = {}
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
        coding = "gzip" if coding.lower() == "x-gzip" else coding.lower()
        if coding == "*":
            wildcard = quality
        elif coding:
            explicit[coding] = max(explicit.get(coding, quality), quality)
    ranked = []
    for order, variant in enumerate(VARIANTS):
        quality = explicit.get(variant.coding, wildcard if wildcard is not None else 0.0)
        if quality > 0:
            ranked.append((-quality, order, variant))
    return tuple(variant for _, _, variant in sorted(ranked))


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",")]


def not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, mtime: float
) -> bool:
    """True when a GET or HEAD with these request headers gets 304 for a representation
    with this ETag (quoted) and mtime: `If-None-Match` by weak comparison when present,
    else `If-Modified-Since` (an HTTP date in the future is no validator)."""
    if if_none_match is not None:
        return if_none_match == etag or if_none_match.strip() == "*" or etag in _tags(if_none_match)
    if if_modified_since is None:
        return False
    try:
        parsed = parsedate_to_datetime(if_modified_since)
        # The asctime form and a "-0000" zone come back without a zone: HTTP dates are GMT
        # (RFC 9110 5.6.7), not the server's local time.
        since = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # not an HTTP-date: ignored
    if since > time.time():
        return False
    return int(mtime) <= since  # HTTP dates have whole seconds


class _FileShrankError(Exception):
    """The file being sent holds fewer bytes than when its headers were written."""


class _InLoopFile(anyio.AsyncFile[bytes]):
    """An open file read on the event loop, not in a worker thread: a 64 KB read from the
    page cache takes microseconds, less than the hop to a thread, and with no threads
    holding chunks, memory does not grow with the number of clients.

    It reads no further than the size its headers announced (`size`): a file another hand
    appends to while it is sent is sent as it was stat'ed; one it cuts short raises
    `_FileShrankError`, where Starlette's read loop and uvicorn's length check ended in a
    traceback."""

    def __init__(self, handle: FileIO, size: int) -> None:
        super().__init__(handle)
        self.handle = handle
        self.size = size
        self.position = 0

    async def read(self, size: int = -1) -> bytes:
        left = self.size - self.position
        wanted = left if size < 0 else min(size, left)
        data = (self.handle.read(wanted) or b"") if wanted > 0 else b""
        self.position += len(data)
        if len(data) < wanted:
            raise _FileShrankError
        return data

    async def seek(self, offset: int, whence: int | None = os.SEEK_SET) -> int:
        self.position = self.handle.seek(offset, os.SEEK_SET if whence is None else whence)
        return self.position


class _OpenFileResponse(FileResponse):
    """A FileResponse that streams the file already opened and checked, not whatever its
    path names by the time the body is sent: a file replaced in between cannot get the
    old one's Content-Length, and a symlink swapped in cannot be followed."""

    chunk_size = CHUNK_SIZE

    def __init__(
        self,
        path: str,
        handle: FileIO,
        info: os.stat_result,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        super().__init__(path, stat_result=info, headers=headers, media_type=media_type)
        self.handle = handle
        self.size = info.st_size  # what Content-Length says

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield _InLoopFile(self.handle, self.size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except _FileShrankError:
            # The response cannot be completed: ending it unfinished closes the connection
            # (uvicorn says so in one line), and the client sees the body cut short.
            log.warning("%s was cut short by another hand while it was sent", self.path)
        finally:
            self.handle.close()


def _open_regular(path: str) -> tuple[FileIO, os.stat_result] | None:
    """`path` opened without following a final symlink, if it is a regular file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in _NOT_FOUND_ERRNOS:
            return None
        raise
    handle = os.fdopen(fd, "rb", buffering=0)
    info = os.fstat(fd)  # the file we read, not whatever the path is now
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        return None
    return handle, info


def _visible_inside(root: str, real: str) -> bool:
    """Whether the resolved `real` is `root` or below it with no hidden name on the way."""
    if real == root:
        return True
    if not real.startswith(root + os.sep):
        return False
    return not any(part.startswith(".") for part in real[len(root) + 1 :].split(os.sep))


def _resolve_inside(root: str, names: tuple[str, ...]) -> tuple[str, os.stat_result] | None:
    """The real path of `root/names...` and its stat, or None when it does not exist or a
    symlink on the way leads out of `root` or to a hidden name. `root` is a real path: one
    lstat per name, and a realpath only where a name is a symlink."""
    path = root
    try:
        info = os.stat(root)
        for name in names:
            path = f"{path}{os.sep}{name}"
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                path = os.path.realpath(path)
                if not _visible_inside(root, path):
                    return None
                info = os.stat(path)
    except OSError:
        return None
    return path, info


def _request_header(scope: Scope, name: bytes) -> str | None:
    """A request header's value; the lines of a field sent several times, joined as one
    list (RFC 9110 5.3: `If-None-Match: "a"` then `If-None-Match: "b"` is `"a", "b"`)."""
    values = [value for key, value in scope["headers"] if key == name]
    if not values:
        return None
    return ", ".join(value.decode("latin-1") for value in values)


@dataclass(frozen=True, slots=True)
class _Representation:
    """A file or one of its variants as served: where, its stat, its `Content-Encoding`."""

    path: str
    info: os.stat_result
    encoding: str | None

    @property
    def key(self) -> tuple[str, int, int, int, str | None]:
        return (self.path, self.info.st_ino, self.info.st_size, self.info.st_mtime_ns,
                self.encoding)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Validators:
    etag: str
    not_modified_headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class _Found:
    """The representation a request asks for (`chosen`: the file or a variant of it), with
    its type and validators."""

    chosen: _Representation
    file: _Representation
    media_type: str
    validators: _Validators

    def not_modified(self, scope: Scope) -> bool:
        """Whether the request's validators match this representation (a 304)."""
        return not_modified(
            _request_header(scope, b"if-none-match"),
            _request_header(scope, b"if-modified-since"),
            self.validators.etag,
            self.chosen.info.st_mtime,
        )


@dataclass(frozen=True, slots=True)
class _Located:
    """A `_Found` remembered until `until` (monotonic seconds)."""

    found: _Found
    until: float

    def current(self) -> bool:
        """Whether the file and the variant chosen are still the versions found."""
        file, chosen = self.found.file, self.found.chosen
        return _unchanged(file) and (chosen is file or _unchanged(chosen))


def _unchanged(representation: _Representation) -> bool:
    try:
        info = os.lstat(representation.path)
    except OSError:
        return False
    was = representation.info
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_ino == was.st_ino
        and info.st_dev == was.st_dev
        and info.st_size == was.st_size
        and info.st_mtime_ns == was.st_mtime_ns
    )


def _is_conditional(scope: Scope) -> bool:
    return any(key in _CONDITIONAL for key, _ in scope["headers"])


class _NotModified:
    """A 304 with headers prepared once per version of a file (see `_Files.validators`)."""

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 304, "headers": self.headers})
        await send({"type": "http.response.body", "body": b""})


class _Files:
    """The output folder: a file, or a folder's index.html, with its precompressed variants."""

    def __init__(self, output_dir: Path, cache_seconds: int) -> None:
        self.output_dir = str(output_dir)
        self.cache_control = f"public, max-age={cache_seconds}"
        self._root: str | None = None
        self._root_checked = 0.0
        self._validators: OrderedDict[tuple[object, ...], _Validators] = OrderedDict()
        self._located: OrderedDict[tuple[bytes, tuple[Variant, ...]], _Located] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.respond(scope)
        await response(scope, receive, send)

    def root(self) -> str:
        """The output folder's real path, looked up again at most once a second (a folder
        swapped by a symlink is followed within a second; per request it cost as much as
        the rest of a 304)."""
        now = time.monotonic()
        if self._root is None or now - self._root_checked >= ROOT_RECHECK:
            self._root, self._root_checked = os.path.realpath(self.output_dir), now
        return self._root

    def respond(self, scope: Scope) -> Response | _NotModified:
        """The response to a GET or HEAD of a file (stat calls only, until a body is due)."""
        found = self.locate(scope)
        if not isinstance(found, _Found):
            return found
        if found.not_modified(scope):
            return _NotModified(found.validators.not_modified_headers)
        opened = _open_regular(found.chosen.path)
        if opened is None:
            return _not_found()
        handle, opened_info = opened  # the file streamed, even if replaced since the stat
        return _OpenFileResponse(
            found.chosen.path,
            handle,
            opened_info,
            self.extra_headers(found.chosen.encoding),
            found.media_type,
        )

    def not_modified_headers(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        """The headers of a 304 when `scope` is a conditional GET or HEAD of a file whose
        validators it matches; None for anything else (the full path answers it)."""
        if not _is_conditional(scope):
            return None
        found = self.locate(scope)
        if isinstance(found, _Found) and found.not_modified(scope):
            return found.validators.not_modified_headers
        return None

    def locate(self, scope: Scope) -> _Found | Response:
        """The representation a GET or HEAD asks for, or the response that refuses it.

        What a path and an `Accept-Encoding` resolved to is remembered for up to a second,
        like the folder's real path, and used only while the file and the variant chosen are
        still the same versions (an lstat of each): a poll of an unchanged feed then costs
        those two calls, not the walk down its path.
        """
        raw = scope.get("raw_path") or b""
        accept = _request_header(scope, b"accept-encoding") or ""
        # Keyed by what the header decides (the variants taken, in order), not by its text:
        # a client sending a new megabyte of it with each request filled the memory.
        key = (bytes(raw), accepted_variants(accept))
        remembered = self._located.get(key)
        now = time.monotonic()
        if remembered is not None and now < remembered.until and remembered.current():
            return remembered.found
        found = self._walk(scope, accept)
        if isinstance(found, _Found) and raw:
            self._located[key] = _Located(found, now + ROOT_RECHECK)
            self._located.move_to_end(key)
            while len(self._located) > VALIDATOR_CACHE:
                self._located.popitem(last=False)
        return found

    def _walk(self, scope: Scope, accept: str) -> _Found | Response:
        parsed = request_segments(scope)
        if parsed is None:
            return _not_found()
        segments, trailing = parsed
        root = self.root()
        found = _resolve_inside(root, segments)
        if found is None:
            return _not_found()
        real, info = found
        named = segments  # the name asked for, not a symlink's target, decides the type
        if stat.S_ISDIR(info.st_mode):
            if not trailing:
                return _redirect_to_folder(scope)
            found = _resolve_inside(real, ("index.html",))
            if found is None or not _visible_inside(root, found[0]):
                return _not_found()
            real, info = found
            named = (*segments, "index.html")
        elif trailing:
            return _not_found()  # a file asked for as a folder
        if not stat.S_ISREG(info.st_mode):
            return _not_found()
        file = _Representation(real, info, None)
        chosen = self.representation(accept, file)
        media_type = content_type(named)
        return _Found(chosen, file, media_type, self.validators(chosen, media_type))

    def representation(self, accept: str, file: _Representation) -> _Representation:
        """The file, or the first variant a client with this `Accept-Encoding` takes that was
        made from this version of it (a variant carries its file's mtime; a stale one is
        passed over)."""
        real, info = file.path, file.info
        for variant in accepted_variants(accept):
            candidate = f"{real}{variant.suffix}"
            try:
                variant_info = os.lstat(candidate)
            except OSError:
                continue
            if stat.S_ISREG(variant_info.st_mode) and variant_info.st_mtime_ns == info.st_mtime_ns:
                return _Representation(candidate, variant_info, variant.coding)
        return file

    def extra_headers(self, encoding: str | None) -> dict[str, str]:
        extra = {
            "cache-control": self.cache_control,
            "vary": "Accept-Encoding",
            "x-content-type-options": "nosniff",
        }
        if encoding is not None:
            extra["content-encoding"] = encoding
        return extra

    def validators(self, chosen: _Representation, media_type: str) -> _Validators:
        """`chosen`'s ETag (FileResponse's, from its stat) and its 304's headers, remembered
        per version of the file: a poll of an unchanged file computes nothing again."""
        key = (*chosen.key, media_type)
        found = self._validators.get(key)
        if found is None:
            full = FileResponse(
                chosen.path,
                stat_result=chosen.info,
                headers=self.extra_headers(chosen.encoding),
                media_type=media_type,
            )
            found = _Validators(full.headers["etag"], NotModifiedResponse(full.headers).raw_headers)
            self._validators[key] = found
            while len(self._validators) > VALIDATOR_CACHE:
                self._validators.popitem(last=False)
        else:
            self._validators.move_to_end(key)
        return found


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


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404)


def _redirect_to_folder(scope: Scope) -> Response:
    raw = scope.get("raw_path") or str(scope.get("path", "")).encode()
    location = bytes(raw).partition(b"?")[0].decode("ascii", "replace") + "/"
    query = scope.get("query_string", b"")
    if query:
        location += "?" + query.decode("latin-1")
    return RedirectResponse(location, status_code=301)


class Site:
    """The app: `/healthz` and `/metrics` through Starlette's routing, every other GET or
    HEAD straight to the files (no router on the hot path), other methods 405."""

    def __init__(self, files: _Files, endpoints: Starlette) -> None:
        self.files = files
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan or websockets
        if scope["method"] not in _METHODS:
            response: Response = PlainTextResponse(
                "method not allowed\n", status_code=405, headers={"Allow": ", ".join(_METHODS)}
            )
            await response(scope, receive, send)
        elif scope["path"] in ("/healthz", "/metrics"):
            await self.endpoints(scope, receive, send)
        else:
            await self.files(scope, receive, send)

    def not_modified_headers(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        """The headers of a 304 for a conditional GET or HEAD of a file whose validators
        match, else None: what the server may answer without running the app (see
        `feeds.http_server.AnswerAtOnce`)."""
        if scope["method"] not in _METHODS or scope["path"] in ("/healthz", "/metrics"):
            return None
        return self.files.not_modified_headers(scope)


def create_app(
    output_dir: Path,
    *,
    metrics: Metrics | None,
    health_max_age: timedelta,
    cache_seconds: int,
) -> Site:
    """The ASGI app serving `output_dir` (see the module docstring), plus two endpoints.

    `/healthz`: with `metrics` (beside the daemon), 200 or 503 from
    `metrics.healthy(health_max_age)`, i.e. whether anything was published recently.
    Without (standalone `feeds serve`), 200 when `output_dir/index.html` exists, else 503.
    Its age is not checked there: the publisher leaves unchanged files alone, so an old
    mtime means "nothing new", not "dead"; liveness of the publisher is the daemon's to tell.
    `health_max_age` is then unused.

    `/metrics`: Prometheus text from `metrics.registry`; 404 without metrics.
    Both are exact paths, so a category whose slug is `healthz` or `metrics` is reachable
    only with the trailing slash (`/metrics/`).
    """

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

    endpoints = Starlette(
        routes=[
            Route("/healthz", healthz, methods=list(_METHODS)),
            Route("/metrics", metrics_page, methods=list(_METHODS)),
        ]
    )
    return Site(_Files(output_dir, cache_seconds), endpoints)


def serve(
    output_dir: Path,
    options: ServerOptions,
    *,
    metrics: Metrics | None = None,
    health_max_age: timedelta = timedelta(hours=1),
    cache_seconds: int = 300,
) -> None:
    """Serve `output_dir` until SIGTERM or SIGINT, then shut down gracefully and return.

    Blocking; for `feeds serve`. A signal stops accepting new connections and lets requests
    in flight finish (5 s at most); the function then returns normally (exit code 0).
    Raises OSError when it cannot listen on the address.
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
        signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        for sig in signals[:2]:
            loop.add_signal_handler(sig, stop.set)
        # A reload sent to every feeds process (or a closed terminal) must not end the server.
        loop.add_signal_handler(
            signal.SIGHUP, log.info, "SIGHUP: serve has nothing to reload; still serving"
        )
        # `feeds serve` held the signals since it started: what came meanwhile stops us now.
        held = early_signals.release()
        try:
            await serve_async(app, options, stop=stop, answer_at_once=app)
        finally:
            if held:  # removing a handler puts back the fatal default: keep them held
                early_signals.hold()
            for sig in signals:
                loop.remove_signal_handler(sig)

    try:
        import uvloop  # the faster loop where it installs, as for `feeds run`
    except ImportError:
        asyncio.run(main())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
