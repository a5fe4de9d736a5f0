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
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urlsplit

from feeds.addresses import private_address
from feeds.config import FetchConfig
from feeds.enrich import EdgeEnriched
from feeds.fulltext.robots import RobotsRules
from feeds.model import Article, FullText, Source
from feeds.sources.remote import FetchClient, FetchResponse, fetch_url
from feeds.store import ArticleStore
from feeds.workers import ParserPool

if TYPE_CHECKING:  # loaded in a run that has a page (lxml, readability): see `_read`
    from feeds.fulltext.extract import Page, PageText

log = logging.getLogger(__name__)

PAGES_PER_RUN = 25  # entries whose page is fetched, per source per run; the rest wait
MAX_PAGES = 10  # pages of one article followed (rel="next"), its first page included
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

        refusal = _named_private(source, article.link) or await self.robots.refusal(
            article.link, source.request
        )
        if refusal is not None:
            return failed(refusal)
        have = known.full_text if known is not None else None
        headers = {"Accept": ACCEPT}
        if have is not None and have.error is None:  # ask for the page only if it changed
            if have.etag:
                headers["If-None-Match"] = have.etag
            if have.last_modified:
                headers["If-Modified-Since"] = have.last_modified
        response = await self._fetch(source, article.link, headers)
        if response.error is not None:
            return failed(response.error)
        if response.not_modified:
            if known is None or have is None or have.error is not None:
                return failed("304 Not Modified to a request without validators")
            return replace(
                article, content=known.content, full_text=replace(have, entry_hash=entry_hash)
            )
        first = self._page(response)
        text = await self._read(first, source.content_selector)
        if text.content is None:
            return failed(text.error or "extraction failed")
        content = await self._following(source, response.final_url, text, article.link)
        done = FullText(entry_hash, None, first.etag, first.last_modified)
        return replace(article, content=content, full_text=done)

    async def _following(self, source: Source, url: str, text: PageText, link: str) -> str:
        """The article's text from its first page (`text`, fetched from `url`) and the pages
        it goes on to, each named by the one before (rel="next"): at most `MAX_PAGES` in
        all, on the first page's origin, none twice. A later page that cannot be read ends
        the article where it is; the pages before it are published."""
        assert text.content is not None
        content, following = text.content, text.next_page
        seen = {urldefrag(link).url, urldefrag(url).url}
        origin = _origin(url)
        for _ in range(MAX_PAGES - 1):
            if following is None or following in seen or _origin(following) != origin:
                break
            seen.add(following)
            more = None
            why = await self.robots.refusal(following, source.request)
            if why is None:
                response = await self._fetch(source, following)
                why = _unusable(response, origin)
                if why is None:
                    seen.add(urldefrag(response.final_url).url)
                    page = self._page(response)
                    more = await self._read(page, source.content_selector, content)
                    why = more.error
            if more is None or more.content is None:
                log.info("%s: %s: next page %s not read: %s", source.name, link, following, why)
                break
            content, following = more.content, more.next_page
        return content

    async def _fetch(
        self, source: Source, url: str, headers: dict[str, str] | None = None
    ) -> FetchResponse:
        """A page of `source`, in its host's slot, with the source's options as its feed
        fetch sends them (its headers, cookies and credentials to the feed's origin only)
        and every redirect under robots.txt."""
        options = source.request

        async def may_fetch(target: str) -> str | None:
            return _named_private(source, target) or await self.robots.refusal(target, options)

        async with self.hosts[urlsplit(url).hostname or ""]:
            return await fetch_url(
                self.client,
                url,
                headers or {"Accept": ACCEPT},
                self.config,
                options=options,
                home=source.url,
                max_bytes=self.max_bytes,
                may_follow=may_fetch,
            )

    @staticmethod
    def _page(response: FetchResponse) -> Page:
        from feeds.fulltext.extract import Page

        assert response.body is not None
        return Page(
            response.body,
            response.final_url,
            response.headers.get("content-type"),
            response.headers.get("etag"),
            response.headers.get("last-modified"),
        )

    async def _read(self, page: Page, selector: str | None, before: str = "") -> PageText:
        """The article on `page` after the text `before` of the pages before it, read in
        the pool under its deadline."""
        from feeds.fulltext.extract import PageJob, PageText, read_page

        return await self.pool.run(
            read_page,
            PageJob(page, selector, before),
            overrun=PageText(error=f"enrichment took longer than {self.pool.deadline:g}s"),
            died=PageText(error="the worker process died reading the page"),
        )


def _named_private(source: Source, url: str) -> str | None:
    """Why `url` is not fetched for `source`: a private address (`private_address`) named
    by a feed or page on a public host, as discovery refuses one. Its text would be
    published: a feed's link to a router's or a cloud's metadata page must not make us
    read it, whatever `allow_private_addresses` lets the operator's own URLs reach."""
    why = private_address(url)
    if why is None or source.url is None or private_address(source.url) is not None:
        return None
    return f"not fetched: {why}, linked from a source on a public host"


def _unusable(response: FetchResponse, origin: tuple[str, str, int | None]) -> str | None:
    """Why a later page of an article cannot be read, or None."""
    if response.error is not None:
        return response.error
    if response.body is None:
        return f"no page (HTTP {response.status})"
    if _origin(response.final_url) != origin:
        return f"redirected off the site, to {response.final_url}"
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the scheme's own when none is written) of `url`."""
    parts = urlsplit(url)
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # no port at all: no page's origin
        port = -1
    return parts.scheme, parts.hostname or "", port


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _reused(article: Article, known: Article | None) -> Article | None:
    """`article` as stored, when its page was tried for the entry as the feed gives it now."""
    if known is None or known.full_text is None:
        return None
    if known.full_text.entry_hash != article.content_hash:
        return None  # the entry changed: its page may have too
    if known.full_text.error is not None:
        return replace(article, full_text=known.full_text)
    return replace(article, content=known.content, full_text=known.full_text)
