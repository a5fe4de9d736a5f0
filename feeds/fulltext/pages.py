"""The edge half of full text: which entries need their page, fetching those pages politely,
and handing each to the worker pool for extraction (`feeds.fulltext.extract`).

An entry's page is fetched once: the store keeps the extracted text with the entry, and the
digest of the entry as its feed gave it (`FullText.entry_hash`). While the feed gives the
same entry, the stored text (or the stored failure) is reused; when the entry changes, its
page is fetched again with the validators of the page we have. Failures keep the feed's
content (the teaser) and say why; they are tried again when the entry changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from feeds.config import FetchConfig
from feeds.enrich import EdgeEnriched, EnrichJob
from feeds.fulltext.robots import RobotsRules
from feeds.model import Article, FullText, Source
from feeds.sources.remote import FetchClient, fetch_url
from feeds.store import ArticleStore
from feeds.workers import ParserPool

PAGES_PER_RUN = 25  # page fetches per source per run; the rest wait for the next run
PAGE_MAX_BYTES = 5_000_000  # of an article page, decoded (and never more than max_body)
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class FullTextPages:
    """The `EdgeEnricher` of sources with `full_text`: see the module docstring.

    `hosts` are the run's per-host fetch slots (shared with the feed fetches); a source's
    page fetches and extractions together take at most `budget` seconds (half the lease,
    so its write-back still holds), and pages not done by then wait for the next run.
    """

    name = "full-text"

    def __init__(
        self,
        client: FetchClient,
        config: FetchConfig,
        store: ArticleStore,
        pool: ParserPool,
        hosts: Mapping[str, asyncio.Semaphore],
        robots: RobotsRules,
        *,
        per_run: int = PAGES_PER_RUN,
        budget: float | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.store = store
        self.pool = pool
        self.hosts = hosts
        self.robots = robots
        self.per_run = per_run
        self.budget = config.lease.total_seconds() / 2 if budget is None else budget
        self.max_bytes = min(PAGE_MAX_BYTES, config.max_bytes)

    def applies(self, source: Source) -> bool:
        """Sources with `full_text = true` (or a `content_selector`)."""
        return source.full_text

    async def enrich(self, source: Source, articles: Sequence[Article]) -> EdgeEnriched:
        """`articles` with their pages' text where it is known or fetched now."""
        stored = self.store.stored_entries(source.name, [a.entry_id for a in articles])
        result = list(articles)
        todo: dict[int, Article | None] = {}
        waiting = False
        for index, article in enumerate(articles):
            if article.entry_id in stored and stored[article.entry_id] is None:
                continue  # retired: it is not stored again, so not worth a fetch
            known = stored.get(article.entry_id)
            reused = _reused(article, known)
            if reused is not None:
                result[index] = reused
            elif article.link is None:
                failed = FullText(article.content_hash, "the entry has no link")
                result[index] = replace(article, full_text=failed)
            elif len(todo) < self.per_run:
                todo[index] = known
            else:
                waiting = True
        # A source's pages are fetched and extracted `per_host` at a time, even when they
        # lie on many hosts: at most that many page bodies of a source are held at once.
        slots = asyncio.Semaphore(self.config.per_host)

        async def one(article: Article, known: Article | None) -> Article:
            async with slots:
                return await self._fetched(source, article, known)

        tasks = {
            asyncio.create_task(one(articles[index], known)): index for index, known in todo.items()
        }
        if tasks:
            try:
                done, unfinished = await asyncio.wait(tasks, timeout=self.budget)
            finally:  # over the budget, or this update cancelled: no fetch outlives it
                for task in tasks:
                    task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            waiting = waiting or bool(unfinished)
            for task in done:
                result[tasks[task]] = task.result()
        return EdgeEnriched(tuple(result), complete=not waiting)

    async def _fetched(self, source: Source, article: Article, known: Article | None) -> Article:
        """`article` with its page's text, or with why not (its content as it was)."""
        entry_hash = article.content_hash
        assert article.link is not None

        def failed(reason: str) -> Article:
            return replace(article, full_text=FullText(entry_hash, reason))

        options = source.request

        async def may_fetch(url: str) -> str | None:
            return await self.robots.refusal(url, options)

        refusal = await may_fetch(article.link)
        if refusal is not None:
            return failed(refusal)
        have = known.full_text if known is not None else None
        headers = {"Accept": ACCEPT}
        if have is not None and have.error is None:  # ask for the page only if it changed
            if have.etag:
                headers["If-None-Match"] = have.etag
            if have.last_modified:
                headers["If-Modified-Since"] = have.last_modified
        async with self.hosts[urlsplit(article.link).hostname or ""]:
            # The source's options as its feed fetch sends them: its headers, cookies and
            # credentials to the feed's own origin only.
            response = await fetch_url(
                self.client,
                article.link,
                headers,
                self.config,
                options=options,
                home=source.url,
                max_bytes=self.max_bytes,
                may_follow=may_fetch,
            )
        if response.error is not None:
            return failed(response.error)
        if response.not_modified:
            if known is None or have is None or have.error is not None:
                return failed("304 Not Modified to a request without validators")
            return replace(
                article, content=known.content, full_text=replace(have, entry_hash=entry_hash)
            )
        assert response.body is not None
        # Here, not at the top: lxml and readability load only in a run that has a page.
        from feeds.fulltext.extract import Page, PageExtractor

        page = Page(
            response.body,
            response.final_url,
            response.headers.get("content-type"),
            response.headers.get("etag"),
            response.headers.get("last-modified"),
        )
        extractor = PageExtractor(page, entry_hash, source.content_selector)
        extracted = await self.pool.enrich(EnrichJob(source, (article,), (extractor,)))
        if extracted.articles is None:
            return failed(extracted.error or "extraction failed")
        (enriched,) = extracted.articles
        return enriched


def _reused(article: Article, known: Article | None) -> Article | None:
    """`article` as stored, when its page was tried for the entry as the feed gives it now."""
    if known is None or known.full_text is None:
        return None
    if known.full_text.entry_hash != article.content_hash:
        return None  # the entry changed: its page may have too
    if known.full_text.error is not None:
        return replace(article, full_text=known.full_text)
    return replace(article, content=known.content, full_text=known.full_text)
