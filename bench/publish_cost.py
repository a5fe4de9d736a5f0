"""Time the 10%-changed `feeds update --all` (and the cold one) of one or more checkouts.

    .venv/bin/python bench/publish_cost.py [--feeds 1000] [--repeat 5] [--tree DIR ...]
                                           [--profile FILE]

One corpus and one server (bench/run.py's) for every `--tree` (default: this checkout). Each
tree gets its own store: a cold update fills it (timed), a warm one settles it, and the store
and output are kept. Then bench/run.py's 10% change is applied to the served feeds, and each
round restores every tree's kept store and output and runs its changed update, the trees
interleaved (order alternating per round) so a before/after pair shares the machine's noise.
A tree runs as `python -m feeds` with PYTHONPATH=DIR and this venv's Python. `--profile`
writes a cProfile of the first tree's last changed run (main process). Prints medians and
ratios to the first tree; exits 1 when a run failed or stored the wrong number of entries.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from corpus import Corpus
from measure import Measurement, become_subreaper, run_measured
from run import HERE, ServerProcess, clean_env, git_head, write_config

SUMMARY = re.compile(r"(\d+) source\(s\) updated: (\d+) new, (\d+) changed, (\d+) failed")


def run_tree(tree: Path, config: Path, cwd: Path, profile: Path | None = None) -> Measurement:
    """One `feeds update --all` of `tree`; exits when it failed."""
    prefix = [sys.executable]
    if profile is not None:
        prefix += ["-m", "cProfile", "-o", str(profile)]
    result = run_measured(
        [*prefix, "-m", "feeds", "--config", str(config), "update", "--all"],
        env={**clean_env(), "PYTHONPATH": str(tree)},
        cwd=cwd,  # a folder without a `feeds` folder of its own, so `-m feeds` is the tree's
        timeout=900,
    )
    if result.returncode != 0 or result.timed_out:
        raise SystemExit(f"{tree}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return result


def new_entries(result: Measurement) -> int:
    found = SUMMARY.search(result.stdout)
    if found is None:
        raise SystemExit(f"no summary in: {result.stdout[-500:]}")
    return int(found.group(2))


def restore(kept: Path, folder: Path) -> None:
    """Put the kept store and output back in `folder`."""
    for path in folder.glob("feeds.db*"):
        path.unlink()
    shutil.rmtree(folder / "output", ignore_errors=True)
    for path in kept.glob("feeds.db*"):
        shutil.copy2(path, folder / path.name)
    shutil.copytree(kept / "output", folder / "output", symlinks=True)


def table(title: str, runs: dict[Path, list[Measurement]], trees: list[Path]) -> None:
    wall0 = statistics.median(r.wall for r in runs[trees[0]])
    cpu0 = statistics.median(r.cpu for r in runs[trees[0]])
    print(f"{title}: {'tree':<28} {'wall s':>7} {'CPU s':>7} {'wall/1st':>8} {'CPU/1st':>8}")
    for tree in trees:
        wall = statistics.median(r.wall for r in runs[tree])
        cpu = statistics.median(r.cpu for r in runs[tree])
        label = f"{tree.name} {git_head(tree)}"
        print(
            f"{title}: {label:<28} {wall:>7.2f} {cpu:>7.2f} {wall / wall0:>8.3f} {cpu / cpu0:>8.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold-repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to run (repeat)")
    parser.add_argument("--profile", type=Path, help="cProfile output of the first tree")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [HERE.parent]]
    become_subreaper()
    corpus = Corpus(args.feeds, args.seed)
    with tempfile.TemporaryDirectory(prefix="feeds-publish-cost-") as name:
        work = Path(name)
        corpus.write_all(work / "feeds")
        (work / "cwd").mkdir()
        server = ServerProcess(work / "feeds", work / "server.log", 7200, 10_000_000)
        try:
            configs: dict[Path, Path] = {}
            cold: dict[Path, list[Measurement]] = {tree: [] for tree in trees}
            for round_ in range(args.cold_repeat):
                for tree in trees if round_ % 2 == 0 else trees[::-1]:
                    folder = work / str(trees.index(tree))
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir()
                    configs[tree], _ = write_config(folder, corpus, server.port, 32)
                    result = run_tree(tree, configs[tree], work / "cwd")
                    cold[tree].append(result)
                    print(f"cold {round_ + 1}: {tree.name}: {result.wall:.2f}s", flush=True)
            for number, tree in enumerate(trees):
                run_tree(tree, configs[tree], work / "cwd")  # warm: settles the store
                kept = work / f"kept{number}"
                kept.mkdir()
                for path in (work / str(number)).glob("feeds.db*"):
                    shutil.copy2(path, kept / path.name)
                shutil.copytree(work / str(number) / "output", kept / "output", symlinks=True)
            plan = corpus.changed_plan()
            for number, prepend in plan.items():
                corpus.write(corpus.specs[number - 1], work / "feeds", prepend)
            added = sum(plan.values())
            runs: dict[Path, list[Measurement]] = {tree: [] for tree in trees}
            for round_ in range(args.repeat):
                for tree in trees if round_ % 2 == 0 else trees[::-1]:
                    number = trees.index(tree)
                    restore(work / f"kept{number}", work / str(number))
                    last = round_ == args.repeat - 1 and number == 0
                    profile = args.profile if last else None
                    result = run_tree(tree, configs[tree], work / "cwd", profile)
                    if new_entries(result) != added:
                        print(f"{tree}: expected {added} new: {result.stdout[-300:]}")
                        return 1
                    runs[tree].append(result)
                    print(
                        f"changed {round_ + 1}: {tree.name}: {result.wall:.2f}s wall, "
                        f"{result.cpu:.2f}s CPU",
                        flush=True,
                    )
        finally:
            server.close()
    table("cold", cold, trees)
    table("changed", runs, trees)
    print(
        f"(medians: {args.cold_repeat} cold and {args.repeat} changed runs per tree, "
        f"{args.feeds} feeds, {len(plan)} changed with {added} new entries)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
