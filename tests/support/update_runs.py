"""Whole update runs for tests that compare two ways of storing the same reads: a clock the
test moves, one `update --all` and its publish, and a folder's published bytes; and the
moment and source those tests normalise single reads at."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.config import Config
from feeds.model import Source, SourceKind
from feeds.publish.orchestrate import publish_pending
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.update.run import UpdateReport, update_sources

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="s",
    kind=SourceKind.REMOTE,
    interval=timedelta(hours=1),
    url="https://s.example/feed",
    category="C",
)


class Clock:
    """A clock that says `now` until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def update_and_publish(config: Config, store: ArticleStore, clock: Clock) -> UpdateReport:
    """Update every source of `config` (in this process, over HTTP), then publish."""

    async def go() -> UpdateReport:
        async with make_client(config.fetch) as client:
            return await update_sources(config, store, client, clock, force=True)

    report = asyncio.run(go())
    publish_pending(config, store, clock=clock)
    return report


def files_of(directory: Path) -> dict[str, bytes]:
    """Every published file under `directory` (not our hidden ones), by relative path."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
