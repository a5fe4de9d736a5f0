"""The reader of remote feeds: fetch with the last validators, parse and normalise in the pool."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from feeds.enrich import enrichers_for
from feeds.model import FetchState, Rule, Source
from feeds.sources.reader import Fresh, NotModified, ReadContext, ReadFailure, Reading
from feeds.sources.remote import fetch_source
from feeds.update import decide
from feeds.workers import BodyJob


def recognition_salt(rules: Sequence[Rule], source: Source) -> str:
    """What shapes a source's stored articles besides the normaliser and the source itself:
    the global rules and the enrichers that run on it (`feeds.normalise.recognise`)."""
    return repr((tuple(rules), tuple(e.name for e in enrichers_for(source))))


class FeedReader:
    """A `SourceReader` for `SourceKind.REMOTE`."""

    def __init__(self, context: ReadContext) -> None:
        self.context = context

    async def read(self, source: Source, state: FetchState | None) -> Reading:
        """Fetch `source` (conditionally), then parse and normalise its body in the pool."""
        context = self.context
        url = decide.fetch_url(source, state)
        state = decide.before_fetch(state)
        previous = state or FetchState(source=source.name)
        response = await fetch_source(
            context.client, url, state, context.config.fetch, source.request, home=source.url
        )
        now = context.clock()
        tried = decide.attempted(source, state, url, now, response.status)
        if response.error is not None:
            return ReadFailure(tried, response.error, now, response.status, response.headers)
        fetched = decide.answered(tried, previous, response.headers, response.permanent_url)
        if decide.is_unchanged(previous, status=response.status, body_hash=response.body_hash):
            due = decide.due_after_fetch(source, now, response.headers)
            return NotModified(fetched, due, now)
        assert response.body is not None
        job = BodyJob(
            response.body,
            response.final_url,
            response.headers,
            source,
            now,
            context.config.output.base_url,
            known=previous.entry_digests or "",
            salt=recognition_salt(context.config.rules, source),
            retire=context.retire(source),
        )
        digest = await context.parser.digest(job)
        if digest.normalised is None:
            return ReadFailure(tried, digest.error, now, response.status, response.headers)
        hint = digest.refresh_hint_seconds
        due = decide.due_after_fetch(
            source,
            now,
            response.headers,
            refresh_hint=timedelta(seconds=hint) if hint is not None else None,
            skip_hours=digest.skip_hours,
            skip_days=digest.skip_days,
        )
        fetched = replace(fetched, body_hash=response.body_hash)
        return Fresh(digest.normalised, digest.warnings, fetched, due, now)
