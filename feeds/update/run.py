"""The update run: claim due sources, read each with its kind's reader, enrich, store.

`feeds update` and the daemon share the `Updater` and its claim step (`top_up`); the clock,
the HTTP client and the worker pool are passed in. What a read does to a source's state is
decided in `feeds.update.decide`; this module does the I/O around it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from feeds.config import Config
from feeds.enrich import EdgeEnricher, EnrichJob, enrichers_for
from feeds.failures import driver_reason
from feeds.fulltext.pages import FullTextPages
from feeds.fulltext.robots import RobotsRules
from feeds.model import (
    Article,
    FetchOutcome,
    FetchState,
    Lease,
    RetireBefore,
    RuleAction,
    Source,
    SourceResult,
)
from feeds.normalise.warnings import bounded
from feeds.publish.orchestrate import config_category_names
from feeds.rules import apply_rules
from feeds.schedule import NextFetch
from feeds.shorten import shorten
from feeds.sources.kinds import describe, readers
from feeds.sources.reader import Clock, Fresh, NotModified, ReadContext, ReadFailure, Reading
from feeds.sources.remote import FetchClient
from feeds.store import ArticleStore, GroupWriter, SourceWrite, StaleLeaseError, UpsertResult
from feeds.update import decide
from feeds.update.floors import RetentionFloors, reachable_categories
from feeds.workers import CleanJob, ParserPool

if TYPE_CHECKING:
    from feeds.normalise.article import HeldEntries, Kept

log = logging.getLogger(__name__)

T = TypeVar("T")

# Held entries cleaned in one pool job, at most about: a few jobs per worker, so the first
# sources are written while the workers clean the rest.
CLEAN_BATCH = 256
# Held entries a run keeps waiting, packed, at most about (one read more): beyond it, first
# reads store as they did before holding back. A first run of 3,000 bench feeds holds about
# 10,000 entries, most by their heads, with the bodies to read again (about 22 MB packed,
# most of it let go of as the floors rise); the budget bounds a run whose dates defeat the
# likely floors.
HELD_BUDGET = 64 * 2**20
# Packed bytes added between two looks for waiting reads the floors now retire whole.
PRUNE_EVERY = 4 * 2**20


@dataclass(frozen=True, slots=True)
class UpdateReport:
    results: tuple[SourceResult, ...]
    # Sources this run left alone because another live process holds their lease.
    held_elsewhere: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(
            r for r in self.results if r.outcome in (FetchOutcome.FAILED, FetchOutcome.GONE)
        )

    @property
    def changed_categories(self) -> frozenset[str]:
        return frozenset(slug for r in self.results for slug in r.changed_categories)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one claim step started from: the jobs claimed, and whether the remote claims
    filled the room it had (then more may be due at once)."""

    jobs: list[Job]
    filled: bool


@dataclass(frozen=True, slots=True)
class Job:
    """A source to update now, its last state, and this process's lease on it (remote)."""

    source: Source
    state: FetchState | None
    lease: Lease | None = None


class Updater:
    """Updates sources within shared limits: overall concurrency and per host.

    One per `feeds update` run, or per loaded config in the daemon, so every fetch in
    flight counts against the same limits.
    """

    def __init__(
        self,
        config: Config,
        store: ArticleStore,
        client: FetchClient,
        clock: Clock,
        pool: ParserPool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock
        self.parser = pool or ParserPool(workers=0)
        self.readers = readers(ReadContext(config, client, clock, self.parser, retire=self._retire))
        # Set for the length of one `update_due`: the daemon's long life, where a source is
        # read again and again, gives no floor to trust (`feeds.update.floors`).
        self.floors: RetentionFloors | None = None
        self._reachable: dict[str, frozenset[str] | None] = {}
        self._with_articles: frozenset[str] | None = None  # sources with stored articles
        self._with_entries: frozenset[str] | None = None  # ... with any entry in the store
        # Per category, the remote sources that can reach it and those read in this run.
        self._sources_in: Counter[str] | None = None
        self._read_in: Counter[str] = Counter()
        # This run's reads whose held entries wait for the final floors (`_write_held`).
        self._held: list[_Held] = []
        self._held_bytes = 0
        self._held_pruned = 0  # `_held_bytes` after the last `_prune_held`
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sources = {s.name: s for s in config.sources}
        # Scheduled kinds (remote feeds, pages) are leased and due by the store's times;
        # the others (local files) are read by whoever has them, on every claim.
        scheduled = {s.name: describe(s.kind).scheduled for s in config.sources}
        self.remote = [s.name for s in config.sources if scheduled[s.name]]
        self.local = [s for s in config.sources if not scheduled[s.name]]
        self.states_ensured = False  # every scheduled source has a state row to claim
        # Write-backs of sources updated side by side share transactions; a group of half
        # the slots goes out even while one slow fetch holds the other half.
        self.writer = GroupWriter(store, size=max(1, config.fetch.concurrency // 2))
        self.limit = asyncio.Semaphore(config.fetch.concurrency)
        # Per-host limits keep a host with many feeds from seeing a burst of requests from us.
        self.hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.fetch.per_host)
        )
        robots = RobotsRules(client, config.fetch, clock)
        self.edge_enrichers: tuple[EdgeEnricher, ...] = (
            FullTextPages(client, config.fetch, store, self.parser, self.hosts, robots),
        )

    def due(
        self,
        *,
        force: bool = False,
        limit: int | None = None,
        exclude: Collection[str] = (),
        gone: Mapping[str, FetchState] | None = None,
    ) -> list[Job]:
        """Claim the configured sources due now (`force`: all not held back).

        Remote sources are leased in the store, so several processes sharing one store
        (`feeds run` on many machines) never fetch a source twice; local files are read by
        whoever has them. `limit` caps the remote claims, so a lease is taken only for work
        that starts before it runs out; `exclude` names sources this run already did.

        The claim itself decides what is due (next due time, Retry-After, leases) and
        returns the claimed sources' states, so only the 410 Gone states and the local
        sources' are read besides, not every source's; `gone`: those states as read already.
        """
        now = self.clock()
        if gone is None:
            gone = self.store.states_with_outcome(FetchOutcome.GONE)
        held = {
            name
            for name, state in gone.items()
            if name in self.sources
            and not decide.is_due(self.sources[name], state, now, force=force)
        }
        if not self.states_ensured:
            self.store.ensure_states(self.remote)
            # The config's categories get their slugs in config order, before any
            # article can claim one: what `feeds check` showed is what they get.
            self.store.assign_category_slugs(config_category_names(self.config))
            self.states_ensured = True
        remote = [name for name in self.remote if name not in exclude and name not in held]
        until = now + self.config.fetch.lease
        claimed = self.store.claim_states(remote, self.owner, now, until, force=force, limit=limit)
        local = [s for s in self.local if s.name not in exclude]
        states = self.store.fetch_states([s.name for s in local]) if local else {}
        return [
            *(Job(s, states.get(s.name)) for s in local),
            *(Job(self.sources[lease.source], state, lease) for lease, state in claimed),
        ]

    def top_up(
        self,
        running: dict[str, asyncio.Task[T]],
        start: Callable[[Job], Coroutine[Any, Any, T]],
        *,
        force: bool = False,
        exclude: Collection[str] = (),
        refill_at_half: bool = False,
        accept: Callable[[Job], bool] | None = None,
        gone: Mapping[str, FetchState] | None = None,
    ) -> Claimed | None:
        """One step of the claim loop of `feeds update` and the daemon: claim what there is
        room for (`decide.claim_room`) and start `start(job)` for each job `accept`s, in
        `running` by source name. Returns what was claimed, or None when there was no room.
        `gone`: the 410 Gone states, when the caller read them already (see `due`)."""
        room = decide.claim_room(
            self.config.fetch.concurrency, len(running), refill_at_half=refill_at_half
        )
        if room <= 0:
            return None
        jobs = self.due(force=force, limit=room, exclude=exclude, gone=gone)
        for job in jobs:
            name = job.source.name
            if name in running or (accept is not None and not accept(job)):
                continue
            running[name] = asyncio.create_task(start(job))
        leased = sum(1 for job in jobs if job.lease is not None)
        return Claimed(jobs, filled=leased >= room)

    async def update(self, job: Job) -> SourceResult:
        """Update one claimed source within the limits, writing back with the others.

        The source's host slot and a fetch slot are held for the read (fetch and parse);
        edge enrichers fetch later, each page within its own host's slot, so no update ever
        waits for a slot while holding another.
        """
        source = job.source
        host = (urlsplit(source.url).hostname or "") if source.url else ""
        try:
            async with self.hosts[host], self.limit:
                self.writer.holding += 1
                try:
                    reading = await self.readers[source.kind].read(source, job.state)
                except BaseException:
                    self._let_go()
                    raise
            try:
                return await self.update_source(job, reading)
            finally:
                self._let_go()
        except StaleLeaseError as exc:
            # Another worker took the source over while this one stalled: its result
            # stands, ours is dropped (the article writes were idempotent anyway).
            log.warning("%s", exc)
            return SourceResult(source.name, FetchOutcome.FAILED, errors=(f"{exc}: dropped",))
        except (IntegrityError, DataError) as exc:
            # Its own rows were refused, alone too (a failed group is retried one source
            # at a time): this source fails, the others go on. The failure is recorded
            # as a failed read, so `feeds status` names it, the source backs off and its
            # lease is let go (unrecorded, it showed as never fetched and was read again
            # whenever its lease ran out). A failure of the store itself (full,
            # read-only, damaged) ends the run instead.
            return await self._record_fault(job, f"store refused its write: {driver_reason(exc)}")
        except SQLAlchemyError:
            raise  # the store failed as a whole: the run ends (`_update_each`)
        except Exception as exc:
            # A fault of ours that this source's input found: the source fails alone, the
            # traceback goes to the log, and the others go on.
            log.exception("%s: update failed", source.name)
            error = f"internal error: {type(exc).__name__}: {shorten(str(exc), 200)}"
            return await self._record_fault(job, error)

    async def _record_fault(self, job: Job, error: str) -> SourceResult:
        """Record a fault of ours, or the store's refusal of the source's rows, as a failed
        read of `job`'s source: `feeds status` shows it and the source backs off as after
        any failure. When even that write fails (the
        fault may be in it), nothing is written: the lease is released at the end of a run,
        or runs out in the daemon, and the run's summary still names the fault."""
        now = self.clock()
        tried = replace(job.state or FetchState(source=job.source.name), last_fetch=now)
        try:
            return await self._record_failure(job.source, ReadFailure(tried, error, now), job.lease)
        except SQLAlchemyError as exc:
            if isinstance(exc, IntegrityError | DataError):
                return SourceResult(job.source.name, FetchOutcome.FAILED, errors=(error,))
            raise  # the store failed as a whole: the run ends
        except Exception:  # StaleLeaseError, or the fault again
            log.warning("%s: its failure could not be recorded", job.source.name, exc_info=True)
            return SourceResult(job.source.name, FetchOutcome.FAILED, errors=(error,))

    @contextmanager
    def _fetching_more(self) -> Iterator[None]:
        """While an edge enricher fetches (many pages, minutes perhaps), the others'
        write-backs do not wait for this update's."""
        self._let_go()
        try:
            yield
        finally:
            self.writer.holding += 1

    def _let_go(self) -> None:
        """An update's write-back is done (or will never come): the group need not wait."""
        self.writer.holding -= 1
        self.writer.flush_if_ready()

    async def update_due(
        self,
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_result: Callable[[SourceResult], None] | None = None,
    ) -> UpdateReport:
        """Update every due source (`force`: every source not held back) concurrently;
        `on_start` hears how many were claimed, `on_result` each outcome."""

        async def one(job: Job) -> SourceResult:
            result = await self.update(job)
            if on_result is not None:
                on_result(result)
            return result

        self.floors = RetentionFloors(self.config.output.max_items)
        try:
            report = await self._update_each(force, one, on_start)
            return await self._write_held(report) if self._held else report
        finally:
            self.floors, self._with_articles, self._with_entries = None, None, None
            self._read_in.clear()
            self._held.clear()
            self._held_bytes = self._held_pruned = 0

    async def _update_each(
        self,
        force: bool,
        one: Callable[[Job], Coroutine[Any, Any, SourceResult]],
        on_start: Callable[[int], None] | None,
    ) -> UpdateReport:
        results: list[SourceResult] = []
        done: set[str] = set()
        running: dict[str, asyncio.Task[SourceResult]] = {}
        more = True
        # Read once, not before every claim: a source that answers 410 during the run is
        # one this run fetched (in `done`), or, rarely, one another worker fetched, which
        # this run may then ask once more.
        gone = self.store.states_with_outcome(FetchOutcome.GONE)
        while True:
            if more:
                claimed = self.top_up(
                    running, one, force=force, exclude=done, refill_at_half=True, gone=gone
                )
                if claimed is not None:
                    more = bool(claimed.jobs)
                    done.update(job.source.name for job in claimed.jobs)
                    if claimed.jobs and on_start is not None:
                        on_start(len(done))
            if not running:
                others = [name for name in self.remote if name not in done]
                held = self.store.held_elsewhere(others, self.owner, self.clock())
                return UpdateReport(tuple(results), tuple(held))
            finished, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
            running = {name: t for name, t in running.items() if t not in finished}
            failures = [e for t in finished if (e := t.exception()) is not None]
            if failures:  # the store failed as a whole: stop the others, report it once
                for task in running.values():
                    task.cancel()
                await asyncio.gather(*running.values(), return_exceptions=True)
                raise failures[0]
            results.extend(task.result() for task in finished)

    async def update_source(self, job: Job, reading: Reading) -> SourceResult:
        """Enrich and store what reading one source gave; never raises for what the source
        does.

        With a lease, the write-back happens only while the lease holds (StaleLeaseError),
        and shares a transaction with other sources' write-backs.
        """
        source, state = job.source, job.state
        if isinstance(reading, ReadFailure):
            result = await self._record_failure(source, reading, job.lease)
        elif isinstance(reading, NotModified):
            unchanged = decide.succeeded(
                reading.state, FetchOutcome.NOT_MODIFIED, reading.at, reading.next_due
            )
            await self._commit(SourceWrite(source.name, state=unchanged, lease=job.lease))
            result = SourceResult(source.name, FetchOutcome.NOT_MODIFIED)
        else:
            result = await self._store(source, reading, job.lease)
        if state is not None and state.error_count and not result.errors:
            log.info("%s: recovered after %d failure(s)", source.name, state.error_count)
        log.debug(
            "%s: %s, %d new (%d retired on arrival), %d updated",
            source.name,
            result.outcome,
            result.new,
            result.retired,
            result.updated,
        )
        return result

    async def _store(self, source: Source, read: Fresh, lease: Lease | None) -> SourceResult:
        ruled = apply_rules(read.feed.articles, (*source.rules, *self.config.rules))
        if ruled.dropped:
            log.debug("%s: %d entries dropped by rules", source.name, ruled.dropped)
        articles: Sequence[Article] = ruled.articles
        warnings: tuple[str, ...] = (*read.warnings, *read.feed.errors)
        if read.feed.undated:
            # Entries without dates keep the time we first saw them, not each fetch's `now`;
            # before enriching, so an entry reads the same on every fetch. (Imported here:
            # a run where every feed answers 304 never loads the normaliser.)
            from feeds.normalise.article import with_first_seen

            known = self.store.first_seen(source.name, sorted(read.feed.undated))
            articles = with_first_seen(articles, known)
        # Held entries are written once every source is read (`_write_held`); until then
        # the next run must read the feed whole.
        held = read.feed.held
        complete = held is None
        for edge in self.edge_enrichers:
            if articles and edge.applies(source):
                try:
                    with self._fetching_more():
                        done = await edge.enrich(source, articles)
                except Exception as exc:  # its bug fails its source's enrichment only
                    error = f"enricher {edge.name} failed: {type(exc).__name__}: {exc}"
                    log.warning("%s: stored unenriched: %s", source.name, error)
                    warnings = (*warnings, f"stored unenriched: {error}")
                else:
                    articles, complete = done.articles, complete and done.complete
        enrichers = enrichers_for(source)
        if enrichers and articles:
            # After the rules: what they drop is not worth enriching.
            enriched = await self.parser.enrich(EnrichJob(source, tuple(articles), enrichers))
            if enriched.articles is None:
                log.warning("%s: stored unenriched: %s", source.name, enriched.error)
                warnings = (*warnings, f"stored unenriched: {enriched.error}")
            else:
                articles = enriched.articles
        errors = bounded(warnings)
        state = read.state
        if not complete:
            # Some entries wait for the next run: it must not take the feed for unchanged.
            state = decide.without_validators(state)
        # An entry an edge enricher could not finish must be read whole next time; and the
        # pages it fetches say nothing a digest of the feed's entry could tell.
        edged = any(edge.applies(source) for edge in self.edge_enrichers)
        saved = decide.stored(
            state,
            read.at,
            read.next_due,
            errors=errors,
            title=read.feed.title,
            site_url=read.feed.site_url,
            entry_digests=None if edged or not complete else read.feed.entry_digests or None,
        )
        for message in errors:  # shown by `feeds status`; per fetch, so not at the default level
            log.debug("%s: %s", source.name, message)
        upserted = await self._commit(
            SourceWrite(source.name, read.at, articles, saved, lease, retiring=read.feed.retired)
        )
        if self.floors is not None:
            # Not an article written unchanged: it may have fallen out of one of its
            # categories while another keeps it, and is not linked to that one again.
            self.floors.add(a for a in articles if a.entry_id in upserted.linked)
        if held is not None and self.floors is not None:
            # Counted now, as written; `_write_held` writes them, or retires those older than
            # the final floors (which then no longer count them).
            for entry in held.entries:
                self.floors.count(entry.category, entry.published)
            self._held.append(_Held.of(source, read, errors))
            self._held_bytes += _packed_size(held)
            if self._held_bytes - self._held_pruned >= PRUNE_EVERY:
                self._prune_held()
        result = SourceResult(
            source=source.name,
            outcome=FetchOutcome.NEW,
            new=upserted.new,
            updated=upserted.updated,
            unchanged=upserted.unchanged + read.feed.recognised,
            errors=errors,
            changed_categories=upserted.changed_categories,
            retired=upserted.retired_on_arrival,
        )
        if read.present is None:
            return result
        # The files' ids as their articles are stored (cleaned and capped): a raw one
        # ("a  b.md", a name over 2,048 characters) would take its own article for deleted.
        from feeds.normalise.article import stored_id  # loaded with the local read already

        present = frozenset(filter(None, map(stored_id, read.present)))
        removed = self.store.delete_missing(source.name, present)
        return replace(result, changed_categories=result.changed_categories | removed)

    def _retire(self, source: Source) -> RetireBefore | None:
        """Which of `source`'s arriving entries are retired at once, if any, and which of
        the others are held back until every source is read."""
        if self.floors is None:
            return None
        categories = self._reach(source)
        if not categories:
            return None
        self._read_in.update(categories)
        if self._filtered(source):
            return None
        floor = self.floors.floor(categories)
        if self._with_articles is None:  # once a run
            self._with_articles = self.store.sources_with_articles()
        if source.name in self._with_articles:
            if floor is None:
                return None
            return RetireBefore(floor, self.store.stored_entry_ids(source.name))
        if self._with_entries is None:  # once a run, and only in a run with first reads
            self._with_entries = self.store.sources_with_entries()
        if (
            source.name in self._with_entries
            or not self._may_hold(source)
            or self._held_bytes >= HELD_BUDGET
        ):
            return None if floor is None else RetireBefore(floor)
        likely = [self.floors.likely_floor(name, self._share_read(name)) for name in categories]
        keep_from = None if None in likely else min(d for d in likely if d is not None)
        return RetireBefore(floor, hold=True, keep_from=keep_from)

    def _share_read(self, category: str) -> float:
        """The share of the sources that can reach `category` read so far in this run."""
        if self._sources_in is None:
            reaching: Counter[str] = Counter()
            for name in self.remote:
                reaching.update(self._reach(self.sources[name]) or ())
            self._sources_in = reaching
        return self._read_in[category] / max(1, self._sources_in[category])

    def _reach(self, source: Source) -> frozenset[str] | None:
        """The categories `source`'s entries can reach (`reachable_categories`), worked
        out once a source."""
        if source.name not in self._reachable:
            self._reachable[source.name] = reachable_categories(source, self.config)
        return self._reachable[source.name]

    def _filtered(self, source: Source) -> bool:
        """Whether keep or drop rules apply to `source`: whether they leave an entry out is
        known only once it is cleaned, and storing every entry, one left out leaves no
        tombstone, so it is stored should it change so that they let it in. Such a source
        retires nothing on arrival."""
        return any(
            rule.action is not RuleAction.CATEGORY for rule in (*source.rules, *self.config.rules)
        )

    def _may_hold(self, source: Source) -> bool:
        """Whether the floors may count `source`'s entries before they are cleaned, each in
        its own category alone: no rule can leave one out or add a category to it, and no
        enricher needs the articles first."""
        return (
            not source.rules
            and not self.config.rules
            and not enrichers_for(source)
            and not any(edge.applies(source) for edge in self.edge_enrichers)
        )

    def _prune_held(self) -> None:
        """Let go of what the waiting reads packed (their prepared entries, their bodies)
        where the floors already retire every entry they hold: floors only rise, so
        `_write_held` retires them all, and needs only their ids and dates for it."""
        for index, read in enumerate(self._held):
            held = read.held
            if _packed_size(held) and self._retired_now(read) == held.keys:
                let_go = replace(held, packed=b"", reread=b"")
                self._held[index] = replace(read, held=let_go)
        self._held_bytes = self._held_pruned = sum(_packed_size(r.held) for r in self._held)

    def _retired_now(self, read: _Held) -> frozenset[str]:
        """The ids of `read`'s held entries that the floors as they are now retire."""
        assert self.floors is not None
        floor = RetireBefore(self.floors.floor(self._reach(read.source) or ()))
        return frozenset(
            e.key for e in read.held.entries if floor.retires(e.key, e.published, read.now)
        )

    async def _write_held(self, report: UpdateReport) -> UpdateReport:
        """Once every source is read: retire the held entries older than the final floors
        (nearly all of them), clean the others in the pool, many sources to a job, and
        write each read's rest with its validators; `report` with what that added."""
        held, self._held = self._held, []
        batches: list[list[tuple[_Held, frozenset[str]]]] = [[]]
        pending: list[tuple[SourceWrite, str | None]] = []
        size = 0
        for read in held:
            retired = self._retired_now(read)
            if retired == read.held.keys:
                pending.append((read.write(retired), None))
                continue
            if size >= CLEAN_BATCH:
                batches.append([])
                size = 0
            batches[-1].append((read, retired))
            size += len(read.held.entries) - len(retired)
        # The workers clean while the reads that keep none of theirs are written. A task
        # hands its job to the pool in its first step; the writes hold the loop, so those
        # steps are let run first.
        cleaning = [asyncio.create_task(self._clean(batch)) for batch in batches if batch]
        await asyncio.sleep(0)
        outcomes = await self.writer.write_all([write for write, _ in pending])
        for done in asyncio.as_completed(cleaning):
            cleaned = await done
            pending += cleaned
            outcomes += await self.writer.write_all([write for write, _ in cleaned])
        added: dict[str, SourceResult] = {}
        for (write, error), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, (IntegrityError, DataError)):
                error = f"store refused the held entries: {driver_reason(outcome)}"
                log.warning("%s: %s", write.source, error)
            elif isinstance(outcome, BaseException):
                raise outcome  # the store failed as a whole
            written = outcome if isinstance(outcome, UpsertResult) else UpsertResult()
            added[write.source] = SourceResult(
                write.source,
                FetchOutcome.NEW,
                new=written.new,
                errors=(error,) if error else (),
                changed_categories=written.changed_categories,
                retired=written.retired_on_arrival,
            )
        results = tuple(_amended(r, added.get(r.source)) for r in report.results)
        return replace(report, results=results)

    async def _clean(
        self, batch: list[tuple[_Held, frozenset[str]]]
    ) -> list[tuple[SourceWrite, str | None]]:
        """Clean one batch of held entries in the pool: each read's write, and the error
        that kept its entries out. A job that fails is tried again source by source, so a
        source whose entries kill a worker fails alone."""
        job = CleanJob(tuple((read.source, read.held, read.held.keys - r) for read, r in batch))
        cleaned = await self.parser.clean(job)
        if cleaned.kept is None and len(batch) > 1:
            alone = await asyncio.gather(*(self._clean([one]) for one in batch))
            return [write for writes in alone for write in writes]
        if cleaned.kept is None:
            ((read, _),) = batch
            error = f"held entries not stored: {cleaned.error}; the next run reads the feed again"
            log.warning("%s: %s", read.source.name, error)
            return [(read.unwritten(error), error)]
        return [
            (read.write(retired, kept), None)
            for (read, retired), kept in zip(batch, cleaned.kept, strict=True)
        ]

    async def _record_failure(
        self, source: Source, failure: ReadFailure, lease: Lease | None
    ) -> SourceResult:
        decided = decide.failed(
            source,
            failure.state,
            status=failure.status,
            headers=failure.headers,
            error=failure.error,
            now=failure.at,
        )
        if decided.outcome is FetchOutcome.GONE:
            await self._commit(SourceWrite(source.name, state=decided.state, lease=lease))
            log.warning("%s: 410 Gone; disabled until its URL in the config changes", source.name)
        else:
            log.log(
                decided.log_level,
                "%s: fetch failed (%d in a row): %s",
                source.name,
                decided.state.error_count,
                decided.error,
            )
            await self._commit(SourceWrite(source.name, state=decided.state, lease=lease))
        return SourceResult(source.name, decided.outcome, errors=(decided.error,))

    async def _commit(self, write: SourceWrite) -> UpsertResult:
        """Write back, in a group when leased (a remote source); StaleLeaseError when the
        lease no longer held and nothing was written. A local source writes alone: the
        files it no longer has are deleted after its own write."""
        if write.lease is None:
            return self.store.write_one(write)
        result = await self.writer.write(write)
        if result is None:
            raise StaleLeaseError(write.lease)
        return result


@dataclass(frozen=True, slots=True)
class _Held:
    """A first read whose held entries wait for the run's final floors, with what their
    write needs of it (not its articles, written already: thousands of reads wait)."""

    source: Source
    held: HeldEntries
    state: FetchState  # after the read: its validators
    now: datetime  # when it was read: an entry dated so has no date of its own
    next_due: NextFetch
    title: str | None
    site_url: str | None
    entry_digests: str
    errors: tuple[str, ...]  # what reading it had to recover from

    @classmethod
    def of(cls, source: Source, read: Fresh, errors: tuple[str, ...]) -> _Held:
        """What `read`'s held entries need kept until they are written."""
        feed = read.feed
        assert feed.held is not None
        return cls(
            source,
            feed.held,
            read.state,
            read.at,
            read.next_due,
            feed.title,
            feed.site_url,
            feed.entry_digests,
            errors,
        )

    def write(self, retired: frozenset[str], kept: Kept | None = None) -> SourceWrite:
        """The write of the held entries `kept` and `retired`, with the state the first
        write left out: the validators and the digests of the read (with those of entries
        read again, and of those held by their heads and retired), and what reading held
        entries again warned of."""
        from feeds.normalise.article import Kept
        from feeds.normalise.recognise import DIGEST_LENGTH, MAX_REMEMBERED

        kept = kept or Kept(())
        digests = self.entry_digests + kept.entry_digests
        digests += "".join(e.retired_digest for e in self.held.entries if e.key in retired)
        state = decide.stored(
            self.state,
            self.now,
            self.next_due,
            errors=bounded((*self.errors, *kept.warnings)),
            title=self.title,
            site_url=self.site_url,
            entry_digests=digests[: MAX_REMEMBERED * DIGEST_LENGTH] or None,
        )
        return SourceWrite(self.source.name, self.now, kept.articles, state, retiring=retired)

    def unwritten(self, error: str) -> SourceWrite:
        """The state to save when the held entries cannot be written: still without
        validators, so the next run reads the feed whole, and saying why."""
        state = decide.stored(
            decide.without_validators(self.state),
            self.now,
            self.next_due,
            errors=bounded((*self.errors, error)),
            title=self.title,
            site_url=self.site_url,
        )
        return SourceWrite(self.source.name, state=state)


def _packed_size(held: HeldEntries) -> int:
    """The bytes `held` keeps packed while it waits."""
    return len(held.packed) + len(held.reread)


def _amended(result: SourceResult, added: SourceResult | None) -> SourceResult:
    """`result` of a read's first write, with what writing its held entries added."""
    if added is None:
        return result
    return replace(
        result,
        new=result.new + added.new,
        errors=bounded((*result.errors, *added.errors)),
        changed_categories=result.changed_categories | added.changed_categories,
        retired=result.retired + added.retired,
    )


async def update_sources(
    config: Config,
    store: ArticleStore,
    client: FetchClient,
    clock: Clock,
    *,
    pool: ParserPool | None = None,
    force: bool = False,
    on_result: Callable[[SourceResult], None] | None = None,
) -> UpdateReport:
    """Update every due source once: what `feeds update` does."""
    updater = Updater(config, store, client, clock, pool)
    return await updater.update_due(force=force, on_result=on_result)
