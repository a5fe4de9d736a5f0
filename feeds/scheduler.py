"""The daemon: APScheduler ticks that update due sources and republish after changes.

Each source's due time lives in the store (not in APScheduler's job store), so one-shot
runs, restarts and the daemon agree on what is due.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from feeds.config import Config
from feeds.pipeline import Clock, publish_everything, update_sources
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.workers import ParserPool

log = logging.getLogger(__name__)


def run_tick(
    config: Config, store: ArticleStore, clock: Clock, pool: ParserPool, *, first: bool
) -> None:
    """Update what is due; publish when anything changed (and always on the first tick)."""

    async def update() -> bool:
        async with make_client(config.fetch) as client:
            report = await update_sources(config, store, client, clock, pool=pool)
        return bool(report.changed_categories)

    changed = asyncio.run(update())
    if changed or first:
        result = publish_everything(config, store)
        log.info("published: %d file(s) written", len(result.written))


def run_daemon(config: Config, store: ArticleStore, *, tick_seconds: float, clock: Clock) -> None:
    """Run until SIGTERM or SIGINT; a tick in progress finishes before the process exits."""
    scheduler = BlockingScheduler(timezone="UTC")
    state = {"first": True}
    pool = ParserPool(deadline=config.fetch.parse_deadline)

    def tick() -> None:
        try:
            run_tick(config, store, clock, pool, first=state["first"])
            state["first"] = False
        except Exception:  # a bad tick must not end the daemon; the next one retries
            log.exception("tick failed")

    # coalesce + one instance: a slow tick or a suspend never piles up runs.
    scheduler.add_job(
        tick,
        "interval",
        seconds=tick_seconds,
        next_run_time=clock(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        if scheduler.running:  # a second signal during shutdown has nothing left to stop
            log.info("signal %d: stopping after the current tick", signum)
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        scheduler.start()
    finally:
        pool.close()
