"""The floor: fetch every URL and parse each body with feedparser, nothing else.

    python bench/floor.py --urls FILE [--concurrency 32] [--per-host 2] [--fast]

One process, one event loop: httpx fetches concurrently (same limits as feeds: a global
semaphore and one per host), and each body is parsed in this process as it arrives, blocking
the loop like any in-process parse would. Default feedparser options (its sanitiser and
relative-URI resolution on) unless --fast (both off). Prints one JSON line of counts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx


async def run(urls: list[str], concurrency: int, per_host: int, fast: bool) -> dict[str, Any]:
    options = {"sanitize_html": False, "resolve_relative_uris": False} if fast else {}
    limit = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
    counts: dict[str, Any] = {"feeds": 0, "entries": 0, "bytes": 0, "bozo": 0, "errors": []}
    parse_seconds = 0.0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(10.0, read=20.0, pool=60.0)

    async def one(client: httpx.AsyncClient, url: str) -> None:
        nonlocal parse_seconds
        try:
            async with hosts[urlsplit(url).hostname or ""], limit:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            counts["errors"].append(f"{url}: {type(exc).__name__}: {exc}")
            return
        if response.status_code != 200:
            counts["errors"].append(f"{url}: HTTP {response.status_code}")
            return
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers["content-location"] = str(response.url)
        started = time.perf_counter()
        parsed = feedparser.parse(io.BytesIO(response.content), response_headers=headers, **options)
        parse_seconds += time.perf_counter() - started
        counts["feeds"] += 1
        counts["entries"] += len(parsed.entries)
        counts["bytes"] += len(response.content)
        counts["bozo"] += bool(parsed.get("bozo"))

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        await asyncio.gather(*(one(client, url) for url in urls))
    counts["parse_seconds"] = round(parse_seconds, 3)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=Path, required=True, help="file with one URL per line")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="sanitiser and URI resolution off")
    args = parser.parse_args()
    urls = args.urls.read_text(encoding="utf-8").split()
    counts = asyncio.run(run(urls, args.concurrency, args.per_host, args.fast))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
