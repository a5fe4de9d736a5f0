"""RFC 5005 paged archives: full pages are cut from arrival order and stay put."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
from lxml import etree
from support.conformance import assert_valid_atom
from support.namespaces import ATOM

from feeds.config import load_config
from feeds.model import Article, Author, article_id
from feeds.publish.orchestrate import publish_everything
from feeds.store import ArticleStore

NOW = datetime(2026, 11, 27, tzinfo=UTC)
HISTORY = "{http://purl.org/syndication/history/1.0}"


def article(n: int, published: datetime) -> Article:
    return Article(
        id=article_id("s", str(n)), source="s", entry_id=str(n), title=f"Item {n}",
        link=f"https://e.org/{n}", summary="", content=f"<p>{n}</p>", authors=(Author("A"),),
        published=published, updated=published, categories=("Technik",), language="en",
    )  # fmt: skip


def write_config(folder: Path, output: str) -> Path:
    """`folder`/feeds.toml: output to out/ with the `[output]` settings `output` (lines),
    the store in feeds.db."""
    path = folder / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "out"\n{output}[storage]\nurl = "sqlite:///feeds.db"\n',
        encoding="utf-8",
    )
    return path


def links(document: bytes) -> dict[str, str]:
    root = etree.fromstring(document)
    return {l.get("rel"): l.get("href") for l in root.findall(f"{ATOM}link")}


def titles(document: bytes) -> set[str]:
    return {e.title for e in feedparser.parse(document).entries}


def test_archive_pages(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, 'base_url = "https://f.example/"\narchive_size = 50\n')
    )
    store = ArticleStore.open(config.storage.url)
    for n in range(120):  # arrivals one by one, like fetches over time
        store.upsert_articles("s", [article(n, NOW + timedelta(hours=n))], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    out = tmp_path / "out" / "technik"
    base = "https://f.example/technik/"

    current = (out / "atom.xml").read_bytes()
    assert_valid_atom(current)
    assert links(current)["prev-archive"] == base + "archive/2.xml"
    assert not (out / "archive" / "3.xml").exists()  # 101..120: not full yet

    page2 = (out / "archive" / "2.xml").read_bytes()
    assert_valid_atom(page2)
    assert etree.fromstring(page2).find(f"{HISTORY}archive") is not None
    assert links(page2) == {
        "self": base + "archive/2.xml",
        "alternate": base,
        "current": base + "atom.xml",
        "prev-archive": base + "archive/1.xml",
    }
    assert titles(page2) == {f"Item {n}" for n in range(50, 100)}
    page1 = (out / "archive" / "1.xml").read_bytes()
    assert links(page1)["next-archive"] == base + "archive/2.xml"
    assert "prev-archive" not in links(page1)
    assert titles(page1) == {f"Item {n}" for n in range(50)}

    # A late arrival with an old date lands in the newest page, not in a closed one.
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "archive").iterdir()}
    store.upsert_articles("s", [article(999, NOW - timedelta(days=30))], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    assert {p: p.stat().st_mtime_ns for p in (out / "archive").iterdir()} == mtimes
    store.close()


def test_archives_can_be_turned_off(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "archive_size = 0\n"))
    store = ArticleStore.open(config.storage.url)
    store.upsert_articles("s", [article(n, NOW + timedelta(hours=n)) for n in range(60)], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    assert not (tmp_path / "out" / "technik" / "archive").exists()
    assert "prev-archive" not in links((tmp_path / "out" / "technik" / "atom.xml").read_bytes())
    store.close()


def entry(source: str, hour: int) -> Article:
    """An entry of `source` dated `hour` hours after NOW, titled by its date."""
    published = NOW + timedelta(hours=hour)
    return Article(
        id=article_id(source, str(hour)), source=source, entry_id=str(hour),
        title=f"Hour {hour}", link=f"https://e.org/{source}/{hour}", summary="",
        content=f"<p>{hour}</p>", authors=(Author("A"),), published=published,
        updated=published, categories=("Technik",), language="en",
    )  # fmt: skip


def pages(folder: Path) -> dict[str, bytes]:
    """Every file of an archive folder (pages and their compressed variants) by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def changed_pages(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    """The page numbers whose files were added or rewritten."""
    return {name.split(".")[0] for name in after if before.get(name) != after[name]}


def test_retention_after_a_first_import_changes_only_the_oldest_page(tmp_path: Path) -> None:
    # The first import: three feeds whose dates interleave, stored feed after feed (fetch
    # order), 90 entries of which retention keeps the newest 40.
    output = 'base_url = "https://f.example/"\narchive_size = 10\nmax_items = 40\n'
    config = load_config(write_config(tmp_path, output))
    store = ArticleStore.open(config.storage.url)
    for k, source in enumerate(("a", "b", "c")):
        store.upsert_articles(source, [entry(source, 3 * i + k) for i in range(30)], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    folder = tmp_path / "out" / "technik" / "archive"
    first = pages(folder)
    # The kept 40 (hours 50..89) fill pages 1-4 in date order.
    for page in range(1, 5):
        document = first[f"{page}.xml"]
        assert_valid_atom(document)
        assert etree.fromstring(document).find(f"{HISTORY}archive") is not None
        assert titles(document) == {f"Hour {h}" for h in range(40 + 10 * page, 50 + 10 * page)}
    assert "5.xml" not in first

    # A later run: 5 new entries, 5 retired, all from page 1; no page fills.
    store.upsert_articles("a", [entry("a", h) for h in range(90, 95)], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    second = pages(folder)
    assert changed_pages(first, second) == {"1"}
    assert titles(second["1.xml"]) == {f"Hour {h}" for h in range(55, 60)}

    # 5 more: page 5 fills, and page 1 is left empty. Page 2 loses its prev-archive link,
    # page 4 gains a next-archive one; page 3 stays as it was.
    (folder / "notes.txt").write_text("the operator's", encoding="utf-8")
    (folder / "1.xml.bak").write_bytes(second["1.xml"])
    second = pages(folder)
    store.upsert_articles("b", [entry("b", h) for h in range(95, 100)], NOW)
    publish_everything(config, store, clock=lambda: NOW)
    third = pages(folder)
    # Page 1 is linked from nowhere now and holds only retired entries: it goes, with its
    # variants; files that are not pages stay.
    assert not {"1.xml", "1.xml.gz", "1.xml.br"} & set(third)
    assert {"notes.txt", "1.xml.bak"} <= set(third)
    assert changed_pages(second, third) == {"2", "4", "5"}
    assert titles(third["5.xml"]) == {f"Hour {h}" for h in range(90, 100)}
    assert "prev-archive" not in links(third["2.xml"])
    assert links(third["4.xml"])["next-archive"] == "https://f.example/technik/archive/5.xml"
    for page in range(2, 6):
        assert_valid_atom(third[f"{page}.xml"])
    store.close()


def test_turning_archives_off_removes_their_pages(tmp_path: Path) -> None:
    path = write_config(tmp_path, "archive_size = 10\n")
    store = ArticleStore.open(load_config(path).storage.url)
    store.upsert_articles("s", [article(n, NOW + timedelta(hours=n)) for n in range(30)], NOW)
    publish_everything(load_config(path), store, clock=lambda: NOW)
    folder = tmp_path / "out" / "technik" / "archive"
    assert {"1.xml", "2.xml", "3.xml"} <= {p.name for p in folder.iterdir()}
    write_config(tmp_path, "archive_size = 0\n")
    publish_everything(load_config(path), store, clock=lambda: NOW)
    assert [p.name for p in folder.iterdir()] == []
    assert "prev-archive" not in links((tmp_path / "out" / "technik" / "atom.xml").read_bytes())
    store.close()
