"""`GroupWriter`: many concurrent updates' write-backs in one transaction (group commit).

A transaction per source costs a commit per source; on SQLite each commit rewrites the
index pages it touched, so a run of thousands of sources spends more time committing than
writing. Updates running side by side queue their write-backs here instead, and a group is
written together when it is full or when no update holding a fetch slot is still fetching
or parsing: nothing ever waits for work that is not going on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from feeds.store.articles import ArticleStore, SourceWrite, UpsertResult

log = logging.getLogger(__name__)

GROUP_SIZE = 16  # write-backs per transaction, at most (the updater: half its fetch slots)


class GroupWriter:
    """Queues write-backs and writes them in groups; see the module docstring.

    `holding` counts the updates that hold a fetch slot (the updater keeps it); a queued
    write-back holds its slot until written, so once every holder is waiting here the
    group is written at once.
    """

    def __init__(self, store: ArticleStore, size: int = GROUP_SIZE) -> None:
        self.store = store
        self.size = size
        self.holding = 0
        self.queue: list[tuple[SourceWrite, asyncio.Future[UpsertResult | None]]] = []

    async def write(self, write: SourceWrite) -> UpsertResult | None:
        """Write `write` back with others; None when its lease no longer held."""
        future: asyncio.Future[UpsertResult | None] = asyncio.get_running_loop().create_future()
        self.queue.append((write, future))
        self.flush_if_ready()
        return await future

    async def write_all(
        self, writes: Sequence[SourceWrite]
    ) -> list[UpsertResult | BaseException | None]:
        """Write `writes` back now, a full group to a transaction (the end of a run, when
        no update is in flight): each one's result, or the exception its write raised."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[UpsertResult | None]] = []
        for write in writes:
            futures.append(loop.create_future())
            self.queue.append((write, futures[-1]))
            if len(self.queue) >= self.size:
                self.flush()
        self.flush()
        return await asyncio.gather(*futures, return_exceptions=True)

    def flush_if_ready(self) -> None:
        """Write the group now if it is full or every update holding a slot waits for it."""
        if self.queue and len(self.queue) >= min(self.size, self.holding):
            self.flush()

    def flush(self) -> None:
        """Write every queued write-back now, in one transaction.

        When the group's transaction fails, each write-back is tried alone, so a bad one
        fails only its own update.
        """
        group, self.queue = self.queue, []
        if not group:
            return
        try:
            results = self.store.write([write for write, _ in group])
        except Exception as exc:  # a database error: which write caused it is unknown
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            log.warning("a group of %d writes failed (%s); writing each alone", len(group), exc)
            for write, future in group:
                try:
                    (result,) = self.store.write([write])
                except Exception as alone:  # this one's own failure, reported to its update
                    _settle(future, alone)
                else:
                    _settle(future, result)
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result)


def _settle(
    future: asyncio.Future[UpsertResult | None], outcome: UpsertResult | Exception | None
) -> None:
    if future.done():  # its update was cancelled while waiting: the write still stands
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
