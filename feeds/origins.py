"""Sources as publishing shows them: attribution and health, as `Origin` values.

Pure functions of the configured sources and their fetch states, so the publisher is
handed values and never reads the config or the store itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from feeds.model import FetchState, Origin, Source
from feeds.sources.kind import Target
from feeds.sources.kinds import describe


def source_origins(sources: Iterable[Source], states: Mapping[str, FetchState]) -> list[Origin]:
    """One `Origin` per source, sources in trouble first (gone, failing, never read), then
    by name: the order of the front page's blogroll."""
    origins = []
    for source in sources:
        state = states.get(source.name) or FetchState(source=source.name)
        kind = describe(source.kind)
        web = kind.target is Target.WEB
        origins.append(
            Origin(
                name=source.name,
                kind=source.kind,
                title=state.feed_title or source.name,
                site_url=state.site_url if web else None,
                feed_url=(state.url or source.url) if kind.is_feed and web else None,
                category=source.category,
                outcome=state.last_outcome,
                error_count=state.error_count,
                last_error=state.last_error,
                fetched=state.last_fetch is not None,
                own_pages=kind.own_pages,
            )
        )
    return sorted(origins, key=lambda o: (_TROUBLE[o.health], -o.error_count, o.name.casefold()))


_TROUBLE = {"gone": 0, "failing": 1, "unread": 2, "ok": 3}


def attribution_digest(origins: Sequence[Origin]) -> str:
    """A digest of what every entry says about its source (name, title, links): when it
    changes, every published entry of that source changes."""
    shape = sorted((o.name, o.kind.value, o.title, o.site_url, o.feed_url) for o in origins)
    return hashlib.sha256(repr(shape).encode("utf-8")).hexdigest()


def health_digest(origins: Sequence[Origin]) -> str:
    """A digest of everything the front page shows about the sources (the blogroll and
    each source's health): when it changes, the front page is rewritten even if no item
    did. The outcome of a good read (new or not modified) is not shown, so not in it."""
    shown = [
        (
            o.name, o.kind.value, o.title, o.site_url, o.feed_url, o.category, o.health,
            o.error_count, o.last_error if o.health in ("gone", "failing") else None,
        )
        for o in origins
    ]  # fmt: skip
    return hashlib.sha256(repr(shown).encode("utf-8")).hexdigest()
