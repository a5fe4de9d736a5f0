"""Sources removed from the config do not stay in the store for ever: once out of the
config and unfetched for `REMOVED_SOURCE_KEPT`, a source's fetch state and tombstones go
(its articles stay until retention retires them).

Before: every source name ever configured kept its `source_state` row and up to
`RETIRED_PER_SOURCE` tombstones for ever: 100 runs that each replaced 10 sources (20 new
entries a poll, `max_items = 50`) left 1,000 state rows and 15,000 tombstones, and the store
grew with every source that came and went.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from feeds.config import load_config
from feeds.store import ArticleStore
from feeds.store.retention import REMOVED_SOURCE_KEPT
from feeds.store.schema import articles, retired_entries, source_state
from tests.support.configfile import write_config
from tests.support.feedfactory import FeedItem, rss20
from tests.support.feedserver import FeedServer
from tests.support.update_runs import NOW, Clock, update_and_publish

OUTPUT = '[output]\nbase_url = "https://feeds.example/"\nmax_items = 3\n'


def feed(name: str, poll: int) -> bytes:
    """Five entries never seen before, dated by the poll: two retire at each publish."""
    items = [
        FeedItem(
            id=f"{name}-{poll}-{n}",
            title=f"{name} {poll} {n}",
            link=f"https://{name}.example/{poll}/{n}",
            published=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=poll, minutes=n),
        )
        for n in range(5)
    ]
    return rss20(items, title=name)


def counts(store: ArticleStore, source: str) -> tuple[int, int, int]:
    """The source's state rows, tombstones and live articles."""
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.source == source)
                ).scalar_one()
            )
            for t in (source_state, retired_entries, articles)
        )


def configure(
    tmp_path: Path, feed_server: FeedServer, names: list[str], poll: int, category: str = ""
) -> Path:
    """A config of the sources `names`, each serving its `feed` of this `poll`, each in its
    own category (or all in `category`)."""
    tables = ""
    for name in names:
        url = feed_server.add(f"/{name}.xml", feed(name, poll))
        tables += f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "{category or name}"\n'
    path = write_config(tmp_path, tables)
    path.write_text(path.read_text().replace("[output]\n", OUTPUT))
    return path


def test_a_removed_source_leaves_nothing_but_its_articles(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    def configure_poll(names: list[str], poll: int) -> Path:
        return configure(tmp_path, feed_server, names, poll)

    path = configure_poll(["kept", "removed"], 0)
    store = ArticleStore.open(load_config(path).storage.url)
    try:
        update_and_publish(load_config(path), store, Clock(NOW))
        assert counts(store, "removed") == (1, 2, 3)
        # Out of the config, but for less than the grace: nothing of it goes yet (it may be
        # back, or another process may still read a config that names it).
        day = NOW + timedelta(days=1)
        update_and_publish(load_config(configure_poll(["kept"], 1)), store, Clock(day))
        assert counts(store, "removed") == (1, 2, 3)
        later = NOW + REMOVED_SOURCE_KEPT + timedelta(seconds=1)
        update_and_publish(load_config(configure_poll(["kept"], 2)), store, Clock(later))
        assert counts(store, "removed") == (0, 0, 3)  # its articles are still published
        assert counts(store, "kept") == (1, 12, 3)
        out = (tmp_path / "out" / "removed" / "atom.xml").read_bytes()
        assert out.count(b"<entry>") == 3
    finally:
        store.close()


def test_state_rows_follow_the_config_not_its_history(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Two sources at a time, each replaced every week, for 20 weeks: the store holds the
    state and tombstones of the sources configured or fetched within the grace only."""
    store: ArticleStore | None = None
    try:
        for week in range(20):
            names = [f"s{week}a", f"s{week}b"]
            config = load_config(configure(tmp_path, feed_server, names, week, category="C"))
            store = store or ArticleStore.open(config.storage.url)
            update_and_publish(config, store, Clock(NOW + timedelta(weeks=week)))
            with store.engine.connect() as conn:
                states = conn.execute(select(func.count()).select_from(source_state)).scalar()
                sources = conn.execute(select(func.count(retired_entries.c.source.distinct())))
                tombstoned = sources.scalar()
            kept_weeks = REMOVED_SOURCE_KEPT // timedelta(weeks=1) + 1
            bound = 2 * min(week + 1, kept_weeks + 1)
            assert states is not None and states <= bound
            assert tombstoned is not None and tombstoned <= bound
    finally:
        if store is not None:
            store.close()
