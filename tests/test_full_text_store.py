"""The store's side of full text, on SQLite and PostgreSQL: what was tried for each entry is
kept with it, read back by entry, counted for `feeds status`; a version-5 store gains the
columns."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.model import Article, FullText, FullTextTally, article_id
from feeds.status import full_text_text
from feeds.store import ArticleStore
from feeds.store.schema import SCHEMA_VERSION

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
FULL_TEXT_COLUMNS = ("full_text_for", "full_text_error", "full_text_etag", "full_text_modified")


def article(entry: str, full_text: FullText | None, minutes: int = 0) -> Article:
    when = NOW - timedelta(minutes=minutes)
    return Article(
        id=article_id("S", entry), source="S", entry_id=entry, title=entry,
        link=f"https://e.org/{entry}", summary="teaser", content="<p>teaser</p>", authors=(),
        published=when, updated=when, categories=("C",), language=None, full_text=full_text,
    )  # fmt: skip


def test_full_text_is_stored_with_its_entry_and_counted(store: ArticleStore) -> None:
    done = FullText("h1", None, '"etag"', "Mon, 30 Nov 2026 08:00:00 GMT")
    entries = [
        replace(article("a", done), content="<p>the whole article</p>"),
        article("b", FullText("h2", "HTTP 404 Not Found")),
        article("c", FullText("h3", "HTTP 404 Not Found")),
        article("d", FullText("h4", "disallowed by https://e.org/robots.txt")),
        article("e", None),  # waiting for the next run
    ]
    assert store.upsert_articles("S", entries, NOW).new == 5
    known = store.stored_entries("S", ["a", "b", "e", "unknown"])
    assert set(known) == {"a", "b", "e"}
    assert known["a"] == entries[0]
    assert known["b"] is not None and known["b"].full_text == entries[1].full_text
    assert known["e"] is not None and known["e"].full_text is None
    tally = store.full_text_tallies()
    assert tally == {
        "S": FullTextTally(
            total=5,
            tried=4,
            failed=3,
            reasons={"HTTP 404 Not Found": 2, "disallowed by https://e.org/robots.txt": 1},
        )
    }
    assert full_text_text(tally["S"]) == (
        "1 of 5, 3 failed: HTTP 404 Not Found (2); disallowed by https://e.org/robots.txt (1)"
    )
    # A failure recorded changes the article's digest, so it is written (and kept) at all.
    assert entries[1].content_hash != replace(entries[1], full_text=None).content_hash


def test_a_retired_entry_reads_as_retired_so_its_page_is_not_fetched(store: ArticleStore) -> None:
    entries = [article(f"e{n}", None, minutes=n) for n in range(3)]
    store.upsert_articles("S", entries, NOW)
    assert store.expire_beyond(2) == 1
    known = store.stored_entries("S", ["e0", "e1", "e2"])
    assert known["e2"] is None and known["e0"] is not None
    assert "S" not in store.full_text_tallies()  # nothing tried: no full-text line


def test_a_version_5_store_gains_the_full_text_columns(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    store = ArticleStore.open(f"sqlite:///{path}")
    store.upsert_articles("S", [article("old", None)], NOW)
    store.close()
    db = sqlite3.connect(path)
    for column in FULL_TEXT_COLUMNS:
        db.execute(f"alter table articles drop column {column}")
    db.execute("update schema_info set version = 5")
    db.commit()
    db.close()
    store = ArticleStore.open(f"sqlite:///{path}")
    try:
        (old,) = store.recent_articles(None, 10)
        assert old.full_text is None and old.title == "old"
    finally:
        store.close()
    db = sqlite3.connect(path)
    present = {name for (name,) in db.execute("select name from pragma_table_info('articles')")}
    assert set(FULL_TEXT_COLUMNS) <= present
    assert db.execute("select version from schema_info").fetchall() == [(SCHEMA_VERSION,)]
