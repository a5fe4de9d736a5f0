"""How many sources a second `feeds run` fetches: 1, 2 and 4 daemons on one PostgreSQL.

    .venv/bin/python bench/daemon_rate.py --pg postgresql://postgres@127.0.0.1:5432/test
        [--sources 1000] [--concurrency 16] [--delay 0.15] [--repeat 3] [--tree DIR ...]

A loopback server in this process answers every feed after `--delay` seconds, on
127.0.0.1 ... 127.0.0.50 (one port), and logs when each request arrived. For each daemon
count, K `feeds run` daemons (default tick) start on a fresh schema with every source due;
the rate is the sources fetched for the first time per second, from the first request to
the one that completed the set, beside the ceiling of the fetch slots (K x concurrency /
delay). `--tree DIR` (repeatable) runs the daemons of that checkout (PYTHONPATH), runs of
the trees interleaved, so a before/after pair shares the machine's noise; medians shown.
Each schema is dropped after its run. Not a test: exits 1 only when the bench broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from nginx import bind_sockets
from run import clean_env, fresh_schema, git_head, toml_str
from workers import stop

HOSTS = 50
DAEMONS = (1, 2, 4)
REPO = Path(__file__).resolve().parent.parent


class SlowFeeds:
    """Tiny RSS feeds at /f/<n>.xml, each answered after `delay` seconds, with keep-alive."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, path), appended only
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(30)

    async def _listen(self) -> int:
        port, sockets = bind_sockets(HOSTS)
        for sock in sockets:
            await asyncio.start_server(self._handle, sock=sock)
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                self.arrivals.append((time.monotonic(), path))
                await asyncio.sleep(self.delay)
                body = _feed(path)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        writer.close()

    def url(self, number: int) -> str:
        return f"http://127.0.0.{1 + number % HOSTS}:{self.port}/f/{number}.xml"

    def first_fetches(self, since: int, paths: set[str]) -> tuple[list[float], int]:
        """Arrival times of the first request for each of `paths` after log position `since`,
        and how many requests for them came again."""
        firsts: dict[str, float] = {}
        again = 0
        for at, path in self.arrivals[since:]:
            if path not in paths:
                continue
            if path in firsts:
                again += 1
            else:
                firsts[path] = at
        return sorted(firsts.values()), again


def _feed(path: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
        f"<link>https://bench.example/</link><item><guid>{path}</guid><title>{path}</title>"
        f"<link>https://bench.example{path}</link></item></channel></rss>"
    ).encode()


def write_config(folder: Path, store_url: str, server: SlowFeeds, sources: int, slots: int) -> Path:
    lines = [
        "[output]",
        f"dir = {toml_str(str(folder / 'output'))}",
        "[storage]",
        f"url = {toml_str(store_url)}",
        "[fetch]",
        f"concurrency = {slots}",
    ]
    for number in range(sources):
        lines += [
            "[[sources]]",
            f'name = "S{number}"',
            f"url = {toml_str(server.url(number))}",
            f'category = "C{number % 20}"',
            'interval = "1h"',  # one due period per run: the first fetch of each
        ]
    path = folder / "feeds.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_run(
    args: argparse.Namespace, tree: Path, daemons: int, server: SlowFeeds, folder: Path
) -> tuple[float, int]:
    """Fetches per second of `daemons` daemons of `tree` through every source's first fetch,
    and how many sources were fetched more than once."""
    paths = {f"/f/{n}.xml" for n in range(args.sources)}
    with fresh_schema(args.pg) as url:
        config = write_config(folder, url, server, args.sources, args.concurrency)
        since = len(server.arrivals)
        env = {**clean_env(), "PYTHONPATH": str(tree)}
        command = [sys.executable, "-m", "feeds", "--config", str(config), "run"]
        logs = [(folder / f"daemon{i}.log").open("wb") for i in range(daemons)]
        procs = [
            subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=log) for log in logs
        ]
        deadline = time.monotonic() + args.timeout
        try:
            while len(server.first_fetches(since, paths)[0]) < args.sources:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit(f"daemons of {tree} broke or timed out; logs in {folder}")
                time.sleep(0.2)
        finally:
            stop(procs, seconds=120)
            for log in logs:
                log.close()
    firsts, again = server.first_fetches(since, paths)
    return args.sources / max(firsts[-1] - firsts[0], 1e-9), again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="PostgreSQL URL (a schema per run)")
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to run (repeat)")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [REPO]]
    server = SlowFeeds(args.delay)
    rates: dict[tuple[Path, int], list[float]] = {}
    again: Counter[tuple[Path, int]] = Counter()
    with tempfile.TemporaryDirectory(prefix="daemon-rate-") as work:
        for attempt in range(args.repeat):
            for daemons in DAEMONS:
                for tree in trees:
                    rate, twice = one_run(args, tree, daemons, server, Path(work))
                    rates.setdefault((tree, daemons), []).append(rate)
                    again[tree, daemons] += twice
                    print(f"run {attempt + 1}: {tree.name} x{daemons}: {rate:.1f}/s", flush=True)
    print(f"\n{args.sources} sources, concurrency {args.concurrency}, answers after {args.delay}s")
    print(f"{'tree':<28} {'daemons':>7} {'ceiling/s':>9} {'median/s':>8} {'share':>6} {'again':>5}")
    for daemons in DAEMONS:
        ceiling = daemons * args.concurrency / args.delay
        for tree in trees:
            median = statistics.median(rates[tree, daemons])
            label = f"{tree.name} {git_head(tree)}"
            print(
                f"{label:<28} {daemons:>7} {ceiling:>9.0f} {median:>8.1f} "
                f"{median / ceiling:>6.0%} {again[tree, daemons]:>5}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
