"""`feeds sources ...` and `feeds opml ...`: manage the config's sources from the command line.

Both groups take the config path from the parent context (``ctx.obj``, as `feeds.cli.main`
sets it from ``--config``), else $FEEDS_CONFIG, else config/feeds.toml. A changed config is
validated as a whole (`load_config`) before it replaces the old one atomically; when it
would not validate, nothing is written.

Exit codes as elsewhere (feeds/cli/errors.py): 0 done, 1 fatal (network, I/O), 2 config
or usage problem (including a duplicate or unknown source and a URL that is no feed).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from feeds.cli.errors import EXIT_CONFIG, Fatal, Refused, failed
from feeds.cli.feed_choice import (
    choose,
    choose_for_import,
    discover_many,
    discover_one,
    listing,
    terminal_prompt,
)
from feeds.cli.page_source import PageRequest, add_page, page_options
from feeds.config import (
    DEFAULT_INTERVAL,
    Config,
    ConfigError,
    FetchConfig,
    find_config_path,
    format_duration,
    load_config,
    parse_duration,
)
from feeds.config_edit import (
    ConfigWriteError,
    EditError,
    NewSource,
    add_source,
    add_sources,
    configured_sources,
    find_duplicate,
    find_source,
    remove_source,
    write_config,
)
from feeds.discovery import CheckError, Discovery, FeedCheck
from feeds.opml_file import OpmlError, OpmlFeed, read_opml, write_opml
from feeds.shorten import shorten
from feeds.subscriptions import plan_import
from feeds.terminal_text import terminal_safe
from feeds.web_url import is_web_url, unreachable_reason

__all__ = ["opml", "sources"]

MAX_OPML_BYTES = 32 * 1024**2  # a list of 20,000 feeds is about 3 MB
SHOWN_URL = 200  # characters of a skipped outline's URL in the import's report


class ConfigProblems(click.ClickException):
    """The config (as it is, or as it would become) does not validate: exit code 2."""

    exit_code = EXIT_CONFIG

    def __init__(self, path: Path, error: ConfigError, intro: str) -> None:
        lines = [f"{intro} {path}:"]
        lines += [f"  {problem}" for problem in error.problems]
        super().__init__("\n".join(lines))

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


# --- config file helpers ------------------------------------------------------------------


def _config_path(ctx: click.Context) -> Path:
    obj = ctx.obj
    explicit = obj if isinstance(obj, str | os.PathLike) else None
    return find_config_path(explicit)


def _load(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise ConfigProblems(path, exc, "config error in") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Refused(
            f"{path}: config file not found (pass --config or set $FEEDS_CONFIG)"
        ) from None
    except OSError as exc:
        raise Fatal(f"cannot read {path}: {exc}") from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"{path}: not UTF-8 text: {exc}") from None


def _write(path: Path, original: bytes, text: str) -> None:
    try:
        write_config(path, original, text)
    except ConfigError as exc:
        intro = "nothing written: the change would make the config invalid,"
        raise ConfigProblems(path, exc, intro) from None
    except ConfigWriteError as exc:
        raise failed(str(exc), exc) from None


def _checked_url(url: str) -> str:
    url = url.strip()
    if not is_web_url(url):
        raise click.BadParameter(f"must be an absolute http(s) URL, not {url!r}", param_hint="URL")
    if (reason := unreachable_reason(url)) is not None:
        raise click.BadParameter(f"{reason}: {url!r}", param_hint="URL")
    return url


# --- feeds sources ------------------------------------------------------------------------


@click.group("sources")
def sources() -> None:
    """Add, list and remove the sources in the config file."""


@sources.command("add")
@click.argument("url")
@click.option("--category", default=None, help="The category its articles go to (required).")
@click.option("--name", default=None, help="Its name (default: the feed's title, else the host).")
@click.option(
    "--interval",
    default=None,
    help=f"How often to fetch it: 15m, 2h, 1d (default {format_duration(DEFAULT_INTERVAL)}).",
)
@click.option(
    "--no-check", is_flag=True, help="Do not fetch the URL: take it as the feed URL as it is."
)
@page_options
@click.option(
    "--pick",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Of the feeds a page leads to, take number N (as --list numbers them).",
)
@click.option("--first", is_flag=True, help="Of the feeds a page leads to, take the first usable.")
@click.option(
    "--list", "list_only", is_flag=True, help="Only list the feeds URL leads to; write nothing."
)
@click.pass_context
def add(
    ctx: click.Context,
    url: str,
    category: str | None,
    name: str | None,
    interval: str | None,
    no_check: bool,
    preview: bool,
    item: str | None,
    title: str | None,
    link: str | None,
    date: str | None,
    date_format: str | None,
    summary: str | None,
    image: str | None,
    pick: int | None,
    first: bool,
    list_only: bool,
) -> None:
    """Add the feed at URL to the config; for an HTML page, one of the feeds it advertises
    (asked on a terminal when there are several, else --pick N or --first).

    With --items, URL is a page without a feed: a page source is written, whose entries
    are the elements --items selects (after showing the first of them)."""
    if item is None and (preview or any((title, date, date_format, summary, image))):
        raise click.UsageError(
            "--preview, --title, --date, --date-format, --summary and --image are for page "
            "sources: give --items too"
        )
    if item is not None and (pick is not None or first or list_only):
        raise click.UsageError("--pick, --first and --list choose among feeds, not with --items")
    url = _checked_url(url)
    _refuse_conflicts(no_check=no_check, pick=pick, first=first, list_only=list_only)
    if list_only:
        _list_feeds(ctx, url)
        return
    if category is None:
        raise click.UsageError("Missing option '--category'.")
    category = " ".join(category.split())
    if not category:
        raise click.BadParameter("must not be empty", param_hint="--category")
    if name is not None:
        name = " ".join(name.split())
        if not name:
            raise click.BadParameter("must not be empty", param_hint="--name")
    if interval is not None:
        try:
            parse_duration(interval)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--interval") from None
    path = _config_path(ctx)
    original = _read(path)
    config = _load(path)
    text = _decode(path, original)
    existing = _configured(text)
    _refuse_duplicate(existing, name, url)
    if item is not None:
        page = {"item": item, "title": title, "link": link, "date": date,
                "date_format": date_format, "summary": summary, "image": image}  # fmt: skip
        request = PageRequest(url, category, name, interval, page)
        _add_page(config, path, original, text, request, preview)
        return

    feed_url, title = url, None
    if not no_check:
        check = _choose_feed(config.fetch, url, pick=pick, first=first)
        feed_url, title = check.url, check.title
        click.echo(f"Checked {feed_url}: {title or '(no title)'!r}, {check.entries} entries")
    derived = name is None
    name = name or title or urlsplit(feed_url).hostname or feed_url
    duplicate = find_duplicate(existing, name=name, url=feed_url)
    if duplicate is not None:
        hint = " (the name comes from the feed's title)" if derived and title else ""
        raise failed(f"{duplicate}{hint}; nothing written", duplicate)
    try:
        new_text = add_source(text, name=name, url=feed_url, category=category, interval=interval)
    except EditError as exc:
        raise failed(f"{path}: {exc}; nothing written", exc) from None
    _write(path, original, new_text)
    click.echo(f"Added source {name!r} ({category}): {feed_url} to {path}")


def _add_page(
    config: Config, path: Path, original: bytes, text: str, request: PageRequest, preview: bool
) -> None:
    """`feeds sources add PAGE --items ...`, once the config is read and the URL is free."""
    new_text = add_page(config, path, text, request, preview=preview)
    if new_text is None:
        click.echo("Preview only: nothing written")
        return
    _write(path, original, new_text)
    click.echo(f"Added page source ({request.category}): {request.url} to {path}")


def _configured(text: str) -> list[dict[str, Any]]:
    try:
        return configured_sources(text)
    except EditError as exc:
        raise failed(str(exc), exc) from None


def _refuse_duplicate(existing: Sequence[dict[str, Any]], name: str | None, url: str) -> None:
    duplicate = find_duplicate(existing, name=name, url=url)
    if duplicate is not None:
        raise failed(f"{duplicate}; nothing written", duplicate)


def _refuse_conflicts(*, no_check: bool, pick: int | None, first: bool, list_only: bool) -> None:
    given = [
        option
        for option, on in (("--pick", pick is not None), ("--first", first), ("--list", list_only))
        if on
    ]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} exclude each other")
    if no_check and given:
        raise click.UsageError(f"--no-check fetches nothing, so {given[0]} has nothing to choose")


def _list_feeds(ctx: click.Context, url: str) -> None:
    config = _load(_config_path(ctx))
    for line in listing(discover_one(config.fetch, url)):
        click.echo(line)


def _choose_feed(config: FetchConfig, url: str, *, pick: int | None, first: bool) -> FeedCheck:
    discovery = discover_one(config, url)
    if discovery.page_url is not None:  # a feed itself: the "Checked" line says it all
        for line in listing(discovery):
            click.echo(line)
    return choose(discovery, pick=pick, first=first, ask=terminal_prompt(), say=click.echo)


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def list_sources(ctx: click.Context, as_json: bool) -> None:
    """List the configured sources."""
    config = _load(_config_path(ctx))
    rows = [
        {
            "name": source.name,
            "kind": source.kind.value,
            "url": source.url,
            "path": str(source.path) if source.path is not None else None,
            "category": source.category,
            "interval": format_duration(source.interval),
            "interval_seconds": source.interval.total_seconds(),
            "language": source.language,
        }
        for source in config.sources
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"{config.path}: no sources")
        return
    table = [("NAME", "KIND", "CATEGORY", "INTERVAL", "URL / PATH")]
    for source in config.sources:
        where = source.url or str(source.path or "")
        category = source.category or "(from the files)"
        interval = format_duration(source.interval)
        table.append((source.name, source.kind.value, category, interval, where))
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        click.echo("  ".join([*cells, line[4]]).rstrip())


@sources.command("remove")
@click.argument("key", metavar="NAME|URL")
@click.pass_context
def remove(ctx: click.Context, key: str) -> None:
    """Remove the source with this name (or URL) from the config."""
    path = _config_path(ctx)
    original = _read(path)
    text = _decode(path, original)
    try:
        index = find_source(text, key)
        table = configured_sources(text)[index]
        new_text = remove_source(text, key)
    except EditError as exc:
        raise failed(f"{path}: {exc}", exc) from None
    _write(path, original, new_text)
    where = table.get("url") or table.get("path") or ""
    click.echo(f"Removed source {table.get('name')!r} ({where}) from {path}")


# --- feeds opml ---------------------------------------------------------------------------


@click.group("opml")
def opml() -> None:
    """Import sources from an OPML subscription list, or export them as one."""


@opml.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--category", default=None, help="Put every feed in this category.")
@click.option("--no-check", is_flag=True, help="Do not fetch the feeds to check them.")
@click.option(
    "--first",
    is_flag=True,
    help="For an entry that is an HTML page with several feeds, import the first usable.",
)
@click.pass_context
def import_opml(
    ctx: click.Context, file: Path, category: str | None, no_check: bool, first: bool
) -> None:
    """Add the feeds of an OPML file (- for stdin) to the config, in one change.

    Each feed's category is --category, else its folder in the OPML, else "Imported".
    Feeds configured already, listed twice, with a non-http(s) URL or (unless --no-check)
    not fetchable as a feed are skipped. An entry that is an HTML page is replaced by its
    feed when it has one (said in the output); one with several is skipped with the command
    that adds one of them, unless --first is given.
    """
    if category is not None and not category.strip():
        raise click.BadParameter("must not be empty", param_hint="--category")
    if first and no_check:
        raise click.UsageError("--no-check fetches nothing, so --first has nothing to choose")
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(MAX_OPML_BYTES + 1)
        else:
            with file.open("rb") as stream:
                data = stream.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise Fatal(f"cannot read {file}: {exc}") from None
    if len(data) > MAX_OPML_BYTES:
        raise Refused(f"{file}: larger than {MAX_OPML_BYTES // 1024**2} MiB; nothing imported")
    try:
        feeds = read_opml(data)
    except OpmlError as exc:
        raise failed(f"{file}: {exc}", exc) from None
    path = _config_path(ctx)
    original = _read(path)
    config = _load(path)
    text = _decode(path, original)
    try:
        plan = plan_import(text, feeds, category=category)
        notes: list[str] = []
        if not no_check and plan.add:
            found = discover_many(config.fetch, [source.url for source in plan.add])
            feeds, failures, titles, notes = _found_feeds(feeds, plan.add, found, first)
            plan = plan_import(text, feeds, category=category, failures=failures, titles=titles)
        new_text = add_sources(text, plan.add)
    except EditError as exc:
        raise failed(f"{path}: {exc}; nothing written", exc) from None
    # After the check: what is imported, under the name it gets (a page's feed in its
    # place, a name from the feed's title), not the outlines that were then skipped.
    for source, why in plan.private:
        click.echo(
            f"warning: this OPML points at a private address: {source.name!r} "
            f"<{source.url}> ({why}); importing it anyway, remove it if that is wrong",
            err=True,
        )
    if plan.add:
        _write(path, original, new_text)
    click.echo(f"added {len(plan.add)}, skipped {len(plan.skipped)}")
    for note in notes:
        click.echo(note)
    # Categories, URLs and reasons come from the file and the web: each is shown on its
    # line with no control character (a line break forged a line, a C1 CSI reached the
    # terminal), and a URL cut short.
    for source in plan.add:
        click.echo(f"  added   {source.name!r} ({terminal_safe(source.category)}): {source.url}")
    for skipped in plan.skipped:
        label = f"{skipped.feed.title!r} " if skipped.feed.title else ""
        url = shorten(terminal_safe(skipped.feed.url), SHOWN_URL)
        click.echo(f"  skipped {label}<{url}>: {terminal_safe(skipped.reason)}")


def _found_feeds(
    feeds: Sequence[OpmlFeed],
    planned: Sequence[NewSource],
    found: Mapping[str, Discovery | CheckError],
    first: bool,
) -> tuple[list[OpmlFeed], dict[str, str], dict[str, str], list[str]]:
    """The OPML feeds with each page replaced by the feed found on it, the reasons to skip
    (by URL), the feeds' own titles (by URL) and a note for each replaced page."""
    categories = {source.url: source.category for source in planned}
    failures: dict[str, str] = {}
    titles: dict[str, str] = {}
    notes: list[str] = []
    replaced: dict[str, str] = {}
    for url, result in found.items():
        if isinstance(result, CheckError):
            failures[url] = str(result)
            continue
        choice = choose_for_import(result, first=first, category=categories[url])
        if choice.check is None:
            failures[url] = choice.reason or "no feed"
            continue
        if choice.check.title:
            titles[choice.check.url] = choice.check.title
        if choice.note is not None:
            replaced[url] = choice.check.url
            notes.append(f"  found   <{url}>: {choice.note}")
    kept = [replace(feed, url=replaced.get(feed.url.strip(), feed.url)) for feed in feeds]
    return kept, failures, titles, notes


@opml.command("export")
@click.pass_context
def export_opml(ctx: click.Context) -> None:
    """Write the remote sources as OPML 2.0 to stdout, one folder per category."""
    config = _load(_config_path(ctx))
    data = write_opml(config.sources, title=f"{config.output.title}: sources")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
