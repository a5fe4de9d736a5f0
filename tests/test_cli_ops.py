"""Commands for operators (issue 13): `update --quiet` for cron, the wrong-folder error, and a
`feeds status` that reads at 80 columns and on a pipe, saying why a feed is due later."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.terminal import on_a_terminal

from feeds.model import FetchOutcome, FetchState
from feeds.status import SourceStatus, age_text, narrow_lines, next_due_text
from feeds.store import ArticleStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-40), "40 s ago"),
        (timedelta(minutes=-5), "5 min ago"),
        (timedelta(minutes=-89), "89 min ago"),
        (timedelta(hours=-2), "2 h ago"),
        (timedelta(hours=-47), "47 h ago"),
        (timedelta(days=-3), "3 d ago"),
        (timedelta(minutes=25), "in 25 min"),
        (timedelta(hours=2, minutes=10), "in 2 h"),
    ],
)
def test_ages_read_like_speech(delta: timedelta, text: str) -> None:
    assert age_text(NOW + delta, NOW) == text
    assert age_text(None, NOW) == "-"


def row(**changes: object) -> SourceStatus:
    values: dict[str, object] = {
        "name": "Heise",
        "category": "Technik",
        "kind": "remote",
        "url": "https://www.heise.de/rss/heise.rdf",
        "last_fetch": NOW - timedelta(minutes=5),
        "outcome": "new",
        "status": 200,
        "items": 120,
        "error_count": 0,
        "last_error": None,
        "warnings": None,
        "next_due": NOW + timedelta(minutes=62),
        "retry_after": None,
        "due_reason": "ttl 60m",
        **changes,
    }
    return SourceStatus(**values)  # type: ignore[arg-type]


def test_next_due_says_why_when_a_hint_stretched_the_interval() -> None:
    assert next_due_text(row(), NOW) == "in 62 min (ttl 60m)"
    assert next_due_text(row(due_reason=None), NOW) == "in 62 min"
    later = NOW + timedelta(hours=2)
    failing = row(outcome="failed", status=503, error_count=3, due_reason="Retry-After",
                  retry_after=later, next_due=later)  # fmt: skip
    assert next_due_text(failing, NOW) == "in 2 h (Retry-After)"
    assert next_due_text(row(kind="local", due_reason=None), NOW) == "on change"
    assert next_due_text(row(outcome="gone", next_due=None), NOW) == "never (410 Gone)"
    assert next_due_text(row(next_due=NOW - timedelta(seconds=5), due_reason=None), NOW) == "now"
    overdue = row(next_due=NOW - timedelta(hours=3), due_reason=None)
    assert next_due_text(overdue, NOW) == "due 3 h ago"


def test_narrow_layout_fits_80_columns_whatever_the_texts() -> None:
    long_error = "HTTP 503 Service Unavailable\n" + "x" * 500
    rows = [
        row(name="Failing " * 20, error_count=7, last_error=long_error, outcome="failed",
            status=503, due_reason="backoff after 7 failures"),
        row(),
        row(name="Notes", kind="local", category=None, status=None, warnings="w\tw " * 100),
    ]  # fmt: skip
    lines = narrow_lines(rows, NOW, 80)
    assert all(len(line) <= 80 for line in lines), [len(line) for line in lines]
    assert lines[0] == "3 source(s)"
    assert lines[1].startswith("! Failing Failing")  # trouble is marked
    assert lines[1].endswith("…") and len(lines[1]) == 80
    assert lines[2:4] == [
        "    fetched 5 min ago: failed (503), 120 item(s)",
        "    next in 62 min (backoff after 7 failures)",
    ]
    assert lines[4].startswith("    7 error(s): HTTP 503 Service Unavailable xxx")
    assert lines[5:8] == [
        "  Heise [Technik]",
        "    fetched 5 min ago: new (200), 120 item(s)",
        "    next in 62 min (ttl 60m)",
    ]
    assert lines[8:11] == [
        "  Notes [from the files]",
        "    fetched 5 min ago: new, 120 item(s)",
        "    next on change",
    ]
    assert lines[11].startswith("    warnings: w w w")
    assert not any("\t" in line or "\n" in line for line in lines)


def config_for(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "config" / "feeds.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        '[output]\ndir = "../out"\n[storage]\nurl = "sqlite:///../var/feeds.db"\n' + sources,
        encoding="utf-8",
    )
    return path


def source(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "Technik"\ninterval = "30m"\n'


def test_update_quiet_prints_nothing_on_success(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/ok", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    config = config_for(tmp_path, source("Ok", feed_server.url("/ok")))
    for _ in range(2):  # a first run (everything new) and a second (all 304)
        done = run_feeds("--config", str(config), "update", "--quiet", cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (tmp_path / "out" / "technik" / "atom.xml").is_file()
    loud = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
    assert "1 source(s) updated" in loud.stdout  # without --quiet, the summary as before


STAGES = re.compile(
    r"INFO feeds\.cli\.update: updated: (\d+) source\(s\) in \d+\.\d\ds, "
    r"(?P<retired>\d+) new entries retired on arrival\n"
    r".* INFO feeds\.cli\.update: published: (\d+) file\(s\) written, (\d+) unchanged in "
    r"\d+\.\d\ds\n"
)


def test_update_logs_how_long_fetching_and_publishing_took(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # What a cron job's log keeps of a run (-v): the two stages, their counts and times.
    feed_server.add("/ok", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    feed_server.add("/down", b"no", status=500, content_type="text/plain")
    config = config_for(
        tmp_path, source("Ok", feed_server.url("/ok")) + source("Down", feed_server.url("/down"))
    )
    first = run_feeds("-v", "--config", str(config), "update", "-q", cwd=tmp_path)
    assert first.returncode == 0
    stages = STAGES.search(first.stderr)
    assert stages is not None, first.stderr
    written = len([p for p in (tmp_path / "out").rglob("*") if p.is_file()])
    assert stages[1] == "2" and 0 < int(stages[3]) <= written and stages[4] == "0"
    assert stages["retired"] == "0"  # one entry: no category holds max_items
    again = run_feeds("-v", "--config", str(config), "update", "-q", "--all", cwd=tmp_path)
    repeated = STAGES.search(again.stderr)
    assert repeated is not None, again.stderr
    # Nothing new: only what shows the failing source's health is written again.
    assert repeated[1] == "2" and int(repeated[3]) < int(stages[3]) and int(repeated[4]) > 0


def test_update_quiet_still_lists_failures(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/ok", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    feed_server.add("/down", b"no", status=500, content_type="text/plain")
    config = config_for(
        tmp_path, source("Ok", feed_server.url("/ok")) + source("Down", feed_server.url("/down"))
    )
    done = run_feeds("--config", str(config), "update", "-q", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == "  failed  Down: HTTP 500 Internal Server Error\n"
    assert "source(s) updated" not in done.stdout + done.stderr
    strict = run_feeds("--config", str(config), "update", "-q", "--all", "--strict", cwd=tmp_path)
    assert strict.returncode == 3
    assert "failed  Down" in strict.stdout


@pytest.mark.parametrize("command", ["update", "status", "run", "check"])
def test_a_run_from_the_wrong_folder_says_how_to_name_the_config(
    tmp_path: Path, command: str
) -> None:
    done = run_feeds(command, cwd=tmp_path)
    assert done.returncode == 2
    assert "--config" in done.stderr and "$FEEDS_CONFIG" in done.stderr
    assert str(tmp_path / "config" / "feeds.toml") in done.stderr
    assert f"current folder {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_explicit_config_is_named_with_where_it_came_from(tmp_path: Path) -> None:
    done = run_feeds("--config", "elsewhere.toml", "update", cwd=tmp_path)
    assert done.returncode == 2
    assert f"no config file at {tmp_path / 'elsewhere.toml'} (from --config elsewhere.toml)" in (
        done.stderr
    )


def test_status_on_a_pipe_is_narrow_and_says_why_next_is_later(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = rss20([FeedItem(id="1", title="one", link="https://e.com/1")])
    feed_server.add("/ttl", feed.replace(b"<channel>", b"<channel><ttl>60</ttl>", 1))
    feed_server.add("/plain", feed)
    feed_server.add("/busy", b"", status=503, headers={"retry-after": "7200"})
    feed_server.add("/down", b"no", status=500, content_type="text/plain")
    config = config_for(
        tmp_path,
        "".join(
            source(name.title(), feed_server.url(f"/{name}"))
            for name in ("ttl", "plain", "busy", "down")
        ),
    )
    assert run_feeds("--config", str(config), "update", "-q", cwd=tmp_path).returncode == 0
    done = run_feeds("--config", str(config), "status", cwd=tmp_path)  # stdout is a pipe
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), done.stdout
    text = done.stdout
    assert "next in 2 h (Retry-After)" in text
    assert "(backoff after 1 failure)" in text
    ttl = lines[lines.index("  Ttl [Technik]") + 1 :][:2]
    assert ttl[0].startswith("    fetched ") and ttl[0].endswith(" s ago: new (200), 1 item(s)")
    assert ttl[1].startswith("    next in 6") and ttl[1].endswith(" min (ttl 60m)")  # 60-63 min
    plain = lines[lines.index("  Plain [Technik]") + 2]
    assert plain.startswith("    next in 3") and "(" not in plain  # the interval: no reason
    rows = {r["name"]: r for r in json.loads(
        run_feeds("--config", str(config), "status", "--json", cwd=tmp_path).stdout
    )}  # fmt: skip
    assert rows["Ttl"]["due_reason"] == "ttl 60m"
    assert rows["Plain"]["due_reason"] is None
    assert rows["Busy"]["due_reason"] == "Retry-After"
    assert rows["Down"]["due_reason"] == "backoff after 1 failure"


def test_status_on_terminals_narrow_and_wide(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/down", b"no", status=500, content_type="text/plain")
    config = config_for(tmp_path, source("Down " * 8, feed_server.url("/down")))
    assert run_feeds("--config", str(config), "update", "-q", cwd=tmp_path).returncode == 0
    narrow = on_a_terminal(["--config", str(config), "status"], tmp_path, 80)
    assert all(len(line) <= 80 for line in narrow.splitlines()), narrow
    assert "    next in 3" in narrow and "(backoff after 1 failure)" in narrow
    wide = on_a_terminal(["--config", str(config), "status"], tmp_path, 160)
    assert all(len(line) <= 160 for line in wide.splitlines()), wide
    assert "next due" in wide  # the table's header
    assert "backoff after 1" in wide  # the reason, maybe folded in its cell


HOSTILE = (
    "[/] [bold]x \x1b[2J\x1b]0;pwned\x07 \x9b31m tab\there\nnext line \x00 \u202edesrever\u2066"
)


def test_hostile_error_texts_reach_no_terminal_and_break_no_layout(tmp_path: Path) -> None:
    config = config_for(tmp_path, source("Evil [/]", "https://evil.example/feed"))
    (tmp_path / "var").mkdir()
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'var' / 'feeds.db'}")
    try:
        store.save_fetch_state(
            FetchState("Evil [/]", last_fetch=NOW, last_outcome=FetchOutcome.FAILED,
                       last_status=500, error_count=2, last_error=HOSTILE,
                       next_due=NOW + timedelta(hours=1), due_reason="backoff [/] \x1b[1m")
        )  # fmt: skip
    finally:
        store.close()
    piped = run_feeds("--config", str(config), "status", cwd=tmp_path)
    wide = on_a_terminal(["--config", str(config), "status"], tmp_path, 160)
    for shown in (piped.stdout, wide):
        assert "\x1b[2J" not in shown and "\x1b]0" not in shown and "\x07" not in shown
        assert "\x9b" not in shown and "\x00" not in shown and "\t" not in shown
        assert "\u202e" not in shown and "\u2066" not in shown
        assert "[/]" in shown  # shown as text, not taken for markup
    assert piped.returncode == 0, piped.stderr
    assert "2 error(s): [/] [bold]x [2J ]0;pwned 31m tab here next line desrever" in piped.stdout


def test_a_duration_too_long_for_the_clock_is_a_config_error(tmp_path: Path) -> None:
    config = config_for(
        tmp_path,
        '[[sources]]\nname = "A"\nurl = "https://a.example/f"\ncategory = "A"\n'
        'interval = "99999999999d"\n',
    )
    done = run_feeds("--config", str(config), "check", cwd=tmp_path)
    assert done.returncode == 2
    assert "key 'interval': duration '99999999999d' is too long" in done.stderr
    assert "Traceback" not in done.stderr
