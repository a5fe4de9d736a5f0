"""PostgreSQL connections whose every round trip waits a bounded time for the server.

psycopg waits for an answer without a limit of its own, and TCP does not end a connection
to a server that is frozen (a paused VM, a stalled proxy or pooler) while its kernel still
acknowledges the bytes. Such a wait would hold its caller for ever: in `feeds run`, whose
store calls run on the event loop, every fetch, publish and even SIGTERM with it. Here one
watchdog thread shuts down the socket of a round trip that overran, so the wait ends in an
`OperationalError` naming the bound; the pool then drops the connection, and the caller
reports it and retries as after a lost connection. A statement the server is slow to
finish (one waiting for a lock) is ended by the server itself a little earlier.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from psycopg.rows import TupleRow
from sqlalchemy import Connection, Engine, event, text

# Seconds a new connection may take (libpq's connect_timeout), unless the URL sets one.
CONNECT_TIMEOUT = 10
# The share of the bound a statement may run on the server (statement_timeout), unless the
# URL's options set one.
SERVER_SHARE = 0.9

RV = TypeVar("RV")


class _Watch:
    """One round trip being watched: `overran` once the watchdog shut its socket down."""

    __slots__ = ("deadline", "fd", "overran")

    def __init__(self, deadline: float, fd: int) -> None:
        self.deadline = deadline
        self.fd = fd
        self.overran = False


class _Watchdog:
    """Shuts down the sockets of round trips waiting longer than `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._waiting: set[_Watch] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, fd: int) -> Iterator[_Watch]:
        """Watch the block's round trip on socket `fd`."""
        watch = _Watch(time.monotonic() + self.seconds, fd)
        with self._lock:
            self._waiting.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="pg-watchdog", daemon=True)
                self._thread.start()
        try:
            yield watch
        finally:
            with self._lock:  # once out of `_waiting`, its fd is never touched again
                self._waiting.discard(watch)

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.seconds / 4))
            now = time.monotonic()
            with self._lock:  # an fd stays its connection's while its watch is here
                for watch in self._waiting:
                    if now >= watch.deadline and not watch.overran:
                        watch.overran = True
                        _shut_down(watch.fd)


def _shut_down(fd: int) -> None:
    """End the TCP connection on `fd` both ways (the fd itself stays open for its owner)."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile: the wait ends anyway


class _BoundedConnection(psycopg.Connection[TupleRow]):
    """A psycopg connection whose round trips `_Watchdog` bounds (but within `unbounded`)."""

    watchdog: _Watchdog
    unbounded = False

    def wait(self, gen: PQGen[RV], *args: Any, **kwargs: Any) -> RV:
        """psycopg's wait for an answer, ended by the watchdog once it overran."""
        if self.unbounded:
            return super().wait(gen, *args, **kwargs)
        with self.watchdog.watching(self.pgconn.socket) as watch:
            try:
                return super().wait(gen, *args, **kwargs)
            except psycopg.OperationalError as exc:
                if not watch.overran:
                    raise
                self.close()  # in an unknown state: never used again
                seconds = self.watchdog.seconds
                raise psycopg.OperationalError(
                    f"PostgreSQL did not answer within {seconds:g}s"
                ) from exc


@contextmanager
def unbounded(conn: Connection) -> Iterator[None]:
    """Within the block, `conn`'s round trips (in its transaction) wait for the server as long
    as it takes: a schema migration of a big store may run for minutes, and a process that
    opens the store meanwhile waits for it. The server's statement_timeout is off for the
    transaction too."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, _BoundedConnection):
        yield
        return
    conn.execute(text("SET LOCAL statement_timeout = 0"))
    driver.unbounded = True
    try:
        yield
    finally:
        driver.unbounded = False


def bound_answers(engine: Engine, seconds: float) -> None:
    """Make every connection `engine` opens to PostgreSQL (psycopg) wait at most `seconds`
    for each answer of the server."""
    watchdog = _Watchdog(seconds)

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> _BoundedConnection:
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT)
        options = str(cparams.get("options", ""))
        if "statement_timeout" not in options:
            # The server ends a statement that waits on it (a lock held elsewhere) before
            # the watchdog cuts the connection: a cut one's backend would wait on, one more
            # at every retry, until the lock is let go.
            timeout = f"-c statement_timeout={round(seconds * SERVER_SHARE * 1000)}"
            cparams["options"] = f"{options} {timeout}".strip()
        connection = _BoundedConnection.connect(*cargs, **cparams)
        connection.watchdog = watchdog
        return connection
