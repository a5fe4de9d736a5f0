"""Instructions (valgrind's callgrind) that trees spend on a worker's share of a cold update,
and on `feeds` start-up: counts that do not move with this shared machine's load, where its
timings of the same code moved by a third from run to run.

    .venv/bin/python bench/instructions.py [--tree DIR ...] [--feeds 40] [--seed 1]

- worker: parse and normalise `--feeds` bench feeds (`feeds.workers.digest_body`) and a
  pickle round trip of each result, as the pool sends it back: half the feeds as a first
  run's first reads (their dated entries held back, packed), half with every entry cleaned.
  One round's count is the difference of a run of three rounds and a run of one, halved, so
  imports and warming up are not in it.
- start-up: `python -c` importing the `feeds update` command and printing one plain line.

Each tree runs as `python` with PYTHONPATH=DIR and PYTHONHASHSEED=0 under this venv's
Python; the ratios are to the first tree. Needs valgrind (Debian: `apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import Corpus, render

HERE = Path(__file__).resolve().parent
REFS = re.compile(r"I\s+refs:\s+([\d,]+)")

WORKER = """
import pickle, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from feeds.model import RetireBefore, Source, SourceKind
from feeds.workers import BodyJob, digest_body
folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
jobs = []
for number, path in enumerate(sorted(folder.glob("*.xml"))):
    url = "http://127.0.0.1/feeds/" + path.name
    source = Source(name=path.stem, kind=SourceKind.REMOTE, interval=timedelta(hours=1),
                    url=url, category="Welt")
    retire = RetireBefore(None, hold=number % 2 == 0)
    jobs.append(BodyJob(path.read_bytes(), url, {"content-type": "text/xml"}, source,
                        datetime(2026, 1, 1, tzinfo=UTC), None, known="", retire=retire))
for job in jobs[:2]:
    digest_body(job)
for _ in range(rounds):
    for job in jobs:
        digest = digest_body(job)
        assert digest.normalised is not None, digest.error
        pickle.loads(pickle.dumps(digest, pickle.HIGHEST_PROTOCOL))
"""
START = (
    'import sys; sys.modules.setdefault("httpx._main", None); '
    "from feeds.cli.app import main; import feeds.cli.update; "
    'from feeds.cli.runtime import stdout; stdout.print("started")'
)


def instructions(tree: Path, args: list[str]) -> int:
    """Instructions of `python ARGS` with `tree` first on the path, under callgrind."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *args],
        env=env,
        cwd=tempfile.gettempdir(),  # no `feeds` folder of its own: the tree's package is used
        capture_output=True,
        text=True,
        check=False,
    )
    found = REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{tree}: {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", help="a checkout (default: .)")
    parser.add_argument("--feeds", type=int, default=40, help="bench feeds parsed (40)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind not found (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    trees = [tree.resolve() for tree in args.tree or [HERE.parent]]
    with tempfile.TemporaryDirectory(prefix="feeds-instructions-") as work:
        folder = Path(work) / "feeds"
        folder.mkdir()
        corpus = Corpus(args.feeds, args.seed)
        for spec in corpus.specs:
            (folder / spec.filename).write_bytes(render(spec, corpus.entries(spec)))
        script = Path(work) / "worker.py"
        script.write_text(WORKER, encoding="utf-8")
        entries = corpus.total_entries
        print(f"{args.feeds} bench feeds, {entries} entries; instructions under callgrind")
        rows = []
        for tree in trees:
            one = instructions(tree, [str(script), str(folder), "1"])
            three = instructions(tree, [str(script), str(folder), "3"])
            start = instructions(tree, ["-c", START])
            rows.append((tree, (three - one) // 2, start))
    worker0, start0 = rows[0][1], rows[0][2]
    head = ("tree", "worker round", "per entry", "ratio", "start-up", "ratio")
    print("{:<40} {:>14} {:>10} {:>6} {:>14} {:>6}".format(*head))
    for tree, worker, start in rows:
        print(
            f"{tree!s:<40} {worker:>14,} {worker // entries:>10,} {worker / worker0:>6.3f} "
            f"{start:>14,} {start / start0:>6.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
