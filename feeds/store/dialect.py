"""Statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, CursorResult, bindparam, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.elements import ClauseElement, ColumnElement


def insert_for(conn: Connection) -> Any:
    """The INSERT of `conn`'s dialect, which has ON CONFLICT (upserts)."""
    if conn.dialect.name == "postgresql":
        # Imported on first use: the PostgreSQL dialect costs SQLite users a start-up.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    return sqlite.insert


def among(conn: Connection, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column IN` the strings of a JSON array bound as parameter `name` (a list of str):
    one parameter for any number of values, so the statement needs no chunks and its text
    is compiled once, however many names a call passes."""
    if conn.dialect.name == "postgresql":
        elements = func.json_array_elements_text(bindparam(name, type_=JSON))
    else:
        elements = func.json_each(bindparam(name, type_=JSON))
    return column.in_(select(elements.table_valued("value").c.value))


_COMPILED: dict[tuple[str, str, str, str], Compiled] = {}


def compiled_once(conn: Connection, name: str, build: Callable[[], ClauseElement]) -> Compiled:
    """The statement `build` makes, compiled once per process for each dialect, driver and
    parameter style (by `name`): for `execute_many` and `execute_one`."""
    dialect = conn.dialect
    key = (name, dialect.name, dialect.driver, dialect.paramstyle)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = build().compile(dialect=dialect)
    return compiled


def execute_one(
    conn: Connection, compiled: Compiled, params: Mapping[str, Any]
) -> CursorResult[Any]:
    """Run a statement compiled for `conn`'s dialect once, through the driver (see
    `execute_many`): for statements that run many times a run with few rows each."""
    order = compiled.positiontup  # type: ignore[attr-defined]
    return conn.exec_driver_sql(
        compiled.string, tuple(params[k] for k in order) if order else params
    )


def execute_many(conn: Connection, compiled: Compiled, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run a statement compiled for `conn`'s dialect once per row, in one executemany of the
    driver's own: SQLAlchemy's processing of each row's parameters (which costs about as much
    as SQLite's insert) is left out, so every value must be one the driver takes as it is.
    Returns the driver's rowcount (-1 when it gives none)."""
    order = compiled.positiontup  # type: ignore[attr-defined]
    params = [tuple(row[k] for k in order) for row in rows] if order else list(rows)
    return int(conn.exec_driver_sql(compiled.string, params).rowcount)
