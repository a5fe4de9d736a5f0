"""CPU of parsing (and normalising) the benchmark corpus's bodies in one process: the lxml
fast path (`feeds.parse.fast`) against the feedparser path, in the same run.

    python bench/parse_speed.py [--feeds 300] [--rounds 5]

Each round parses every body both ways (alternating which goes first) and reports the
process CPU time of each; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import Corpus, render
from feeds.model import Source, SourceKind
from feeds.normalise.article import normalise_feed
from feeds.parse import feed as feed_module

HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
NOW = datetime(2025, 6, 2, tzinfo=UTC)


def _run(bodies: list[tuple[str, bytes]], *, fast: bool, normalise: bool) -> float:
    source = Source(
        name="bench", kind=SourceKind.REMOTE, interval=timedelta(hours=1), category="Bench"
    )
    start = time.process_time()
    for url, body in bodies:
        if fast:
            raw = feed_module.parse_feed(body, url=url, headers=HEADERS)
        else:
            with mock.patch.object(feed_module, "read_plain", lambda *_: None):
                raw = feed_module.parse_feed(body, url=url, headers=HEADERS)
        if normalise:
            done = normalise_feed(raw, source=source, now=NOW, first_seen={}, fallback_base=url)
            assert len(done.articles) == len(raw.entries), done.errors
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    corpus = Corpus(args.feeds, args.seed)
    bodies = [
        (f"http://127.0.0.1/{spec.filename}", render(spec, corpus.entries(spec)))
        for spec in corpus.specs
    ]
    size = sum(len(body) for _, body in bodies)
    print(f"{len(bodies)} feeds, {corpus.total_entries} entries, {size / 1e6:.1f} MB")
    for normalise in (False, True):
        times: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(args.rounds):
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for fast in order:
                times[fast].append(_run(bodies, fast=fast, normalise=normalise))
        slow, fast = statistics.median(times[False]), statistics.median(times[True])
        what = "parse + normalise" if normalise else "parse"
        print(
            f"{what}: feedparser path {slow:.2f} s CPU, fast path {fast:.2f} s CPU "
            f"(median of {args.rounds}); fast/feedparser = {fast / slow:.2f}"
        )


if __name__ == "__main__":
    main()
