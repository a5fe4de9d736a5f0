"""Entry fragments (feeds/publish/fragments.py, store schema 9): a publish that reuses the
entries earlier publishes rendered, cut from the files they wrote, writes exactly the bytes
of one that renders every entry; the store keeps one row per published document and no copy
of the output."""

from __future__ import annotations

import hashlib
import json
import os
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
    PlacedEntries,
    PlacedEntry,
    Podcast,
    article_id,
)
from feeds.publish import orchestrate
from feeds.publish.document import Site, build_document
from feeds.publish.fragments import (
    PROBE,
    Fragments,
    article_digest,
    cut_from,
    placed_in,
    split_entries,
)
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.layout import PREVIEW, OutputLayout
from feeds.publish.orchestrate import publish_everything, publish_pending
from feeds.publish.site import publish_site
from feeds.store import ArticleStore, forget_fragments, save_fragments, stored_fragments
from feeds.store.schema import SCHEMA_VERSION, document_fragments

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


def fragment_rows(store: ArticleStore) -> dict[str, PlacedEntries]:
    """The placed entries the store keeps, by document."""
    with store.engine.connect() as conn:
        names = list(conn.execute(select(document_fragments.c.document)).scalars())
    return stored_fragments(store.engine, names)


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(document, article id) of every entry rendered from here on, not reused, by a
    publish that keeps fragments (not by the one-entry trials that find a bad entry)."""
    made: list[tuple[str, str]] = []
    entries = Fragments.entries

    def counting(
        self: Fragments,
        document: str,
        articles: Sequence[Article],
        context: object,
        render: object,
        family: str | None = None,
    ) -> list[bytes]:
        def counted(some: Sequence[Article]) -> list[bytes]:
            bodies: list[bytes] = render(some)  # type: ignore[operator]
            if self._save is not None:  # counted once rendered: a render may fail
                made.extend((document, a.id) for a in some)
            return bodies

        return entries(self, document, articles, context, counted, family)  # type: ignore[arg-type]

    monkeypatch.setattr(Fragments, "entries", counting)
    return made


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
            conn.execute(document_fragments.delete())
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


def documents_of(directory: Path) -> dict[str, bytes]:
    """The published documents that carry entries: each category's feeds and page, and
    the archive pages (not the front page, the OPML or the variants)."""
    return {
        name: data
        for name, data in files_of(directory).items()
        if (
            name.count("/") >= 1
            and name.rsplit("/", 1)[1] in {"atom.xml", "rss.xml", "feed.json", "index.html"}
        )
        or ("/archive/" in name and name.endswith(".xml"))
    }


def entries_in(name: str, data: bytes) -> int:
    if name.endswith("feed.json"):
        return len(json.loads(data)["items"])
    if name.endswith("index.html"):
        return data.count(b"\n<article>")
    return data.count(b"\n  <entry") + data.count(b"\n    <item>")


def test_the_store_keeps_one_row_per_published_document_and_no_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: ArticleStore
) -> None:
    """Each document's row places every entry it carries, in the file as written; pages
    that retention empties take their rows along; a fragment of any size is placed."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out", max_items=4, archive_size=2)
    huge = article("b", 0, content="<p>" + "x" * 200_000 + "</p>")
    store.upsert_articles("b", [huge], NOW)
    pages_seen: set[str] = set()
    for n in range(10):
        store.upsert_articles("a", [article("a", n)], NOW)
        publish_everything(config, store, clock=lambda: NOW)
        rows = fragment_rows(store)
        documents = documents_of(tmp_path / "out")
        pages_seen |= {name for name in documents if "/archive/" in name}
        assert set(rows) == set(documents)  # removed archive pages took theirs along
        for name, placed in rows.items():
            data = documents[name]
            assert placed.file_digest == hashlib.sha256(data).hexdigest()
            cut = cut_from(tmp_path / "out" / name, placed)
            assert len(cut) == len(placed.entries) > 0, name
            # Every entry the document carries is placed, one after the other.
            assert len(placed.entries) == entries_in(name, data)
            ends = [0, *(e.offset + e.length for e in placed.entries)]
            assert all(e.offset >= end for e, end in zip(placed.entries, ends, strict=False))
    assert len(pages_seen) > len([n for n in documents if "/archive/" in n])  # some went
    with store.engine.connect() as conn:
        kept = conn.execute(select(func.sum(func.length(document_fragments.c.entries))))
        assert (kept.scalar() or 0) < sum(map(len, documents.values())) / 20  # no copies
    assert huge.id in {e.article_id for e in rows["welt/atom.xml"].entries}


class PlacedStore:
    """A store's half of fragments in a dict, as `stored_fragments` and `save_fragments`."""

    def __init__(self) -> None:
        self.kept: dict[str, PlacedEntries] = {}
        self.saves: list[list[str]] = []

    def load(self, documents: Sequence[str]) -> dict[str, PlacedEntries]:
        return {d: self.kept[d] for d in documents if d in self.kept}

    def save(self, documents: Sequence[tuple[str, PlacedEntries]]) -> None:
        self.saves.append([name for name, _ in documents])
        self.kept.update(documents)


def publish_json(tmp_path: Path, placed: PlacedStore, articles: list[Article]) -> bytes:
    """Technik's JSON Feed of `articles`, written where the fragments look for it."""
    fragments = Fragments(placed.load, placed.save, OutputLayout(tmp_path, "https://f.example/"))
    site = Site(OutputLayout(tmp_path, "https://f.example/"), "Planet", fragments=fragments)
    body = render_json_feed(build_document(Category.named("Technik"), articles, site))
    path = tmp_path / "technik" / "feed.json"
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)  # replaced, as the publish's writer does
    path.write_bytes(body)
    fragments.written({path: body})
    fragments.flush()
    return body


def test_a_fragment_is_rendered_again_when_its_article_changes(
    tmp_path: Path, rendered: list[tuple[str, str]]
) -> None:
    placed = PlacedStore()
    first = [article("a", n) for n in range(3)]
    publish_json(tmp_path, placed, first)
    assert len(rendered) == 3
    rendered.clear()
    again = publish_json(tmp_path, placed, first)
    assert rendered == []  # nothing changed: every item reused
    edited = [first[0], replace(first[1], title="new"), first[2]]
    assert publish_json(tmp_path, placed, edited) != again
    assert rendered == [("technik/feed.json", first[1].id)]


@pytest.mark.parametrize(
    "change",
    [
        "edited",
        "truncated",
        "grown",
        "removed",
        "replaced by a symlink",
        "replaced by a FIFO",
        "offset beyond",
        "junk row",
    ],
)
def test_a_document_changed_behind_the_store_s_back_is_rendered_again(
    tmp_path: Path, rendered: list[tuple[str, str]], change: str
) -> None:
    """A file edited, cut short, gone or not the one placed, or a row that does not fit
    it: nothing is cut from it, every entry is rendered again, and the bytes are those of
    a publish that never kept anything."""
    placed = PlacedStore()
    articles = [article("a", n) for n in range(4)]
    expected = publish_json(tmp_path, placed, articles)
    path = tmp_path / "technik" / "feed.json"
    if change == "edited":  # the same length, one byte inside an entry changed
        at = expected.index(b'"a 2"')
        path.write_bytes(expected[:at] + b"'" + expected[at + 1 :])
    elif change == "truncated":
        path.write_bytes(expected[: len(expected) // 2])
    elif change == "grown":
        path.write_bytes(expected + b"\n")
    elif change == "removed":
        path.unlink()
    elif change == "replaced by a FIFO":  # reading it would block: it is not opened so
        path.unlink()
        os.mkfifo(path)
    elif change == "replaced by a symlink":
        other = tmp_path / "other.json"
        other.write_bytes(expected.replace(b"a 1", b"a 9"))
        path.unlink()
        path.symlink_to(other)
    elif change == "offset beyond":
        kept = placed.kept["technik/feed.json"]
        last = kept.entries[-1]
        moved = PlacedEntry(last.article_id, last.digest, len(expected) - 2, last.length)
        placed.kept["technik/feed.json"] = replace(kept, entries=(*kept.entries[:-1], moved))
    else:
        placed.kept["technik/feed.json"] = PlacedEntries("0" * 64, len(expected), ())
    rendered.clear()
    assert publish_json(tmp_path, placed, articles) == expected
    assert len(rendered) == len(articles)


def test_entries_are_placed_in_order_until_one_is_not_found() -> None:
    document = b'{"items": [\n  A,\n  BB,\n  A,\n  C\n]}'
    entries = [("1", "d1", b"A"), ("2", "d2", b"BB"), ("3", "d3", b"A"), ("4", "d4", b"X"),
               ("5", "d5", b"C")]  # fmt: skip
    placed = placed_in(document, entries)
    assert placed.file_digest == hashlib.sha256(document).hexdigest()
    # The second "A" is the one after "BB", not the first again; nothing after the miss.
    assert [(e.article_id, e.offset, e.length) for e in placed.entries] == [
        ("1", 14, 1),
        ("2", 19, 2),
        ("3", 25, 1),
    ]
    assert all(document[e.offset : e.offset + e.length] == b for e, (_, _, b) in
               zip(placed.entries, entries, strict=False))  # fmt: skip


def test_an_entry_is_placed_where_all_its_bytes_are_not_where_its_start_is() -> None:
    """Entries are looked for by their first bytes (`PROBE`): a place that starts the same
    but goes on otherwise is passed over."""
    start = b"<entry>" + b"x" * PROBE
    real = start + b"real</entry>\n"
    decoy = start + b"decoy</entry>\n"
    document = b"<feed>\n" + decoy + b"<source/>\n" + real + b"</feed>\n"
    placed = placed_in(document, [("1", "d1", real)])
    assert [(e.article_id, e.offset) for e in placed.entries] == [("1", document.index(real))]
    assert document.index(real) > document.index(decoy)


def test_an_older_store_drops_its_fragment_copies(tmp_path: Path) -> None:
    """Version 8 kept a copy of each entry's bytes (entry_fragments): version 9 drops them
    and places entries in the files instead."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = ArticleStore.open(url)
    store.upsert_articles("a", [article("a", 1)], NOW)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE document_fragments"))
        conn.execute(
            text(
                "CREATE TABLE entry_fragments (document VARCHAR(300), article_id VARCHAR(64),"
                " digest VARCHAR(64), body BLOB, PRIMARY KEY (document, article_id))"
            )
        )
        conn.execute(text("INSERT INTO entry_fragments VALUES ('t/atom.xml', 'x', 'd', 'b')"))
        conn.execute(text("UPDATE schema_info SET version = 8"))
    store.close()
    reopened = ArticleStore.open(url)
    try:
        with reopened.engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar() == SCHEMA_VERSION
            tables = set(
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars()
            )
        assert SCHEMA_VERSION == 9
        assert "entry_fragments" not in tables and "document_fragments" in tables
        assert fragment_rows(reopened) == {}
    finally:
        reopened.close()


def test_a_source_s_health_renders_no_entry_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rendered: list[tuple[str, str]]
) -> None:
    """Every run changes sources' last outcome (new, not modified, failed): entries do not
    show it, so it must not cost a render of every entry of theirs."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out")
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'h.db'}")
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
            rendered.clear()
            publish_everything(config, store, clock=lambda: NOW)
            if outcome is FetchOutcome.NEW:
                # Atom, RSS, JSON and the page of technik/ and all/ (the archive page
                # takes its Atom entries from technik/atom.xml's).
                assert len(rendered) == 3 * 8
            else:
                assert rendered == []
        store.save_fetch_state(FetchState(source="a", feed_title="Blog of A"))
        publish_everything(config, store, clock=lambda: NOW)
        # The title the feeds' entries credit changed: all of theirs again (the pages
        # show the source's name; the archive page takes technik/atom.xml's).
        assert len(rendered) == 3 * 6
    finally:
        store.close()


def test_an_archive_page_takes_the_atom_entries_of_its_category_s_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rendered: list[tuple[str, str]]
) -> None:
    """An entry's Atom fragment is made once for its category's feed and archive pages,
    and its `<source>` is each document's own: every file is the bytes of a publish that
    renders each document's entries by themselves."""
    monkeypatch.chdir(tmp_path)
    shared = write_config(tmp_path, "shared", max_items=9, archive_size=3)
    alone = write_config(tmp_path, "alone", max_items=9, archive_size=3)
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    entries = Fragments.entries

    def by_themselves(self: Fragments, *args: object, **kwargs: object) -> list[bytes]:
        return entries(self, *args[:4], None)  # type: ignore[arg-type]

    try:
        # Two sources in one category, one arrival at a time: a page's newest entry of a
        # source is older than the feed's, so the pages' `<source>` says another date.
        # The second page's entries are all in English, so it says so once, and its
        # entries do not (the feed's do): they are its own.
        for n in range(9):
            source = "a" if n % 3 else "c"
            english = {"language": "en"} if 3 <= n <= 5 else {}
            store.upsert_articles(source, [article(source, n, **english)], NOW)
        publish_everything(shared, store, clock=lambda: NOW)
        made = [document for document, _ in rendered if document.startswith("technik/")]
        assert made.count("technik/atom.xml") == 9
        assert [document for document in made if "/archive/" in document] == [
            "technik/archive/2.xml"
        ] * 3
        with monkeypatch.context() as patched:
            patched.setattr(Fragments, "entries", by_themselves)
            with store.engine.begin() as conn:
                conn.execute(document_fragments.delete())
            publish_everything(alone, store, clock=lambda: NOW)
        written = files_of(tmp_path / "shared")
        assert written == files_of(tmp_path / "alone")
        page = written["technik/archive/1.xml"].decode()
        feed = written["technik/atom.xml"].decode()
        # The same entry, another `<source>`: the page's newest of source a is older.
        assert "<updated>2026-11-27T02:00:00+00:00</updated>\n    </source>" in page
        assert "<updated>2026-11-27T02:00:00+00:00</updated>\n    </source>" not in feed
    finally:
        store.close()


def test_a_category_s_fragments_are_read_at_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rendered: list[tuple[str, str]]
) -> None:
    """A category's feeds and archive pages take their kept entries from one read."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "out", max_items=6, archive_size=2)
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'f.db'}")
    reads: list[list[str]] = []

    def reading(engine: Engine, documents: list[str]) -> object:
        reads.append(list(documents))
        return stored_fragments(engine, documents)

    monkeypatch.setattr(orchestrate, "stored_fragments", reading)
    try:
        for n in range(6):
            store.upsert_articles("a", [article("a", n)], NOW)
        publish_everything(config, store, clock=lambda: NOW)
        assert rendered
        first = (tmp_path / "out" / "technik" / "archive" / "1.xml").read_bytes()
        reads.clear()
        rendered.clear()
        publish_everything(config, store, clock=lambda: NOW)
        assert rendered == []  # every entry came from the read
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


def test_saved_placings_replace_a_document_s_and_are_forgotten(store: ArticleStore) -> None:
    """One row per document, the last save of it winning; forgotten documents are gone; a
    row that does not read as placed entries is left out, not raised."""
    one = PlacedEntries("a" * 64, 12, (PlacedEntry("x", "d1", 0, 3), PlacedEntry("y", "d2", 3, 9)))
    two = PlacedEntries("b" * 64, 2**40, (PlacedEntry("x", "d3", 5, 1),))
    save_fragments(store.engine, [("t/atom.xml", one), ("t/rss.xml", one), ("t/atom.xml", two)])
    save_fragments(store.engine, [("t/rss.xml", two)])
    save_fragments(store.engine, [])
    with store.engine.begin() as conn:
        conn.execute(
            document_fragments.insert().values(
                document="t/bad", file_digest="c", file_size=1, entries=b"[1]"
            )
        )
    assert stored_fragments(store.engine, ["t/atom.xml", "t/rss.xml", "t/bad", "t/x"]) == {
        "t/atom.xml": two,
        "t/rss.xml": two,
    }
    forget_fragments(store.engine, ["t/rss.xml", "t/bad"])
    forget_fragments(store.engine, [])
    assert fragment_rows(store) == {"t/atom.xml": two}


def test_finding_a_bad_entry_keeps_no_fragment_of_its_one_entry_trials(
    tmp_path: Path, rendered: list[tuple[str, str]]
) -> None:
    # A category with a bad entry is rendered again one entry at a time to find it; those
    # one-entry documents' fragments must not replace the good entries' kept ones.
    placed = PlacedStore()

    def publish(articles: list[Article]) -> None:
        fragments = Fragments(
            placed.load, placed.save, OutputLayout(tmp_path, "https://f.example/")
        )
        site = Site(OutputLayout(tmp_path, "https://f.example/"), "Planet", fragments=fragments)
        publish_site([(Category.named("Welt"), articles)], articles, site)
        fragments.flush()

    good = [article("a", n) for n in range(3)]
    bad = article("a", 9, title="bad \x01 title")  # XML cannot carry it: every format refuses
    publish(good)
    publish([*good, bad])
    rendered.clear()
    publish([*good, bad])
    assert {good_one.id for good_one in good} & {a for _, a in rendered} == set()


def test_a_batch_is_saved_while_the_publish_renders_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store's write waits mostly outside the GIL: rendering goes on beside it, and `flush`
    # is where the publish waits for it. Saved in the rendering thread, `written` would wait
    # out the timeout below and the save would find itself not released.
    monkeypatch.setattr("feeds.publish.fragments.FLUSH_DOCUMENTS", 1)
    released = threading.Event()
    saved: list[tuple[bool, list[str]]] = []

    def save(new: Sequence[tuple[str, PlacedEntries]]) -> None:
        saved.append((released.wait(timeout=10), [name for name, _ in new]))

    fragments = Fragments(lambda documents: {}, save, OutputLayout(tmp_path, "https://f.example/"))
    one = article("a", 1)
    body = fragments.entries("x/feed.json", [one], lambda a: None, render_each)
    fragments.written({tmp_path / "x" / "feed.json": b"[" + body[0] + b"]"})
    released.set()
    fragments.flush()
    assert body == [one.id.encode()]
    assert saved == [(True, ["x/feed.json"])]


def test_a_failed_save_is_raised_by_flush(tmp_path: Path) -> None:
    def save(new: Sequence[tuple[str, PlacedEntries]]) -> None:
        raise OSError("disk full")

    fragments = Fragments(lambda documents: {}, save, OutputLayout(tmp_path, "https://f.example/"))
    body = fragments.entries("x/feed.json", [article("a", 1)], lambda a: None, render_each)
    fragments.written({tmp_path / "x" / "feed.json": body[0]})
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `abandon` waits for the batches handed over (written right, so kept) and raises
    # none of their errors: the publish's own error is the one the caller sees.
    monkeypatch.setattr("feeds.publish.fragments.FLUSH_DOCUMENTS", 1)
    saved: list[str] = []

    def save(new: Sequence[tuple[str, PlacedEntries]]) -> None:
        saved.extend(name for name, _ in new)
        raise OSError("store gone")

    fragments = Fragments(lambda documents: {}, save, OutputLayout(tmp_path, "https://f.example/"))
    one = article("a", 1)
    body = fragments.entries("x/feed.json", [one], lambda a: None, render_each)
    fragments.written({tmp_path / "x" / "feed.json": body[0]})
    fragments.entries("y/feed.json", [one], lambda a: None, render_each)  # never written
    fragments.abandon()
    assert saved == ["x/feed.json"]


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
