"""Would a publish that overlaps the fetch pay? A cold `feeds update`, a `feeds publish`, and
both at once, in one run.

    .venv/bin/python bench/overlap.py [--feeds 1000] [--repeat 3] [--delay 0.5] [--seed 1]

A cold run spends its last 1.5-2 s publishing on about one core while the other stands idle
(README, "Beside the peers"). Rendering categories while the fetch goes on would fill that
core only if the fetch phase left room. This measures the room: one store (A) is updated
cold each round; a second store (B), filled once by an untimed cold update of the same
corpus, is published from scratch (fresh output) each round, alone, and beside A's update,
`--delay` seconds after it starts (as a category would be ready once its sources are read).
The publish runs in a process of its own, so no GIL is shared: the best case for overlap.

Prints per round and as medians: the wall and CPU (process tree, both processes in `both`)
of each mode, the sum of the two alone, and what running them together saved of that sum.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import Corpus
from measure import become_subreaper
from nginx import Nginx
from run import HOSTS, byte_compile, clean_env, write_config

HERE = Path(__file__).resolve().parent
CONCURRENCY = 32
MODES = ("update", "publish", "both")


def _reset(folder: Path, store: bool) -> None:
    """No output (and, with `store`, an empty store) in `folder`."""
    shutil.rmtree(folder / "output", ignore_errors=True)
    if store:
        for path in folder.glob("feeds.db*"):
            path.unlink()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _start(config: Path, command: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(config), command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**clean_env(), "PYTHONPATH": str(HERE.parent)},
        cwd=cwd,
    )


def _wait(process: subprocess.Popen[bytes], what: str) -> None:
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{what} failed ({process.returncode}):\n{stderr.decode()[-2000:]}")


def one(mode: str, a: Path, b: Path, cwd: Path, delay: float) -> tuple[float, float]:
    """Wall and CPU seconds of one mode, from fresh output (and A's empty store)."""
    _reset(a.parent, store=True)
    _reset(b.parent, store=False)
    cpu, started = _children_cpu(), time.monotonic()
    running = []
    if mode in ("update", "both"):
        running.append(("update", _start(a, "update", cwd)))
    if mode == "both":
        time.sleep(delay)
    if mode in ("publish", "both"):
        running.append(("publish", _start(b, "publish", cwd)))
    for what, process in running:
        _wait(process, what)
    wall = time.monotonic() - started
    time.sleep(0.3)  # the pool's workers, reaped by us as the subreaper, count too
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break
    return wall, _children_cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.5, help="publish start, s (0.5)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    become_subreaper()
    byte_compile(HERE.parent / "feeds")
    corpus = Corpus(args.feeds, args.seed)
    runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="feeds-overlap-") as name:
        work = Path(name)
        corpus.write_all(work / "feeds")
        (work / "cwd").mkdir()
        server = Nginx(work, work / "nginx", HOSTS)
        try:
            configs = []
            for store in ("a", "b"):
                (work / store).mkdir()
                configs.append(write_config(work / store, corpus, server.port, CONCURRENCY))
            a, b = configs
            _wait(_start(b, "update", work / "cwd"), "filling store B")  # untimed
            print(f"{args.feeds} feeds, {corpus.total_entries} entries; publish at +{args.delay}s")
            for round_ in range(args.repeat):
                order = MODES if round_ % 2 == 0 else MODES[::-1]
                for mode in order:
                    wall, cpu = one(mode, a, b, work / "cwd", args.delay)
                    runs[mode].append((wall, cpu))
                    print(f"round {round_ + 1}: {mode:<7} {wall:6.2f}s wall {cpu:6.2f}s CPU")
        finally:
            server.close()
    wall = {mode: statistics.median(w for w, _ in runs[mode]) for mode in MODES}
    cpu = {mode: statistics.median(c for _, c in runs[mode]) for mode in MODES}
    alone = wall["update"] + wall["publish"]
    print(f"medians of {args.repeat}:")
    for mode in MODES:
        print(f"  {mode:<7} {wall[mode]:6.2f}s wall {cpu[mode]:6.2f}s CPU")
    print(f"  update + publish alone {alone:.2f}s; together {wall['both']:.2f}s")
    print(
        f"  overlap saved {alone - wall['both']:.2f}s of the publish's {wall['publish']:.2f}s "
        f"({(alone - wall['both']) / wall['publish']:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
