"""`ArticleStore`: upserts, category queries, retention and per-source fetch state."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    bindparam,
    case,
    column,
    create_engine,
    event,
    func,
    null,
    select,
    table,
    text,
    union,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from feeds.errors import FeedsError
from feeds.model import (
    Article,
    Author,
    Category,
    Enclosure,
    FetchOutcome,
    FetchState,
    FullText,
    FullTextTally,
    Lease,
)
from feeds.slugs import category_key
from feeds.store.arrivals import UNNUMBERED, number_arrivals
from feeds.store.article_json import (
    authors_from_json,
    authors_to_json,
    podcast_from_json,
    podcast_to_json,
)
from feeds.store.batches import chunks
from feeds.store.category_slugs import slugs_for, stored_slugs
from feeds.store.dialect import among, compiled_once, execute_many, execute_one
from feeds.store.dialect import insert_for as _insert_for
from feeds.store.migrations import SchemaError, migrate
from feeds.store.retention import (
    entry_hash,
    forget_missing,
    leave_tombstones,
    retire,
    retired_among,
)
from feeds.store.schema import (
    article_categories,
    articles,
    category_sequences,
    pending_publish,
    retired_entries,
    source_state,
)

# Seconds a PostgreSQL round trip waits for the server's answer (`feeds.store.answers`).
ANSWER_TIMEOUT = 60.0
# Seconds a SQLite connection waits for another's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30
# A source whose last fetch is dated this much later than now was timed by a clock that was
# wrong (set years ahead, then put right): its due time and Retry-After, reckoned from
# that clock, are not waited for, or it would not be fetched again for years.
CLOCK_WRONG_BY = timedelta(hours=1)
# PostgreSQL's view of open sessions: a lease whose owner's backend is not in it is free.
_PG_STAT_ACTIVITY = table("pg_stat_activity", column("pid"))


class StoreError(FeedsError):
    """The store cannot be opened or used (bad URL, unreachable database, wrong schema)."""


class StaleLeaseError(Exception):
    """A write-back whose lease expired and was claimed by another worker: dropped."""

    def __init__(self, lease: Lease) -> None:
        super().__init__(f"{lease.source}: lease {lease.fence} of {lease.owner} no longer holds")


_LEASE_COLUMNS = ("lease_owner", "lease_expires_utc", "lease_backend", "fence")
_STATE_COLUMNS = tuple(c.name for c in source_state.c if c.name not in ("source", *_LEASE_COLUMNS))
# The columns `_state_from` decodes, in this order.
_STATE_READ = (source_state.c.source, *(source_state.c[name] for name in _STATE_COLUMNS))
_STATES_WITH_OUTCOME = select(*_STATE_READ).where(
    source_state.c.last_outcome == bindparam("b_outcome", type_=source_state.c.last_outcome.type)
)
# Statements built once (they run for every fetch) that touch a source's row only while
# the lease is still the one we hold: release it, or save the fetch state and release it.
_RELEASED = source_state.update().where(
    source_state.c.source == bindparam("b_source"),
    source_state.c.lease_owner == bindparam("b_owner"),
    source_state.c.fence == bindparam("b_fence"),
)
_RELEASE = _RELEASED.values(lease_owner=None, lease_expires_utc=None, lease_backend=None)
# Run through the driver (`execute_many`): NULLs written out, so every parameter is a row's.
_SAVE_AND_RELEASE = _RELEASED.values(
    lease_owner=null(),
    lease_expires_utc=null(),
    lease_backend=null(),
    **{name: bindparam(f"b_{name}") for name in _STATE_COLUMNS},
)
# The stored entries of some sources among some entry ids: one lookup for a group's sources
# (two lists, not pairs: SQLite searches the unique index for each of both, not for pairs).
_KNOWN = select(
    articles.c.source, articles.c.entry_id, articles.c.content_hash, articles.c.expired
).where(
    articles.c.source.in_(bindparam("b_sources", expanding=True)),
    articles.c.entry_id.in_(bindparam("b_ids", expanding=True)),
)
# The tombstones of some sources among some entry ids' digests: the same lookup for
# entries retired before.
_TOMBSTONED = select(retired_entries.c.source, retired_entries.c.entry_hash).where(
    retired_entries.c.source.in_(bindparam("b_sources", expanding=True)),
    retired_entries.c.entry_hash.in_(bindparam("b_hashes", expanding=True)),
)
# Which of some sources have any stored article, and which any tombstone: a source with
# neither (every source of a first run) needs no lookup of its entries at all.
_WITH_ARTICLES = (
    select(articles.c.source)
    .where(articles.c.source.in_(bindparam("b_sources", expanding=True)))
    .distinct()
)
_WITH_TOMBSTONES = (
    select(retired_entries.c.source)
    .where(retired_entries.c.source.in_(bindparam("b_sources", expanding=True)))
    .distinct()
)


def _by_pairs(
    conn: Connection, statement: Any, pairs: Sequence[tuple[str, str]], name: str
) -> Iterator[Sequence[Any]]:
    """The rows of `statement` for (source, value) `pairs`, a chunk at a time: the sources
    bound as `b_sources`, the values as `name` (two lists, as `_KNOWN` says why)."""
    for chunk in chunks(pairs):
        params = {
            "b_sources": sorted({source for source, _ in chunk}),
            name: sorted({value for _, value in chunk}),
        }
        yield from conn.execute(statement, params)


@dataclass(slots=True)
class _Group:
    """What one group's write-backs share: the new category links to insert, the fetch
    states to save, the sources that have stored articles or tombstones, and the
    slugs handed out so far."""

    links: list[dict[str, Any]] = field(default_factory=list)  # new links, unnumbered
    states: list[dict[str, Any]] = field(default_factory=list)  # rows to save, in one go
    rows: list[dict[str, Any]] = field(default_factory=list)  # articles to upsert, in one go
    # Content hash of each stored entry by (source, entry id); None for retired ones.
    known: dict[tuple[str, str], str | None] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)
    retired: set[str] = field(default_factory=set)
    slugs: dict[str, str] = field(default_factory=dict)  # name -> slug
    tombstones: list[tuple[str, str]] = field(default_factory=list)  # (source, entry id)


@dataclass(frozen=True, slots=True)
class SourceWrite:
    """One update's write-back: a source's articles (none for a 304 or a failure), its
    fetch state, the lease it was updated under, if any, and the ids of entries retired on
    arrival (`feeds.update.floors`)."""

    source: str
    now: datetime | None = None  # when the articles were read: first seen, for new ones
    articles: Sequence[Article] = ()
    state: FetchState | None = None
    lease: Lease | None = None
    retiring: Collection[str] = ()

    def entry_ids(self) -> tuple[str, ...]:
        """The ids of every entry the write names: its articles' and those it retires."""
        return (*(a.entry_id for a in self.articles), *self.retiring)

    def __post_init__(self) -> None:
        if self.articles and self.now is None:
            raise ValueError("a write of articles needs the time they were read")


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one write-back did: entries new to the store (those retired on arrival too),
    stored articles it changed, the others, and the categories (slugs) it changed."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_categories: frozenset[str] = field(default_factory=frozenset)  # slugs
    # Entry ids it left retired: those retired on arrival, and written articles whose
    # entries were retired before (they stay so). None of them is in any category.
    retired: frozenset[str] = frozenset()
    retired_on_arrival: int = 0  # of the new entries, those only given a tombstone
    # Entry ids of the articles it stored new or changed, each linked now to every category
    # it names; an unchanged one keeps the links retention left it (perhaps not all).
    linked: frozenset[str] = frozenset()


def utc_text(value: datetime) -> str:
    """Fixed-width UTC text that sorts like the instant it names."""
    u = value.astimezone(UTC)
    # By hand, not strftime: its %Y writes the year 999 as "999", and it takes 1.6 times
    # as long (a warm run formats a few thousand of these, a cold one one per entry).
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def _from_utc_text(value: str | None) -> datetime | None:
    # fromisoformat reads our fixed-width "...Z" text some 20 times faster than strptime.
    return datetime.fromisoformat(value) if value is not None else None


def _newest_first(
    published_utc: ColumnElement[str], article_id: ColumnElement[str]
) -> tuple[UnaryExpression[str], UnaryExpression[str]]:
    """ORDER BY terms for `model.newest_first`, so a query's newest few are the ones the
    publisher would keep of all. `utc_text` sorts as the dates do; article ids are
    fixed-width ASCII URNs, which every collation orders as Python does."""
    return published_utc.desc(), article_id.desc()


class ArticleStore:
    """Articles and fetch state in SQLite (embedded default) or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statements: dict[str, Any] = {}
        self._presence: Connection | None = None  # PostgreSQL: see `_backend`
        # Category slugs known to be committed, by name: a slug, once handed out, is kept
        # for good, so only names not in here are looked up (and perhaps assigned).
        self._slugs: dict[str, str] = {}

    @classmethod
    def open(cls, url: str, answer_timeout: float = ANSWER_TIMEOUT) -> ArticleStore:
        """Connect to `url`, creating the database file and schema on first use. On
        PostgreSQL a round trip that waits longer than `answer_timeout` seconds for the
        server fails (`feeds.store.answers`)."""
        try:
            parsed = make_url(url)
        except SQLAlchemyError as exc:
            raise StoreError(f"bad storage url {url!r}: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(url, parsed.database)
        else:
            if parsed.drivername in ("postgresql", "postgres"):
                parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
            engine = create_engine(parsed, pool_pre_ping=True)
            if parsed.get_driver_name() == "psycopg":
                from feeds.store.answers import bound_answers  # psycopg: only when used

                bound_answers(engine, answer_timeout)
        store = cls(engine)
        try:
            store._create_schema()
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open store {parsed.render_as_string()}: {exc}") from None
        return store

    def close(self) -> None:
        if self._presence is not None:
            self._presence.close()
            self._presence = None
        self.engine.dispose()

    def _create_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                migrate(conn)
        except SchemaError as exc:
            raise StoreError(str(exc)) from None

    # -- articles ------------------------------------------------------------------------

    def first_seen(self, source: str, entry_ids: Sequence[str]) -> dict[str, datetime]:
        """When each known entry of `source` was first stored (for entries without dates)."""
        found: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(entry_ids):
                query = select(articles.c.entry_id, articles.c.first_seen_utc).where(
                    articles.c.source == source, articles.c.entry_id.in_(chunk)
                )
                for entry_id, seen in conn.execute(query):
                    found[entry_id] = _from_utc_text(seen)  # type: ignore[assignment]
        return found

    def stored_entries(self, source: str, entry_ids: Sequence[str]) -> dict[str, Article | None]:
        """The stored article of each known entry of `source`; None for a retired entry,
        which stays retired (full text: neither is fetched again while it is unchanged)."""
        found: dict[str, Article | None] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(entry_ids):
                query = select(articles).where(
                    articles.c.source == source, articles.c.entry_id.in_(chunk)
                )
                for row in conn.execute(query):
                    article = None if row.expired else _article_from(row._mapping)
                    found[row.entry_id] = article
            unknown = [entry_id for entry_id in entry_ids if entry_id not in found]
            found.update(dict.fromkeys(retired_among(conn, source, unknown)))
        return found

    def sources_with_articles(self) -> frozenset[str]:
        """The sources that have stored articles."""
        with self.engine.connect() as conn:
            query = select(articles.c.source).where(articles.c.expired.is_(False)).distinct()
            return frozenset(conn.execute(query).scalars())

    def sources_with_entries(self) -> frozenset[str]:
        """The sources with any entry in the store: an article (retired or not) or a
        tombstone. The others have never been read into it."""
        with self.engine.connect() as conn:
            query = union(select(articles.c.source), select(retired_entries.c.source))
            return frozenset(conn.execute(query).scalars())

    def stored_entry_ids(self, source: str) -> frozenset[str]:
        """The entry ids of `source`'s stored articles (not its retired entries)."""
        with self.engine.connect() as conn:
            query = select(articles.c.entry_id).where(
                articles.c.source == source, articles.c.expired.is_(False)
            )
            return frozenset(conn.execute(query).scalars())

    def full_text_tallies(self) -> dict[str, FullTextTally]:
        """Per source with full text tried: how its live articles' pages went."""
        live = articles.c.expired.is_(False)
        counts = (
            select(
                articles.c.source,
                func.count(),
                func.count(articles.c.full_text_for),
                func.count(articles.c.full_text_error),
            )
            .where(live)
            .group_by(articles.c.source)
            .having(func.count(articles.c.full_text_for) > 0)
        )
        reasons = (
            select(articles.c.source, articles.c.full_text_error, func.count())
            .where(live, articles.c.full_text_error.is_not(None))
            .group_by(articles.c.source, articles.c.full_text_error)
        )
        with self.engine.connect() as conn:
            tallies = {
                source: FullTextTally(int(total), int(tried), int(failed))
                for source, total, tried, failed in conn.execute(counts)
            }
            for source, reason, count in conn.execute(reasons):
                if source in tallies:
                    tallies[source].reasons[reason] = int(count)
        return tallies

    def linkless(self) -> list[tuple[str, str, str]]:
        """Source, entry id and id of every live article without a link of its own: those
        publishing writes a page for (local articles)."""
        query = select(articles.c.source, articles.c.entry_id, articles.c.id).where(
            articles.c.link.is_(None), articles.c.expired.is_(False)
        )
        with self.engine.connect() as conn:
            return [(row.source, row.entry_id, row.id) for row in conn.execute(query)]

    def first_seen_by_id(self, ids: Collection[str]) -> dict[str, datetime]:
        """When each article (by id) was first stored: which of the copies several sources
        carry is published."""
        found: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(ids)):
                query = select(articles.c.id, articles.c.first_seen_utc).where(
                    articles.c.id.in_(chunk)
                )
                for article, seen in conn.execute(query):
                    found[article] = datetime.fromisoformat(seen)
        return found

    def upsert_articles(
        self,
        source: str,
        batch: Sequence[Article],
        now: datetime | None,
        state: FetchState | None = None,
        lease: Lease | None = None,
    ) -> UpsertResult:
        """Insert new and replace changed articles of one source, and save its fetch state,
        in one transaction. With a `lease`, nothing is written unless it still holds
        (raises StaleLeaseError), and it is released."""
        return self.write_one(SourceWrite(source, now, batch, state, lease))

    def write_one(self, write: SourceWrite) -> UpsertResult:
        """Write back one source's update in its own transaction; StaleLeaseError when its
        lease no longer held (nothing was written)."""
        (result,) = self.write([write])
        if result is None:
            assert write.lease is not None
            raise StaleLeaseError(write.lease)
        return result

    def write(self, writes: Sequence[SourceWrite]) -> list[UpsertResult | None]:
        """Write back several sources' updates in one transaction (a group commit).

        Each result is None when that write's lease no longer held: it wrote nothing.
        """
        seen: set[str] = set()
        for at, write in enumerate(writes):
            if write.source in seen:
                # A source twice: its second write must see its first, which the batched
                # statements below would not show it; write up to the repeat, then the rest.
                return [*self.write(writes[:at]), *self.write(writes[at:])]
            seen.add(write.source)
        # Every leased write's state is saved (and its lease released) in one statement,
        # articles or not: a warm run is thousands of them; a stale lease writes nothing.
        saves = {
            w.source: (w.state, w.lease)
            for w in writes
            if w.state is not None and w.lease is not None
        }
        group = _Group()
        with self.engine.begin() as conn:
            stale = self._save_and_release(conn, list(saves.values()))
            live = [w for w in writes if (w.articles or w.retiring) and w.source not in stale]
            for chunk in chunks(sorted(w.source for w in live)):
                params = {"b_sources": list(chunk)}
                group.stored.update(conn.execute(_WITH_ARTICLES, params).scalars())
                group.retired.update(conn.execute(_WITH_TOMBSTONES, params).scalars())
            self._load_known(conn, [w for w in live if w.source in group.stored], group)
            self._load_tombstoned(conn, [w for w in live if w.source in group.retired], group)
            results = [
                (None if write.source in stale else UpsertResult())
                if write.source in saves
                and (write.source in stale or not (write.articles or write.retiring))
                else self._write_back(conn, write, group, state_saved=write.source in saves)
                for write in writes
            ]
            if group.rows:
                self._upsert_articles(conn, group.rows)
            if group.states:
                conn.execute(self._statement(conn, "upsert_state"), group.states)
            if group.links:  # numbered when first published (feeds/store/arrivals.py)
                conn.execute(article_categories.insert(), group.links)
            first = {w.source for w in live} - group.retired  # no tombstone before
            leave_tombstones(conn, group.tombstones, first)
            # Rows every worker shares (publish marks) are touched last and in one order, so
            # concurrent groups on PostgreSQL never deadlock.
            self._mark_pending(conn, {s for r in results if r for s in r.changed_categories})
        self._slugs.update(group.slugs)  # committed now
        return results

    def _save_and_release(
        self, conn: Connection, saves: Sequence[tuple[FetchState, Lease]]
    ) -> set[str]:
        """Save each state and release its lease where the lease still holds; returns the
        sources whose lease no longer held, which were not touched."""
        if not saves:
            return set()
        rows = [
            {
                **{f"b_{key}": value for key, value in _state_row(state).items()},
                "b_owner": lease.owner,
                "b_fence": lease.fence,
            }
            for state, lease in saves
        ]
        compiled = self._compiled(conn, "save_and_release", _SAVE_AND_RELEASE)
        if execute_many(conn, compiled, rows) == len(rows):
            return set()
        # Some lease was taken over (or the driver gave no total): every claim raises the
        # fence, so a source whose fence moved on is one we did not write.
        fences: dict[str, int] = {}
        for chunk in chunks(sorted(lease.source for _, lease in saves)):
            query = select(source_state.c.source, source_state.c.fence).where(
                source_state.c.source.in_(chunk)
            )
            fences.update((name, int(fence)) for name, fence in conn.execute(query))
        return {lease.source for _, lease in saves if fences.get(lease.source) != lease.fence}

    def _write_back(
        self, conn: Connection, write: SourceWrite, group: _Group, *, state_saved: bool
    ) -> UpsertResult | None:
        """One write of a group; `state_saved`: its state was saved and its lease released
        with the group's (`_save_and_release`)."""
        state, lease = write.state, write.lease
        if lease is not None and not state_saved and not self._release(conn, lease):
            return None
        batch = write.articles
        hashes = {a.entry_id: a.content_hash for a in batch}
        known = self._known_hashes(write.source, [*hashes, *write.retiring], group)
        new = [a for a in batch if a.entry_id not in known]
        changed = [
            a for a in batch
            if a.entry_id in known and known[a.entry_id] not in (hashes[a.entry_id], None)
        ]  # fmt: skip
        # Slugs of categories seen for the first time are handed out here, in the
        # transaction that first stores an article in them.
        names = dict.fromkeys(name for a in (*new, *changed) for name in a.categories)
        slug_of = self._slugs_for(conn, names, group)
        slugs = set(slug_of.values())
        if new or changed:
            assert write.now is not None  # checked when the write was made
            slugs |= self._write(conn, new, changed, hashes, write.now, group, slug_of)
        # Retired on arrival: a tombstone for each entry new to the store. The reader
        # never names a stored article's entry here (`feeds.update.floors`).
        arrived = [e for e in write.retiring if e not in known]
        group.tombstones.extend((write.source, e) for e in arrived)
        if state is not None and not state_saved:
            group.states.append(_state_row(state))
        stays_retired = [
            a.entry_id for a in batch if a.entry_id in known and known[a.entry_id] is None
        ]
        return UpsertResult(
            new=len(new) + len(arrived),
            updated=len(changed),
            unchanged=len(batch) - len(new) - len(changed) + len(write.retiring) - len(arrived),
            changed_categories=frozenset(slugs),
            retired=frozenset((*write.retiring, *stays_retired)),
            retired_on_arrival=len(arrived),
            linked=frozenset(a.entry_id for a in (*new, *changed)),
        )

    def _slugs_for(self, conn: Connection, names: Iterable[str], group: _Group) -> dict[str, str]:
        """The slug of each of `names`, from those known; only the others are looked up
        (and handed out) in `conn`'s transaction, and kept in `group` until it commits."""
        slug_of: dict[str, str] = {}
        unknown: list[str] = []
        for name in names:
            slug = self._slugs.get(name) or group.slugs.get(name)
            if slug is None:
                unknown.append(name)
            else:
                slug_of[name] = slug
        if unknown:
            found = slugs_for(conn, unknown)
            group.slugs.update(found)
            slug_of.update(found)
        return slug_of

    def _load_known(self, conn: Connection, writes: Sequence[SourceWrite], group: _Group) -> None:
        """Look up which entries of `writes` are stored, for all of them at once."""
        keys = [(w.source, entry_id) for w in writes for entry_id in w.entry_ids()]
        for source, entry_id, content_hash, expired in _by_pairs(conn, _KNOWN, keys, "b_ids"):
            group.known[(source, entry_id)] = None if expired else content_hash

    def _load_tombstoned(
        self, conn: Connection, writes: Sequence[SourceWrite], group: _Group
    ) -> None:
        """Look up which entries of `writes` not stored as articles have a tombstone, for
        all of them at once: each is known as None (it stays retired)."""
        by_hash: dict[tuple[str, str], str] = {}
        for w in writes:
            for entry_id in w.entry_ids():
                if (w.source, entry_id) not in group.known:
                    by_hash[(w.source, entry_hash(entry_id))] = entry_id
        for source, digest in _by_pairs(conn, _TOMBSTONED, list(by_hash), "b_hashes"):
            retired = by_hash.get((source, digest))
            if retired is not None:
                group.known[(source, retired)] = None

    def _known_hashes(
        self, source: str, entry_ids: Sequence[str], group: _Group
    ) -> dict[str, str | None]:
        """Content hash of each stored entry; None for retired ones, which stay retired
        (both looked up for the whole group)."""
        if source not in group.stored and source not in group.retired:
            return {}
        found = group.known
        return {e: found[(source, e)] for e in entry_ids if (source, e) in found}

    def _write(
        self,
        conn: Connection,
        new: Sequence[Article],
        changed: Sequence[Article],
        hashes: dict[str, str],
        now: datetime,
        group: _Group,
        slug_of: dict[str, str],
    ) -> set[str]:
        """Add the articles to the group's rows and update their category links; new
        links are added to the group's links, to be written unnumbered. Returns the
        categories the articles left."""
        batch = [*new, *changed]
        stamps = {a.id: utc_text(a.published) for a in batch}  # each formatted once
        seen = utc_text(now)
        group.rows.extend(_article_row(a, hashes[a.entry_id], stamps[a.id], seen) for a in batch)
        wanted = {(slug_of[name], a.id): (name, a) for a in batch for name in a.categories}
        existing: set[tuple[str, str]] = set()
        for chunk in chunks([a.id for a in changed]):
            query = select(article_categories.c.category_slug, article_categories.c.article_id)
            existing.update(
                (slug, article_id)
                for slug, article_id in conn.execute(
                    query.where(article_categories.c.article_id.in_(chunk))
                )
            )
        left: set[str] = set()
        for slug, article_id in existing:
            link = (article_categories.c.category_slug == slug) & (
                article_categories.c.article_id == article_id
            )
            if (slug, article_id) not in wanted:
                conn.execute(article_categories.delete().where(link))
                left.add(slug)
            else:  # kept: same arrival number, refreshed date and name
                name, _article = wanted[(slug, article_id)]
                conn.execute(
                    article_categories.update()
                    .where(link)
                    .values(category=name, published_utc=stamps[article_id])
                )
        group.links.extend(
            {
                "category_slug": slug,
                "article_id": article_id,
                "category": wanted[(slug, article_id)][0],
                "published_utc": stamps[article_id],
                "seq": UNNUMBERED,
            }
            for slug, article_id in wanted
            if (slug, article_id) not in existing
        )
        return left

    def _upsert_articles(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert article rows in one executemany, in the driver's own parameter form: the
        statement's text is compiled once per dialect, and SQLAlchemy's processing of each
        row's parameters (which cost about as much as SQLite's insert) is left out. Every
        column is plain text, integer or boolean, which both drivers take as they are."""
        key = f"upsert_article:{conn.dialect.name}"
        if key not in self._statements:
            statement = self._statement(conn, "upsert_article")
            self._statements[key] = statement.compile(
                dialect=conn.dialect, column_keys=list(rows[0])
            )
        execute_many(conn, self._statements[key], rows)

    def _statement(self, conn: Connection, name: str) -> Any:
        """Upserts built once: SQLAlchemy's compiled cache then serves every later call."""
        if name not in self._statements:
            insert = _insert_for(conn)
            if name == "upsert_article":
                # The conflict target makes a repeated write (a retried fetch, a second
                # worker) replace rather than duplicate; first_seen keeps its first value.
                statement = insert(articles)
                keep = ("id", "first_seen_utc")
                columns = {
                    c.name: statement.excluded[c.name] for c in articles.c if c.name not in keep
                }
                self._statements[name] = statement.on_conflict_do_update(
                    index_elements=["id"], set_=columns
                )
            elif name == "mark_pending":
                statement = insert(pending_publish)
                self._statements[name] = statement.on_conflict_do_update(
                    index_elements=["category_slug"],
                    set_={"version": pending_publish.c.version + 1},
                )
            else:
                statement = insert(source_state)
                # Leases are taken by `claim`, released by `_release` and `_SAVE_AND_RELEASE`.
                columns = {
                    c.name: statement.excluded[c.name]
                    for c in source_state.c
                    if c.name not in ("source", *_LEASE_COLUMNS)
                }
                self._statements[name] = statement.on_conflict_do_update(
                    index_elements=["source"], set_=columns
                )
        return self._statements[name]

    def delete_missing(self, source: str, present: frozenset[str]) -> frozenset[str]:
        """Delete the articles of `source` whose entry ids are not in `present`.

        For local sources, whose folder is the truth: an editor deleted the file. Returns
        the slugs of the categories that lost an article.
        """
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(articles.c.id, articles.c.entry_id).where(articles.c.source == source)
            ).all()
            gone = [row.id for row in rows if row.entry_id not in present]
            slugs: set[str] = set()
            for chunk in chunks(gone):
                slugs.update(
                    conn.execute(
                        select(article_categories.c.category_slug).where(
                            article_categories.c.article_id.in_(chunk)
                        )
                    ).scalars()
                )
                conn.execute(
                    article_categories.delete().where(article_categories.c.article_id.in_(chunk))
                )
                conn.execute(articles.delete().where(articles.c.id.in_(chunk)))
            forget_missing(conn, source, present)
            self._mark_pending(conn, slugs)
        return frozenset(slugs)

    def categories(self) -> list[Category]:
        """Every category that has live articles, by slug."""
        query = (
            select(article_categories.c.category_slug, func.min(article_categories.c.category))
            .group_by(article_categories.c.category_slug)
            .order_by(article_categories.c.category_slug)
        )
        with self.engine.connect() as conn:
            return [Category(name=name, slug=slug) for slug, name in conn.execute(query)]

    def category_slugs(self) -> dict[str, str]:
        """Every category slug handed out, by the name it was first given for."""
        with self.engine.connect() as conn:
            return stored_slugs(conn)

    def assign_category_slugs(self, names: Sequence[str]) -> dict[str, str]:
        """Hand out slugs to those of `names` that have none yet (in the order given) and
        keep them; returns every slug handed out, by name (see `category_slugs`)."""
        assigned = self.category_slugs()
        known = {category_key(name) for name in assigned}
        if any(category_key(name) not in known for name in names):
            with self.engine.begin() as conn:
                slugs_for(conn, names)
                assigned = stored_slugs(conn)
        self._slugs.update(assigned)  # committed
        return assigned

    def recent_articles(
        self, category_slug: str | None, limit: int, known: Mapping[str, Article] | None = None
    ) -> list[Article]:
        """The newest live articles of a category (or of all when None), newest first.

        With `known` (articles by id, just read), the newest are picked by id first and
        only those not in `known` are read: the newest of all are mostly the newest of the
        categories, and the query of all sorts every live row, which is cheap without
        their texts."""
        if category_slug is None:
            query = (
                select(articles.c.id)
                .where(articles.c.expired.is_(False))
                .order_by(*_newest_first(articles.c.published_utc, articles.c.id))
                .limit(limit)
            )
        else:
            query = (
                select(articles.c.id)
                .join(article_categories, article_categories.c.article_id == articles.c.id)
                .where(article_categories.c.category_slug == category_slug)
                .order_by(*_newest_first(article_categories.c.published_utc, articles.c.id))
                .limit(limit)
            )
        with self.engine.connect() as conn:
            if known is None:
                full = query.with_only_columns(articles)
                return [_article_from(row._mapping) for row in conn.execute(full)]
            ids = list(conn.execute(query).scalars())
            found = self._articles_by_id(conn, [i for i in ids if i not in known])
        # One deleted since the ids were read is left out, as `archive` leaves it.
        return [known[i] if i in known else found[i] for i in ids if i in known or i in found]

    def _articles_by_id(self, conn: Connection, ids: Sequence[str]) -> dict[str, Article]:
        """The stored articles of `ids`, by id (those deleted meanwhile are missing)."""
        found: dict[str, Article] = {}
        for chunk in chunks(ids):
            query = select(articles).where(articles.c.id.in_(chunk))
            found.update((row.id, _article_from(row._mapping)) for row in conn.execute(query))
        return found

    def archive(
        self, category_slug: str, known: Mapping[str, Article] | None = None
    ) -> tuple[int, list[tuple[int, Article]]]:
        """The highest arrival number handed out in a category, and its numbered live
        articles with their arrival numbers, oldest first: what RFC 5005 archive pages are
        cut from (`number_arrivals` numbers the others).

        Articles in `known` (by id: the category's newest, just read) are taken from there,
        not read again: retention keeps a category's live articles within its newest."""
        known = known or {}
        numbers = (
            select(article_categories.c.seq, article_categories.c.article_id)
            .where(
                article_categories.c.category_slug == category_slug,
                article_categories.c.seq != UNNUMBERED,
            )
            .order_by(article_categories.c.seq)
        )
        with self.engine.connect() as conn:
            highest = conn.execute(
                select(category_sequences.c.next_seq).where(
                    category_sequences.c.category_slug == category_slug
                )
            ).scalar()
            arrivals = conn.execute(numbers).all()
            missing = [row.article_id for row in arrivals if row.article_id not in known]
            found = {**known, **self._articles_by_id(conn, missing)}
        entries = [(row.seq, found[row.article_id]) for row in arrivals if row.article_id in found]
        return (int(highest) - 1 if highest else 0), entries

    def expire_beyond(self, max_items: int) -> int:
        """Retire articles that fell out of every category's newest `max_items`: each is
        deleted, leaving a tombstone (feeds/store/retention.py). Returns how many.

        Among equal dates the later arrival ranks newer, and a link not numbered yet (not
        published) newer than any numbered one, in the order `number_arrivals` will number
        them: so a new arrival dated like the oldest kept entries never retires at once
        (that would leave holes in archives).
        """
        with self.engine.begin() as conn:
            slugs = (
                conn.execute(
                    select(article_categories.c.category_slug)
                    .group_by(article_categories.c.category_slug)
                    .having(func.count() > max_items)
                )
                .scalars()
                .all()
            )
            links = article_categories.c
            for slug in slugs:
                # Deleted by the database: the ids never come to Python and back.
                beyond = (
                    select(links.article_id)
                    .where(links.category_slug == slug)
                    .order_by(
                        links.published_utc.desc(),
                        (links.seq == UNNUMBERED).desc(),
                        links.seq.desc(),
                        links.article_id.desc(),
                    )
                    .offset(max_items)
                )
                conn.execute(
                    article_categories.delete().where(
                        links.category_slug == slug, links.article_id.in_(beyond)
                    )
                )
            linked = select(article_categories.c.article_id).where(
                article_categories.c.article_id == articles.c.id
            )
            # Rows an older store kept as tombstones (`expired`) become real ones too.
            retiring = conn.execute(
                select(articles.c.id, articles.c.source, articles.c.entry_id).where(
                    articles.c.expired.is_(True) | ~linked.exists()
                )
            ).all()
            retire(conn, retiring)
            return len(retiring)

    def forget_removed_sources(self, configured: Collection[str], idle_since: datetime) -> int:
        """Forget the fetch state and tombstones of the sources not in `configured` that
        were last fetched before `idle_since`; returns how many. Their articles stay until
        retention retires them. Should such a source come back, it starts as a new one,
        whose old entries that retention would retire retire on arrival again."""
        state = source_state.c
        idle = select(state.source).where(state.last_fetch_utc < utc_text(idle_since))
        with self.engine.begin() as conn:
            gone = [name for name in conn.execute(idle).scalars() if name not in configured]
            for chunk in chunks(gone):
                conn.execute(retired_entries.delete().where(retired_entries.c.source.in_(chunk)))
                conn.execute(source_state.delete().where(state.source.in_(chunk)))
        return len(gone)

    def number_arrivals(self) -> int:
        """Give every category's links that were never published their arrival numbers,
        oldest first (feeds/store/arrivals.py); returns how many. A publish calls it after
        `expire_beyond`, before it reads the archives."""
        with self.engine.begin() as conn:
            return number_arrivals(conn)

    # -- fetch state ---------------------------------------------------------------------

    def fetch_state(self, source: str) -> FetchState | None:
        with self.engine.connect() as conn:
            query = select(*_STATE_READ).where(source_state.c.source == source)
            row = conn.execute(query).first()
        return _state_from(row) if row else None

    def fetch_states(self, sources: Collection[str] | None = None) -> dict[str, FetchState]:
        """Fetch states by source: of the named `sources` (all when None)."""
        query = select(*_STATE_READ)
        with self.engine.connect() as conn:
            if sources is None:
                rows = conn.execute(query).all()
            else:
                rows = [
                    row
                    for chunk in chunks(sorted(sources))
                    for row in conn.execute(query.where(source_state.c.source.in_(chunk)))
                ]
        return {row.source: _state_from(row) for row in rows}

    def states_with_outcome(self, outcome: FetchOutcome) -> dict[str, FetchState]:
        """The fetch states whose last outcome is `outcome`, by source. The claim loop asks
        for the 410 Gone ones before every claim: through the driver, compiled once."""
        with self.engine.connect() as conn:
            compiled = self._compiled(conn, "states_with_outcome", _STATES_WITH_OUTCOME)
            rows = execute_one(conn, compiled, {"b_outcome": outcome.value}).all()
        return {row[0]: _state_from(row) for row in rows}

    def _compiled(self, conn: Connection, name: str, statement: Any) -> Compiled:
        """`statement` compiled for `conn`'s dialect, once (`compiled_once`): for
        `execute_one` and `execute_many`, which leave SQLAlchemy's work per execution out."""
        return compiled_once(conn, name, lambda: statement)

    def save_fetch_state(self, state: FetchState, lease: Lease | None = None) -> None:
        """Save a source's fetch state (with a `lease`: only while it holds, releasing it)."""
        self.upsert_articles(state.source, (), None, state, lease)

    # -- work sharing --------------------------------------------------------------------

    def ensure_states(self, sources: Iterable[str]) -> None:
        """Give every named source a state row, so it can be claimed. Only the missing ones
        are inserted: after the first run that is one read of the names (1 ms for 1000
        sources, where an insert of every name, each one refused, took 3 ms)."""
        with self.engine.begin() as conn:
            have = set(conn.execute(select(source_state.c.source)).scalars())
            rows = [{"source": name, "error_count": 0} for name in sources if name not in have]
            if rows:
                insert = _insert_for(conn)(source_state)
                conn.execute(insert.on_conflict_do_nothing(index_elements=["source"]), rows)

    def claim(
        self,
        sources: Collection[str],
        owner: str,
        now: datetime,
        until: datetime,
        *,
        force: bool = False,
        limit: int | None = None,
    ) -> list[Lease]:
        """Lease those of `sources` that are due (all, with `force`) and not leased by anyone,
        at most `limit`, the longest overdue first (see `claim_states`)."""
        claimed = self.claim_states(sources, owner, now, until, force=force, limit=limit)
        return [lease for lease, _state in claimed]

    def claim_states(
        self,
        sources: Collection[str],
        owner: str,
        now: datetime,
        until: datetime,
        *,
        force: bool = False,
        limit: int | None = None,
    ) -> list[tuple[Lease, FetchState]]:
        """`claim`, with each claimed source's fetch state as the claim found it.

        One statement: PostgreSQL skips rows another claim has locked (SKIP LOCKED), so
        concurrent workers never claim a source twice; SQLite's write lock serialises them.
        The fence grows with every claim. The names go in as one JSON parameter, so the
        statement is compiled once however many there are, and the claim returns the rows
        it leased, states and all, so they are not read again.
        """
        if not sources or (limit is not None and limit <= 0):
            return []
        backend = self._backend()
        params = {
            "b_names": list(sources),  # in any order: a set to the statement
            "b_stamp": utc_text(now),
            "b_ahead": utc_text(now + CLOCK_WRONG_BY),
            "b_owner": owner,
            "b_until": utc_text(until),
            "b_backend": backend,
            "b_room": limit,
        }
        with self.engine.begin() as conn:
            statement = self._claim_statement(conn, force=force, limited=limit is not None)
            rows = conn.execute(statement, params).all()
        return [(Lease(row.source, owner, int(row.fence)), _state_from(row)) for row in rows]

    def _claim_statement(self, conn: Connection, *, force: bool, limited: bool) -> Any:
        """The claim's UPDATE ... RETURNING for `conn`'s dialect, built once per variant."""
        key = f"claim:{conn.dialect.name}:{force}:{limited}"
        if key not in self._statements:
            state = source_state.c
            stamp = bindparam("b_stamp", type_=state.next_due_utc.type)
            free = state.lease_expires_utc.is_(None) | (state.lease_expires_utc < stamp)
            postgresql = conn.dialect.name == "postgresql"
            if postgresql:
                # A lease whose owner's session has ended is free at once: its process died.
                sessions = select(_PG_STAT_ACTIVITY.c.pid)
                free = free | (
                    state.lease_backend.is_not(None) & state.lease_backend.not_in(sessions)
                )
            ahead = state.last_fetch_utc > bindparam("b_ahead", type_=state.last_fetch_utc.type)
            candidates = select(state.source).where(
                among(conn, state.source, "b_names"),
                free,
                state.retry_after_utc.is_(None) | (state.retry_after_utc <= stamp) | ahead,
            )
            if not force:
                candidates = candidates.where(
                    state.next_due_utc.is_(None) | (state.next_due_utc <= stamp) | ahead
                )
            if limited:
                overdue = state.next_due_utc
                candidates = candidates.order_by(overdue.is_not(None), overdue).limit(
                    bindparam("b_room", type_=Integer)
                )
            if postgresql:
                candidates = candidates.with_for_update(skip_locked=True)
            self._statements[key] = (
                source_state.update()
                .where(state.source.in_(candidates.scalar_subquery()))
                .values(
                    lease_owner=bindparam("b_owner", type_=state.lease_owner.type),
                    lease_expires_utc=bindparam("b_until", type_=state.lease_expires_utc.type),
                    lease_backend=bindparam("b_backend", type_=state.lease_backend.type),
                    fence=state.fence + 1,
                )
                .returning(*_STATE_READ, state.fence)
            )
        return self._statements[key]

    def next_due(self, sources: Collection[str], now: datetime) -> datetime | None:
        """The soonest time after `now` at which one of `sources` comes due or its
        Retry-After ends (None: none will by itself). The daemon sleeps until then when a
        claim found nothing more due."""
        stamp = utc_text(now)
        due, retry = source_state.c.next_due_utc, source_state.c.retry_after_utc
        query = select(func.min(case((due > stamp, due))), func.min(case((retry > stamp, retry))))
        soonest: list[str] = []
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(sources)):
                row = conn.execute(query.where(source_state.c.source.in_(chunk))).one()
                soonest.extend(value for value in row if value is not None)
        return _from_utc_text(min(soonest)) if soonest else None

    def release_all(self, owner: str) -> None:
        """Give back every lease `owner` still holds (a run ending early, a daemon stopping)."""
        with self.engine.begin() as conn:
            conn.execute(
                source_state.update()
                .where(source_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_utc=None, lease_backend=None)
            )

    def take_over_leases(self) -> int:
        """Free every lease; returns how many were held. Only for a process holding the
        SQLite run lock: no other process can be running, so any lease is a dead one's."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    source_state.update()
                    .where(source_state.c.lease_owner.is_not(None))
                    .values(lease_owner=None, lease_expires_utc=None, lease_backend=None)
                ).rowcount
            )

    def held_elsewhere(self, sources: Collection[str], owner: str, now: datetime) -> list[str]:
        """Those of `sources` leased by another process that is alive (its lease has not
        expired and, on PostgreSQL, its session is open), by name."""
        stamp = utc_text(now)
        query = select(source_state.c.source).where(
            source_state.c.lease_owner.is_not(None),
            source_state.c.lease_owner != owner,
            source_state.c.lease_expires_utc >= stamp,
        )
        if self.engine.dialect.name == "postgresql":
            sessions = select(_PG_STAT_ACTIVITY.c.pid)
            query = query.where(
                source_state.c.lease_backend.is_(None) | source_state.c.lease_backend.in_(sessions)
            )
        held: list[str] = []
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(sources)):
                held.extend(conn.execute(query.where(source_state.c.source.in_(chunk))).scalars())
        return sorted(held)

    def _backend(self) -> int | None:
        """PostgreSQL: the backend pid of this process's presence session, a connection
        kept open for as long as the store is, so that the server ends it (and frees our
        leases for others) the moment this process dies. None on SQLite."""
        if self.engine.dialect.name != "postgresql":
            return None
        for _attempt in range(2):
            if self._presence is None:
                self._presence = self.engine.connect()
            try:
                pid = self._presence.execute(text("SELECT pg_backend_pid()")).scalar_one()
                self._presence.commit()
                return int(pid)
            except SQLAlchemyError:  # the session was lost (a server restart): open another
                self._presence.invalidate()
                self._presence.close()
                self._presence = None
        raise StoreError("cannot keep a session open on the store for leases")

    def _release(self, conn: Connection, lease: Lease) -> bool:
        """Release `lease`; False when it no longer held."""
        params = {"b_source": lease.source, "b_owner": lease.owner, "b_fence": lease.fence}
        return bool(conn.execute(_RELEASE, params).rowcount == 1)

    # -- publishing across processes -----------------------------------------------------

    def _mark_pending(self, conn: Connection, slugs: Iterable[str]) -> None:
        rows = [{"category_slug": slug, "version": 1} for slug in sorted(slugs)]
        if rows:
            conn.execute(self._statement(conn, "mark_pending"), rows)

    def pending(self) -> dict[str, int]:
        """Categories changed since they were last published, with their change versions."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(pending_publish.c.category_slug, pending_publish.c.version))
            return {slug: int(version) for slug, version in rows}

    def published(self, seen: dict[str, int]) -> None:
        """Clear the pending marks that were published; a mark changed since stays."""
        with self.engine.begin() as conn:
            for slug, version in seen.items():
                conn.execute(
                    pending_publish.delete().where(
                        pending_publish.c.category_slug == slug,
                        pending_publish.c.version == version,
                    )
                )

    def article_counts(self) -> dict[str, int]:
        """Live articles per source."""
        query = (
            select(articles.c.source, func.count())
            .where(articles.c.expired.is_(False))
            .group_by(articles.c.source)
        )
        with self.engine.connect() as conn:
            return {source: int(count) for source, count in conn.execute(query)}

    def article_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(articles).where(articles.c.expired.is_(False))
                ).scalar_one()
            )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit deferred BEGIN fails at once
        # with "database is locked" when a read transaction later wants to write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _enter_wal_mode(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows' bytes are zeroed where that costs no extra page writes. Some builds
        # (Debian's) zero every freed page by default: retention and replaced fragments then
        # wrote each freed overflow page once more (a third of a cold run's retention).
        cursor.execute("PRAGMA secure_delete=FAST")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: SQLAlchemy's way to it (events, a cursor, a result) cost
        # several times SQLite's BEGIN, once for every transaction.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine


def _enter_wal_mode(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL, retrying for up to the busy timeout.

    SQLite fails the switch at once with "database is locked", without waiting out the busy
    timeout, while another connection writes to a file still in rollback mode: two first
    runs starting together on a new store (a cron run and a `feeds update --wait`) would
    otherwise see one of them fail. Once the file is in WAL mode the switch is a no-op."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _json_list(values: Sequence[Any]) -> str:
    return json.dumps(values, ensure_ascii=False) if values else "[]"


def _article_row(
    article: Article, content_hash: str, published_utc: str, first_seen_utc: str
) -> dict[str, Any]:
    return {
        "id": article.id,
        "source": article.source,
        "entry_id": article.entry_id,
        "title": article.title,
        "link": article.link,
        "summary": article.summary,
        "content": article.content,
        "authors": authors_to_json(article.authors),
        "published": article.published.isoformat(),
        "updated": article.updated.isoformat(),
        "published_utc": published_utc,
        "categories": _json_list(article.categories),
        "language": article.language,
        "enclosures": json.dumps(
            [{"url": e.url, "type": e.media_type, "length": e.length} for e in article.enclosures]
        )
        if article.enclosures
        else "[]",
        "tags": _json_list(article.tags),
        "podcast": podcast_to_json(article.podcast),
        "content_hash": content_hash,
        **_full_text_row(article.full_text),
        "first_seen_utc": first_seen_utc,
        "expired": False,
    }


_EMPTY = "[]"  # how a list column holds no items (most rows' tags and enclosures)


def _json_tuple(text: str) -> tuple[Any, ...]:
    """A list column's items: what a publish reads for every article, so the empty list
    is recognised without the JSON decoder."""
    return () if text == _EMPTY else tuple(json.loads(text))


# A source's articles mostly share their authors and categories: a publish reads thousands
# of articles, and each distinct value of these columns is decoded once (into immutable
# tuples of immutable values, so sharing them is safe).
@lru_cache(maxsize=1024)
def _authors(text: str) -> tuple[Author, ...]:
    return authors_from_json(text) if text != _EMPTY else ()


@lru_cache(maxsize=1024)
def _categories(text: str) -> tuple[str, ...]:
    return _json_tuple(text)


def _article_from(row: Any) -> Article:
    return Article(
        id=row["id"],
        source=row["source"],
        entry_id=row["entry_id"],
        title=row["title"],
        link=row["link"],
        summary=row["summary"],
        content=row["content"],
        authors=_authors(row["authors"]),
        published=datetime.fromisoformat(row["published"]),
        updated=datetime.fromisoformat(row["updated"]),
        categories=_categories(row["categories"]),
        language=row["language"],
        enclosures=tuple(
            Enclosure(url=e["url"], media_type=e["type"], length=e["length"])
            for e in _json_tuple(row["enclosures"])
        ),
        tags=_json_tuple(row["tags"]),
        podcast=podcast_from_json(row["podcast"]),
        full_text=_full_text_from(row),
    ).hashed(row["content_hash"])


def _full_text_row(full_text: FullText | None) -> dict[str, str | None]:
    if full_text is None:
        return dict.fromkeys(
            ("full_text_for", "full_text_error", "full_text_etag", "full_text_modified")
        )
    return {
        "full_text_for": full_text.entry_hash,
        "full_text_error": full_text.error,
        "full_text_etag": full_text.etag,
        "full_text_modified": full_text.last_modified,
    }


def _full_text_from(row: Any) -> FullText | None:
    if row["full_text_for"] is None:
        return None
    return FullText(
        row["full_text_for"],
        row["full_text_error"],
        row["full_text_etag"],
        row["full_text_modified"],
    )


def _state_row(state: FetchState) -> dict[str, Any]:
    return {
        "source": state.source,
        "url": state.url,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "body_hash": state.body_hash,
        "last_fetch_utc": utc_text(state.last_fetch) if state.last_fetch else None,
        "last_outcome": state.last_outcome.value if state.last_outcome else None,
        "last_status": state.last_status,
        "next_due_utc": utc_text(state.next_due) if state.next_due else None,
        "error_count": state.error_count,
        "last_error": state.last_error,
        "config_hash": state.config_hash,
        "retry_after_utc": utc_text(state.retry_after) if state.retry_after else None,
        "warnings": state.warnings,
        "feed_title": state.feed_title,
        "site_url": state.site_url,
        "due_reason": state.due_reason,
        "entry_digests": state.entry_digests,
    }


def _state_from(row: Sequence[Any]) -> FetchState:
    """The fetch state in a row that starts with `_STATE_READ`'s columns (by position: a
    claim decodes a thousand of them a run, and a row's mapping costs twice the time)."""
    (
        source,
        url,
        etag,
        last_modified,
        body_hash,
        last_fetch_utc,
        last_outcome,
        last_status,
        next_due_utc,
        error_count,
        last_error,
        config_hash,
        retry_after_utc,
        warnings,
        feed_title,
        site_url,
        due_reason,
        entry_digests,
    ) = row[: len(_STATE_READ)]
    return FetchState(
        source=source,
        url=url,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        last_fetch=_from_utc_text(last_fetch_utc),
        last_outcome=FetchOutcome(last_outcome) if last_outcome else None,
        last_status=last_status,
        next_due=_from_utc_text(next_due_utc),
        error_count=error_count,
        last_error=last_error,
        config_hash=config_hash,
        retry_after=_from_utc_text(retry_after_utc),
        warnings=warnings,
        feed_title=feed_title,
        site_url=site_url,
        due_reason=due_reason,
        entry_digests=entry_digests,
    )
