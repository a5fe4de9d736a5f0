"""Statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite


def insert_for(conn: Connection) -> Any:
    """The INSERT of `conn`'s dialect, which has ON CONFLICT (upserts)."""
    if conn.dialect.name == "postgresql":
        # Imported on first use: the PostgreSQL dialect costs SQLite users a start-up.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    return sqlite.insert
