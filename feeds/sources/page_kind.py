"""Feeds from pages that have none: `page = "https://..."` and CSS (or ``xpath:``) selectors
that pick one element per entry and its fields. Fetched like a feed (same client, limits,
conditional GET, scheduling); the page is parsed in the worker pool (`feeds.parse.page`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from feeds.model import EntryScreen, RawFeed, Source, SourceKind, SourceOptions
from feeds.sources.feed_kind import fetching_reader
from feeds.sources.kind import KindDescription, Report, Target

SELECTOR_KEYS = ("item", "title", "link", "date", "summary", "image")
REQUIRED_KEYS = ("item", "title", "link")
SELECTOR_LIMIT = 1000  # characters of one selector


@dataclass(frozen=True, slots=True)
class PageOptions(SourceOptions):
    """A page source's selectors, as written (checked to compile); `item` picks one element
    per entry, the others are read inside it."""

    item: str
    title: str
    link: str
    date: str | None = None
    date_format: str | None = None  # strptime directives, for dates our reader cannot read
    summary: str | None = None
    image: str | None = None  # its src becomes an enclosure


def read_page_options(data: Mapping[str, Any], report: Report) -> PageOptions | None:
    """The selectors of a [[sources]] table with `page`: each must compile (a bad one is
    reported with its key), `item`, `title` and `link` are required."""
    from feeds.normalise.dates import check_date_format
    from feeds.parse.page import SelectorError, compile_selector

    values: dict[str, str | None] = {}
    good = True
    for key in (*SELECTOR_KEYS, "date_format"):
        value = data.get(key)
        if value is None:
            if key in REQUIRED_KEYS:
                report(key, f"missing: a page source needs '{key}' (a CSS selector or xpath:...)")
                good = False
            values[key] = None
            continue
        if not isinstance(value, str) or not value.strip():
            report(key, f"must be a non-empty string, not {value!r}")
            good = False
            continue
        try:
            if len(value) > SELECTOR_LIMIT:
                raise ValueError(f"longer than {SELECTOR_LIMIT} characters")
            if key == "date_format":
                check_date_format(value)
            else:
                compile_selector(value)
        except (SelectorError, ValueError) as exc:
            report(key, str(exc))
            good = False
        values[key] = value
    if not good:
        return None
    item, title, link = values["item"], values["title"], values["link"]
    assert item is not None and title is not None and link is not None
    return PageOptions(
        item=item,
        title=title,
        link=link,
        date=values["date"],
        date_format=values["date_format"],
        summary=values["summary"],
        image=values["image"],
    )


def parse_page_body(
    body: bytes,
    url: str,
    headers: Mapping[str, str],
    source: Source,
    screen: EntryScreen | None = None,
) -> RawFeed:
    """A fetched page to a raw feed, one entry per `item` (in a worker process); every
    item is read whole (a page's items are few), whatever the `screen`."""
    from feeds.parse.page import parse_page

    assert isinstance(source.options, PageOptions)
    zone = ZoneInfo(source.timezone)
    return parse_page(body, url=url, headers=headers, options=source.options, zone=zone)


PAGE = KindDescription(
    kind=SourceKind.PAGE,
    key="page",
    target=Target.WEB,
    noun="page source",
    reader=fetching_reader,
    own_keys=frozenset({*SELECTOR_KEYS, "date_format"}),
    read_options=read_page_options,
    parse=parse_page_body,
    parse_failure="unusable page",
    is_feed=False,
)
