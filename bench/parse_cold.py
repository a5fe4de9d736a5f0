"""A cold `feeds update` of the benchmark corpus with this tree's parser against another
tree's (e.g. main, before the lxml fast path), in the same run, alternating.

    .venv/bin/python bench/parse_cold.py --baseline /work/main [--feeds 300] [--rounds 3]

Both run this venv's Python and packages; the baseline tree's `feeds` package is put first
on the path (PYTHONPATH and the working directory), so only the code differs. Each round
runs both on a fresh SQLite store and prints wall and process-tree CPU; the medians and
the ratio (this tree / baseline) come last.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import Corpus
from measure import Measurement, become_subreaper, run_measured
from run import ServerProcess, clean_env, count_articles, reset_store, write_config

TREE = Path(__file__).resolve().parent.parent


def update(tree: Path, config: Path, timeout: float) -> Measurement:
    env = clean_env() | {"PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "feeds", "--config", str(config), "update"]
    result = run_measured(command, env=env, timeout=timeout, cwd=tree)
    if result.returncode != 0 or result.timed_out:
        raise SystemExit(f"feeds update in {tree} failed:\n{result.stderr[-2000:]}")
    return result


def check_tree(tree: Path) -> str:
    """Which parse module the tree's `feeds` has (the fast path's module, or none)."""
    probe = "import feeds.parse.feed as f; print(f.__file__, hasattr(f, 'read_plain'))"
    env = clean_env() | {"PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    trees = {"this tree": TREE, "baseline": args.baseline.resolve()}
    for name, tree in trees.items():
        print(f"{name}: {tree}: {check_tree(tree)}")
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="feeds-parse-cold-"))
    try:
        corpus = Corpus(args.feeds, args.seed)
        size = corpus.write_all(workdir / "feeds")
        print(f"corpus: {args.feeds} feeds, {corpus.total_entries} entries, {size / 1e6:.1f} MB")
        server = ServerProcess(
            workdir / "feeds",
            workdir / "server.log",
            max_seconds=7200,
            max_requests=4 * args.rounds * args.feeds + 100,
        )
        try:
            config, _ = write_config(workdir, corpus, server.port, args.concurrency)
            runs: dict[str, list[Measurement]] = {name: [] for name in trees}
            for round_ in range(args.rounds):
                order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
                for name in order:
                    reset_store(workdir)
                    result = update(trees[name], config, timeout=600 + 2.0 * args.feeds)
                    stored, _ = count_articles(workdir / "feeds.db")
                    assert stored == corpus.total_entries, (name, stored)
                    runs[name].append(result)
                    print(
                        f"round {round_ + 1} {name}: wall {result.wall:.2f} s, "
                        f"CPU {result.cpu:.2f} s, peak RSS {result.peak_rss / 2**20:.0f} MB"
                    )
        finally:
            server.close()
        med = {
            name: (statistics.median(m.wall for m in ms), statistics.median(m.cpu for m in ms))
            for name, ms in runs.items()
        }
        (wall, cpu), (base_wall, base_cpu) = med["this tree"], med["baseline"]
        print(
            f"median of {args.rounds}: this tree wall {wall:.2f} s CPU {cpu:.2f} s; "
            f"baseline wall {base_wall:.2f} s CPU {base_cpu:.2f} s; "
            f"ratio wall {wall / base_wall:.2f}, CPU {cpu / base_cpu:.2f}; "
            f"load {os.getloadavg()[0]:.2f}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
