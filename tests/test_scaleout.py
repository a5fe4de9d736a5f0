"""Many `feeds run` processes on one PostgreSQL: no double fetch, nothing lost, and recovery.

Real parts only: the PostgreSQL on 127.0.0.1:5432 (a fresh schema per test), daemons as
subprocesses, a feed server on 127.0.0.1. Outside CI these tests skip when PostgreSQL is
unreachable; with CI set they fail instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from support.conformance import assert_valid_atom
from support.default_site import install_default_site
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, SEED, run_feeds
from support.feedserver import FeedServer
from support.postgres import PG, wait_for_postgres

pytestmark = pytest.mark.slow

SOURCES = 300


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG, options=f"-csearch_path={schema}") as conn:
        return conn.execute(sql).fetchall()


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except psycopg.Error:
            pass  # the schema may not exist yet, or the server is restarting
        time.sleep(0.25)
    return False


def write_site(tmp_path: Path, server: FeedServer, url: str, *, lease: str, delay: float) -> Path:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    sources = ['[[sources]]\nname = "Lokal"\npath = "articles"\ntimezone = "Europe/Berlin"\n']
    for n in range(SOURCES):
        items = [
            FeedItem(id=f"{n}-{k}", title=f"Feed {n} item {k}", link=f"https://e.org/{n}/{k}")
            for k in range(2)
        ]
        feed = server.add(f"/f/{n}", rss20(items), delay=delay)
        sources.append(f'[[sources]]\nname = "f{n}"\nurl = "{feed}"\ncategory = "C{n % 7}"\n')
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "{url}"\n'
        f'[fetch]\nconcurrency = 16\nper_host = 16\nlease = "{lease}"\n' + "\n".join(sources),
        encoding="utf-8",
    )
    return config


def start(config: Path, name: str) -> subprocess.Popen[str]:
    log = (config.parent / f"{name}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "-v", "--config", str(config), "run", "--tick", "0.5"],
        cwd=config.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**FEEDS_ENV, "HOME": str(config.parent)},
        start_new_session=True,  # its own process group: a kill -9 takes its parser pool too
    )


def stop(processes: list[subprocess.Popen[str]]) -> list[int]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=20))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


def stored_entries(url: str) -> Counter[tuple[object, object]]:
    rows = query(url, "select source, entry_id from articles where source like 'f%'")
    return Counter((source, entry) for source, entry in rows)


def all_fetched(url: str) -> bool:
    rows = query(url, "select count(*) from source_state where last_fetch_utc is not null")
    return rows[0][0] >= SOURCES


def expected_entries() -> Counter[tuple[object, object]]:
    return Counter((f"f{n}", f"{n}-{k}") for n in range(SOURCES) for k in range(2))


def test_three_daemons_fetch_every_source_exactly_once(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    config = write_site(tmp_path, feed_server, pg_url, lease="5m", delay=0.02)
    daemons = [start(config, f"d{i}") for i in range(3)]
    try:
        assert wait_for(lambda: all_fetched(pg_url), 90), "not every source was fetched"
        time.sleep(2)  # ticks keep running: nothing may be fetched a second time
        assert all(d.poll() is None for d in daemons)
    finally:
        codes = stop(daemons)
    assert codes == [0, 0, 0]
    per_path = Counter(r.path for r in feed_server.requests if r.path.startswith("/f/"))
    assert len(per_path) == SOURCES
    assert set(per_path.values()) == {1}, [p for p, n in per_path.items() if n > 1][:5]
    assert stored_entries(pg_url) == expected_entries()
    # The work was shared, and one publisher wrote valid feeds.
    owners = [(tmp_path / f"d{i}.log").read_text() for i in range(3)]
    assert sum("published:" in log for log in owners) >= 1
    for slug in (f"c{n}" for n in range(7)):
        assert_valid_atom((tmp_path / "out" / slug / "atom.xml").read_bytes())


def test_a_killed_daemon_loses_nothing(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    # Slow feeds and a short lease: the victim dies holding leases, which then expire.
    config = write_site(tmp_path, feed_server, pg_url, lease="3s", delay=0.3)
    daemons = [start(config, f"d{i}") for i in range(3)]
    try:
        assert wait_for(lambda: len(stored_entries(pg_url)) > 20, 60)
        os.killpg(daemons[0].pid, signal.SIGKILL)  # the daemon and its parser workers
        daemons[0].wait()
        assert wait_for(lambda: all_fetched(pg_url), 120), "the survivors did not finish"
        assert wait_for(lambda: stored_entries(pg_url) == expected_entries(), 30)
    finally:
        codes = stop(daemons[1:])
    assert codes == [0, 0]
    assert stored_entries(pg_url) == expected_entries()  # nothing lost, nothing twice
    leased = query(pg_url, "select count(*) from source_state where lease_owner is not null")
    assert leased == [(0,)]


def test_daemons_survive_a_postgresql_restart(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster is not installed")
    version = sorted(os.listdir("/etc/postgresql"))[0]
    config = write_site(tmp_path, feed_server, pg_url, lease="5s", delay=0.0)
    text = config.read_text(encoding="utf-8").replace(
        'category = "C0"\n', 'category = "C0"\ninterval = "2s"\n'
    )
    config.write_text(text, encoding="utf-8")
    daemons = [start(config, f"d{i}") for i in range(2)]
    try:
        assert wait_for(lambda: all_fetched(pg_url), 90)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            timeout=120,
        )
        wait_for_postgres()
        # New entries after the restart reach the store without restarting the daemons.
        fresh = [FeedItem(id="0-new", title="After the restart", link="https://e.org/new")]
        feed_server.add("/f/0", rss20(fresh))
        assert wait_for(lambda: ("f0", "0-new") in stored_entries(pg_url), 90)
        assert all(d.poll() is None for d in daemons)
    finally:
        codes = stop(daemons)
    assert codes == [0, 0]


def test_migrate_store_from_sqlite_to_postgresql(tmp_path: Path, pg_url: str) -> None:
    config = install_default_site(tmp_path)

    def feeds(*args: str) -> subprocess.CompletedProcess[str]:
        return run_feeds("--config", str(config), *args, cwd=tmp_path)

    assert feeds("update").returncode == 0
    moved = feeds("migrate-store", "--to", pg_url)
    assert moved.returncode == 0, moved.stderr
    assert "articles: 1 row(s)" in moved.stdout
    assert query(pg_url, "select title, published from articles") == [
        ("Russland und USA planen bald Botschaftsgespräche", "2025-05-10T11:33:00+02:00")
    ]
    again = feeds("migrate-store", "--to", pg_url)
    assert again.returncode == 1 and "not empty" in again.stderr
    # Pointed at PostgreSQL, the same config runs on: nothing new, nothing lost.
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('url = "sqlite:///../var/feeds.db"', f'url = "{pg_url}"'))
    after = feeds("update")
    assert after.returncode == 0, after.stderr
    assert "0 new, 0 changed" in after.stdout
    assert query(pg_url, "select count(*) from articles") == [(1,)]
