"""Publish problems kept in the store: what the last publish of each scope could not render,
shown by `feeds status` and the daemon's metrics until a publish of that scope finds it gone.

An entry no renderer takes is one written by a store before the caps: here, a title with a
control character (XML cannot carry it), put straight into the store as such a store holds it.
"""

from __future__ import annotations

import json
import signal
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from support.daemon import daemon_with_metrics
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.terminal import on_a_terminal
from support.waiting import wait_for

from feeds.config import Config, load_config
from feeds.model import Article, PublishProblem, article_id
from feeds.publish.orchestrate import publish_everything, publish_pending
from feeds.status import problem_lines
from feeds.store import (
    ArticleStore,
    publish_problem_count,
    record_publish_problems,
    stored_publish_problems,
)
from feeds.store.publish_problems import MESSAGE_LIMIT, PROBLEMS_KEPT

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PAGES = {"index.html", "feeds.opml", "source pages"}


def article(entry: str, category: str, *, title: str | None = None, source: str = "s") -> Article:
    return Article(
        id=article_id(source, entry), source=source, entry_id=entry,
        title=f"Item {entry}" if title is None else title, link=f"https://e.org/{entry}",
        summary="", content=f"<p>{entry}</p>", authors=(), published=NOW, updated=NOW,
        categories=(category,), language=None,
    )  # fmt: skip


def bad(entry: str, category: str, source: str = "s") -> Article:
    """An entry whose title XML cannot carry: every renderer refuses it."""
    return article(entry, category, title=f"bad \x01 {entry}", source=source)


def found(store: ArticleStore) -> dict[str, tuple[datetime, list[str], int]]:
    return {
        s.scope: (s.found, [p.message for p in s.problems], s.more)
        for s in stored_publish_problems(store.engine)
    }


def entries(feed: Path) -> set[str]:
    return {e.id for e in feedparser.parse(feed.read_bytes()).entries}


# -- the store ---------------------------------------------------------------------------


def test_a_publish_replaces_the_problems_of_what_it_rendered_only(store: ArticleStore) -> None:
    engine = store.engine
    record_publish_problems(
        engine,
        [PublishProblem("technik", "entry 'x' not published"), PublishProblem("all", "entry 'x'")],
        {"technik", "sport", "all", *PAGES},
        NOW,
    )
    assert found(store) == {
        "all": (NOW, ["entry 'x'"], 0),
        "technik": (NOW, ["entry 'x' not published"], 0),
    }
    # A publish of sport (and all/, the pages) finds all/ clean: technik's problem stays.
    record_publish_problems(engine, [], {"sport", "all", *PAGES}, LATER)
    assert found(store) == {"technik": (NOW, ["entry 'x' not published"], 0)}
    # technik published again: its problems are the new ones, found then.
    record_publish_problems(
        engine, [PublishProblem("technik", "category not published")], {"technik"}, LATER
    )
    assert found(store) == {"technik": (LATER, ["category not published"], 0)}
    # A problem of a page, then a full publish: scopes it did not render are gone too.
    record_publish_problems(engine, [PublishProblem("index.html", "not written")], PAGES, NOW)
    assert set(found(store)) == {"technik", "index.html"}
    record_publish_problems(
        engine, [PublishProblem("sport", "entry 'y'")], {"sport"}, LATER, everything=True
    )
    assert found(store) == {"sport": (LATER, ["entry 'y'"], 0)}
    record_publish_problems(engine, [], {"sport", "all"}, LATER, everything=True)
    assert found(store) == {}
    assert publish_problem_count(engine) == 0


def test_problems_are_bounded_per_scope(store: ArticleStore) -> None:
    many = [
        PublishProblem("technik", f"entry '{n}' " + "x" * 5000) for n in range(PROBLEMS_KEPT + 7)
    ]
    record_publish_problems(store.engine, many, {"technik"}, NOW)
    (kept,) = stored_publish_problems(store.engine)
    assert len(kept.problems) == PROBLEMS_KEPT and kept.more == 7
    assert all(len(p.message) == MESSAGE_LIMIT for p in kept.problems)
    assert kept.problems[0].message.startswith("entry '0' ") and kept.problems[0].scope == "technik"
    assert publish_problem_count(store.engine) == PROBLEMS_KEPT + 7


def test_publishers_recording_at_once_never_fail(store: ArticleStore) -> None:
    # One publisher at a time is the rule, but a one-shot run may publish beside a daemon:
    # their records of the same scopes must not collide (PostgreSQL) or lock out (SQLite).
    def publish(n: int) -> None:
        for round_ in range(10):
            problems = [PublishProblem(s, f"{n}/{round_}") for s in ("all", "technik")]
            record_publish_problems(
                store.engine, problems, {"all", "technik", *PAGES}, NOW, everything=n % 2 == 0
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(publish, range(4)))
    scopes = found(store)
    assert set(scopes) == {"all", "technik"}
    assert scopes["all"][1] == scopes["technik"][1]  # one writer's record, whole


@pytest.mark.parametrize("version", [5, 6])
def test_an_older_store_gains_the_table(store: ArticleStore, version: int) -> None:
    from sqlalchemy import inspect, text

    from feeds.store.schema import SCHEMA_VERSION, articles, publish_problems

    store.upsert_articles("s", [article("1", "Technik")], NOW)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE publish_problems"))
        conn.execute(text("DROP TABLE document_fragments"))  # new in version 9
        if version == 5:  # before the full-text columns
            for column in (c.name for c in articles.columns if c.name.startswith("full_text_")):
                conn.execute(text(f"ALTER TABLE articles DROP COLUMN {column}"))
        conn.execute(text(f"UPDATE schema_info SET version = {version}"))
    url = store.engine.url.render_as_string(hide_password=False)
    reopened = ArticleStore.open(url)
    try:
        with reopened.engine.connect() as conn:
            version_now = conn.execute(text("SELECT version FROM schema_info")).scalar()
            assert version_now == SCHEMA_VERSION
            columns = {c["name"] for c in inspect(conn).get_columns("publish_problems")}
        assert columns == {c.name for c in publish_problems.columns}
        assert stored_publish_problems(reopened.engine) == []
        assert [a.entry_id for a in reopened.recent_articles("technik", 10)] == ["1"]
        record_publish_problems(reopened.engine, [PublishProblem("technik", "m")], {"technik"}, NOW)
        assert publish_problem_count(reopened.engine) == 1
    finally:
        reopened.close()


def test_migrate_store_leaves_the_problems_to_the_next_publish(tmp_path: Path, pg_url: str) -> None:
    from feeds.store.copy import copy_store

    source = ArticleStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    target = ArticleStore.open(pg_url)
    try:
        source.upsert_articles("s", [article("1", "Technik")], NOW)
        record_publish_problems(source.engine, [PublishProblem("technik", "m")], {"technik"}, NOW)
        counts = copy_store(source, target)
        assert "publish_problems" not in counts and counts["articles"] == 1
        assert stored_publish_problems(target.engine) == []
    finally:
        source.close()
        target.close()


# -- publishing from the store -----------------------------------------------------------


def site_config(tmp_path: Path) -> Config:
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[output]\ndir = "out"\nbase_url = "https://f.example/"\n'
        '[storage]\nurl = "sqlite:///unused.db"\n',
        encoding="utf-8",
    )
    return load_config(path)


def test_publishes_keep_a_bad_entry_until_a_publish_of_its_category_finds_it_gone(
    tmp_path: Path, store: ArticleStore
) -> None:
    config = site_config(tmp_path)
    store.upsert_articles("s", [article("t1", "Technik"), bad("t2", "Technik")], NOW)
    store.upsert_articles("s", [article("s1", "Sport")], NOW)
    seen, result = publish_pending(config, store, clock=lambda: NOW)
    assert [str(p) for p in result.problems] == [
        "technik: entry 't2' of 's' not published: ValueError: All strings must be XML "
        "compatible: Unicode or ASCII, no NULL bytes or control characters",
        "all: entry 't2' of 's' not published: ValueError: All strings must be XML "
        "compatible: Unicode or ASCII, no NULL bytes or control characters",
    ]
    assert set(found(store)) == {"technik", "all"}
    out = tmp_path / "out"
    assert entries(out / "technik" / "atom.xml") == {article_id("s", "t1")}
    assert entries(out / "sport" / "atom.xml") == {article_id("s", "s1")}
    # Sport changes and is published alone: technik was not rendered, its problem stays as
    # found; all/ was, and found it again.
    store.upsert_articles("s", [article("s2", "Sport")], LATER)
    seen, result = publish_pending(config, store, clock=lambda: LATER)
    assert seen == {"sport"}
    assert found(store)["technik"][0] == NOW and found(store)["all"][0] == LATER
    assert entries(out / "sport" / "atom.xml") == {article_id("s", "s1"), article_id("s", "s2")}
    # Fixed at its source: the next publish of technik clears it, and all/ with it.
    store.upsert_articles("s", [article("t2", "Technik")], LATER)
    seen, result = publish_pending(config, store, clock=lambda: LATER)
    assert seen == {"technik"} and result.problems == ()
    assert found(store) == {}
    assert entries(out / "technik" / "atom.xml") == {article_id("s", "t1"), article_id("s", "t2")}


def test_more_bad_entries_than_kept_are_counted(tmp_path: Path, store: ArticleStore) -> None:
    config = site_config(tmp_path)
    count = PROBLEMS_KEPT + 5
    store.upsert_articles(
        "s", [article("good", "Technik"), *(bad(f"b{n}", "Technik") for n in range(count))], NOW
    )
    result = publish_everything(config, store, clock=lambda: NOW)
    assert len(result.problems) == 2 * count  # reported whole: the summary bounds its lines
    scopes = stored_publish_problems(store.engine)
    assert [(s.scope, len(s.problems), s.more) for s in scopes] == [
        ("all", PROBLEMS_KEPT, 5),
        ("technik", PROBLEMS_KEPT, 5),
    ]
    assert publish_problem_count(store.engine) == 2 * count
    lines = problem_lines(scopes, LATER)
    assert lines[0] == f"publish problems ({2 * count})"
    assert "! technik (5 min ago): ... and 5 more" in lines
    assert "! all (5 min ago): ... and 5 more" in lines
    assert all(len(line) <= 80 for line in lines)
    assert entries(tmp_path / "out" / "technik" / "atom.xml") == {article_id("s", "good")}


# -- `feeds update` and `feeds status` ---------------------------------------------------


def item(n: int) -> FeedItem:
    return FeedItem(id=f"urn:test:{n}", title=f"Item {n}", link=f"https://example.org/{n}")


def cli_site(tmp_path: Path, feed_server: FeedServer) -> Path:
    feed_server.add("/small", rss20([item(1)]))
    feed_server.add("/other", rss20([item(2)]))
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        f'[[sources]]\nname = "Small"\nurl = "{feed_server.url("/small")}"\ncategory = "Small"\n'
        f'[[sources]]\nname = "Other"\nurl = "{feed_server.url("/other")}"\ncategory = "Other"\n',
        encoding="utf-8",
    )
    return config


def into_store(tmp_path: Path, *written: Article) -> None:
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'var' / 'feeds.db'}")
    try:
        for one in written:
            store.upsert_articles(one.source, [one], NOW)
    finally:
        store.close()


def problems_json(config: Path, tmp_path: Path) -> dict[str, dict[str, object]]:
    done = run_feeds("--config", str(config), "status", "--problems", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return {scope["scope"]: scope for scope in json.loads(done.stdout)}


def test_status_shows_a_bad_entry_until_it_is_fixed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = cli_site(tmp_path, feed_server)
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    clean = run_feeds("--config", str(config), "status", "--problems", cwd=tmp_path)
    assert clean.stdout == "no publish problems\n"
    assert (
        "publish problems" not in run_feeds("--config", str(config), "status", cwd=tmp_path).stdout
    )
    into_store(tmp_path, bad("old-bad", "Small", source="Small"))

    done = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "not published: small: entry 'old-bad' of 'Small' not published" in done.stdout
    status = run_feeds("--config", str(config), "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr  # status has no exit code for trouble
    lines = status.stdout.splitlines()
    heading = lines.index("publish problems (2)")
    assert lines[heading - 1] == "" and "  Small [Small]" in lines[:heading]  # sources first
    assert lines[heading + 1].startswith("! all (")  # scopes in order
    small = lines[heading + 2]
    assert small.startswith("! small (") and " s ago): entry 'old-bad' of 'Small' not" in small
    assert all(len(line) <= 80 for line in lines)
    # The whole messages, for scripts; `--json` alone is the list of sources it always was.
    problems = problems_json(config, tmp_path)
    assert set(problems) == {"small", "all"}
    message = problems["small"]["messages"][0]  # type: ignore[index]
    assert message.startswith("entry 'old-bad' of 'Small' not published: ValueError: All strings")
    assert problems["small"]["more"] == 0
    sources = json.loads(
        run_feeds("--config", str(config), "status", "--json", cwd=tmp_path).stdout
    )
    assert {row["name"] for row in sources} == {"Small", "Other"}
    # The rest of the category and the other categories are published.
    out = tmp_path / "out"
    assert entries(out / "small" / "atom.xml") == {article_id("Small", "urn:test:1")}
    assert entries(out / "other" / "atom.xml") == {article_id("Other", "urn:test:2")}
    assert entries(out / "all" / "atom.xml") == {
        article_id("Small", "urn:test:1"),
        article_id("Other", "urn:test:2"),
    }

    # Other changes; the update publishes it alone (with all/): small's problem stays as
    # its last publish found it.
    feed_server.add("/other", rss20([item(2), item(3)]))
    done = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = problems_json(config, tmp_path)
    assert again["small"] == problems["small"]
    assert again["all"]["found"] > problems["all"]["found"]  # type: ignore[operator]
    assert article_id("Other", "urn:test:3") in entries(out / "other" / "atom.xml")

    # Fixed: the next publish of small finds it gone.
    into_store(tmp_path, article("old-bad", "Small", source="Small"))
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    assert problems_json(config, tmp_path) == {}
    assert article_id("Small", "old-bad") in entries(out / "small" / "atom.xml")
    status = run_feeds("--config", str(config), "status", cwd=tmp_path)
    assert "publish problems" not in status.stdout


HOSTILE = "evil \x1b[2J\x1b]0;pwned\x07 [/] [bold]x \x9b31m tab\there"


def test_hostile_entry_ids_reach_no_terminal(tmp_path: Path, feed_server: FeedServer) -> None:
    # An id with an escape sequence is itself what no renderer takes: its problem names it.
    config = cli_site(tmp_path, feed_server)
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    into_store(tmp_path, article(HOSTILE, "Small", source="Small"))
    assert run_feeds("--config", str(config), "publish", cwd=tmp_path).returncode == 0
    piped = run_feeds("--config", str(config), "status", cwd=tmp_path)
    wide = on_a_terminal(["--config", str(config), "status"], tmp_path, 160)
    narrow = on_a_terminal(["--config", str(config), "status", "--problems"], tmp_path, 80)
    for shown in (piped.stdout, wide, narrow):
        assert "publish problems (2)" in shown
        assert "\x1b[2J" not in shown and "\x1b]0" not in shown and "\x07" not in shown
        assert "\x9b" not in shown and "\t" not in shown
        assert "[/]" in shown  # text, not markup
    assert "scope" in wide and "found" in wide and "problem" in wide  # the table's header
    assert "! small (" in piped.stdout and "entry 'evil \\x1b[2J\\x1b]0;pwned" in piped.stdout
    assert all(len(line) <= 80 for line in narrow.splitlines())
    message = problems_json(config, tmp_path)["small"]["messages"][0]  # type: ignore[index]
    assert repr(HOSTILE) in message  # the whole text, escaped by JSON


@pytest.mark.slow
def test_the_daemon_sets_the_problems_gauge(tmp_path: Path, feed_server: FeedServer) -> None:
    config = cli_site(tmp_path, feed_server)
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    into_store(tmp_path, bad("old-bad", "Small", source="Small"))
    with daemon_with_metrics(config, tmp_path) as (process, base):

        def gauge() -> str:
            text = urllib.request.urlopen(base + "/metrics", timeout=2).read().decode()
            return next(
                (l for l in text.splitlines() if l.startswith("feeds_publish_problems ")), ""
            )

        assert wait_for(lambda: gauge() == "feeds_publish_problems 2.0"), gauge()
        into_store(tmp_path, article("old-bad", "Small", source="Small"))
        assert wait_for(lambda: gauge() == "feeds_publish_problems 0.0"), gauge()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
