"""The reader of local sources: article files in a folder, read and normalised in-process."""

from __future__ import annotations

from dataclasses import replace

from feeds.model import FetchState, Source
from feeds.sources.reader import Fresh, ReadContext, Reading
from feeds.update import decide


class FilesReader:
    """A `SourceReader` for `SourceKind.LOCAL`: always fresh, and tells which files remain."""

    def __init__(self, context: ReadContext) -> None:
        self.context = context

    async def read(self, source: Source, state: FetchState | None) -> Reading:
        """Read every article file of `source`; bad files become warnings."""
        # Imported here: a run without local sources needs neither.
        from feeds.normalise.article import normalise_feed
        from feeds.sources.local import read_local_source

        now = self.context.clock()
        read = read_local_source(source)
        normalised = normalise_feed(
            read.feed,
            source=source,
            now=now,
            first_seen={},
            fallback_base=self.context.config.output.base_url,
        )
        errors = tuple(str(e) for e in read.errors)
        fetched = replace(state or FetchState(source=source.name), last_status=None)
        due = decide.due_after_local_read(source, now)
        return Fresh(normalised, errors, fetched, due, now, read.present)
