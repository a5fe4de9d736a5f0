"""The reader of local sources: article files in a folder, read in the worker pool under
its deadline, and normalised here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.model import FetchState, RawFeed, Source
from feeds.sources.reader import Fresh, ReadContext, Reading
from feeds.update import decide

if TYPE_CHECKING:
    from feeds.sources.local import LocalRead


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
        # In the worker pool, under its deadline: a file the YAML or Markdown parser takes
        # minutes over (a 2 MB body of "![") would otherwise hold the event loop, and with
        # it every other source, the daemon and its server. Overrun, nothing is read and
        # nothing is taken for deleted: the stored articles stay published.
        deadline = self.context.parser.deadline
        read = await self.context.parser.run(
            read_local_source,
            source,
            overrun=_unread(source, f"reading the article files took longer than {deadline:g}s"),
            died=_unread(source, "the worker process died reading the article files"),
        )
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


def _unread(source: Source, reason: str) -> LocalRead:
    """A read of `source` that read nothing, for `reason`, and deletes nothing."""
    from feeds.sources.local import LocalArticleError, LocalRead

    where = source.path or Path(source.name)
    error = LocalArticleError(where, None, f"{reason}; none read this run, none deleted")
    return LocalRead(RawFeed(entries=(), title=source.name), (error,), None)
