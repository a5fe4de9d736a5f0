"""The floor: fetch every URL and parse each body with feedparser, nothing else.

    python bench/floor.py --urls FILE --state FILE [--concurrency 32] [--per-host 2] [--procs 1]

One event loop: httpx fetches concurrently (same limits as feeds: a global semaphore and one
per host), and each body is parsed with feedparser's defaults (its sanitiser and
relative-URI resolution on) as it arrives: in this process, blocking the loop like any
in-process parse would, or with `--procs P` in a pool of P processes (started at the first
body, so a run where nothing changed starts none). Conditional GET: the validators of each
URL's last 200 are kept in the `--state` JSON file and sent back on the next run, so a second
run over unchanged feeds gets 304s and parses nothing. Prints one JSON line of counts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import time
from collections import defaultdict
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx


def parse(body: bytes, headers: dict[str, str]) -> tuple[int, bool, float]:
    """Entries, bozo and seconds of one feedparser.parse with its defaults."""
    started = time.perf_counter()
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    return len(parsed.entries), bool(parsed.get("bozo")), time.perf_counter() - started


class Parser:
    """Parses in this process, or in a pool of `procs` processes started when first needed."""

    def __init__(self, procs: int) -> None:
        self.procs = procs
        self.pool: Executor | None = None

    async def __call__(self, body: bytes, headers: dict[str, str]) -> tuple[int, bool, float]:
        if self.procs == 1:
            return parse(body, headers)
        if self.pool is None:
            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(self.procs, mp_context=context)
        return await asyncio.get_running_loop().run_in_executor(self.pool, parse, body, headers)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


async def run(
    urls: list[str], state: dict[str, dict[str, str]], concurrency: int, per_host: int, procs: int
) -> dict[str, Any]:
    limit = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
    counts: dict[str, Any] = {
        "feeds": 0,
        "not_modified": 0,
        "entries": 0,
        "bytes": 0,
        "bozo": 0,
        "errors": [],
    }
    parse_seconds = 0.0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(10.0, read=20.0, pool=60.0)
    parser = Parser(procs)

    async def one(client: httpx.AsyncClient, url: str) -> None:
        nonlocal parse_seconds
        known = state.get(url, {})
        conditional = {
            name: known[key]
            for name, key in (("If-None-Match", "etag"), ("If-Modified-Since", "last-modified"))
            if key in known
        }
        try:
            async with hosts[urlsplit(url).hostname or ""], limit:
                response = await client.get(url, headers=conditional)
        except httpx.HTTPError as exc:
            counts["errors"].append(f"{url}: {type(exc).__name__}: {exc}")
            return
        if response.status_code == 304:
            counts["not_modified"] += 1
            return
        if response.status_code != 200:
            counts["errors"].append(f"{url}: HTTP {response.status_code}")
            return
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers["content-location"] = str(response.url)
        state[url] = {k: headers[k] for k in ("etag", "last-modified") if k in headers}
        entries, bozo, seconds = await parser(response.content, headers)
        parse_seconds += seconds
        counts["feeds"] += 1
        counts["entries"] += entries
        counts["bytes"] += len(response.content)
        counts["bozo"] += bozo

    try:
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            await asyncio.gather(*(one(client, url) for url in urls))
    finally:
        parser.close()
    counts["parse_seconds"] = round(parse_seconds, 3)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=Path, required=True, help="file with one URL per line")
    parser.add_argument("--state", type=Path, required=True, help="validators (JSON), kept")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--procs", type=int, default=1, help="parse in a pool of this many")
    args = parser.parse_args()
    urls = args.urls.read_text(encoding="utf-8").split()
    state = json.loads(args.state.read_text(encoding="utf-8")) if args.state.exists() else {}
    counts = asyncio.run(run(urls, state, args.concurrency, args.per_host, args.procs))
    args.state.write_text(json.dumps(state), encoding="utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
