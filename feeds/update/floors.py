"""Retention floors: the date before which an arriving entry would be retired at once.

Retention keeps each category's newest `max_items` articles and retires an article that
falls out of every category it is in (`ArticleStore.expire_beyond`). A first run of many
feeds stores most entries only for the publish of the same run to delete them again (at
1,000 bench feeds, 74% of them; at 3,000, 92%), each normalised, pickled, stored and
retired. So a run keeps, per category, the newest `max_items` dates of the articles it has
written; once a category holds that many, an entry dated strictly before the oldest of them
will be beyond `max_items` whatever else arrives, and is retired on arrival instead: the
worker names it without cleaning it (`normalise_feed`'s `retire`, a `model.RetireBefore`),
and the store leaves its tombstone (`SourceWrite.retiring`).

Why that holds until the publish: only articles this run wrote count, and a run writes
each source once, so none of them moves or leaves its category before the publish
(articles of other sources may arrive, which only raises the true floor; retention by
another process keeps the newest, which stay newer). Articles stored before the run do
not count: their sources may yet be read in this run and move them. Nor is an entry whose
article is stored ever retired on arrival: it may sit in a category its source no longer
reaches (a rule taken out), where retention may keep it; the publish decides for it. Keep
and drop rules run on articles, after this: an entry one would drop is retired too. Left
open: on PostgreSQL a daemon sharing the store could read one of this run's sources again
before its publish, and move an article down; the worst that does is retire an entry that
would have been about the `max_items`-th newest.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from feeds.config import Config
from feeds.model import Article, RuleAction, Source


class RetentionFloors:
    """The newest `max_items` dates of each category among the articles one run wrote."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._newest: dict[str, list[datetime]] = {}  # a min-heap per category name

    def add(self, articles: Iterable[Article]) -> None:
        """Count articles just written (each once per run)."""
        for article in articles:
            for name in article.categories:
                newest = self._newest.setdefault(name, [])
                if len(newest) < self.max_items:
                    heapq.heappush(newest, article.published)
                elif article.published > newest[0]:
                    heapq.heapreplace(newest, article.published)

    def floor(self, categories: Iterable[str]) -> datetime | None:
        """The date before which an article in all of `categories` is retired: the oldest
        floor among them; None while any of them holds fewer than `max_items`."""
        floors: list[datetime] = []
        for name in categories:
            newest = self._newest.get(name)
            if newest is None or len(newest) < self.max_items:
                return None
            floors.append(newest[0])
        return min(floors, default=None)


def reachable_categories(source: Source, config: Config) -> frozenset[str] | None:
    """Every category an entry of a remote `source` can be published in: its source's
    category, and any a category rule (its own or a global one) can add. None when its
    entries name their own."""
    # Imported here: a run where every feed answers 304 never loads the normaliser.
    from feeds.normalise.html import clean_text

    own = clean_text(source.category or "")
    if not own:
        return None
    added = {
        rule.category
        for rule in (*source.rules, *config.rules)
        if rule.action is RuleAction.CATEGORY and rule.category
    }
    return frozenset({own, *added})
