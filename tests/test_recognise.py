"""Recognised entries (feeds/normalise/recognise.py): entries a source's last stored read
had are not normalised again, and what is stored and published is what normalising every
entry gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.feedfactory import FeedItem, atom10, rss20
from support.feedserver import FeedServer
from support.update_runs import NOW, SOURCE, Clock, files_of, update_and_publish

from feeds.config import Config, load_config
from feeds.model import Article, RawEntry, RawFeed, Rule, RuleAction, Source
from feeds.normalise import article as normalise_module
from feeds.normalise import recognise
from feeds.normalise.article import NormalisedFeed, normalise_feed
from feeds.sources.feed_reader import recognition_salt
from feeds.store import ArticleStore


def raw(n: int, **changes: object) -> RawEntry:
    made = RawEntry(
        entry_id=f"id-{n}",
        title=f"Entry {n}",
        link=f"https://s.example/{n}",
        content_html=f"<p>Text of {n} <script>x()</script></p>",
        published=(NOW - timedelta(hours=n + 1)).isoformat(),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def normalise(
    entries: list[RawEntry],
    known: str = "",
    *,
    source: Source = SOURCE,
    salt: str = "",
    **feed: object,
) -> NormalisedFeed:
    return normalise_feed(
        RawFeed(entries=tuple(entries), link="https://s.example/", **feed),  # type: ignore[arg-type]
        source=source,
        now=NOW,
        first_seen={},
        fallback_base=None,
        known=known,
        salt=salt,
    )


def test_entries_of_the_last_read_are_recognised_and_a_changed_one_is_not() -> None:
    first = normalise([raw(n) for n in range(5)])
    assert (len(first.articles), first.recognised) == (5, 0)
    assert len(first.entry_digests) == 5 * recognise.DIGEST_LENGTH
    edited = raw(2, title="Entry 2, corrected")
    second = normalise(
        [raw(9), *(edited if n == 2 else raw(n) for n in range(5))], first.entry_digests
    )
    assert [a.entry_id for a in second.articles] == ["id-9", "id-2"]
    assert second.recognised == 4 and second.dropped == 0
    # Every entry of this read is remembered, recognised or new, each once.
    assert len(second.entry_digests) == 6 * recognise.DIGEST_LENGTH
    third = normalise([raw(9), edited, *(raw(n) for n in (0, 1, 3, 4))], second.entry_digests)
    assert (third.articles, third.recognised) == ((), 6)


@pytest.mark.parametrize(
    "change",
    ["source category", "source timezone", "salt", "feed language", "feed link", "code"],
)
def test_anything_else_an_article_depends_on_renders_every_digest_new(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [raw(n) for n in range(3)]
    known = normalise(entries, language="en").entry_digests
    source, salt, feed = SOURCE, "", {"language": "en"}
    if change == "source category":
        source = replace(SOURCE, category="D")
    elif change == "source timezone":
        source = replace(SOURCE, timezone="Europe/Berlin")
    elif change == "salt":
        salt = recognition_salt((Rule(RuleAction.CATEGORY, category="E"),), SOURCE)
        assert salt != recognition_salt((), SOURCE)
    elif change == "feed language":
        feed = {"language": "de"}
    elif change == "feed link":
        again = normalise_feed(
            RawFeed(entries=tuple(entries), link="https://other.example/", language="en"),
            source=SOURCE, now=NOW, first_seen={}, fallback_base=None, known=known,
        )  # fmt: skip
        assert again.recognised == 0
        return
    else:
        fresh = recognise._code_hash().copy()
        fresh.update(b"another normaliser")
        monkeypatch.setattr(recognise, "_code_hash", lambda: fresh)
    again = normalise(entries, known, source=source, salt=salt, **feed)
    assert (len(again.articles), again.recognised) == (3, 0)


def test_entries_that_depend_on_the_clock_or_gave_warnings_are_never_recognised() -> None:
    future = (NOW + timedelta(days=30)).isoformat()
    entries = [
        raw(0, published=None),  # undated: dated by the clock, then by its first sighting
        raw(1, published=future),  # clamped to the clock
        raw(2, updated=future),  # a future update is not taken: its published date stands
        raw(3, title="x" * 5_000),  # cut to the title limit: a warning each read
        raw(4),
        raw(4, title="the same id again"),  # a duplicate: warned about on every read
    ]
    first = normalise(entries)
    assert len(first.entry_digests) == 2 * recognise.DIGEST_LENGTH  # raw(2) and raw(4)
    second = normalise(entries, first.entry_digests)
    assert second.recognised == 2
    assert [a.entry_id for a in second.articles] == ["id-0", "id-1", "id-3"]
    assert second.undated == {"id-0", "id-1"}
    assert any("duplicate entry id" in line for line in second.errors)
    assert any("id-3" in line for line in second.errors)  # the cut title, reported again


def test_a_source_remembers_a_bounded_number_of_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recognise, "MAX_REMEMBERED", 3)
    first = normalise([raw(n) for n in range(5)])
    assert len(first.entry_digests) == 3 * recognise.DIGEST_LENGTH
    second = normalise([raw(n) for n in range(5)], first.entry_digests)
    assert second.recognised == 3 and len(second.articles) == 2


def test_junk_in_the_remembered_digests_recognises_nothing() -> None:
    entries = [raw(n) for n in range(2)]
    for known in ("x" * 7, "0" * 64, "\x00" * recognise.DIGEST_LENGTH):
        assert normalise(entries, known).recognised == 0


# --- whole updates, over HTTP, into SQLite ------------------------------------------------


def write_config(folder: Path, url: str, extra: str = "") -> Config:
    folder.mkdir(exist_ok=True)
    path = folder / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "{folder / "out"}"\nbase_url = "https://f.example/"\n'
        f'[storage]\nurl = "sqlite:///{folder / "feeds.db"}"\n'
        f'[[sources]]\nname = "s"\ncategory = "C"\nurl = "{url}"\n{extra}',
        encoding="utf-8",
    )
    return load_config(path)


def item(n: int, title: str | None = None) -> FeedItem:
    return FeedItem(
        id=f"i{n}",
        title=title or f"Item {n}",
        link=f"https://s.example/{n}",
        html=f"<p>Body {n}</p><img src='/img/{n}.png'>",
        published=NOW - timedelta(hours=n),
        authors=("Ann",),
        tags=("t",),
    )


def stored(store: ArticleStore) -> dict[str, Article]:
    return {a.id: a for a in store.recent_articles(None, 1_000)}


def forget_digests(store: ArticleStore) -> None:
    """Make the next read of source `s` normalise every entry."""
    state = store.fetch_state("s")
    if state is not None:
        store.save_fetch_state(replace(state, entry_digests=None))


def test_updates_store_and_publish_what_normalising_every_entry_gives(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same reads into two stores, one recognising entries and one normalising every
    entry each time: the articles and every published file are the same, and the one that
    recognises normalised only the entries new or changed."""
    normalised: list[str] = []
    article = normalise_module._article  # the cleaning of an entry's texts

    def counting(entry: Any, *args: Any) -> Article:
        normalised.append(entry.raw.entry_id or "")
        return article(entry, *args)

    monkeypatch.setattr(normalise_module, "_article", counting)
    url = feed_server.url("/s.xml")
    clock = Clock(NOW)
    configs = {name: write_config(tmp_path / name, url) for name in ("recognising", "every")}
    stores = {name: ArticleStore.open(c.storage.url) for name, c in configs.items()}
    steps: list[Callable[[], list[FeedItem]]] = [
        lambda: [item(n) for n in range(4)],
        lambda: [item(9), *(item(n) for n in range(4))],  # one new entry
        lambda: [item(9), item(0), item(1, "Item 1, corrected"), item(2), item(3)],  # an edit
        lambda: [item(9), item(0), item(1, "Item 1, corrected"), item(2), item(3)],  # the same
    ]
    counts = []
    try:
        for number, step in enumerate(steps):
            # A new body each time (a comment differs), so no read is a 304 or the same body.
            feed_server.add("/s.xml", rss20(step()) + f"<!-- {number} -->".encode())
            clock.now += timedelta(hours=1)
            normalised.clear()
            report = update_and_publish(configs["recognising"], stores["recognising"], clock)
            counts.append((sorted(normalised), report.results[0].new, report.results[0].updated))
            forget_digests(stores["every"])
            update_and_publish(configs["every"], stores["every"], clock)
            assert stored(stores["recognising"]) == stored(stores["every"]), number
            assert files_of(tmp_path / "recognising" / "out") == files_of(
                tmp_path / "every" / "out"
            ), number
        assert counts == [
            (["i0", "i1", "i2", "i3"], 4, 0),
            (["i9"], 1, 0),
            (["i1"], 0, 1),
            ([], 0, 0),
        ]
        feed_server.add("/s.xml", rss20(steps[-1]()) + b"<!-- again -->")
        report = update_and_publish(configs["recognising"], stores["recognising"], clock)
        assert (report.results[0].new, report.results[0].unchanged) == (0, 5)
    finally:
        for store in stores.values():
            store.close()


def test_a_rule_added_to_the_config_reaches_the_entries_read_before(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The global rules are part of every digest: an entry stored before a rule was added
    is normalised again and the rule applies to it, as to the new ones."""
    url = feed_server.url("/s.xml")
    clock = Clock(NOW)
    config = write_config(tmp_path / "site", url)
    store = ArticleStore.open(config.storage.url)
    try:
        feed_server.add("/s.xml", rss20([item(n) for n in range(3)]))
        update_and_publish(config, store, clock)
        ruled = write_config(
            tmp_path / "site",
            url,
            '[[rules]]\naction = "category"\ncategory = "All"\ntitle = "Item"\n',
        )
        feed_server.add("/s.xml", rss20([item(9), *(item(n) for n in range(3))]))
        clock.now += timedelta(hours=1)
        result = update_and_publish(ruled, store, clock).results[0]
        assert (result.new, result.updated) == (1, 3)
        assert {a.categories for a in stored(store).values()} == {("C", "All")}
    finally:
        store.close()


def test_without_known_digests_nothing_is_digested(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers that never pass digests (local files) pay nothing for recognition."""

    def refuse(*args: object) -> str:
        raise AssertionError("digested")

    monkeypatch.setattr(recognise.Recognition, "digest", refuse)
    done = normalise_feed(
        RawFeed(entries=(raw(1), raw(2))),
        source=SOURCE, now=NOW, first_seen={}, fallback_base=None,
    )  # fmt: skip
    assert (len(done.articles), done.recognised, done.entry_digests) == (2, 0, "")


def test_a_local_source_keeps_no_digests(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales\n\nEin Titel\n\nEin Titel\n\n"
        "Erster Absatz.\n",
        encoding="utf-8",
    )
    (tmp_path / "feeds.toml").write_text(
        f'[output]\ndir = "{tmp_path / "out"}"\n[storage]\nurl = "sqlite:///{tmp_path / "f.db"}"\n'
        f'[[sources]]\nname = "local"\npath = "{folder}"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "feeds.toml")
    store = ArticleStore.open(config.storage.url)
    try:
        assert update_and_publish(config, store, Clock(NOW)).results[0].new == 1
        state = store.fetch_state("local")
        assert state is not None and state.entry_digests is None
    finally:
        store.close()


def test_an_entry_updated_in_the_future_does_not_change_on_every_read(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A future `updated` (a wrong zone, a scheduled edit) is not taken: the entry keeps its
    published date as its update, the same on every read, so subscribers do not see it
    updated at each poll and it is recognised like any other."""
    url = feed_server.url("/s.atom")
    clock = Clock(NOW)
    config = write_config(tmp_path / "site", url)
    store = ArticleStore.open(config.storage.url)
    ahead = replace(item(1), updated=NOW + timedelta(days=400))
    try:
        feed_server.add("/s.atom", atom10([ahead, item(2)]))
        update_and_publish(config, store, clock)
        first = stored(store)
        for later in (1, 2):
            clock.now += timedelta(hours=later)
            feed_server.add("/s.atom", atom10([item(10 + later), ahead, item(2)]))
            result = update_and_publish(config, store, clock).results[0]
            assert (result.new, result.updated, result.unchanged) == (1, 0, 2)
        kept = {key: value for key, value in stored(store).items() if key in first}
        assert kept == first
        assert {a.updated for a in first.values() if a.entry_id == "i1"} == {
            (NOW - timedelta(hours=1)).replace(second=0, microsecond=0)
        }
    finally:
        store.close()
