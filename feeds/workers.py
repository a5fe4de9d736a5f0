"""Worker processes for the CPU work of an update: parse a body and normalise its entries,
clean the entries a first run held back (`CleanJob`), then enrich a source's articles
(`feeds.enrich`).

Parsing dominates the cost of an update and holds the GIL, so it runs in a process pool that
keeps both cores busy while the event loop goes on fetching. A parse that overruns its
deadline (feedparser has quadratic corners) gets its pool killed and replaced.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from isal import isal_zlib

from feeds.enrich import Enriched, EnrichJob, enrich_articles
from feeds.model import RetireBefore, Source
from feeds.quick_pickle import quick_pickle
from feeds.sources.kinds import describe

if TYPE_CHECKING:
    from feeds.model import Article, EntryScreen, RawFeed
    from feeds.normalise.article import HeldEntries, Kept, NormalisedFeed, Screening

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")


@quick_pickle
@dataclass(frozen=True, slots=True)
class BodyJob:
    """Everything a worker needs to turn one fetched body into articles."""

    body: bytes
    url: str
    headers: dict[str, str]
    source: Source
    now: datetime
    fallback_base: str | None
    # The entries not to normalise again (`FetchState.entry_digests`; None: recognise none).
    known: str | None = None
    salt: str = ""  # what else shapes the stored articles (`feeds.normalise.recognise`)
    retire: RetireBefore | None = None  # which entries are retired on arrival


@quick_pickle
@dataclass(frozen=True, slots=True)
class Digest:
    """A worker's answer: the normalised feed plus the feed's refresh hints, or an error."""

    normalised: NormalisedFeed | None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    refresh_hint_seconds: float | None = None
    skip_hours: frozenset[int] = frozenset()
    skip_days: frozenset[int] = frozenset()


def digest_body(job: BodyJob) -> Digest:
    """Parse (as the source's kind reads a body) and normalise one body; runs in a worker
    process, so it must not raise."""
    # Imported here, where parsing runs: feeds that answer 304 need no parser.
    from feeds.normalise.article import ScreenClashError, Screening
    from feeds.parse import ParseError

    kind = describe(job.source.kind)
    try:
        try:
            screening = Screening(job.source, job.now, job.retire, job.known, job.salt)
            feed, normalised = _digested(job, screening if screening.active else None)
        except ScreenClashError:
            # An id repeated in the feed, its first entry not shown to the screen: read
            # again whole, so the normaliser decides which entry is kept.
            feed, normalised = _digested(job, None)
    except ParseError as exc:
        return Digest(None, error=f"{kind.parse_failure}: {exc}")
    if normalised.held is not None and normalised.held.unread:
        # Entries held by their heads are read again from the body should any be kept.
        normalised = replace(normalised, held=replace(normalised.held, reread=packed_for(job)))
    for article in normalised.articles:
        # Hashed here, where the work is spread over the workers: the process that stores
        # the articles reads the hash (pickled with them) on its busier event loop.
        _ = article.content_hash
    hint = feed.refresh_hint.total_seconds() if feed.refresh_hint else None
    return Digest(normalised, None, feed.warnings, hint, feed.skip_hours, feed.skip_days)


def _parsed(job: BodyJob, screen: EntryScreen | None) -> RawFeed:
    """The body read as its source's kind reads it, with `screen` shown the entries' heads."""
    kind = describe(job.source.kind)
    assert kind.parse is not None, f"{kind.kind} sources are not fetched"
    return kind.parse(job.body, job.url, job.headers, job.source, screen)


def packed_for(job: BodyJob) -> bytes:
    """`job` packed to be read again (`HeldEntries.reread`), with nothing recognised or
    retired: ISA-L's zlib at level 1, as held entries are packed."""
    again = replace(job, known=None if job.known is None else "", retire=None)
    return isal_zlib.compress(pickle.dumps(again, pickle.HIGHEST_PROTOCOL), 1)


def _digested(job: BodyJob, screening: Screening | None) -> tuple[RawFeed, NormalisedFeed]:
    """The body parsed (as its source's kind reads it) and normalised, with `screening`
    shown the entries' heads."""
    from feeds.normalise.article import normalise_feed

    feed = _parsed(job, screening)
    normalised = normalise_feed(
        feed,
        source=job.source,
        now=job.now,
        first_seen={},
        fallback_base=job.fallback_base,
        known=job.known,
        salt=job.salt,
        retire=job.retire,
        screening=screening,
    )
    return feed, normalised


@dataclass(frozen=True, slots=True)
class CleanJob:
    """Held entries of several sources to clean now (`feeds.normalise.article.clean_held`):
    of each source, its held entries and the ids of those the final floors keep."""

    held: tuple[tuple[Source, HeldEntries, frozenset[str]], ...]


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A worker's answer to a `CleanJob`: each source's held entries kept (their articles,
    and for entries read again what that warned of and the digests to remember), in the
    job's order, or an error."""

    kept: tuple[Kept, ...] | None
    error: str | None = None

    @property
    def articles(self) -> tuple[tuple[Article, ...], ...] | None:
        """Each source's articles, or None after an error."""
        return None if self.kept is None else tuple(k.articles for k in self.kept)


def clean_entries(job: CleanJob) -> Cleaned:
    """Clean held entries into articles; runs in a worker process (cleaning, like
    `digest_body`'s normalising, raises for no entry; reading a body again may, as its
    first reading did not, only through a defect: that is the job's error)."""
    from feeds.parse import ParseError

    try:
        cleaned = tuple(_cleaned(held, source, keep) for source, held, keep in job.held)
    except ParseError as exc:
        return Cleaned(None, error=f"the feed could not be read again: {exc}")
    for kept in cleaned:
        for article in kept.articles:
            _ = article.content_hash  # as in `digest_body`
    return Cleaned(cleaned)


def _cleaned(held: HeldEntries, source: Source, keep: frozenset[str]) -> Kept:
    """The held entries in `keep`: where some were held by their heads, from the read
    done again (every one kept)."""
    from feeds.normalise.article import Kept, KeptOnly, clean_held, clean_kept

    if not keep & held.unread:
        return Kept(clean_held(held, source, keep))
    # Our own bytes, packed by `digest_body` in a worker of this run: no feed's.
    job: BodyJob = pickle.loads(isal_zlib.decompress(held.reread))  # noqa: S301
    feed = _parsed(job, KeptOnly(keep))
    salt = None if job.known is None else job.salt
    return clean_kept(
        feed, source=source, now=job.now, fallback_base=job.fallback_base, keep=keep, salt=salt
    )


def _die_with_parent() -> None:
    """In a worker: ask Linux to kill us when the process that started us dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers end when their queue closes
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


PR_SET_PDEATHSIG = 1


def _start_worker() -> None:
    """In a new worker: die with the parent, and leave the terminal's signals to it.

    Ctrl-C and a hang-up reach the whole process group; the parent stops its workers
    itself (pool shutdown, or the death signal above), so a worker ignores SIGINT and SIGHUP
    instead of dying mid-job with a KeyboardInterrupt traceback.
    """
    _die_with_parent()
    for signum in _TERMINAL_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _TERMINAL_SIGNALS)  # see _terminal_signals_held


_TERMINAL_SIGNALS = frozenset({signal.SIGINT, signal.SIGHUP})


@contextmanager
def _terminal_signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGHUP in this thread meanwhile: a worker process started here
    inherits the mask, so a Ctrl-C while it is still importing (before `_start_worker`)
    cannot kill it with a traceback; the parent gets what was held when this ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINAL_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class ParserPool:
    """A lazily started process pool for `digest_body`, with a per-job deadline.

    `workers=0` digests in the calling process (small runs and tests that need no pool).
    """

    def __init__(self, workers: int | None = None, deadline: float = 30.0) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.deadline = deadline
        self._executor: ProcessPoolExecutor | None = None
        # Pools told to stop, each shutting down in its own thread (`close(wait=False)`).
        self._stopping: list[threading.Thread] = []

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: workers inherit no event loop, sockets or database pool, and are our own
            # children, so they can be told to die with us (a forkserver outlives a kill -9).
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker
            )
        return self._executor

    async def digest(self, job: BodyJob) -> Digest:
        """Parse and normalise one body within the deadline."""
        if self.workers == 0:
            return digest_body(job)
        return await self._run(
            digest_body,
            job,
            overrun=Digest(None, error=f"parsing took longer than {self.deadline:g}s"),
            died=Digest(None, error="the parser process died on this feed"),
        )

    async def enrich(self, job: EnrichJob) -> Enriched:
        """Enrich one source's articles within the same deadline as a parse."""
        if self.workers == 0:
            return enrich_articles(job)
        return await self._run(
            enrich_articles,
            job,
            overrun=Enriched(None, error=f"enrichment took longer than {self.deadline:g}s"),
            died=Enriched(None, error="the worker process died enriching this source"),
        )

    async def clean(self, job: CleanJob) -> Cleaned:
        """Clean held entries within the same deadline as a parse."""
        return await self.run(
            clean_entries,
            job,
            overrun=Cleaned(None, error=f"cleaning took longer than {self.deadline:g}s"),
            died=Cleaned(None, error="the worker process died cleaning this source"),
        )

    async def run(self, work: Callable[[J], R], job: J, *, overrun: R, died: R) -> R:
        """`work(job)` under the same deadline (`work` a module-level function that must
        not raise): `overrun` when it took too long, `died` when its worker died twice."""
        if self.workers == 0:
            return work(job)
        return await self._run(work, job, overrun=overrun, died=died)

    async def _run(self, work: Callable[[J], R], job: J, *, overrun: R, died: R) -> R:
        for attempt in (1, 2):
            executor = self._pool()
            with _terminal_signals_held():  # submitting may start a worker
                future = asyncio.get_running_loop().run_in_executor(executor, work, job)
            try:
                return await asyncio.wait_for(future, self.deadline)
            except TimeoutError:
                self._restart(executor)
                return overrun
            except BrokenProcessPool:
                # Another job's overrun (or a crashed worker) broke the pool: retry once.
                self._restart(executor)
                if attempt == 2:
                    return died
        raise AssertionError("unreachable")

    def _restart(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is not executor:
            return  # someone else already replaced it
        log.warning("restarting the parser pool")
        self._executor = None
        # ProcessPoolExecutor cannot cancel a running job: end its processes instead.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; a later `digest` starts new ones.

        With `wait=False` the workers exit in the background (a worker's interpreter takes a
        tenth of a second or more to tear down), so the caller goes on at once; a later
        `close()` waits for them.
        """
        if self._executor is not None:
            executor, self._executor = self._executor, None
            stopping = threading.Thread(
                target=executor.shutdown, kwargs={"cancel_futures": True}, name="pool-stop"
            )
            stopping.start()
            self._stopping.append(stopping)
        if wait:
            for stopping in self._stopping:
                stopping.join()
            self._stopping.clear()
