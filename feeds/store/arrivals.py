"""Arrival numbers of category links, which RFC 5005 archive pages are runs of.

A link is stored unnumbered (`seq` 0) and numbered when it is first published, after
retention: a publish numbers each category's unnumbered links oldest first (by
`feeds.model.recency`: date, then id), after the numbers handed out before. So the
arrivals between two publishes fill pages in date order, and retention, which retires by
date, empties the oldest pages first instead of punching holes into every page a first
import filled. A late entry with an old date still goes to the page being filled.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from feeds.store.dialect import insert_for
from feeds.store.schema import article_categories, category_sequences

UNNUMBERED = 0  # `seq` of a link not published yet; numbers start at 1

_links = article_categories.c
_counters = category_sequences.c
_NUMBER = (
    article_categories.update()
    .where(
        _links.category_slug == bindparam("b_slug"),
        _links.article_id == bindparam("b_id"),
        _links.seq == UNNUMBERED,
    )
    .values(seq=bindparam("b_seq"))
)
_ADVANCE = (
    category_sequences.update()
    .where(_counters.category_slug == bindparam("b_slug"))
    .values(next_seq=bindparam("b_next"))
)


def number_arrivals(conn: Connection) -> int:
    """Number every category's unnumbered links in `conn`'s transaction; returns how many.

    Each category's counter row is locked first (in slug order, so publishers never
    deadlock): a second publisher waits, then finds the links numbered. A link a writer
    holds locked (PostgreSQL) is skipped, not waited for: it is numbered next time.
    """
    slugs = conn.execute(
        select(_links.category_slug)
        .where(_links.seq == UNNUMBERED)
        .distinct()
        .order_by(_links.category_slug)
    ).scalars()
    numbered = 0
    for slug in slugs.all():
        first = _lock_counter(conn, slug)
        waiting = conn.execute(
            select(_links.article_id)
            .where(_links.category_slug == slug, _links.seq == UNNUMBERED)
            .order_by(_links.published_utc, _links.article_id)
            .with_for_update(skip_locked=True)
        ).scalars()
        rows = [
            {"b_slug": slug, "b_id": article_id, "b_seq": first + n}
            for n, article_id in enumerate(waiting)
        ]
        if rows:
            conn.execute(_NUMBER, rows)
            conn.execute(_ADVANCE, {"b_slug": slug, "b_next": first + len(rows)})
            numbered += len(rows)
    return numbered


def _lock_counter(conn: Connection, slug: str) -> int:
    """The category's next number, its counter row locked to the end of the transaction
    (made, starting at 1, for a category's first numbers)."""
    query = select(_counters.next_seq).where(_counters.category_slug == slug).with_for_update()
    found = conn.execute(query).scalar()
    if found is None:
        conn.execute(
            insert_for(conn)(category_sequences)
            .values(category_slug=slug, next_seq=1)
            .on_conflict_do_nothing(index_elements=["category_slug"])
        )
        found = conn.execute(query).scalar_one()
    return int(found)
