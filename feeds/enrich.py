"""Enrichment: a stage between normalise and store that may make articles richer.

An enricher receives a source's normalised articles and returns them, changed or not (full
text will be the first). Enrichers run in the parser pool under the parse deadline; one
that raises or overruns fails only that source's enrichment: its articles are stored as
they were, with a warning.

The registry is empty by default; every registered enricher applies to every source.
`registered` is the hook for tests and embedders: enrichers must be picklable
(module-level classes) to reach the pool's workers.

An enricher that needs I/O (full text fetches each entry's page) is an `EdgeEnricher`: it
runs first, in the event loop, where fetching belongs (the run's HTTP client, its per-host
limits), and hands its CPU work to the pool as jobs of its own making (`ParserPool.run`),
one per piece, so a piece that overruns the deadline fails alone. The updater builds its edge
enrichers once per run with what they need; each says which sources it `applies` to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from feeds.model import Article, Source


@dataclass(frozen=True, slots=True)
class EdgeEnriched:
    """An edge enricher's answer: the articles, and whether it is done with them. Not
    `complete`: some wait for the next run (a bound was reached), so the run must read the
    source again then even if it has not changed."""

    articles: tuple[Article, ...]
    complete: bool = True


class EdgeEnricher(Protocol):
    """Makes a source's articles richer with I/O; runs in the event loop, never in the pool."""

    name: str

    def applies(self, source: Source) -> bool:
        """Whether `source` (its config) asks for this enricher."""
        ...

    async def enrich(self, source: Source, articles: Sequence[Article]) -> EdgeEnriched:
        """The articles of `source`, enriched; may raise (the source keeps them unenriched)."""
        ...


class Enricher(Protocol):
    """Makes a source's articles richer; runs in a worker process."""

    @property
    def name(self) -> str:
        """What errors call it."""
        ...

    def enrich(self, source: Source, articles: Sequence[Article]) -> Sequence[Article]:
        """The articles of `source`, enriched; may raise (the source keeps them unenriched)."""
        ...


_ENRICHERS: list[Enricher] = []


@contextmanager
def registered(*enrichers: Enricher) -> Iterator[None]:
    """Apply `enrichers` to every source while the block runs."""
    _ENRICHERS.extend(enrichers)
    try:
        yield
    finally:
        for enricher in enrichers:
            _ENRICHERS.remove(enricher)


def enrichers_for(source: Source) -> tuple[Enricher, ...]:
    """The enrichers that apply to `source`, in the order they run."""
    return tuple(_ENRICHERS)


@dataclass(frozen=True, slots=True)
class EnrichJob:
    """Everything a worker needs to enrich one source's articles."""

    source: Source
    articles: tuple[Article, ...]
    enrichers: tuple[Enricher, ...]


@dataclass(frozen=True, slots=True)
class Enriched:
    """A worker's answer: the enriched articles, or an error (then `articles` is None)."""

    articles: tuple[Article, ...] | None
    error: str | None = None


def enrich_articles(job: EnrichJob) -> Enriched:
    """Run every enricher in turn; runs in a worker process, so it must not raise."""
    articles: Sequence[Article] = job.articles
    for enricher in job.enrichers:
        try:
            articles = enricher.enrich(job.source, articles)
            checked = tuple(articles)
            if not all(isinstance(a, Article) for a in checked):
                raise TypeError("returned something that is not an Article")
            # An article credited to another source would be stored under that one.
            if any(a.source != job.source.name for a in checked):
                raise ValueError("returned an article of another source")
        except Exception as exc:  # an enricher's bug fails its source's enrichment only
            name = getattr(enricher, "name", type(enricher).__name__)
            return Enriched(None, f"enricher {name} failed: {type(exc).__name__}: {exc}")
        articles = checked
    return Enriched(tuple(articles))
