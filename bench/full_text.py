"""What full text costs: extraction throughput in the worker pool, and an update with full
text beside the same update without it.

    .venv/bin/python bench/full_text.py [--sources 8] [--entries 25] [--workers 2]

Writes a site of generated article pages (`tests/support/article_site.py`, every shape in
turn) and one RSS feed of teasers per source into a temp dir, serves it with Python's
`http.server` in its own process on 127.0.0.1, then measures, one phase at a time:

1. extract: every page's extraction as pool jobs (`read_page` by `ParserPool.run`, `--workers`
   processes, started before the clock), pages per second;
2. plain: `update_sources` of every source into a fresh SQLite store, full text off;
3. full text: the same into another fresh store with `full_text = true` (every page
   fetched, robots.txt read, pages extracted in the pool);
4. and again, warm: both stores updated once more (feeds unchanged: 304s; full text reuses
   what it stored, so no page is fetched).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from feeds.config import Config, load_config
from feeds.fulltext.extract import Page, PageJob, PageText, read_page
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.update.run import update_sources
from feeds.workers import ParserPool
from support.article_site import SHAPES, ArticlePage, article_page, teaser
from support.feedfactory import FeedItem, rss20

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_site(root: Path, base: str, sources: int, entries: int) -> list[list[ArticlePage]]:
    shapes = list(SHAPES)
    by_source: list[list[ArticlePage]] = []
    (root / "a").mkdir()
    (root / "feeds").mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    for s in range(sources):
        pages = []
        for e in range(entries):
            page = article_page(shapes[(s * entries + e) % len(shapes)], 100 + s * entries + e)
            name = f"a/{s}-{e}.html"
            (root / name).write_text(page.html, encoding="utf-8")
            pages.append(page)
            items = [
                FeedItem(id=f"{s}-{n}", title=p.title, link=f"{base}/a/{s}-{n}.html",
                         summary=teaser(p), published=NOW)
                for n, p in enumerate(pages)
            ]  # fmt: skip
        (root / "feeds" / f"{s}.xml").write_bytes(rss20(items))
        by_source.append(pages)
    return by_source


def config(root: Path, base: str, sources: int, full_text: bool, name: str) -> Config:
    lines = [f'[storage]\nurl = "sqlite:///{root / name}.db"\n[fetch]\nconcurrency = 16\n']
    for s in range(sources):
        lines.append(
            f'[[sources]]\nname = "S{s}"\nurl = "{base}/feeds/{s}.xml"\ncategory = "C"\n'
            f"full_text = {'true' if full_text else 'false'}\n"
        )
    path = root / f"{name}.toml"
    path.write_text("".join(lines), encoding="utf-8")
    return load_config(path)


async def extract_all(pool: ParserPool, pages: Sequence[ArticlePage]) -> float:
    jobs = [
        PageJob(Page(page.html.encode("utf-8"), f"http://127.0.0.1/{n}", "text/html"))
        for n, page in enumerate(pages)
    ]

    async def read(job: PageJob) -> PageText:
        failed = PageText(error="the pool failed")
        return await pool.run(read_page, job, overrun=failed, died=failed)

    await asyncio.gather(*(read(job) for job in jobs[:4]))  # workers started
    started = time.perf_counter()
    done = await asyncio.gather(*(read(job) for job in jobs))
    seconds = time.perf_counter() - started
    failed = sum(d.content is None for d in done)
    if failed:
        print(f"  ({failed} extractions failed)")
    return seconds


async def timed_update(cfg: Config, pool: ParserPool) -> float:
    store = ArticleStore.open(cfg.storage.url)
    try:
        async with make_client(cfg.fetch) as client:
            started = time.perf_counter()
            report = await update_sources(cfg, store, client, lambda: NOW, pool=pool, force=True)
            seconds = time.perf_counter() - started
        if report.failed:
            print(f"  ({len(report.failed)} sources failed: {report.failed[0].errors})")
        tallies = store.full_text_tallies().values()
        failed = sum(t.failed for t in tallies)
        if failed:
            print(f"  ({failed} pages failed: {next(t.reasons for t in tallies if t.failed)})")
        return seconds
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--entries", type=int, default=25, help="per source (at most 25 a run)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feeds-fulltext-") as tmp:
        root = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        site = write_site(root, base, args.sources, args.entries)
        pages = [p for source in site for p in source]
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(port)
            pool = ParserPool(workers=args.workers)
            try:
                return asyncio.run(phases(args, root, base, pages, pool))
            finally:
                pool.close()
        finally:
            server.terminate()
            server.wait(10)


async def phases(
    args: argparse.Namespace, root: Path, base: str, pages: list[ArticlePage], pool: ParserPool
) -> int:
    count = len(pages)
    print(f"{args.sources} sources x {args.entries} entries = {count} pages, "
          f"{args.workers} pool workers, Python http.server on loopback\n")  # fmt: skip
    seconds = await extract_all(pool, pages)
    print(f"extract only   {seconds:6.2f} s  {count / seconds:6.0f} pages/s")
    plain = config(root, base, args.sources, False, "plain")
    full = config(root, base, args.sources, True, "full")
    cold_plain = await timed_update(plain, pool)
    print(f"plain update   {cold_plain:6.2f} s  (cold store)")
    cold_full = await timed_update(full, pool)
    print(
        f"full text      {cold_full:6.2f} s  (cold store: {count} pages fetched and extracted, "
        f"{count / cold_full:.0f} pages/s, {cold_full / cold_plain:.1f}x the plain update)"
    )
    warm_plain = await timed_update(plain, pool)
    warm_full = await timed_update(full, pool)
    print(f"plain, warm    {warm_plain:6.2f} s")
    print(f"full, warm     {warm_full:6.2f} s  (no page fetched: the stored text is reused)")
    return 0


def wait_for(port: int) -> None:
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the page server did not start")


if __name__ == "__main__":
    raise SystemExit(main())
