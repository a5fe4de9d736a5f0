"""Issue 17: the daemon's claims refill as fetch slots free, not once a tick.

Every daemon here runs with `--tick 3600`: a tick-driven daemon claims one batch
(4 x concurrency) and then waits an hour, so only slot-driven refills can fetch all of the
many sources before the generous wait runs out. Leases keep several daemons on one
PostgreSQL from fetching a source twice.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds, start_feeds
from support.feedserver import FeedServer
from support.waiting import wait_for

from feeds.model import FetchState
from feeds.store import ArticleStore
from feeds.update import decide

pytestmark = pytest.mark.slow

CONCURRENCY = 2  # a claim batch of 4 x 2 = 8 sources
MANY = 60  # far more than one batch
HOUR_TICK = ("--tick", "3600", "--health-max-age", "3h")  # two ticks at least


def _sources(feed_server: FeedServer, count: int, delay: float = 0.0) -> str:
    tables = []
    for i in range(count):
        item = FeedItem(id=f"urn:s{i}", title=f"Item {i}", link=f"https://example.org/{i}")
        url = feed_server.add(f"/s{i}", rss20([item]), delay=delay)
        tables.append(f'[[sources]]\nname = "S{i}"\nurl = "{url}"\ncategory = "C"\n')
    return "".join(tables)


def _config(folder: Path, store_url: str, sources: str) -> Path:
    path = folder / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "{store_url}"\n'
        f"[fetch]\nconcurrency = {CONCURRENCY}\n" + sources,
        encoding="utf-8",
    )
    return path


def _start(config: Path, *args: str) -> subprocess.Popen[str]:
    return start_feeds("--config", str(config), "run", *args, cwd=config.parent)


@pytest.fixture
def daemons() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then its stderr; it must exit 0 long before a tick of an hour."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stderr


def _fetched(feed_server: FeedServer, count: int) -> Counter[str]:
    return feed_server.request_counts(f"/s{i}" for i in range(count))


def test_one_daemon_fetches_far_more_than_a_tick_batch_within_one_tick(
    tmp_path: Path, feed_server: FeedServer, daemons: list[subprocess.Popen[str]]
) -> None:
    config = _config(tmp_path, "sqlite:///feeds.db", _sources(feed_server, MANY))
    daemons.append(_start(config, *HOUR_TICK))
    everything = wait_for(lambda: len(_fetched(feed_server, MANY)) == MANY, seconds=120)
    stderr = _stop(daemons[0])
    assert everything, f"fetched {len(_fetched(feed_server, MANY))} of {MANY}:\n{stderr}"
    assert set(_fetched(feed_server, MANY).values()) == {1}  # due again only in an hour


def test_two_daemons_on_postgresql_fetch_every_source_exactly_once(
    tmp_path: Path,
    feed_server: FeedServer,
    pg_url: str,
    daemons: list[subprocess.Popen[str]],
) -> None:
    # Slow answers keep both daemons' claims overlapping, refilling side by side.
    config = _config(tmp_path, pg_url, _sources(feed_server, MANY, delay=0.05))
    daemons.extend(_start(config, *HOUR_TICK) for _ in range(2))
    everything = wait_for(lambda: len(_fetched(feed_server, MANY)) == MANY, seconds=120)
    errors = [_stop(process) for process in daemons]
    assert everything, f"fetched {len(_fetched(feed_server, MANY))} of {MANY}:\n{errors}"
    counts = _fetched(feed_server, MANY)
    twice = sorted(path for path, n in counts.items() if n != 1)
    assert not twice, f"fetched more than once: {twice}"


def test_a_config_edit_is_claimed_at_once_despite_an_hour_tick(
    tmp_path: Path, feed_server: FeedServer, daemons: list[subprocess.Popen[str]]
) -> None:
    config = _config(tmp_path, "sqlite:///feeds.db", _sources(feed_server, 1))
    daemons.append(_start(config, *HOUR_TICK))
    assert wait_for(lambda: len(_fetched(feed_server, 1)) == 1, seconds=60)
    added = feed_server.add(
        "/added", rss20([FeedItem(id="urn:a", title="A", link="https://a.example/")])
    )
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'[[sources]]\nname = "Added"\nurl = "{added}"\ncategory = "C"\n',
        encoding="utf-8",
    )
    arrived = wait_for(lambda: bool(feed_server.requests_to("/added")), seconds=60)
    stderr = _stop(daemons[0])
    assert arrived, stderr


@pytest.mark.parametrize("tick", ["0", "-5", "nan", "inf", "1e9"])
def test_a_tick_that_would_never_rest_is_refused(tmp_path: Path, tick: str) -> None:
    config = _config(tmp_path, "sqlite:///feeds.db", "")
    result = run_feeds("--config", str(config), "run", "--tick", tick, cwd=tmp_path)
    assert result.returncode == 2
    assert "--tick" in result.stderr


def test_claim_wait_is_the_next_due_time_within_a_gap_and_a_tick() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert decide.claim_wait(5.0, now, None) == 5.0
    assert decide.claim_wait(5.0, now, now + timedelta(seconds=2)) == 2.0
    assert decide.claim_wait(5.0, now, now + timedelta(minutes=10)) == 5.0
    # Due now or in a moment: no busy loop, the sources due together are claimed together.
    assert decide.claim_wait(5.0, now, now) == decide.CLAIM_GAP
    assert decide.claim_wait(5.0, now, now - timedelta(seconds=1)) == decide.CLAIM_GAP
    assert decide.claim_wait(3600.0, now, now + timedelta(seconds=30)) == 30.0


def test_next_due_is_the_soonest_future_due_time_or_retry_after(store: ArticleStore) -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    names = ["past", "soon", "later", "waiting", "other"]
    store.ensure_states(names)
    assert store.next_due(names, now) is None  # never fetched: due now, nothing to wait for
    store.save_fetch_state(FetchState("past", next_due=now - timedelta(minutes=1)))
    store.save_fetch_state(FetchState("later", next_due=now + timedelta(minutes=30)))
    assert store.next_due(names, now) == now + timedelta(minutes=30)
    store.save_fetch_state(FetchState("soon", next_due=now + timedelta(minutes=5)))
    store.save_fetch_state(
        FetchState(
            "waiting", next_due=now - timedelta(hours=1), retry_after=now + timedelta(minutes=2)
        )
    )
    store.save_fetch_state(FetchState("other", next_due=now + timedelta(seconds=1)))
    assert store.next_due(names, now) == now + timedelta(seconds=1)
    # Only the named sources count.
    assert store.next_due(["past", "soon", "later", "waiting"], now) == now + timedelta(minutes=2)
    assert store.next_due(["past", "soon", "later"], now) == now + timedelta(minutes=5)
    assert store.next_due([], now) is None


def test_a_fetch_dated_by_a_clock_far_ahead_is_not_waited_for(store: ArticleStore) -> None:
    """A clock set a year ahead while sources were fetched, then put right: their due times
    and Retry-After, a year away, must not keep them from being fetched for a year."""
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    ahead = now + timedelta(days=365)
    names = ["ahead", "ahead-retry", "recent", "skewed"]
    store.ensure_states(names)
    store.save_fetch_state(
        FetchState("ahead", last_fetch=ahead, next_due=ahead + timedelta(hours=1))
    )
    store.save_fetch_state(
        FetchState("ahead-retry", last_fetch=ahead, retry_after=ahead + timedelta(hours=2))
    )
    # Fetched a minute ago, or by a worker whose clock is a few minutes fast: not due yet.
    store.save_fetch_state(
        FetchState(
            "recent", last_fetch=now - timedelta(minutes=1), next_due=now + timedelta(minutes=29)
        )
    )
    store.save_fetch_state(
        FetchState(
            "skewed", last_fetch=now + timedelta(minutes=5), next_due=now + timedelta(minutes=35)
        )
    )
    claimed = store.claim(names, "worker", now, now + timedelta(minutes=5))
    assert sorted(lease.source for lease in claimed) == ["ahead", "ahead-retry"]
