"""Store growth under a feed that changes every id on every poll (issue 12, finding 2).

    python bench/retention.py [--polls 500] [--items 50] [--title-kb 200] [--max-items 20]
                              [--store sqlite:////tmp/x.db]

Each poll is what `feeds update` does with one read of such a feed: the raw entries
(every id new, each title `--title-kb` KB before the caps) are normalised, written to the
store, and retention runs as it does before every publish. Fetching and parsing are left
out: they do not touch the store, and 10 MB of feed per poll would make 500 polls take
most of an hour. Prints the store's size, live rows and tombstones every 50 polls and
checks the stated bound (`BOUND_BYTES`); exits 1 if it is passed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.model import Author, RawEntry, RawFeed, Source, SourceKind
from feeds.normalise.article import normalise_feed
from feeds.store import ArticleStore
from feeds.store.retention import RETIRED_PER_SOURCE
from feeds.store.schema import articles, retired_entries
from sqlalchemy import func, select

# The store's bound for one such source: the live rows (max_items with capped fields) and
# at most RETIRED_PER_SOURCE tombstones, plus SQLite's free pages and WAL.
BOUND_BYTES = 8 * 1024 * 1024
SOURCE = Source(
    name="churn",
    kind=SourceKind.REMOTE,
    interval=timedelta(minutes=5),
    url="https://churn.example/feed.xml",
    category="Churn",
)


def poll_feed(poll: int, items: int, title_kb: int) -> RawFeed:
    """One read of the feed: `items` entries with ids never seen before."""
    title = "T" * (title_kb * 1024)
    return RawFeed(
        entries=tuple(
            RawEntry(
                entry_id=f"urn:churn:{poll}:{n}",
                title=title,
                link=f"https://churn.example/{poll}/{n}",
                content_html=f"<p>poll {poll}, item {n}</p>",
                authors=(Author("Churner"),),
                tags=("churn",),
                published=(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=poll)).isoformat(),
            )
            for n in range(items)
        )
    )


def store_bytes(database: Path) -> tuple[int, int]:
    """The SQLite file's size and its WAL's (at most about 4 MB: SQLite checkpoints then)."""
    wal = Path(f"{database}-wal")
    return database.stat().st_size, wal.stat().st_size if wal.exists() else 0


def counts(store: ArticleStore) -> tuple[int, int]:
    """(article rows, tombstones) in the store."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(articles)).scalar_one()
        tombstones = conn.execute(select(func.count()).select_from(retired_entries)).scalar_one()
    return int(rows), int(tombstones)


def run(store: ArticleStore, database: Path | None, args: argparse.Namespace) -> bool:
    """Poll `args.polls` times; print figures; True when the store stayed in bounds."""
    start = time.monotonic()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    within = True
    for poll in range(1, args.polls + 1):
        feed = poll_feed(poll, args.items, args.title_kb)
        normalised = normalise_feed(feed, source=SOURCE, now=now, first_seen={}, fallback_base=None)
        store.upsert_articles(SOURCE.name, normalised.articles, now)
        store.expire_beyond(args.max_items)
        if poll % 50 == 0 or poll == args.polls:
            rows, tombstones = counts(store)
            size, shown = None, "n/a"
            if database is not None:
                file_size, wal_size = store_bytes(database)
                size = file_size + wal_size
                shown = f"{size / 2**20:.2f} MB ({file_size / 2**20:.2f} MB + WAL)"
            print(
                f"poll {poll:4d}: store {shown}, {rows} article rows, {tombstones} tombstones, "
                f"{time.monotonic() - start:6.1f} s"
            )
            within &= rows == args.max_items and tombstones <= RETIRED_PER_SOURCE
            within &= size is None or size <= BOUND_BYTES
    return within


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--title-kb", type=int, default=200)
    parser.add_argument("--max-items", type=int, default=20)
    parser.add_argument("--store", help="a store URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = None if args.store else Path(folder) / "feeds.db"
        store = ArticleStore.open(args.store or f"sqlite:///{database}")
        try:
            within = run(store, database, args)
        finally:
            store.close()
    bound = f"{BOUND_BYTES // 1024 // 1024} MB, {args.max_items} rows, "
    bound += f"{RETIRED_PER_SOURCE} tombstones"
    print(f"bound ({bound}): {'kept' if within else 'PASSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
