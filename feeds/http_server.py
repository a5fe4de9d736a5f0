"""The HTTP server under `feeds serve` and `feeds run --serve`: uvicorn, made fit for the internet.

uvicorn (with httptools) runs inside the caller's event loop, which the daemon needs, and is
fast; what it lacks against slow or many clients is added here, in a protocol subclass:

- **a deadline for the request head**: from the moment a connection opens, and from the end
  of each response on a kept-alive connection, the next request's head must be complete
  within `timeout` seconds, or the connection is closed. Bytes trickling in do not extend it
  (uvicorn itself has no head timeout: one header line every few seconds held a connection
  for ever);
- **an idle keep-alive timeout** (uvicorn's `timeout_keep_alive`);
- **a send deadline**: a response that has waited `send_timeout` seconds on a client that
  takes none of it (its buffers full, and ours) is dropped with its connection. Otherwise
  clients that ask for a large file and never read would hold the connection slots for
  ever, and every other client would get the cap's 503. All three deadlines are checked for
  all connections four times a second, not by a timer per request;
- **a cap on connections**: beyond `max_connections`, a new connection gets a short 503
  (`Connection: close`, `Retry-After`) and is closed at once, before anything is read. The
  process's open-file limit is raised to fit the cap (a connection may hold a socket and a
  file), or the cap is lowered to fit the limit, so clients cannot run the process out of
  descriptors;
- **accept errors** (`EMFILE` and its kin), which the event loop reports per event, are
  logged at most once per second with a count of those left out;
- **304s without a task**: a feed reader's poll is a conditional GET answered 304, most of
  the traffic of a feed server. uvicorn runs every request as an asyncio task through the
  ASGI app, which costs several times the stat calls that decide a 304. The app may hand the
  server an `AnswerAtOnce`: the protocol asks it as soon as a request head is parsed and, when
  it gives a 304's headers, writes the response there and then, keeping uvicorn's keep-alive,
  pipelining and flow-control bookkeeping. With the access log on, every request goes
  through the app (which logs it).

The access log (off by default) is feeds/access_log.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, TextIO, cast
from urllib.parse import unquote

import httptools
import uvicorn
from starlette.types import ASGIApp, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from feeds.access_log import AccessLog
from feeds.server_options import ServerOptions

log = logging.getLogger(__name__)

FDS_PER_CONNECTION = 2  # the socket, and the file being sent
FDS_RESERVED = 64  # listening socket, logs, the store, the daemon's own
WRITE_BUFFER = 16 * 1024  # bytes queued per connection before the response waits for the client
GRACEFUL_SHUTDOWN = 5  # seconds requests in flight get when the server stops
DEADLINE_SWEEP = 0.25  # seconds between checks of the connections' deadlines
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_NOT_MODIFIED = b"HTTP/1.1 304 Not Modified\r\n"
_CLOSE = b"connection: close\r\n"
# A request's line and headers, at most (nginx takes 4 x 8 KB), and its header lines: a
# head that never ended grew the process by gigabytes within the head deadline.
MAX_REQUEST_HEAD = 32 * 1024
MAX_REQUEST_HEADERS = 100
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 23\r\nConnection: close\r\n\r\nrequest head too large\n"
)
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    b"too many connections\n"
)


class AnswerAtOnce(Protocol):
    """What may answer a request's 304 without running the ASGI app."""

    def not_modified_headers(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        """The headers of the 304 that answers `scope`, or None: the app answers it."""


class RateLimitedLog:
    """Logs a recurring event at most once per `interval` seconds, counting the ones left out."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.level = level
        self.interval = interval
        self.clock = clock
        self.last: float | None = None
        self.left_out = 0

    def __call__(self, message: str, *args: object) -> None:
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            self.left_out += 1
            return
        if self.left_out:
            message += f" ({self.left_out} more like it not logged)"
        self.logger.log(self.level, message, *args)
        self.last, self.left_out = now, 0


class _HeadTooLargeError(Exception):
    """A request's head passed `MAX_REQUEST_HEAD` or `MAX_REQUEST_HEADERS`."""


class _LimitedWarnings(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger with its warnings (one per bad request: "Invalid HTTP request
    received.") rate-limited: a client sending garbage in a loop wrote 10,000 lines in 3 s."""

    def __init__(self, logger: logging.Logger, limited: RateLimitedLog) -> None:
        super().__init__(logger, {})
        self.limited = limited

    @property
    def level(self) -> int:  # uvicorn reads it
        return int(self.logger.level)

    def warning(self, msg: object, *args: object, **_kwargs: object) -> None:
        self.limited(str(msg), *args)


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head deadline, a connection cap and 304s answered
    at once.

    Its two deadlines (the request head's, and the idle keep-alive one that uvicorn would
    arm as a timer per response) are times kept on the connection, which one sweep a
    fraction of a second apart enforces for all connections (`sweep_deadlines`): a timer
    armed and cancelled per request costs more than the rest of a 304.
    """

    max_connections: ClassVar[int]
    head_timeout: ClassVar[float]
    send_timeout: ClassVar[float]
    refusals: ClassVar[RateLimitedLog]
    stalls: ClassVar[RateLimitedLog]
    answer_at_once: ClassVar[AnswerAtOnce | None]

    bad_requests: ClassVar[RateLimitedLog]
    head_due: float | None = None  # loop time by which the next request head must be in
    in_head = False  # between a request's first byte and the end of its headers
    # Bytes of the head, each a lower bound (neither counts what the other does): the
    # parts the parser has given (target, header lines), and whole reads that began and
    # ended within the head, which is how a head that never ends shows.
    head_size = 0
    head_read = 0
    heads = 0  # request heads read on the connection
    idle_due: float | None = None  # loop time at which an idle kept-alive connection closes
    send_due: float | None = None  # loop time by which a client must take some of a response
    completing = False  # inside on_response_complete: a completion asked for is looped, not nested
    completion_asked = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.transport = transport  # connection_lost closes it
            transport.write(_REFUSAL)
            transport.close()
            self.refusals("refusing connections: %d open (--max-connections)", self.max_connections)
            return
        super().connection_made(transport)
        self.logger = _LimitedWarnings(self.logger, self.bad_requests)  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=WRITE_BUFFER)
        self.head_due = self.loop.time() + self.head_timeout

    def data_received(self, data: bytes) -> None:
        self.idle_due = None  # not idle: only the head deadline runs on
        began_in_head, heads = self.in_head, self.heads
        # A callback below that finds the head too large fails the parse: uvicorn answers
        # 400 and closes. A head that never ends calls none: it is counted here, a read at a
        # time, when the read held nothing but head (pipelined requests end heads in it).
        super().data_received(data)
        if (
            began_in_head
            and self.in_head
            and self.heads == heads
            and not self.transport.is_closing()
        ):
            self.head_read += len(data)
            if self.head_read > MAX_REQUEST_HEAD:
                self._refuse_head()

    def _refuse_head(self) -> None:
        self.bad_requests("request head over %d bytes: 431", MAX_REQUEST_HEAD)
        if not self.transport.is_closing():
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_size, self.head_read = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        if len(self.headers) >= MAX_REQUEST_HEADERS:
            raise _HeadTooLargeError
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self.head_size += size
        if self.head_size > MAX_REQUEST_HEAD:
            raise _HeadTooLargeError

    def pause_writing(self) -> None:
        super().pause_writing()
        self.send_due = self.loop.time() + self.send_timeout

    def resume_writing(self) -> None:
        super().resume_writing()
        self.send_due = None  # the client took what was queued: the response goes on

    def on_headers_complete(self) -> None:
        self.head_due = None
        self.in_head = False
        self.heads += 1
        if not self._answered_at_once():
            super().on_headers_complete()

    def _answered_at_once(self) -> bool:
        """Answer a due 304 before uvicorn builds a request cycle for it: on a kept-alive
        connection whose last response is complete (the first request of a connection, and
        pipelined ones, go through `_start_asgi_task`)."""
        previous = self.cycle
        if (
            self.answer_at_once is None  # before the URL is parsed: the access log's path
            or previous is None
            or not previous.response_complete
            or self.parser.should_upgrade()
        ):
            return False
        scope = self.scope
        try:
            raw_path = httptools.parse_url(self.url).path
            scope["method"] = self.parser.get_method().decode("ascii")
            path = raw_path.decode("ascii")
            scope["path"] = self.root_path + (unquote(path) if "%" in path else path)
            scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        except Exception:  # uvicorn's path meets the same fault, and answers it
            return False
        headers = self._headers_at_once(cast(Scope, scope))
        if headers is None:
            return False
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        self._write_not_modified(headers, keep_alive)
        self.on_response_complete()
        return True

    def on_response_complete(self) -> None:
        """uvicorn's bookkeeping after a response, with deadlines for the timers it arms.

        A response completed at once starts the next pipelined request, which may complete
        at once too: loop rather than nest, however many requests one packet carried.
        """
        if self.completing:
            self.completion_asked = True
            return
        self.completing = True
        try:
            self.completion_asked = True
            while self.completion_asked:
                self.completion_asked = False
                self._after_response()
        finally:
            self.completing = False

    def _after_response(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # a request whose head is already read: its response may take
            cycle, app = self.pipeline.pop()  # as long as its client reads, so no deadline
            self._start_asgi_task(cycle, app)
        else:
            now = self.loop.time()
            self.idle_due = now + self.timeout_keep_alive
            self.head_due = now + self.head_timeout

    def past_deadline(self, now: float) -> bool:
        """Whether the connection missed its head deadline or stayed idle too long."""
        return (self.head_due is not None and now >= self.head_due) or (
            self.idle_due is not None and now >= self.idle_due
        )

    def stalled(self, now: float) -> bool:
        """Whether a response has waited past the send deadline on a client reading none."""
        return self.send_due is not None and now >= self.send_due

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # Not for uvicorn's own refusals (`app` is then not ours).
        if app is self.app:
            # The scope uvicorn hands the ASGI app, typed there as its own TypedDict.
            headers = self._headers_at_once(cast(Scope, cycle.scope))
            if headers is not None:
                self._not_modified(cycle, headers)
                return
        super()._start_asgi_task(cycle, app)

    def _headers_at_once(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        """The 304's headers if `scope` may be answered at once: not while the client is not
        reading what was sent (the app's send waits for it), nor when answering fails (the
        app meets the same fault, and answers and logs it)."""
        if self.answer_at_once is None or self.flow.write_paused:
            return None
        try:
            return self.answer_at_once.not_modified_headers(scope)
        except Exception:
            return None

    def _not_modified(
        self, cycle: RequestResponseCycle, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Write a 304 for `cycle` and complete it, as uvicorn's send would."""
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        self._write_not_modified(headers, cycle.keep_alive)
        self.on_response_complete()

    def _write_not_modified(self, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> None:
        content = [_NOT_MODIFIED]
        for name, value in (*self.server_state.default_headers, *headers):
            content.extend((name, b": ", value, b"\r\n"))
        if not keep_alive:
            content.append(_CLOSE)
        content.append(b"\r\n")
        self.transport.write(b"".join(content))
        if not keep_alive:
            self.transport.close()


async def sweep_deadlines(connections: set[Any], every: float = DEADLINE_SWEEP) -> None:
    """Close the connections past a deadline, every `every` seconds, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for connection in list(connections):
            if not isinstance(connection, _GuardedProtocol):
                continue
            if connection.stalled(now):
                # close() would wait to flush what the client does not take (and a response
                # already closing may be waiting so): abort.
                connection.send_due = None
                connection.transport.abort()
                connection.stalls(
                    "dropped a connection whose client took nothing of a response for %gs "
                    "(--send-timeout)",
                    connection.send_timeout,
                )
            elif connection.past_deadline(now) and not connection.transport.is_closing():
                connection.transport.close()


def _protocol_for(
    options: ServerOptions, max_connections: int, answer_at_once: AnswerAtOnce | None
) -> type[_GuardedProtocol]:
    class Protocol(_GuardedProtocol):
        pass

    Protocol.max_connections = max_connections
    Protocol.head_timeout = options.timeout
    Protocol.send_timeout = options.send_timeout
    Protocol.refusals = RateLimitedLog(log, logging.WARNING)
    Protocol.stalls = RateLimitedLog(log, logging.INFO)
    Protocol.bad_requests = RateLimitedLog(log, logging.WARNING)
    Protocol.answer_at_once = None if options.access_log is not None else answer_at_once
    return Protocol


def fit_connection_cap(wanted: int) -> int:
    """The connection cap the open-file limit allows, raising the soft limit up to the hard
    one where the cap needs it; logs a warning when it must lower the cap."""
    needed = wanted * FDS_PER_CONNECTION + FDS_RESERVED
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    fitting = max(1, (soft - FDS_RESERVED) // FDS_PER_CONNECTION)
    log.warning(
        "--max-connections %d lowered to %d: the open-file limit is %d (ulimit -n)",
        wanted,
        fitting,
        soft,
    )
    return fitting


class _AcceptErrors:
    """An event-loop exception handler: accept errors rate-limited, the rest passed on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.previous = loop.get_exception_handler()
        self.report = RateLimitedLog(log, logging.ERROR)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
            self.report("cannot accept connections: %s", exc)
        elif self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


@contextlib.contextmanager
def _accept_errors_rate_limited(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    handler = _AcceptErrors(loop)
    loop.set_exception_handler(handler)
    try:
        yield
    finally:
        loop.set_exception_handler(handler.previous)


@contextlib.contextmanager
def _access_log_stream(target: str | None) -> Iterator[TextIO | None]:
    if target is None:
        yield None
    elif target == "-":
        yield sys.stdout
    else:
        with Path(target).open("a", encoding="utf-8", buffering=1) as stream:
            yield stream


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to its host (the daemon or `serve`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_async(
    app: ASGIApp,
    options: ServerOptions,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    answer_at_once: AnswerAtOnce | None = None,
) -> None:
    """Serve `app` inside the running event loop until `stop` is set (or the task is cancelled).

    `answer_at_once`, if given, answers the 304s it can without running `app` (see the
    module docstring); it must answer exactly as `app` would.

    Installs no signal handlers: the caller owns them. `ready` is set once the socket
    listens; the bound address (useful with port 0) is logged at info level as
    `serving on http://HOST:PORT/`. On `stop` (or cancellation) the server stops accepting,
    lets requests in flight finish (5 s at most) and returns.
    Raises OSError when it cannot listen on host:port.
    """
    host, port = options.host, options.port
    with (
        _access_log_stream(options.access_log) as access_stream,
        _accept_errors_rate_limited(asyncio.get_running_loop()),
    ):
        if access_stream is not None:
            app = AccessLog(app, access_stream.write)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http=_protocol_for(
                options, fit_connection_cap(options.max_connections), answer_at_once
            ),
            lifespan="off",
            log_config=None,  # keep the project's logging setup
            access_log=False,  # ours is AccessLog, in the combined format
            timeout_keep_alive=max(1, round(options.keep_alive)),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            server_header=False,
        )
        await _run(_EmbeddedServer(config), host, port, ready, stop)


async def _run(
    server: uvicorn.Server,
    host: str,
    port: int,
    ready: asyncio.Event | None,
    stop: asyncio.Event | None,
) -> None:
    async def run() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn's answer to a port it cannot bind; it logged why
            raise OSError(f"cannot serve on {host}:{port} (see the log above)") from None

    serving = asyncio.ensure_future(run())
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    sweeping = asyncio.ensure_future(sweep_deadlines(server.server_state.connections))
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
        sweeping.cancel()
    serving.result()
