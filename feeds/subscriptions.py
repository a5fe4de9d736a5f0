"""Subscriptions: plan the import of an OPML subscription list into the config."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from feeds.addresses import private_address
from feeds.config import parse_duration
from feeds.config_edit import NewSource, SourceIndex, configured_sources
from feeds.opml_file import OpmlFeed
from feeds.source_identity import normalise_url
from feeds.web_url import is_web_url, unreachable_reason

__all__ = ["DEFAULT_CATEGORY", "ImportPlan", "Skipped", "plan_import", "unique_name"]

DEFAULT_CATEGORY = "Imported"  # for OPML outlines outside any folder
# What an OPML file from elsewhere may put into the config: every outline becomes a source
# that validates, so one odd outline never makes the whole import refused.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_MAX_NAME = 200
_MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class Skipped:
    """An OPML feed not imported, and why."""

    feed: OpmlFeed
    reason: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What importing an OPML file would do."""

    add: list[NewSource] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    private: list[tuple[NewSource, str]] = field(default_factory=list)  # (source, why)


def _clean(text: str | None) -> str:
    """Text from an OPML file as a config value: control characters (the config refuses
    them in names and categories) dropped, runs of white space made one space, and cut
    to `_MAX_NAME` characters."""
    return " ".join(_CONTROL.sub(" ", text or "").split())[:_MAX_NAME].strip()


def unique_name(wanted: str, taken: Container[str]) -> str:
    """`wanted`, or ``wanted (2)``, ``wanted (3)``... whichever is not in `taken`."""
    name, number = wanted, 1
    while name in taken:
        number += 1
        name = f"{wanted} ({number})"
    return name


def _bad_interval(text: str) -> str | None:
    try:
        parse_duration(text)
    except ValueError as exc:
        return str(exc)
    return None


def plan_import(
    text: str,
    feeds: Sequence[OpmlFeed],
    *,
    category: str | None = None,
    failures: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> ImportPlan:
    """Which of `feeds` to add to the config `text`, under which names, and which to skip.

    Skips non-http(s) URLs, URLs configured already or listed twice, and the URLs in
    `failures` (url -> reason, from checking them). The category is `category`, else the
    feed's folder, else "Imported"; the name is the outline's title or text, else
    `titles[url]` (the feed's own title), else the host, made unique.
    """
    existing = configured_sources(text)
    names = {t["name"] for t in existing if isinstance(t.get("name"), str)}
    configured = SourceIndex(existing)
    seen: set[str] = set()
    plan = ImportPlan()
    for feed in feeds:
        url = feed.url.strip()
        if _CONTROL.search(url) or len(url) > _MAX_URL:
            plan.skipped.append(Skipped(feed, "URL with control characters or too long"))
            continue
        if not is_web_url(url):
            plan.skipped.append(Skipped(feed, f"not an http(s) URL: {url!r}"))
            continue
        if (reason := unreachable_reason(url)) is not None:
            plan.skipped.append(Skipped(feed, f"{reason}: {url!r}"))
            continue
        if feed.interval is not None and (bad := _bad_interval(feed.interval)) is not None:
            plan.skipped.append(Skipped(feed, f"feeds:interval: {bad}"))
            continue
        key = normalise_url(url)
        label = configured.label_of_url(url)
        if label is not None or key in seen:
            reason = (
                f"already configured as source {label!r}"
                if label is not None
                else "listed twice in this OPML"
            )
            plan.skipped.append(Skipped(feed, reason))
            continue
        seen.add(key)
        if failures and url in failures:
            plan.skipped.append(Skipped(feed, failures[url]))
            continue
        host = urlsplit(url).hostname  # is_web_url split it already
        wanted = _clean(feed.title) or _clean((titles or {}).get(url)) or (host or url)
        name = unique_name(wanted, names)
        names.add(name)
        source = NewSource(
            name=name,
            url=url,
            category=_clean(category) or _clean(feed.category) or DEFAULT_CATEGORY,
            interval=feed.interval,
            language=_clean(feed.language) or None,
        )
        plan.add.append(source)
        why = private_address(url)
        if why is not None:
            plan.private.append((source, why))
    return plan
