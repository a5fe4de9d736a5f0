"""The pipeline in-process: real files, a real SQLite store, a fake clock, and canned
responses (`canned_web`) or, where the HTTP exchange is the point, a real HTTP server."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.cannedweb import CannedWeb
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import SEED
from support.feedserver import FeedServer

from feeds.config import Config, load_config
from feeds.model import FetchOutcome
from feeds.sources.remote import make_client
from feeds.store import ArticleStore
from feeds.update.decide import is_due
from feeds.update.run import UpdateReport, update_sources


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def write_config(tmp_path: Path, sources: str) -> Config:
    path = tmp_path / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n{sources}', encoding="utf-8"
    )
    return load_config(path)


def update(
    config: Config,
    store: ArticleStore,
    clock: Clock,
    force: bool = False,
    web: CannedWeb | None = None,
) -> UpdateReport:
    async def go() -> UpdateReport:
        client = make_client(config.fetch) if web is None else web.client(config.fetch)
        async with client:
            return await update_sources(config, store, client, clock, force=force)

    return asyncio.run(go())


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_local_files_deleted_or_broken(tmp_path: Path, clock: Clock) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles / "seed.txt")
    (articles / "second.md").write_text(
        "---\ntitle: Zweiter\ndate: 2025-05-11T10:00\ncategory: Welt Nachrichten\n---\nText\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path, '[[sources]]\nname = "L"\npath = "articles"\ntimezone = "Europe/Berlin"\n'
    )
    store = ArticleStore.open(config.storage.url)
    assert update(config, store, clock).results[0].new == 2

    # An editor breaks one file: it is reported, and its last good version stays published.
    (articles / "seed.txt").write_text("garbage\n", encoding="utf-8")
    result = update(config, store, clock).results[0]
    assert any("seed.txt:1:" in e for e in result.errors)
    assert store.article_count() == 2

    # An editor deletes a file: its article goes.
    (articles / "second.md").unlink()
    result = update(config, store, clock).results[0]
    assert result.changed_categories == {"welt-nachrichten"}
    assert [a.entry_id for a in store.recent_articles(None, 10)] == ["seed.txt"]

    # The folder vanishes (a missing mount): nothing is taken for deleted.
    shutil.rmtree(articles)
    result = update(config, store, clock).results[0]
    assert "path does not exist" in result.errors[0]
    assert store.article_count() == 1
    store.close()


def test_remote_states_backoff_and_permanent_redirects(
    tmp_path: Path, clock: Clock, canned_web: CannedWeb
) -> None:
    body = rss20([FeedItem(id="1", title="One", link="https://example.com/1")])
    canned_web.add("/new-home", body)
    canned_web.add("/old", b"", status=301, headers={"location": canned_web.url("/new-home")})
    canned_web.add("/down", b"oops", status=500)
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "moved"\nurl = "{canned_web.url("/old")}"\ncategory = "C"\n'
        f'interval = "10m"\n'
        f'[[sources]]\nname = "down"\nurl = "{canned_web.url("/down")}"\ncategory = "C"\n'
        f'interval = "10m"\n',
    )
    store = ArticleStore.open(config.storage.url)
    report = update(config, store, clock, web=canned_web)
    outcomes = {r.source: r.outcome for r in report.results}
    assert outcomes == {"moved": FetchOutcome.NEW, "down": FetchOutcome.FAILED}

    moved = store.fetch_state("moved")
    assert moved is not None
    assert moved.url == canned_web.url("/new-home")
    assert moved.next_due is not None
    assert timedelta(minutes=10) <= moved.next_due - clock.now <= timedelta(minutes=11)
    down = store.fetch_state("down")
    assert down is not None
    assert (down.error_count, down.last_error, down.last_status) == (
        1,
        "HTTP 500 Internal Server Error",
        500,
    )

    # Nothing is due before its time.
    clock.now += timedelta(minutes=5)
    assert is_due(config.sources[0], store.fetch_state("moved"), clock.now) is False
    assert update(config, store, clock, web=canned_web).results == ()

    # The moved feed is fetched at its new home directly, with its validators: a 304.
    clock.now += timedelta(minutes=7)
    report = update(config, store, clock, web=canned_web)
    outcomes = {r.source: r.outcome for r in report.results}
    assert outcomes == {"moved": FetchOutcome.NOT_MODIFIED, "down": FetchOutcome.FAILED}
    assert len(canned_web.requests_to("/old")) == 1
    assert canned_web.requests_to("/new-home")[-1].headers["if-none-match"]
    down = store.fetch_state("down")
    assert down is not None and down.error_count == 2
    assert down.next_due is not None  # backing off: 2 x 10 minutes, plus up to 10% jitter
    assert timedelta(minutes=20) <= down.next_due - clock.now <= timedelta(minutes=22)

    # The user edits the config to another URL: that one is used, not the learnt one.
    canned_web.add("/edited", body)
    edited = write_config(
        tmp_path,
        f'[[sources]]\nname = "moved"\nurl = "{canned_web.url("/edited")}"\ncategory = "C"\n',
    )
    update(edited, store, clock, force=True, web=canned_web)
    assert len(canned_web.requests_to("/edited")) == 1
    assert len(canned_web.requests_to("/new-home")) == 2
    store.close()


def test_undated_and_future_dated_entries_keep_their_first_seen_time(
    tmp_path: Path, clock: Clock, canned_web: CannedWeb
) -> None:
    future = datetime(2099, 1, 1, tzinfo=UTC)
    items = [
        FeedItem(id="undated", title="No date", link="https://example.com/u"),
        FeedItem(id="future", title="Future", link="https://example.com/f", published=future),
    ]
    canned_web.add("/f", rss20(items))
    config = write_config(
        tmp_path, f'[[sources]]\nname = "f"\nurl = "{canned_web.url("/f")}"\ncategory = "C"\n'
    )
    store = ArticleStore.open(config.storage.url)
    first = clock.now
    update(config, store, clock, force=True, web=canned_web)
    # The body changes (a new item), so the old items are normalised again, a day later.
    canned_web.add("/f", rss20([*items, FeedItem(id="new", title="New", link="https://e.com/n")]))
    clock.now += timedelta(days=1)
    result = update(config, store, clock, force=True, web=canned_web).results[0]
    assert (result.new, result.updated) == (1, 0)  # the old two did not "change"
    dates = {a.entry_id: a.published for a in store.recent_articles(None, 10)}
    assert dates == {"undated": first, "future": first, "new": clock.now}
    store.close()


def test_no_cookie_set_by_a_feed_host_is_ever_sent_back(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    # A feed host's cookie would let it follow our polls, and reach its other feeds.
    items = [FeedItem(id="1", title="One", link="https://example.org/1")]
    cookie = {"set-cookie": "visitor=abc123; Path=/; Max-Age=86400"}
    feed_server.add("/a.xml", rss20(items), headers=cookie)
    feed_server.add("/b.xml", rss20(items), headers=cookie)
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "a"\ncategory = "A"\nurl = "{feed_server.url("/a.xml")}"\n'
        f'[[sources]]\nname = "b"\ncategory = "A"\nurl = "{feed_server.url("/b.xml")}"\n',
    )
    store = ArticleStore.open(config.storage.url)

    async def two_updates_on_one_client() -> None:  # as the daemon polls, for days
        async with make_client(config.fetch) as client:
            await update_sources(config, store, client, clock)
            await update_sources(config, store, client, clock, force=True)

    asyncio.run(two_updates_on_one_client())
    sent = [r.headers for r in feed_server.requests if r.path.endswith(".xml")]
    assert len(sent) == 4
    assert all("cookie" not in headers for headers in sent), sent


def test_one_slow_source_does_not_hold_back_the_others_writes(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    items = [FeedItem(id="1", title="One", link="https://example.org/1")]
    feed_server.add("/slow.xml", rss20(items), delay=3.0)
    sources = '[fetch]\nconcurrency = 4\nper_host = 4\n[[sources]]\nname = "slow"\n'
    sources += f'category = "A"\nurl = "{feed_server.url("/slow.xml")}"\n'
    for n in range(5):
        feed_server.add(f"/fast{n}.xml", rss20(items))
        sources += f'[[sources]]\nname = "fast{n}"\ncategory = "A"\n'
        sources += f'url = "{feed_server.url(f"/fast{n}.xml")}"\n'
    config = write_config(tmp_path, sources)
    store = ArticleStore.open(config.storage.url)

    async def run() -> int:
        async with make_client(config.fetch) as client:
            update = asyncio.create_task(update_sources(config, store, client, clock))
            await asyncio.sleep(1.5)  # the fast ones are long done; the slow one is not
            written = sum(
                1 for s in store.fetch_states().values() if s.last_fetch and s.source != "slow"
            )
            assert not update.done()
            await update
            return written

    # Groups are half the 4 fetch slots: fast write-backs go out in twos while "slow"
    # holds its slot; only an odd one out waits for it.
    assert asyncio.run(run()) >= 4
    assert sum(1 for s in store.fetch_states().values() if s.last_fetch) == 6
