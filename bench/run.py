"""Benchmark `feeds update` against a floor of plain fetch + feedparser, over loopback HTTP.

    .venv/bin/python bench/run.py [--feeds 2000 | --quick] [--concurrency 32] [--repeat 1]
                                  [--workdir DIR] [--keep] [--seed 1]

Not a test: it prints figures and PASS/FAIL against the targets, and exits 0 whatever they
say; it exits 1 only when the bench itself broke (a phase crashed, the server died). See
bench/README.md for what each phase means and the caveats.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import select
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from corpus import CATEGORIES, Corpus
from measure import GRACE_SECONDS, Measurement, become_subreaper, run_measured

HERE = Path(__file__).resolve().parent
HOSTS = 50
PER_HOST = 2  # feeds' default per-host limit, written into the config and used by the floor
MARKER = "bench-corpus.json"
MB = 1_000_000
TARGET_COLD_VS_FLOOR = 0.5
TARGET_WARM_VS_COLD = 0.1
TARGET_RSS = 300 * 1024 * 1024  # bytes
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
_SUMMARY = re.compile(r"(\d+) source\(s\) updated: (\d+) new, (\d+) changed, (\d+) failed")


class BenchError(Exception):
    """The bench itself broke: no honest figures can be printed."""


@dataclass
class Phase:
    name: str
    runs: list[Measurement] = field(default_factory=list)
    served: list[dict[str, int]] = field(default_factory=list)  # server counters per run

    def median(self, key: Callable[[Measurement], float]) -> float:
        return statistics.median(key(m) for m in self.runs)

    @property
    def wall(self) -> float:
        return self.median(lambda m: m.wall)


@dataclass
class Report:
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))


# --- the HTTP server process ----------------------------------------------------------------


class ServerProcess:
    """bench/server.py in its own process; it stops when we close its stdin."""

    def __init__(self, root: Path, log: Path, max_seconds: float, max_requests: int) -> None:
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "server.py"),
                "--root",
                str(root),
                "--hosts",
                str(HOSTS),
                "--max-seconds",
                str(int(max_seconds)),
                "--max-requests",
                str(max_requests),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=clean_env(),
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.close()
            raise BenchError(f"the feed server did not start; its log: {log}")
        self.port = int(line.split()[1])
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def stats(self) -> dict[str, int]:
        if self.proc.poll() is not None:
            raise BenchError(f"the feed server died (exit {self.proc.returncode})")
        with self.opener.open(f"http://127.0.0.1:{self.port}/_stats", timeout=10) as response:
            counts: dict[str, int] = json.load(response)
        return counts

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


def clean_env() -> dict[str, str]:
    """Our environment without proxy settings: every request must stay on loopback."""
    return {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}


# --- the work directory ---------------------------------------------------------------------


def prepare_workdir(given: Path | None) -> tuple[Path, bool]:
    """The work directory and whether we created it (then we may delete it)."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="feeds-bench-")), True
    given = given.resolve()
    if given.exists() and any(given.iterdir()) and not (given / MARKER).exists():
        raise BenchError(f"{given} is not empty and not a bench work directory; refusing")
    for name in ("feeds", "output"):
        shutil.rmtree(given / name, ignore_errors=True)
    given.mkdir(parents=True, exist_ok=True)
    return given, False


def reset_store(workdir: Path) -> None:
    for path in workdir.glob("feeds.db*"):
        path.unlink()
    shutil.rmtree(workdir / "output", ignore_errors=True)


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def write_config(
    workdir: Path,
    corpus: Corpus,
    port: int,
    concurrency: int,
    store_url: str | None = None,
    name: str = "feeds.toml",
) -> tuple[Path, Path]:
    """The feeds config and the floor's URL list, same sources in the same order."""
    urls, lines = (
        [],
        [
            "[output]",
            f"dir = {toml_str(str(workdir / 'output'))}",
            'base_url = "http://localhost:8080/"',
            "",
            "[storage]",
            f"url = {toml_str(store_url or 'sqlite:///' + str(workdir / 'feeds.db'))}",
            "",
            "[fetch]",
            f"concurrency = {concurrency}",
            f"per_host = {PER_HOST}",
        ],
    )
    for spec in corpus.specs:
        url = f"http://127.0.0.{1 + spec.number % HOSTS}:{port}/feeds/{spec.filename}"
        urls.append(url)
        lines += [
            "",
            "[[sources]]",
            f"name = {toml_str(spec.name)}",
            f"url = {toml_str(url)}",
            f"category = {toml_str(spec.category)}",
            'interval = "1h"',
        ]
    config = workdir / name
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    url_list = workdir / "urls.txt"
    url_list.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return config, url_list


def count_articles(db: Path) -> tuple[int, int]:
    """(live articles and tombstones, tombstones): retention leaves a tombstone of each
    article it retires."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        live = conn.execute("select count(*) from articles").fetchone()[0]
        retired = conn.execute("select count(*) from retired_entries").fetchone()[0]
    return int(live) + int(retired), int(retired)


# --- phases ---------------------------------------------------------------------------------


def measure(
    phase: Phase, command: Sequence[str], server: ServerProcess, timeout: float
) -> Measurement:
    before = server.stats()
    result = run_measured(command, env=clean_env(), timeout=timeout)
    phase.served.append(delta(server.stats(), before))
    phase.runs.append(result)
    if result.returncode != 0 or result.timed_out:
        why = f"timed out after {timeout:.0f}s" if result.timed_out else f"exit {result.returncode}"
        raise BenchError(
            f"phase {phase.name} failed ({why}): {shlex.join(command)}\n"
            f"stderr tail:\n{tail(result.stderr)}\nstdout tail:\n{tail(result.stdout)}"
        )
    return result


def tail(text: str, lines: int = 25) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:]) or "    (empty)"


def check_floor(phase: Phase, result: Measurement, corpus: Corpus, report: Report) -> None:
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    ok = (counts["feeds"], counts["entries"], counts["errors"]) == (
        corpus.count,
        corpus.total_entries,
        [],
    )
    report.check(
        ok,
        f"{phase.name}: {counts['feeds']}/{corpus.count} feeds parsed, {counts['entries']}/"
        f"{corpus.total_entries} entries, {counts['bozo']} bozo, {len(counts['errors'])} errors, "
        f"parse {counts['parse_seconds']:.1f}s of {result.wall:.1f}s wall",
    )
    for error in counts["errors"][:3]:
        report.notes.append(f"{phase.name}: {error}")


def check_update(
    phase: Phase,
    result: Measurement,
    report: Report,
    *,
    sources: int,
    new: int,
    ok200: int,
    ok304: int,
) -> None:
    """The feeds summary line and the server's counters must match what this phase implies."""
    match = _SUMMARY.search(result.stdout)
    served = phase.served[-1]
    got = (
        tuple(int(g) for g in match.groups()) if match else None,
        served.get("200", 0),
        served.get("304", 0),
    )
    report.check(
        got == ((sources, new, 0, 0), ok200, ok304),
        f"{phase.name}: summary {match.group(0) if match else 'MISSING'!r}; served "
        f"{got[1]} x 200, {got[2]} x 304 (expected {new} new, 0 changed, 0 failed; "
        f"{ok200} x 200, {ok304} x 304)",
    )
    warnings = [
        line.strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith(("failed", "warning"))
    ]
    if warnings:
        report.notes.append(
            f"{phase.name}: {len(warnings)} failed/warning lines, e.g. "
            + " | ".join(w[:200] for w in warnings[:3])
        )
    logged = [line for line in result.stderr.splitlines() if line.strip()]
    if logged:
        report.notes.append(
            f"{phase.name}: {len(logged)} stderr lines, e.g. "
            + " | ".join(line[:200] for line in logged[:3])
        )
    if result.left_behind:
        report.notes.append(
            f"{phase.name}: processes still ran {GRACE_SECONDS:.0f}s after it exited (killed): "
            + " | ".join(result.left_behind[:3])
        )
    elif result.linger > 0.5:
        report.notes.append(
            f"{phase.name}: its other processes exited {result.linger:.1f}s after it"
        )


# --- output ---------------------------------------------------------------------------------


def print_table(phases: list[Phase], feeds: int) -> None:
    header = ("phase", "runs", "wall s", "CPU s", "peak RSS MB", "feeds/s", "MB/s", "200", "304")
    rows = [header]
    for p in phases:
        body = statistics.median(s.get("body_bytes", 0) for s in p.served)
        rows.append(
            (
                p.name,
                str(len(p.runs)),
                f"{p.wall:.2f}",
                f"{p.median(lambda m: m.cpu):.2f}",
                f"{p.median(lambda m: m.peak_rss) / 2**20:.0f}",
                f"{feeds / p.wall:.0f}",
                f"{body / MB / p.wall:.1f}",
                str(p.served[-1].get("200", 0)),
                str(p.served[-1].get("304", 0)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for p in phases:
        if len(p.runs) > 1:
            walls = ", ".join(f"{m.wall:.2f}" for m in p.runs)
            print(f"  {p.name}: wall s of each run: {walls} (median shown)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--feeds", type=int, default=2000, metavar="N", help="feeds (2000)")
    size.add_argument("--quick", action="store_true", help="smoke run: 200 feeds")
    parser.add_argument("--concurrency", type=int, default=32, help="fetches at once (32)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="run floor, cold and warm K times, report medians (1)",
    )
    parser.add_argument("--workdir", type=Path, help="work directory (a fresh temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp work directory")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
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
    if args.feeds < 10 or args.concurrency < 1 or args.repeat < 1:
        parser.error("need --feeds >= 10, --concurrency >= 1, --repeat >= 1")
    return args


def feeds_command() -> list[str]:
    script = Path(sys.executable).parent / "feeds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feeds"]


def git_head(tree: Path = HERE.parent) -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],  # read-only
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return "unknown"


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
    workdir, created = prepare_workdir(args.workdir)
    try:
        return bench(args, workdir)
    except BenchError as exc:
        print(f"\nBENCH BROKE: {exc}", file=sys.stderr)
        return 1
    finally:
        if created and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}")


def bench(args: argparse.Namespace, workdir: Path) -> int:
    n, k = args.feeds, args.repeat
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
    timeout = 600 + 2.0 * n  # per phase
    phases_run = 4 * k + 1 + (3 if args.pg else 0)
    server = ServerProcess(
        workdir / "feeds",
        workdir / "server.log",
        max_seconds=phases_run * timeout + 600,
        max_requests=int(1.2 * phases_run * n) + 100,
    )
    try:
        return run_phases(args, workdir, corpus, server, timeout)
    finally:
        server.close()


def run_phases(
    args: argparse.Namespace,
    workdir: Path,
    corpus: Corpus,
    server: ServerProcess,
    timeout: float,
) -> int:
    n, report = corpus.count, Report()
    config, url_list = write_config(workdir, corpus, server.port, args.concurrency)
    print(
        f"server: 127.0.0.1-{HOSTS}:{server.port}; config: {config}; concurrency "
        f"{args.concurrency}, per host {PER_HOST}; repeat {args.repeat}\n"
    )
    floor_cmd = [
        sys.executable,
        str(HERE / "floor.py"),
        "--urls",
        str(url_list),
        "--concurrency",
        str(args.concurrency),
        "--per-host",
        str(PER_HOST),
    ]
    update = [*feeds_command(), "--config", str(config), "update"]
    if args.pg and args.workers_only:
        print_table(worker_phases(args, workdir, corpus, server, timeout), n)
        return 0
    floor, fast, cold = Phase("floor"), Phase("floor-fast"), Phase("cold")
    db = workdir / "feeds.db"
    for _ in range(args.repeat):
        check_floor(floor, measure(floor, floor_cmd, server, timeout), corpus, report)
        check_floor(fast, measure(fast, [*floor_cmd, "--fast"], server, timeout), corpus, report)
        reset_store(workdir)
        result = measure(cold, update, server, timeout)
        check_update(cold, result, report, sources=n, new=corpus.total_entries, ok200=n, ok304=0)
        total, expired = count_articles(db)
        report.check(
            total == corpus.total_entries,
            f"cold: store holds {total} articles "
            f"({expired} expired), expected {corpus.total_entries}",
        )

    warm = Phase("warm")
    for _ in range(args.repeat):  # nothing changes between warm runs: each is all 304
        result = measure(warm, [*update, "--all"], server, timeout)
        check_update(warm, result, report, sources=n, new=0, ok200=0, ok304=n)

    plan = corpus.changed_plan()
    added = sum(plan.values())
    for number, prepend in plan.items():
        corpus.write(corpus.specs[number - 1], workdir / "feeds", prepend)
    before, _ = count_articles(db)
    changed = Phase("changed-10%")
    result = measure(changed, [*update, "--all"], server, timeout)
    check_update(
        changed, result, report, sources=n, new=added, ok200=len(plan), ok304=n - len(plan)
    )
    after, _ = count_articles(db)
    report.check(
        after - before == added,
        f"changed-10%: {len(plan)} feeds got {added} new "
        f"entries; store grew {before} -> {after} (+{after - before})",
    )

    phases = [floor, fast, cold, warm, changed]
    if args.pg:
        phases += worker_phases(args, workdir, corpus, server, timeout)
    print_table(phases, n)
    print()
    ratios = (
        ("cold/floor", cold.wall / floor.wall),
        ("cold/floor-fast", cold.wall / fast.wall),
        ("warm/cold", warm.wall / cold.wall),
        ("changed/cold", changed.wall / cold.wall),
    )
    print("wall ratios: " + ", ".join(f"{name} {value:.2f}" for name, value in ratios))
    ours = [cold, warm, changed]
    peak = max(m.peak_rss for p in ours for m in p.runs)
    targets = [
        (
            cold.wall <= TARGET_COLD_VS_FLOOR * floor.wall,
            f"cold wall {cold.wall:.2f}s <= {TARGET_COLD_VS_FLOOR} x floor {floor.wall:.2f}s "
            f"(= {TARGET_COLD_VS_FLOOR * floor.wall:.2f}s)",
        ),
        (
            warm.wall <= TARGET_WARM_VS_COLD * cold.wall,
            f"warm wall {warm.wall:.2f}s <= {TARGET_WARM_VS_COLD} x cold {cold.wall:.2f}s "
            f"(= {TARGET_WARM_VS_COLD * cold.wall:.2f}s)",
        ),
        (
            peak <= TARGET_RSS,
            f"peak tree RSS {peak / 2**20:.0f} MB <= {TARGET_RSS / 2**20:.0f} MB "
            f"(largest run of cold, warm, changed-10%)",
        ),
    ]
    print("\ntargets:")
    for ok, text in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    print("correctness:")
    for ok, text in report.checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    if report.notes:
        print("notes:")
        for note in report.notes:
            print(f"  - {note}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (a busy machine inflates walls)")
    return 0


def worker_phases(
    args: argparse.Namespace, workdir: Path, corpus: Corpus, server: ServerProcess, timeout: float
) -> list[Phase]:
    """`feeds run` daemons until every source is fetched once: 1 on SQLite, 1 and 2 on PG."""
    phases = []
    for label, workers, on_pg in (("run-sqlite-1", 1, False), ("run-pg-1", 1, True),
                                  ("run-pg-2", 2, True)):  # fmt: skip
        reset_store(workdir)
        with fresh_schema(args.pg) if on_pg else contextlib.nullcontext(None) as url:
            config, _ = write_config(
                workdir, corpus, server.port, args.concurrency, url, name=f"{label}.toml"
            )
            phase = Phase(label)
            command = [
                sys.executable, str(HERE / "workers.py"), "--config", str(config),
                "--workers", str(workers), "--sources", str(corpus.count),
            ]  # fmt: skip
            measure(phase, command, server, timeout)
            phases.append(phase)
    return phases


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
