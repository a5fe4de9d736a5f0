"""The store against real databases: a SQLite file and the PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from feeds.model import (
    Article,
    Author,
    Enclosure,
    FetchOutcome,
    FetchState,
    article_id,
    newest_first,
)
from feeds.publish.fragments import article_digest
from feeds.store import ArticleStore, SourceWrite, StaleLeaseError, StoreError
from feeds.store.schema import SCHEMA_VERSION

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def article(
    entry_id: str,
    *,
    source: str = "src",
    published: datetime = NOW,
    category: str = "Technik",
    title: str | None = None,
) -> Article:
    return Article(
        id=article_id(source, entry_id),
        source=source,
        entry_id=entry_id,
        title=title or f"Title {entry_id}",
        link=f"https://example.org/{entry_id}",
        summary="Summary „quoted“",
        content="<p>Content</p>",
        authors=(Author("Ada"), Author("Bob", email="bob@example.org")),
        published=published,
        updated=published,
        categories=(category,),
        language="de",
        enclosures=(Enclosure("https://example.org/a.mp3", "audio/mpeg", 123),),
        tags=("x", "y"),
    )


def test_round_trip_keeps_every_field_and_the_offset(store: ArticleStore) -> None:
    berlin = datetime(2025, 5, 10, 11, 33, tzinfo=timezone(timedelta(hours=2)))
    original = article("a", published=berlin)
    store.upsert_articles("src", [original], NOW)
    [loaded] = store.recent_articles("technik", 10)
    assert loaded == original
    assert loaded.published.isoformat() == "2025-05-10T11:33:00+02:00"


def test_an_article_read_back_brings_the_hash_stored_with_it(
    store: ArticleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = article("a")
    store.upsert_articles("src", [original], NOW)

    def hashed_again(self: Article) -> str:
        raise AssertionError(f"{self.id}: its texts were hashed again")

    # A publish reads thousands of articles: their digests come from the stored hash.
    monkeypatch.setattr(Article, "_digest", hashed_again)
    [loaded] = store.recent_articles("technik", 10)
    assert loaded.content_hash == original.content_hash
    assert article_digest(loaded) == article_digest(original)


def test_upsert_is_idempotent_and_replaces_changed_entries(store: ArticleStore) -> None:
    first = store.upsert_articles("src", [article("a"), article("b")], NOW)
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert first.changed_categories == {"technik"}
    again = store.upsert_articles("src", [article("a"), article("b")], NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert again.changed_categories == frozenset()
    edited = store.upsert_articles("src", [article("a", title="New title")], NOW)
    assert (edited.new, edited.updated) == (0, 1)
    titles = sorted(a.title for a in store.recent_articles("technik", 10))
    assert titles == ["New title", "Title b"]
    assert store.article_count() == 2


def test_same_entry_id_in_two_sources_is_two_articles(store: ArticleStore) -> None:
    store.upsert_articles("one", [article("a", source="one")], NOW)
    store.upsert_articles("two", [article("a", source="two")], NOW)
    assert store.article_count() == 2


def test_category_change_moves_the_article(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("a", category="Technik")], NOW)
    result = store.upsert_articles("src", [article("a", category="Welt Nachrichten")], NOW)
    # Both changed: the old category must be republished without it.
    assert result.changed_categories == {"welt-nachrichten", "technik"}
    assert store.recent_articles("technik", 10) == []
    assert [c.slug for c in store.categories()] == ["welt-nachrichten"]


def test_recent_articles_newest_first_and_all(store: ArticleStore) -> None:
    batch = [
        article(str(i), published=NOW - timedelta(hours=i), category="AB"[i % 2]) for i in range(6)
    ]
    store.upsert_articles("src", batch, NOW)
    assert [a.entry_id for a in store.recent_articles("a", 10)] == ["0", "2", "4"]
    assert [a.entry_id for a in store.recent_articles(None, 4)] == ["0", "1", "2", "3"]
    assert [(c.name, c.slug) for c in store.categories()] == [("A", "a"), ("B", "b")]


def test_recent_articles_break_date_ties_as_the_publisher_does(store: ArticleStore) -> None:
    """Among equal dates the store's newest few are those `newest_first` puts first, in its
    order: a partial publish takes front-page previews from here."""
    tied = [article(str(i), category="AB"[i % 2]) for i in range(8)]
    older = article("old", published=NOW - timedelta(hours=1))
    store.upsert_articles("src", [older, *tied], NOW)
    ids = lambda found: [a.id for a in found]  # noqa: E731
    assert ids(store.recent_articles(None, 3)) == ids(newest_first(tied)[:3])
    assert ids(store.recent_articles("a", 2)) == ids(newest_first(tied[::2])[:2])
    assert ids(store.recent_articles(None, 9)) == ids([*newest_first(tied), older])


def test_recent_articles_take_the_known_ones_instead_of_reading_them(
    store: ArticleStore,
) -> None:
    """A publish reads all/'s newest after its categories': those already read are reused
    (the same objects), the others read, in the same order as a plain read."""
    batch = [
        article(str(i), published=NOW - timedelta(hours=i), category="AB"[i % 2]) for i in range(6)
    ]
    store.upsert_articles("src", batch, NOW)
    known = {a.id: a for a in store.recent_articles("a", 10)}
    found = store.recent_articles(None, 4, known)
    assert found == store.recent_articles(None, 4)
    assert [a.entry_id for a in found] == ["0", "1", "2", "3"]
    assert all(a is known[a.id] for a in found if a.id in known)
    assert [a.entry_id for a in store.recent_articles("b", 2, known)] == ["1", "3"]


def test_retention_keeps_newest_and_does_not_resurrect(store: ArticleStore) -> None:
    batch = [article(str(i), published=NOW - timedelta(hours=i)) for i in range(5)]
    store.upsert_articles("src", batch, NOW)
    assert store.expire_beyond(3) == 2
    assert [a.entry_id for a in store.recent_articles("technik", 10)] == ["0", "1", "2"]
    # The source still lists the old entries: they stay retired, not "new" again.
    again = store.upsert_articles("src", batch, NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert store.expire_beyond(3) == 0
    assert store.article_count() == 3


def test_first_seen_is_kept_across_updates(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("a")], NOW)
    later = NOW + timedelta(days=1)
    store.upsert_articles("src", [article("a", title="changed")], later)
    assert store.first_seen("src", ["a", "missing"]) == {"a": NOW}


def test_many_entries_in_one_batch(store: ArticleStore) -> None:
    batch = [article(f"e{i}", published=NOW - timedelta(minutes=i)) for i in range(1200)]
    assert store.upsert_articles("src", batch, NOW).new == 1200
    assert len(store.first_seen("src", [a.entry_id for a in batch])) == 1200


def test_fetch_state_round_trip(store: ArticleStore) -> None:
    assert store.fetch_state("src") is None
    state = FetchState(
        source="src", url="https://example.org/feed", etag='"abc"',
        last_modified="Sat, 10 May 2025 09:33:00 GMT", body_hash="f" * 64, last_fetch=NOW,
        last_outcome=FetchOutcome.NEW, last_status=200, next_due=NOW + timedelta(minutes=30),
        error_count=0,
    )  # fmt: skip
    store.save_fetch_state(state)
    assert store.fetch_state("src") == state
    failed = replace(state, last_outcome=FetchOutcome.FAILED, error_count=3, last_error="HTTP 500")
    store.save_fetch_state(failed)
    assert store.fetch_states() == {"src": failed}


def test_every_field_of_a_fetch_state_reads_back_in_its_own_place(store: ArticleStore) -> None:
    """States are decoded by column position (feeds/store/articles.py `_state_from`): with
    every field distinct, a column read into another field's place cannot go unseen."""
    state = FetchState(
        source="src", url="https://example.org/feed", etag='"abc"',
        last_modified="Sat, 10 May 2025 09:33:00 GMT", body_hash="f" * 64, last_fetch=NOW,
        last_outcome=FetchOutcome.NEW, last_status=200, next_due=NOW - timedelta(minutes=1),
        error_count=4, last_error="HTTP 500", config_hash="c" * 64,
        retry_after=NOW - timedelta(minutes=2), warnings="a warning", feed_title="A title",
        site_url="https://example.org/", due_reason="ttl 60m", entry_digests="0123" * 16,
    )  # fmt: skip
    # Every field set apart from its default: a field added to FetchState must be set here.
    assert all(getattr(state, f.name) != f.default for f in fields(FetchState))
    store.save_fetch_state(state)
    assert store.fetch_state("src") == state
    assert store.fetch_states(["src"]) == {"src": state}
    claimed = store.claim_states(["src"], "w1", NOW, NOW + timedelta(minutes=5))
    assert [found for _, found in claimed] == [state]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE source_state SET last_outcome = 'gone'"))
    gone = replace(state, last_outcome=FetchOutcome.GONE)
    assert store.states_with_outcome(FetchOutcome.GONE) == {"src": gone}


def test_reopening_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feeds.db'}"
    first = ArticleStore.open(url)
    first.upsert_articles("src", [article("a")], NOW)
    first.close()
    second = ArticleStore.open(url)
    assert second.article_count() == 1
    second.close()


def test_bad_url_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open store"):
        ArticleStore.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_delete_missing_removes_only_vanished_entries(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("a"), article("b", category="Sport")], NOW)
    store.upsert_articles("other", [article("z", source="other")], NOW)
    assert store.delete_missing("src", frozenset({"a"})) == {"sport"}
    assert sorted(a.entry_id for a in store.recent_articles(None, 10)) == ["a", "z"]
    assert store.delete_missing("src", frozenset({"a"})) == frozenset()
    # A file that comes back is new again (no tombstone).
    assert store.upsert_articles("src", [article("b")], NOW).new == 1


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE schema_info (version INTEGER NOT NULL);
        INSERT INTO schema_info VALUES (1);
        CREATE TABLE source_state (
            source TEXT PRIMARY KEY, url TEXT, etag TEXT, last_modified TEXT,
            body_hash VARCHAR(64), last_fetch_utc VARCHAR(32), last_outcome VARCHAR(20),
            last_status INTEGER, next_due_utc VARCHAR(32), error_count INTEGER NOT NULL,
            last_error TEXT, config_hash VARCHAR(64)
        );
        INSERT INTO source_state (source, etag, error_count) VALUES ('kept', '"e1"', 0);
        """
    )
    db.commit()
    db.close()
    store = ArticleStore.open(f"sqlite:///{path}")
    try:
        state = store.fetch_state("kept")
        assert state is not None and state.etag == '"e1"' and state.warnings is None
        store.save_fetch_state(replace(state, warnings="recovered"))
        assert store.fetch_states()["kept"].warnings == "recovered"
    finally:
        store.close()
    version = sqlite3.connect(path).execute("select version from schema_info").fetchall()
    assert version == [(SCHEMA_VERSION,)]


def test_a_newer_store_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    ArticleStore.open(url).close()
    import sqlite3

    db = sqlite3.connect(tmp_path / "new.db")
    db.execute("update schema_info set version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="version 99, newer than this feeds"):
        ArticleStore.open(url)


def test_archive_takes_the_articles_it_is_given_and_reads_the_rest(
    store: ArticleStore,
) -> None:
    store.upsert_articles(
        "src", [article(n, published=NOW + timedelta(hours=int(n))) for n in "123"], NOW
    )
    store.number_arrivals()
    newest = store.recent_articles("technik", 2)  # articles 3 and 2
    stand_in = replace(newest[0], title="as given")  # shows which object was taken
    highest, entries = store.archive("technik", {stand_in.id: stand_in, newest[1].id: newest[1]})
    assert highest == 3
    assert [(seq, a.entry_id) for seq, a in entries] == [(1, "1"), (2, "2"), (3, "3")]
    assert entries[2][1] is stand_in and entries[1][1] is newest[1]
    assert entries[0][1] == store.recent_articles("technik", 3)[2]  # read: not given
    assert store.archive("technik") == (
        3,
        [
            (n, a)
            for n, a in zip((1, 2, 3), reversed(store.recent_articles("technik", 3)), strict=True)
        ],
    )


def test_arrival_numbers_are_kept_across_edits_and_never_reused(store: ArticleStore) -> None:
    old = NOW - timedelta(days=3)
    store.upsert_articles("src", [article("a", published=NOW), article("b", published=old)], NOW)
    assert store.archive("technik") == (0, [])  # numbered when first published
    assert store.number_arrivals() == 2
    # Among the arrivals a publish numbers, the older entry comes first.
    highest, entries = store.archive("technik")
    assert highest == 2
    assert [(seq, a.entry_id) for seq, a in entries] == [(1, "b"), (2, "a")]
    # An edit keeps the number; a late entry with an old date still arrives last.
    store.upsert_articles("src", [article("b", published=old, title="edited")], NOW)
    store.upsert_articles("src", [article("c", published=old - timedelta(days=9))], NOW)
    store.number_arrivals()
    highest, entries = store.archive("technik")
    assert highest == 3
    assert [(seq, a.entry_id, a.title) for seq, a in entries] == [
        (1, "b", "edited"),
        (2, "a", "Title a"),
        (3, "c", "Title c"),
    ]
    # Moving to another category and back gives a new number; old ones are not reused.
    store.upsert_articles("src", [article("a", published=NOW, category="Sport")], NOW)
    store.number_arrivals()
    store.upsert_articles("src", [article("a", published=NOW)], NOW)
    store.number_arrivals()
    assert [(seq, a.entry_id) for seq, a in store.archive("technik")[1]] == [
        (1, "b"),
        (3, "c"),
        (4, "a"),
    ]
    assert store.archive("sport") == (1, [])


def test_a_version_2_store_gets_arrival_numbers(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'v2.db'}"
    store = ArticleStore.open(url)
    batch = [article(str(i), published=NOW - timedelta(hours=i)) for i in range(3)]
    store.upsert_articles("src", batch, NOW)
    store.close()
    db = sqlite3.connect(tmp_path / "v2.db")
    db.executescript(
        "update schema_info set version = 2; update article_categories set seq = 0;"
        "delete from category_sequences;"
    )
    db.commit()
    db.close()
    store = ArticleStore.open(url)
    try:
        highest, entries = store.archive("technik")
        assert highest == 3
        assert [(seq, a.entry_id) for seq, a in entries] == [(1, "2"), (2, "1"), (3, "0")]
        store.upsert_articles("src", [article("new")], NOW)
        store.number_arrivals()
        assert store.archive("technik")[0] == 4
    finally:
        store.close()


def test_claims_lease_each_source_once_until_it_expires(store: ArticleStore) -> None:
    names = [f"s{i}" for i in range(5)]
    store.ensure_states(names)
    until = NOW + timedelta(minutes=5)
    first = {lease.source: lease for lease in store.claim(names, "w1", NOW, until)}
    assert sorted(first) == names
    assert {lease.fence for lease in first.values()} == {1}
    assert store.claim(names, "w2", NOW, until) == []  # all leased
    # w1 finishes s0: lease released, state saved, not due again before next_due.
    done = FetchState("s0", next_due=NOW + timedelta(hours=1))
    store.save_fetch_state(done, first["s0"])
    assert store.claim(names, "w2", NOW + timedelta(minutes=1), until) == []
    # w1 stalls; its leases expire and w2 takes the rest over with a higher fence.
    later = NOW + timedelta(minutes=6)
    taken = store.claim(names, "w2", later, later + timedelta(minutes=5))
    assert sorted(lease.source for lease in taken) == names[1:]
    assert {lease.fence for lease in taken} == {2}
    # w1's late write-back is refused and changes nothing.
    stale = first["s1"]
    with pytest.raises(StaleLeaseError):
        store.upsert_articles("s1", [article("late", source="s1")], later, FetchState("s1"), stale)
    assert store.article_count() == 0
    # force ignores next_due but never a live lease or Retry-After.
    store.save_fetch_state(FetchState("s0", retry_after=later + timedelta(hours=1)))
    assert store.claim(["s0"], "w3", later, later, force=True) == []


def test_a_claim_returns_each_claimed_source_state(store: ArticleStore) -> None:
    names = ["a", "b", "c"]
    store.ensure_states(names)
    saved = FetchState("b", url="http://b.example/feed", etag='"v1"', next_due=NOW, error_count=2)
    store.save_fetch_state(saved)
    claimed = store.claim_states(names, "w1", NOW, NOW + timedelta(minutes=5))
    assert sorted((lease.source, lease.owner, lease.fence) for lease, _ in claimed) == [
        ("a", "w1", 1),
        ("b", "w1", 1),
        ("c", "w1", 1),
    ]
    assert {lease.source: state for lease, state in claimed} == {
        "a": FetchState("a"),
        "b": saved,
        "c": FetchState("c"),
    }


def test_a_claim_over_many_names_takes_the_longest_overdue_of_all(store: ArticleStore) -> None:
    # More names than one IN list of a statement used to hold (500): the most overdue
    # sort last by name.
    names = [f"s{i:04d}" for i in range(600)]
    store.ensure_states(names)
    due = [FetchState(name, next_due=NOW - timedelta(seconds=n)) for n, name in enumerate(names)]
    store.write([SourceWrite(state.source, state=state) for state in due])
    claimed = store.claim(names, "w1", NOW, NOW + timedelta(minutes=5), limit=3)
    assert sorted(lease.source for lease in claimed) == names[-3:]


def test_concurrent_claims_from_many_workers_never_overlap(
    store: ArticleStore, tmp_path: Path
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    names = [f"s{i}" for i in range(200)]
    store.ensure_states(names)
    url = store.engine.url.render_as_string(hide_password=False)
    # Every worker stays open until all have claimed: on PostgreSQL a closed store's
    # leases are free at once (its session ended, as a dead process's does).
    all_claimed = threading.Barrier(8, timeout=60)

    def worker(number: int) -> list[str]:
        mine = ArticleStore.open(url)
        try:
            got: list[str] = []
            for _ in range(10):
                leases = mine.claim(names, f"w{number}", NOW, NOW + timedelta(minutes=5))
                got.extend(lease.source for lease in leases)
            all_claimed.wait()
            return got
        finally:
            mine.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    claimed = [name for result in results for name in result]
    assert sorted(claimed) == sorted(names)  # every source exactly once


def test_pending_publish_marks(store: ArticleStore) -> None:
    store.upsert_articles("src", [article("a"), article("b", category="Sport")], NOW)
    seen = store.pending()
    assert set(seen) == {"technik", "sport"}
    store.upsert_articles("src", [article("c")], NOW)  # changes again while publishing
    store.published(seen)
    assert set(store.pending()) == {"technik"}  # the newer mark stays
    store.published(store.pending())
    assert store.pending() == {}


def test_many_processes_opening_a_new_postgresql_store_at_once(pg_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_and_close(_: int) -> int:
        store = ArticleStore.open(pg_url)
        store.close()
        return 1

    with ThreadPoolExecutor(6) as pool:
        assert sum(pool.map(open_and_close, range(6))) == 6


def test_a_version_4_store_gains_every_column_the_schema_has(tmp_path: Path) -> None:
    import sqlite3

    from feeds.store.schema import metadata

    path = tmp_path / "v4.db"
    ArticleStore.open(f"sqlite:///{path}").close()
    # Make it a version-4 store: every column that is not in the version-4 schema goes.
    version_4_columns = {
        "articles": {
            "id", "source", "entry_id", "title", "link", "summary", "content", "authors",
            "published", "updated", "published_utc", "categories", "language", "enclosures",
            "tags", "content_hash", "first_seen_utc", "expired",
        },
        "source_state": {
            "source", "url", "etag", "last_modified", "body_hash", "last_fetch_utc",
            "last_outcome", "last_status", "next_due_utc", "error_count", "last_error",
            "config_hash", "retry_after_utc", "warnings", "lease_owner", "lease_expires_utc",
            "fence",
        },
        "article_categories": {"category_slug", "article_id", "category", "published_utc", "seq"},
        "category_sequences": {"category_slug", "next_seq"},
        "pending_publish": {"category_slug", "version"},
    }  # fmt: skip
    db = sqlite3.connect(path)
    db.execute("drop table category_slugs")  # new in version 5
    db.execute("drop table publish_problems")  # new in version 7
    db.execute("drop table document_fragments")  # new in version 9
    for table, kept in version_4_columns.items():
        for (name,) in db.execute(f"select name from pragma_table_info('{table}')").fetchall():
            if name not in kept:
                db.execute(f"alter table {table} drop column {name}")
    db.execute("update schema_info set version = 4")
    db.commit()
    db.close()
    ArticleStore.open(f"sqlite:///{path}").close()
    db = sqlite3.connect(path)
    for table in metadata.sorted_tables:
        present = {n for (n,) in db.execute(f"select name from pragma_table_info('{table.name}')")}
        assert present == {c.name for c in table.columns}, table.name
    assert db.execute("select version from schema_info").fetchall() == [(SCHEMA_VERSION,)]


def test_a_new_sqlite_store_opens_while_another_opener_writes(tmp_path: Path) -> None:
    # A file still in rollback mode with a writer on it: SQLite refuses the switch to WAL
    # at once, not after its busy timeout, so two first runs starting together would see
    # one of them fail with "database is locked".
    path = tmp_path / "feeds.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other (x)")
    writer.execute("BEGIN IMMEDIATE")
    opened: list[ArticleStore | BaseException] = []

    def open_store() -> None:
        try:
            opened.append(ArticleStore.open(f"sqlite:///{path}"))
        except BaseException as exc:  # reported by the assertion below
            opened.append(exc)

    opener = threading.Thread(target=open_store)
    opener.start()
    time.sleep(0.2)  # the opener meets the writer's lock (it waits however long it is held)
    writer.execute("COMMIT")
    writer.close()
    opener.join(timeout=60)
    assert len(opened) == 1 and isinstance(opened[0], ArticleStore), opened
    store = opened[0]
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_deleted_rows_are_zeroed_only_where_it_costs_no_writes(tmp_path: Path) -> None:
    # SQLite's default differs by build (Debian's zeroes every freed page, which made
    # retention write each freed page once more); the store says which it wants.
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'feeds.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 2  # FAST
    finally:
        store.close()
