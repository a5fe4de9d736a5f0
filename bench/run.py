"""Benchmark `feeds update` beside its peers, cold, warm and 10% changed, over loopback HTTP.

    .venv/bin/python bench/run.py [--feeds 1000 | --quick] [--peers floor,...,feeds]
                                  [--repeat 1] [--concurrency 32] [--workdir DIR] [--keep]
                                  [--seed 1] [--pg URL [--workers-only]]

One corpus served by nginx on 50 loopback hosts; each client (the floor in one process, the
floor parsing in 2 processes, reader 3.27, newsboat, feeds) starts from its own empty state
on the original corpus and runs cold, warm (every feed answers 304) and after 10% of the
feeds changed, each phase one new process tree, measured (wall, CPU, peak tree RSS). Prints
the table, the goals of issue 17 as ratios with PASS/FAIL, and the correctness checks.

Not a test: it exits 0 whatever the figures say; it exits 1 only when the bench itself broke
(a phase crashed or timed out, nginx died). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import platform
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from corpus import CATEGORIES, Corpus
from measure import GRACE_SECONDS, Measurement, become_subreaper, run_measured
from nginx import NGINX, Nginx

HERE = Path(__file__).resolve().parent
HOSTS = 50
PER_HOST = 2  # feeds' default per-host limit, written into the config and used by the floor
MARKER = "bench-corpus.json"
MB = 1_000_000
PHASES = ("cold", "warm", "changed")
PEERS = ("floor", "floor-2proc", "reader", "newsboat", "feeds")
READER_VERSION = "3.27"
READER_VENV = Path.home() / ".cache" / "feeds-bench" / f"reader-{READER_VERSION}"
NEWSBOAT = "/usr/bin/newsboat"
# Issue 17's goals for feeds, as ratios to the peers of the same run.
GOAL_COLD_VS_READER = 0.1
GOAL_CHANGED_VS_READER = 0.5
GOAL_WARM_FEEDS_PER_S = 1000
GOAL_RSS = 250 * 2**20  # bytes
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
_SUMMARY = re.compile(r"(\d+) source\(s\) updated: (\d+) new, (\d+) changed, (\d+) failed")


class BenchError(Exception):
    """The bench itself broke: no honest figures can be printed."""


@dataclass
class Report:
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))


@dataclass(frozen=True, slots=True)
class Expect:
    """What one phase must show, whoever the client."""

    phase: str
    ok200: int
    ok304: int
    entries: int  # entries in the bodies answered with 200
    new: int  # entries new to a store
    stored: int  # entries a store holds afterwards


def clean_env() -> dict[str, str]:
    """Our environment without proxy settings: every request must stay on loopback."""
    return {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def feed_urls(corpus: Corpus, port: int) -> list[str]:
    """Feed i at http://127.0.0.<1 + i % 50>:port/feeds/<i>.xml, as nginx serves it."""
    return [
        f"http://127.0.0.{1 + spec.number % HOSTS}:{port}/feeds/{spec.filename}"
        for spec in corpus.specs
    ]


def write_config(
    folder: Path,
    corpus: Corpus,
    port: int,
    concurrency: int,
    store_url: str | None = None,
    name: str = "feeds.toml",
) -> Path:
    """A feeds config in `folder` (store and output there too) with every feed of `corpus`."""
    lines = [
        "[output]",
        f"dir = {toml_str(str(folder / 'output'))}",
        'base_url = "http://localhost:8080/"',
        "",
        "[storage]",
        f"url = {toml_str(store_url or 'sqlite:///' + str(folder / 'feeds.db'))}",
        "",
        "[fetch]",
        f"concurrency = {concurrency}",
        f"per_host = {PER_HOST}",
    ]
    for spec, url in zip(corpus.specs, feed_urls(corpus, port), strict=True):
        lines += [
            "",
            "[[sources]]",
            f"name = {toml_str(spec.name)}",
            f"url = {toml_str(url)}",
            f"category = {toml_str(spec.category)}",
            'interval = "1h"',
        ]
    config = folder / name
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def count_articles(db: Path) -> tuple[int, int]:
    """(live articles and tombstones, tombstones): retention leaves a tombstone of each
    article it retires."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        live = conn.execute("select count(*) from articles").fetchone()[0]
        retired = conn.execute("select count(*) from retired_entries").fetchone()[0]
    return int(live) + int(retired), int(retired)


def last_json(stdout: str) -> dict[str, Any]:
    """The counts a client script printed as its last line."""
    lines = stdout.strip().splitlines()
    counts: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return counts


def tail(text: str, lines: int = 25) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:]) or "    (empty)"


# --- the clients ----------------------------------------------------------------------------


class Peer:
    """One client: its own state folder, the command of each phase, its own checks."""

    name = ""
    label = ""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.home = bench.workdir / "peers" / self.name

    def fresh(self) -> None:
        """Empty state, as before a first run."""
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)

    def command(self, phase: str) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return clean_env()

    def settle(self) -> None:
        """Runs between cold and warm, unmeasured (only newsboat needs one)."""

    def check(self, result: Measurement, expect: Expect, report: Report) -> None:
        raise NotImplementedError


class Floor(Peer):
    name, label, procs = "floor", "floor: httpx + feedparser defaults, one process", 1

    def command(self, phase: str) -> list[str]:
        b = self.bench
        return [
            sys.executable, str(HERE / "floor.py"), "--urls", str(b.url_list),
            "--state", str(self.home / "validators.json"), "--concurrency",
            str(b.args.concurrency), "--per-host", str(PER_HOST), "--procs", str(self.procs),
        ]  # fmt: skip

    def check(self, result: Measurement, expect: Expect, report: Report) -> None:
        c = last_json(result.stdout)
        got = (c["feeds"], c["not_modified"], c["entries"], c["errors"])
        report.check(
            got == (expect.ok200, expect.ok304, expect.entries, []),
            f"{self.name} {expect.phase}: parsed {c['feeds']} feeds ({c['entries']} entries, "
            f"{c['bozo']} bozo), {c['not_modified']} not modified, {len(c['errors'])} errors "
            f"(expected {expect.ok200}, {expect.entries}, {expect.ok304}, 0)",
        )
        for error in c["errors"][:3]:
            report.notes.append(f"{self.name} {expect.phase}: {error}")


class Floor2(Floor):
    name, label, procs = "floor-2proc", "floor, parse in 2 processes", 2


class Reader(Peer):
    name, label = "reader", f"reader {READER_VERSION} (PyPI), one worker"

    def command(self, phase: str) -> list[str]:
        return [
            str(self.bench.reader_python), str(HERE / "reader_peer.py"),
            "--db", str(self.home / "reader.sqlite"), "--urls", str(self.bench.url_list),
        ]  # fmt: skip

    def check(self, result: Measurement, expect: Expect, report: Report) -> None:
        c = last_json(result.stdout)
        report.check(
            (c["new"], c["stored"], c["errors"]) == (expect.new, expect.stored, []),
            f"{self.name} {expect.phase}: {c['new']} new entries, {c['stored']} stored, "
            f"{len(c['errors'])} errors (expected {expect.new}, {expect.stored}, 0)",
        )
        for error in c["errors"][:3]:
            report.notes.append(f"{self.name} {expect.phase}: {error}")


class Newsboat(Peer):
    name, label = "newsboat", "newsboat (C++, Debian), `-x reload`"

    def fresh(self) -> None:
        super().fresh()
        (self.home / "urls").write_text("\n".join(self.bench.urls) + "\n", encoding="utf-8")
        (self.home / "config").write_text("use-proxy no\n", encoding="utf-8")

    def command(self, phase: str) -> list[str]:
        return [NEWSBOAT, "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"]

    def env(self) -> dict[str, str]:  # HOME here: it touches nothing of ours or the user's
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}

    def settle(self) -> None:
        """newsboat keeps a feed's ETag and Last-Modified only once the feed is in its cache,
        so its second reload still asks unconditionally (all 200); only the third sends them.
        That second reload runs here, unmeasured, so its warm run is a conditional one."""
        self.bench.server.counts()
        subprocess.run(
            self.command("settle"), cwd=self.home, env=self.env(), check=True, capture_output=True
        )
        served = self.bench.server.counts()
        self.bench.report.notes.append(
            f"newsboat: its second reload after cold (unmeasured) got {served['200']} x 200, "
            f"{served['304']} x 304; warm is its third"
        )

    def check(self, result: Measurement, expect: Expect, report: Report) -> None:
        with contextlib.closing(sqlite3.connect(self.home / "cache.db")) as db:
            stored = db.execute("select count(*) from rss_item").fetchone()[0]
        errors = [line for line in result.stdout.splitlines() if "rror" in line]
        report.check(
            (stored, errors) == (expect.stored, []),
            f"{self.name} {expect.phase}: {stored} items in its cache, {len(errors)} error "
            f"lines (expected {expect.stored}, 0)",
        )
        report.notes.extend(f"{self.name} {expect.phase}: {e[:200]}" for e in errors[:3])


class Feeds(Peer):
    name, label = "feeds", "feeds"

    def fresh(self) -> None:
        super().fresh()
        b = self.bench
        self.config = write_config(self.home, b.corpus, b.server.port, b.args.concurrency)

    def command(self, phase: str) -> list[str]:
        update = [*feeds_command(), "--config", str(self.config), "update"]
        return update if phase == "cold" else [*update, "--all"]  # "1h": nothing is due yet

    def check(self, result: Measurement, expect: Expect, report: Report) -> None:
        match = _SUMMARY.search(result.stdout)
        got = tuple(int(g) for g in match.groups()) if match else None
        stored, retired = count_articles(self.home / "feeds.db")
        report.check(
            (got, stored) == ((self.bench.corpus.count, expect.new, 0, 0), expect.stored),
            f"{self.name} {expect.phase}: summary {match.group(0) if match else 'MISSING'!r}; "
            f"store holds {stored} entries ({retired} retired) (expected {expect.new} new, 0 "
            f"changed, 0 failed; {expect.stored} stored)",
        )
        warnings = [
            line.strip()
            for line in result.stdout.splitlines()
            if line.strip().startswith(("failed", "warning"))
        ]
        if warnings:
            report.notes.append(
                f"feeds {expect.phase}: {len(warnings)} failed/warning lines, e.g. "
                + " | ".join(w[:200] for w in warnings[:3])
            )


PEER_CLASSES: dict[str, type[Peer]] = {c.name: c for c in (Floor, Floor2, Reader, Newsboat, Feeds)}


def feeds_command() -> list[str]:
    script = Path(sys.executable).parent / "feeds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feeds"]


# --- the bench ------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    corpus: Corpus
    server: Nginx
    reader_python: Path | None
    report: Report = field(default_factory=Report)
    # (client, phase) -> one measurement and nginx's counts per round
    runs: dict[tuple[str, str], list[Measurement]] = field(default_factory=dict)
    served: dict[tuple[str, str], list[Counter[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.urls = feed_urls(self.corpus, self.server.port)
        self.url_list = self.workdir / "urls.txt"
        self.url_list.write_text("\n".join(self.urls) + "\n", encoding="utf-8")
        self.timeout = 600 + 2.0 * self.corpus.count  # per phase
        self.plan = self.corpus.changed_plan()
        n, total, added = self.corpus.count, self.corpus.total_entries, sum(self.plan.values())
        specs = self.corpus.specs
        self.expect = {
            "cold": Expect("cold", n, 0, total, total, total),
            "warm": Expect("warm", 0, n, 0, 0, total),
            "changed": Expect(
                "changed",
                len(self.plan),
                n - len(self.plan),
                sum(specs[k - 1].entries + extra for k, extra in self.plan.items()),
                added,
                total + added,
            ),
        }

    def set_corpus(self, changed: bool) -> None:
        """The changed feeds as the changed phase serves them, or as generated (same bytes and
        mtimes, so the same validators)."""
        for number, prepend in self.plan.items():
            spec = self.corpus.specs[number - 1]
            self.corpus.write(spec, self.workdir / "feeds", prepend if changed else 0)

    def round(self, peer: Peer) -> None:
        """Cold, warm and changed for one client, from empty state on the original corpus."""
        self.set_corpus(changed=False)
        peer.fresh()
        self.phase(peer, "cold")
        peer.settle()
        self.phase(peer, "warm")
        self.set_corpus(changed=True)
        self.phase(peer, "changed")

    def phase(self, peer: Peer, phase: str) -> None:
        expect, command = self.expect[phase], peer.command(phase)
        self.server.counts()  # what came before is not this phase's
        result = run_measured(command, env=peer.env(), timeout=self.timeout, cwd=peer.home)
        served = self.server.counts()
        self.runs.setdefault((peer.name, phase), []).append(result)
        self.served.setdefault((peer.name, phase), []).append(served)
        print(
            f"  {peer.name} {phase}: {result.wall:.2f}s wall, {result.cpu:.2f}s CPU, "
            f"{result.peak_rss / 2**20:.0f} MB; {served['200']} x 200, {served['304']} x 304",
            flush=True,
        )
        if result.returncode != 0 or result.timed_out:
            why = (
                f"timed out after {self.timeout:.0f}s"
                if result.timed_out
                else (f"exit {result.returncode}")
            )
            raise BenchError(
                f"{peer.name} {phase} failed ({why}): {shlex.join(command)}\n"
                f"stderr tail:\n{tail(result.stderr)}\nstdout tail:\n{tail(result.stdout)}"
            )
        n = self.corpus.count
        self.report.check(
            (served["200"], served["304"], served["requests"], served["distinct"])
            == (expect.ok200, expect.ok304, n, n),
            f"{peer.name} {phase}: nginx answered {served['200']} x 200, {served['304']} x 304 "
            f"of {served['requests']} requests for {served['distinct']} feeds (expected "
            f"{expect.ok200} x 200, {expect.ok304} x 304, each of {n} feeds once)",
        )
        peer.check(result, expect, self.report)
        self.notes(f"{peer.name} {phase}", result)

    def notes(self, what: str, result: Measurement) -> None:
        logged = [line for line in result.stderr.splitlines() if line.strip()]
        if logged:
            self.report.notes.append(
                f"{what}: {len(logged)} stderr lines, e.g. "
                + " | ".join(line[:200] for line in logged[:3])
            )
        if result.left_behind:
            self.report.notes.append(
                f"{what}: processes still ran {GRACE_SECONDS:.0f}s after it exited (killed): "
                + " | ".join(result.left_behind[:3])
            )
        elif result.linger > 0.5:
            self.report.notes.append(
                f"{what}: its other processes exited {result.linger:.1f}s after it"
            )

    def median(self, peer: str, phase: str, key: Callable[[Measurement], float]) -> float:
        return statistics.median(key(m) for m in self.runs[(peer, phase)])

    def wall(self, peer: str, phase: str) -> float:
        return self.median(peer, phase, lambda m: m.wall)

    def peak(self, peer: str) -> float:
        """Median over the rounds of the largest peak tree RSS of the round's phases."""
        rounds = zip(*(self.runs[(peer, p)] for p in PHASES), strict=True)
        return float(statistics.median(max(m.peak_rss for m in ms) for ms in rounds))


# --- output ---------------------------------------------------------------------------------


def print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(
            "| "
            + " | ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            + " |"
        )
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_tables(bench: Bench, peers: list[Peer]) -> None:
    rows: list[tuple[str, ...]] = [
        ("client", "cold s", "warm (all 304) s", "10% changed s", "peak RSS MB (tree)")
    ]
    cpu: list[tuple[str, ...]] = [
        ("client", "cold CPU s", "warm CPU s", "10% changed CPU s", "cold MB/s", "warm feeds/s")
    ]
    n = bench.corpus.count
    for peer in peers:
        walls = [bench.wall(peer.name, p) for p in PHASES]
        rows.append(
            (peer.label, *(f"{w:.2f}" for w in walls), f"{bench.peak(peer.name) / 2**20:.0f}")
        )
        body = statistics.median(s["body_bytes"] for s in bench.served[(peer.name, "cold")])
        cpu.append(
            (
                peer.label,
                *(f"{bench.median(peer.name, p, lambda m: m.cpu):.2f}" for p in PHASES),
                f"{body / MB / walls[0]:.1f}",
                f"{n / walls[1]:.0f}",
            )
        )
    print_rows(rows)
    print()
    print_rows(cpu)
    if bench.args.repeat > 1:
        for (name, phase), runs in bench.runs.items():
            print(
                f"  {name} {phase}: wall s of each run: " + ", ".join(f"{m.wall:.2f}" for m in runs)
            )


def goals(bench: Bench, ran: set[str]) -> list[tuple[bool | None, str]]:
    """Issue 17's goals for feeds as (PASS, FAIL or None when a peer needed did not run)."""
    if "feeds" not in ran:
        return []
    w = bench.wall
    out: list[tuple[bool | None, str]] = []

    def ratio(phase: str, peer: str, bound: float, text: str, strict: bool = False) -> None:
        if peer not in ran:
            out.append((None, f"{text}: {peer} not run"))
            return
        value = w("feeds", phase) / w(peer, phase)
        pairs = zip(bench.runs[("feeds", phase)], bench.runs[(peer, phase)], strict=True)
        rounds = [ours.wall / theirs.wall for ours, theirs in pairs]
        out.append(
            (
                value < bound if strict else value <= bound,
                f"{text}: feeds {w('feeds', phase):.2f}s / {peer} {w(peer, phase):.2f}s = "
                f"{value:.3f}"
                + (
                    f" (round by round: {', '.join(f'{r:.2f}' for r in rounds)})"
                    * (len(rounds) > 1)
                ),
            )
        )

    ratio("cold", "reader", GOAL_COLD_VS_READER, f"cold <= {GOAL_COLD_VS_READER} x reader")
    ratio("cold", "newsboat", 1.0, "cold ahead of newsboat (< 1)", strict=True)
    ratio(
        "changed",
        "reader",
        GOAL_CHANGED_VS_READER,
        f"10% changed <= {GOAL_CHANGED_VS_READER} x reader",
    )
    ratio("changed", "floor-2proc", 1.0, "10% changed <= floor in 2 processes (<= 1)")
    rate = bench.corpus.count / w("feeds", "warm")
    out.append(
        (
            rate >= GOAL_WARM_FEEDS_PER_S,
            f"warm >= {GOAL_WARM_FEEDS_PER_S} feeds/s including process start: "
            f"{bench.corpus.count} / {w('feeds', 'warm'):.2f}s = {rate:.0f} feeds/s",
        )
    )
    peak = bench.peak("feeds")
    out.append(
        (
            peak <= GOAL_RSS,
            f"peak tree RSS <= {GOAL_RSS / 2**20:.0f} MB: {peak / 2**20:.0f} MB (largest of "
            f"cold, warm, changed)",
        )
    )
    return out


# --- setup ----------------------------------------------------------------------------------


def _runs(python: str) -> bool:
    done = subprocess.run([python, "--version"], capture_output=True, check=False)
    return done.returncode == 0


def reader_python(base: str | None) -> Path:
    """The Python of a venv with reader==READER_VERSION, made once under ~/.cache."""
    python = READER_VENV / "bin" / "python"
    probe = [str(python), "-c", "import reader; print(reader.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.stdout.strip() == READER_VERSION:
            return python
    candidates = [base] if base else [
        *(shutil.which(f"python3.{minor}") for minor in (14, 13, 12)),
        *sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[2-9]*/bin/python")), reverse=True),
    ]  # fmt: skip
    # A pyenv shim is on PATH for every installed version but fails unless that version is
    # selected: take the first candidate that runs.
    found = next((c for c in candidates if c and _runs(c)), None)
    if found is None:
        raise BenchError(f"reader {READER_VERSION} needs Python >= 3.12; give --reader-base")
    print(f"making {READER_VENV} with {found} (once)", flush=True)
    subprocess.run([found, "-m", "venv", "--clear", str(READER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"reader=={READER_VERSION}"], check=True
    )
    return python


def prepare_workdir(given: Path | None) -> tuple[Path, bool]:
    """The work directory and whether we created it (then we may delete it)."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="feeds-bench-")), True
    given = given.resolve()
    if given.exists() and any(given.iterdir()) and not (given / MARKER).exists():
        raise BenchError(f"{given} is not empty and not a bench work directory; refusing")
    for name in ("feeds", "peers", "nginx", "run"):
        shutil.rmtree(given / name, ignore_errors=True)
    given.mkdir(parents=True, exist_ok=True)
    return given, False


def version_line(command: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    return "unknown"


def git_head(tree: Path = HERE.parent) -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],  # read-only
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return "unknown"


def byte_compile(package: Path) -> None:
    """Compile `package`'s modules as an install does (pip writes every module's .pyc), so
    no run pays for compiling them: with PYTHONDONTWRITEBYTECODE set, as on this machine,
    an editable checkout would otherwise be compiled anew by every run (about 60 ms of a
    warm update). reader's venv is installed by pip, so compiled already."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--feeds", type=int, default=1000, metavar="N", help="feeds (1000)")
    size.add_argument("--quick", action="store_true", help="smoke run: 200 feeds")
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"clients to run, comma-separated, in this order ({','.join(PEERS)})",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="fetches at once (32)")
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="K", help="K rounds of every client, medians (1)"
    )
    parser.add_argument("--workdir", type=Path, help="work directory (a fresh temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp work directory")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--reader-base", metavar="PYTHON", help="Python >= 3.12 for reader's venv (found)"
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="also run `feeds run` daemons to a first full fetch: 1 on SQLite, 1 and 2 on "
        "this PostgreSQL (a fresh schema each), e.g. postgresql://postgres@127.0.0.1/test",
    )
    parser.add_argument(
        "--workers-only", action="store_true", help="with --pg: only the daemon phases"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds = 200
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(args.peers) - set(PEERS)
    if unknown or not args.peers:
        parser.error(f"--peers: choose from {', '.join(PEERS)}")
    if args.feeds < 10 or args.concurrency < 1 or args.repeat < 1:
        parser.error("need --feeds >= 10, --concurrency >= 1, --repeat >= 1")
    return args


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(
        f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python "
        f"{platform.python_version()}, feeds {metadata.version('feeds')} at {git_head()} "
        f"(working tree as it is now)"
    )
    become_subreaper()  # so the CPU time of a forkserver's workers is counted
    try:
        workdir, created = prepare_workdir(args.workdir)
    except BenchError as exc:
        print(f"\nBENCH BROKE: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        return bench(args, workdir)
    except (BenchError, OSError, subprocess.CalledProcessError) as exc:
        print(f"\nBENCH BROKE: {exc}", file=sys.stderr)
        return 1
    finally:
        print(f"bench took {time.perf_counter() - started:.0f}s")
        if created and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}")


def bench(args: argparse.Namespace, workdir: Path) -> int:
    n = args.feeds
    started = time.perf_counter()
    corpus = Corpus(n, args.seed)
    total_bytes = corpus.write_all(workdir / "feeds")
    sizes = sorted(p.stat().st_size for p in (workdir / "feeds").glob("*.xml"))
    formats = {f: sum(s.fmt == f for s in corpus.specs) for f in ("rss2", "atom", "rdf")}
    (workdir / MARKER).write_text(json.dumps({"feeds": n, "seed": args.seed}), encoding="utf-8")
    print(
        f"corpus: {n} feeds ({', '.join(f'{v} {f}' for f, v in formats.items())}), "
        f"{corpus.total_entries} entries, {total_bytes / MB:.1f} MB; body KB min "
        f"{sizes[0] / 1000:.1f} / median {statistics.median(sizes) / 1000:.1f} / mean "
        f"{statistics.mean(sizes) / 1000:.1f} / max {sizes[-1] / 1000:.1f}; "
        f"{len(CATEGORIES)} categories; generated in {time.perf_counter() - started:.1f}s "
        f"into {workdir}"
    )
    python = reader_python(args.reader_base) if "reader" in args.peers else None
    if "feeds" in args.peers:
        byte_compile(HERE.parent / "feeds")
    server = Nginx(workdir, workdir / "nginx", HOSTS)
    try:
        b = Bench(args, workdir, corpus, server, python)
        print(
            f"server: {version_line([NGINX, '-v'])} on 127.0.0.1-{HOSTS}:{server.port}; "
            f"concurrency {args.concurrency}, per host {PER_HOST} (feeds and the floors); "
            f"{len(b.plan)} feeds change, {sum(b.plan.values())} new entries; repeat "
            f"{args.repeat}; {version_line([NEWSBOAT, '--version'])}"
            + (f"; reader {READER_VERSION} ({python})" if python else "")
            + "\n",
            flush=True,
        )
        daemons = worker_phases(b) if args.pg else []
        ran = [] if args.workers_only else args.peers
        peers = [PEER_CLASSES[name](b) for name in ran]
        for number in range(args.repeat if peers else 0):
            print(f"round {number + 1} of {args.repeat}:")
            for peer in peers:
                b.round(peer)
        if peers:
            print()
            print_tables(b, peers)
        if daemons:
            print("\n`feeds run` daemons until every source is fetched once (cold):")
            for label, result in daemons:
                print(f"  {label}: {result.wall:.2f}s wall, {result.cpu:.2f}s CPU, "
                      f"{result.peak_rss / 2**20:.0f} MB")  # fmt: skip
        checked = goals(b, set(ran))
        if checked:
            print(f"\ngoals (issue 17), feeds at {git_head()} with its working tree:")
        for ok, text in checked:
            print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")
        print("correctness:")
        for ok, text in b.report.checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}")
        if b.report.notes:
            print("notes:")
            for note in b.report.notes:
                print(f"  - {note}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (a busy machine inflates walls)")
        return 0
    finally:
        server.close()


def worker_phases(b: Bench) -> list[tuple[str, Measurement]]:
    """`feeds run` daemons until every source is fetched once: 1 on SQLite, 1 and 2 on PG."""
    done = []
    for label, workers, on_pg in (("run-sqlite-1", 1, False), ("run-pg-1", 1, True),
                                  ("run-pg-2", 2, True)):  # fmt: skip
        folder = b.workdir / "run" / label
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with fresh_schema(b.args.pg) if on_pg else contextlib.nullcontext(None) as url:
            config = write_config(folder, b.corpus, b.server.port, b.args.concurrency, url)
            command = [
                sys.executable, str(HERE / "workers.py"), "--config", str(config),
                "--workers", str(workers), "--sources", str(b.corpus.count),
            ]  # fmt: skip
            b.server.counts()
            result = run_measured(command, env=clean_env(), timeout=b.timeout)
            served = b.server.counts()
            if result.returncode != 0 or result.timed_out:
                raise BenchError(f"{label} failed: {shlex.join(command)}\n{tail(result.stderr)}")
            b.report.check(
                served["200"] == b.corpus.count,
                f"{label}: nginx answered {served['200']} x 200 (expected {b.corpus.count})",
            )
            done.append((label, result))
    return done


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema in the PostgreSQL at `url`, dropped afterwards; yields its store URL."""
    import psycopg  # only for --pg

    schema = f"bench_{os.getpid()}_{time.monotonic_ns()}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in url else "?"
            yield f"{url}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
