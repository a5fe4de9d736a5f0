"""Whole update runs for tests that compare two ways of storing the same reads: a clock the
test moves, one `update --all` and its publish, and a folder's published bytes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from feeds.config import Config
from feeds.publish.orchestrate import publish_pending
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.update.run import UpdateReport, update_sources


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
