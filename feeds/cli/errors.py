"""Exit codes, and the one table that gives each kind of error its code.

0 completed (even if some sources failed), 1 fatal error (network, I/O, the store),
2 config or usage problem, 3 some sources failed (`update --strict` only), 4 another run
holds the store. A command turns an error it expects into `failed(message, error)`; what
it does not expect reaches `feeds.cli._Commands.invoke` (feeds/failures.py explains it).
"""

from __future__ import annotations

import click

from feeds.config import ConfigError
from feeds.errors import CheckError, EditError, FeedsError, OpmlError
from feeds.store import StoreBusyError

__all__ = [
    "EXIT_BUSY",
    "EXIT_CONFIG",
    "EXIT_FAILED_SOURCES",
    "EXIT_FATAL",
    "EXIT_OK",
    "Busy",
    "Fatal",
    "Refused",
    "exit_code",
    "failed",
]

EXIT_OK, EXIT_FATAL, EXIT_CONFIG, EXIT_FAILED_SOURCES, EXIT_BUSY = 0, 1, 2, 3, 4

# First match wins; an error not listed is fatal.
_EXIT_CODES: tuple[tuple[type[FeedsError], int], ...] = (
    (StoreBusyError, EXIT_BUSY),
    (ConfigError, EXIT_CONFIG),
    (EditError, EXIT_CONFIG),
    (OpmlError, EXIT_CONFIG),
)


def exit_code(error: FeedsError) -> int:
    """The exit code a command ends with when `error` stops it."""
    if isinstance(error, CheckError):
        # A failed fetch is worth retrying later; a body that is no feed is a wrong URL.
        return EXIT_FATAL if error.network else EXIT_CONFIG
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return code
    return EXIT_FATAL


class Fatal(click.ClickException):
    """A failure that ends the command with exit code 1 and a one-line reason."""

    exit_code = EXIT_FATAL


class Refused(click.ClickException):
    """A config or usage problem (duplicate, unknown source, not a feed): exit code 2."""

    exit_code = EXIT_CONFIG


class Busy(click.ClickException):
    """Another run holds the store: exit code 4."""

    exit_code = EXIT_BUSY


_BY_CODE: dict[int, type[click.ClickException]] = {
    EXIT_FATAL: Fatal,
    EXIT_CONFIG: Refused,
    EXIT_BUSY: Busy,
}


def failed(message: str, error: FeedsError) -> click.ClickException:
    """`message` as the command's last line, ending it with `error`'s exit code."""
    return _BY_CODE[exit_code(error)](message)
