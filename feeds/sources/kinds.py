"""The one registry of kinds of source, by `SourceKind`: a new kind is its module (a
`KindDescription`, its reader and parser), a member of `SourceKind` and one entry here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from feeds.model import SourceKind
from feeds.sources.feed_kind import FEED
from feeds.sources.files_kind import FILES
from feeds.sources.kind import KindDescription, Target
from feeds.sources.page_kind import PAGE

if TYPE_CHECKING:
    from feeds.sources.reader import ReadContext, SourceReader

KINDS: Mapping[SourceKind, KindDescription] = {kind.kind: kind for kind in (FEED, FILES, PAGE)}


def describe(kind: SourceKind) -> KindDescription:
    """What `kind` declares about itself."""
    return KINDS[kind]


def marker_keys() -> tuple[str, ...]:
    """The keys that mark a kind in a [[sources]] table (url, path, ...), in registry order."""
    return tuple(kind.key for kind in KINDS.values())


def web_keys() -> tuple[str, ...]:
    """The keys whose value is a URL to fetch: two sources with one URL are one source."""
    return tuple(kind.key for kind in KINDS.values() if kind.target is Target.WEB)


def readers(context: ReadContext) -> dict[SourceKind, SourceReader]:
    """One reader per kind of source, sharing `context`."""
    return {kind: description.reader(context) for kind, description in KINDS.items()}
