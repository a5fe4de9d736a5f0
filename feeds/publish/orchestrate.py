"""Publishing a config's site from the store: what changed, everything, or what any process
marked; then the WebSub announce. Used by `feeds update`, `feeds publish` and the daemon.

The renderers (`feeds.publish.site` and below) take plain values and know no config; this
module turns a config and a store into those values.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import httpx

from feeds import __version__
from feeds.config import DEFAULT_INTERVAL, Config
from feeds.model import Category, Origin, PublishProblem, Source
from feeds.normalise.html import clean_text
from feeds.origins import attribution_digest, health_digest, source_origins
from feeds.publish import ALL_SLUG, PREVIEW, OutputLayout, PublishResult, Site
from feeds.publish.document import archive_page
from feeds.publish.files import (
    UnwrittenFilesError,
    remove_archive_pages,
    remove_article_pages,
    remove_category_files,
    write_if_changed,
)
from feeds.publish.fragments import Fragments
from feeds.publish.variants import VARIANTS
from feeds.slugs import slug_of
from feeds.sources.remote import make_client
from feeds.store import (
    ArticleStore,
    forget_fragments,
    record_publish_problems,
    save_fragments,
    stored_fragments,
)
from feeds.store.retention import REMOVED_SOURCE_KEPT
from feeds.websub import announce

SITE_STAMP = ".feeds-site"  # in the output folder: the shape of the last full publish
FRONT_STAMP = ".feeds-front"  # in the output folder: the source health the front page shows

Published = tuple[frozenset[str], PublishResult]

log = logging.getLogger(__name__)


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
    *,
    clock: Callable[[], datetime],
) -> PublishResult:
    """Apply retention and number the new arrivals, then write the `changed` categories
    (every one when None), `all/`, the front page and the OPML. Unchanged files are not
    rewritten either way. `origins` are the sources as published (read from the store
    when None).

    What it could not render or write replaces, in the store, the problems of what it
    rendered (every scope's when it rendered everything), stamped with the `clock`'s time.
    Files the output folder refused are raised as `UnwrittenFilesError` once the others are
    written and the problems kept, so the categories marked stay marked for the next
    publish."""
    # The renderers (feedgen, lxml, Jinja2) load here, when there is something to publish.
    from feeds.publish.site import publish_site

    # Sources removed long ago keep nothing but their articles (which retention retires).
    in_config = {source.name for source in config.sources}
    store.forget_removed_sources(in_config, clock() - REMOVED_SOURCE_KEPT)
    store.expire_beyond(config.output.max_items)
    # After retention: what it retired never takes a number, so pages fill in date order.
    store.number_arrivals()
    limit = config.output.max_items
    named = config_category_names(config)
    slugs = store.assign_category_slugs(named)
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
    loaded = {a.id: a for _, articles in content for a in articles}
    everything = store.recent_articles(None, limit, loaded)
    if origins is None:
        origins = source_origins(config.sources, store.fetch_states())
    # Entries rendered by earlier publishes are reused where nothing they depend on changed.
    engine = store.engine
    site = site_for(config, slugs)
    fragments = Fragments(
        partial(stored_fragments, engine), partial(save_fragments, engine), site.layout
    )
    site = replace(site, origins={o.name: o for o in origins}, fragments=fragments)
    archives = {
        c.slug: store.archive(c.slug, loaded)
        for c in ordered
        if site.archive_size and (changed is None or c.slug in changed)
    }
    ids = {a.id for _, articles in content for a in articles} | {a.id for a in everything}
    ids |= {a.id for _, entries in archives.values() for _, a in entries}
    first_seen = FirstSeen(store, ids)
    started = clock()
    try:
        result = publish_site(
            content,
            everything,
            site,
            render=changed,
            sources=origins,
            archives=archives,
            first_seen=first_seen,
        )
    except BaseException:
        fragments.abandon()
        raise
    fragments.flush()
    retired: list[str] = []
    for category in ordered:
        if changed is None or category.slug in changed:
            archive = archives.get(category.slug, (0, []))
            retired += _remove_retired_pages(site, category.slug, archive)
    # A category left without articles that the config no longer names is published
    # nowhere: its folder goes (one that changed now; on a full publish, any the store ever
    # named). One a rule names keeps its files until it has articles again.
    candidates = set(slugs.values() if changed is None else changed)
    emptied = candidates - set(categories) - {slug_of(slugs, n) for n in named} - {ALL_SLUG}
    for slug in sorted(emptied):
        retired += _remove_category(site, slug)
    forget_fragments(engine, retired)
    # The pages of local articles no longer stored (their files deleted, or retired) go.
    gone = remove_article_pages(site.layout.directory, partial(_live_pages, site, store))
    if gone:
        log.info("publish: %d page file(s) of articles no longer stored removed", len(gone))
    # A changed category without articles left rendered nothing, and has no problems now.
    scopes = result.scopes | frozenset(changed or ())
    unwritten = [PublishProblem(scope, f"not written: {why}") for scope, why in result.unwritten]
    record_publish_problems(
        store.engine, (*result.problems, *unwritten), scopes, started, everything=changed is None
    )
    if result.unwritten:
        raise UnwrittenFilesError([why for _, why in result.unwritten], result.written)
    return result


class FirstSeen(Mapping[str, datetime]):
    """When each of `ids` was first stored (`ArticleStore.first_seen_by_id`), read at the
    first look: only articles that several sources carry need it (`publish.dedupe`), and
    most publishes have none."""

    def __init__(self, store: ArticleStore, ids: Collection[str]) -> None:
        self._store = store
        self._ids = ids
        self._found: dict[str, datetime] | None = None

    def _read(self) -> dict[str, datetime]:
        if self._found is None:
            self._found = self._store.first_seen_by_id(self._ids)
        return self._found

    def __getitem__(self, article_id: str) -> datetime:
        return self._read()[article_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def _remove_retired_pages(
    site: Site, slug: str, archive: tuple[int, Sequence[tuple[int, object]]]
) -> list[str]:
    """Remove a rendered category's archive pages that no longer have a live entry (every
    page, with archives turned off); returns the documents removed, by name."""
    highest, entries = archive
    pages = (archive_page(seq, highest, site.archive_size) for seq, _ in entries)
    live = {page for page in pages if page is not None}
    removed = remove_archive_pages(site.layout.archive_folder(slug), live)
    if removed:
        log.info("publish: %d retired archive page file(s) of %s removed", len(removed), slug)
    return _document_names(site, removed)


def _live_pages(site: Site, store: ArticleStore) -> set[str]:
    """The pages publishing writes for the stored articles (those without a link)."""
    return {site.layout.page_of(*article) for article in store.linkless()}


def _remove_category(site: Site, slug: str) -> list[str]:
    """Remove the published files of the category `slug`; returns the documents removed."""
    removed = remove_category_files(site.layout.directory / slug)
    if removed:
        log.info("publish: %d file(s) of %s removed: it has no articles left", len(removed), slug)
    return _document_names(site, removed)


def _document_names(site: Site, removed: Sequence[Path]) -> list[str]:
    """The documents among `removed` files (not their variants), by name: their fragments
    are forgotten with them."""
    variants = tuple(variant.suffix for variant in VARIANTS)
    names = (site.layout.document_name(p) for p in removed if not p.name.endswith(variants))
    return [name for name in names if name is not None]


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


def publish_changes(
    config: Config,
    store: ArticleStore,
    changed: Collection[str],
    *,
    clock: Callable[[], datetime],
) -> PublishResult:
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
    result = publish_everything(config, store, changed if current else None, origins, clock=clock)
    if not current:
        write_if_changed(stamp_path, stamp.encode("ascii"))
    write_if_changed(front_path, front.encode("ascii"))
    return result


def publish_pending(
    config: Config, store: ArticleStore, *, clock: Callable[[], datetime]
) -> tuple[frozenset[str], PublishResult]:
    """Publish the categories any process marked changed, then clear what was published.

    Returns the categories and the result. A mark set while publishing stays for next time.
    """
    seen = store.pending()
    result = publish_changes(config, store, frozenset(seen), clock=clock)
    store.published(seen)
    return frozenset(seen), result


async def publish_and_announce(
    config: Config,
    publish: Callable[[], Published | None],
    *,
    client: httpx.AsyncClient | None = None,
    then: Callable[[Published], None] | None = None,
) -> Published | None:
    """Publish, then tell the WebSub hub which feeds were rewritten: the one publish step
    of `feeds update` and the daemon.

    `publish` runs in a thread (rendering takes seconds on a big site, and the event loop
    goes on fetching meanwhile); None from it means nothing was published here (another
    process publishes). `then` hears what was published before the hub is pinged. Without
    a `client`, one is opened only when there is something to announce.
    """
    published = await asyncio.to_thread(publish)
    if published is None:
        return None
    if then is not None:
        then(published)
    hub = config.websub.hub
    topics = site_for(config).layout.feed_urls(published[1].written) if hub else []
    if hub and topics:
        if client is not None:
            await announce(client, hub, topics)
        else:
            async with make_client(config.fetch) as own:
                await announce(own, hub, topics)
    return published
