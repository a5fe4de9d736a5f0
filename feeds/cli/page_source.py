"""`feeds sources add PAGE --items SELECTOR ...`: a page source, written after showing the
first entries it would give (`--preview` only shows them).

The entries come from the production path: the page is fetched and parsed by the page
kind's reader (`feeds.sources.kinds`), with the config's fetch settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec

import click

from feeds.cli.errors import Refused, failed
from feeds.config import DEFAULT_INTERVAL, Config, parse_duration
from feeds.config_edit import EditError, NewSource, add_sources
from feeds.model import Article, Source, SourceKind
from feeds.sources.kinds import describe
from feeds.sources.page_kind import PageOptions, read_page_options
from feeds.sources.reader import Fresh, ReadContext, Reading
from feeds.sources.remote import make_client
from feeds.terminal_text import terminal_safe
from feeds.workers import ParserPool

P = ParamSpec("P")
PREVIEW_ENTRIES = 5

# The page's keys, by the option that sets each.
OPTION_KEYS = {
    "--items": "item",
    "--title": "title",
    "--link": "link",
    "--date": "date",
    "--date-format": "date_format",
    "--summary": "summary",
    "--image": "image",
}


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What the command line asked for."""

    url: str
    category: str
    name: str | None
    interval: str | None
    selectors: dict[str, str | None]  # page key -> value (None: not given)


def checked_options(selectors: dict[str, str]) -> PageOptions:
    """The selectors checked as the config checks them; a bad one names its option."""
    options = {key: option for option, key in OPTION_KEYS.items()}

    def report(key: str, message: str) -> None:
        raise click.BadParameter(message, param_hint=options.get(key, key))

    read = read_page_options(selectors, report)
    assert read is not None  # every problem was raised
    return read


def add_page(
    config: Config, path: Path, text: str, request: PageRequest, *, preview: bool
) -> str | None:
    """Show the first entries the page gives; unless `preview`, the config text with the
    source added (None when only previewing). Refuses a page that gives no entries."""
    given = {key: value for key, value in request.selectors.items() if value is not None}
    options = checked_options(given)
    name = request.name or request.url
    interval = parse_duration(request.interval) if request.interval else DEFAULT_INTERVAL
    source = Source(
        name,
        SourceKind.PAGE,
        interval,
        url=request.url,
        category=request.category,
        options=options,
    )
    reading = asyncio.run(_read(config, source))
    if not isinstance(reading, Fresh):
        error = getattr(reading, "error", None) or "not modified"
        raise Refused(f"{request.url}: {error}; nothing written")
    articles = reading.feed.articles
    if not articles:
        raise Refused(f"{request.url}: the items give no entries; nothing written")
    shown = articles[:PREVIEW_ENTRIES]
    click.echo(f"{request.url}: {len(articles)} entries, the first {len(shown)}:")
    for article in shown:
        click.echo(_shown(article, undated=article.entry_id in reading.feed.undated))
    for warning in reading.warnings:
        click.echo(f"  warning: {terminal_safe(warning)}")
    if preview:
        return None
    name = request.name or reading.feed.title or request.url
    extra = tuple(given.items())
    new = NewSource(name, request.url, request.category, request.interval, key="page", extra=extra)
    try:
        return add_sources(text, [new])
    except EditError as exc:
        raise failed(f"{path}: {exc}; nothing written", exc) from None


async def _read(config: Config, source: Source) -> Reading:
    # In a worker under `parse_deadline`, as `feeds update` reads it: a selector whose cost
    # grows with the square of the page (`p ~ p`) once held the command for hours.
    pool = ParserPool(workers=1, deadline=config.fetch.parse_deadline)
    try:
        async with make_client(config.fetch) as client:
            context = ReadContext(config, client, lambda: datetime.now(UTC), pool)
            return await describe(source.kind).reader(context).read(source, None)
    finally:
        pool.close()


def _shown(article: Article, *, undated: bool) -> str:
    # The page's text: no control character (a C1 CSI, a bidi override) reaches the terminal.
    date = "(no date: first seen)" if undated else article.published.isoformat()
    lines = [
        f"- {terminal_safe(article.title)}",
        f"    link:    {article.link or '(none)'}",
        f"    date:    {date}",
    ]
    if article.summary:
        lines.append(f"    summary: {terminal_safe(article.summary[:120])}")
    lines += [f"    image:   {e.url}" for e in article.enclosures]
    return "\n".join(lines)


def page_options(command: Callable[P, None]) -> Callable[P, None]:
    """The options of `feeds sources add` that make it add a page source."""
    helps = {
        "--items": "A page without a feed: the CSS selector (or xpath:...) of one entry.",
        "--title": "Inside an item: the element whose text is the title.",
        "--link": "Inside an item: the link (its href; the item's own if it is one).",
        "--date": "Inside an item: its date (datetime attribute, else text).",
        "--date-format": "strptime format for dates we cannot read, e.g. %d.%m.%Y.",
        "--summary": "Inside an item: the element whose text is the summary.",
        "--image": "Inside an item: the image (its src, published as an enclosure).",
    }
    defaults = {"--link": "a"}
    for option in reversed(OPTION_KEYS):
        key = OPTION_KEYS[option]
        command = click.option(option, key, default=defaults.get(option), help=helps[option])(
            command
        )
    return click.option(
        "--preview", is_flag=True, help="With --items: show the first entries, write nothing."
    )(command)
