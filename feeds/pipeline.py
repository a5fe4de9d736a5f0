"""One pass of the pipeline: due sources -> read -> normalise -> store, then publish.

The scheduler (one-shot or daemon) calls these; the clock and the HTTP client are passed in.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from feeds.config import Config
from feeds.model import (
    Category,
    FetchOutcome,
    FetchState,
    RawFeed,
    Source,
    SourceKind,
    SourceResult,
)
from feeds.normalise.article import entry_key, normalise_feed
from feeds.parse import ParseError, parse_feed
from feeds.publish import OutputLayout, PublishResult, publish_site
from feeds.sources.local import read_local_source
from feeds.sources.remote import fetch_source
from feeds.store import ArticleStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Failing sources back off, but never stop for good: at most a day between tries.
MAX_BACKOFF = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class UpdateReport:
    results: tuple[SourceResult, ...]

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(
            r for r in self.results if r.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE)
        )

    @property
    def changed_categories(self) -> frozenset[str]:
        return frozenset(slug for r in self.results for slug in r.changed_categories)


def is_due(source: Source, state: FetchState | None, now: datetime) -> bool:
    """Local files are cheap to read and ask no host for anything: always due.

    A remote source is due when it has never been fetched or its next due time has come.
    """
    if source.kind is SourceKind.LOCAL:
        return True
    return state is None or state.next_due is None or state.next_due <= now


def next_due_after_failure(source: Source, error_count: int, now: datetime) -> datetime:
    """Capped exponential backoff: interval x 2^(errors-1), at most MAX_BACKOFF."""
    delay = source.interval * (1 << min(max(error_count - 1, 0), 16))
    return now + min(delay, max(MAX_BACKOFF, source.interval))


async def update_sources(
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    force: bool = False,
    on_result: Callable[[SourceResult], None] | None = None,
) -> UpdateReport:
    """Update every due source (every source with `force`), concurrently, and store them."""
    states = store.fetch_states()
    now = clock()
    due = [s for s in config.sources if force or is_due(s, states.get(s.name), now)]
    limit = asyncio.Semaphore(config.fetch.concurrency)
    # Per-host limits keep a host with many feeds from seeing a burst of requests from us.
    hosts: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(config.fetch.per_host)
    )

    async def one(source: Source) -> SourceResult:
        host = (urlsplit(source.url).hostname or "") if source.url else ""
        async with hosts[host], limit:
            result = await update_source(
                source, states.get(source.name), config, store, client, clock
            )
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(one(s) for s in due))
    return UpdateReport(tuple(results))


async def update_source(
    source: Source,
    state: FetchState | None,
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
) -> SourceResult:
    """Read, normalise and store one source; never raises for what the source does."""
    if source.kind is SourceKind.LOCAL:
        read = read_local_source(source)
        errors = tuple(str(e) for e in read.errors)
        result = _store_feed(source, read.feed, errors, state, config, store, clock())
        if read.present is None:
            return result
        removed = store.delete_missing(source.name, read.present)
        return replace(result, changed_categories=result.changed_categories | removed)
    return await _update_remote(source, state, config, store, client, clock)


async def _update_remote(
    source: Source,
    state: FetchState | None,
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
) -> SourceResult:
    assert source.url is not None
    configured = _url_hash(source.url)
    url = source.url
    if state is not None and state.url and state.config_hash == configured:
        url = state.url  # learnt from a permanent redirect; holds until the config changes
    previous = state or FetchState(source=source.name)
    response = await fetch_source(client, url, state, config.fetch)
    now = clock()
    attempted = replace(
        previous, url=url, config_hash=configured, last_fetch=now, last_status=response.status
    )
    if response.error is not None:
        return _record_failure(source, attempted, response.error, store, now)
    # Validators are refreshed on every 200 and 304; a new URL is kept only from a
    # response that turned out to be a feed.
    fetched = replace(
        attempted,
        url=response.permanent_url or url,
        etag=response.headers.get("etag", previous.etag),
        last_modified=response.headers.get("last-modified", previous.last_modified),
    )
    if response.not_modified or response.body_hash == previous.body_hash:
        store.save_fetch_state(_succeeded(source, fetched, FetchOutcome.NOT_MODIFIED, now))
        return SourceResult(source.name, FetchOutcome.NOT_MODIFIED)
    assert response.body is not None
    try:
        feed = parse_feed(response.body, url=response.final_url, headers=response.headers)
    except ParseError as exc:
        return _record_failure(source, attempted, f"unparseable feed: {exc}", store, now)
    fetched = replace(fetched, body_hash=response.body_hash)
    return _store_feed(source, feed, feed.warnings, fetched, config, store, now)


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _store_feed(
    source: Source,
    feed: RawFeed,
    warnings: Sequence[str],
    state: FetchState | None,
    config: Config,
    store: ArticleStore,
    now: datetime,
) -> SourceResult:
    keys = [entry_key(e) for e in feed.entries]
    normalised = normalise_feed(
        feed,
        source=source,
        now=now,
        first_seen=store.first_seen(source.name, keys),
        fallback_base=config.output.base_url,
    )
    upserted = store.upsert_articles(source.name, normalised.articles, now)
    errors = (*warnings, *normalised.errors)
    for message in errors:
        log.info("%s: %s", source.name, message)
    fetched = state or FetchState(source=source.name)
    store.save_fetch_state(
        replace(
            _succeeded(source, fetched, FetchOutcome.NEW, now),
            last_error="; ".join(errors)[:2000] or None,
        )
    )
    return SourceResult(
        source=source.name,
        outcome=FetchOutcome.NEW,
        new=upserted.new,
        updated=upserted.updated,
        unchanged=upserted.unchanged,
        errors=tuple(errors),
        changed_categories=upserted.changed_categories,
    )


def _succeeded(
    source: Source, state: FetchState, outcome: FetchOutcome, now: datetime
) -> FetchState:
    return replace(
        state,
        last_fetch=now,
        last_outcome=outcome,
        next_due=now + source.interval,
        error_count=0,
        last_error=None,
    )


def _record_failure(
    source: Source, state: FetchState, error: str, store: ArticleStore, now: datetime
) -> SourceResult:
    errors = state.error_count + 1
    log.warning("%s: fetch failed (%d in a row): %s", source.name, errors, error)
    store.save_fetch_state(
        replace(
            state,
            last_outcome=FetchOutcome.FAILED,
            error_count=errors,
            last_error=error,
            next_due=next_due_after_failure(source, errors, now),
        )
    )
    return SourceResult(source.name, FetchOutcome.FAILED, errors=(error,))


def configured_categories(sources: Iterable[Source]) -> list[Category]:
    """Categories named in the config, published even before they have items."""
    return [Category.named(s.category) for s in sources if s.category]


def publish_everything(config: Config, store: ArticleStore) -> PublishResult:
    """Apply retention, then write every category, `all/`, the front page and the OPML."""
    store.expire_beyond(config.output.max_items)
    layout = OutputLayout(config.output.dir, config.output.base_url)
    limit = config.output.max_items
    categories: dict[str, Category] = {c.slug: c for c in configured_categories(config.sources)}
    categories.update({c.slug: c for c in store.categories()})
    ordered = sorted(categories.values(), key=lambda c: c.name.casefold())
    content = [(c, store.recent_articles(c.slug, limit)) for c in ordered]
    everything = store.recent_articles(None, limit)
    return publish_site(content, everything, layout, config.output.title)
