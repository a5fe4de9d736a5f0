"""The pages written for articles without a link of their own (local articles, entries
that name none) follow the store: the page of an article retired or deleted is removed.

Before: every such page stayed for ever, linked from nowhere, still serving an article the
store no longer held (a deleted article file's text, too), and a feed whose linkless
entries churned left one more page a poll in articles/<source>/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.config import load_config
from feeds.store import ArticleStore
from tests.support.configfile import write_config
from tests.support.feedfactory import FeedItem, rss20
from tests.support.feedserver import FeedServer
from tests.support.update_runs import NOW, Clock, update_and_publish

OUTPUT = '[output]\nbase_url = "https://feeds.example/"\nmax_items = 3\n'


def pages(folder: Path) -> list[str]:
    """The article pages in `folder` (not the source's index, not variants)."""
    return sorted(p.name for p in folder.glob("*.html") if p.name != "index.html")


def test_pages_of_retired_entries_are_removed(tmp_path: Path, feed_server: FeedServer) -> None:
    path = write_config(tmp_path, '[[sources]]\nname = "Nolink"\nurl = "%s"\ncategory = "C"\n')
    url = feed_server.url("/feed.xml")
    path.write_text(path.read_text().replace("[output]\n", OUTPUT) % url)
    config = load_config(path)
    folder = tmp_path / "out" / "articles" / "nolink"
    store = ArticleStore.open(config.storage.url)
    try:
        for poll in range(10):
            items = [
                FeedItem(
                    id=f"urn:poll:{poll}:{n}",
                    title=f"Poll {poll}, entry {n}",
                    html="<p>No link of its own.</p>",
                    published=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=poll, minutes=n),
                )
                for n in range(2)
            ]
            feed_server.add("/feed.xml", rss20(items))
            update_and_publish(config, store, Clock(NOW + timedelta(hours=poll)))
            # The bound: a page per live article (max_items), whatever the polls.
            assert len(pages(folder)) <= 3
            variants_of = {p.name.removesuffix(".gz").removesuffix(".br") for p in folder.iterdir()}
            assert variants_of <= {*pages(folder), "index.html"}  # no variant left behind
        atom = (tmp_path / "out" / "c" / "atom.xml").read_text()
        assert all(name in atom for name in pages(folder))  # each page is linked
    finally:
        store.close()


def test_the_page_of_a_deleted_article_file_goes(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for n in (1, 2):
        (articles / f"a{n}.md").write_text(f"---\ntitle: T{n}\ndate: 2026-12-0{n} 10:00\n---\nx\n")
    path = write_config(
        tmp_path, '[[sources]]\nname = "Local"\npath = "articles"\ncategory = "L"\n'
    )
    config = load_config(path)
    folder = tmp_path / "out" / "articles" / "local"
    store = ArticleStore.open(config.storage.url)
    try:
        update_and_publish(config, store, Clock(NOW))
        first, second = pages(folder)
        (folder / "notes.html").write_text("not ours")  # left alone
        (articles / "a1.md").unlink()
        update_and_publish(config, store, Clock(NOW))
        assert pages(folder) == sorted([second, "notes.html"])
        assert not any(p.name.startswith(first) for p in folder.iterdir())
    finally:
        store.close()
