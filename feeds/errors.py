"""The base of the errors feeds reports to whoever runs it: the CLI gives each subclass its
exit code in one place (feeds/cli/errors.py) instead of every command choosing its own."""

from __future__ import annotations

__all__ = ["FeedsError"]


class FeedsError(Exception):
    """Something feeds cannot do as asked; the message says what and where."""
