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

That still stores every entry newer than the floor of its arrival: in a first run, the
first `max_items` entries of each category and every one that outdates the floor so far, of
which the publish retires most again (at 1,000 bench feeds, about 6,000 of 10,000 stored).
So a first read of a source (one with no entries in the store, no rules and no enrichers)
holds back, prepared but not cleaned, its dated entries older than where the floor will
likely end (`RetentionFloors.likely_floor`: the newest dates counted so far, taken as the
share of `max_items` that the share of the category's sources read so far will give; all
of them while too few are counted). They count at once, in their category, as articles
the run will write, and the rest of the read is written as ever, but without its
validators. Once every source is read (`Updater`), the held entries older than the final
floor are retired, the others cleaned and written, and the validators saved; should that
fail, the next run reads the feed whole. At 3,000 bench feeds a first run holds about
10,000 entries and keeps 165 of them; a run holds at most `HELD_BUDGET` bytes, packed.
With rules, which read the cleaned texts, an entry might be dropped or reach more
categories than it counted in: such sources store as before.

Why that holds until the publish: only articles this run wrote new or changed count, each
linked then to every category it names (one written unchanged keeps the links retention
left it, perhaps not all: `UpsertResult.linked`), and a run writes each source once, so
none of them moves or leaves its category before the publish (articles of other sources
may arrive, which only raises the true floor; retention by another process keeps the
newest, which stay newer). Articles stored before the run do
not count: their sources may yet be read in this run and move them. Nor is an entry whose
article is stored ever retired on arrival: it may sit in a category its source no longer
reaches (a rule taken out), where retention may keep it; the publish decides for it. Keep
and drop rules run on cleaned articles, after this, and an entry they leave out leaves no
tombstone when every entry is stored (should it change so that they let it in, it is
stored then): a source they apply to retires nothing on arrival (`Updater._filtered`). Left
open: on PostgreSQL a daemon sharing the store could read one of this run's sources again
before its publish, and move an article down; the worst that does is retire an entry that
would have been about the `max_items`-th newest. A forced run in another process may also
read a source between the two writes of its held entries; the later write's state stands,
and both are whole reads of the feed.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from feeds.config import Config
from feeds.model import Article, RuleAction, Source


class RetentionFloors:
    """The newest `max_items` dates of each category among the articles one run wrote."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        # A min-heap per category name, of microseconds since the epoch: comparing aware
        # datetimes asks each for its offset, several times slower than comparing ints.
        self._newest: dict[str, list[int]] = {}

    def add(self, articles: Iterable[Article]) -> None:
        """Count articles just written (each once per run)."""
        for article in articles:
            for name in article.categories:
                self.count(name, article.published)

    def count(self, category: str, published: datetime) -> None:
        """Count one article in one category: written, or held to be written unless the
        final floors retire it (then it is older than all they keep: it no longer counts)."""
        newest = self._newest.setdefault(category, [])
        when = (published - EPOCH) // MICROSECOND
        if len(newest) < self.max_items:
            heapq.heappush(newest, when)
        elif when > newest[0]:
            heapq.heapreplace(newest, when)

    def likely_floor(self, category: str, share: float) -> datetime | None:
        """Where the floor of `category` will likely end once every source is read, when
        `share` of its sources have been: the newest dates counted so far are taken as that
        share of the final `max_items` (sources arrive in no order of their dates). None
        while too few are counted to tell."""
        rank = max(1, math.ceil(self.max_items * min(share, 1.0)))
        newest = self._newest.get(category, [])
        if len(newest) < rank:
            return None
        return EPOCH + MICROSECOND * sorted(newest)[-rank]

    def floor(self, categories: Iterable[str]) -> datetime | None:
        """The date before which an article in all of `categories` is retired: the oldest
        floor among them; None while any of them holds fewer than `max_items`."""
        floors: list[int] = []
        for name in categories:
            newest = self._newest.get(name)
            if newest is None or len(newest) < self.max_items:
                return None
            floors.append(newest[0])
        return EPOCH + MICROSECOND * min(floors) if floors else None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


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
