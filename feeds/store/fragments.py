"""The store's half of entry fragments (feeds/publish/fragments.py): where each entry lies in
the file the last publish wrote for each document, one row per document, read for several
documents at once and replaced as they are written anew."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.elements import ClauseElement

from feeds.model import PlacedEntries, PlacedEntry
from feeds.store.batches import chunks
from feeds.store.dialect import compiled_once, execute_many, insert_for
from feeds.store.schema import document_fragments

_CHUNK = 400  # documents per statement: within every engine's limit of parameters


def stored_fragments(engine: Engine, documents: Sequence[str]) -> dict[str, PlacedEntries]:
    """The placed entries of `documents`, by document; a document without any (or whose row
    does not read as placed entries) is left out. One statement per chunk of documents: a
    category's feeds and archive pages at once, not one round trip each."""
    found: dict[str, PlacedEntries] = {}
    names = list(dict.fromkeys(documents))
    with engine.connect() as conn:
        for chunk in chunks(names, _CHUNK):
            query = select(
                document_fragments.c.document,
                document_fragments.c.file_digest,
                document_fragments.c.file_size,
                document_fragments.c.entries,
            ).where(document_fragments.c.document.in_(chunk))
            for document, file_digest, file_size, entries in conn.execute(query).fetchall():
                placed = _decoded(file_digest, file_size, bytes(entries))
                if placed is not None:
                    found[document] = placed
    return found


def save_fragments(engine: Engine, documents: Sequence[tuple[str, PlacedEntries]]) -> None:
    """Keep the placed entries of each (document, placed entries), in place of what the
    document had (an upsert: a one-shot run may publish beside a daemon); the last of a
    document wins. One executemany of the driver's own statement."""
    latest = dict(documents)
    if not latest:
        return
    rows = [
        {
            "document": name,
            "file_digest": placed.file_digest,
            "file_size": placed.file_size,
            "entries": _encoded(placed),
        }
        for name, placed in latest.items()
    ]
    with engine.begin() as conn:
        execute_many(conn, _upsert(conn), rows)


def forget_fragments(engine: Engine, documents: Sequence[str]) -> None:
    """Forget the placed entries of documents no longer published (removed archive pages)."""
    if not documents:
        return
    with engine.begin() as conn:
        for chunk in chunks(list(documents), _CHUNK):
            conn.execute(
                document_fragments.delete().where(document_fragments.c.document.in_(chunk))
            )


def _encoded(placed: PlacedEntries) -> bytes:
    rows = [[e.article_id, e.digest, e.offset, e.length] for e in placed.entries]
    return json.dumps(rows, separators=(",", ":")).encode("utf-8")


def _decoded(file_digest: object, file_size: object, entries: bytes) -> PlacedEntries | None:
    """The row's placed entries, or None when it is not what `_encoded` writes."""
    try:
        rows = json.loads(entries)
        placed = tuple(PlacedEntry(str(a), str(d), int(o), int(n)) for a, d, o, n in rows)
        return PlacedEntries(str(file_digest), int(file_size), placed)  # type: ignore[call-overload]
    except (ValueError, TypeError):
        return None


def _upsert(conn: Connection) -> Compiled:
    """INSERT ... ON CONFLICT replace."""

    def build() -> ClauseElement:
        statement = insert_for(conn)(document_fragments)
        return statement.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=["document"],
            set_={
                "file_digest": statement.excluded.file_digest,
                "file_size": statement.excluded.file_size,
                "entries": statement.excluded.entries,
            },
        )

    return compiled_once(conn, "fragments upsert", build)
