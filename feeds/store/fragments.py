"""The store's half of entry fragments (feeds/publish/fragments.py): each entry as the
last publish rendered it per document, read a document at a time and replaced as they are
rendered anew, deleted with their articles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Connection, Engine, bindparam, exists, select
from sqlalchemy.sql.compiler import SQLCompiler

from feeds.store.batches import chunks
from feeds.store.dialect import execute_many, insert_for
from feeds.store.schema import articles, entry_fragments

_CHUNK = 400  # documents or articles per statement: within every engine's limit of parameters
_UPSERTS: dict[tuple[str, str, str], SQLCompiler] = {}


def stored_fragments(
    engine: Engine, documents: Sequence[str]
) -> dict[str, dict[str, tuple[str, bytes]]]:
    """The kept fragments of `documents`, (digest, bytes) by article id, by document; a
    document without any is left out. Read in one statement per chunk of documents: a
    category's feeds and archive pages at once, not one round trip each."""
    found: dict[str, dict[str, tuple[str, bytes]]] = {}
    names = list(dict.fromkeys(documents))
    with engine.connect() as conn:
        for chunk in chunks(names, _CHUNK):
            query = select(
                entry_fragments.c.document,
                entry_fragments.c.article_id,
                entry_fragments.c.digest,
                entry_fragments.c.body,
            ).where(entry_fragments.c.document.in_(chunk))
            # fetchall, not row by row: a category holds thousands of fragments.
            for document, article_id, digest, body in conn.execute(query).fetchall():
                found.setdefault(document, {})[article_id] = (digest, bytes(body))
    return found


def save_fragments(engine: Engine, fragments: Sequence[tuple[str, str, str, bytes]]) -> None:
    """Keep new fragments, (document, article id, digest, bytes) each, in place of what those
    articles had in those documents (an upsert: a one-shot run may publish beside a daemon).
    A fragment whose article is gone meanwhile (another process retired it) is not kept.

    One executemany of the driver's own statement: its text compiled once per dialect, no
    processing of each row's parameters by SQLAlchemy, and the article's liveness checked
    by the insert itself, not by a query per chunk."""
    latest = {(doc, article): (digest, body) for doc, article, digest, body in fragments}
    if not latest:
        return
    rows = [
        {"document": d, "article_id": a, "digest": digest, "body": body}
        for (d, a), (digest, body) in latest.items()
    ]
    with engine.begin() as conn:
        execute_many(conn, _upsert(conn), rows)


def _upsert(conn: Connection) -> SQLCompiler:
    """INSERT ... SELECT the row's values WHERE its article exists, ON CONFLICT replace;
    compiled once per dialect, driver and parameter style."""
    dialect = conn.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    if key in _UPSERTS:
        return _UPSERTS[key]
    values = select(*(bindparam(c.name, type_=c.type) for c in entry_fragments.c)).where(
        exists().where(articles.c.id == bindparam("article_id"))
    )
    statement = insert_for(conn)(entry_fragments).from_select(
        [c.name for c in entry_fragments.c], values
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["document", "article_id"],
        set_={"digest": statement.excluded.digest, "body": statement.excluded.body},
    )
    _UPSERTS[key] = cast(SQLCompiler, upsert.compile(dialect=dialect))
    return _UPSERTS[key]


def forget_fragments(conn: Connection, article_ids: Sequence[str]) -> None:
    """Delete the fragments of articles being deleted (`conn`'s transaction)."""
    for chunk in chunks(article_ids, _CHUNK):
        conn.execute(entry_fragments.delete().where(entry_fragments.c.article_id.in_(chunk)))
