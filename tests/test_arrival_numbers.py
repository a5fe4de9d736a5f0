"""Arrival numbers are given at a link's first publish, once, under concurrent publishers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text
from support.waiting import wait_for

from feeds.model import Article, article_id
from feeds.store import ArticleStore
from feeds.store.arrivals import number_arrivals
from feeds.store.copy import copy_store
from feeds.store.schema import article_categories, category_sequences

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def article(entry_id: str, category: str = "Technik", hours: int = 0) -> Article:
    published = NOW + timedelta(hours=hours)
    return Article(
        id=article_id("src", entry_id), source="src", entry_id=entry_id, title=entry_id,
        link=f"https://example.org/{entry_id}", summary="", content="<p>c</p>", authors=(),
        published=published, updated=published, categories=(category,), language=None,
    )  # fmt: skip


def numbers(store: ArticleStore) -> dict[str, list[int]]:
    """Each category's arrival numbers, in order (0: not numbered)."""
    found: dict[str, list[int]] = {}
    with store.engine.connect() as conn:
        query = select(article_categories.c.category_slug, article_categories.c.seq)
        for slug, seq in conn.execute(query.order_by(article_categories.c.seq)):
            found.setdefault(slug, []).append(seq)
    return found


def archived(store: ArticleStore) -> list[tuple[int, str]]:
    """The technik category's numbered live entries: (arrival number, entry id), in order."""
    return [(n, a.entry_id) for n, a in store.archive("technik")[1]]


def counters(store: ArticleStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        query = select(category_sequences.c.category_slug, category_sequences.c.next_seq)
        return {slug: next_seq for slug, next_seq in conn.execute(query)}


def backend(store: ArticleStore) -> int:
    """The backend pid of the pooled connection `store`'s next statement runs on."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def waits_on_a_lock(store: ArticleStore, pid: int) -> bool:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND wait_event_type = 'Lock'"
    )
    with store.engine.connect() as conn:
        return bool(conn.execute(query, {"pid": pid}).scalar_one())


def test_links_are_numbered_when_published_oldest_first(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("b", hours=2), article("a", hours=1)], NOW)
    store.upsert_articles("src", [article("c", hours=0)], NOW)  # a later write, older date
    assert numbers(store) == {"technik": [0, 0, 0]} and counters(store) == {}
    assert store.number_arrivals() == 3
    assert archived(store) == [
        (1, "c"),
        (2, "a"),
        (3, "b"),
    ]
    # Numbers go on after those handed out, whatever the new entries' dates.
    store.upsert_articles("src", [article("d", hours=-5)], NOW)
    assert store.number_arrivals() == 1 and store.number_arrivals() == 0
    assert store.archive("technik")[0] == 4 and counters(store) == {"technik": 5}


def test_retention_ranks_unpublished_links_as_the_newest_arrivals(store: ArticleStore) -> None:
    store.upsert_articles("src", [article(x) for x in ("a", "b")], NOW)
    store.number_arrivals()
    # Three more of the same date, not published yet: they rank newer than a and b, and
    # among themselves as they will be numbered (by id), as the feed shows them.
    late = ["c", "d", "e"]
    store.upsert_articles("src", [article(x) for x in late], NOW)
    assert store.expire_beyond(2) == 3
    newest = sorted(late, key=lambda x: article_id("src", x))[1:]
    assert [a.entry_id for a in store.recent_articles("technik", 5)] == newest[::-1]
    store.number_arrivals()
    assert [n for n, _ in store.archive("technik")[1]] == [3, 4]


def test_concurrent_publishers_number_each_link_once(pg_url: str) -> None:
    first, second = ArticleStore.open(pg_url), ArticleStore.open(pg_url)
    try:
        first.upsert_articles("src", [article(f"t{n}", hours=n) for n in range(3)], NOW)
        first.upsert_articles("src", [article(f"s{n}", "Sport", n) for n in range(3)], NOW)
        assert first.number_arrivals() == 6  # both counters exist from here on
        first.upsert_articles("src", [article(f"t{n}", hours=n) for n in (3, 4)], NOW)
        first.upsert_articles("src", [article(f"s{n}", "Sport", n) for n in (3, 4)], NOW)
        pid = backend(second)
        taken: list[int] = []
        with first.engine.connect() as conn, conn.begin():
            assert number_arrivals(conn) == 4  # holds both counters until it commits
            publisher = threading.Thread(target=lambda: taken.append(second.number_arrivals()))
            publisher.start()
            assert wait_for(lambda: waits_on_a_lock(first, pid))
            # A writer is not held up, and its links wait for the next publish.
            first.upsert_articles("src", [article(f"t{n}", hours=n) for n in (5, 6)], NOW)
        publisher.join(30)
        assert taken == [2]
        assert numbers(first) == {"technik": [1, 2, 3, 4, 5, 6, 7], "sport": [1, 2, 3, 4, 5]}
        assert counters(first) == {"technik": 8, "sport": 6}
    finally:
        first.close()
        second.close()


def test_a_link_a_writer_holds_is_numbered_by_the_next_publish(pg_url: str) -> None:
    store = ArticleStore.open(pg_url)
    try:
        store.upsert_articles("src", [article(x, hours=h) for h, x in enumerate("abc")], NOW)
        held = article_categories.update().where(
            article_categories.c.article_id == article_id("src", "a")
        )
        done: list[int] = []
        with store.engine.connect() as writer, writer.begin():
            writer.execute(held.values(category="Technik"))  # an edit in flight
            publisher = threading.Thread(target=lambda: done.append(store.number_arrivals()))
            publisher.start()
            assert wait_for(lambda: bool(done))  # not waiting for the writer
        publisher.join(30)
        assert done == [2]
        assert store.number_arrivals() == 1
        assert archived(store) == [
            (1, "b"),
            (2, "c"),
            (3, "a"),
        ]
    finally:
        store.close()


def test_migrate_store_keeps_numbers_and_leaves_unpublished_links_to_the_target(
    tmp_path: Path, pg_url: str
) -> None:
    source = ArticleStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    target = ArticleStore.open(pg_url)
    try:
        source.upsert_articles("src", [article("a", hours=1), article("b", hours=2)], NOW)
        source.number_arrivals()
        source.upsert_articles("src", [article("c", hours=0)], NOW)  # stored, not published
        copy_store(source, target)
        assert numbers(target) == {"technik": [0, 1, 2]} and counters(target) == {"technik": 3}
        assert target.number_arrivals() == 1
        assert archived(target) == [
            (1, "a"),
            (2, "b"),
            (3, "c"),
        ]
    finally:
        source.close()
        target.close()
