"""`feeds update` and `feeds publish`: commands to the update run and the publisher, and
their summaries.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Callable

import click

from feeds.cli.errors import EXIT_FAILED_SOURCES, Fatal
from feeds.cli.runtime import (
    exclusive,
    load,
    open_store,
    run_async,
    stdout,
    utc_now,
)
from feeds.config import Config
from feeds.model import FetchOutcome, SourceResult
from feeds.normalise.warnings import bounded
from feeds.publish import PublishResult
from feeds.publish.files import sweep_temp_files
from feeds.publish.orchestrate import publish_and_announce, publish_everything, publish_pending
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.terminal_text import terminal_safe
from feeds.update.run import Updater, UpdateReport
from feeds.workers import ParserPool

log = logging.getLogger(__name__)

HELD_SHOWN = 20  # names of held sources in the summary; the rest are counted
# Allocations of container objects between two passes of the cycle collector over the young
# ones (Python's default: 700). A run makes and drops many small objects a request, nearly
# all freed by reference counting; at 700 the passes over them cost ~6% of a warm update's
# CPU, at 50,000 a fifth of that, for a few MB more at most (parsing runs in other processes).
YOUNG_COLLECTION_EVERY = 50_000


@click.command()
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
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    config = load(config_path)
    pool = ParserPool(deadline=config.fetch.parse_deadline)
    try:
        with open_store(config) as store, exclusive(store, wait):
            sweep_temp_files(config.output.dir)  # what a killed run's writer left behind
            started = time.monotonic()
            report = run_async(_update(config, store, pool, force, show_progress=not quiet))
            fetched = time.monotonic()
            log.info(
                "updated: %d source(s) in %.2fs, %d new entries retired on arrival",
                len(report.results),
                fetched - started,
                sum(r.retired for r in report.results),
            )
            published = _publish(lambda: _publish_and_announce(config, store))
            log.info(
                "published: %d file(s) written, %d unchanged in %.2fs",
                len(published.written),
                published.unchanged,
                time.monotonic() - fetched,
            )
    finally:
        pool.close()  # the workers were told to stop after the update; here they are gone
    if quiet:
        _print_failures(report, published)
    else:
        _print_summary(config, report, published)
    if strict and report.failed:
        sys.exit(EXIT_FAILED_SOURCES)


async def _update(
    config: Config,
    store: ArticleStore,
    pool: ParserPool,
    force: bool,
    *,
    show_progress: bool = True,
) -> UpdateReport:
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
        # The publish needs no parser: it starts while the workers exit.
        pool.close(wait=False)


class _UpdateProgress:
    """A progress bar with new/unchanged/failed counts, for terminals only."""

    def __init__(self) -> None:
        # Only for a terminal: a run from cron or a script never loads it.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.counts = {"new": 0, "unchanged": 0, "failed": 0}
        self.progress = Progress(
            TextColumn("updating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=stdout.console,
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
    published = run_async(
        publish_and_announce(config, lambda: publish_pending(config, store, clock=utc_now))
    )
    assert published is not None  # publish_pending always publishes
    return published[1]


def _publish(publish: Callable[[], PublishResult]) -> PublishResult:
    try:
        return publish()
    except OSError as exc:
        raise Fatal(f"cannot write output: {exc}") from None


@click.command()
@click.option("--wait", default=0.0, metavar="SECONDS", help="Wait this long for the store.")
@click.pass_obj
def publish(config_path: str | None, wait: float) -> None:
    """Rewrite every output file from the store (after editing templates, say)."""
    config = load(config_path)
    with open_store(config) as store, exclusive(store, wait):
        sweep_temp_files(config.output.dir)  # what a killed run's writer left behind
        result = _publish(lambda: publish_everything(config, store, clock=utc_now))
    stdout.print(f"{len(result.written)} file(s) written, {result.unchanged} unchanged.")
    for problem in bounded(str(p) for p in result.problems):
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
        # Names and errors quote servers and files: shown without their control characters.
        name = terminal_safe(result.source)
        if result.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE):
            stdout.print(f"  failed  {name}: {terminal_safe(result.errors[0])}", markup=False)
        elif warnings and result.errors:
            shown = terminal_safe("; ".join(result.errors))
            stdout.print(f"  warning {name}: {shown}", markup=False)
    for problem in bounded(str(p) for p in published.problems):
        stdout.print(f"  not published: {problem}", markup=False)
    if report.held_elsewhere:
        held = report.held_elsewhere
        names = ", ".join(held[:HELD_SHOWN]) + (", ..." if len(held) > HELD_SHOWN else "")
        stdout.print(
            f"  skipped {len(held)} source(s) another running process holds: {names}",
            markup=False,
        )
