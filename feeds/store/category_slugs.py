"""The store's half of category slugs: the slugs handed out, kept for good.

`feeds.slugs.assign_slugs` decides; this module persists its decisions in the
`category_slugs` table, inside the transaction that first stores a name, and records the
slugs of stores written before the table existed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, func, select, text

from feeds.slugs import RESERVED_SLUGS, assign_slugs, category_key, slug_of
from feeds.store.batches import chunks
from feeds.store.dialect import insert_for
from feeds.store.schema import (
    article_categories,
    category_sequences,
    category_slugs,
    pending_publish,
)

# Serialises the handing out of new slugs between PostgreSQL writers (held to the end of
# the transaction): the table's constraints alone would make two writers that hand out
# several slugs wait on each other's rows, in any order.
SLUG_LOCK_KEY = 0x666565647331
# Rounds of assign-and-insert before giving up: a round loses only to a writer that took a
# slug without the lock, and the next round sees what it took.
ATTEMPTS = 3


class SlugConflictError(Exception):
    """New category slugs could not be recorded: other writers kept taking them."""


def stored_slugs(conn: Connection) -> dict[str, str]:
    """Every slug handed out, by the name it was first given for."""
    return {
        name: slug
        for name, slug in conn.execute(select(category_slugs.c.name, category_slugs.c.slug))
    }


def _slugs_by_key(conn: Connection, keys: Collection[str]) -> dict[str, str]:
    ordered = sorted(keys)
    found: dict[str, str] = {}
    for chunk in chunks(ordered):
        query = select(category_slugs.c.category_key, category_slugs.c.slug).where(
            category_slugs.c.category_key.in_(chunk)
        )
        found.update((key, slug) for key, slug in conn.execute(query))
    return found


def slugs_for(conn: Connection, names: Sequence[str]) -> dict[str, str]:
    """The slug of each of `names` (name -> slug), handing out slugs to new names in the
    order given and recording them in `conn`'s transaction.

    The table's keys make it impossible to give one category two slugs or one slug two
    categories; an insert that meets a row another writer just made does nothing, and
    the names it left without a slug are assigned again with that row in view.
    """
    keys = {name: category_key(name) for name in names}
    found = _slugs_by_key(conn, set(keys.values()))
    missing = [name for name in keys if keys[name] not in found]
    if missing and conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=SLUG_LOCK_KEY))
    for _ in range(ATTEMPTS):
        if not missing:
            return {name: found[key] for name, key in keys.items()}
        assigned = stored_slugs(conn)
        rows = [
            {"category_key": category_key(name), "name": name, "slug": slug}
            for name, slug in assign_slugs(assigned, missing).items()
            if name not in assigned
        ]
        if rows:
            conn.execute(insert_for(conn)(category_slugs).on_conflict_do_nothing(), rows)
        found = _slugs_by_key(conn, set(keys.values()))
        missing = [name for name in missing if keys[name] not in found]
    if missing:
        raise SlugConflictError(f"no slug could be recorded for categories {missing!r}")
    return {name: found[key] for name, key in keys.items()}


def record_existing_slugs(conn: Connection) -> None:
    """A store written before slugs were kept: record the slug each category already has,
    so its URL stays. Does nothing once any slug is recorded.

    Names that shared a slug (`c` for both "C++" and "C#") are parted: the one that
    arrived first keeps the slug, each other moves, with its articles, to a slug of its
    own; so does a category on a slug now reserved. Both folders are marked for publishing.
    """
    if conn.execute(select(category_slugs.c.slug).limit(1)).first() is not None:
        return
    links = article_categories.c
    pairs = conn.execute(
        select(links.category, links.category_slug)
        .group_by(links.category, links.category_slug)
        .order_by(links.category_slug, func.min(links.seq), links.category)
    ).all()
    kept: dict[str, str] = {}  # name -> slug
    kept_keys: dict[str, str] = {}  # category key -> slug
    taken: set[str] = set(RESERVED_SLUGS)
    movers: list[tuple[str, str]] = []  # (name, slug it has to leave)
    for name, slug in pairs:
        key = category_key(name)
        if kept_keys.get(key, slug) != slug or (key not in kept_keys and slug in taken):
            movers.append((name, slug))
        elif key not in kept_keys:
            kept[name] = slug
            kept_keys[key] = slug
            taken.add(slug)
    assigned = assign_slugs(kept, [name for name, _ in movers])
    for name, old in movers:
        _move_links(conn, name, old, slug_of(assigned, name))
    if assigned:
        conn.execute(
            category_slugs.insert(),
            [
                {"category_key": category_key(name), "name": name, "slug": slug}
                for name, slug in assigned.items()
            ],
        )


def _move_links(conn: Connection, name: str, old: str, new: str) -> None:
    """Move the links of category `name` from slug `old` to `new`, numbered after the
    arrivals `new` already has, oldest first."""
    links = article_categories.c
    moving = conn.execute(
        select(links.article_id)
        .where(links.category == name, links.category_slug == old)
        .order_by(links.seq)
    ).scalars()
    present = set(
        conn.execute(select(links.article_id).where(links.category_slug == new)).scalars()
    )
    counter = category_sequences.c
    next_seq = conn.execute(select(counter.next_seq).where(counter.category_slug == new)).scalar()
    number = int(next_seq or 1)
    for article_id in list(moving):
        link = (links.category_slug == old) & (links.article_id == article_id)
        if article_id in present:  # already linked there: one link is enough
            conn.execute(article_categories.delete().where(link))
            continue
        conn.execute(article_categories.update().where(link).values(category_slug=new, seq=number))
        number += 1
    if next_seq is None:
        conn.execute(category_sequences.insert().values(category_slug=new, next_seq=number))
    else:
        conn.execute(
            category_sequences.update().where(counter.category_slug == new).values(next_seq=number)
        )
    for slug in sorted({old, new}):
        marked = conn.execute(
            pending_publish.update()
            .where(pending_publish.c.category_slug == slug)
            .values(version=pending_publish.c.version + 1)
        )
        if marked.rowcount == 0:
            conn.execute(pending_publish.insert().values(category_slug=slug, version=1))
