"""Time `feeds update` of several checkouts ("trees") in one run, cold, warm or 10% changed.

    .venv/bin/python bench/trees.py [--phase cold,warm,changed] [--tree DIR ...] [--feeds 1000]
                                    [--repeat 5] [--seed 1] [--profile FILE]

One corpus (bench/corpus.py) and one nginx (bench/nginx.py) serve every `--tree` (default:
this checkout); each tree has its own folder, config, SQLite store and output. A tree runs as
`python -m feeds` with PYTHONPATH=DIR and this venv's Python, so only the code differs.

- cold: `update` from an empty store, every round; every entry must be new and stored.
- warm: `update --all` on the filled store; every feed must answer 304, nothing new.
- changed: the store and output kept after a warm run are put back every round, and
  `update --all` runs after the corpus's 10% change; exactly the prepended entries are new.

Phases run in that order. Without cold, one untimed (but checked) cold update fills each
store first; changed without warm has one untimed warm update settle it. The rounds of a phase
interleave the trees, the order alternating each round, so before and after share the
machine's noise. Prints every run, then per phase the medians of wall and CPU (process tree,
bench/measure.py) per tree and the ratios to the first tree (of the medians, and round by
round). `--profile FILE` writes a cProfile (main process) of one more run of the first tree
in the last phase, after the timed rounds. Exits 1 when a run failed or its check did not hold.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corpus import Corpus
from measure import Measurement, become_subreaper, run_measured
from nginx import Nginx
from run import (
    HERE,
    HOSTS,
    PHASES,
    byte_compile,
    clean_env,
    count_articles,
    git_head,
    write_config,
)

SUMMARY = re.compile(r"(\d+) source\(s\) updated: (\d+) new, (\d+) changed, (\d+) failed")
WRITTEN = re.compile(r"(\d+) file\(s\) written")  # the publish's part of the summary
CONCURRENCY = 32


class RunError(Exception):
    """A run failed, or did not fetch or store what its phase must."""


@dataclass(frozen=True, slots=True)
class Tree:
    """One checkout under test and its own work folder."""

    path: Path
    folder: Path
    config: Path
    label: str

    def reset(self) -> None:
        """An empty store and no output, as before a first run."""
        for path in self.folder.glob("feeds.db*"):
            path.unlink()
        shutil.rmtree(self.folder / "output", ignore_errors=True)

    def keep(self) -> None:
        """Copy the store and output aside, for `restore`."""
        kept = self.folder / "kept"
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir()
        for path in self.folder.glob("feeds.db*"):
            shutil.copy2(path, kept / path.name)
        shutil.copytree(self.folder / "output", kept / "output", symlinks=True)

    def restore(self) -> None:
        """Put the store and output copied by `keep` back."""
        self.reset()
        kept = self.folder / "kept"
        for path in kept.glob("feeds.db*"):
            shutil.copy2(path, self.folder / path.name)
        shutil.copytree(kept / "output", self.folder / "output", symlinks=True)


@dataclass(frozen=True, slots=True)
class Expect:
    """What one run of a phase must show."""

    ok200: int
    ok304: int
    new: int
    stored: int


class Bench:
    """The corpus, nginx and the trees of one invocation."""

    def __init__(self, corpus: Corpus, work: Path, server: Nginx, trees: list[Tree]) -> None:
        self.corpus = corpus
        self.work = work
        self.server = server
        self.trees = trees
        self.timeout = 600 + 2.0 * corpus.count
        self.plan = corpus.changed_plan()
        n, total, added = corpus.count, corpus.total_entries, sum(self.plan.values())
        self.expect = {
            "cold": Expect(n, 0, total, total),
            "warm": Expect(0, n, 0, total),
            "changed": Expect(len(self.plan), n - len(self.plan), added, total + added),
        }
        self.before: dict[str, Callable[[Tree], None]] = {
            "cold": Tree.reset,
            "warm": lambda tree: None,
            "changed": Tree.restore,
        }

    def update(self, tree: Tree, phase: str, profile: Path | None = None) -> Measurement:
        """One checked `feeds update` of `tree` in `phase`, from the state that phase needs."""
        self.before[phase](tree)
        prefix = [sys.executable]
        if profile is not None:
            prefix += ["-m", "cProfile", "-o", str(profile)]
        command = [*prefix, "-m", "feeds", "--config", str(tree.config), "update"]
        if phase != "cold":
            command.append("--all")  # every source was fetched within its interval of 1h
        self.server.counts()  # what came before is not this run's
        result = run_measured(
            command,
            env={**clean_env(), "PYTHONPATH": str(tree.path)},
            cwd=self.work / "cwd",  # no `feeds` folder of its own, so `-m feeds` is the tree's
            timeout=self.timeout,
        )
        served = self.server.counts()
        if result.returncode != 0 or result.timed_out:
            raise RunError(
                f"{tree.label} {phase}: exit {result.returncode}"
                f"{' (timed out)' if result.timed_out else ''}\n{result.stderr[-2000:]}"
            )
        expect = self.expect[phase]
        found = SUMMARY.search(result.stdout)
        summary = tuple(int(g) for g in found.groups()) if found else None
        stored, _ = count_articles(tree.folder / "feeds.db")
        got = (summary, served["200"], served["304"], stored)
        wanted = ((self.corpus.count, expect.new, 0, 0), expect.ok200, expect.ok304, expect.stored)
        if got != wanted:
            raise RunError(
                f"{tree.label} {phase}: (summary, 200s, 304s, stored) {got}, expected {wanted}\n"
                f"{result.stdout[-500:]}"
            )
        return result

    def change_corpus(self) -> None:
        """Serve the changed feeds with their prepended entries (new bodies and mtimes)."""
        for number, prepend in self.plan.items():
            self.corpus.write(self.corpus.specs[number - 1], self.work / "feeds", prepend)

    def rounds(self, phase: str, repeat: int) -> dict[Tree, list[Measurement]]:
        """`repeat` rounds of `phase`, the trees interleaved, the order alternating."""
        runs: dict[Tree, list[Measurement]] = {tree: [] for tree in self.trees}
        for round_ in range(repeat):
            for tree in self.trees if round_ % 2 == 0 else self.trees[::-1]:
                result = self.update(tree, phase)
                runs[tree].append(result)
                written = WRITTEN.search(result.stdout)
                print(
                    f"{phase} {round_ + 1}: {tree.label}: {result.wall:.2f}s wall, "
                    f"{result.cpu:.2f}s CPU, {result.peak_rss / 2**20:.0f} MB, "
                    f"{written[1] if written else '?'} files written",
                    flush=True,
                )
        return runs


def table(phase: str, runs: dict[Tree, list[Measurement]], feeds: int) -> None:
    """Medians per tree, their ratios to the first tree's, and the ratios round by round."""
    first = next(iter(runs.values()))
    wall0 = statistics.median(r.wall for r in first)
    cpu0 = statistics.median(r.cpu for r in first)
    print(
        f"{phase:<7} {'tree':<34} {'wall s':>7} {'CPU s':>7} {'MB':>5} {'feeds/s':>7} "
        f"{'wall/1st':>8} {'CPU/1st':>8}  wall/1st by round"
    )
    for tree, measured in runs.items():
        wall = statistics.median(r.wall for r in measured)
        cpu = statistics.median(r.cpu for r in measured)
        peak = statistics.median(r.peak_rss for r in measured) / 2**20
        pairs = zip(measured, first, strict=True)
        by_round = " ".join(f"{r.wall / r0.wall:.3f}" for r, r0 in pairs)
        print(
            f"{phase:<7} {tree.label:<34} {wall:>7.2f} {cpu:>7.2f} {peak:>5.0f} "
            f"{feeds / wall:>7.0f} {wall / wall0:>8.3f} {cpu / cpu0:>8.3f}  {by_round}"
        )


def imported_from(tree: Path, cwd: Path) -> Path:
    """The folder of the `feeds` package that `python -m feeds` runs for `tree`."""
    probe = "import feeds; print(feeds.__file__)"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        env={**clean_env(), "PYTHONPATH": str(tree)},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(found).parent


def parse_phases(values: list[str] | None) -> list[str]:
    """`--phase` values (comma-separated, repeatable) in the order they run."""
    asked = {p.strip() for value in values or ["cold,warm,changed"] for p in value.split(",")}
    unknown = asked - set(PHASES)
    if unknown or not asked:
        raise SystemExit(f"--phase: one or more of {','.join(PHASES)}, not {sorted(unknown)}")
    return [phase for phase in PHASES if phase in asked]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase", action="append", help="cold,warm,changed (default: all)")
    parser.add_argument("--tree", type=Path, action="append", help="checkout to run (repeat)")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="cProfile of the first tree, last phase")
    args = parser.parse_args()
    phases = parse_phases(args.phase)
    paths = [t.resolve() for t in args.tree or [HERE.parent]]
    become_subreaper()
    corpus = Corpus(args.feeds, args.seed)
    with tempfile.TemporaryDirectory(prefix="feeds-trees-") as name:
        work = Path(name)
        size = corpus.write_all(work / "feeds")
        (work / "cwd").mkdir()
        server = Nginx(work, work / "nginx", HOSTS)
        try:
            trees = []
            for number, path in enumerate(paths):
                package = imported_from(path, work / "cwd")
                if not package.is_relative_to(path):
                    raise SystemExit(f"{path}: `python -m feeds` would run {package}")
                byte_compile(package)
                folder = work / str(number)
                folder.mkdir()
                config = write_config(folder, corpus, server.port, CONCURRENCY)
                trees.append(Tree(path, folder, config, f"{number} {path.name} {git_head(path)}"))
            bench = Bench(corpus, work, server, trees)
            print(
                f"{args.feeds} feeds, {corpus.total_entries} entries, {size / 1e6:.1f} MB; "
                f"changed: {len(bench.plan)} feeds, {sum(bench.plan.values())} new entries"
            )
            profile = args.profile.resolve() if args.profile else None  # runs elsewhere
            results = measure(bench, phases, args.repeat, profile)
        except RunError as failed:
            print(failed)
            return 1
        finally:
            server.close()
    for phase, runs in results.items():
        table(phase, runs, args.feeds)
    print(f"(medians of {args.repeat} runs per tree and phase; {HOSTS} loopback hosts)")
    return 0


def measure(
    bench: Bench, phases: list[str], repeat: int, profile: Path | None
) -> dict[str, dict[Tree, list[Measurement]]]:
    """The timed rounds of each phase, with the untimed runs the later phases need."""
    results: dict[str, dict[Tree, list[Measurement]]] = {}
    if "cold" in phases:
        results["cold"] = bench.rounds("cold", repeat)
    else:
        for tree in bench.trees:
            bench.update(tree, "cold")  # fills the store
    if "warm" in phases:
        results["warm"] = bench.rounds("warm", repeat)
    elif "changed" in phases:
        for tree in bench.trees:
            bench.update(tree, "warm")  # settles the store, as a warm round would
    if "changed" in phases:
        for tree in bench.trees:
            tree.keep()
        bench.change_corpus()
        results["changed"] = bench.rounds("changed", repeat)
    if profile is not None:
        bench.update(bench.trees[0], phases[-1], profile)
        print(f"profile of {bench.trees[0].label} {phases[-1]}: {profile}")
    return results


if __name__ == "__main__":
    sys.exit(main())
