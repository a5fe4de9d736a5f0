"""`FeedDocument`: one category's feed as every output format sees it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.model import Article, Category
from feeds.publish.layout import OutputLayout

# An empty feed still needs an `updated`; a fixed one keeps its bytes stable across runs.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedDocument:
    category: Category
    title: str
    site_title: str
    layout: OutputLayout
    articles: tuple[Article, ...]  # newest first

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
    category: Category, articles: list[Article], layout: OutputLayout, site_title: str
) -> FeedDocument:
    ordered = sorted(articles, key=lambda a: (a.published, a.id), reverse=True)
    return FeedDocument(category, category.name, site_title, layout, tuple(ordered))
