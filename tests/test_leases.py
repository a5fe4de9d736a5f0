"""Finding 6 of issue 12: a killed run's leases never hold its sources back.

SQLite: whoever holds the run lock takes every lease over (no one else can be running).
PostgreSQL: a lease records its owner's session (backend pid); once that session has
ended, the lease is free at once, not when it expires. `update` names the sources it left
because a live process holds them.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, run_feeds
from support.feedserver import FeedServer

from feeds.store import ArticleStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NAMES = [f"src{i}" for i in range(5)]


def _feed(n: int) -> bytes:
    return rss20([FeedItem(id=f"urn:{n}", title=f"Item {n}", link=f"https://example.org/{n}")])


def _config(tmp_path: Path, feed_server: FeedServer, store_url: str, delay: float = 0.0) -> Path:
    urls = [feed_server.add(f"/{name}", _feed(i), delay=delay) for i, name in enumerate(NAMES)]
    sources = "".join(
        f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "C"\n'
        for name, url in zip(NAMES, urls, strict=True)
    )
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\nbase_url = "https://news.example.org/"\n'
        f'[storage]\nurl = "{store_url}"\n'
        '[fetch]\nlease = "1h"\n' + sources,  # a lease that would outlast the test
        encoding="utf-8",
    )
    return config


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _start_update(config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(config), "update", "--all"],
        cwd=cwd,
        env={**FEEDS_ENV, "HOME": str(cwd)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(child: subprocess.Popen[bytes]) -> None:
    os.killpg(child.pid, signal.SIGKILL)  # the run and its parser workers
    child.wait()


def test_sqlite_a_killed_runs_leases_are_taken_over(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    database = tmp_path / "feeds.db"
    config = _config(tmp_path, feed_server, f"sqlite:///{database}", delay=10.0)
    child = _start_update(config, tmp_path)

    def leased() -> int:
        if not database.exists():
            return 0
        try:
            with sqlite3.connect(database, timeout=1) as db:
                query = "SELECT count(*) FROM source_state WHERE lease_owner IS NOT NULL"
                return int(db.execute(query).fetchone()[0])
        except sqlite3.OperationalError:  # the schema is still being made
            return 0

    try:
        _wait_for(lambda: leased() == len(NAMES), "the run to lease every source")
    finally:
        _kill(child)
    for i, name in enumerate(NAMES):  # the hosts answer at once now
        feed_server.add(f"/{name}", _feed(i))
    result = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Before: "0 source(s) updated", and nothing said of the five leased by the dead run.
    assert result.stdout.startswith("5 source(s) updated: 5 new"), result.stdout
    assert leased() == 0


def test_postgresql_a_closed_sessions_leases_are_free_at_once(pg_url: str) -> None:
    holder, other = ArticleStore.open(pg_url), ArticleStore.open(pg_url)
    try:
        holder.ensure_states(NAMES)
        held = holder.claim(NAMES, "holder", NOW, NOW + timedelta(hours=1))
        assert len(held) == len(NAMES)
        # While the holder's session lives, its leases hold and are reported as held.
        assert other.claim(NAMES, "other", NOW, NOW + timedelta(hours=1)) == []
        assert other.held_elsewhere(NAMES, "other", NOW) == sorted(NAMES)
        backend = holder._backend()
        holder.close()  # as a kill -9 does: the server ends the session

        def session_ended() -> bool:
            with other.engine.connect() as conn:
                query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                return conn.execute(query, {"pid": backend}).scalar_one() == 0

        # The server ends a closed session's backend a moment after the client left.
        _wait_for(session_ended, "the server to end the holder's session", seconds=10)
        # Free then, long before the lease's hour is up; the fence moved on, so a late
        # write-back of the holder would be refused.
        taken = other.claim(NAMES, "other", NOW, NOW + timedelta(hours=1))
        assert sorted(lease.source for lease in taken) == sorted(NAMES)
        assert all(lease.fence == 2 for lease in taken)
        assert other.held_elsewhere(NAMES, "nobody", NOW) == sorted(NAMES)
    finally:
        holder.close()
        other.close()


def test_update_names_the_sources_a_live_process_holds(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    config = _config(tmp_path, feed_server, pg_url)
    holder = ArticleStore.open(pg_url)
    try:
        holder.ensure_states(NAMES)
        now = datetime.now(UTC)
        assert len(holder.claim(NAMES[:2], "daemon-1", now, now + timedelta(hours=1))) == 2
        result = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
    finally:
        holder.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 source(s) updated"), result.stdout
    assert "skipped 2 source(s) another running process holds: src0, src1" in result.stdout


def test_postgresql_a_killed_runs_leases_are_free_at_once(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    config = _config(tmp_path, feed_server, pg_url, delay=10.0)
    child = _start_update(config, tmp_path)
    store = ArticleStore.open(pg_url)

    def leased() -> int:
        with store.engine.connect() as conn:
            query = text("SELECT count(*) FROM source_state WHERE lease_owner IS NOT NULL")
            return int(conn.execute(query).scalar_one())

    try:
        try:
            _wait_for(lambda: leased() == len(NAMES), "the run to lease every source")
        finally:
            _kill(child)
        for i, name in enumerate(NAMES):
            feed_server.add(f"/{name}", _feed(i))
        # The lease is an hour; the dead run's session is gone, so its leases are free now.
        result = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("5 source(s) updated: 5 new"), result.stdout
        assert leased() == 0
    finally:
        store.close()
