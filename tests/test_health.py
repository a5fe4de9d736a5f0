"""/healthz means the daemon's loops are ticking (issue 13, Operations).

The decision is a pure function of values (`loop_health`); one test asks a real
`feeds run --serve` and its metrics port, right after a restart on an up-to-date store.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.daemon import daemon_with_metrics
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, SEED, run_feeds
from support.feedserver import FeedServer
from support.waiting import wait_for

from feeds.metrics import (
    LOOPS,
    METRICS_CONNECTIONS,
    METRICS_TIMEOUT,
    Metrics,
    loop_health,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_every_loop_recent_is_healthy() -> None:
    ticks = {"claim": T0 + timedelta(seconds=55), "publish": T0 + timedelta(seconds=58)}
    ok, reason = loop_health(ticks, T0, T0 + timedelta(minutes=1), HOUR)
    assert ok
    assert reason == "ok: claim loop ran 5s ago, publish loop ran 2s ago"


def test_a_quiet_daemon_that_ticks_is_healthy_long_after_its_last_publish() -> None:
    # Nothing was published for days (nothing changed); the loops still ran a second ago.
    now = T0 + timedelta(days=3)
    ticks = dict.fromkeys(LOOPS, now - timedelta(seconds=1))
    assert loop_health(ticks, T0, now, HOUR)[0]


def test_just_started_is_healthy_until_max_age_has_passed() -> None:
    assert loop_health({}, T0, T0, HOUR) == (
        True,
        "ok: claim loop not run yet (started 0s ago), publish loop not run yet (started 0s ago)",
    )
    assert loop_health({"claim": T0}, T0, T0 + HOUR, HOUR)[0]
    ok, reason = loop_health({"claim": T0 + HOUR}, T0, T0 + HOUR + timedelta(seconds=1), HOUR)
    assert not ok
    assert reason == "late (max 3600s): publish loop has not run since the start 3601s ago"


def test_a_late_loop_is_named_with_its_age() -> None:
    now = T0 + timedelta(hours=2)
    ticks = {"claim": now - timedelta(seconds=10), "publish": now - timedelta(seconds=4000)}
    assert loop_health(ticks, T0, now, HOUR) == (
        False,
        "late (max 3600s): publish loop last ran 4000s ago",
    )
    both = dict.fromkeys(LOOPS, now - timedelta(seconds=3601))
    ok, reason = loop_health(both, T0, now, HOUR)
    assert not ok
    assert reason == (
        "late (max 3600s): claim loop last ran 3601s ago; publish loop last ran 3601s ago"
    )


def test_exactly_max_age_is_still_healthy_and_a_clock_step_back_is_not_late() -> None:
    ticks = dict.fromkeys(LOOPS, T0)
    assert loop_health(ticks, T0, T0 + HOUR, HOUR)[0]
    assert loop_health(ticks, T0, T0 - timedelta(minutes=5), HOUR)[0]  # NTP stepped back


def test_metrics_health_follows_the_ticks_it_observed() -> None:
    now = [T0]
    metrics = Metrics(lambda: now[0])
    assert metrics.healthy(HOUR)[0]
    metrics.observe_tick("claim")
    now[0] = T0 + timedelta(minutes=61)
    ok, reason = metrics.healthy(HOUR)
    assert not ok
    assert "claim loop last ran 3660s ago" in reason
    assert "publish loop has not run since the start 3660s ago" in reason
    for loop in LOOPS:
        metrics.observe_tick(loop)
    assert metrics.healthy(HOUR) == (True, "ok: claim loop ran 0s ago, publish loop ran 0s ago")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_restarted_daemon_on_an_up_to_date_store_is_healthy(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/technik", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    (tmp_path / "feeds.toml").write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
        f'[[sources]]\nname = "Technik"\nurl = "{feed_server.url("/technik")}"\n'
        'category = "Technik"\ninterval = "1h"\n',
        encoding="utf-8",
    )
    # Up to date: the source is not due for an hour and every file is published.
    assert run_feeds("--config", "feeds.toml", "update", cwd=tmp_path).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--log-format", "json", "--config", "feeds.toml",
         "run", "--tick", "0.2", "--serve", "--port", "0", "--metrics-port", "0",
         "--health-max-age", "6s"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**FEEDS_ENV, "HOME": str(tmp_path)},
    )  # fmt: skip
    records: list[dict[str, str]] = []

    def read() -> None:
        assert process.stderr is not None
        records.extend(json.loads(line) for line in process.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def url_after(prefix: str) -> str | None:
        for record in list(records):
            found = re.match(re.escape(prefix) + r"(http://[^/]+)", record["message"])
            if found:
                return found.group(1)
        return None

    try:
        assert wait_for(lambda: url_after("metrics on ") and url_after("serving on ")), records
        metrics, served = url_after("metrics on "), url_after("serving on ")
        for base in (metrics, served):
            status, reason = get(f"{base}/healthz")
            assert status == 200, reason
        # Ticking without anything to publish, well past --health-max-age: still healthy.
        assert wait_for(lambda: "publish loop ran" in get(f"{metrics}/healthz")[1])
        time.sleep(6.5)  # longer than --health-max-age; what is asserted is the answer
        for base in (metrics, served):
            status, reason = get(f"{base}/healthz")
            assert status == 200, reason
            assert "started" not in reason  # ticked since, not healthy by the start grace
            assert reason.startswith("ok: claim loop ran"), reason
        assert 'feeds_last_tick_timestamp_seconds{loop="publish"}' in get(f"{metrics}/metrics")[1]
        assert len(feed_server.requests_to("/technik")) == 1  # nothing was due
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    flapping = run_feeds("--config", "feeds.toml", "run", "--health-max-age", "5s", cwd=tmp_path)
    assert flapping.returncode == 2  # shorter than two publish ticks: it would flap
    assert "shorter than two ticks" in flapping.stderr
    huge = run_feeds(
        "--config", "feeds.toml", "run", "--health-max-age", "9999999999d", cwd=tmp_path
    )
    assert huge.returncode == 2 and "Traceback" not in huge.stderr
    assert not any("Traceback" in r.get("exception", "") for r in records)


def _ended(connection: socket.socket) -> bool:
    """Whether the server closed `connection` (after any answer it sent)."""
    connection.setblocking(False)
    try:
        while data := connection.recv(4096):
            del data
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    return True


@pytest.mark.slow
def test_idle_and_excess_scrapers_are_bounded(tmp_path: Path) -> None:
    """Each connection to the metrics port is a thread and a descriptor of the daemon's
    process: beyond `METRICS_CONNECTIONS` one is refused at once, and a silent or trickling
    one is dropped after `METRICS_TIMEOUT`, so no client can hold the process's descriptors
    or keep the scrapers out."""
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    (tmp_path / "feeds.toml").write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
        '[[sources]]\nname = "Lokal"\npath = "articles"\n',
        encoding="utf-8",
    )
    with daemon_with_metrics(Path("feeds.toml"), tmp_path) as (process, base):
        host, port = base.removeprefix("http://").rsplit(":", 1)
        trickling = socket.create_connection((host, int(port)))  # served: the first

        def trickle() -> None:  # a byte a second: never silent for METRICS_TIMEOUT
            with contextlib.suppress(OSError):
                for _ in range(int(METRICS_TIMEOUT * 6)):
                    trickling.send(b"X")
                    time.sleep(1)

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        held = []
        for _ in range(METRICS_CONNECTIONS * 4):
            connection = socket.create_connection((host, int(port)))
            connection.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the rest
            held.append(connection)
        try:
            bound = METRICS_TIMEOUT * 3
            assert wait_for(lambda: sum(map(_ended, held)) >= len(held) - METRICS_CONNECTIONS)
            assert wait_for(lambda: all(map(_ended, held)), bound), "idle scrapers held"
            assert wait_for(lambda: not trickler.is_alive(), bound), "a trickling scraper held"
        finally:
            for connection in (*held, trickling):
                connection.close()
        with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
