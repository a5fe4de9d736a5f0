"""The seam every kind of source plugs into: read one source given its last state.

A reader returns values, never writes: fresh content (a normalised feed), "not modified",
or a failure, each with the state the read leaves behind. The update run decides and
writes (`feeds.update`). `feeds.sources.kinds` chooses a reader by `SourceKind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from feeds.config import Config
from feeds.model import FetchState, RetireBefore, Source
from feeds.schedule import NextFetch
from feeds.workers import ParserPool

if TYPE_CHECKING:
    from feeds.normalise.article import NormalisedFeed
    from feeds.sources.remote import FetchClient

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Fresh:
    """The source has content: its normalised feed, the warnings reading it gave, the state
    after the read (validators, URL, body digest) and when it is next due."""

    feed: NormalisedFeed
    warnings: tuple[str, ...]
    state: FetchState
    next_due: NextFetch
    at: datetime
    # Ids of every entry the source still has, when it can tell (local files); the store
    # drops the others. None: the source cannot tell, nothing is taken for deleted.
    present: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    """Nothing new since the last read; the state after it and when it is next due."""

    state: FetchState
    next_due: NextFetch
    at: datetime


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """The read failed: the state after the attempt, and what the answer said."""

    state: FetchState
    error: str | None
    at: datetime
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


Reading = Fresh | NotModified | ReadFailure


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What readers share within one run: settings, the HTTP client, the clock, the pool."""

    config: Config
    client: FetchClient
    clock: Clock
    parser: ParserPool
    # Which of a source's arriving entries are retired at once (`feeds.update.floors`).
    retire: Callable[[Source], RetireBefore | None] = lambda source: None


class SourceReader(Protocol):
    """Reads one kind of source; never raises for what the source does."""

    async def read(self, source: Source, state: FetchState | None) -> Reading:
        """Read `source`, whose last saved state is `state` (None: never read)."""
        ...
