"""The parser pool: real worker processes, deadlines and recovery."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from support.feedfactory import rss20, sample_items

from feeds.model import Source, SourceKind
from feeds.publish.fragments import article_digest
from feeds.workers import BodyJob, Digest, ParserPool, digest_body

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


def test_a_worker_hashes_its_articles_and_the_hash_travels_with_them() -> None:
    digest = digest_body(job(rss20(sample_items(3))))
    assert digest.normalised is not None and len(digest.normalised.articles) == 3
    for article in digest.normalised.articles:
        carried = pickle.loads(pickle.dumps(article))
        # Taken in the worker and pickled along: the storing process need not hash again.
        assert carried._content_hash is not None
        assert carried._content_hash == article._content_hash
        same = replace(carried, title=carried.title)  # `replace` leaves the hash behind
        assert same._content_hash is None
        # Taken or not, the article is the same value and renders from the same digest.
        assert same == carried
        assert article_digest(same) == article_digest(carried)
        assert same.content_hash == carried.content_hash
        retitled = replace(carried, title=carried.title + " (updated)")
        assert retitled.content_hash != carried.content_hash
