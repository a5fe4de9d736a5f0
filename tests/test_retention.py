"""Finding 2 of issue 12: retired articles leave only small tombstones, a bounded number
per source; equal dates never retire a new arrival at once.

Before: retired rows kept their title, id, link, authors and tags for ever (6 polls of a
50-item feed with 200 KB titles and new ids took a store from 20 to 72 MB).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from feeds.model import Article, RawEntry, RawFeed, Source, SourceKind, article_id
from feeds.normalise import limits
from feeds.normalise.article import normalise_feed
from feeds.store import ArticleStore
from feeds.store.retention import RETIRED_PER_SOURCE, trim
from feeds.store.schema import articles, retired_entries

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="churn", kind=SourceKind.REMOTE, interval=timedelta(minutes=5),
    url="https://churn.example/feed.xml", category="Churn",
)  # fmt: skip


def article(entry_id: str, published: datetime = NOW) -> Article:
    return Article(
        id=article_id("src", entry_id), source="src", entry_id=entry_id, title=entry_id,
        link=f"https://example.org/{entry_id}", summary="", content="<p>c</p>", authors=(),
        published=published, updated=published, categories=("Technik",), language=None,
    )  # fmt: skip


def tombstones(store: ArticleStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(retired_entries)).scalar_one())


def rows(store: ArticleStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())


def test_a_new_arrival_dated_like_the_oldest_kept_is_not_retired(store: ArticleStore) -> None:
    store.upsert_articles("src", [article(x) for x in ("a", "b", "c")], NOW)
    assert store.expire_beyond(3) == 0
    assert store.number_arrivals() == 3  # published
    # An arrival with the same date whose id sorts after every other one's: ranked by id,
    # it was the one retired, at once, leaving a hole in the archive page it arrived on.
    late = next(
        f"late-{n}"
        for n in range(1000)
        if article_id("src", f"late-{n}") > max(article_id("src", x) for x in "abc")
    )
    store.upsert_articles("src", [article(late)], NOW + timedelta(minutes=5))
    assert store.expire_beyond(3) == 1
    kept = {a.entry_id for a in store.recent_articles("technik", 10)}
    assert late in kept and len(kept) == 3
    store.number_arrivals()
    highest, entries = store.archive("technik")
    assert highest == 4 and [seq for seq, _ in entries] == [2, 3, 4]


def test_retired_rows_become_tombstones_that_keep_them_retired(store: ArticleStore) -> None:
    batch = [article(str(i), NOW - timedelta(hours=i)) for i in range(5)]
    store.upsert_articles("src", batch, NOW)
    assert store.expire_beyond(3) == 2
    assert rows(store) == 3 and tombstones(store) == 2
    with store.engine.connect() as conn:
        kept = {r.entry_id for r in conn.execute(select(articles.c.entry_id))}
    assert kept == {"0", "1", "2"}  # no title, link or id of the retired ones is left
    again = store.upsert_articles("src", batch, NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)


def test_rows_an_older_store_kept_as_expired_become_tombstones(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("old"), article("new")], NOW)
    with store.engine.begin() as conn:  # what retention used to leave
        conn.execute(update(articles).where(articles.c.entry_id == "old").values(expired=True))
    assert store.expire_beyond(10) == 1
    assert rows(store) == 1 and tombstones(store) == 1
    again = store.upsert_articles("src", [article("old")], NOW)
    assert again.new == 0


def test_tombstones_per_source_are_bounded_oldest_first(store: ArticleStore) -> None:
    store.upsert_articles("src", [article(str(i), NOW - timedelta(hours=i)) for i in range(8)], NOW)
    store.expire_beyond(1)
    assert tombstones(store) == 7
    with store.engine.begin() as conn:
        trim(conn, {"src"}, keep=3)
    assert tombstones(store) == 3
    # The three most recently retired are remembered; older ones would arrive as new.
    again = store.upsert_articles(
        "src", [article(str(i), NOW - timedelta(hours=i)) for i in range(8)], NOW
    )
    assert again.new == 4 and again.unchanged == 4


def test_trimming_many_sources_drops_only_the_oldest_beyond_the_bound(
    store: ArticleStore,
) -> None:
    counts = {"a": 5, "b": 3, "c": 2}
    with store.engine.begin() as conn:
        for n in range(5):  # interleaved, so a source's oldest are not the table's oldest
            conn.execute(
                retired_entries.insert(),
                [
                    {"source": source, "entry_hash": f"{source}{n}"}
                    for source, count in counts.items()
                    if n < count
                ],
            )
        trim(conn, {"a", "b", "c", "unknown"}, keep=3)
    with store.engine.connect() as conn:
        kept = conn.execute(select(retired_entries.c.source, retired_entries.c.entry_hash)).all()
    assert sorted(kept) == [
        ("a", "a2"), ("a", "a3"), ("a", "a4"), ("b", "b0"), ("b", "b1"), ("b", "b2"),
        ("c", "c0"), ("c", "c1"),
    ]  # fmt: skip


def test_a_feed_that_changes_every_id_keeps_the_store_bounded(tmp_path: Path) -> None:
    database = tmp_path / "feeds.db"
    store = ArticleStore.open(f"sqlite:///{database}")
    polls, items, max_items = 45, 50, 20  # 2,250 entries: past the tombstone bound
    title = "T" * 20_000
    try:
        for poll in range(polls):
            feed = RawFeed(
                entries=tuple(
                    RawEntry(
                        entry_id=f"urn:churn:{poll}:{n}",
                        title=title,
                        link=f"https://churn.example/{poll}/{n}",
                        content_html="<p>x</p>",
                        published=(NOW + timedelta(minutes=poll)).isoformat(),
                    )
                    for n in range(items)
                )
            )
            normalised = normalise_feed(
                feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None
            )
            store.upsert_articles(SOURCE.name, normalised.articles, NOW)
            store.expire_beyond(max_items)
        assert rows(store) == max_items
        assert tombstones(store) == RETIRED_PER_SOURCE
    finally:
        store.close()
    with sqlite3.connect(database) as db:
        longest = db.execute("SELECT max(length(title)) FROM articles").fetchone()[0]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert longest == limits.TITLE
    # 20 live rows and 2,000 tombstones; before, 2,250 rows with 20 KB titles (45 MB).
    assert os.path.getsize(database) < 2 * 1024 * 1024
