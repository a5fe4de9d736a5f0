"""A category left with no articles that the config no longer names is unpublished: its
folder goes, with its archive pages, variants and stored fragments.

Before: its files stayed for ever, linked from nowhere but still serving entries the store
had moved or deleted (a source's category renamed: the old folder kept all its entries, as
they were), and every renamed category or deleted file's category left a folder behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from feeds.config import load_config
from feeds.store import ArticleStore
from feeds.store.schema import document_fragments
from tests.support.configfile import write_config
from tests.support.feedfactory import FeedItem, rss20
from tests.support.feedserver import FeedServer
from tests.support.update_runs import NOW, Clock, files_of, update_and_publish

HEAD = '[output]\nbase_url = "https://feeds.example/"\nmax_items = 10\narchive_size = 2\n'


def documents(store: ArticleStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(document_fragments.c.document)).scalars())


def feed(version: int) -> bytes:
    items = [
        FeedItem(
            id=f"e{n}",
            title=f"Entry {n}, version {version}",
            link=f"https://a.example/{n}",
            published=datetime(2026, 12, 1, n, tzinfo=UTC),
        )
        for n in range(5)
    ]
    return rss20(items, title="Alpha")


def test_a_renamed_category_takes_its_folder_along(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", feed(1))
    source = f'[[sources]]\nname = "Alpha"\nurl = "{url}"\ncategory = "%s"\n'
    path = write_config(tmp_path, source % "Old")
    path.write_text(path.read_text().replace("[output]\n", HEAD))
    config = load_config(path)
    store = ArticleStore.open(config.storage.url)
    try:
        update_and_publish(config, store, Clock(NOW))
        out = config.output.dir
        assert (out / "old" / "atom.xml").is_file() and (out / "old" / "archive").is_dir()
        # Renamed, and the feed edits every entry: all of them move to the new category.
        feed_server.add("/feed.xml", feed(2))
        path.write_text(path.read_text().replace('"Old"', '"New"'))
        config = load_config(path)
        update_and_publish(config, store, Clock(NOW))
        assert not (out / "old").exists()
        assert not any(name.startswith("old/") for name in files_of(out))
        assert not any(name.startswith("old/") for name in documents(store))
        assert b"version 2" in (out / "new" / "atom.xml").read_bytes()
    finally:
        store.close()


def test_a_category_whose_last_file_is_deleted_is_unpublished(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    kept = "---\ntitle: Kept\ndate: 2026-12-01 10:00\ncategory: Stays\n---\nText.\n"
    gone = "---\ntitle: Gone\ndate: 2026-12-01 11:00\ncategory: Leaves\n---\nText.\n"
    (articles / "kept.md").write_text(kept)
    (articles / "gone.md").write_text(gone)
    path = write_config(tmp_path, '[[sources]]\nname = "Local"\npath = "articles"\n')
    path.write_text(path.read_text().replace("[output]\n", HEAD))
    config = load_config(path)
    store = ArticleStore.open(config.storage.url)
    try:
        update_and_publish(config, store, Clock(NOW))
        out = config.output.dir
        (out / "leaves" / "notes.txt").write_text("not ours")  # left alone, and its folder
        assert (out / "leaves" / "feed.json").is_file()
        (articles / "gone.md").unlink()
        update_and_publish(config, store, Clock(NOW))  # publishes the changed categories
        assert sorted(p.name for p in (out / "leaves").iterdir()) == ["notes.txt"]
        assert not any(name.startswith("leaves/") for name in documents(store))
        assert (out / "stays" / "feed.json").is_file()
    finally:
        store.close()
