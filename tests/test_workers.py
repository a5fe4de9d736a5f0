"""The parser pool: real worker processes, deadlines and recovery."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from datetime import UTC, datetime, timedelta

from support.feedfactory import rss20, sample_items

from feeds.model import Source, SourceKind
from feeds.workers import BodyJob, Digest, Lanes, ParserPool, digest_body

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="s",
    kind=SourceKind.REMOTE,
    interval=timedelta(minutes=30),
    url="https://example.org/f",
    category="C",
)


def job(body: bytes) -> BodyJob:
    return BodyJob(body, "https://example.org/f", {}, SOURCE, NOW, "http://localhost:8080/")


def test_digest_in_process_and_in_workers_agree() -> None:
    body = rss20(sample_items(3))
    inline = digest_body(job(body))
    assert inline.normalised is not None and len(inline.normalised.articles) == 3

    async def pooled() -> list[Digest]:
        pool = ParserPool(workers=2)
        try:
            return list(await asyncio.gather(*(pool.digest(job(body)) for _ in range(4))))
        finally:
            pool.close()

    assert all(d == inline for d in asyncio.run(pooled()))
    # What crosses the process boundary must pickle: model types included.
    assert pickle.loads(pickle.dumps(inline)) == inline


def test_unparseable_body_is_an_error_not_an_exception() -> None:
    digest = digest_body(job(b"\x00\x01binary junk"))
    assert digest.normalised is None
    assert digest.error is not None and digest.error.startswith("unparseable feed: ")


def test_overrunning_parse_is_killed_and_the_pool_recovers() -> None:
    body = rss20(sample_items(3) * 20)

    async def run() -> tuple[Digest, Digest]:
        pool = ParserPool(workers=1, deadline=0.0001)
        try:
            late = await pool.digest(job(body))
            pool.deadline = 30
            return late, await pool.digest(job(body))
        finally:
            pool.close()

    late, recovered = asyncio.run(run())
    assert late.normalised is None
    assert late.error is not None and "longer than" in late.error
    assert recovered.normalised is not None and len(recovered.normalised.articles) == 3


def test_a_pool_closed_without_waiting_is_gone_after_a_later_close() -> None:
    body = rss20(sample_items(1))

    async def run() -> tuple[ParserPool, list[multiprocessing.Process]]:
        pool = ParserPool(workers=1)
        await pool.digest(job(body))
        workers = multiprocessing.active_children()
        pool.close(wait=False)  # returns while the worker may still be exiting
        return pool, workers

    pool, workers = asyncio.run(run())
    assert workers
    pool.close()
    assert all(worker.exitcode is not None for worker in workers)
    assert not multiprocessing.active_children()


def test_lanes_open_one_more_only_when_the_work_waiting_warrants_it() -> None:
    async def run() -> list[tuple[int, int]]:
        lanes = Lanes(most=3, grow_at=100)
        seen = []
        await lanes.take(60)  # the first job runs at once, in the one open lane
        jobs = [asyncio.ensure_future(lanes.take(60))]
        await asyncio.sleep(0)
        seen.append((lanes.open, lanes.busy))  # 60 bytes wait: not worth a second worker
        jobs.append(asyncio.ensure_future(lanes.take(60)))
        await asyncio.sleep(0)
        seen.append((lanes.open, lanes.busy))  # 120 wait: a second lane for the oldest job
        jobs.append(asyncio.ensure_future(lanes.take(60)))
        await asyncio.sleep(0)
        # 120 wait again: the last lane opens, and then no job waits for another
        seen.append((lanes.open, lanes.busy))
        await asyncio.gather(*jobs)
        await lanes.take(1)
        seen.append((lanes.open, lanes.busy))
        return seen

    assert asyncio.run(run()) == [(1, 1), (2, 2), (3, 4), (3, 5)]


def test_a_job_cancelled_while_waiting_for_a_lane_leaves_no_lane_taken() -> None:
    async def run() -> int:
        lanes = Lanes(most=2, grow_at=100)
        await lanes.take(1)
        waiting = asyncio.ensure_future(lanes.take(1))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        lanes.give_back()
        await lanes.take(1)  # the lane is free again
        return lanes.busy

    assert asyncio.run(run()) == 1
