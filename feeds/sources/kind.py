"""What a kind of source declares about itself, so no stage tests `source.kind` by name.

Each kind of source has one module that builds a `KindDescription` (`feed_kind.py`,
`files_kind.py`, `page_kind.py`), and one entry in `feeds.sources.kinds`. The config
reads the key that marks the kind and its own keys through it; the update run, the daemon,
the status, the OPML export and the publisher ask it what they need to know. It imports no
stage: the reader and the parser are loaded only when a source of the kind is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from feeds.model import EntryScreen, RawFeed, Source, SourceKind, SourceOptions

if TYPE_CHECKING:
    from feeds.sources.reader import ReadContext, SourceReader

# Reports a problem with one of the kind's own keys: (key, message).
Report = Callable[[str, str], None]
# A kind's own keys as written in its [[sources]] table, to its options (None if a problem
# was reported).
ReadOptions = Callable[[Mapping[str, Any], Report], SourceOptions | None]
# A fetched body to a raw feed, in a worker process, the entries the screen takes left out
# (where the parser can); raises `feeds.parse.ParseError`.
ParseBody = Callable[[bytes, str, Mapping[str, str], Source, EntryScreen | None], RawFeed]


class Target(StrEnum):
    """What the key that marks a kind names."""

    WEB = "web"  # an absolute http(s) URL, kept in `Source.url`: fetched, leased, scheduled
    FILES = "files"  # a file or folder, kept in `Source.path`


@dataclass(frozen=True, slots=True)
class KindDescription:
    """One kind of source, as every stage sees it."""

    kind: SourceKind
    key: str  # the [[sources]] key that marks the kind and names its target: url, path, page
    target: Target
    noun: str  # in messages: "remote source", "local source", "page source"
    reader: Callable[[ReadContext], SourceReader]
    own_keys: frozenset[str] = frozenset()  # further keys its tables may have
    read_options: ReadOptions | None = None  # required when `own_keys` is not empty
    parse: ParseBody | None = None  # how a fetched body becomes entries (web kinds)
    parse_failure: str = "unparseable feed"  # what a `ParseError` of `parse` is called
    needs_category: bool = True  # False: its entries may name their own
    scheduled: bool = True  # False: read on every update, never leased (cheap, asks no host)
    # How the daemon tells whether an unscheduled source changed since it last looked.
    fingerprint: Callable[[Source], str] | None = None
    is_feed: bool = True  # a feed readers could subscribe to (OPML export, blogroll link)
    own_pages: bool = False  # its entries have no page elsewhere: the publisher writes them
    entries_by_location: bool = False  # a warning names an entry by where it is (its file)
