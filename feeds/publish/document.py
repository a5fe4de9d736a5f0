"""`FeedDocument`: one category's feed as every output format sees it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from feeds.model import Article, Author, Category, Origin, SourceKind, newest_first
from feeds.normalise import limits
from feeds.publish.dedupe import deduplicate
from feeds.publish.fragments import Fragments, split_entries
from feeds.publish.layout import ARCHIVE_FOLDER, OutputLayout
from feeds.slugs import slug_of

# What an entry shows of a source (see `credited`).
Credit = tuple[str, str, str, str | None, str | None]
# An empty feed still needs an `updated`; a fixed one keeps its bytes stable across runs.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Site:
    """What every published document shares: where it goes, its title, hub and refresh time."""

    layout: OutputLayout
    title: str
    hub: str | None = None  # a WebSub hub, announced in every feed and pinged on changes
    ttls: Mapping[str, timedelta] = field(default_factory=dict)  # by category slug
    default_ttl: timedelta = timedelta(minutes=30)
    archive_size: int = 0  # entries per RFC 5005 archive page; 0: no archives
    # The store's category slugs by name. Not part of the site's shape: a new category
    # changes no slug handed out before it.
    category_slugs: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    origins: Mapping[str, Origin] = field(default_factory=dict)  # by source name
    # Entries rendered by earlier publishes, reused where nothing they depend on changed.
    fragments: Fragments = field(default_factory=Fragments, compare=False, repr=False)

    def ttl(self, slug: str) -> timedelta:
        """How often the category is republished at most: readers need not poll faster."""
        return self.ttls.get(slug, self.default_ttl)

    def category_slug(self, name: str) -> str:
        """The slug of the folder of category `name` (an article's category, say)."""
        return slug_of(self.category_slugs, name)


@dataclass(frozen=True, slots=True)
class ArchiveLinks:
    """RFC 5005 links of a feed document: its own page number (archives only) and neighbours."""

    page: int | None = None  # None: the subscription document
    prev_page: int | None = None
    next_page: int | None = None


@dataclass(frozen=True, slots=True)
class FeedDocument:
    category: Category
    site: Site
    articles: tuple[Article, ...]  # newest first, each article once (see publish.dedupe)
    archive: ArchiveLinks = ArchiveLinks()
    # Per article id, the other sources that carry the same article.
    carriers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The newest change among the articles (from the data, never the build time), and the
    # language of every entry when they all share one, else None (then each entry says its
    # own). Worked out once: every format's head asks for both, each render.
    updated: datetime = field(init=False, repr=False, compare=False)
    language: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        updated = max((a.updated for a in self.articles), default=EPOCH)
        languages = {a.language for a in self.articles}
        object.__setattr__(self, "updated", updated)
        object.__setattr__(self, "language", languages.pop() if len(languages) == 1 else None)

    @property
    def self_url(self) -> str:
        """The document's own URL: the Atom feed, or its archive page."""
        if self.archive.page is not None:
            return self.layout.archive_url(self.category.slug, self.archive.page)
        return self.url("atom")

    @property
    def title(self) -> str:
        return self.category.name

    @property
    def layout(self) -> OutputLayout:
        return self.site.layout

    @property
    def site_title(self) -> str:
        return self.site.title

    @property
    def ttl(self) -> timedelta:
        return self.site.ttl(self.category.slug)

    def origin(self, article: Article) -> Origin:
        """The source an article was first seen in, as published."""
        return self._origin(article.source, article.link is None)

    def credit(self, article: Article) -> tuple[Credit, ...]:
        """What the article's entry says of its sources (`origin`, then `others`): the
        key of a kept fragment, which a source's health or last outcome must not change."""
        return tuple(credited(o) for o in (self.origin(article), *self.others(article)))

    def credit_context(self, extra: Callable[[str], object]) -> Callable[[Article], str]:
        """Per article, the repr of its `credit` and of `extra` of its source: the part of
        a kept fragment's key that concerns sources, taken once per source (with the
        others that carry the article) in this document, not once per entry."""
        found: dict[tuple[str, bool, tuple[str, ...]], str] = {}

        def context(article: Article) -> str:
            # All that `credit` reads of the article: its source, whether it is local,
            # and the others that carry it.
            key = (article.source, article.link is None, self.carriers.get(article.id, ()))
            text = found.get(key)
            if text is None:
                text = found[key] = repr((self.credit(article), extra(article.source)))
            return text

        return context

    def others(self, article: Article) -> tuple[Origin, ...]:
        """The other sources that carry the same article (merged into this entry)."""
        return tuple(self._origin(name, False) for name in self.carriers.get(article.id, ()))

    def authors(self, article: Article) -> tuple[Author, ...]:
        """An entry's published authors (see `published_authors`)."""
        return published_authors(article, self.origin(article))

    def sources_updated(self) -> dict[str, datetime]:
        """Per source, the newest change among this document's entries from it."""
        newest: dict[str, datetime] = {}
        for article in self.articles:
            if article.source not in newest or article.updated > newest[article.source]:
                newest[article.source] = article.updated
        return newest

    def _origin(self, name: str, local: bool) -> Origin:
        # A source no longer configured: its articles without a link of their own were
        # local ones, whose pages we wrote.
        kind = SourceKind.LOCAL if local else SourceKind.REMOTE
        found = self.site.origins.get(name) or Origin(
            name=name, kind=kind, title=name, own_pages=local
        )
        if found.own_pages:
            # Local articles have no feed elsewhere: their source is the page we write.
            return replace(found, site_url=self.layout.source_page_url(name))
        return found

    def url(self, kind: str) -> str:
        return self.layout.feed_url(self.category.slug, kind)

    def file_name(self, kind: str) -> str:
        """The document's file in `kind`, relative to the output folder: what its
        fragments are kept under (an archive page has one format)."""
        if self.archive.page is not None:
            return f"{self.category.slug}/{ARCHIVE_FOLDER}/{self.archive.page}.xml"
        return self.layout.feed_file(self.category.slug, kind)

    def entry_fragments(
        self,
        kind: str,
        context: Callable[[Article], object],
        render: Callable[[Sequence[Article]], list[bytes]],
        family: str | None = None,
    ) -> list[bytes]:
        """Each article's entry in this document in `kind`: kept where it and its
        `context` are as when it was rendered, else made by `render` (see
        `feeds.publish.fragments`, and `Fragments.entries` for `family`)."""
        for article in self.articles:
            check_publishable(article)
        fragments = self.site.fragments
        return fragments.entries(self.file_name(kind), self.articles, context, render, family)

    def assembled(
        self,
        kind: str,
        render: Callable[[Sequence[Article]], bytes],
        entry: bytes,
        closing: bytes,
        context: Callable[[Article], object],
    ) -> bytes:
        """The document in `kind` from its head and its entries' fragments, where `render`
        writes the document with only the articles given as entries (`entry` and `closing`
        as for `split_entries`): the head is rendered each time, an entry only when its
        fragment is not kept."""
        head, _ = split_entries(render(()), entry, closing)

        def entries(articles: Sequence[Article]) -> list[bytes]:
            return split_entries(render(articles), entry, closing)[1]

        return b"".join((head, *self.entry_fragments(kind, context, entries), closing))

    @property
    def description(self) -> str:
        return f"{self.title} – {self.site_title}"


# What normalising caps (feeds/normalise/limits.py), as the store hands it back.
_CAPS = (("title", limits.TITLE), ("summary", limits.SUMMARY), ("content", limits.CONTENT))


def written_time(value: datetime) -> datetime:
    """A time as the feeds write it: to the second. newsboat 2.21 reads an RFC 3339 date
    with a fraction of a second as if its offset were UTC (hours off), and RSS's dates
    have no fractions, so every format shows the same second."""
    return value.replace(microsecond=0)


def check_publishable(article: Article) -> None:
    """Refuse an article over the caps normalising applies (one stored before them): a text
    node that size makes the whole document unreadable to readers on libxml2 (10 MB), so
    the entry is left out and reported instead (feeds/publish/site.py)."""
    for name, cap in _CAPS:
        size = len(getattr(article, name))
        if size > cap:
            raise ValueError(f"its {name} is {size:,} characters, over the cap of {cap:,}")


def credited(origin: Origin) -> Credit:
    """All of a source that its entries show: its name, kind, title and links."""
    return (origin.name, origin.kind.value, origin.title, origin.site_url, origin.feed_url)


def published_authors(article: Article, origin: Origin) -> tuple[Author, ...]:
    """An entry's authors as every format publishes them: its own, else its source's
    title (the Planet convention), never the site's title."""
    return article.authors or (Author(name=origin.title),)


def feedgen_categories(article: Article) -> list[dict[str, str]]:
    """An entry's categories, then its tags, as Atom and RSS write them through feedgen:
    for one call (feedgen checks what it is given and maps every category it holds to RSS
    again on each call)."""
    return [{"term": name} for name in (*article.categories, *article.tags)]


def build_document(
    category: Category,
    articles: Sequence[Article],
    site: Site,
    archive: ArchiveLinks = ArchiveLinks(),
    first_seen: Mapping[str, datetime] | None = None,
) -> FeedDocument:
    """A category's document: each article once (the first seen of those several sources
    carry, see `publish.dedupe`), newest first."""
    # Not `first_seen or {}`: its truth would read a lazy mapping (publish.orchestrate).
    unique = deduplicate(articles, first_seen if first_seen is not None else {})
    ordered = newest_first(unique.articles)
    return FeedDocument(category, site, tuple(ordered), archive, unique.carriers)


def archive_page(seq: int, highest: int, size: int) -> int | None:
    """The archive page of arrival `seq` when `highest` arrivals are numbered and pages hold
    `size`; None while its page is not full (or without archives, `size` 0)."""
    if size <= 0:
        return None
    page = (seq - 1) // size + 1
    return page if page <= highest // size else None


def archive_documents(
    category: Category,
    highest: int,
    entries: Sequence[tuple[int, Article]],
    site: Site,
    first_seen: Mapping[str, datetime] | None = None,
) -> tuple[ArchiveLinks, list[FeedDocument]]:
    """Cut a category's arrivals into full pages of `site.archive_size` (RFC 5005).

    Page n holds arrivals (n-1)*size+1 .. n*size and exists once the last of them has
    arrived, so a page never changes but for edits and retention. Returns the links for the
    subscription document and one document per page that still has live entries.
    """
    pages: dict[int, list[Article]] = {}
    for seq, article in entries:
        page = archive_page(seq, highest, site.archive_size)
        if page is not None:
            pages.setdefault(page, []).append(article)
    numbers = sorted(pages)
    documents = []
    for index, page in enumerate(numbers):
        links = ArchiveLinks(
            page=page,
            prev_page=numbers[index - 1] if index else None,
            next_page=numbers[index + 1] if index + 1 < len(numbers) else None,
        )
        documents.append(build_document(category, pages[page], site, links, first_seen))
    return ArchiveLinks(prev_page=numbers[-1] if numbers else None), documents
