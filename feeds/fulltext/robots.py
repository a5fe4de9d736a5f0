"""robots.txt for article fetches (a crawl, unlike polling a feed a site publishes for
readers): each host's file is fetched once per `ttl` with the run's guarded client, within
a size cap, and read with `urllib.robotparser` for our user agent.

As RFC 9309 says: a 4xx answer means no rules (fetch anything); a 5xx, a network failure or a
file over the cap means the host is not crawled until the file is read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from feeds.config import FetchConfig
from feeds.request_options import RequestOptions
from feeds.sources.remote import FetchClient, fetch_url

ROBOTS_MAX_BYTES = 500 * 1024  # what RFC 9309 asks crawlers to read at least
ROBOTS_TTL = timedelta(hours=1)  # a daemon reads a host's rules again after this
MAX_HOSTS = 4096  # hosts whose rules are remembered; beyond, the oldest are forgotten


@dataclass(frozen=True, slots=True)
class _Rules:
    until: datetime
    parser: RobotFileParser | None  # None: nothing may be fetched (see `refusal`)
    problem: str | None = None


class RobotsRules:
    """The robots.txt rules of the hosts pages are fetched from, fetched when first needed."""

    def __init__(
        self,
        client: FetchClient,
        config: FetchConfig,
        clock: Callable[[], datetime],
        ttl: timedelta = ROBOTS_TTL,
    ) -> None:
        self.client = client
        self.config = config
        self.clock = clock
        self.ttl = ttl
        self.rules: dict[str, _Rules] = {}
        # One fetch per host at a time; not the per-host fetch slots, which a page fetch
        # holds while its redirects are checked here (waiting for a slot inside another
        # could deadlock two hosts redirecting to each other).
        self.locks: dict[str, asyncio.Lock] = {}

    async def refusal(self, url: str, options: RequestOptions | None = None) -> str | None:
        """Why `url` may not be fetched with a source's `options` (its user agent, else
        ours; its proxy), or None when it may."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        proxy = options.proxy if options is not None else None
        rules = await self._rules(origin, proxy)
        if rules.parser is None:
            return f"{origin}/robots.txt unreadable ({rules.problem}): the site is not crawled"
        agent = (options.user_agent if options is not None else None) or self.config.user_agent
        if not rules.parser.can_fetch(agent, url):
            return f"disallowed by {origin}/robots.txt"
        return None

    async def _rules(self, origin: str, proxy: str | None) -> _Rules:
        lock = self.locks.setdefault(origin, asyncio.Lock())
        async with lock:
            known = self.rules.get(origin)
            if known is not None and known.until > self.clock():
                return known
            rules = await self._fetch(origin, proxy)
            if len(self.rules) >= MAX_HOSTS:
                oldest = min(self.rules, key=lambda host: self.rules[host].until)
                del self.rules[oldest]
                self.locks.pop(oldest, None)
            self.rules[origin] = rules
            return rules

    async def _fetch(self, origin: str, proxy: str | None) -> _Rules:
        # Through the source's proxy, if it has one, but none of its headers or secrets.
        response = await fetch_url(
            self.client,
            f"{origin}/robots.txt",
            {"Accept": "text/plain"},
            self.config,
            options=RequestOptions(proxy=proxy),
            max_bytes=ROBOTS_MAX_BYTES,
        )
        until = self.clock() + self.ttl
        status = response.status
        if status is not None and 400 <= status < 500:
            return _Rules(until, _parsed(""))
        if response.error is not None or response.body is None:
            return _Rules(until, None, response.error or f"HTTP {status}")
        return _Rules(until, _parsed(response.body.decode("utf-8", errors="replace")))


def _parsed(text: str) -> RobotFileParser:
    lines = text.splitlines()
    parser = RobotFileParser()
    try:
        parser.parse(lines)
    except ValueError:
        # urllib's parser raises on some lines (`Crawl-delay: ²`, a number of 5,000 digits,
        # `Disallow: //[`); RFC 9309 says to use the rules that parse: read without those.
        parser = RobotFileParser()
        parser.parse([line for line in lines if _parses(line)])
    return parser


def _parses(line: str) -> bool:
    try:
        RobotFileParser().parse(["User-agent: *", line])
    except ValueError:
        return False
    return True
