"""The store's half of entry fragments (feeds/publish/fragments.py): each entry as the
last publish rendered it per document, read a document at a time and replaced as they are
rendered anew, deleted with their articles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, select

from feeds.store.batches import chunks
from feeds.store.dialect import insert_for
from feeds.store.schema import articles, entry_fragments

_CHUNK = 400  # rows per statement: within every engine's limit of bound parameters


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
    A fragment whose article is gone meanwhile (another process retired it) is not kept."""
    latest = {(doc, article): (digest, body) for doc, article, digest, body in fragments}
    keys = list(latest)
    with engine.begin() as conn:
        insert = insert_for(conn)
        for chunk in chunks(keys, _CHUNK):
            live = _live(conn, {article for _, article in chunk})
            rows = [
                {"document": d, "article_id": a, "digest": latest[d, a][0], "body": latest[d, a][1]}
                for d, a in chunk
                if a in live
            ]
            if rows:
                statement = insert(entry_fragments)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["document", "article_id"],
                        set_={"digest": statement.excluded.digest, "body": statement.excluded.body},
                    ),
                    rows,
                )


def _live(conn: Connection, ids: Iterable[str]) -> set[str]:
    return set(conn.execute(select(articles.c.id).where(articles.c.id.in_(list(ids)))).scalars())


def forget_fragments(conn: Connection, article_ids: Sequence[str]) -> None:
    """Delete the fragments of articles being deleted (`conn`'s transaction)."""
    for chunk in chunks(article_ids, _CHUNK):
        conn.execute(entry_fragments.delete().where(entry_fragments.c.article_id.in_(chunk)))
