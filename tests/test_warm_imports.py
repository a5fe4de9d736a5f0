"""A warm `feeds update` (every feed answers 304) loads no parser: feedparser, lxml,
readability, the normaliser, discovery and the config editor are imported only when a body,
a page or another command needs them (issue 17, fixed costs per run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.feedfactory import rss20, sample_items
from support.feeds_cli import FEEDS_ENV, run_feeds
from support.feedserver import FeedServer

# What only a fetched body, a full-text page or another command needs.
NOT_FOR_A_WARM_RUN = (
    "feedparser",
    "lxml",
    "readability",
    "tomlkit",
    "feeds.parse",
    "feeds.normalise.article",
    "feeds.fulltext.extract",
    "feeds.discovery",
    "feeds.config_edit",
    # What httpx's command-line client (kept out by feeds/__main__.py) would bring.
    "pygments",
    "rich.syntax",
    "rich.progress",  # the progress bar: for a terminal only
    "rich",  # plain lines to a pipe need no console (feeds.cli.runtime.Output)
    "anyascii",  # transliterates category names beyond ASCII only
)


def imported(stderr: str) -> set[str]:
    """The modules `python -X importtime` (PYTHONPROFILEIMPORTTIME) reported loading."""
    return {
        line.split("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def one_feed_site(folder: Path, feed_server: FeedServer, items: int) -> Path:
    url = feed_server.add("/feed.xml", rss20(sample_items(items)))
    config = folder / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\n'
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "one"\nurl = "{url}"\ncategory = "News"\n',
        encoding="utf-8",
    )
    return config


def update(config: Path, *extra: str) -> tuple[str, set[str]]:
    """`feeds update` with the import report on: its stdout and the modules it loaded."""
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    result = run_feeds("--config", str(config), "update", *extra, cwd=config.parent, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout, imported(result.stderr)


def test_a_warm_update_imports_no_parser(tmp_path: Path, feed_server: FeedServer) -> None:
    config = one_feed_site(tmp_path, feed_server, 3)
    stdout, _ = update(config)
    assert "1 source(s) updated: 3 new" in stdout

    stdout, loaded = update(config, "--all")
    assert "1 source(s) updated: 0 new, 0 changed, 0 failed" in stdout
    assert "if-none-match" in feed_server.requests_to("/feed.xml")[-1].headers  # a 304
    assert "feeds.update.run" in loaded  # the report is whole: the run's own stages are in it
    unwanted = {
        name
        for name in loaded
        for bad in NOT_FOR_A_WARM_RUN
        if name == bad or name.startswith(bad + ".")
    }
    assert not unwanted, f"a warm run imported {sorted(unwanted)}"


def test_a_run_that_parses_a_body_does_import_the_parser(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The check above can fail: a run that parses a body reports the parser's modules
    (loaded in its worker processes, which inherit the environment)."""
    stdout, loaded = update(one_feed_site(tmp_path, feed_server, 2))
    assert "1 source(s) updated: 2 new" in stdout
    assert "feedparser" in loaded


# `feeds ARGS` through the entry point, saying at exit whether the collector is on and how
# many objects start-up froze.
COLLECTOR_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("collector", gc.isenabled(), gc.get_freeze_count() > 0))
sys.argv = ["feeds", *sys.argv[1:]]
from feeds.__main__ import main
main()
"""


def test_the_collector_is_off_while_loading_and_on_for_the_command(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Start-up turns the cycle collector off while it imports (feeds/__main__.py); the
    command must run with it on again, or a long-running daemon would keep every cycle."""
    config = one_feed_site(tmp_path, feed_server, 1)
    result = subprocess.run(
        [sys.executable, "-c", COLLECTOR_AT_EXIT, "--config", str(config), "update"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**FEEDS_ENV, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "collector True True" in result.stdout


def test_running_a_command_leaves_its_result_unspelt() -> None:
    """asyncio's runner, putting Ctrl+C's handler back, spelt out the handler it had set,
    and with it the main task's result: an update's report of every source, twice a run."""
    from feeds.cli.runtime import run_async

    spelt: list[str] = []

    class Report:
        def __repr__(self) -> str:
            spelt.append("Report")
            return "Report()"

    async def command() -> Report:
        return Report()

    assert isinstance(run_async(command()), Report)
    assert spelt == []
