"""Schema versions and the steps between them, the same on SQLite and PostgreSQL.

A new store gets the current schema at once (`metadata.create_all`); an older store is
brought up to date step by step, each step in the same transaction as its version bump.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from feeds.store.schema import SCHEMA_VERSION, metadata, schema_info, source_state


class SchemaError(Exception):
    """The store's schema is newer than this feeds understands."""


def _add_missing_columns(conn: Connection) -> None:
    # Version 2 added source_state.retry_after_utc and .warnings.
    present = {c["name"] for c in inspect(conn).get_columns(source_state.name)}
    for column in ("retry_after_utc", "warnings"):
        if column not in present:
            kind = source_state.c[column].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {source_state.name} ADD COLUMN {column} {kind}"))


# STEPS[n] upgrades a store from version n to n + 1.
STEPS: dict[int, Callable[[Connection], None]] = {1: _add_missing_columns}


def migrate(conn: Connection) -> int:
    """Create or upgrade the schema in `conn`'s transaction; returns the version found."""
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
    return int(version)
