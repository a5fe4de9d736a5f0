"""Signals that reach `feeds run` or `feeds serve` while it starts: held, then honoured.

Python starts with SIGHUP and SIGTERM at their default action (the process ends, exit 129 or
143) and SIGINT as KeyboardInterrupt, and `feeds run` spends a moment importing its stages
before the daemon's own handlers exist. So the entry point calls `hold_for(argv)` before any
heavy import: for the `run` and `serve` commands it blocks the three signals, and the kernel
keeps what arrives. The `run` command then installs `StartupSignals` (which only record what
came) and calls `release()`; what was held is delivered at once: a SIGHUP becomes a config reload, a
SIGTERM or SIGINT a clean stop once the daemon is up. `serve` releases once its event loop's
handlers are in (feeds/serve.py), so a stop asked for during its start-up is a clean stop too.
Every other command releases at once, so its signals act as before.

This module imports nothing heavy: it runs before the rest of the program is loaded.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType

DAEMON_SIGNALS = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM})
# The commands whose start-up holds the signals.
HOLDING_COMMANDS = frozenset({"run", "serve"})
# The CLI's global options that take a value (see feeds/cli/app.py `main`).
_GLOBAL_OPTIONS_WITH_VALUE = frozenset({"--config", "--log-format"})

_held = False


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on a `feeds` command line (`argv` without the program name)."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return next(args, None)
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def hold_for(argv: Sequence[str]) -> bool:
    """Block SIGHUP, SIGINT and SIGTERM if `argv` runs the daemon or the server; True if it
    did."""
    global _held
    if command_of(argv) not in HOLDING_COMMANDS:
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, DAEMON_SIGNALS)
    _held = True
    return True


def release() -> bool:
    """Unblock what `hold_for` blocked; signals held meanwhile are delivered now. True if
    anything was held."""
    global _held
    if not _held:
        return False
    _held = False
    signal.pthread_sigmask(signal.SIG_UNBLOCK, DAEMON_SIGNALS)
    return True


def hold() -> None:
    """Block the daemon's signals for good: the daemon has stopped and is only exiting, and
    the event loop, as it closes, puts their default (fatal) actions back."""
    signal.pthread_sigmask(signal.SIG_BLOCK, DAEMON_SIGNALS)


class StartupSignals:
    """Handlers for the time before the daemon's own: they record a stop or a reload asked
    for, and the daemon acts on them as it starts (`stop` and `reload` are thread-safe)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.reload = threading.Event()

    def install(self) -> None:
        """Replace the default actions of SIGHUP, SIGINT and SIGTERM (main thread only)."""
        signal.signal(signal.SIGHUP, self._on_reload)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGTERM, self._on_stop)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self.reload.set()
