"""Entry fragments (feeds/publish/fragments.py, store schema 8): a publish that reuses the
entries earlier publishes rendered writes exactly the bytes of one that renders every entry,
and the kept fragments stay bounded by the live articles."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from feeds.config import Config, load_config
from feeds.model import (
    Article,
    Author,
    Category,
    Enclosure,
    FetchOutcome,
    FetchState,
    Podcast,
    article_id,
)
from feeds.publish import orchestrate
from feeds.publish.document import Site, build_document
from feeds.publish.fragments import FRAGMENT_LIMIT, Fragments, article_digest, split_entries
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.layout import PREVIEW, OutputLayout
from feeds.publish.orchestrate import publish_everything, publish_pending
from feeds.publish.site import publish_site
from feeds.store import ArticleStore, save_fragments, stored_fragments
from feeds.store.schema import SCHEMA_VERSION, entry_fragments

NOW = datetime(2026, 11, 27, tzinfo=UTC)
SOURCES = {"a": "Technik", "b": "Welt", "c": "Technik"}


def article(source: str, n: int, **changes: object) -> Article:
    # Entries of one number share a date across sources: ties must be broken alike by
    # every path that orders newest first.
    published = NOW + timedelta(hours=n)
    made = Article(
        id=article_id(source, str(n)), source=source, entry_id=str(n), title=f"{source} {n}",
        link=f"https://{source}.example/{n}", summary=f"about {n} <b>", content=f"<p>{n} &amp;</p>",
        authors=(Author("Ann", email="ann@example.org"),) if n % 3 == 0 else (),
        published=published, updated=published, categories=(SOURCES.get(source, "Welt"),),
        language="de" if n % 4 == 0 else "en", tags=("t",) if n % 2 else (),
    )  # fmt: skip
    return replace(made, **changes)  # type: ignore[arg-type]


def write_config(folder: Path, out: str, **output: object) -> Config:
    settings = {"base_url": "https://f.example/", "title": "Planet", "max_items": 6,
                "archive_size": 3, **output}  # fmt: skip
    lines = ["[output]", f'dir = "{out}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items() if key != "hub"]
    lines += ["[storage]", f'url = "sqlite:///{out}.db"']
    if "hub" in output:
        lines += ["[websub]", f"hub = {json.dumps(output['hub'])}"]
    for name, category in SOURCES.items():
        lines += ["[[sources]]", f'name = "{name}"', f'url = "https://{name}.example/feed"']
        lines += [f'category = "{category}"']
    path = folder / f"{out}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def fragment_rows(store: ArticleStore) -> list[tuple[str, str, int]]:
    query = select(
        entry_fragments.c.document,
        entry_fragments.c.article_id,
        func.length(entry_fragments.c.body),
    )
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_reused_fragments_write_the_bytes_of_a_full_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stores take the same writes; one publishes as `feeds update` does (changed
    categories only, reusing its fragments), the other renders everything from an empty
    fragment table each time. Every file, variants included, must be the same."""
    monkeypatch.chdir(tmp_path)
    warm = ArticleStore.open(f"sqlite:///{tmp_path / 'warm.db'}")
    cold = ArticleStore.open(f"sqlite:///{tmp_path / 'cold.db'}")
    clock = lambda: NOW  # noqa: E731

    def both(step: str, *, settings: dict[str, object] | None = None) -> None:
        warm_config = write_config(tmp_path, "warm", **(settings or {}))
        cold_config = write_config(tmp_path, "cold", **(settings or {}))
        publish_pending(warm_config, warm, clock=clock)
        with cold.engine.begin() as conn:
            conn.execute(entry_fragments.delete())
        publish_everything(cold_config, cold, clock=clock)
        assert files_of(tmp_path / "warm") == files_of(tmp_path / "cold"), step
        if step != "first":
            assert fragment_rows(warm), "the warm store keeps fragments"

    def upsert(source: str, batch: list[Article]) -> None:
        for store in (warm, cold):
            store.upsert_articles(source, batch, NOW)

    podcast = Podcast(duration="12:00", explicit="no")
    enclosure = Enclosure("https://a.example/1.mp3", "audio/mpeg", 1234)
    upsert("a", [article("a", n) for n in range(4)] + [article("a", 4, enclosures=(enclosure,))])
    upsert("b", [article("b", n, categories=("Welt", "Technik")) for n in range(3)])
    upsert("c", [article("c", 1, podcast=podcast), article("c", 2, link=None)])
    upsert("gone", [article("gone", 1, link=None)])  # an unconfigured source: own pages
    both("first")
    # New entries from one source change what the feeds say of that source's others.
    upsert("a", [article("a", 5), article("a", 6, title="a 6 <new>")])
    both("new entries")
    # An edit, and arrivals that fill archive pages and push old entries out (retention).
    upsert("b", [article("b", 1, title="edited"), *(article("b", n) for n in range(7, 12))])
    both("edit and retention")
    for store in (warm, cold):  # a deletion (a local source's editor deleted a file)
        store.delete_missing("c", frozenset({"1"}))
    both("deletion")
    for store in (warm, cold):  # the source's own title, as a fetch records it
        store.save_fetch_state(
            FetchState(
                source="a", last_outcome=FetchOutcome.NEW, last_fetch=NOW, feed_title="Blog A"
            )
        )
    upsert("a", [article("a", 13)])
    both("attribution")
    both("settings", settings={"base_url": "https://other.example/", "title": "Other"})
    both("hub", settings={"base_url": "https://other.example/", "hub": "https://hub.example/"})
    upsert("c", [article("c", 14, language="de"), article("c", 15, language="de")])
    both("languages", settings={"base_url": "https://other.example/", "max_items": 4})
    warm.close()
    cold.close()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_fragments_go_with_their_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, engine: str
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out", max_items=4, archive_size=2)
    url = (
        f"sqlite:///{tmp_path / 'f.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = ArticleStore.open(url)
    try:
        huge = article("b", 0, content="<p>" + "x" * FRAGMENT_LIMIT + "</p>")
        store.upsert_articles("b", [huge], NOW)
        for n in range(10):
            store.upsert_articles("a", [article("a", n)], NOW)
            publish_everything(config, store, clock=lambda: NOW)
            rows = fragment_rows(store)
            with store.engine.connect() as conn:
                live = set(conn.execute(text("SELECT id FROM articles")).scalars())
            assert {a for _, a, _ in rows} <= live  # retired articles took theirs along
            assert all(size <= FRAGMENT_LIMIT for _, _, size in rows)
            # One row per article and document: its category's three feeds, page and an
            # archive page, all/'s three feeds and page.
            assert len(rows) == len(set((d, a) for d, a, _ in rows)) <= 9 * len(live)
        # Too large to keep in the feeds (the pages' entries show no content) ...
        assert {d for d, a, _ in rows if a == huge.id} == {"welt/index.html", "all/index.html"}
        assert b"x" * FRAGMENT_LIMIT in (tmp_path / "out" / "welt" / "atom.xml").read_bytes()
        assert len(live) == 5  # ... yet published: 4 of a's kept by retention, and b's
        store.delete_missing("a", frozenset())
        assert {a for _, a, _ in fragment_rows(store)} <= {huge.id}
    finally:
        store.close()


def test_a_fragment_is_rendered_again_when_its_article_changes(tmp_path: Path) -> None:
    rendered: list[str] = []
    kept: dict[str, dict[str, tuple[str, bytes]]] = {}

    def save(new: list[tuple[str, str, str, bytes]]) -> None:
        for document, article_id_, digest, body in new:
            kept.setdefault(document, {})[article_id_] = (digest, body)
            rendered.append(article_id_)

    def publish(articles: list[Article]) -> bytes:
        fragments = Fragments(lambda documents: {d: kept.get(d, {}) for d in documents}, save)
        site = Site(OutputLayout(tmp_path, "https://f.example/"), "Planet", fragments=fragments)
        body = render_json_feed(build_document(Category.named("Technik"), articles, site))
        fragments.flush()
        return body

    first = [article("a", n) for n in range(3)]
    publish(first)
    assert len(rendered) == 3
    rendered.clear()
    again = publish(first)
    assert rendered == []  # nothing changed: every item reused
    edited = [first[0], replace(first[1], title="new"), first[2]]
    assert publish(edited) != again
    assert rendered == [first[1].id]


def test_an_older_store_gains_the_fragment_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = ArticleStore.open(url)
    store.upsert_articles("a", [article("a", 1)], NOW)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE entry_fragments"))
        conn.execute(text("UPDATE schema_info SET version = 7"))
    store.close()
    reopened = ArticleStore.open(url)
    try:
        with reopened.engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar() == SCHEMA_VERSION
        assert SCHEMA_VERSION == 8
        assert fragment_rows(reopened) == []
    finally:
        reopened.close()


def test_a_source_s_health_renders_no_entry_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run changes sources' last outcome (new, not modified, failed): entries do not
    show it, so it must not cost a render of every entry of theirs."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out")
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'h.db'}")
    saved: list[tuple[str, str, str, bytes]] = []

    def spying(engine: Engine, new: list[tuple[str, str, str, bytes]]) -> None:
        saved.extend(new)
        save_fragments(engine, new)

    monkeypatch.setattr(orchestrate, "save_fragments", spying)
    try:
        store.upsert_articles("a", [article("a", n) for n in range(3)], NOW)
        for outcome, errors in ((FetchOutcome.NEW, 0), (FetchOutcome.NOT_MODIFIED, 0),
                                (FetchOutcome.FAILED, 3)):  # fmt: skip
            store.save_fetch_state(
                FetchState(
                    source="a",
                    last_outcome=outcome,
                    last_fetch=NOW,
                    error_count=errors,
                    last_error="boom" if errors else None,
                    feed_title="Blog A",
                )
            )
            saved.clear()
            publish_everything(config, store, clock=lambda: NOW)
            if outcome is FetchOutcome.NEW:
                # Atom, RSS, JSON and the page of technik/ and all/, an archive page.
                assert len(saved) == 3 * 9
            else:
                assert saved == []
        store.save_fetch_state(FetchState(source="a", feed_title="Blog of A"))
        publish_everything(config, store, clock=lambda: NOW)
        # The title the feeds' entries credit changed: all of theirs again (the pages
        # show the source's name).
        assert len(saved) == 3 * 7
    finally:
        store.close()


def test_a_category_s_fragments_are_read_at_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category's feeds and archive pages take their kept entries from one read."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out", max_items=6, archive_size=2)
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'f.db'}")
    reads: list[list[str]] = []
    saved: list[tuple[str, str, str, bytes]] = []

    def reading(engine: Engine, documents: list[str]) -> object:
        reads.append(list(documents))
        return stored_fragments(engine, documents)

    def saving(engine: Engine, new: list[tuple[str, str, str, bytes]]) -> None:
        saved.extend(new)
        save_fragments(engine, new)

    monkeypatch.setattr(orchestrate, "stored_fragments", reading)
    monkeypatch.setattr(orchestrate, "save_fragments", saving)
    try:
        for n in range(6):
            store.upsert_articles("a", [article("a", n)], NOW)
        publish_everything(config, store, clock=lambda: NOW)
        assert saved
        first = (tmp_path / "out" / "technik" / "archive" / "1.xml").read_bytes()
        reads.clear()
        saved.clear()
        publish_everything(config, store, clock=lambda: NOW)
        assert saved == []  # every entry came from the read
        # One read per category, each of that category's documents only.
        folders = [sorted({name.split("/")[0] for name in documents}) for documents in reads]
        assert sorted(folders) == [["all"], ["technik"], ["welt"]]
        technik = next(set(documents) for documents in reads if "technik/atom.xml" in documents)
        assert {"technik/rss.xml", "technik/feed.json", "technik/archive/1.xml"} <= technik
        assert {"technik/archive/2.xml", "technik/archive/3.xml"} <= technik
        assert (tmp_path / "out" / "technik" / "archive" / "1.xml").read_bytes() == first
    finally:
        store.close()


def test_a_partial_publish_previews_the_entries_a_full_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: ArticleStore
) -> None:
    """More entries of one date than the front page previews: a publish that renders only
    another category takes this one's preview from the store, and must pick and order the
    same entries as a full publish of the same store does."""
    monkeypatch.chdir(tmp_path)
    clock = lambda: NOW  # noqa: E731
    partial_config = write_config(tmp_path, "partial", max_items=10)
    full_config = write_config(tmp_path, "full", max_items=10)
    tied = [article("a", n, published=NOW, updated=NOW) for n in range(PREVIEW + 3)]
    store.upsert_articles("a", tied, NOW)
    store.upsert_articles("b", [article("b", 1)], NOW)
    publish_pending(partial_config, store, clock=clock)
    store.upsert_articles("b", [article("b", 2)], NOW)
    changed, _ = publish_pending(partial_config, store, clock=clock)
    assert changed == {"welt"}  # only the other category was rendered again
    publish_everything(full_config, store, clock=clock)
    partial, full = files_of(tmp_path / "partial"), files_of(tmp_path / "full")
    assert partial["index.html"] == full["index.html"]
    assert partial == full


def test_entries_are_cut_where_their_lines_start() -> None:
    """An entry starts a line at its depth: not deeper, not mid-line, not a longer name;
    the first line counts too."""
    document = (
        b"  <entry>first</entry>\n<feed>\n  <entryish/>\n    <entry>deeper</entry>\n"
        b"  <entry a='1'>x  <entry></entry>\n  <entry>last</entry>\n</feed>\n"
    )
    head, entries = split_entries(document, b"  <entry", b"</feed>\n")
    assert head == b""
    assert entries == [
        b"  <entry>first</entry>\n<feed>\n  <entryish/>\n    <entry>deeper</entry>\n",
        b"  <entry a='1'>x  <entry></entry>\n",
        b"  <entry>last</entry>\n",
    ]
    assert split_entries(b"<feed>\n</feed>\n", b"  <entry", b"</feed>\n") == (b"<feed>\n", [])


def test_saved_fragments_replace_theirs_and_skip_gone_articles(store: ArticleStore) -> None:
    """Kept per document and article, the last of a batch winning; a second save replaces;
    a fragment of an article that is not (or no longer) stored is not kept."""
    live = [article("a", n) for n in range(3)]
    store.upsert_articles("a", live, NOW)
    gone = article("a", 9).id
    body = b"\x00<entry>\xff</entry>\n"  # bytes as they are, not text
    save_fragments(
        store.engine,
        [("t/atom.xml", live[0].id, "d0", b"old"), ("t/atom.xml", live[0].id, "d1", body),
         ("t/rss.xml", live[0].id, "d2", b"rss"), ("t/atom.xml", gone, "d3", b"gone"),
         ("t/atom.xml", live[1].id, "d4", b"one")],
    )  # fmt: skip
    save_fragments(store.engine, [("t/atom.xml", live[1].id, "d5", b"new"), ("t/x", gone, "", b"")])
    save_fragments(store.engine, [])
    assert stored_fragments(store.engine, ["t/atom.xml", "t/rss.xml", "t/x"]) == {
        "t/atom.xml": {live[0].id: ("d1", body), live[1].id: ("d5", b"new")},
        "t/rss.xml": {live[0].id: ("d2", b"rss")},
    }


def test_finding_a_bad_entry_keeps_no_fragment_of_its_one_entry_trials(tmp_path: Path) -> None:
    # A category with a bad entry is rendered again one entry at a time to find it; those
    # one-entry documents' fragments must not replace the good entries' kept ones.
    kept: dict[str, dict[str, tuple[str, bytes]]] = {}
    rendered: list[str] = []

    def save(new: list[tuple[str, str, str, bytes]]) -> None:
        for document, article_id_, digest, body in new:
            kept.setdefault(document, {})[article_id_] = (digest, body)
            rendered.append(article_id_)

    def publish(articles: list[Article]) -> None:
        fragments = Fragments(lambda documents: {d: kept.get(d, {}) for d in documents}, save)
        site = Site(OutputLayout(tmp_path, "https://f.example/"), "Planet", fragments=fragments)
        publish_site([(Category.named("Welt"), articles)], articles, site)
        fragments.flush()

    good = [article("a", n) for n in range(3)]
    bad = article("a", 9, title="bad \x01 title")  # XML cannot carry it: every format refuses
    publish(good)
    publish([*good, bad])
    rendered.clear()
    publish([*good, bad])
    assert {good_one.id for good_one in good} & set(rendered) == set()


def test_a_batch_is_saved_while_the_publish_renders_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store's write waits mostly outside the GIL: rendering goes on beside it, and `flush`
    # is where the publish waits for it. Saved in the rendering thread, `entries` would wait
    # out the timeout below and the save would find itself not released.
    monkeypatch.setattr("feeds.publish.fragments.FLUSH_BYTES", 1)
    released = threading.Event()
    saved: list[tuple[bool, list[str]]] = []

    def save(new: list[tuple[str, str, str, bytes]]) -> None:
        saved.append((released.wait(timeout=10), [article_id_ for _, article_id_, _, _ in new]))

    fragments = Fragments(lambda documents: {}, save)
    one = article("a", 1)
    body = fragments.entries("x/feed.json", [one], lambda a: None, render_each)
    released.set()
    fragments.flush()
    assert body == [one.id.encode()]
    assert saved == [(True, [one.id])]


def test_a_failed_save_is_raised_by_flush(tmp_path: Path) -> None:
    def save(new: list[tuple[str, str, str, bytes]]) -> None:
        raise OSError("disk full")

    fragments = Fragments(lambda documents: {}, save)
    fragments.entries("x/feed.json", [article("a", 1)], lambda a: None, render_each)
    with pytest.raises(OSError, match="disk full"):
        fragments.flush()


def render_each(articles: Sequence[Article]) -> list[bytes]:
    return [a.id.encode() for a in articles]


def test_an_article_s_digest_tells_every_field_apart() -> None:
    # The long texts are hashed one after the other: a character moved from one to the next
    # is a change, and so is any other field.
    base = article("a", 1, title="ab", summary="c")
    same = replace(base)
    changed = [
        replace(base, title="a", summary="bc"),
        replace(base, summary="", content="c" + base.content),
        replace(base, tags=("u",)),
        replace(base, podcast=Podcast(duration="1:00")),
        replace(base, authors=(Author("Bo"),)),
        replace(base, updated=base.updated + timedelta(seconds=1)),
    ]
    digests = {article_digest(a) for a in changed}
    assert article_digest(same) == article_digest(base)
    assert len(digests) == len(changed) and article_digest(base) not in digests


def test_a_failed_publish_keeps_what_it_rendered_and_raises_its_own_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `abandon` waits for the batches handed over (rendered right, so kept) and raises
    # none of their errors: the publish's own error is the one the caller sees.
    monkeypatch.setattr("feeds.publish.fragments.FLUSH_BYTES", 1)
    saved: list[str] = []

    def save(new: list[tuple[str, str, str, bytes]]) -> None:
        saved.extend(article_id_ for _, article_id_, _, _ in new)
        raise OSError("store gone")

    fragments = Fragments(lambda documents: {}, save)
    one = article("a", 1)
    fragments.entries("x/feed.json", [one], lambda a: None, render_each)
    fragments.abandon()
    assert saved == [one.id]


def test_first_seen_is_read_only_when_sources_share_an_article(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which copy of a shared article is published needs when each was first stored; a
    publish without shared articles does not read it."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out")
    reads: list[int] = []
    reading = ArticleStore.first_seen_by_id

    def counted(store: ArticleStore, ids: Sequence[str]) -> dict[str, datetime]:
        reads.append(len(ids))
        return reading(store, ids)

    monkeypatch.setattr(ArticleStore, "first_seen_by_id", counted)
    store = ArticleStore.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.upsert_articles("a", [article("a", n) for n in range(3)], NOW)
        store.upsert_articles("b", [article("b", 7)], NOW)
        publish_everything(config, store, clock=lambda: NOW)
        assert reads == []
        store.upsert_articles("b", [article("b", 8, link="https://a.example/1")], NOW)
        publish_everything(config, store, clock=lambda: NOW)
        assert len(reads) == 1  # once per publish, not once per document
        everything = json.loads((tmp_path / "out" / "all" / "feed.json").read_bytes())
        links = [item["url"] for item in everything["items"]]
        assert links.count("https://a.example/1") == 1
    finally:
        store.close()
