"""Local article files: `path = "articles/"`, read on every update (or, in the daemon, when
a file changed), never leased; their entries get pages we write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from feeds.model import Source, SourceKind
from feeds.sources.kind import KindDescription, Target

if TYPE_CHECKING:
    from feeds.sources.reader import ReadContext, SourceReader


def files_reader(context: ReadContext) -> SourceReader:
    """The reader of article files."""
    from feeds.sources.files_reader import FilesReader

    return FilesReader(context)


def files_fingerprint(source: Source) -> str:
    """A digest of the source's files (names, sizes, mtimes)."""
    from feeds.sources.local import local_fingerprint

    return local_fingerprint(source)


FILES = KindDescription(
    kind=SourceKind.LOCAL,
    key="path",
    target=Target.FILES,
    noun="local source",
    reader=files_reader,
    needs_category=False,
    scheduled=False,
    fingerprint=files_fingerprint,
    is_feed=False,
    own_pages=True,
    entries_by_location=True,
)
