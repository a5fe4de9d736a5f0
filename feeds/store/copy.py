"""Copy a whole store into another (SQLite to PostgreSQL, say): `feeds migrate-store`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from feeds.errors import FeedsError
from feeds.store.articles import ArticleStore
from feeds.store.schema import (
    article_categories,
    articles,
    category_sequences,
    category_slugs,
    pending_publish,
    retired_entries,
    source_state,
)

# Parents before children, so foreign keys hold at every step.
TABLES = (
    articles,
    article_categories,
    category_sequences,
    category_slugs,
    source_state,
    pending_publish,
    retired_entries,
)
BATCH = 1000


class CopyError(FeedsError):
    """The target store is not empty, or the copy did not come out whole."""


def copy_store(
    source: ArticleStore, target: ArticleStore, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of `source` into the empty `target`, in one target transaction.

    Both stores are at the current schema version (opening them migrates). Returns the
    row count per table, checked against the source.
    """
    counts: dict[str, int] = {}
    with target.engine.begin() as out:
        for table in TABLES:
            if out.execute(select(func.count()).select_from(table)).scalar():
                raise CopyError(f"the target store is not empty: {table.name} has rows")
        with source.engine.connect() as src:
            for table in TABLES:
                copied = 0
                query = select(table)
                if table is retired_entries:
                    # In order, without ids: the target's own sequence numbers them anew.
                    query = select(table.c.source, table.c.entry_hash).order_by(table.c.id)
                rows = src.execution_options(yield_per=BATCH).execute(query)
                for batch in rows.partitions(BATCH):
                    out.execute(table.insert(), [dict(row._mapping) for row in batch])
                    copied += len(batch)
                    if progress is not None:
                        progress(table.name, copied)
                expected = src.execute(select(func.count()).select_from(table)).scalar()
                if copied != expected:
                    raise CopyError(f"{table.name}: copied {copied} rows of {expected}")
                counts[table.name] = copied
    return counts
