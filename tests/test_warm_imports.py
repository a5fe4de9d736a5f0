"""A warm `feeds update` (every feed answers 304) loads no parser: feedparser, lxml,
readability, the normaliser, discovery and the config editor are imported only when a body,
a page or another command needs them (issue 17, fixed costs per run)."""

from __future__ import annotations

from pathlib import Path

from support.feedfactory import rss20, sample_items
from support.feeds_cli import run_feeds
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
