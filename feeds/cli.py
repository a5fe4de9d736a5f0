"""Command line: turns commands into calls of the stages, and results into text and exit codes.

Exit codes: 0 the run completed (even if some sources failed), 1 a fatal error (store or
output unusable), 2 a config error.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from rich.console import Console

from feeds import __version__
from feeds.config import Config, ConfigError, find_config_path, load_config
from feeds.model import FetchOutcome
from feeds.pipeline import UpdateReport, publish_everything, update_sources
from feeds.publish import PublishResult
from feeds.sources.remote import make_client
from feeds.store import ArticleStore, StoreError
from feeds.workers import ParserPool

EXIT_OK, EXIT_FATAL, EXIT_CONFIG = 0, 1, 2

log = logging.getLogger("feeds")
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Fatal(click.ClickException):
    """A failure that ends the command with exit code 1 and a one-line reason."""

    exit_code = EXIT_FATAL


def _load(config_path: str | None) -> Config:
    path = find_config_path(config_path)
    try:
        return load_config(path)
    except ConfigError as exc:
        stderr.print(f"[bold red]config error[/] in {path}:", markup=True)
        for problem in exc.problems:
            stderr.print(f"  {problem}", markup=False)
        sys.exit(EXIT_CONFIG)


@contextmanager
def _open_store(config: Config) -> Iterator[ArticleStore]:
    try:
        store = ArticleStore.open(config.storage.url)
    except StoreError as exc:
        raise Fatal(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


@click.group()
@click.version_option(__version__, prog_name="feeds")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: $FEEDS_CONFIG, else config/feeds.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """feeds: pull sources, store articles, publish per-category Atom, RSS and JSON Feed."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = config_path


@main.command()
@click.pass_obj
def check(config_path: str | None) -> None:
    """Validate the config and list its sources."""
    config = _load(config_path)
    stdout.print(f"{config.path}: OK, {len(config.sources)} source(s)")
    for source in config.sources:
        where = source.url or str(source.path)
        category = source.category or "(from the files)"
        stdout.print(f"  {source.name} [{source.kind.value}] -> {category}: {where}", markup=False)


@main.command()
@click.option("--all", "force", is_flag=True, help="Fetch every source, due or not.")
@click.pass_obj
def update(config_path: str | None, force: bool) -> None:
    """Fetch due sources (all on the first run), store them and publish the feeds."""
    config = _load(config_path)
    with _open_store(config) as store:
        report = asyncio.run(_update(config, store, force))
        published = _publish(config, store)
    _print_summary(config, report, published)


async def _update(config: Config, store: ArticleStore, force: bool) -> UpdateReport:
    pool = ParserPool(deadline=config.fetch.parse_deadline)
    try:
        async with make_client(config.fetch) as client:
            return await update_sources(config, store, client, utc_now, pool=pool, force=force)
    finally:
        pool.close()


def _publish(config: Config, store: ArticleStore) -> PublishResult:
    try:
        return publish_everything(config, store)
    except OSError as exc:
        raise Fatal(f"cannot write output in {config.output.dir}: {exc}") from None


def _print_summary(config: Config, report: UpdateReport, published: PublishResult) -> None:
    new = sum(r.new for r in report.results)
    changed = sum(r.updated for r in report.results)
    stdout.print(
        f"{len(report.results)} source(s) updated: {new} new, {changed} changed, "
        f"{len(report.failed)} failed; {len(published.written)} file(s) written, "
        f"{published.unchanged} unchanged."
    )
    for result in report.results:
        if result.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE):
            stdout.print(f"  failed  {result.source}: {result.errors[0]}", markup=False)
        elif result.errors:
            stdout.print(f"  warning {result.source}: {'; '.join(result.errors)}", markup=False)
    stdout.print(f"Feeds are in {config.output.dir} (index: {config.output.dir / 'index.html'})")


@main.command()
@click.option(
    "--tick", default=15.0, show_default=True, help="Seconds between checks for due sources."
)
@click.pass_obj
def run(config_path: str | None, tick: float) -> None:
    """Run as a daemon: update due sources as they come due and republish on changes."""
    from feeds.scheduler import run_daemon  # APScheduler is needed only here

    config = _load(config_path)
    with _open_store(config) as store:
        run_daemon(config, store, tick_seconds=tick, clock=utc_now)
