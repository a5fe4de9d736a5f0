"""Time warm `feeds update --all` runs (every feed answers 304) of one or more checkouts.

    .venv/bin/python bench/warm.py [--feeds 2000] [--repeat 5] [--tree DIR ...]

Each `--tree` (default: this checkout) gets its own store and config over one corpus and
one nginx (bench/nginx.py), one cold update to fill the store, then `--repeat` warm runs;
the trees' warm runs are interleaved (the order alternating each round), so a before/after
pair shares the machine's noise. A tree runs as `python -m feeds` with PYTHONPATH=DIR and
this venv's Python. Prints the median wall and CPU (process tree) per tree and the ratios to
the first tree; exits 1 when a run failed or was not all 304s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from corpus import Corpus
from measure import Measurement, become_subreaper, run_measured
from nginx import Nginx
from run import HERE, HOSTS, clean_env, git_head, write_config

SUMMARY = "{n} source(s) updated: {new} new, 0 changed, 0 failed"


def run_tree(tree: Path, config: Path, cwd: Path) -> Measurement:
    """One `feeds update --all` of `tree`; exits when it failed."""
    result = run_measured(
        [sys.executable, "-m", "feeds", "--config", str(config), "update", "--all"],
        env={**clean_env(), "PYTHONPATH": str(tree)},
        cwd=cwd,  # a folder without a `feeds` folder of its own, so `-m feeds` is the tree's
        timeout=600,
    )
    if result.returncode != 0 or result.timed_out:
        raise SystemExit(f"{tree}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to run (repeat)")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [HERE.parent]]
    become_subreaper()
    corpus = Corpus(args.feeds, args.seed)
    with tempfile.TemporaryDirectory(prefix="feeds-warm-") as folder:
        work = Path(folder)
        corpus.write_all(work / "feeds")
        (work / "cwd").mkdir()
        server = Nginx(work, work / "nginx", HOSTS)
        try:
            configs = {}
            for number, tree in enumerate(trees):
                (work / str(number)).mkdir()
                configs[tree] = write_config(work / str(number), corpus, server.port, 32)
                run_tree(tree, configs[tree], work / "cwd")  # cold: fills the store
            runs: dict[Path, list[Measurement]] = {tree: [] for tree in trees}
            for round_ in range(args.repeat):
                for tree in trees if round_ % 2 == 0 else trees[::-1]:
                    server.counts()
                    result = run_tree(tree, configs[tree], work / "cwd")
                    served = server.counts()
                    expected = SUMMARY.format(n=args.feeds, new=0)
                    if expected not in result.stdout or served.get("304") != args.feeds:
                        print(f"{tree}: not all 304: {served} {result.stdout[-300:]}")
                        return 1
                    runs[tree].append(result)
                    print(
                        f"round {round_ + 1}: {tree.name}: {result.wall:.2f}s wall, "
                        f"{result.cpu:.2f}s CPU",
                        flush=True,
                    )
        finally:
            server.close()
    wall0 = statistics.median(r.wall for r in runs[trees[0]])
    cpu0 = statistics.median(r.cpu for r in runs[trees[0]])
    print(f"{'tree':<32} {'wall s':>7} {'CPU s':>7} {'feeds/s':>8} {'wall/1st':>8} {'CPU/1st':>8}")
    for tree in trees:
        wall = statistics.median(r.wall for r in runs[tree])
        cpu = statistics.median(r.cpu for r in runs[tree])
        label = f"{tree.name} {git_head(tree)}"
        print(
            f"{label:<32} {wall:>7.2f} {cpu:>7.2f} {args.feeds / wall:>8.0f} "
            f"{wall / wall0:>8.3f} {cpu / cpu0:>8.3f}"
        )
    print(f"(medians of {args.repeat} warm runs each; {HOSTS} loopback hosts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
