"""Entries retired on arrival (feeds/update/floors.py): an entry dated before every newest
`max_items` a run has already written to its categories is not normalised or stored, only
tombstoned; and what a run stores and publishes is what storing every entry and retiring at
the publish gives."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.update_runs import NOW, SOURCE, Clock, files_of, update_and_publish

from feeds.config import Config, load_config
from feeds.model import (
    Article,
    FetchOutcome,
    RawEntry,
    RawFeed,
    RetireBefore,
    Rule,
    RuleAction,
    Source,
    SourceKind,
    article_id,
)
from feeds.normalise import article as normalise_module
from feeds.normalise.article import HeldEntries, NormalisedFeed, clean_held, normalise_feed
from feeds.store import ArticleStore, GroupWriter, SourceWrite
from feeds.store.retention import RETIRED_PER_SOURCE, entry_hash
from feeds.store.schema import retired_entries
from feeds.update import run as run_module
from feeds.update.floors import RetentionFloors, reachable_categories
from feeds.update.run import Updater
from feeds.workers import Cleaned, CleanJob, ParserPool


def article(n: int, published: datetime, categories: tuple[str, ...] = ("C",)) -> Article:
    return Article(
        id=article_id("s", f"e{n}"),
        source="s",
        entry_id=f"e{n}",
        title=f"T{n}",
        link=None,
        summary="",
        content="<p>x</p>",
        authors=(),
        published=published,
        updated=published,
        categories=categories,
        language=None,
    )


# --- the floors -----------------------------------------------------------------------------


def test_a_floor_is_the_oldest_of_the_newest_max_items_once_a_category_holds_that_many() -> None:
    floors = RetentionFloors(3)
    floors.add(article(n, NOW - timedelta(hours=n)) for n in (5, 1))
    assert floors.floor({"C"}) is None  # two of three: anything may still be kept
    floors.add([article(9, NOW - timedelta(hours=9))])
    assert floors.floor({"C"}) == NOW - timedelta(hours=9)
    floors.add([article(2, NOW - timedelta(hours=2)), article(20, NOW - timedelta(hours=20))])
    assert floors.floor({"C"}) == NOW - timedelta(hours=5)  # 1, 2, 5 are the newest three


def test_the_likely_floor_takes_what_is_counted_as_the_share_of_sources_read() -> None:
    floors = RetentionFloors(10)
    floors.add(article(n, NOW - timedelta(hours=n)) for n in range(6))
    # Half the sources read: the newest 5 counted stand for the final 10.
    assert floors.likely_floor("C", 0.5) == NOW - timedelta(hours=4)
    assert floors.likely_floor("C", 0.05) == NOW  # at least the newest one
    assert floors.likely_floor("C", 0.7) is None  # 7 wanted, 6 counted: cannot tell yet
    assert floors.likely_floor("D", 0.5) is None
    floors.count("C", NOW - timedelta(hours=4, microseconds=1))  # exact to the microsecond
    assert floors.likely_floor("C", 0.6) == NOW - timedelta(hours=4, microseconds=1)


def test_an_entry_is_held_when_dated_before_the_likely_floor_and_never_when_undated() -> None:
    keep_from = NOW - timedelta(hours=2)
    plan = RetireBefore(NOW - timedelta(hours=5), hold=True, keep_from=keep_from)
    assert plan.retires("e", NOW - timedelta(hours=6), NOW)
    assert plan.holds(NOW - timedelta(hours=3), NOW)
    assert not plan.holds(keep_from, NOW) and not plan.holds(NOW - timedelta(hours=1), NOW)
    assert not plan.holds(NOW, NOW)  # undated: dated `now`
    assert RetireBefore(None, hold=True).holds(NOW - timedelta(days=900), NOW)
    assert not RetireBefore(None).holds(NOW - timedelta(days=900), NOW)
    assert not RetireBefore(None, hold=True).retires("e", NOW - timedelta(days=900), NOW)


def test_an_entry_that_can_reach_several_categories_takes_the_lowest_floor() -> None:
    floors = RetentionFloors(1)
    floors.add([article(1, NOW), article(2, NOW - timedelta(days=2), ("D",))])
    assert floors.floor({"C", "D"}) == NOW - timedelta(days=2)
    assert floors.floor({"C", "E"}) is None  # E holds nothing yet


def test_the_categories_an_entry_can_reach_include_every_category_rule() -> None:
    config = load_config_text('[[sources]]\nname = "s"\ncategory = " C "\nurl = "https://s/"\n')
    rule = Rule(action=RuleAction.CATEGORY, category="Extra")
    keep = Rule(action=RuleAction.KEEP, category=None)
    source = Source(
        "s", SourceKind.REMOTE, timedelta(hours=1), url="https://s/", category=" C ", rules=(rule,)
    )
    assert reachable_categories(source, config) == {"C", "Extra"}
    ruled = Source(
        "s", SourceKind.REMOTE, timedelta(hours=1), url="https://s/", category="C", rules=(keep,)
    )
    assert reachable_categories(ruled, config) == {"C"}
    assert reachable_categories(Source("s", SourceKind.REMOTE, timedelta(1)), config) is None


def load_config_text(text: str, folder: Path | None = None) -> Config:
    import tempfile

    directory = folder or Path(tempfile.mkdtemp())
    path = directory / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "{directory / "out"}"\n[storage]\nurl = "sqlite:///{directory}/f.db"\n'
        + text,
        encoding="utf-8",
    )
    return load_config(path)


# --- the normaliser -------------------------------------------------------------------------


def raw(n: int, published: str | None) -> RawEntry:
    return RawEntry(
        entry_id=f"e{n}", title=f"T{n}", content_html=f"<p>{n}</p>", published=published
    )


def test_entries_dated_before_the_floor_are_named_not_cleaned() -> None:
    entries = [
        raw(1, "2026-12-06T10:00:00Z"),  # newer than the floor
        raw(2, "2026-12-06T09:00:00Z"),  # the floor itself: kept (ties rank the arrival newer)
        raw(3, "2026-12-06T08:59:00Z"),  # older: retired
        raw(4, None),  # undated: dated `now`, may yet be dated by its first sighting
        raw(5, "2031-01-01T00:00:00Z"),  # in the future: clamped to `now`, kept
        raw(6, "1999-01-01T00:00:00Z"),
        raw(7, "1999-01-01T00:00:00Z"),  # older, but stored: the publish decides for it
    ]
    feed = RawFeed(entries=tuple(entries))
    retire = RetireBefore(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), frozenset({"e7"}))
    done = normalise_feed(
        feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None, retire=retire
    )
    assert sorted(a.entry_id for a in done.articles) == ["e1", "e2", "e4", "e5", "e7"]
    assert done.retired == {"e3", "e6"}
    assert done.dropped == 0
    every = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    assert [a for a in every.articles if a.entry_id not in done.retired] == list(done.articles)


def test_held_entries_are_prepared_not_cleaned_and_clean_as_they_would_have() -> None:
    entries = (
        replace(raw(1, "2026-12-06T10:00:00Z"), link="/a/1"),  # resolved by the feed's link
        raw(2, "2026-12-06T08:59:00Z"),  # before the floor: retired, not held
        raw(3, "2020-01-01T00:00:00Z"),
        raw(4, None),  # undated: never held, cleaned at once
    )
    feed = RawFeed(entries=entries, link="https://site.example/", language="de")

    def normalised(retire: RetireBefore | None, known: str | None = "") -> NormalisedFeed:
        return normalise_feed(
            feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None, known=known,
            retire=retire,
        )  # fmt: skip

    done = normalised(RetireBefore(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), hold=True))
    assert done.retired == {"e2", "e3"} and [a.entry_id for a in done.articles] == ["e4"]
    assert done.held is not None and done.held.keys == {"e1"} and done.dropped == 0
    (held,) = clean_held(done.held, SOURCE, done.held.keys)
    assert held == normalised(None, known=None).articles[0]
    assert (held.link, held.language) == ("https://site.example/a/1", "de")
    assert clean_held(done.held, SOURCE, frozenset()) == ()
    # Retired or stored, a held entry is not read again.
    again = normalised(None, known=done.entry_digests)
    assert again.recognised == 3 and [a.entry_id for a in again.articles] == ["e4"]
    # Before any floor, every dated entry is held and none retired.
    unfloored = normalised(RetireBefore(None, hold=True))
    assert unfloored.retired == frozenset() and unfloored.held is not None
    assert unfloored.held.keys == {"e1", "e2", "e3"}


def test_an_undated_entry_is_never_retired_on_arrival_even_below_a_later_floor() -> None:
    # The clock is behind a floor (a clock set back): the undated entry, dated `now`, may
    # still be dated by its first sighting in the store, so it is not retired here.
    feed = RawFeed(entries=(raw(1, None), raw(2, "2020-01-01T00:00:00Z")))
    done = normalise_feed(
        feed,
        source=SOURCE,
        now=NOW,
        first_seen={},
        fallback_base=None,
        retire=RetireBefore(NOW + timedelta(days=1)),
    )
    assert [a.entry_id for a in done.articles] == ["e1"] and done.retired == {"e2"}
    assert done.undated == {"e1"}


def test_a_retired_entry_is_recognised_on_the_next_read_and_a_warned_one_is_not() -> None:
    entries = (raw(1, "2020-01-01T00:00:00Z"), raw(2, "2020-02-30T00:00:00Z"))  # 2: impossible
    feed = RawFeed(entries=entries)
    first = normalise_feed(
        feed,
        source=SOURCE,
        now=NOW,
        first_seen={},
        fallback_base=None,
        known="",
        retire=RetireBefore(NOW - timedelta(days=1)),
    )
    # The impossible date is reported and the entry dated `now`: kept, not retired.
    assert first.retired == {"e1"} and [a.entry_id for a in first.articles] == ["e2"]
    assert any("impossible date" in line for line in first.errors)
    again = normalise_feed(
        feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None, known=first.entry_digests
    )
    assert again.recognised == 1 and again.retired == frozenset()
    assert [a.entry_id for a in again.articles] == ["e2"]


# --- the store ------------------------------------------------------------------------------


def tombstones(store: ArticleStore) -> set[tuple[str, str]]:
    with store.engine.connect() as conn:
        query = select(retired_entries.c.source, retired_entries.c.entry_hash)
        return {(source, digest) for source, digest in conn.execute(query)}


def test_an_entry_retired_on_arrival_leaves_a_tombstone_and_counts_as_new(
    store: ArticleStore,
) -> None:
    kept = article(1, NOW)
    result = store.write_one(SourceWrite("s", NOW, [kept], retiring={"e7", "e8"}))
    assert (result.new, result.updated, result.unchanged) == (3, 0, 0)
    assert result.retired == {"e7", "e8"} and result.retired_on_arrival == 2
    assert tombstones(store) == {("s", entry_hash("e7")), ("s", entry_hash("e8"))}
    assert [a.entry_id for a in store.recent_articles(None, 10)] == ["e1"]
    assert store.stored_entries("s", ["e1", "e7", "e9"]) == {"e1": kept, "e7": None}
    # Read again (the feed still lists them): they stay retired, and count as unchanged.
    again = store.write_one(SourceWrite("s", NOW, [article(7, NOW)], retiring={"e8"}))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert again.retired == {"e7", "e8"} and again.retired_on_arrival == 0  # none new
    assert [a.entry_id for a in store.recent_articles(None, 10)] == ["e1"]


def test_the_stored_entries_of_a_source_are_what_the_reader_never_retires(
    store: ArticleStore,
) -> None:
    assert store.sources_with_articles() == frozenset()
    store.write_one(SourceWrite("s", NOW, [article(1, NOW), article(2, NOW)], retiring={"e3"}))
    store.write_one(SourceWrite("t", NOW, [], retiring={"e4"}))
    assert store.sources_with_articles() == {"s"}  # t holds a tombstone only
    assert store.stored_entry_ids("s") == {"e1", "e2"}
    assert store.expire_beyond(1) == 1
    assert len(store.stored_entry_ids("s")) == 1


def test_tombstones_of_entries_retired_on_arrival_stay_within_the_bound(
    store: ArticleStore,
) -> None:
    many = {f"old{n}" for n in range(RETIRED_PER_SOURCE + 150)}
    store.write_one(SourceWrite("s", NOW, [], retiring=many))
    assert len(tombstones(store)) == RETIRED_PER_SOURCE


def test_tombstones_added_to_a_source_s_earlier_ones_are_trimmed_to_the_bound(
    store: ArticleStore,
) -> None:
    # A source's first write is trimmed only past the bound at once (it had none); a later
    # write is trimmed whenever it goes past it, in a group with a source's first write.
    first = {f"a{n}" for n in range(RETIRED_PER_SOURCE - 10)}
    assert store.write([SourceWrite("s", NOW, [], retiring=first)])[0] is not None
    assert len(tombstones(store)) == RETIRED_PER_SOURCE - 10
    later = {f"b{n}" for n in range(50)}
    store.write(
        [SourceWrite("s", NOW, [], retiring=later), SourceWrite("t", NOW, [], retiring={"c"})]
    )
    per_source = Counter(source for source, _ in tombstones(store))
    assert per_source == {"s": RETIRED_PER_SOURCE, "t": 1}
    # The oldest went: all 50 of the later ones stay.
    kept = {digest for source, digest in tombstones(store) if source == "s"}
    assert {entry_hash(e) for e in later} <= kept


# --- whole runs, over HTTP: the same as storing every entry ---------------------------------

CATEGORIES = ("Alpha", "Beta")
PER_CATEGORY = 4  # sources
MAX_ITEMS = 3


def items(source: int, step: int) -> list[FeedItem]:
    """Per source: three recent entries (the newest dated alike across sources, so ties
    meet the floor), three years-old ones, and for one source an undated one. Step 1 adds
    a newer entry; step 2 moves an old, retired entry up to the newest date (it stays
    retired) and adds another, just older than that; step 3 has source 0 add entries
    dated a year ahead (taken as dated `now`)."""

    def entry(n: object, title: str, published: datetime | None) -> FeedItem:
        html = f"<p>{title}</p>"
        link = f"https://s{source}.example/{n}"
        return FeedItem(id=f"s{source}-{n}", title=title, link=link, html=html, published=published)

    recent = (
        NOW - timedelta(hours=1),
        NOW - timedelta(hours=2, minutes=source),
        NOW - timedelta(hours=3),
    )
    made = [entry(n, f"Source {source} entry {n}", date) for n, date in enumerate(recent)]
    made += [
        entry(n, f"Source {source} entry {n}", NOW - timedelta(days=400 + 30 * n + source))
        for n in range(3, 6)
    ]
    if source == 7:
        made.append(entry("undated", "No date", None))
    if step >= 1:
        made.insert(0, entry("new1", "New", NOW - timedelta(minutes=30 + source)))
    if step >= 2:
        made[-1 if source != 7 else -2] = entry(5, "Moved up", NOW + timedelta(minutes=5))
        made.insert(0, entry("new2", "Newer", NOW + timedelta(minutes=1, seconds=10 * source)))
    if step >= 3 and source == 0:  # a hostile source floods its category from the future
        made[:0] = [entry(f"flood{k}", "Flood", NOW + timedelta(days=365)) for k in range(4)]
    return made


def write_config(
    folder: Path, server: FeedServer, store_url: str | None = None, *, rules: bool = True
) -> Config:
    folder.mkdir()
    sources = "".join(
        f'[[sources]]\nname = "s{n}"\ncategory = "{CATEGORIES[n % 2]}"\n'
        f'url = "{server.url(f"/s{n}.xml")}"\n'
        + (  # one source's entries also reach a category nothing else fills
            '[[sources.rules]]\naction = "category"\ncategory = "Gamma"\ntitle = "entry 4"\n'
            if n == 3 and rules
            else ""
        )
        for n in range(PER_CATEGORY * len(CATEGORIES))
    )
    path = folder / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "{folder / "out"}"\nbase_url = "https://f.example/"\n'
        f"max_items = {MAX_ITEMS}\n"
        f'[storage]\nurl = "{store_url or "sqlite:///" + str(folder / "feeds.db")}"\n'
        f"[fetch]\nconcurrency = 1\n"
        # a global rule: every source's third entries also reach Digest
        + ('[[rules]]\naction = "category"\ncategory = "Digest"\nlink = "/2$"\n' if rules else "")
        + sources,
        encoding="utf-8",
    )
    return load_config(path)


def snapshot(store: ArticleStore, out: Path) -> tuple[Any, ...]:
    articles = sorted((a.id, a) for a in store.recent_articles(None, 1_000))
    return articles, tombstones(store), files_of(out)


@pytest.fixture
def cleaned(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids of the entries whose texts the normaliser cleaned."""
    done: list[str] = []
    clean = normalise_module._article

    def counting(entry: Any, *args: Any) -> Article:
        done.append(entry.raw.entry_id or "")
        return clean(entry, *args)

    monkeypatch.setattr(normalise_module, "_article", counting)
    yield done


@pytest.mark.parametrize("rules", [True, False], ids=["rules", "no-rules"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_runs_store_and_publish_what_storing_every_entry_gives(
    backend: str,
    rules: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    feed_server: FeedServer,
    cleaned: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without rules, a first run holds every dated entry back until all sources are read
    (so only what the final floors keep is cleaned); with rules it retires on arrival as
    the floors rise. Either way the store and output are what storing every entry gives."""
    # On PostgreSQL the runs that retire on arrival are compared with SQLite's storing all.
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    configs = {
        "floors": write_config(tmp_path / "floors", feed_server, url, rules=rules),
        "every": write_config(tmp_path / "every", feed_server, rules=rules),
    }
    stores = {name: ArticleStore.open(c.storage.url) for name, c in configs.items()}
    clock = Clock(NOW)
    try:
        for step in range(4):
            for n in range(PER_CATEGORY * len(CATEGORIES)):
                body = rss20(items(n, step)) + f"<!-- {step} -->".encode()
                feed_server.add(f"/s{n}.xml", body)
            clock.now += timedelta(minutes=10)
            cleaned.clear()
            with_floors = update_and_publish(configs["floors"], stores["floors"], clock)
            cleaned_with_floors = list(cleaned)
            with monkeypatch.context() as storing_all:
                storing_all.setattr(RetentionFloors, "floor", lambda self, categories: None)
                storing_all.setattr(Updater, "_may_hold", lambda self, source: False)
                cleaned.clear()
                every = update_and_publish(configs["every"], stores["every"], clock)
            a, b = (snapshot(stores[name], tmp_path / name / "out") for name in ("floors", "every"))
            assert a[0] == b[0], step  # the articles, field by field
            assert a[1] == b[1], step  # the tombstones
            assert a[2].keys() == b[2].keys() and a[2] == b[2], step  # every published byte
            tally = {r.source: (r.new, r.outcome) for r in with_floors.results}
            assert tally == {r.source: (r.new, r.outcome) for r in every.results}, step
            if step == 0:
                # Every retired entry is reported (`feeds -v update` logs their sum), and
                # none of them was cleaned.
                retired = sum(r.retired for r in with_floors.results)
                assert retired == len(cleaned) - len(cleaned_with_floors) > 0
                assert sum(r.retired for r in every.results) == 0
            if step == 0 and rules:
                # Once Digest holds three (after three sources), each later source's three
                # old entries are retired on arrival; but source 3's, whose entries can
                # reach Gamma, which has no floor.
                assert len(cleaned) - len(cleaned_with_floors) >= 4 * 3
                # 24 entries in Alpha, 25 in Beta; three kept in each, three other ones in
                # Digest, and one in Gamma.
                assert len(b[1]) == 49 - 3 - 3 - 3 - 1
            elif step == 0:
                # Held back: only what the final floors keep is cleaned, the four newest of
                # each category (dated alike; the publish retires the first to arrive) and
                # the undated entry, which is never held.
                assert sorted(cleaned_with_floors) == sorted(
                    ["s7-undated", *(f"s{n}-0" for n in range(8))]
                )
                assert len(b[1]) == 49 - 3 - 3
    finally:
        for store in stores.values():
            store.close()


def test_a_source_whose_held_entries_cannot_be_cleaned_is_read_whole_again(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker cleaning held entries dies on one source's: the job, which cleans several
    sources', is tried again source by source; that source reports it, and keeps no
    validators, so the next run reads its feed whole and stores what was held. Nothing is
    lost, and the other sources are stored as ever."""
    config = write_config(tmp_path / "c", feed_server, rules=False)
    for n in range(PER_CATEGORY * len(CATEGORIES)):
        feed_server.add(f"/s{n}.xml", rss20(items(n, 0)))
    clean = ParserPool.clean
    jobs: list[list[str]] = []

    async def dying_on_s0(self: ParserPool, job: CleanJob) -> Cleaned:
        jobs.append([source.name for source, _, _ in job.held])
        if "s0" in jobs[-1]:
            return Cleaned(None, error="the worker process died cleaning this source")
        return await clean(self, job)

    store = ArticleStore.open(config.storage.url)
    clock = Clock(NOW)
    try:
        with monkeypatch.context() as dying:
            dying.setattr(ParserPool, "clean", dying_on_s0)
            first = update_and_publish(config, store, clock)
        # s0 and s1, read first in their categories, held all they had: one job for both.
        assert sorted(jobs[0]) == ["s0", "s1"] and jobs[1:] == [["s0"], ["s1"]]
        errors = {r.source: r.errors for r in first.results if r.errors}
        assert errors == {
            "s0": (
                "held entries not stored: the worker process died cleaning this source; "
                "the next run reads the feed again",
            )
        }
        assert all(r.outcome is FetchOutcome.NEW for r in first.results)
        state = store.fetch_states(["s0"])["s0"]
        assert (state.etag, state.body_hash, state.entry_digests) == (None, None, None)
        assert "held entries not stored" in (state.warnings or "")
        assert "s0" not in store.sources_with_entries()  # it held every entry it had

        clock.now += timedelta(minutes=10)
        second = update_and_publish(config, store, clock)
        again = {r.source: (r.outcome, r.new, r.errors) for r in second.results}
        assert again["s0"] == (FetchOutcome.NEW, 6, ())  # asked without validators: a 200
        assert feed_server.requests_to("/s0.xml")[-1].headers.get("if-none-match") is None
        assert all(again[f"s{n}"][0] is FetchOutcome.NOT_MODIFIED for n in range(1, 8))
        with store.engine.connect() as conn:
            found = conn.execute(
                select(retired_entries.c.entry_hash).where(retired_entries.c.source == "s0")
            ).scalars()
            retired_s0 = set(found)
        stored_s0 = {a.entry_id for a in store.recent_articles(None, 100) if a.source == "s0"}
        # Every entry of s0 is stored or retired: none was lost.
        every_id = {f"s0-{n}" for n in range(6)}
        assert {entry_hash(e) for e in every_id - stored_s0} == retired_s0
        assert store.fetch_states(["s0"])["s0"].etag is not None
    finally:
        store.close()


def test_a_store_that_refuses_one_sources_held_entries_fails_that_source_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A real SQLite trigger refuses the write of s0's held entries (the one that saves its
    validators): s0 reports it and keeps no validators; every other source is written."""
    config = write_config(tmp_path / "c", feed_server, rules=False)
    for n in range(PER_CATEGORY * len(CATEGORIES)):
        feed_server.add(f"/s{n}.xml", rss20(items(n, 0)))
    store = ArticleStore.open(config.storage.url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_s0 BEFORE UPDATE ON source_state "
                "WHEN NEW.source = 's0' AND NEW.etag IS NOT NULL "
                "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )
        report = update_and_publish(config, store, Clock(NOW))
        errors = {r.source: r.errors for r in report.results if r.errors}
        assert errors == {"s0": ("store refused the held entries: refused by a test trigger",)}
        states = store.fetch_states([f"s{n}" for n in range(8)])
        assert states["s0"].etag is None and states["s0"].entry_digests is None
        assert all(states[f"s{n}"].etag is not None for n in range(1, 8))
        assert "s0" not in store.sources_with_entries()
    finally:
        store.close()


def publishes_as_storing_every_entry(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    patch: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """A first run of the sources at step 0 with `patch` applied stores and publishes what
    a run storing every entry gives."""
    for n in range(PER_CATEGORY * len(CATEGORIES)):
        feed_server.add(f"/s{n}.xml", rss20(items(n, 0)))
    configs = {
        name: write_config(tmp_path / name, feed_server, rules=False)
        for name in ("patched", "every")
    }
    stores = {name: ArticleStore.open(c.storage.url) for name, c in configs.items()}
    try:
        with monkeypatch.context() as patched:
            patch(patched)
            update_and_publish(configs["patched"], stores["patched"], Clock(NOW))
        with monkeypatch.context() as storing_all:
            storing_all.setattr(RetentionFloors, "floor", lambda self, categories: None)
            storing_all.setattr(Updater, "_may_hold", lambda self, source: False)
            update_and_publish(configs["every"], stores["every"], Clock(NOW))
        patched_run, every = (
            snapshot(stores[n], tmp_path / n / "out") for n in ("patched", "every")
        )
        assert patched_run == every
    finally:
        for store in stores.values():
            store.close()


def test_a_run_holds_back_no_more_than_its_budget_and_publishes_the_same(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held entries wait packed within `HELD_BUDGET`: past it, first reads store as they did
    before holding back, and the run stores and publishes what storing every entry gives."""
    packed: list[int] = []
    pack = HeldEntries.pack

    def counting(*args: Any) -> HeldEntries:
        held = pack(*args)
        packed.append(len(held.packed))
        return held

    def tight(patched: pytest.MonkeyPatch) -> None:
        patched.setattr(run_module, "HELD_BUDGET", 1)  # one read's entries go over it
        patched.setattr(HeldEntries, "pack", counting)

    publishes_as_storing_every_entry(tmp_path, feed_server, monkeypatch, tight)
    # With one fetch at a time, the second read starts before the first is written.
    assert 1 <= len(packed) <= 2 and all(size > 0 for size in packed)


def test_waiting_reads_the_floors_retire_whole_let_go_of_their_texts_and_publish_the_same(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `PRUNE_EVERY` bytes packed, the run lets go of what the waiting reads packed
    (prepared entries, bodies to read again) where the floors already retire every entry
    they hold: floors only rise. With a look after each read, the first reads are let go
    of, and the run stores and publishes what storing every entry gives."""
    waiting: list[tuple[int, int]] = []  # (reads let go of, reads waiting) at the end
    write_held = Updater._write_held

    async def looking(self: Updater, report: Any) -> Any:
        let_go = sum(not r.held.packed and not r.held.reread for r in self._held)
        waiting.append((let_go, len(self._held)))
        return await write_held(self, report)

    def pruning(patched: pytest.MonkeyPatch) -> None:
        patched.setattr(run_module, "PRUNE_EVERY", 1)
        patched.setattr(Updater, "_write_held", looking)

    publishes_as_storing_every_entry(tmp_path, feed_server, monkeypatch, pruning)
    ((let_go, reads),) = waiting
    assert 0 < let_go < reads, waiting


# --- runs after the first, against storing every entry --------------------------------------


def runs_as_storing_every_entry(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    sources: str,
    runs: list[dict[str, list[FeedItem]]],
) -> list[list[str]]:
    """Runs ten minutes apart of `sources` (TOML, `{server}` for the feed server's address;
    source `x` reads /x.xml, in each run the items given for it, else as before), a
    category keeping one item, with the floors and storing every entry: after each run
    both store and publish the same. Returns the entry ids each run left stored."""
    stores: dict[str, ArticleStore] = {}
    configs: dict[str, Config] = {}
    for name in ("floors", "every"):
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "feeds.toml"
        path.write_text(
            f'[output]\ndir = "{folder / "out"}"\nbase_url = "https://f.example/"\n'
            f'max_items = 1\n[storage]\nurl = "sqlite:///{folder / "feeds.db"}"\n'
            "[fetch]\nconcurrency = 1\n" + sources.replace("{server}", feed_server.base_url),
            encoding="utf-8",
        )
        configs[name] = load_config(path)
        stores[name] = ArticleStore.open(configs[name].storage.url)
    clock = Clock(NOW)
    stored: list[list[str]] = []
    try:
        for step, feeds in enumerate(runs):
            for source, feed in feeds.items():
                feed_server.add(f"/{source}.xml", rss20(feed))
            clock.now += timedelta(minutes=10)
            update_and_publish(configs["floors"], stores["floors"], clock)
            with monkeypatch.context() as storing_all:
                storing_all.setattr(RetentionFloors, "floor", lambda self, categories: None)
                storing_all.setattr(Updater, "_may_hold", lambda self, source: False)
                update_and_publish(configs["every"], stores["every"], clock)
            a, b = (snapshot(stores[name], tmp_path / name / "out") for name in stores)
            assert a[0] == b[0], step  # the articles, field by field
            assert a[1] == b[1], step  # the tombstones
            assert a[2] == b[2], step  # every published byte
            stored.append(sorted(article.entry_id for _, article in a[0]))
    finally:
        for store in stores.values():
            store.close()
    return stored


def dated(entry_id: str, title: str, published: datetime | None) -> FeedItem:
    return FeedItem(
        id=entry_id,
        title=title,
        link=f"https://site.example/{entry_id}",
        html=f"<p>{title}</p>",
        published=published,
    )


def test_an_entry_a_drop_rule_leaves_out_leaves_no_tombstone_to_keep_it_out_later(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a keep or drop rule leaves an entry out is known only once it is cleaned:
    storing every entry, one left out leaves no tombstone, so once it changes so that the
    rule lets it in, it is stored (here the only newer article moved back meanwhile). So a
    source such rules apply to retires nothing on arrival."""
    sources = (
        '[[sources]]\nname = "a"\ncategory = "C"\nurl = "{server}/a.xml"\n'
        '[[sources]]\nname = "b"\ncategory = "C"\nurl = "{server}/b.xml"\n'
        '[[sources.rules]]\naction = "drop"\ntitle = "Unwanted"\n'
    )
    hour = timedelta(hours=1)
    stored = runs_as_storing_every_entry(
        tmp_path,
        feed_server,
        monkeypatch,
        sources,
        [
            {
                "a": [dated("a1", "Newer", NOW - hour)],
                "b": [dated("x", "Unwanted", NOW - 2 * hour)],
            },
            {
                "a": [dated("a1", "Newer", NOW - 5 * hour)],
                "b": [dated("x", "Wanted", NOW - 2 * hour)],
            },
        ],
    )
    assert stored == [["a1"], ["x"]]


def test_an_article_read_again_unchanged_counts_only_where_retention_left_it(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An undated entry (read whole every time: never remembered) in C and, by a rule, in
    Extra falls out of C but stays in Extra; read again unchanged, its article is not
    linked to C again, so it must not count in C's floor, where it would retire a newer
    entry of another source that storing every entry publishes in C."""
    sources = (
        '[[sources]]\nname = "a"\ncategory = "C"\nurl = "{server}/a.xml"\n'
        '[[sources.rules]]\naction = "category"\ncategory = "Extra"\ntitle = "Also"\n'
        '[[sources]]\nname = "b"\ncategory = "C"\nurl = "{server}/b.xml"\n'
    )
    undated = dated("u", "Also in Extra", None)  # first seen at NOW + 10 minutes
    hour = timedelta(hours=1)
    stored = runs_as_storing_every_entry(
        tmp_path,
        feed_server,
        monkeypatch,
        sources,
        [
            {"a": [undated], "b": []},
            {"b": [dated("b1", "Newer", NOW + timedelta(minutes=15))]},
            {
                "a": [undated, dated("a2", "Old", NOW - 20 * hour)],  # a changed feed
                "b": [dated("b2", "Between", NOW - hour), dated("b1", "Newer", NOW - 10 * hour)],
            },
        ],
    )
    assert stored == [["u"], ["b1", "u"], ["b2", "u"]]


# --- the command, with its worker processes -------------------------------------------------


def test_feeds_update_retires_on_arrival_across_its_worker_processes(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`feeds -v update` as a user runs it (the parser pool's processes, so what is retired
    crosses a process boundary both ways): the log counts the entries retired on arrival,
    the feed publishes the newest two, and the store keeps the rest as tombstones."""
    for n in (1, 2):
        recent = [
            FeedItem(
                id=f"s{n}-{k}",
                title=f"Recent {n}.{k}",
                html="<p>r</p>",
                published=NOW - timedelta(minutes=10 * k + n),
            )
            for k in range(2)
        ]
        old = [
            FeedItem(
                id=f"s{n}-old{k}",
                title=f"Old {n}.{k}",
                html="<p>o</p>",
                published=NOW - timedelta(days=300 + k),
            )
            for k in range(3)
        ]
        feed_server.add(f"/s{n}.xml", rss20([*recent, *old]))
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "{tmp_path / "out"}"\nmax_items = 2\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "feeds.db"}"\n[fetch]\nconcurrency = 1\n'
        + "".join(
            f'[[sources]]\nname = "s{n}"\ncategory = "C"\nurl = "{feed_server.url(f"/s{n}.xml")}"\n'
            for n in (1, 2)
        ),
        encoding="utf-8",
    )
    done = run_feeds("-v", "--config", str(config), "update", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Both sources are read first, holding their entries back (the pool's processes
    # prepare them, and clean the kept ones in a second job): the eight beyond the newest
    # two are retired on arrival, none of them cleaned.
    logged = re.search(r"updated: 2 source\(s\) in \S+, (\d+) new entries retired", done.stderr)
    assert logged is not None and int(logged[1]) == 8, done.stderr
    published = (tmp_path / "out" / "c" / "feed.json").read_text(encoding="utf-8")
    titles = [item["title"] for item in json.loads(published)["items"]]
    assert titles == ["Recent 1.0", "Recent 2.0"]
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'feeds.db'}")
    try:
        assert len(tombstones(store)) == 8 and len(store.recent_articles(None, 10)) == 2
    finally:
        store.close()


def test_the_workers_clean_held_entries_while_the_reads_keeping_none_are_written(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every source is read, the cleaning jobs reach the pool before the reads whose
    held entries are all retired are written (those writes hold the event loop), and the
    run stores and publishes what storing every entry gives."""
    events: list[str] = []
    clean, write_all = ParserPool.clean, GroupWriter.write_all

    async def cleaning(self: ParserPool, job: CleanJob) -> Cleaned:
        events.append("clean")
        return await clean(self, job)

    async def writing(self: GroupWriter, writes: Any) -> Any:
        events.append(f"write {len(writes)}")
        return await write_all(self, writes)

    def recording(patched: pytest.MonkeyPatch) -> None:
        patched.setattr(ParserPool, "clean", cleaning)
        patched.setattr(GroupWriter, "write_all", writing)

    publishes_as_storing_every_entry(tmp_path, feed_server, monkeypatch, recording)
    # Reads of both kinds: some keep held entries; the first write is of those keeping none.
    writes = [i for i, event in enumerate(events) if event.startswith("write ")]
    assert "clean" in events and events[writes[0]] != "write 0", events
    assert events.index("clean") < writes[0], events
