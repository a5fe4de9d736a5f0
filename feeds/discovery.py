"""Feed discovery: every feed a URL leads to, each fetched and counted, for the editor to choose.

`discover` fetches a URL once. A feed is its own single candidate. An HTML page offers the
feeds its ``<link rel="alternate">`` tags advertise, of every feed type, in page order (no
type is preferred: the page's author put the main feed first); a page that advertises none
is probed at a few well-known paths of its own site. Every candidate is then fetched with
the update's client (same SSRF guard, size cap and deadlines) and parsed by our parser in
the worker pool (same parse deadline) to show its title, format and entry count, or why it
failed. Choosing is the caller's business: nothing here picks one.

Bounds, since pages come from elsewhere: at most `MAX_CANDIDATES` advertised feeds are
considered (the rest are counted as left out), `WELL_KNOWN_PATHS` on at most two folders
are probed, at most `FETCHES_AT_ONCE` fetches run at once (and `per_host` per host), all of
a page's candidates get `candidates_budget` seconds together, and a page on a public host
cannot make us fetch a private address (`private_address`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import lxml.html
from lxml import etree

from feeds.addresses import private_address
from feeds.config import FetchConfig
from feeds.errors import CheckError
from feeds.normalise.plaintext import plain_text
from feeds.parse.charset import for_lxml, html_encoding
from feeds.parse.jsonfeed import looks_like_json_feed
from feeds.parse.urls import join_url, web_url
from feeds.sources.remote import FetchClient, FetchResponse, fetch_source
from feeds.workers import ParserPool

__all__ = [
    "FEED_TYPES",
    "FETCHES_AT_ONCE",
    "MAX_CANDIDATES",
    "WELL_KNOWN_PATHS",
    "Candidate",
    "CheckError",
    "Discovery",
    "FeedBody",
    "FeedCheck",
    "FeedLink",
    "PageLinks",
    "candidates_budget",
    "discover",
    "discover_all",
    "find_feed_links",
    "looks_like_html",
    "summarise_body",
    "well_known_urls",
]

# The media types of ``<link rel="alternate">`` that advertise a feed, and how we name them.
# Not application/json: WordPress advertises its REST API with it on every page.
FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/x-rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/rdf+xml": "RDF",
    "application/feed+json": "JSON Feed",
}
MAX_CANDIDATES = 20  # advertised feeds considered per page, in page order
# Tried on the page's own folder and on the site's root, only when the page advertises none.
WELL_KNOWN_PATHS = (
    "feed",
    "rss",
    "atom",
    "feed.xml",
    "rss.xml",
    "atom.xml",
    "index.xml",
    "feed.json",
)
FETCHES_AT_ONCE = 4  # candidate fetches in flight for one discovery (and per_host per host)
_MAX_URL = 2048  # what OPML import takes too (feeds/subscriptions.py)
_MAX_TITLE = 200  # characters, as a source name may have
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_URL_BLANKS = re.compile("[\t\n\r]")  # browsers drop these from URLs; other controls refuse it
_ROOT_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(rss|feed|RDF)[\s>/]")
_FORMATS = {b"rss": "RSS", b"feed": "Atom", b"RDF": "RDF"}


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


def _clean_title(text: str | None, *, is_html: bool = False) -> str | None:
    """A title from a page or a feed as plain text on one line: markup removed, control
    characters dropped, at most `_MAX_TITLE` characters; None when nothing is left."""
    cleaned = " ".join(_CONTROL.sub(" ", plain_text(text or "", is_html=is_html)).split())
    return cleaned[:_MAX_TITLE].strip() or None


# --- what a page advertises -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A URL that may be a feed: advertised by a page, or a well-known path of its site."""

    url: str
    title: str | None = None  # the page's title for it (plain text)
    kind: str | None = None  # the advertised type's name (FEED_TYPES), None for a guess


@dataclass(frozen=True, slots=True)
class PageLinks:
    """The feeds a page advertises, in page order, and how many were left out."""

    links: tuple[FeedLink, ...]
    left_out: int = 0


def _link_url(base: str, href: str) -> str | None:
    url = web_url(base, _URL_BLANKS.sub("", href.strip()))
    if url is None or _CONTROL.search(url) or len(url) > _MAX_URL:
        return None
    return url


def find_feed_links(
    html: bytes, base_url: str, content_type: str | None = None, limit: int = MAX_CANDIDATES
) -> PageLinks:
    """The feeds an HTML page advertises with ``<link rel="alternate">`` of a feed type
    (`FEED_TYPES`), in page order, each URL once, at most `limit` of them (the others are
    counted in `left_out`). Relative URLs resolve against ``<base href>``, else `base_url`;
    links that give no http(s) URL (``javascript:``, ``data:``, malformed) are passed over."""
    if not html.strip():
        return PageLinks(())
    html, encoding = for_lxml(html, html_encoding(html, content_type))
    parser = lxml.html.HTMLParser(encoding=encoding)
    try:
        document = lxml.html.document_fromstring(html, parser=parser)
    except (etree.ParserError, ValueError, LookupError):
        return PageLinks(())
    base = base_url
    for element in document.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = join_url(base_url, href) or base_url
            break
    found: dict[str, FeedLink] = {}
    left_out = 0
    for element in document.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        media = (element.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rel or media not in FEED_TYPES:
            continue
        url = _link_url(base, element.get("href") or "")
        if url is None or url in found:
            continue
        if len(found) >= limit:
            left_out += 1
            continue
        found[url] = FeedLink(url, _clean_title(element.get("title")), FEED_TYPES[media])
    return PageLinks(tuple(found.values()), left_out)


def well_known_urls(page_url: str) -> list[str]:
    """The `WELL_KNOWN_PATHS` in the page's own folder, then at the site's root: the same
    scheme, host and port as the page, nothing else."""
    parts = urlsplit(page_url)
    folder = parts.path[: parts.path.rfind("/") + 1] or "/"
    folders = dict.fromkeys([folder, "/"])
    return [
        urlunsplit((parts.scheme, parts.netloc, prefix + path, "", ""))
        for prefix in folders
        for path in WELL_KNOWN_PATHS
    ]


# --- parsing a candidate (in a worker) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedBody:
    """A fetched body to parse, as a worker job."""

    body: bytes
    url: str  # the final URL: relative links resolve against it
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """A URL that was fetched and parsed as a feed."""

    url: str  # the feed's URL, as asked for (not the redirect target)
    title: str | None  # the feed's own title, plain text
    entries: int
    format: str | None = None  # RSS, Atom, RDF, JSON Feed (from the body)


@dataclass(frozen=True, slots=True)
class _Summary:
    check: FeedCheck | None
    error: str | None = None


def _format(body: bytes, content_type: str | None) -> str | None:
    if looks_like_json_feed(body, content_type):
        return "JSON Feed"
    match = _ROOT_ELEMENT.search(body[:4096])
    return _FORMATS[match[1]] if match else None


def summarise_body(job: FeedBody) -> _Summary:
    """Parse one body with our parser: its title, format and entry count, or why it is no
    feed. Runs in a worker process, so it must not raise."""
    from feeds.parse import ParseError, parse_feed  # where parsing runs, as digest_body

    try:
        feed = parse_feed(job.body, url=job.url, headers=job.headers)
    except ParseError as exc:
        return _Summary(None, str(exc))
    title = _clean_title(feed.title, is_html=True)
    kind = _format(job.body, job.headers.get("content-type"))
    return _Summary(FeedCheck(job.url, title, len(feed.entries), kind))


# --- discovery ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One feed a URL leads to, with what fetching and parsing it gave."""

    link: FeedLink
    check: FeedCheck | None = None  # None when it failed
    error: str | None = None  # why it is no usable feed
    network: bool = False  # the error is a failed fetch (worth retrying later)
    final_url: str | None = None  # where the feed was, after redirects


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every feed `url` leads to. `page_url` is None when `url` is a feed itself."""

    url: str
    candidates: tuple[Candidate, ...]
    page_url: str | None = None  # the page's URL after redirects
    left_out: int = 0  # advertised feeds beyond MAX_CANDIDATES, not considered
    probed: bool = False  # the page advertised none: candidates are well-known paths

    @property
    def usable(self) -> list[Candidate]:
        """The candidates that parsed as feeds, in order."""
        return [c for c in self.candidates if c.check is not None]


def candidates_budget(config: FetchConfig) -> float:
    """Seconds one discovery's candidates may take together: twice what one fetch and its
    parse may take. Twenty candidates on one slow host would take ten times that."""
    return 2 * (config.deadline + config.parse_deadline)


class _Fetcher:
    """Fetches and parses for discoveries: at most `at_once` fetches in flight and
    `per_host` per host. A slot is held for the fetch alone, never while waiting for others,
    so discoveries sharing a fetcher cannot wait on each other."""

    def __init__(
        self,
        client: FetchClient,
        config: FetchConfig,
        pool: ParserPool,
        at_once: int,
        budget: float,
    ) -> None:
        self.client, self.config, self.pool = client, config, pool
        self.everything = asyncio.Semaphore(max(1, at_once))
        self.hosts: dict[str, asyncio.Semaphore] = {}
        self.budget = budget

    async def fetch(self, url: str) -> FetchResponse:
        host = urlsplit(url).hostname or ""
        per_host = self.hosts.setdefault(host, asyncio.Semaphore(self.config.per_host))
        async with self.everything, per_host:
            return await fetch_source(self.client, url, None, self.config)

    async def parse(self, response: FetchResponse) -> _Summary:
        job = FeedBody(response.body or b"", response.final_url, response.headers)
        return await self.pool.run(
            summarise_body,
            job,
            overrun=_Summary(None, f"parsing took longer than {self.pool.deadline:g}s"),
            died=_Summary(None, "the parser process died on this body"),
        )

    async def candidate(self, link: FeedLink, page_url: str) -> Candidate:
        why = private_address(link.url)
        if why is not None and private_address(page_url) is None:
            return Candidate(
                link,
                error=f"not fetched: {why}, named by a page on a public host "
                "(add that URL itself if you trust it)",
            )
        response = await self.fetch(link.url)
        if response.error is not None:
            return Candidate(link, error=response.error, network=True)
        summary = await self.parse(response)
        if summary.check is None:
            return Candidate(link, error=summary.error)
        return Candidate(link, _as_asked(link.url, summary.check), final_url=response.final_url)

    async def candidates(self, links: Sequence[FeedLink], page_url: str) -> list[Candidate]:
        """Each link fetched and parsed, all within `budget` seconds: the ones not done by
        then are cancelled and say so."""
        tasks = [asyncio.ensure_future(self.candidate(link, page_url)) for link in links]
        done, pending = await asyncio.wait(tasks, timeout=self.budget)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        late = f"not checked: the candidates took longer than {self.budget:g}s together"
        return [
            task.result() if task in done else Candidate(link, error=late, network=True)
            for task, link in zip(tasks, links, strict=True)
        ]


def _as_asked(url: str, check: FeedCheck) -> FeedCheck:
    """The check under the URL that was asked for: the config keeps that one (an update
    follows its redirects and remembers the permanent ones)."""
    return FeedCheck(url, check.title, check.entries, check.format)


async def discover(
    client: FetchClient,
    url: str,
    config: FetchConfig,
    pool: ParserPool,
    *,
    budget: float | None = None,
) -> Discovery:
    """Every feed `url` leads to (see the module doc), each fetched and parsed; the
    candidates within `budget` seconds (default `candidates_budget`).

    Raises `CheckError` when `url` cannot be fetched, is neither a page nor a feed, or is a
    page that leads to no feed."""
    at_once = min(FETCHES_AT_ONCE, config.concurrency)
    seconds = candidates_budget(config) if budget is None else budget
    return await _discover(_Fetcher(client, config, pool, at_once, seconds), url)


async def _discover(fetcher: _Fetcher, url: str) -> Discovery:
    response = await fetcher.fetch(url)
    if response.error is not None:
        raise CheckError(f"cannot fetch {url}: {response.error}", network=True)
    body = response.body or b""
    if not looks_like_html(body, response.headers.get("content-type")):
        summary = await fetcher.parse(response)
        if summary.check is None:
            raise CheckError(f"{url} is not a feed: {summary.error}", network=False)
        return _itself(url, summary.check)
    page_url = response.final_url
    advertised = find_feed_links(body, page_url, response.headers.get("content-type"))
    if advertised.links:
        candidates = await fetcher.candidates(advertised.links, page_url)
        return Discovery(url, tuple(candidates), page_url, advertised.left_out)
    # A feed served as text/html is a feed.
    summary = await fetcher.parse(response)
    if summary.check is not None:
        return _itself(url, summary.check)
    guesses = [FeedLink(guess) for guess in well_known_urls(page_url)]
    tried = await fetcher.candidates(guesses, page_url)
    found: dict[str | None, Candidate] = {}
    for candidate in tried:  # /feed and /rss often redirect to one feed: show it once
        if candidate.check is not None:
            found.setdefault(candidate.final_url, candidate)
    if not found:
        raise CheckError(
            f'{url} is an HTML page that links to no feed (no <link rel="alternate"> of '
            f"type {', '.join(FEED_TYPES)}), and none of the well-known paths "
            f"({', '.join(WELL_KNOWN_PATHS)}; in its folder and at the site's root) is a "
            "feed; give the feed's own URL",
            network=False,
        )
    return Discovery(url, tuple(found.values()), page_url, probed=True)


def _itself(url: str, check: FeedCheck) -> Discovery:
    link = FeedLink(url, None, check.format)
    return Discovery(url, (Candidate(link, _as_asked(url, check), final_url=check.url),))


async def discover_all(
    client: FetchClient, urls: Sequence[str], config: FetchConfig, pool: ParserPool
) -> dict[str, Discovery | CheckError]:
    """`discover` every URL (an OPML file's): one fetcher for all, so `concurrency` and
    `per_host` bound the whole import."""
    fetcher = _Fetcher(client, config, pool, config.concurrency, candidates_budget(config))

    async def one(url: str) -> tuple[str, Discovery | CheckError]:
        try:
            return url, await _discover(fetcher, url)
        except CheckError as exc:
            return url, exc

    return dict(await asyncio.gather(*(one(url) for url in urls)))
