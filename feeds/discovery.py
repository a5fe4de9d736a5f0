"""Feed discovery: find the feed an HTML page links to, and prove a URL is a feed.

`check_feed` fetches a URL once, follows an HTML page's ``<link rel="alternate">`` to its
feed, and parses the feed to prove it is one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx
import lxml.html
from lxml import etree

from feeds.config import FetchConfig
from feeds.errors import FeedsError
from feeds.parse import ParseError, parse_feed
from feeds.parse.urls import join_url, web_url
from feeds.sources.remote import fetch_source

__all__ = [
    "FEED_TYPES",
    "CheckError",
    "FeedCheck",
    "check_feed",
    "check_feeds",
    "discover_feed_url",
    "discover_feed_urls",
    "looks_like_html",
]

# Feed types in order of preference: Atom, then RSS, then JSON Feed.
FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/feed+json")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """Is this response an HTML page (by its Content-Type, else by its first bytes)?"""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in _HTML_TYPES:
            return True
        if media and media != "text/plain" and media != "application/octet-stream":
            return False
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def discover_feed_urls(html: bytes, base_url: str) -> list[str]:
    """The absolute feed URLs an HTML page names in ``<link rel="alternate">``, best first:
    Atom, then RSS, then JSON Feed, each in page order. Honours ``<base href>``."""
    if not html.strip():
        return []
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in document.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = join_url(base_url, href) or base_url
            break
    found: list[tuple[int, int, str]] = []
    for position, element in enumerate(document.iter("link")):
        rel = (element.get("rel") or "").lower().split()
        media = (element.get("type") or "").split(";", 1)[0].strip().lower()
        href = (element.get("href") or "").strip()
        if "alternate" not in rel or media not in FEED_TYPES or not href:
            continue
        url = web_url(base, href)
        if url is not None:
            found.append((FEED_TYPES.index(media), position, url))
    return list(dict.fromkeys(url for _, _, url in sorted(found)))


def discover_feed_url(html: bytes, base_url: str) -> str | None:
    """The best feed an HTML page links to (see `discover_feed_urls`), or None."""
    urls = discover_feed_urls(html, base_url)
    return urls[0] if urls else None


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """A URL that was fetched and parsed as a feed."""

    url: str  # the feed's URL: the one given, or the one the page linked to
    title: str | None
    entries: int
    page_url: str | None = None  # the HTML page the feed was discovered on
    link: str | None = None  # the feed's own link to its site


class CheckError(FeedsError):
    """A URL is no usable feed. `network` tells a failed fetch (worth retrying later)
    from a body that is no feed (a wrong URL)."""

    def __init__(self, message: str, *, network: bool) -> None:
        super().__init__(message)
        self.network = network


async def check_feed(
    client: httpx.AsyncClient, url: str, config: FetchConfig, *, discover: bool = True
) -> FeedCheck:
    """Fetch `url` once; if it is an HTML page, find and fetch its feed; parse the feed."""
    response = await fetch_source(client, url, None, config)
    if response.error is not None:
        raise CheckError(f"cannot fetch {url}: {response.error}", network=True)
    body = response.body or b""
    headers = response.headers
    if discover and looks_like_html(body, headers.get("content-type")):
        feed_url = discover_feed_url(body, response.final_url)
        if feed_url is not None:
            found = await check_feed(client, feed_url, config, discover=False)
            return replace(found, page_url=url)
        try:
            feed = parse_feed(body, url=response.final_url, headers=headers)
        except ParseError:
            raise CheckError(
                f'{url} is an HTML page that links to no feed (no <link rel="alternate"> '
                "of type application/atom+xml, application/rss+xml or application/feed+json); "
                "give the feed's own URL",
                network=False,
            ) from None
    else:
        try:
            feed = parse_feed(body, url=response.final_url, headers=headers)
        except ParseError as exc:
            raise CheckError(f"{url} is not a feed: {exc}", network=False) from None
    title = " ".join((feed.title or "").split()) or None
    return FeedCheck(url, title, len(feed.entries), None, feed.link)


async def check_feeds(
    client: httpx.AsyncClient, urls: Sequence[str], config: FetchConfig
) -> dict[str, FeedCheck | CheckError]:
    """Check every URL (without discovery), within the configured concurrency limits."""
    everything = asyncio.Semaphore(config.concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}

    async def one(url: str) -> tuple[str, FeedCheck | CheckError]:
        host = hosts.setdefault(urlsplit(url).hostname or "", asyncio.Semaphore(config.per_host))
        async with everything, host:
            try:
                return url, await check_feed(client, url, config, discover=False)
            except CheckError as exc:
                return url, exc

    return dict(await asyncio.gather(*(one(url) for url in urls)))
