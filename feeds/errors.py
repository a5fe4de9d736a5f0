"""The base of the errors feeds reports to whoever runs it: the CLI gives each subclass its
exit code in one place (feeds/cli/errors.py) instead of every command choosing its own."""

from __future__ import annotations

__all__ = ["CheckError", "EditError", "FeedsError", "OpmlError"]


class FeedsError(Exception):
    """Something feeds cannot do as asked; the message says what and where."""


# Defined here, not beside the code that raises them, so the CLI's table of exit codes
# (feeds/cli/errors.py) does not import discovery's parsers or the config editor at start-up.


class CheckError(FeedsError):
    """A URL is no usable feed. `network` tells a failed fetch (worth retrying later)
    from a body that is no feed (a wrong URL)."""

    def __init__(self, message: str, *, network: bool) -> None:
        super().__init__(message)
        self.network = network


class EditError(FeedsError):
    """The config cannot be changed as asked; the message says why."""


class OpmlError(FeedsError):
    """The file is not an OPML document we read; the message says why."""
