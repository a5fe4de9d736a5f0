"""Statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import Compiled


def insert_for(conn: Connection) -> Any:
    """The INSERT of `conn`'s dialect, which has ON CONFLICT (upserts)."""
    if conn.dialect.name == "postgresql":
        # Imported on first use: the PostgreSQL dialect costs SQLite users a start-up.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    return sqlite.insert


def execute_many(conn: Connection, compiled: Compiled, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a statement compiled for `conn`'s dialect once per row, in one executemany of the
    driver's own: SQLAlchemy's processing of each row's parameters (which costs about as much
    as SQLite's insert) is left out, so every value must be one the driver takes as it is."""
    order = compiled.positiontup  # type: ignore[attr-defined]
    params = [tuple(row[k] for k in order) for row in rows] if order else list(rows)
    conn.exec_driver_sql(compiled.string, params)
