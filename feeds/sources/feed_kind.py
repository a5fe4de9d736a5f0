"""The remote feed: `url = "https://..."`, fetched politely and parsed in the worker pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from feeds.model import EntryScreen, RawFeed, Source, SourceKind
from feeds.sources.kind import KindDescription, Target

if TYPE_CHECKING:
    from feeds.sources.reader import ReadContext, SourceReader


def fetching_reader(context: ReadContext) -> SourceReader:
    """The reader of every web kind: fetch, then parse with the kind's `parse` in the pool."""
    from feeds.sources.feed_reader import FeedReader  # it needs the whole fetch stage

    return FeedReader(context)


def parse_feed_body(
    body: bytes,
    url: str,
    headers: Mapping[str, str],
    source: Source,
    screen: EntryScreen | None = None,
) -> RawFeed:
    """RSS, RDF, Atom or JSON Feed bytes to a raw feed, without the entries `screen` takes."""
    from feeds.parse import parse_feed  # loaded in the workers only: a 304 needs no parser

    return parse_feed(body, url=url, headers=headers, screen=screen)


FEED = KindDescription(
    kind=SourceKind.REMOTE,
    key="url",
    target=Target.WEB,
    noun="remote source",
    reader=fetching_reader,
    parse=parse_feed_body,
)
