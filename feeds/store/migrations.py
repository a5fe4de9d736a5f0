"""Schema versions and the steps between them, the same on SQLite and PostgreSQL.

A new store gets the current schema at once (`metadata.create_all`); an older store is
brought up to date step by step, each step in the same transaction as its version bump.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from feeds.store.category_slugs import record_existing_slugs
from feeds.store.schema import (
    SCHEMA_VERSION,
    article_categories,
    category_sequences,
    metadata,
    schema_info,
    source_state,
)

MIGRATION_KEY = 0x6665656475  # the advisory lock that serialises schema changes


class SchemaError(Exception):
    """The store's schema is newer than this feeds understands."""


def _add_missing_columns(conn: Connection) -> None:
    # Version 2 added source_state.retry_after_utc and .warnings.
    present = {c["name"] for c in inspect(conn).get_columns(source_state.name)}
    for column in ("retry_after_utc", "warnings"):
        if column not in present:
            kind = source_state.c[column].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {source_state.name} ADD COLUMN {column} {kind}"))


def _number_arrivals(conn: Connection) -> None:
    # Version 3 numbers each category's articles in arrival order (for archive pages); the
    # arrivals of older stores are unknown, so their publication order stands in.
    present = {c["name"] for c in inspect(conn).get_columns(article_categories.name)}
    if "seq" not in present:
        conn.execute(
            text(f"ALTER TABLE {article_categories.name} ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
        )
    rows = conn.execute(
        select(article_categories.c.category_slug, article_categories.c.article_id).order_by(
            article_categories.c.category_slug,
            article_categories.c.published_utc,
            article_categories.c.article_id,
        )
    ).all()
    counters: dict[str, int] = {}
    for slug, article_id in rows:
        counters[slug] = counters.get(slug, 0) + 1
        conn.execute(
            article_categories.update()
            .where(
                article_categories.c.category_slug == slug,
                article_categories.c.article_id == article_id,
            )
            .values(seq=counters[slug])
        )
    conn.execute(category_sequences.delete())
    if counters:
        conn.execute(
            category_sequences.insert(),
            [{"category_slug": slug, "next_seq": n + 1} for slug, n in counters.items()],
        )


def _add_leases(conn: Connection) -> None:
    # Version 4 added leases and fencing to source_state (pending_publish is new: created)
    # and an index of category links by article.
    present = {c["name"] for c in inspect(conn).get_columns(source_state.name)}
    added = {
        "lease_owner": "TEXT",
        "lease_expires_utc": "VARCHAR(32)",
        "fence": "INTEGER NOT NULL DEFAULT 0",
    }
    for column, kind in added.items():
        if column not in present:
            conn.execute(text(f"ALTER TABLE {source_state.name} ADD COLUMN {column} {kind}"))
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_article_categories_article "
            f"ON {article_categories.name} (article_id)"
        )
    )


def _add_new_columns(conn: Connection) -> None:
    # Version 5 (and 6) added columns to several tables (new tables are made by create_all). Every
    # column it added is nullable or has a server default, so adding what a table lacks is
    # the whole step; data that needs filling is filled where the column is read.
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            default = column.server_default
            clause = ""
            if default is not None:
                clause = f" NOT NULL DEFAULT {default.arg}"  # type: ignore[attr-defined]
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{clause}"))


def _new_tables(_conn: Connection) -> None:
    """Version 7 added the publish_problems table and nothing else: create_all (in
    `migrate`, before the steps) made it, and it starts empty (the next publish fills it)."""


def _entry_fragments(_conn: Connection) -> None:
    """Version 8 added the entry_fragments table and nothing else; version 9 replaced it, so
    there is nothing to make here."""


def _fragments_by_document(conn: Connection) -> None:
    """Version 9 keeps where each entry lies in the file last written (document_fragments,
    made by create_all) instead of a copy of its bytes: the old copies go (the next publish
    renders every entry once and places it). It also added source_state.entry_digests."""
    conn.execute(text("DROP TABLE IF EXISTS entry_fragments"))
    _add_new_columns(conn)


# STEPS[n] upgrades a store from version n to n + 1.
STEPS: dict[int, Callable[[Connection], None]] = {
    1: _add_missing_columns,
    2: _number_arrivals,
    3: _add_leases,
    4: _add_new_columns,
    5: _add_new_columns,  # version 6: the full-text columns of articles
    6: _new_tables,
    7: _entry_fragments,
    8: _fragments_by_document,
}


def migrate(conn: Connection) -> int:
    """Create or upgrade the schema in `conn`'s transaction; returns the version found."""
    if conn.dialect.name != "postgresql":
        return _migrate(conn)  # SQLite's write lock already serialises its openers
    from feeds.store.answers import unbounded  # psycopg: loaded with a PostgreSQL store only

    # A big store's upgrade may take minutes, and the others' waiting for it as long: the
    # bound on each answer (`feeds.store.answers`) would cut it, and cut it again at every
    # start, so the store could never be upgraded.
    with unbounded(conn):
        # Workers starting together must not race to create the same tables: one at a time.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=MIGRATION_KEY))
        return _migrate(conn)


def _migrate(conn: Connection) -> int:
    fresh = not inspect(conn).has_table(schema_info.name)
    metadata.create_all(conn)
    version = conn.execute(select(schema_info.c.version)).scalar()
    if fresh or version is None:
        conn.execute(schema_info.delete())
        conn.execute(schema_info.insert().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"store schema is version {version}, newer than this feeds ({SCHEMA_VERSION}): "
            "upgrade feeds"
        )
    for step in range(version, SCHEMA_VERSION):
        STEPS[step](conn)
        conn.execute(schema_info.update().values(version=step + 1))
    # Category slugs were kept from version 5 on, after some version-5 stores were written:
    # a store of any version whose slugs are not recorded yet has them recorded now.
    record_existing_slugs(conn)
    return int(version)
