"""`FeedDocument`: one category's feed as every output format sees it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from feeds.model import Article, Category
from feeds.publish.layout import OutputLayout
from feeds.slugs import slug_of

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
    articles: tuple[Article, ...]  # newest first
    archive: ArchiveLinks = ArchiveLinks()

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

    @property
    def updated(self) -> datetime:
        """The newest change among the articles: from the data, never the build time."""
        return max((a.updated for a in self.articles), default=EPOCH)

    @property
    def language(self) -> str | None:
        counts = Counter(a.language for a in self.articles if a.language)
        return counts.most_common(1)[0][0] if counts else None

    def url(self, kind: str) -> str:
        return self.layout.feed_url(self.category.slug, kind)

    @property
    def description(self) -> str:
        return f"{self.title} – {self.site_title}"


def build_document(
    category: Category,
    articles: Sequence[Article],
    site: Site,
    archive: ArchiveLinks = ArchiveLinks(),
) -> FeedDocument:
    ordered = sorted(articles, key=lambda a: (a.published, a.id), reverse=True)
    return FeedDocument(category, site, tuple(ordered), archive)


def archive_documents(
    category: Category, highest: int, entries: Sequence[tuple[int, Article]], site: Site
) -> tuple[ArchiveLinks, list[FeedDocument]]:
    """Cut a category's arrivals into full pages of `site.archive_size` (RFC 5005).

    Page n holds arrivals (n-1)*size+1 .. n*size and exists once the last of them has
    arrived, so a page never changes but for edits and retention. Returns the links for the
    subscription document and one document per page that still has live entries.
    """
    size = site.archive_size
    if size <= 0:
        return ArchiveLinks(), []
    full = highest // size
    pages: dict[int, list[Article]] = {}
    for seq, article in entries:
        page = (seq - 1) // size + 1
        if page <= full:
            pages.setdefault(page, []).append(article)
    numbers = sorted(pages)
    documents = []
    for index, page in enumerate(numbers):
        links = ArchiveLinks(
            page=page,
            prev_page=numbers[index - 1] if index else None,
            next_page=numbers[index + 1] if index + 1 < len(numbers) else None,
        )
        documents.append(build_document(category, pages[page], site, links))
    return ArchiveLinks(prev_page=numbers[-1] if numbers else None), documents
