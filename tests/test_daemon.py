"""`feeds run` and the operations around it, as subprocesses against a local HTTP server."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.conformance import assert_valid_atom
from support.daemon import daemon_with_metrics
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, SEED, run_feeds
from support.feedserver import FeedServer
from support.terminal import read_terminal
from support.waiting import wait_for

pytestmark = pytest.mark.slow


def source(name: str, url: str, category: str) -> str:
    return (
        f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "{category}"\ninterval = "1h"\n'
    )


HEAD = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
LOCAL = '[[sources]]\nname = "Lokal"\npath = "articles"\ntimezone = "Europe/Berlin"\n'


@pytest.fixture
def site(tmp_path: Path, feed_server: FeedServer) -> Path:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    for name in ("technik", "sport", "kultur"):
        items = [FeedItem(id=f"{name}-1", title=f"{name} one", link=f"https://example.com/{name}")]
        feed_server.add(f"/{name}", rss20(items))
    config = tmp_path / "feeds.toml"
    config.write_text(
        HEAD + LOCAL + source("Technik", feed_server.url("/technik"), "Technik"), encoding="utf-8"
    )
    return config


@pytest.fixture
def daemon(site: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "-v", "--config", str(site), "run", "--tick", "0.5",
         "--metrics-port", "0"],
        cwd=site.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**FEEDS_ENV, "HOME": str(site.parent)},
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_daemon_follows_config_edits_and_stops_on_sigterm(
    site: Path, daemon: subprocess.Popen[str], feed_server: FeedServer
) -> None:
    out = site.parent / "out"
    assert wait_for(lambda: (out / "technik" / "atom.xml").exists()), "no output"
    assert wait_for(lambda: (out / "welt-nachrichten" / "atom.xml").exists())
    assert_valid_atom((out / "technik" / "atom.xml").read_bytes())

    # A new source in the config: its category appears within seconds.
    text = site.read_text(encoding="utf-8") + source("Sport", feed_server.url("/sport"), "Sport")
    site.write_text(text, encoding="utf-8")
    assert wait_for(lambda: (out / "sport" / "atom.xml").exists(), 15), "new source not picked up"

    # A broken edit is logged and ignored; the daemon keeps running and publishing.
    site.write_text(text + "[[sources]]\nname = 'Broken'\ninterval = 'soon'\n", encoding="utf-8")
    time.sleep(1.5)
    assert daemon.poll() is None
    article = "title: Neuer Artikel\ndate: 2026-01-01T10:00\ncategory: Welt Nachrichten"
    (site.parent / "articles" / "neu.md").write_text(
        f"---\n{article}\n---\nText\n", encoding="utf-8"
    )
    atom = out / "welt-nachrichten" / "atom.xml"
    assert wait_for(lambda: b"Neuer Artikel" in atom.read_bytes(), 15), "new article not published"

    # A one-shot run while the daemon holds the store exits 4 at once, touching nothing.
    site.write_text(text, encoding="utf-8")
    busy = run_feeds("--config", str(site), "update", cwd=site.parent)
    assert busy.returncode == 4
    assert "another feeds run holds" in busy.stderr

    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    log = daemon.stderr.read()
    assert "config reload failed; keeping the last good config" in log
    assert "key 'interval': bad duration 'soon'" in log
    assert "Traceback" not in log
    assert len(feed_server.requests_to("/technik")) == 1  # fetched once: not due again yet


def test_metrics_and_health(tmp_path: Path, feed_server: FeedServer) -> None:
    (tmp_path / "feeds.toml").write_text(
        HEAD + source("Technik", feed_server.url("/technik"), "Technik"), encoding="utf-8"
    )
    feed_server.add("/technik", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    with daemon_with_metrics(Path("feeds.toml"), tmp_path) as (process, base):
        assert wait_for(lambda: (tmp_path / "out" / "technik" / "atom.xml").exists())

        def healthy() -> bool:
            try:
                return urllib.request.urlopen(base + "/healthz", timeout=2).status == 200
            except OSError:
                return False

        assert wait_for(healthy)

        def scraped() -> str:
            return str(urllib.request.urlopen(base + "/metrics", timeout=2).read().decode())

        # The publish is recorded once all its files (and their variants) are written: the
        # atom.xml above may appear a moment before.
        assert wait_for(lambda: "feeds_last_publish_timestamp_seconds{" in scraped())
        metrics = scraped()
        assert 'feeds_fetches_total{outcome="new"} 1.0' in metrics
        assert 'feeds_entries_stored_total{kind="new"} 1.0' in metrics
        assert "feeds_publish_duration_seconds_count" in metrics
        assert 'feeds_last_publish_timestamp_seconds{category="technik"}' in metrics
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_concurrent_updates_never_collide(site: Path) -> None:
    text = site.read_text(encoding="utf-8")
    site.write_text(text, encoding="utf-8")
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "feeds", "--config", str(site), "update", *extra],
            cwd=site.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**FEEDS_ENV, "HOME": str(site.parent)},
        )
        for extra in ([], ["--wait", "60"], ["--wait", "60"], [])
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in runs]
    codes = [code for code, _ in results]
    assert codes[1] == codes[2] == 0, results  # those that wait all complete
    assert set(codes) <= {0, 4}, results  # the others complete or step aside
    for code, err in results:
        assert "database is locked" not in err
        if code == 4:
            assert "another feeds run holds" in err
    assert_valid_atom((site.parent / "out" / "technik" / "atom.xml").read_bytes())


def test_status_table_json_and_strict(site: Path, feed_server: FeedServer) -> None:
    text = site.read_text(encoding="utf-8")
    site.write_text(text + source("Down", feed_server.url("/down"), "Technik"), encoding="utf-8")
    before = run_feeds("--config", str(site), "status", "--json", cwd=site.parent)
    assert before.returncode == 0
    assert {r["outcome"] for r in json.loads(before.stdout)} == {None}

    strict = run_feeds("--config", str(site), "update", "--strict", cwd=site.parent)
    assert strict.returncode == 3
    assert "failed  Down: HTTP 404" in strict.stdout

    rows = json.loads(run_feeds("--config", str(site), "status", "--json", cwd=site.parent).stdout)
    assert rows[0]["name"] == "Down"  # trouble first
    assert rows[0]["error_count"] == 1 and rows[0]["last_error"] == "HTTP 404 Not Found"
    by_name = {r["name"]: r for r in rows}
    assert by_name["Technik"]["items"] == 1 and by_name["Technik"]["outcome"] == "new"
    assert by_name["Lokal"]["items"] == 1
    table = run_feeds("--config", str(site), "status", cwd=site.parent)
    assert table.returncode == 0
    assert "Down" in table.stdout and "HTTP 404" in table.stdout


def test_json_logs_are_one_object_per_line(site: Path, feed_server: FeedServer) -> None:
    text = site.read_text(encoding="utf-8")
    site.write_text(text + source("Down", feed_server.url("/down"), "Technik"), encoding="utf-8")
    result = run_feeds("--log-format", "json", "--config", str(site), "update", cwd=site.parent)
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records, "no log lines"
    assert {"time", "level", "logger", "message"} <= set(records[0])
    failure = next(r for r in records if "Down" in r["message"])
    assert failure["level"] == "warning"
    assert "fetch failed (1 in a row): HTTP 404" in failure["message"]


def test_sighup_reload_applies_a_shorter_interval_at_once(
    site: Path, feed_server: FeedServer
) -> None:
    """In-process, so the test can watch the store while the daemon runs."""
    import asyncio
    import os
    from datetime import UTC, datetime, timedelta

    from feeds.config import load_config
    from feeds.daemon import Daemon, DaemonSettings
    from feeds.store import ArticleStore

    config = load_config(site)
    store = ArticleStore.open(config.storage.url)
    daemon = Daemon(config, store, lambda: datetime.now(UTC), DaemonSettings(tick=0.2))

    async def scenario() -> timedelta:
        running = asyncio.create_task(daemon.run())
        while (state := store.fetch_state("Technik")) is None or state.next_due is None:
            await asyncio.sleep(0.1)
        assert state.last_fetch is not None
        # Same size, same mtime: only SIGHUP can tell the daemon to look again.
        stamp = site.stat()
        site.write_text(site.read_text().replace('interval = "1h"', 'interval = "2m"'))
        os.utime(site, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(50):
            await asyncio.sleep(0.1)
            state = store.fetch_state("Technik")
            if state and state.next_due and state.next_due - state.last_fetch < timedelta(hours=1):
                break
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, 10)
        assert state is not None and state.next_due is not None and state.last_fetch is not None
        return state.next_due - state.last_fetch

    try:
        assert asyncio.run(scenario()) == timedelta(minutes=2)
    finally:
        store.close()


def test_run_with_serve_answers_readers_with_304s(site: Path) -> None:
    import httpx

    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "-v", "--config", str(site), "run", "--tick", "0.5",
         "--serve", "--port", "0"],
        cwd=site.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**FEEDS_ENV, "HOME": str(site.parent)},
    )  # fmt: skip
    try:
        line = ""
        while "serving on" not in line:
            line = process.stderr.readline()
            assert line, "daemon ended before serving"
        base = line.split("serving on ")[1].strip()
        atom = site.parent / "out" / "technik" / "atom.xml"
        assert wait_for(atom.exists)
        first = httpx.get(base + "technik/atom.xml")
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert first.content == atom.read_bytes()
        again = httpx.get(
            base + "technik/atom.xml", headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        # The metrics hear of a publish once all its files are written, after this one.
        assert wait_for(lambda: httpx.get(base + "healthz").status_code == 200)
        assert httpx.get(base + "../feeds.toml").status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_update_on_a_terminal_shows_progress_and_updates_everything(site: Path) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site), "update"],
        cwd=site.parent, stdin=follower, stdout=follower, stderr=follower,
        env={**FEEDS_ENV, "HOME": str(site.parent), "TERM": "xterm", "COLUMNS": "120"},
    )  # fmt: skip
    os.close(follower)
    output = read_terminal(leader)
    assert process.wait(timeout=60) == 0
    os.close(leader)
    text = output.decode("utf-8", "replace")
    assert "updating" in text  # the progress bar was drawn
    assert "2 source(s) updated: 2 new" in text
