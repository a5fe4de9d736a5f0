"""The one registry of source readers, by `SourceKind`: a new kind of source is a reader
module and one entry here (plus its config table in `feeds.config`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from feeds.model import SourceKind
from feeds.sources.feed_reader import FeedReader
from feeds.sources.files_reader import FilesReader
from feeds.sources.reader import ReadContext, SourceReader

READERS: Mapping[SourceKind, Callable[[ReadContext], SourceReader]] = {
    SourceKind.REMOTE: FeedReader,
    SourceKind.LOCAL: FilesReader,
}


def readers(context: ReadContext) -> dict[SourceKind, SourceReader]:
    """One reader per kind of source, sharing `context`."""
    return {kind: make(context) for kind, make in READERS.items()}
