"""Choosing among the feeds a URL leads to (`feeds.discovery`), for `feeds sources add` and
`feeds opml import`. Nothing is chosen silently:

- one candidate: it is taken, and the listing says what it is;
- several: `--pick N` or `--first` (the first that reads as a feed) choose; on a terminal
  (stdin and stdout) the editor is asked; otherwise they are listed and the command ends with
  exit code 2, nothing written, naming both options;
- `--list` only lists.

Every text from a page or a feed (titles, server messages) reaches the screen through
`terminal_safe`: no control character, so no escape sequence, gets through.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import click

from feeds.cli.errors import Refused, failed
from feeds.config import FetchConfig
from feeds.discovery import (
    MAX_CANDIDATES,
    Candidate,
    CheckError,
    Discovery,
    FeedCheck,
    discover,
    discover_all,
)
from feeds.sources.remote import FetchClient, make_client
from feeds.terminal_text import terminal_safe
from feeds.workers import ParserPool

__all__ = [
    "ImportChoice",
    "choose",
    "choose_for_import",
    "discover_many",
    "discover_one",
    "listing",
]

T = TypeVar("T")
Ask = Callable[[str], str]  # shows a prompt, returns the answer; raises click.Abort on EOF


async def _with_client(
    config: FetchConfig, work: Callable[[FetchClient, ParserPool], Awaitable[T]]
) -> T:
    """`work` with the update's client and a parser pool under `parse_deadline`."""
    pool = ParserPool(deadline=config.parse_deadline)
    try:
        async with make_client(config) as client:
            return await work(client, pool)
    finally:
        pool.close()


def discover_one(config: FetchConfig, url: str) -> Discovery:
    """Every feed `url` leads to, or the command ends with the reason (nothing written)."""
    try:
        return asyncio.run(
            _with_client(config, lambda client, pool: discover(client, url, config, pool))
        )
    except CheckError as exc:
        raise failed(f"{exc}; nothing written", exc) from None


def discover_many(config: FetchConfig, urls: Sequence[str]) -> dict[str, Discovery | CheckError]:
    """`discover_one` for each URL, together; a failure is that URL's answer."""
    return asyncio.run(
        _with_client(config, lambda client, pool: discover_all(client, urls, config, pool))
    )


# --- what is shown ----------------------------------------------------------------------------


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _describe(number: int, candidate: Candidate) -> list[str]:
    link, check = candidate.link, candidate.check
    title = link.title or (check.title if check else None) or "(no title)"
    if check is not None and check.title and link.title and check.title != link.title:
        title += f" (the feed calls itself {check.title})"
    kind = (check.format if check else None) or link.kind or "feed"
    if check is not None:
        what = f"{kind}, {_entries(check.entries)}"
    else:
        what = f"{kind}, failed: {candidate.error}"
    return [
        f"  {number}. {terminal_safe(title)} - {terminal_safe(what)}",
        f"     {terminal_safe(link.url)}",
    ]


def listing(discovery: Discovery) -> list[str]:
    """The candidates as numbered lines (title, type, entry count or why not, URL)."""
    url = terminal_safe(discovery.url)
    count = len(discovery.candidates)
    if discovery.page_url is None:
        head = f"{url} is a feed:"
    elif discovery.probed:
        found = "1 feed" if count == 1 else f"{count} feeds"
        head = f"{url} is an HTML page that advertises no feed; {found} at well-known paths:"
    else:
        plural = "feed" if count == 1 else "feeds"
        head = f"{url} is an HTML page that advertises {count} {plural}:"
    lines = [head]
    for number, candidate in enumerate(discovery.candidates, 1):
        lines += _describe(number, candidate)
    if discovery.left_out:
        lines.append(
            f"  ({discovery.left_out} more advertised feeds left out: at most "
            f"{MAX_CANDIDATES} are considered; give the feed's own URL for one of them)"
        )
    return lines


# --- choosing -----------------------------------------------------------------------------


def _refuse_failed(number: int, candidate: Candidate) -> click.ClickException:
    error = CheckError(
        f"feed {number} ({candidate.link.url}) cannot be used: "
        f"{terminal_safe(candidate.error or '?')}; nothing written",
        network=candidate.network,
    )
    return failed(str(error), error)


def _nothing_usable(discovery: Discovery) -> click.ClickException:
    error = CheckError(
        f"none of the feeds {terminal_safe(discovery.url)} leads to can be used (see the list); "
        "nothing written",
        network=any(c.network for c in discovery.candidates),
    )
    return failed(str(error), error)


def choose(
    discovery: Discovery,
    *,
    pick: int | None,
    first: bool,
    ask: Ask | None,
    say: Callable[[str], None],
) -> FeedCheck:
    """The candidate chosen: the only one, `pick` (1-based), the first usable one with
    `first`, else the editor's answer to `ask` (None: no terminal, so the command ends)."""
    candidates = discovery.candidates
    count = len(candidates)
    if pick is not None:
        if not 1 <= pick <= count:
            options = "1" if count == 1 else f"1 to {count}"
            raise Refused(
                f"--pick {pick}: {terminal_safe(discovery.url)} leads to {count} "
                f"feed{'' if count == 1 else 's'}, choose {options}; nothing written"
            )
        return _usable(pick, candidates[pick - 1])
    if count == 1:
        return _usable(1, candidates[0])
    usable = discovery.usable
    if not usable:
        raise _nothing_usable(discovery)
    if first:
        number = candidates.index(usable[0]) + 1
        say(f"--first: taking feed {number}, the first that reads as a feed")
        return _usable(number, usable[0])
    if ask is None:
        raise Refused(
            f"{terminal_safe(discovery.url)} leads to {count} feeds and this is no terminal to "
            f"ask on: choose one with --pick N (1 to {count}) or take the first that works "
            "with --first; nothing written"
        )
    return _asked(candidates, ask, say)


def _usable(number: int, candidate: Candidate) -> FeedCheck:
    if candidate.check is None:
        raise _refuse_failed(number, candidate)
    return candidate.check


def _asked(candidates: Sequence[Candidate], ask: Ask, say: Callable[[str], None]) -> FeedCheck:
    count = len(candidates)
    while True:
        try:
            answer = ask(f"Which feed? 1-{count}, empty to cancel").strip()
        except click.Abort:  # Ctrl-D or Ctrl-C
            answer = ""
        if not answer:
            raise Refused("no feed chosen; nothing written")
        number = int(answer) if answer.isascii() and answer.isdigit() and len(answer) < 9 else 0
        if not 1 <= number <= count:
            say(f"{terminal_safe(answer)!r} is not one of 1 to {count}")
            continue
        candidate = candidates[number - 1]
        if candidate.check is None:
            say(f"feed {number} cannot be used ({terminal_safe(candidate.error or '?')})")
            continue
        return candidate.check


def terminal_prompt() -> Ask | None:
    """A prompt on the terminal when stdin and stdout are one, else None."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None

    def ask(question: str) -> str:
        return str(click.prompt(question, default="", show_default=False))

    return ask


# --- OPML import ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportChoice:
    """What an OPML entry's URL becomes: `check` (the feed to import, maybe found on a page,
    then `note` says so), or `reason` to skip it."""

    check: FeedCheck | None
    note: str | None = None
    reason: str | None = None


def choose_for_import(discovery: Discovery, *, first: bool, category: str) -> ImportChoice:
    """A feed is imported as it is; a page's only feed is imported instead of the page (and
    said); of several, the first that reads as a feed with `first`, else the entry is skipped
    with the way to add one of them."""
    if discovery.page_url is None:
        return ImportChoice(discovery.candidates[0].check)
    usable = discovery.usable
    count = len(discovery.candidates)
    where = "at a well-known path" if discovery.probed else "advertised by the page"
    if not usable:
        errors = _some(
            f"{c.link.url}: {terminal_safe(c.error or '?')}" for c in discovery.candidates
        )
        return ImportChoice(None, reason=f"an HTML page whose feeds cannot be used ({errors})")
    if count == 1 or first:
        chosen = usable[0]
        number = discovery.candidates.index(chosen) + 1
        how = "its only feed" if count == 1 else f"feed {number} of {count} (--first)"
        note = f"an HTML page; in its place {how}, {where}: {chosen.link.url}"
        return ImportChoice(chosen.check, note=note)
    urls = _some(f"{n}. {c.link.url}" for n, c in enumerate(discovery.candidates, 1))
    command = f"feeds sources add {shlex.quote(discovery.url)} --category {shlex.quote(category)}"
    command += " --pick N"
    return ImportChoice(
        None,
        reason=(
            f"an HTML page with {count} feeds {where} ({urls}); add one with "
            f"`{command}`, or import again with --first"
        ),
    )


_SHOWN = 5  # candidates named in one line of the import's report


def _some(texts: Iterable[str]) -> str:
    """The first `_SHOWN` texts and how many more: a page's 20 long URLs make no line."""
    listed = list(texts)
    more = f", and {len(listed) - _SHOWN} more" if len(listed) > _SHOWN else ""
    return "; ".join(listed[:_SHOWN]) + more
