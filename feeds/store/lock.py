"""The run lock: one `feeds update` or `feeds run` at a time works on a store.

SQLite: an flock on a file beside the database (released by the kernel if the process dies).
PostgreSQL: a session advisory lock (released by the server if the connection drops).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from feeds.errors import FeedsError

# Arbitrary constants that name our advisory locks among others on the server.
ADVISORY_KEY = 0x6665656473  # "feeds": the run lock
PUBLISHER_KEY = 0x6665656474  # one publisher at a time among many `feeds run` processes
POLL = 0.2


class StoreBusyError(FeedsError):
    """Another run holds the store's run lock."""


@contextlib.contextmanager
def run_lock(engine: Engine, wait: float = 0.0) -> Iterator[None]:
    """Hold the store's run lock for the block; wait up to `wait` seconds for it."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        with _file_lock(Path(database + ".lock"), wait):
            yield
    else:
        with _advisory_lock(engine, wait):
            yield


@contextlib.contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _retry(lambda: _try_flock(fd), wait, f"another feeds run holds {path}")
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _advisory_lock(engine: Engine, wait: float) -> Iterator[None]:
    with engine.connect() as conn:
        query = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=ADVISORY_KEY)

        def attempt() -> bool:
            got = bool(conn.execute(query).scalar())
            conn.commit()
            return got

        _retry(attempt, wait, "another feeds run holds the store's advisory lock")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)").bindparams(key=ADVISORY_KEY))
            conn.commit()


def _retry(attempt: Callable[[], bool], wait: float, message: str) -> None:
    deadline = time.monotonic() + wait
    while not attempt():
        if time.monotonic() >= deadline:
            raise StoreBusyError(message)
        time.sleep(POLL)


@contextlib.contextmanager
def publisher_lock(engine: Engine) -> Iterator[bool]:
    """Try to become the one publisher; yields whether this process is it.

    PostgreSQL: a session advisory lock, released with the block (or by the server if the
    process dies, so another takes over). SQLite: one daemon per store holds the run lock,
    so it is always the publisher.
    """
    if engine.dialect.name == "sqlite":
        yield True
        return
    key = PUBLISHER_KEY
    with engine.connect() as conn:
        mine = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:k)").bindparams(k=key)).scalar()
        )
        conn.commit()
        try:
            yield mine
        finally:
            if mine:
                conn.execute(text("SELECT pg_advisory_unlock(:k)").bindparams(k=key))
                conn.commit()
