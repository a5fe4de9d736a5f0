"""One pass of the pipeline: due sources -> read -> normalise -> store, then publish.

The scheduler (one-shot or daemon) calls these; the clock, the HTTP client and the parser
pool are passed in. Timing decisions live in `feeds.schedule`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import DataError, IntegrityError

from feeds import __version__
from feeds.config import DEFAULT_INTERVAL, Config
from feeds.model import (
    Article,
    Category,
    FetchOutcome,
    FetchState,
    Lease,
    Origin,
    Rule,
    Source,
    SourceKind,
    SourceResult,
)
from feeds.normalise.article import NormalisedFeed, normalise_feed, with_first_seen
from feeds.normalise.html import clean_text
from feeds.normalise.warnings import LINE_LIMIT, bounded, shorten
from feeds.origins import attribution_digest, health_digest, source_origins
from feeds.publish import ALL_SLUG, PREVIEW, OutputLayout, PublishResult, Site
from feeds.publish.files import write_if_changed
from feeds.rules import apply_rules
from feeds.schedule import (
    NextFetch,
    cache_lifetime,
    next_after_failure,
    next_fetch,
    retry_after,
)
from feeds.slugs import slug_of
from feeds.sources.local import read_local_source
from feeds.sources.remote import FetchResponse, fetch_source
from feeds.store import ArticleStore, GroupWriter, SourceWrite, StaleLeaseError, UpsertResult
from feeds.workers import BodyJob, ParserPool

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

CLAIM_BATCH = 4  # sources claimed at a time, per unit of fetch concurrency
SITE_STAMP = ".feeds-site"  # in the output folder: the shape of the last full publish
FRONT_STAMP = ".feeds-front"  # in the output folder: the source health the front page shows
WARNINGS_LIMIT = 2000  # characters of a source's warnings kept for `feeds status`


@dataclass(frozen=True, slots=True)
class UpdateReport:
    results: tuple[SourceResult, ...]
    # Sources this run left alone because another live process holds their lease.
    held_elsewhere: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(
            r for r in self.results if r.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE)
        )

    @property
    def changed_categories(self) -> frozenset[str]:
        return frozenset(slug for r in self.results for slug in r.changed_categories)


def url_hash(url: str) -> str:
    """Digest of a configured URL: tells whether the config changed since a state was saved."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def is_gone(source: Source, state: FetchState | None) -> bool:
    """410 Gone holds until the config names another URL for the source."""
    return (
        state is not None
        and state.last_outcome is FetchOutcome.GONE
        and source.url is not None
        and state.config_hash == url_hash(source.url)
    )


def is_due(source: Source, state: FetchState | None, now: datetime, *, force: bool = False) -> bool:
    """Whether to read `source` now.

    Local files are cheap and ask no host for anything: always due. A remote source is due
    when its next due time has come (`force`: at once), but never before a server's
    Retry-After and never after a 410 Gone, forced or not.
    """
    if source.kind is SourceKind.LOCAL:
        return True
    if state is None:
        return True
    if is_gone(source, state) or (state.retry_after is not None and state.retry_after > now):
        return False
    return force or state.next_due is None or state.next_due <= now


@dataclass(frozen=True, slots=True)
class Job:
    """A source to update now, its last state, and this process's lease on it (remote)."""

    source: Source
    state: FetchState | None
    lease: Lease | None = None


class Updater:
    """Updates sources within shared limits: overall concurrency and per host.

    One per `feeds update` run, or per loaded config in the daemon, so every fetch in
    flight counts against the same limits.
    """

    def __init__(
        self,
        config: Config,
        store: ArticleStore,
        client: httpx.AsyncClient,
        clock: Clock,
        pool: ParserPool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock
        self.parser = pool or ParserPool(workers=0)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sources = {s.name: s for s in config.sources}
        self.remote = [s.name for s in config.sources if s.kind is SourceKind.REMOTE]
        self.local = [s for s in config.sources if s.kind is SourceKind.LOCAL]
        self.states_ensured = False  # every remote source has a state row to claim
        # Write-backs of sources updated side by side share transactions; a group of half
        # the slots goes out even while one slow fetch holds the other half.
        self.writer = GroupWriter(store, size=max(1, config.fetch.concurrency // 2))
        self.limit = asyncio.Semaphore(config.fetch.concurrency)
        # Per-host limits keep a host with many feeds from seeing a burst of requests from us.
        self.hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.fetch.per_host)
        )

    def due(
        self, *, force: bool = False, limit: int | None = None, exclude: Collection[str] = ()
    ) -> list[Job]:
        """Claim the configured sources due now (`force`: all not held back).

        Remote sources are leased in the store, so several processes sharing one store
        (`feeds run` on many machines) never fetch a source twice; local files are read by
        whoever has them. `limit` caps the remote claims, so a lease is taken only for work
        that starts before it runs out; `exclude` names sources this run already did.

        The claim itself decides what is due (next due time, Retry-After, leases), so only
        the 410 Gone states and the claimed sources' states are read, not every source's.
        """
        now = self.clock()
        gone = self.store.fetch_states(outcome=FetchOutcome.GONE)
        held = {
            name
            for name, state in gone.items()
            if name in self.sources and not is_due(self.sources[name], state, now, force=force)
        }
        if not self.states_ensured:
            self.store.ensure_states(self.remote)
            # The config's categories get their slugs in config order, before any
            # article can claim one: what `feeds check` showed is what they get.
            self.store.assign_category_slugs(config_category_names(self.config))
            self.states_ensured = True
        remote = [name for name in self.remote if name not in exclude and name not in held]
        until = now + self.config.fetch.lease
        leases = {
            lease.source: lease
            for lease in self.store.claim(remote, self.owner, now, until, force=force, limit=limit)
        }
        chosen = [
            *(s for s in self.local if s.name not in exclude),
            *(self.sources[name] for name in leases),
        ]
        states = self.store.fetch_states([s.name for s in chosen]) if chosen else {}
        return [Job(s, states.get(s.name), leases.get(s.name)) for s in chosen]

    async def update(self, job: Job) -> SourceResult:
        """Update one claimed source within the limits, writing back with the others."""
        source = job.source
        host = (urlsplit(source.url).hostname or "") if source.url else ""
        try:
            async with self.hosts[host], self.limit:
                self.writer.holding += 1
                try:
                    return await update_source(
                        source,
                        job.state,
                        self.config,
                        self.store,
                        self.client,
                        self.clock,
                        self.parser,
                        job.lease,
                        writer=self.writer,
                    )
                finally:
                    self.writer.holding -= 1
                    self.writer.flush_if_ready()
        except StaleLeaseError as exc:
            # Another worker took the source over while this one stalled: its result
            # stands, ours is dropped (the article writes were idempotent anyway).
            log.warning("%s", exc)
            return SourceResult(source.name, FetchOutcome.FAILED, errors=(f"{exc}: dropped",))
        except (IntegrityError, DataError) as exc:
            # Its own rows were refused, alone too (a failed group is retried one source
            # at a time): this source fails, the others go on, and it is tried again. A
            # failure of the store itself (full, read-only, damaged) ends the run instead.
            reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
            log.warning("%s: store refused its write: %s", source.name, reason)
            return SourceResult(
                source.name, FetchOutcome.FAILED, errors=(f"store refused its write: {reason}",)
            )

    async def update_due(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_result: Callable[[SourceResult], None] | None = None,
    ) -> UpdateReport:
        """Update every due source (`force`: every source not held back) concurrently;
        `on_start` hears how many were claimed, `on_result` each outcome."""

        async def one(job: Job) -> SourceResult:
            result = await self.update(job)
            if on_result is not None:
                on_result(result)
            return result

        # At most a few times the concurrency claimed and not done, so no lease waits in a
        # queue long enough to expire and be claimed again by another worker; topped up
        # when half is done, so the slow sources of one claim never leave slots idle.
        batch = CLAIM_BATCH * self.config.fetch.concurrency
        results: list[SourceResult] = []
        done: set[str] = set()
        running: set[asyncio.Task[SourceResult]] = set()
        more = True
        while True:
            if more and len(running) <= batch // 2:
                jobs = self.due(force=force, limit=batch - len(running), exclude=done)
                more = bool(jobs)
                done.update(job.source.name for job in jobs)
                running.update(asyncio.create_task(one(job)) for job in jobs)
                if jobs and on_start is not None:
                    on_start(len(done))
            if not running:
                others = [name for name in self.remote if name not in done]
                held = self.store.held_elsewhere(others, self.owner, self.clock())
                return UpdateReport(tuple(results), tuple(held))
            finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            failures = [e for t in finished if (e := t.exception()) is not None]
            if failures:  # the store failed as a whole: stop the others, report it once
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                raise failures[0]
            results.extend(task.result() for task in finished)


async def update_sources(
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    pool: ParserPool | None = None,
    force: bool = False,
    on_result: Callable[[SourceResult], None] | None = None,
) -> UpdateReport:
    """Update every due source once: what `feeds update` does."""
    updater = Updater(config, store, client, clock, pool)
    return await updater.update_due(force=force, on_result=on_result)


async def update_source(
    source: Source,
    state: FetchState | None,
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
    parser: ParserPool,
    lease: Lease | None = None,
    *,
    writer: GroupWriter | None = None,
) -> SourceResult:
    """Read, normalise and store one source; never raises for what the source does.

    With a `lease`, the write-back happens only while the lease holds (StaleLeaseError).
    With a `writer`, a remote source's write-back shares a transaction with others'.
    """
    if source.kind is SourceKind.LOCAL:
        result = _update_local(source, state, config, store, clock())
    else:
        result = await _update_remote(
            source, state, config, store, client, clock, parser, lease, writer
        )
    if state is not None and state.error_count and not result.errors:
        log.info("%s: recovered after %d failure(s)", source.name, state.error_count)
    log.debug("%s: %s, %d new, %d updated", source.name, result.outcome, result.new, result.updated)
    return result


def _update_local(
    source: Source, state: FetchState | None, config: Config, store: ArticleStore, now: datetime
) -> SourceResult:
    read = read_local_source(source)
    normalised = normalise_feed(
        read.feed, source=source, now=now, first_seen={}, fallback_base=config.output.base_url
    )
    errors = tuple(str(e) for e in read.errors)
    fetched = replace(state or FetchState(source=source.name), last_status=None)
    write, errors = _article_write(
        source,
        normalised,
        errors,
        fetched,
        store,
        now,
        rules=config.rules,
        next_due=NextFetch(now + source.interval),
    )
    result = _stored(source, store.write_one(write), errors)
    if read.present is None:
        return result
    removed = store.delete_missing(source.name, read.present)
    return replace(result, changed_categories=result.changed_categories | removed)


async def _update_remote(
    source: Source,
    state: FetchState | None,
    config: Config,
    store: ArticleStore,
    client: httpx.AsyncClient,
    clock: Clock,
    parser: ParserPool,
    lease: Lease | None,
    writer: GroupWriter | None,
) -> SourceResult:
    assert source.url is not None
    configured = url_hash(source.url)
    url = source.url
    if state is not None and state.url and state.config_hash == configured:
        url = state.url  # learnt from a permanent redirect; holds until the config changes
    if state is not None and state.feed_title is None and state.last_outcome is not None:
        # Read before the store kept feed titles: fetch and parse the body once more,
        # unconditionally, to learn the title and site its entries are credited with.
        state = replace(state, etag=None, last_modified=None, body_hash=None)
    previous = state or FetchState(source=source.name)
    response = await fetch_source(client, url, state, config.fetch)
    now = clock()
    attempted = replace(
        previous,
        url=url,
        config_hash=configured,
        last_fetch=now,
        last_status=response.status,
        retry_after=None,
    )
    if response.error is not None:
        return await _record_failure(source, attempted, response, store, writer, now, lease)
    # Validators are refreshed on every 200 and 304; a new URL is kept only from a
    # response that turned out to be a feed.
    fetched = replace(
        attempted,
        url=response.permanent_url or url,
        etag=response.headers.get("etag", previous.etag),
        last_modified=response.headers.get("last-modified", previous.last_modified),
    )
    server_hint = cache_lifetime(response.headers, now)
    if response.not_modified or response.body_hash == previous.body_hash:
        # A 304 (or the same bytes again) costs no parse and no write but the state's.
        due = next_fetch(source, now, hints=(server_hint,))
        unchanged = _succeeded(fetched, FetchOutcome.NOT_MODIFIED, now, due)
        await _commit(SourceWrite(source.name, state=unchanged, lease=lease), store, writer)
        return SourceResult(source.name, FetchOutcome.NOT_MODIFIED)
    assert response.body is not None
    job = BodyJob(
        response.body, response.final_url, response.headers, source, now, config.output.base_url
    )
    digest = await parser.digest(job)
    if digest.normalised is None:
        failed = replace(response, error=digest.error)
        return await _record_failure(source, attempted, failed, store, writer, now, lease)
    due = next_fetch(
        source,
        now,
        hints=(server_hint, ("ttl", _seconds(digest.refresh_hint_seconds))),
        skip_hours=digest.skip_hours,
        skip_days=digest.skip_days,
    )
    fetched = replace(fetched, body_hash=response.body_hash)
    write, errors = _article_write(
        source,
        digest.normalised,
        digest.warnings,
        fetched,
        store,
        now,
        rules=config.rules,
        next_due=due,
        lease=lease,
    )
    return _stored(source, await _commit(write, store, writer), errors)


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def _article_write(
    source: Source,
    normalised: NormalisedFeed,
    warnings: Sequence[str],
    state: FetchState,
    store: ArticleStore,
    now: datetime,
    *,
    rules: Sequence[Rule],
    next_due: NextFetch,
    lease: Lease | None = None,
) -> tuple[SourceWrite, tuple[str, ...]]:
    """The write-back of a source read successfully, and the problems to report."""
    ruled = apply_rules(normalised.articles, (*source.rules, *rules))
    articles: Sequence[Article] = ruled.articles
    if normalised.undated:
        # Entries without dates keep the time we first saw them, not each fetch's `now`.
        known = store.first_seen(source.name, sorted(normalised.undated))
        articles = with_first_seen(articles, known)
    errors = bounded((*warnings, *normalised.errors))
    saved = replace(
        _succeeded(state, FetchOutcome.NEW, now, next_due),
        warnings="; ".join(errors)[:WARNINGS_LIMIT] or None,
        feed_title=normalised.title or "",  # "": read, and the feed names no title
        site_url=normalised.site_url,
    )
    if ruled.dropped:
        log.debug("%s: %d entries dropped by rules", source.name, ruled.dropped)
    for message in errors:  # shown by `feeds status`; per fetch, so not at the default level
        log.debug("%s: %s", source.name, message)
    return SourceWrite(source.name, now, articles, saved, lease), errors


def _stored(source: Source, upserted: UpsertResult, errors: tuple[str, ...]) -> SourceResult:
    return SourceResult(
        source=source.name,
        outcome=FetchOutcome.NEW,
        new=upserted.new,
        updated=upserted.updated,
        unchanged=upserted.unchanged,
        errors=errors,
        changed_categories=upserted.changed_categories,
    )


async def _commit(
    write: SourceWrite, store: ArticleStore, writer: GroupWriter | None
) -> UpsertResult:
    """Write back, in a group when there is a `writer`; StaleLeaseError when the lease
    no longer held and nothing was written."""
    if writer is None:
        return store.write_one(write)
    result = await writer.write(write)
    if result is None:
        assert write.lease is not None
        raise StaleLeaseError(write.lease)
    return result


def _succeeded(
    state: FetchState, outcome: FetchOutcome, now: datetime, next_due: NextFetch
) -> FetchState:
    return replace(
        state,
        last_fetch=now,
        last_outcome=outcome,
        next_due=next_due.at,
        due_reason=next_due.reason,
        error_count=0,
        last_error=None,
    )


async def _record_failure(
    source: Source,
    state: FetchState,
    response: FetchResponse,
    store: ArticleStore,
    writer: GroupWriter | None,
    now: datetime,
    lease: Lease | None,
) -> SourceResult:
    error = shorten(response.error or "unknown error", LINE_LIMIT)
    if response.status == 410:
        # Gone: no more requests until the config names another URL.
        gone = replace(
            state,
            last_outcome=FetchOutcome.GONE,
            last_error=error,
            next_due=None,
            due_reason=None,
        )
        await _commit(SourceWrite(source.name, state=gone, lease=lease), store, writer)
        log.warning("%s: 410 Gone; disabled until its URL in the config changes", source.name)
        return SourceResult(source.name, FetchOutcome.GONE, errors=(f"{error}; disabled",))
    failures = state.error_count + 1
    not_before = None
    if response.status in (429, 503):
        not_before = retry_after(response.headers.get("retry-after"), now)
        if not_before is not None:
            error += f" (retry after {not_before:%Y-%m-%d %H:%M:%S} UTC)"
    # One warning when a source starts failing (and one info line when it recovers); repeats
    # are debug, so thousands of sources that stay down do not flood the daemon's log.
    level = logging.WARNING if failures == 1 else logging.DEBUG
    log.log(level, "%s: fetch failed (%d in a row): %s", source.name, failures, error)
    due = next_after_failure(source, failures, now, not_before=not_before)
    failed = replace(
        state,
        last_outcome=FetchOutcome.FAILED,
        error_count=failures,
        last_error=error,
        retry_after=not_before,
        next_due=due.at,
        due_reason=due.reason,
    )
    await _commit(SourceWrite(source.name, state=failed, lease=lease), store, writer)
    return SourceResult(source.name, FetchOutcome.FAILED, errors=(error,))


def config_category_names(config: Config) -> list[str]:
    """Every category the config names, in config order: the sources', then the rules'
    (each source's, then the global ones)."""
    rules = [*(r for s in config.sources for r in s.rules), *config.rules]
    named = [*(s.category for s in config.sources), *(r.category for r in rules)]
    return list(dict.fromkeys(clean_text(name) for name in named if name))


def configured_categories(sources: Iterable[Source], slugs: Mapping[str, str]) -> list[Category]:
    """Categories of the sources in the config, published even before they have items,
    with their slugs from `slugs` (the store's, by name)."""
    names = dict.fromkeys(clean_text(s.category) for s in sources if s.category)
    return [Category(name, slug_of(slugs, name)) for name in names]


def site_for(config: Config, slugs: Mapping[str, str] | None = None) -> Site:
    """The publishing settings of a config; a category's ttl is its fastest source's interval.

    `slugs` are the store's category slugs by name (`ArticleStore.category_slugs`); a
    category without one is taken at the slug it would be given.
    """
    assigned = slugs or {}
    shortest = min((s.interval for s in config.sources), default=DEFAULT_INTERVAL)
    ttls: dict[str, timedelta] = {ALL_SLUG: shortest}
    for source in config.sources:
        if source.category:
            slug = slug_of(assigned, clean_text(source.category))
            ttls[slug] = min(ttls.get(slug, source.interval), source.interval)
    layout = OutputLayout(config.output.dir, config.output.base_url)
    return Site(
        layout,
        config.output.title,
        config.websub.hub,
        ttls,
        default_ttl=shortest,
        archive_size=config.output.archive_size,
        category_slugs=assigned,
    )


def publish_everything(
    config: Config,
    store: ArticleStore,
    changed: Collection[str] | None = None,
    origins: Sequence[Origin] | None = None,
) -> PublishResult:
    """Apply retention, then write the `changed` categories (every one when None), `all/`,
    the front page and the OPML. Unchanged files are not rewritten either way. `origins`
    are the sources as published (read from the store when None)."""
    # The renderers (feedgen, lxml, Jinja2) load here, when there is something to publish.
    from feeds.publish.site import publish_site

    store.expire_beyond(config.output.max_items)
    limit = config.output.max_items
    slugs = store.assign_category_slugs(config_category_names(config))
    configured = configured_categories(config.sources, slugs)
    categories: dict[str, Category] = {c.slug: c for c in configured}
    categories.update({c.slug: c for c in store.categories()})
    ordered = sorted(categories.values(), key=lambda c: c.name.casefold())
    content = [
        (
            c,
            store.recent_articles(
                c.slug, limit if changed is None or c.slug in changed else PREVIEW
            ),
        )
        for c in ordered
    ]
    everything = store.recent_articles(None, limit)
    if origins is None:
        origins = source_origins(config.sources, store.fetch_states())
    site = replace(site_for(config, slugs), origins={o.name: o for o in origins})
    archives = {
        c.slug: store.archive(c.slug)
        for c in ordered
        if site.archive_size and (changed is None or c.slug in changed)
    }
    ids = {a.id for _, articles in content for a in articles} | {a.id for a in everything}
    ids |= {a.id for _, entries in archives.values() for _, a in entries}
    return publish_site(
        content,
        everything,
        site,
        render=changed,
        sources=origins,
        archives=archives,
        first_seen=store.first_seen_by_id(ids),
    )


def cache_seconds(config: Config) -> int:
    """How long readers and proxies may cache output: the fastest source's interval."""
    return max(60, int(site_for(config).default_ttl.total_seconds()))


def site_stamp(
    config: Config, origins: Sequence[Origin] = (), slugs: Mapping[str, str] | None = None
) -> str:
    """A digest of everything that shapes every output file but is not an item: the site's
    settings, what entries say about their sources (`origins`) and the store's category
    slugs (`slugs`, which place the ttls)."""
    site = site_for(config, slugs)
    shape = (
        __version__,
        repr(site),
        config.output.max_items,
        sorted(site.ttls.items()),
        attribution_digest(origins),
    )
    return hashlib.sha256(repr(shape).encode("utf-8")).hexdigest()


def _stamp_holds(path: Path, stamp: str) -> bool:
    try:
        return path.read_text(encoding="ascii").strip() == stamp
    except OSError:
        return False


def publish_changes(config: Config, store: ArticleStore, changed: Collection[str]) -> PublishResult:
    """Publish after an update: the `changed` categories, `all/`, the front page and the
    OPML; nothing when no category changed and the front page's source health did not.

    Everything is rewritten when the site's shape (URL, title, hub, ttls, version, the
    sources' titles and links) differs from the last full publish, recorded in a dotfile
    that `feeds serve` never serves; the health the front page shows is recorded beside it.
    """
    origins = source_origins(config.sources, store.fetch_states())
    stamp_path = config.output.dir / SITE_STAMP
    slugs = store.assign_category_slugs(config_category_names(config))
    stamp = site_stamp(config, origins, slugs)
    current = _stamp_holds(stamp_path, stamp)
    front_path = config.output.dir / FRONT_STAMP
    front = health_digest(origins)
    if current and not changed and _stamp_holds(front_path, front):
        return PublishResult(written=(), unchanged=0)
    result = publish_everything(config, store, changed if current else None, origins)
    if not current:
        write_if_changed(stamp_path, stamp.encode("ascii"))
    write_if_changed(front_path, front.encode("ascii"))
    return result


def publish_pending(config: Config, store: ArticleStore) -> tuple[frozenset[str], PublishResult]:
    """Publish the categories any process marked changed, then clear what was published.

    Returns the categories and the result. A mark set while publishing stays for next time.
    """
    seen = store.pending()
    result = publish_changes(config, store, frozenset(seen))
    store.published(seen)
    return frozenset(seen), result
