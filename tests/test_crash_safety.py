"""Crash safety: `kill -9` at random moments of `feeds update` and `feeds run`, a read-only
output folder and a full disk, all as subprocesses against a real HTTP server.

After every kill the output folder may hold only complete, valid files under served names
(a temporary file of the atomic writer may stay behind, but only as a dotfile, which is
never served), the store must open and pass `PRAGMA integrity_check`, and the run lock must
be free. After all kills one normal run must converge to exactly the entries the feeds hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gzip
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import brotli
import httpx
import lxml.html
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feedfactory import FeedItem, atom10, jsonfeed, rss20
from support.feeds_cli import FEEDS_ENV, SEED
from support.feedserver import FeedServer
from support.namespaces import ATOM

from feeds.model import article_id
from feeds.slugs import readable_slug
from feeds.store import ArticleStore

pytestmark = pytest.mark.slow

ENV = {**FEEDS_ENV, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}  # mount is in sbin
MARK = "FEEDS_CRASH_TEST_RUN"  # in every child's environment: finds what outlives a kill

CATEGORIES = (
    "Technik",
    "Sport",
    "Kultur",
    "Wirtschaft",
    "Politik",
    "Wissenschaft",
    "Reise",
    "Gesundheit",
    "Bildung",
    "Umwelt & Natur",
)
FORMATS: tuple[tuple[Callable[..., bytes], str], ...] = (
    (rss20, "application/rss+xml"),
    (atom10, "application/atom+xml"),
    (jsonfeed, "application/feed+json"),
)
LOCAL = "Lokal"
SEED_CATEGORY = "Welt Nachrichten"  # the seed article's header names it
BASE_DATE = datetime(2024, 1, 1, tzinfo=UTC)
LEASE = 2.0  # seconds: `[fetch] lease`, so a later run reclaims a killed run's sources

UPDATE_KILLS = 20
DAEMON_KILLS = 10
SEED_VALUE = 20250807


# --- the sources --------------------------------------------------------------------------


@dataclass
class Remote:
    index: int
    name: str
    path: str
    category: str
    delay: float
    items: list[FeedItem] = field(default_factory=list)


def _item(source: int, number: int, revision: int = 0) -> FeedItem:
    title = f"Quelle {source} Eintrag {number}: Größe & Maß"
    if revision:
        title += f" (Fassung {revision})"
    return FeedItem(
        id=f"urn:crash:{source:03d}:{number}",
        title=title,
        link=f"https://example.com/{source}/{number}",
        html=f"<p>Text {source}/{number} über Bäume &amp; Flüsse.</p>",
        summary=f"Zusammenfassung {source}/{number}",
        published=BASE_DATE + timedelta(hours=source * 24 + number),
        authors=("Jörg",),
    )


class World:
    """Remote sources served by `server` (with a generation that changes every body), the
    seed article folder, and configs pointing at them."""

    def __init__(self, server: FeedServer, count: int, *, slow_every: int = 12) -> None:
        self.server = server
        self.generation = 0
        self.remotes = [
            Remote(
                index=i,
                name=f"src-{i:03d}",
                path=f"/feed/{i:03d}",
                category=CATEGORIES[i % len(CATEGORIES)],
                delay=0.25 if slow_every and i % slow_every == 5 else 0.0,
                items=[_item(i, n) for n in range(2)],
            )
            for i in range(count)
        ]
        self.serve()

    def serve(self) -> None:
        for remote in self.remotes:
            writer, content_type = FORMATS[remote.index % len(FORMATS)]
            body = writer(remote.items, title=f"{remote.name} (Stand {self.generation})")
            self.server.add(remote.path, body, content_type=content_type, delay=remote.delay)

    def advance(self, rng: random.Random, new: float = 0.05, edited: float = 0.08) -> None:
        """A new generation: every body changes; some sources get a new entry, some an
        edited one."""
        self.generation += 1
        for remote in self.remotes:
            roll = rng.random()
            if roll < new:
                remote.items.append(_item(remote.index, len(remote.items)))
            elif roll < new + edited:
                number = rng.randrange(len(remote.items))
                remote.items[number] = _item(remote.index, number, self.generation)
        self.serve()

    def write_config(
        self, root: Path, *, interval: str = "1h", lease: float = LEASE, out: str = "out"
    ) -> Path:
        """A site folder: the seed article, a config, and (later) `var/` and `out/`."""
        (root / "articles").mkdir(parents=True, exist_ok=True)
        shutil.copy(SEED, root / "articles")
        parts = [
            f'[output]\ndir = "{out}"\nbase_url = "https://news.example.org/"\n'
            'title = "Crash Test"\nmax_items = 5000\n',
            f'[storage]\nurl = "sqlite:///{root / "var" / "feeds.db"}"\n',
            f'[fetch]\nlease = "{lease:g}s"\nconcurrency = 16\nper_host = 8\n',
            f'[[sources]]\nname = "{LOCAL}"\npath = "articles"\nlanguage = "de"\n'
            'timezone = "Europe/Berlin"\n',
        ]
        for remote in self.remotes:
            parts.append(
                f'[[sources]]\nname = "{remote.name}"\nurl = "{self.server.url(remote.path)}"\n'
                f'category = "{remote.category}"\ninterval = "{interval}"\n'
            )
        config = root / "feeds.toml"
        config.write_text("\n".join(parts), encoding="utf-8")
        return config

    def expected(self) -> dict[tuple[str, str], str | None]:
        """(source, entry id) of every entry the sources hold, with its current title."""
        entries: dict[tuple[str, str], str | None] = {(LOCAL, SEED.name): None}
        for remote in self.remotes:
            for item in remote.items:
                assert item.id is not None
                entries[(remote.name, item.id)] = item.title
        return entries

    def expected_ids_by_slug(self) -> dict[str, set[str]]:
        by_slug: dict[str, set[str]] = {}
        categories = {r.name: r.category for r in self.remotes} | {LOCAL: SEED_CATEGORY}
        for source, entry_id in self.expected():
            slug = readable_slug(categories[source])
            by_slug.setdefault(slug, set()).add(article_id(source, entry_id))
        return by_slug


def site_paths(config: Path) -> tuple[Path, str, Path]:
    """The store file, its URL and the output folder of a site `World.write_config` wrote."""
    database = config.parent / "var" / "feeds.db"
    return database, f"sqlite:///{database}", config.parent / "out"


# --- processes ----------------------------------------------------------------------------


@dataclass
class Run:
    """One `feeds` subprocess, its start, and its logs in files (pipes could fill up)."""

    process: subprocess.Popen[bytes]
    started: float  # time.time()
    started_utc: str  # as the store writes times
    stdout: Path
    stderr: Path

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout=timeout)

    def out(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def records(self) -> list[dict[str, Any]]:
        found = []
        for line in self.err().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and "time" in record:
                    record["at"] = datetime.fromisoformat(record["time"]).timestamp()
                    found.append(record)
        return found


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Processes:
    """Starts `feeds` with a marker in its environment, so whatever it forked (the parser
    pool's forkserver and workers) can be found after a `kill -9` of the main process."""

    def __init__(self, logs: Path) -> None:
        self.token = uuid.uuid4().hex
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.survivors: list[str] = []  # descriptions of processes that outlived a kill
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, config: Path, *args: str) -> Run:
        self.count += 1
        stdout = self.logs / f"{self.count:03d}.out"
        stderr = self.logs / f"{self.count:03d}.err"
        env = {**ENV, "HOME": str(config.parent), MARK: self.token}
        started, started_utc = time.time(), utc_text(datetime.now(UTC))
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "feeds", "--log-format", "json", "--config",
                 str(config), *args],
                cwd=config.parent, stdout=out, stderr=err, env=env,
            )  # fmt: skip
        self.started.append(process)
        return Run(process, started, started_utc, stdout, stderr)

    def close(self) -> None:
        """End whatever a failed test left running: its own runs, then what they forked."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.reap(grace=0.0)

    def marked(self) -> list[int]:
        needle = f"{MARK}={self.token}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
        return found

    def reap(self, grace: float = 3.0) -> list[str]:
        """Wait up to `grace` seconds for every marked process to end; kill (by pid) and
        report those that do not."""
        deadline = time.monotonic() + grace
        while (alive := self.marked()) and time.monotonic() < deadline:
            time.sleep(0.1)
        described = []
        for pid in alive:
            with contextlib.suppress(OSError):
                words = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
                described.append(f"{pid}: {b' '.join(words).decode(errors='replace')[:160]}")
                os.kill(pid, signal.SIGKILL)
        self.survivors.extend(described)
        return described


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path / "logs")
    try:
        yield started
    finally:
        started.close()


def kill_at(run: Run, moment: float) -> bool:
    """SIGKILL `run` `moment` seconds after its start; False when it had already ended."""
    time.sleep(max(0.0, run.started + moment - time.time()))
    if run.process.poll() is not None:
        return False
    run.process.send_signal(signal.SIGKILL)
    run.wait(30)
    return True


def wait_until(condition: Callable[[], bool], seconds: float, every: float = 0.25) -> float | None:
    """Seconds until `condition` held, or None when it did not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    return None


def feed_files(out: Path) -> dict[Path, int]:
    """Inode of each category's and all/'s feeds: an atomic replace changes it."""
    found = {}
    for folder in out.iterdir() if out.exists() else ():
        for name in VALIDATORS:
            with contextlib.suppress(OSError):
                found[folder / name] = (folder / name).stat().st_ino
    return found


def writing_started(run: Run, out: Path, before: dict[Path, int]) -> bool:
    """Whether `run` has replaced a feed file (or has ended)."""
    return run.process.poll() is not None or feed_files(out) != before


def fetch_done(database: Path, run: Run) -> bool:
    """Whether `run` has stored every source it will (or has ended)."""
    if run.process.poll() is not None:
        return True
    with contextlib.suppress(sqlite3.Error):
        held, fetched, left, _ = store_snapshot(database, run.process.pid, run.started_utc)
        return fetched > 0 and not held and not left
    return False


def fetching_progressed(database: Path, run: Run, count: int) -> bool:
    """Whether `run` has stored at least `count` sources (or has ended, or has none left)."""
    if run.process.poll() is not None:
        return True
    with contextlib.suppress(sqlite3.Error):
        held, fetched, left, _ = store_snapshot(database, run.process.pid, run.started_utc)
        return fetched >= count or (fetched > 0 and not held and not left)
    return False


def holds_leases(database: Path, run: Run) -> bool:
    """Whether `run` holds a lease on some source now (or has ended)."""
    if run.process.poll() is not None:
        return True
    with contextlib.suppress(sqlite3.Error):
        return store_snapshot(database, run.process.pid, run.started_utc)[0] > 0
    return False


def lock_is_free(database: Path) -> bool:
    fd = os.open(str(database) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


# --- checks -------------------------------------------------------------------------------

TEMP_FILE = re.compile(r"^\.[^/]+\.tmp$")  # the atomic writer's `.<name>.XXXXXXXX.tmp`
SITE_STAMP = ".feeds-site"
FRONT_STAMP = ".feeds-front"  # the source health the front page shows
VALIDATORS: dict[str, Callable[[bytes], None]] = {
    "atom.xml": assert_valid_atom,
    "rss.xml": assert_valid_rss,
    "feed.json": assert_valid_jsonfeed,
}


DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {".gz": gzip.decompress, ".br": brotli.decompress}


def validate_file(relative: Path, data: bytes) -> None:
    """Raise AssertionError unless `data` is a complete, valid file of its kind (a
    precompressed variant: complete, and a valid file of its kind once decompressed)."""
    name = relative.name
    if relative.suffix in DECOMPRESS:
        validate_file(relative.with_suffix(""), DECOMPRESS[relative.suffix](data))
    elif name in VALIDATORS:
        VALIDATORS[name](data)
    elif relative.parent.name == "archive" and name.endswith(".xml"):
        assert_valid_atom(data)  # an RFC 5005 archive page
    elif name.endswith(".html"):
        text = data.decode("utf-8")
        assert text.rstrip().endswith("</html>"), "page is cut off (no closing </html>)"
        assert lxml.html.document_fromstring(text).tag == "html"
    elif name == "feeds.opml":
        assert etree.fromstring(data).tag == "opml"
    elif relative in (Path(SITE_STAMP), Path(FRONT_STAMP)):
        assert re.fullmatch(r"[0-9a-f]{64}", data.decode("ascii").strip()), "bad site stamp"
    else:
        raise AssertionError("a file the publisher never writes")


class OutputChecker:
    """Validates every file under an output folder; a file already validated and not
    replaced since (same inode, mtime and size) is not parsed again."""

    def __init__(self, out: Path, ignore: frozenset[str] = frozenset()) -> None:
        self.out = out
        self.ignore = ignore
        self.validated: dict[Path, tuple[int, int, int]] = {}

    def check(self, context: str) -> list[Path]:
        """Check the folder; returns the leftover temporary files (dotfiles)."""
        temps = []
        if not self.out.exists():
            return temps
        for path in sorted(self.out.rglob("*")):
            relative = path.relative_to(self.out)
            hidden = [part for part in relative.parts if part.startswith(".")]
            if path.is_dir():
                assert not hidden, f"{context}: hidden folder {relative}"
                continue
            if relative.name in self.ignore:
                continue
            if TEMP_FILE.match(relative.name) and hidden == [relative.name]:
                temps.append(path)
                continue
            stamps = (Path(SITE_STAMP), Path(FRONT_STAMP))
            assert not hidden or relative in stamps, f"{context}: stray {relative}"
            info = path.stat()
            key = (info.st_ino, info.st_mtime_ns, info.st_size)
            if self.validated.get(path) == key:
                continue
            try:
                validate_file(relative, path.read_bytes())
            except (AssertionError, ValueError) as exc:
                message = f"{context}: {relative} is not complete and valid: {exc}"
                raise AssertionError(message) from None
            self.validated[path] = key
        return temps


def check_store(url: str, context: str) -> list[tuple[str, str, str, str]]:
    """Open the store as the program does and check its integrity and invariants; returns
    (id, source, entry id, title) of every live article."""
    try:
        store = ArticleStore.open(url)
    except Exception as exc:
        raise AssertionError(f"{context}: the store does not open: {exc}") from exc
    try:
        with store.engine.connect() as conn:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(row) for row in conn.exec_driver_sql(sql).all()]

            assert rows("PRAGMA integrity_check") == [("ok",)], context
            assert rows("PRAGMA foreign_key_check") == [], context
            # seq 0: a link not published yet, which has no number.
            duplicate_numbers = rows(
                "SELECT category_slug, seq FROM article_categories WHERE seq > 0 "
                "GROUP BY category_slug, seq HAVING count(*) > 1"
            )
            assert duplicate_numbers == [], f"{context}: arrival numbers reused"
            beyond = rows(
                "SELECT c.category_slug, c.seq FROM article_categories c "
                "LEFT JOIN category_sequences s ON s.category_slug = c.category_slug "
                "WHERE c.seq > 0 AND (s.next_seq IS NULL OR c.seq >= s.next_seq)"
            )
            assert beyond == [], f"{context}: arrival numbers beyond their counter"
            unlinked = rows(
                "SELECT a.id FROM articles a WHERE NOT a.expired AND NOT EXISTS "
                "(SELECT 1 FROM article_categories c WHERE c.article_id = a.id)"
            )
            assert unlinked == [], f"{context}: articles in no category"
            articles = rows("SELECT id, source, entry_id, title FROM articles WHERE NOT expired")
    finally:
        store.close()
    pairs = [(source, entry_id) for _, source, entry_id, _ in articles]
    duplicates = [pair for pair, n in Counter(pairs).items() if n > 1]
    assert not duplicates, f"{context}: duplicated entries {duplicates[:5]}"
    wrong = [row for row in articles if row[0] != article_id(row[1], row[2])]
    assert not wrong, f"{context}: article ids that do not match their entries: {wrong[:3]}"
    return articles


def assert_converged(world: World, url: str, out: Path, context: str) -> None:
    """The store holds exactly the entries the sources hold (current titles), and every
    category's three feeds and `all/` publish every one of them."""
    expected = world.expected()
    articles = check_store(url, context)
    stored = {(source, entry_id): title for _, source, entry_id, title in articles}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    assert not missing and not extra, f"{context}: missing {missing[:5]}, extra {extra[:5]}"
    stale = [key for key, title in expected.items() if title is not None and stored[key] != title]
    assert not stale, f"{context}: stale titles in the store: {stale[:5]}"

    by_slug = world.expected_ids_by_slug()
    by_slug["all"] = {article_id(source, entry_id) for source, entry_id in expected}
    for slug, ids in sorted(by_slug.items()):
        folder = out / slug
        atom = etree.fromstring((folder / "atom.xml").read_bytes())
        rss = etree.fromstring((folder / "rss.xml").read_bytes())
        feed = json.loads((folder / "feed.json").read_text(encoding="utf-8"))
        published = {
            "atom": [e.findtext(f"{ATOM}id") for e in atom.iter(f"{ATOM}entry")],
            "rss": [guid.text for guid in rss.iter("guid")],
            "json": [item["id"] for item in feed["items"]],
        }
        for kind, found in published.items():
            assert len(found) == len(set(found)), f"{context}: {slug}/{kind} repeats entries"
            assert set(found) == ids, (
                f"{context}: {slug} {kind} lacks {len(ids - set(found))} entries "
                f"and has {len(set(found) - ids)} extra"
            )
    everything = json.loads((out / "all" / "feed.json").read_text(encoding="utf-8"))
    titles = {item["id"]: item.get("title") for item in everything["items"]}
    outdated = [
        key
        for key, title in expected.items()
        if title is not None and titles[article_id(*key)] != title
    ]
    assert not outdated, f"{context}: stale titles in all/feed.json: {outdated[:5]}"


def assert_not_served(out: Path, temps: list[Path]) -> None:
    """`feeds serve` answers 404 for the leftover temporary files."""
    from feeds.serve import create_app

    app = create_app(out, metrics=None, health_max_age=timedelta(hours=1), cache_seconds=60)
    paths = ["/all/atom.xml", *("/" + t.relative_to(out).as_posix() for t in temps)]

    async def statuses() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as client:
            return [(await client.get(path)).status_code for path in paths]

    assert asyncio.run(statuses()) == [200] + [404] * len(temps), paths


def store_snapshot(database: Path, pid: int, since: str) -> tuple[int, int, int, int]:
    """What the killed process `pid` left: (leases it still held, sources it fetched, free
    sources it had not fetched yet, pending category marks)."""
    db = sqlite3.connect(database, timeout=30)
    try:
        held = db.execute(
            "SELECT count(*) FROM source_state WHERE lease_owner LIKE ?", (f"%:{pid}:%",)
        ).fetchone()[0]
        fetched = db.execute(
            "SELECT count(*) FROM source_state WHERE last_fetch_utc >= ?", (since,)
        ).fetchone()[0]
        left = db.execute(
            "SELECT count(*) FROM source_state WHERE lease_owner IS NULL "
            "AND (last_fetch_utc IS NULL OR last_fetch_utc < ?)",
            (since,),
        ).fetchone()[0]
        pending = db.execute("SELECT count(*) FROM pending_publish").fetchone()[0]
    finally:
        db.close()
    return held, fetched, left, pending


def written_since(out: Path, since: float) -> int:
    if not out.exists():
        return 0
    return sum(
        1
        for path in out.rglob("*")
        if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime >= since
    )


def summary(title: str, lines: list[str]) -> None:
    print(f"\n=== {title} ===")  # shown with -s, and with the report of a failure
    for line in lines:
        print("  " + line)


# --- 1. kill -9 during `feeds update` -----------------------------------------------------


def test_kill_9_during_update_never_corrupts_output_or_store(
    tmp_path: Path, feed_server: FeedServer, processes: Processes
) -> None:
    rng = random.Random(SEED_VALUE)
    world = World(feed_server, 120)
    config = world.write_config(tmp_path / "site")
    database, url, out = site_paths(config)
    checker = OutputChecker(out)

    # A first run fills the store; the second, timed from its logs, is the reference: the
    # same work as every run below (every body changed, some entries new or edited).
    for context in ("first run", "reference run"):
        if context == "reference run":
            world.advance(rng)
        run = processes.start(config, "-vv", "update", "--all")
        assert run.wait() == 0, f"{context}: {run.err()[-3000:]}"
        ended = time.time()
        processes.reap()
    checker.check("reference run")
    assert_converged(world, url, out, "reference run")
    stored_at = [
        r["at"] - run.started
        for r in run.records()
        if re.search(r", \d+ new \(\d+ retired on arrival\), \d+ updated$", r["message"])
    ]
    assert len(stored_at) == len(world.remotes) + 1, "the reference did not store every source"
    written = [p.stat().st_mtime - run.started for p in out.rglob("*") if p.is_file()]
    written = [at for at in written if at >= 0]
    first, last, total = min(stored_at), max(stored_at), ended - run.started
    first_write, last_write = min(written, default=total), max(written, default=total)
    # Kills wait for the phase they aim at, seen in the store or the output, never for a
    # time measured on a quieter machine: startup ones at a moment from the start; fetch/
    # store ones once the run has stored a random number of its sources (the "moment" below
    # is that number); rendering ones from the moment it has stored its last source,
    # writing ones from its first replaced feed file.
    windows = {
        "startup": (0.2, max(first, 0.3)),
        "publish (rendering)": (0.0, max(first_write - last, 0.05)),
        "publish (writing)": (0.0, max(last_write - first_write, 0.05)),
    }
    plan = [*["startup"] * 2, *["fetch/store"] * 8]
    plan += [*["publish (rendering)"] * 4, *["publish (writing)"] * 6]
    assert len(plan) == UPDATE_KILLS
    stored_by = (1, len(world.remotes) // 3)
    moments = [
        (
            aim,
            float(rng.randint(*stored_by)) if aim == "fetch/store" else rng.uniform(*windows[aim]),
        )
        for aim in plan
    ]
    rng.shuffle(moments)

    phases: Counter[str] = Counter()
    lines = [
        f"reference run: {total:.2f}s; sources stored from {first:.2f}s to {last:.2f}s; "
        f"last file written at {last_write:.2f}s"
    ]
    last_kill = time.time()
    for number, (aim, moment) in enumerate(moments, 1):
        world.advance(rng)
        feeds_before = feed_files(out)
        run = processes.start(config, "-vv", "update", "--all")
        if aim == "fetch/store":
            progressed = partial(fetching_progressed, database, run, int(moment))
            assert wait_until(progressed, 120, every=0.02) is not None, run.err()[-3000:]
            moment = time.time() - run.started  # kill now
        elif aim == "publish (rendering)":
            anchor = wait_until(partial(fetch_done, database, run), 120, every=0.02)
            assert anchor is not None, run.err()[-3000:]
            moment += time.time() - run.started
        elif aim == "publish (writing)":
            anchor = wait_until(partial(writing_started, run, out, feeds_before), 120, 0.01)
            assert anchor is not None, run.err()[-3000:]
            moment += time.time() - run.started
        killed = kill_at(run, moment)
        last_kill = time.time()
        context = f"kill {number} at {moment:.2f}s (aimed at {aim})"
        if not killed:
            assert run.process.returncode == 0, f"{context}: {run.err()[-3000:]}"
        survivors = processes.reap(grace=0.1)
        assert lock_is_free(database), f"{context}: the run lock is still held"
        check_store(url, context)
        held, fetched, left, pending = store_snapshot(database, run.process.pid, run.started_utc)
        temps = checker.check(context)
        new_temps = [t for t in temps if t.stat().st_mtime >= run.started]
        if not killed:
            phase = "ended before the kill"
        elif held or (fetched and left):
            phase = "fetch/store"
        elif not fetched:
            phase = "startup"
        elif pending:
            writing = written_since(out, run.started) or new_temps
            phase = "publish (writing files)" if writing else "publish (before writing)"
        else:
            phase = "after publishing"
        phases[phase] += 1
        lines.append(
            f"{context}: {phase}; {fetched} sources fetched, {held} leased, {left} to go, "
            f"{pending} categories pending, {len(new_temps)} temp file(s) left, "
            f"{len(survivors)} process(es) outlived it"
        )

    # Leases of the last killed run expire after `lease`; then one normal run converges.
    time.sleep(max(0.0, last_kill + LEASE + 0.5 - time.time()))
    run = processes.start(config, "update", "--all", "--wait", "30")
    assert run.wait() == 0, run.err()[-3000:]
    assert ", 0 failed;" in run.out(), run.out()
    processes.reap()
    temps = checker.check("after the converging run")
    assert_converged(world, url, out, "after the converging run")
    assert_not_served(out, temps)
    lines.append(f"phases hit: {dict(phases)}")
    lines.append(f"temporary files left in the output: {[str(t.relative_to(out)) for t in temps]}")
    lines.append(f"processes that outlived a kill: {len(processes.survivors)}")
    summary("kill -9 during feeds update", lines)
    publishing = sum(n for p, n in phases.items() if p.startswith("publish"))
    assert phases["fetch/store"] >= 3 and publishing >= 3, dict(phases)


def test_no_process_outlives_a_killed_update(
    tmp_path: Path, feed_server: FeedServer, processes: Processes
) -> None:
    """`kill -9` of the main process (the OOM killer, an impatient operator) must not leave
    the parser pool running without it."""
    world = World(feed_server, 40, slow_every=2)
    config = world.write_config(tmp_path / "site")
    run = processes.start(config, "update")
    # Kill once the parser pool is up (its two workers and the resource tracker); the
    # workers die with their parent (PR_SET_PDEATHSIG), the tracker when its pipe closes.
    assert wait_until(lambda: len(processes.marked()) >= 3, 60) is not None, run.err()
    assert kill_at(run, 0.0)
    # They end on their own, soon; a busy machine may take a while to schedule them.
    wait_until(lambda: not processes.marked(), 60, every=0.1)
    survivors = processes.reap(grace=0.0)
    assert survivors == [], f"still running 60s after the kill: {survivors}"


# --- 2. kill -9 of the daemon -------------------------------------------------------------


def store_matches(world: World, database: Path, out: Path) -> bool:
    """Cheap poll while a daemon runs: the store holds exactly the sources' entries with
    their current titles, nothing waits to be published, and all/ lists every entry."""
    expected = world.expected()
    try:
        db = sqlite3.connect(database, timeout=5)
        try:
            stored = {
                (source, entry_id): title
                for source, entry_id, title in db.execute(
                    "SELECT source, entry_id, title FROM articles WHERE NOT expired"
                )
            }
            pending = db.execute("SELECT count(*) FROM pending_publish").fetchone()[0]
        finally:
            db.close()
        items = json.loads((out / "all" / "feed.json").read_text(encoding="utf-8"))["items"]
    except (sqlite3.Error, OSError, ValueError):
        return False
    if pending or set(stored) != set(expected):
        return False
    if any(title is not None and stored[key] != title for key, title in expected.items()):
        return False
    return {item["id"] for item in items} == {article_id(*key) for key in expected}


def test_kill_9_of_the_daemon_never_corrupts_and_a_clean_stop_converges(
    tmp_path: Path, feed_server: FeedServer, processes: Processes
) -> None:
    rng = random.Random(SEED_VALUE + 1)
    world = World(feed_server, 60)  # half the sources of the update test: time is short
    # A short interval keeps the daemon fetching, so it picks up each new generation.
    config = world.write_config(tmp_path / "site", interval="4s")
    database, url, out = site_paths(config)
    checker = OutputChecker(out)

    def daemon() -> Run:
        return processes.start(config, "-v", "run", "--tick", "0.5")

    def stop_cleanly(run: Run, context: str) -> None:
        took = wait_until(lambda: store_matches(world, database, out), 180)
        assert took is not None, f"{context}: no convergence within 180s\n{run.err()[-3000:]}"
        # A daemon still importing has no handlers yet (the store may have converged before
        # it got going): the clean stop is asked of a daemon that is up.
        started = wait_until(
            lambda: any(r["message"].startswith("daemon started") for r in run.records()), 30
        )
        assert started is not None, f"{context}: never started\n{run.err()[-3000:]}"
        run.process.send_signal(signal.SIGTERM)
        assert run.wait(30) == 0, f"{context}: {run.err()[-3000:]}"
        assert "Traceback" not in run.err(), run.err()[-3000:]
        processes.reap()

    # The reference: an uninterrupted daemon until everything is stored and published.
    run = daemon()
    stop_cleanly(run, "reference daemon")
    publishes = [r for r in run.records() if r["message"].startswith("published:")]
    reference = publishes[0]["at"] - run.started  # its first publish
    # How long a publish spends writing files: the spread of the mtimes each one left.
    mtimes = [p.stat().st_mtime for p in out.rglob("*") if p.is_file()]
    spreads = []
    for record in publishes:
        began = record["at"] - float(re.findall(r"in ([0-9.]+)s", record["message"])[0])
        mine = [m for m in mtimes if began - 0.01 <= m <= record["at"]]
        spreads.append(max(mine) - min(mine) if mine else 0.0)
    took = max(spreads)
    checker.check("reference daemon")
    assert_converged(world, url, out, "reference daemon")

    # Half the kills counted from the first feed file a publish replaces (two of them at
    # once: a later publish writes few files, and may be over before a delay measured on
    # the first, full one); of the others, two once the daemon holds leases (seen in the
    # store, so a busy machine's slow start cannot turn them into startup kills), the rest
    # at a moment counted from the start.
    plan = [
        *["from the start"] * (DAEMON_KILLS // 2 - 2),
        *["fetching"] * 2,
        *["publishing"] * (DAEMON_KILLS // 2 - 2),
        *["publishing (at once)"] * 2,
    ]
    windows = {
        "from the start": (0.3, reference),
        "fetching": (0.0, 0.0),
        "publishing": (0.0, max(took, 0.02)),
        "publishing (at once)": (0.0, 0.0),
    }
    moments = [(aim, rng.uniform(*windows[aim])) for aim in plan]
    rng.shuffle(moments)
    flags: Counter[str] = Counter()
    lines = [
        f"reference daemon: first publish done {reference:.2f}s after the start, "
        f"{len(publishes)} publish(es), writing files for up to {took:.2f}s"
    ]
    steals = 0
    for number, (aim, moment) in enumerate(moments, 1):
        world.advance(rng)
        feeds_before = feed_files(out)
        run = daemon()
        if aim == "fetching":
            anchor = wait_until(partial(holds_leases, database, run), 120, 0.01)
            assert anchor is not None, run.err()[-3000:]
            moment += time.time() - run.started
        elif aim.startswith("publishing"):
            anchor = wait_until(partial(writing_started, run, out, feeds_before), 120, 0.01)
            assert anchor is not None, run.err()[-3000:]
            moment += time.time() - run.started
        context = f"daemon kill {number} at {moment:.2f}s (aimed at {aim})"
        assert kill_at(run, moment), f"{context}: the daemon ended by itself: {run.err()[-3000:]}"
        survivors = processes.reap(grace=0.1)
        assert lock_is_free(database), f"{context}: the run lock is still held"
        check_store(url, context)
        leases, fetched, _, pending = store_snapshot(database, run.process.pid, run.started_utc)
        temps = checker.check(context)
        records = run.records()
        steals += sum("no longer holds" in r["message"] for r in records)
        published = [r["at"] for r in records if r["message"].startswith("published:")]
        since = max(published, default=run.started) + 0.001
        new_temps = [t for t in temps if t.stat().st_mtime >= run.started]
        publishing = bool(new_temps) or written_since(out, since) > 0
        phase = [
            name
            for name, hit in (
                ("fetching", leases > 0),
                ("publishing", publishing),
                ("startup", not fetched and not published),
            )
            if hit
        ] or ["between jobs"]
        flags.update(phase)
        lines.append(
            f"{context}: {'+'.join(phase)}; {len(published)} publish(es) completed, "
            f"{leases} leases held, {fetched} sources fetched, {pending} categories pending, "
            f"{len(new_temps)} temp file(s) left, {len(survivors)} process(es) outlived it"
        )

    # A last daemon, run to completion: it reclaims the killed one's leases once they
    # expire, publishes everything, and stops with exit 0 on SIGTERM.
    run = daemon()
    stop_cleanly(run, "final daemon")
    temps = checker.check("after the final daemon")
    assert_converged(world, url, out, "after the final daemon")
    assert_not_served(out, temps)
    lines.append(f"kills by phase: {dict(flags)}")
    lines.append(f"write-backs dropped as stale leases in killed daemons: {steals}")
    lines.append(f"temporary files left in the output: {[str(t.relative_to(out)) for t in temps]}")
    lines.append(f"processes that outlived a kill: {len(processes.survivors)}")
    summary("kill -9 of feeds run", lines)
    assert flags["fetching"] >= 1 and flags["publishing"] >= 1, dict(flags)


# --- 3. and 4. an output folder that cannot be written ------------------------------------


def privileged(command: list[str]) -> None:
    """Run a mount command; skip (fail under CI) when this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which(command[0], path=ENV["PATH"]) is None:
        reason = f"needs root and {command[0]} to run {' '.join(command)}"
    else:
        result = subprocess.run(command, capture_output=True, text=True, env=ENV)
        if result.returncode == 0:
            return
        reason = f"{' '.join(command)} is not permitted here: {result.stderr.strip()}"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def mount_points() -> list[str]:
    """Mount points as the kernel lists them (a bind mount of a folder onto itself is one,
    though `os.path.ismount` cannot tell)."""
    lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    points = [line.split(" ")[1] for line in lines]
    return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), p) for p in points]


@contextlib.contextmanager
def mounted(target: Path, *commands: list[str]) -> Iterator[None]:
    """Run the mount `commands` on `target` for the block; unmount whatever they stacked."""
    try:
        for command in commands:
            privileged(command)
        yield
    finally:
        while os.path.realpath(target) in mount_points():
            subprocess.run(["umount", str(target)], check=True, env=ENV)


def snapshot(out: Path) -> dict[Path, bytes]:
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def pending_count(database: Path) -> int:
    db = sqlite3.connect(database)
    try:
        return int(db.execute("SELECT count(*) FROM pending_publish").fetchone()[0])
    finally:
        db.close()


def test_read_only_output_fails_clearly_and_keeps_the_last_output(
    tmp_path: Path, feed_server: FeedServer, processes: Processes
) -> None:
    world = World(feed_server, 12, slow_every=0)
    config = world.write_config(tmp_path / "site")
    database, url, out = site_paths(config)
    run = processes.start(config, "update")
    assert run.wait() == 0, run.err()
    before = snapshot(out)
    OutputChecker(out).check("first publish")

    # One source gains an entry, so its category must be republished.
    world.remotes[0].items.append(_item(0, len(world.remotes[0].items)))
    world.serve()
    with mounted(
        out,
        ["mount", "--bind", str(out), str(out)],
        ["mount", "-o", "remount,ro,bind", str(out)],
    ):
        with pytest.raises(OSError, match="Read-only file system"):
            (out / "probe").write_bytes(b"root cannot write here either")
        run = processes.start(config, "update", "--all")
        code, err = run.wait(), run.err()
        assert code == 1, f"exit {code}: {err}"
        assert "cannot write output" in err and "Read-only file system" in err, err
        assert str(out) in err, err
        assert "Traceback" not in err, err
        assert snapshot(out) == before  # the last output, byte for byte
        OutputChecker(out).check("read-only output")
        # The entry is stored and its category stays marked for the next publish.
        stored = {(s, e) for _, s, e, _ in check_store(url, "read-only output")}
        assert set(world.expected()) == stored
        assert pending_count(database) > 0

    # Writable again: the next run (nothing is due) publishes what the failed one could not.
    run = processes.start(config, "update")
    assert run.wait() == 0, run.err()
    OutputChecker(out).check("after the output became writable")
    assert_converged(world, url, out, "after the output became writable")


def fill(path: Path, leave: int) -> None:
    """Fill the file system of `path` with one file, then give `leave` bytes back."""
    chunk = b"\0" * 65536
    with path.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as exc:
            assert "No space left" in str(exc)
        size = handle.tell()
    os.truncate(path, max(0, size - leave))


def test_full_disk_fails_clearly_leaves_no_partial_file_and_recovers(
    tmp_path: Path, feed_server: FeedServer, processes: Processes
) -> None:
    world = World(feed_server, 12, slow_every=0)
    config = world.write_config(tmp_path / "site")
    database, url, out = site_paths(config)
    out.mkdir()
    checker = OutputChecker(out, ignore=frozenset({".fill"}))

    def fails_for_space(context: str, *args: str) -> None:
        run = processes.start(config, "update", *args)
        code, err = run.wait(), run.err()
        assert code == 1, f"{context}: exit {code}: {err}"
        assert "cannot write output" in err and "No space left on device" in err, err
        assert "Traceback" not in err, err
        temps = checker.check(context)  # whatever is there under a served name is whole
        assert temps == [], f"{context}: temporary files left: {temps}"

    with mounted(out, ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)]):
        # The first publish does not fit in 64 KiB.
        fails_for_space("first publish into 64 KiB")
        assert {(s, e) for _, s, e, _ in check_store(url, "disk full")} == set(world.expected())
        assert pending_count(database) > 0

        # More room: a normal run (nothing is due) publishes everything.
        privileged(["mount", "-o", "remount,size=16m", str(out)])
        run = processes.start(config, "update")
        assert run.wait() == 0, run.err()
        checker.check("after remounting bigger")
        assert_converged(world, url, out, "after remounting bigger")

        # Full again, with a few KiB free, while a republish is due: some files may be
        # replaced, none is left half-written.
        fill(out / ".fill", leave=12 * 1024)
        world.advance(random.Random(SEED_VALUE + 2), new=0.5, edited=0.3)
        fails_for_space("republish on a full disk", "--all")
        (out / ".fill").unlink()
        run = processes.start(config, "update")
        assert run.wait() == 0, run.err()
        checker.check("after freeing space")
        assert_converged(world, url, out, "after freeing space")
