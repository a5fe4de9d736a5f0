"""What every command needs: the config, the store and its locks, the consoles and the
event loop. Exit codes: see feeds/cli/errors.py, which maps each kind of error to its code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from feeds.cli.errors import EXIT_CONFIG, failed
from feeds.config import CONFIG_ENV, Config, ConfigError, find_config_path, load_config
from feeds.store import ArticleStore, StoreBusyError, run_lock

if TYPE_CHECKING:
    from rich.console import Console

STORE_URL = "feeds.store_url"  # context meta: the store a command opened

log = logging.getLogger("feeds")
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on uvloop where it is installed (Linux, macOS): its loop
    costs much less per socket operation than asyncio's (a warm update of 2,000 sources
    ~10% faster, bench/run.py); elsewhere on asyncio's own loop."""
    # The result does not stay on the main task: asyncio's runner, putting the SIGINT
    # handler back at the end, spells out (twice) the handler it had set, which names the
    # task and so the task's result: an update's report of 1,000 sources cost ~7 ms.
    result: list[T] = []

    async def main() -> None:
        result.append(await coroutine)

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    return result[0]


class Output:
    """A command's output stream: plain lines to a pipe or file are written as they are;
    anything else (a terminal, tables, JSON, markup) goes through a rich console, made at
    its first use (loading rich costs about 20 ms of every run that prints)."""

    def __init__(self, *, to_stderr: bool = False) -> None:
        self._to_stderr = to_stderr
        self._console: Console | None = None

    def _stream(self) -> TextIO:
        return sys.stderr if self._to_stderr else sys.stdout  # as the moment has it

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # On a pipe, do not fold tables into 80 columns: scripts and logs read them whole.
            width = None if self._to_stderr or sys.stdout.isatty() else 240
            self._console = Console(
                stderr=self._to_stderr, highlight=False, soft_wrap=True, width=width
            )
        return self._console

    @property
    def is_terminal(self) -> bool:
        """Whether rich takes the stream for a terminal (asked only where it might: a
        terminal, or a variable that says the stream is one)."""
        if not self._stream().isatty() and not _TERMINAL_SAID.intersection(os.environ):
            return False
        return self.console.is_terminal

    @property
    def width(self) -> int:
        return self.console.width

    def print(self, *objects: Any, markup: bool = True, **options: Any) -> None:
        """One line: `objects` as rich prints them, or a plain text as it is."""
        if len(objects) == 1 and not options and isinstance(objects[0], str):
            text = objects[0]
            if not self.is_terminal and not (markup and "[" in text):
                self._stream().write(text + "\n")
                return
        self.console.print(*objects, markup=markup, **options)

    def print_json(self, json: str) -> None:
        self.console.print_json(json)


_TERMINAL_SAID = frozenset({"FORCE_COLOR", "TTY_COMPATIBLE"})  # rich's: a terminal, told
stderr = Output(to_stderr=True)
stdout = Output()


def utc_now() -> datetime:
    return datetime.now(UTC)


def load(config_path: str | None) -> Config:
    path = find_config_path(config_path)
    if not path.exists() and not path.is_symlink():  # a broken link: load_config says why
        stderr.print(_missing_config(path, config_path), markup=False)
        sys.exit(EXIT_CONFIG)
    try:
        return load_config(path)
    except ConfigError as exc:
        stderr.print(f"[bold red]config error[/] in {path}:", markup=True)
        for problem in exc.problems:
            stderr.print(f"  {problem}", markup=False)
        sys.exit(EXIT_CONFIG)


def _missing_config(path: Path, explicit: str | None) -> str:
    """What to say when there is no config where we looked: from where it came, and the
    two ways to name another (a cron job started in the wrong folder, most often)."""
    if explicit:
        where = f"--config {explicit}"
    elif os.environ.get(CONFIG_ENV):
        where = f"${CONFIG_ENV}={os.environ[CONFIG_ENV]}"
    else:
        where = f"the default {path}, relative to the current folder {Path.cwd()}"
    return (
        f"config error: no config file at {path.absolute()} (from {where}). "
        f"Run from the folder that holds config/feeds.toml, or name the file with "
        f"--config PATH or ${CONFIG_ENV}."
    )


@contextmanager
def open_store(config: Config) -> Iterator[ArticleStore]:
    context = click.get_current_context(silent=True)
    if context is not None:  # for the command group to name the store in an error
        context.meta[STORE_URL] = config.storage.url
    store = ArticleStore.open(config.storage.url)  # a StoreError: see _Commands.invoke
    try:
        yield store
    finally:
        store.close()


@contextmanager
def exclusive(store: ArticleStore, wait: float) -> Iterator[None]:
    try:
        with run_lock(store.engine, wait):
            if store.engine.dialect.name == "sqlite":
                # No other process can be running: leases left are a killed run's.
                taken = store.take_over_leases()
                if taken:
                    log.info("took over %d lease(s) a stopped run left behind", taken)
            yield
    except StoreBusyError as exc:
        raise failed(f"{exc}; nothing done (use --wait SECONDS to wait for it)", exc) from None


@contextmanager
def daemon_lock(store: ArticleStore) -> Iterator[None]:
    # SQLite: one daemon per store. PostgreSQL: any number, sharing the work by leases.
    if store.engine.dialect.name == "sqlite":
        with exclusive(store, 0.0):
            yield
    else:
        yield
