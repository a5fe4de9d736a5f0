"""Tombstones of retired articles: what deduplication needs of them, and nothing more.

An article that falls out of every category's newest `max_items` is deleted; its source
and a 128-bit digest of its entry id stay behind, so that the entry, still listed in its
source's feed, is not taken for a new one on the next fetch. A source keeps at most
`RETIRED_PER_SOURCE` of them, the oldest dropped first: a feed that lists more entries
than that has its oldest ones arrive again and retire again at once, which costs a row
for a moment, never growth. So the store's size follows the live articles and the number
of sources, not the number of polls.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from feeds.store.batches import chunks
from feeds.store.dialect import compiled_once, execute_many, insert_for
from feeds.store.schema import article_categories, articles, retired_entries

RETIRED_PER_SOURCE = 2_000  # about 100 bytes each: 200 KB per source at most
# A source out of the config and not fetched for this long loses its fetch state and
# tombstones (`ArticleStore.forget_removed_sources`): sources come and go, the store stays.
REMOVED_SOURCE_KEPT = timedelta(days=30)


def entry_hash(entry_id: str) -> str:
    """The digest a tombstone keeps of an entry id: 32 hex digits."""
    return hashlib.sha256(entry_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def retire(conn: Connection, rows: Sequence[Any]) -> None:
    """Delete the articles `rows` (with `id`, `source`, `entry_id`), leaving tombstones."""
    if not rows:
        return
    leave_tombstones(conn, [(r.source, r.entry_id) for r in rows])
    for chunk in chunks([r.id for r in rows]):
        conn.execute(article_categories.delete().where(article_categories.c.article_id.in_(chunk)))
        conn.execute(articles.delete().where(articles.c.id.in_(chunk)))


def leave_tombstones(
    conn: Connection,
    entries: Sequence[tuple[str, str]],
    had_none: Collection[str] = frozenset(),
) -> None:
    """Tombstones for `entries` (source, entry id), each source's kept within the bound;
    an entry already retired keeps its tombstone.

    Sources in `had_none` had no tombstone when the transaction looked (every source of a
    first run): only those given more than the bound here are trimmed. (On PostgreSQL a
    publish in another process may retire some of theirs meanwhile; the next write of
    such a source trims it.)"""
    if not entries:
        return
    tombstones = [{"source": source, "entry_hash": entry_hash(e)} for source, e in entries]
    # The driver's own executemany: a first run leaves tens of thousands.
    statement = compiled_once(
        conn,
        "tombstones",
        lambda: (
            insert_for(conn)(retired_entries)
            .values(source=bindparam("source"), entry_hash=bindparam("entry_hash"))
            .on_conflict_do_nothing(index_elements=["source", "entry_hash"])
        ),
    )
    execute_many(conn, statement, tombstones)
    added = Counter(source for source, _ in entries)
    trim(conn, {s for s, n in added.items() if s not in had_none or n > RETIRED_PER_SOURCE})


def trim(conn: Connection, sources: Collection[str], keep: int = RETIRED_PER_SOURCE) -> None:
    """Drop each source's oldest tombstones beyond `keep`."""
    # Sources over the bound are found in one statement per chunk: most are under it.
    over: list[str] = []
    for chunk in chunks(sorted(sources)):
        over.extend(
            conn.execute(
                select(retired_entries.c.source)
                .where(retired_entries.c.source.in_(chunk))
                .group_by(retired_entries.c.source)
                .having(func.count() > keep)
            ).scalars()
        )
    for source in sorted(over):
        newest_dropped = conn.execute(
            select(retired_entries.c.id)
            .where(retired_entries.c.source == source)
            .order_by(retired_entries.c.id.desc())
            .offset(keep)
            .limit(1)
        ).scalar()
        if newest_dropped is not None:
            conn.execute(
                retired_entries.delete().where(
                    retired_entries.c.source == source, retired_entries.c.id <= newest_dropped
                )
            )


def retired_among(conn: Connection, source: str, entry_ids: Iterable[str]) -> set[str]:
    """Those of `entry_ids` of `source` that were retired (and are remembered)."""
    by_hash = {entry_hash(entry_id): entry_id for entry_id in entry_ids}
    found: set[str] = set()
    for chunk in chunks(sorted(by_hash)):
        query = select(retired_entries.c.entry_hash).where(
            retired_entries.c.source == source, retired_entries.c.entry_hash.in_(chunk)
        )
        found.update(by_hash[digest] for digest in conn.execute(query).scalars())
    return found


def forget_missing(conn: Connection, source: str, present: Collection[str]) -> None:
    """Drop the tombstones of `source` whose entries are not in `present` (a local folder's
    files: a file that is deleted and comes back is a new article)."""
    keep = {entry_hash(entry_id) for entry_id in present}
    stored = conn.execute(
        select(retired_entries.c.id, retired_entries.c.entry_hash).where(
            retired_entries.c.source == source
        )
    ).all()
    gone = [row.id for row in stored if row.entry_hash not in keep]
    for chunk in chunks(gone):
        conn.execute(retired_entries.delete().where(retired_entries.c.id.in_(chunk)))
