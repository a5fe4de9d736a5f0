"""The reader of local sources: article files in a folder, read in the worker pool under
its deadline, and normalised here."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from feeds.model import FetchState, Source
from feeds.sources.reader import Fresh, ReadContext, Reading
from feeds.update import decide

if TYPE_CHECKING:
    from feeds.model import RawEntry
    from feeds.sources.local import LocalArticleError, LocalRead


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
        # it every other source, the daemon and its server.
        read = await self.context.parser.run(read_local_source, source, overrun=None, died=None)
        if read is None:
            read = await self._file_by_file(source)
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

    async def _file_by_file(self, source: Source) -> LocalRead:
        """The read of `source` as each file on its own under the deadline: done when the
        read of all its files at once overran it (or its worker died), so the file that
        did is named and skipped, and the others are read. A file skipped so keeps its
        article, if it has one."""
        from feeds.sources.local import (
            LocalArticleError,
            LocalRead,
            plan_local_read,
            read_article_job,
        )

        plan = plan_local_read(source)  # the listing: a folder read, here in the loop
        if isinstance(plan, LocalRead):
            return plan
        pool = self.context.parser
        outcomes: list[RawEntry | LocalArticleError] = []
        for job in plan.jobs():
            late = f"took longer than {pool.deadline:g}s to read; skipped"
            overrun: RawEntry | LocalArticleError = LocalArticleError(job.path, None, late)
            died = LocalArticleError(job.path, None, "the worker process died reading it")
            outcomes.append(await pool.run(read_article_job, job, overrun=overrun, died=died))
        return plan.assembled(outcomes)
