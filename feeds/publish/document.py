"""`FeedDocument`: one category's feed as every output format sees it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from feeds.model import Article, Category
from feeds.publish.layout import OutputLayout

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

    def ttl(self, slug: str) -> timedelta:
        """How often the category is republished at most: readers need not poll faster."""
        return self.ttls.get(slug, self.default_ttl)


@dataclass(frozen=True, slots=True)
class FeedDocument:
    category: Category
    site: Site
    articles: tuple[Article, ...]  # newest first

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


def build_document(category: Category, articles: list[Article], site: Site) -> FeedDocument:
    ordered = sorted(articles, key=lambda a: (a.published, a.id), reverse=True)
    return FeedDocument(category, site, tuple(ordered))
