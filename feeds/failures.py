"""What a failure of the store, or of the disk under it, means to whoever runs `feeds`: one
line that says what happened and what to do, instead of a traceback. The CLI asks here for
every exception a command ends with; what is not recognised stays a traceback (a bug)."""

from __future__ import annotations

import errno
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from feeds.config import sqlite_path
from feeds.store import StoreError

_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg_binary", "psycopg_c"})
# SQLite result codes (extended ones start with these) and what to do about each.
_SQLITE_ADVICE = {
    "SQLITE_CORRUPT": "is damaged ({reason}): restore it from a backup, or move it aside "
    "(`sqlite3 {store} .recover` may save its contents) and run `feeds update` to start anew",
    "SQLITE_NOTADB": "is not a SQLite database ({reason}): check [storage] url in the config",
    "SQLITE_FULL": "cannot be written: the disk is full ({reason}); free some space and run "
    "the command again",
    "SQLITE_READONLY": "is read-only ({reason}): give the user running feeds write access to "
    "the file and its folder (SQLite writes -wal and -shm files beside it)",
    "SQLITE_CANTOPEN": "cannot be opened ({reason}): check that its folder exists and that the "
    "user running feeds may write there (SQLite writes -wal and -shm files beside it)",
    "SQLITE_IOERR": "cannot be read or written ({reason}): check the disk and the file system "
    "it is on (full, read-only, failing)",
    "SQLITE_PERM": "may not be written ({reason}): check the file's permissions",
}
_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run the command again",
    errno.EDQUOT: "the disk quota is used up; free some space and run the command again",
    errno.EROFS: "the file system is read-only; give feeds a writable folder",
    errno.EACCES: "permission denied; give the user running feeds access to it",
    errno.EPERM: "not permitted; give the user running feeds access to it",
}


def driver_reason(error: DBAPIError) -> str:
    """The first line of what the database driver said of `error`; "" when it said nothing."""
    said = str(error.orig).strip()
    return said.splitlines()[0] if said else ""


def explain_failure(exc: BaseException, store_url: str | None) -> str | None:
    """One line for a store or disk failure `exc` (the store at `store_url`), else None."""
    store = _describe_store(store_url)
    for error in _chain(exc):
        if isinstance(error, ModuleNotFoundError) and (error.name or "") in _DRIVERS:
            pip = Path(sys.executable).parent / "pip"
            return (
                "the PostgreSQL driver (psycopg 3) is not installed: install it with "
                f"`{pip} install 'feeds[postgres]'` (from a checkout: "
                f"`{pip} install -e '.[postgres]'`)"
            )
        if isinstance(error, sqlite3.Error):
            return _sqlite(error, store)
        if isinstance(error, DBAPIError) and error.orig is not None:
            if isinstance(error.orig, sqlite3.Error):
                return _sqlite(error.orig, store)
            reason = driver_reason(error) or type(error.orig).__name__
            return (
                f"the store {store} failed: {reason}; check that the database is running and "
                "reachable, then run the command again (-v shows the details)"
            )
        if isinstance(error, OSError) and error.errno in _OS_ADVICE:
            where = f" ({error.filename})" if error.filename else ""
            return f"cannot write{where}: {_OS_ADVICE[error.errno]}"
        if isinstance(error, ArgumentError):
            return f"bad [storage] url {store}: {str(error).splitlines()[0]}"
    if isinstance(exc, StoreError):
        return str(exc).splitlines()[0]
    return None


def _sqlite(error: sqlite3.Error, store: str) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    reason = str(error).splitlines()[0] if str(error) else name
    for code, advice in _SQLITE_ADVICE.items():
        if name == code or name.startswith(code + "_"):
            return f"the store {store} " + advice.format(reason=reason, store=store)
    return f"the store {store} failed: {reason} (-v shows the details)"


def _describe_store(url: str | None) -> str:
    if url is None:
        return "(unknown)"
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable url)"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it (also a cause hidden by `raise ... from None`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
