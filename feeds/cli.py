"""Command line: turns commands into calls of the stages, and results into text and exit codes.

Exit codes: 0 completed (even if some sources failed), 1 fatal error, 2 config error,
3 some sources failed (`update --strict` only), 4 another run holds the store.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from feeds import __version__, early_signals
from feeds.config import (
    CONFIG_ENV,
    Config,
    ConfigError,
    find_config_path,
    load_config,
    parse_duration,
)
from feeds.lifecycle import serve_start_line, stop_line
from feeds.logs import configure_logging
from feeds.model import FetchOutcome, SourceResult
from feeds.normalise.warnings import bounded
from feeds.publish import PublishResult
from feeds.publish.files import sweep_temp_files
from feeds.publish.orchestrate import (
    cache_seconds,
    config_category_names,
    publish_and_announce,
    publish_everything,
    publish_pending,
    site_for,
)
from feeds.slugs import assign_slugs, category_key
from feeds.sources.remote import make_client
from feeds.status import (
    SourceStatus,
    age_text,
    narrow_lines,
    next_due_text,
    outcome_text,
    source_statuses,
    terminal_safe,
)
from feeds.store import ArticleStore, StoreBusyError, StoreError, run_lock
from feeds.update.run import Updater, UpdateReport
from feeds.workers import ParserPool

EXIT_OK, EXIT_FATAL, EXIT_CONFIG, EXIT_FAILED_SOURCES, EXIT_BUSY = 0, 1, 2, 3, 4
HELD_SHOWN = 20  # names of held sources in the summary; the rest are counted

log = logging.getLogger("feeds")
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end on uvloop where it is installed (Linux, macOS): its loop
    costs much less per socket operation than asyncio's (a warm update of 2,000 sources
    ~10% faster, bench/run.py); elsewhere on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


stderr = Console(stderr=True, highlight=False, soft_wrap=True)
# On a pipe, do not fold tables into 80 columns: scripts and logs read them whole.
stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Fatal(click.ClickException):
    """A failure that ends the command with exit code 1 and a one-line reason."""

    exit_code = EXIT_FATAL


class Busy(click.ClickException):
    """Another run holds the store: exit code 4."""

    exit_code = EXIT_BUSY


def _load(config_path: str | None) -> Config:
    path = find_config_path(config_path)
    if not path.exists():
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
def _open_store(config: Config) -> Iterator[ArticleStore]:
    context = click.get_current_context(silent=True)
    if context is not None:  # for _Commands.invoke to name the store in an error
        context.meta[_Commands.STORE_URL] = config.storage.url
    store = ArticleStore.open(config.storage.url)  # a StoreError: see _Commands.invoke
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _exclusive(store: ArticleStore, wait: float) -> Iterator[None]:
    try:
        with run_lock(store.engine, wait):
            if store.engine.dialect.name == "sqlite":
                # No other process can be running: leases left are a killed run's.
                taken = store.take_over_leases()
                if taken:
                    log.info("took over %d lease(s) a stopped run left behind", taken)
            yield
    except StoreBusyError as exc:
        raise Busy(f"{exc}; nothing done (use --wait SECONDS to wait for it)") from None


@contextmanager
def _daemon_lock(store: ArticleStore) -> Iterator[None]:
    # SQLite: one daemon per store. PostgreSQL: any number, sharing the work by leases.
    if store.engine.dialect.name == "sqlite":
        with _exclusive(store, 0.0):
            yield
    else:
        yield


class _Commands(click.Group):
    """The command group; rarely used commands are imported only when called."""

    LAZY: ClassVar[dict[str, str]] = {"sources": "feeds.cli_sources", "opml": "feeds.cli_sources"}
    STORE_URL: ClassVar[str] = "feeds.store_url"  # context meta: the store a command opened

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            command: click.Command = getattr(importlib.import_module(self.LAZY[name]), name)
            return command
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure of the store or the disk under it becomes one
        `Error:` line saying what to do, exit 1 (the traceback only with -v)."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            from feeds.failures import explain_failure  # only when something failed

            message = explain_failure(exc, ctx.meta.get(self.STORE_URL))
            if message is None:
                raise  # not a failure we know: a bug, shown whole
            log.info("the command failed with:", exc_info=exc)
            raise Fatal(message) from None


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="feeds")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: $FEEDS_CONFIG, else config/feeds.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for people, or JSON lines for log shippers.",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, log_format: str) -> None:
    """feeds: pull sources, store articles, publish per-category Atom, RSS and JSON Feed."""
    # What start-up loaded lives as long as the process: out of the collector's reach, a
    # full collection no longer walks every module's objects (5-10% of a warm update).
    gc.freeze()
    if ctx.invoked_subcommand != "run":
        early_signals.release()  # held only for the daemon (see feeds/__main__.py)
    configure_logging(
        max(logging.WARNING - 10 * verbose, logging.DEBUG),
        log_format,
        operations=ctx.invoked_subcommand in ("run", "serve"),
    )
    ctx.obj = config_path


@main.command()
@click.pass_obj
def check(config_path: str | None) -> None:
    """Validate the config, list its sources and every category with its URL."""
    config = _load(config_path)
    stdout.print(f"{config.path}: OK, {len(config.sources)} source(s)")
    for source in config.sources:
        where = source.url or str(source.path)
        category = source.category or "(from the files)"
        stdout.print(f"  {source.name} [{source.kind.value}] -> {category}: {where}", markup=False)
    stored, note = _stored_category_slugs(config)
    named = config_category_names(config)
    slugs = assign_slugs(stored, named)
    in_config = {category_key(name) for name in named}
    others = sorted((n for n in stored if category_key(n) not in in_config), key=str.casefold)
    stored_keys = {category_key(name) for name in stored}
    stdout.print(f"categories ({len(named) + len(others)}){f', {note}' if note else ''}:")
    site = site_for(config, slugs)
    for name in (*named, *others):
        url = site.layout.feed_url(site.category_slug(name), "html")
        new = "" if category_key(name) in stored_keys else "  (new: kept from its first update)"
        stdout.print(f"  {name}: {url}{new}", markup=False)


def _stored_category_slugs(config: Config) -> tuple[dict[str, str], str | None]:
    """The category slugs the store keeps, and a note when it has none to give: no store
    yet (never created here), or one that cannot be read."""
    url = config.storage.url
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[1]).exists():
        return {}, "no store yet"
    try:
        store = ArticleStore.open(url)
    except StoreError as exc:
        return {}, f"store not read ({exc})"
    try:
        return store.category_slugs(), None
    finally:
        store.close()


@main.command()
@click.option("--all", "force", is_flag=True, help="Fetch every source now, due or not.")
@click.option("--strict", is_flag=True, help="Exit 3 if any source failed.")
@click.option(
    "--wait",
    default=0.0,
    metavar="SECONDS",
    help="Wait this long for another run to release the store (default: exit 4 at once).",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="For cron: print nothing when all went well; failed sources are still listed.",
)
@click.pass_obj
def update(config_path: str | None, force: bool, strict: bool, wait: float, quiet: bool) -> None:
    """Fetch due sources (all on the first run), store them and publish the feeds."""
    config = _load(config_path)
    with _open_store(config) as store, _exclusive(store, wait):
        sweep_temp_files(config.output.dir)  # what a killed run's writer left behind
        report = run_async(_update(config, store, force, show_progress=not quiet))
        published = _publish(lambda: _publish_and_announce(config, store))
    if quiet:
        _print_failures(report, published)
    else:
        _print_summary(config, report, published)
    if strict and report.failed:
        sys.exit(EXIT_FAILED_SOURCES)


async def _update(
    config: Config, store: ArticleStore, force: bool, *, show_progress: bool = True
) -> UpdateReport:
    pool = ParserPool(deadline=config.fetch.parse_deadline)
    try:
        async with make_client(config.fetch) as client:
            updater = Updater(config, store, client, utc_now, pool)
            try:
                if not (show_progress and stdout.is_terminal):
                    return await updater.update_due(force=force)
                with _UpdateProgress() as progress:
                    return await updater.update_due(
                        force=force, on_start=progress.start, on_result=progress.advance
                    )
            finally:
                store.release_all(updater.owner)  # what an error left claimed
    finally:
        pool.close()


class _UpdateProgress:
    """A progress bar with new/unchanged/failed counts, for terminals only."""

    def __init__(self) -> None:
        self.counts = {"new": 0, "unchanged": 0, "failed": 0}
        self.progress = Progress(
            TextColumn("updating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=stdout,
            transient=True,
        )
        self.task = self.progress.add_task("update", total=None, counts=self._text())

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def _text(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.counts.items())

    def advance(self, result: SourceResult) -> None:
        if result.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE):
            self.counts["failed"] += 1
        elif result.new or result.updated:
            self.counts["new"] += 1
        else:
            self.counts["unchanged"] += 1
        self.progress.update(self.task, advance=1, counts=self._text())

    def __enter__(self) -> _UpdateProgress:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()


def _publish_and_announce(config: Config, store: ArticleStore) -> PublishResult:
    published = run_async(publish_and_announce(config, lambda: publish_pending(config, store)))
    assert published is not None  # publish_pending always publishes
    return published[1]


def _publish(publish: Callable[[], PublishResult]) -> PublishResult:
    try:
        return publish()
    except OSError as exc:
        raise Fatal(f"cannot write output: {exc}") from None


@main.command()
@click.option("--wait", default=0.0, metavar="SECONDS", help="Wait this long for the store.")
@click.pass_obj
def publish(config_path: str | None, wait: float) -> None:
    """Rewrite every output file from the store (after editing templates, say)."""
    config = _load(config_path)
    with _open_store(config) as store, _exclusive(store, wait):
        sweep_temp_files(config.output.dir)  # what a killed run's writer left behind
        result = _publish(lambda: publish_everything(config, store))
    stdout.print(f"{len(result.written)} file(s) written, {result.unchanged} unchanged.")
    for problem in bounded(result.problems):
        stdout.print(f"  not published: {problem}", markup=False)


def _print_summary(config: Config, report: UpdateReport, published: PublishResult) -> None:
    new = sum(r.new for r in report.results)
    changed = sum(r.updated for r in report.results)
    stdout.print(
        f"{len(report.results)} source(s) updated: {new} new, {changed} changed, "
        f"{len(report.failed)} failed; {len(published.written)} file(s) written, "
        f"{published.unchanged} unchanged."
    )
    _print_failures(report, published, warnings=True)
    stdout.print(f"Feeds are in {config.output.dir} (index: {config.output.dir / 'index.html'})")


def _print_failures(
    report: UpdateReport, published: PublishResult, *, warnings: bool = False
) -> None:
    """One line per failed source (and, with `warnings`, per source read with warnings),
    per entry or file not published, and the sources another process holds."""
    for result in report.results:
        if result.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE):
            stdout.print(f"  failed  {result.source}: {result.errors[0]}", markup=False)
        elif warnings and result.errors:
            stdout.print(f"  warning {result.source}: {'; '.join(result.errors)}", markup=False)
    for problem in bounded(published.problems):
        stdout.print(f"  not published: {problem}", markup=False)
    if report.held_elsewhere:
        held = report.held_elsewhere
        names = ", ".join(held[:HELD_SHOWN]) + (", ..." if len(held) > HELD_SHOWN else "")
        stdout.print(
            f"  skipped {len(held)} source(s) another running process holds: {names}",
            markup=False,
        )


def _server_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--max-connections`, `--timeout` and `--access-log`, for `serve` and `run --serve`."""
    options = (
        click.option(
            "--max-connections",
            type=click.IntRange(min=1),
            default=1000,
            show_default=True,
            help="Open connections served at once; more get a 503 and are closed.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="Seconds a client gets to send a whole request head.",
        ),
        click.option(
            "--access-log",
            metavar="FILE",
            default=None,
            help="Log each request in the combined format to FILE ('-': standard output).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.option(
    "--tick", default=5.0, show_default=True, help="Seconds between looks for due sources."
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve /metrics (Prometheus) and /healthz on this port.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--serve", "serve_output", is_flag=True, help="Also serve the output over HTTP.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option("--port", default=8080, show_default=True, help="With --serve.")
@_server_options
@click.option(
    "--health-max-age",
    default="1h",
    show_default=True,
    help="/healthz fails when a daemon loop (claim, publish) has not run for this long.",
)
@click.pass_obj
def run(
    config_path: str | None,
    tick: float,
    metrics_port: int | None,
    metrics_host: str,
    serve_output: bool,
    host: str,
    port: int,
    health_max_age: str,
    max_connections: int,
    timeout: float,
    access_log: str | None,
) -> None:
    """Run as a daemon: update sources as they come due, republish what changed."""
    # First of all: from here a SIGHUP asks for a reload and a SIGTERM or SIGINT for a clean
    # stop, which the daemon honours once its own handlers are in place; the signals that
    # arrived since the process started were held until now (feeds/early_signals.py).
    startup = early_signals.StartupSignals()
    startup.install()
    early_signals.release()
    from feeds.daemon import Daemon, DaemonSettings  # APScheduler is needed only here
    from feeds.metrics import Metrics, MetricsServer

    config = _load(config_path)
    try:
        max_age = parse_duration(health_max_age)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--health-max-age") from None
    slowest = max(tick, DaemonSettings().publish_every)
    if max_age.total_seconds() < 2 * slowest:
        raise click.BadParameter(
            f"{health_max_age} is shorter than two ticks of the slowest loop ({slowest:g}s):"
            " /healthz would fail between ticks",
            param_hint="--health-max-age",
        )
    metrics = Metrics(utc_now)
    server = None
    if metrics_port is not None:
        server = MetricsServer(metrics, metrics_host, metrics_port, max_age)
        log.info("metrics on http://%s:%d/metrics", metrics_host, server.port)
    serve_options = None
    if serve_output:
        from feeds.http_server import ServerOptions  # uvicorn only when asked

        serve_options = ServerOptions(host, port, max_connections, timeout, access_log=access_log)
    with _open_store(config) as store, _daemon_lock(store):
        settings = DaemonSettings(
            tick=tick,
            serve=serve_options,
            health_max_age=max_age,
            metrics_address=(metrics_host, server.port) if server is not None else None,
        )
        daemon = Daemon(config, store, utc_now, settings, metrics, startup)

        async def run_then_hold() -> None:
            await daemon.run()
            # Stopped, only exiting now: as the event loop closes it gives the signals their
            # fatal default actions back, so keep them from here on.
            early_signals.hold()

        try:
            run_async(run_then_hold())
        finally:
            if server is not None:
                server.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@_server_options
@click.pass_obj
def serve(
    config_path: str | None,
    host: str,
    port: int,
    max_connections: int,
    timeout: float,
    access_log: str | None,
) -> None:
    """Serve the output folder to feed readers: ETags, 304s, compressed variants, /healthz."""
    from feeds.http_server import ServerOptions
    from feeds.serve import serve as serve_output  # the ASGI stack only when asked

    config = _load(config_path)
    log.info("%s", serve_start_line(config, (host, port)))
    options = ServerOptions(host, port, max_connections, timeout, access_log=access_log)
    try:
        serve_output(config.output.dir, options, cache_seconds=cache_seconds(config))
    except OSError as exc:
        raise Fatal(f"cannot serve on {host}:{port}: {exc}") from None
    log.info("%s", stop_line("serve"))


@main.command("migrate-store")
@click.option("--to", "target_url", required=True, metavar="URL", help="The new, empty store.")
@click.pass_obj
def migrate_store(config_path: str | None, target_url: str) -> None:
    """Copy the configured store into another (SQLite to PostgreSQL), then point
    [storage] url at it. The target must be empty; nothing may run meanwhile."""
    from feeds.store.copy import CopyError, copy_store

    config = _load(config_path)
    with _open_store(config) as source, _exclusive(source, 0.0):
        try:
            target = ArticleStore.open(target_url)
        except StoreError as exc:
            raise Fatal(str(exc)) from None
        try:
            counts = copy_store(source, target)
        except CopyError as exc:
            raise Fatal(str(exc)) from None
        finally:
            target.close()
    for table, count in counts.items():
        stdout.print(f"  {table}: {count} row(s)")
    stdout.print(f"Copied. Now set [storage] url = {target_url!r} in {config.path}.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def status(config_path: str | None, as_json: bool) -> None:
    """Show every source's last fetch, outcome, items and errors; trouble first."""
    config = _load(config_path)
    with _open_store(config) as store:
        rows = source_statuses(config, store.fetch_states(), store.article_counts())
    if as_json:
        stdout.print_json(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return
    _print_status(rows, utc_now())


# Below this many columns (and on a pipe) the status is plain lines, not a table.
WIDE_STATUS = 120


def _print_status(rows: list[SourceStatus], now: datetime) -> None:
    if not stdout.is_terminal or stdout.width < WIDE_STATUS:
        width = stdout.width if stdout.is_terminal else 80
        for line in narrow_lines(rows, now, width):
            stdout.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)
        return
    table = Table(title=f"{len(rows)} source(s)", title_justify="left")
    for column in ("source", "category", "last fetch", "outcome", "items", "errors", "next due"):
        table.add_column(column, overflow="fold")
    for row in rows:
        errors = str(row.error_count) + (f": {row.last_error}" if row.last_error else "")
        if row.warnings and not row.error_count:
            errors += f" (warnings: {row.warnings})"
        style = "red" if row.trouble <= 1 else None
        cells = (
            row.name,
            row.category or "(files)",
            age_text(row.last_fetch, now),
            outcome_text(row),
            str(row.items),
            errors,
            next_due_text(row, now),
        )
        # Text, not markup: a "[/]" in a server's error text is shown, not parsed.
        table.add_row(*(Text(terminal_safe(cell)) for cell in cells), style=style)
    stdout.print(table)
