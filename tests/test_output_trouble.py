"""A file the output folder refuses (a folder in its place, a full or read-only disk) is
named with its reason in the error, the log and `feeds status`, and never stops the other
files of a publish; the next publish after the trouble writes what was left."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest
from support.daemon import daemon_with_metrics
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.waiting import wait_for

pytestmark = pytest.mark.slow

NAMES = ("Alpha", "Beta", "Gamma")  # published in this order: Alpha's batch comes first


def items(name: str, count: int) -> bytes:
    return rss20(
        FeedItem(id=f"{name}-{n}", title=f"{name} item {n}", link=f"https://e.com/{name}/{n}")
        for n in range(count)
    )


def problems(config: Path) -> dict[str, list[str]]:
    """`feeds status --problems --json`: the messages by scope."""
    done = run_feeds("--config", str(config), "status", "--problems", "--json", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return {scope["scope"]: scope["messages"] for scope in json.loads(done.stdout)}


def remote_site(root: Path, server: FeedServer) -> Path:
    text = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
    for name in NAMES:
        server.add(f"/{name}", items(name, 1))
        text += (
            f'[[sources]]\nname = "{name}"\nurl = "{server.url("/" + name)}"\ncategory = "{name}"\n'
        )
    (root / "feeds.toml").write_text(text, encoding="utf-8")
    return root / "feeds.toml"


def test_a_folder_in_a_files_place_stops_no_other_file(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = remote_site(tmp_path, feed_server)
    out = tmp_path / "out"
    done = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    blocked = out / "alpha" / "atom.xml.gz"
    blocked.unlink()
    blocked.mkdir()
    for name in NAMES:
        feed_server.add(f"/{name}", items(name, 2))

    done = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    # Every other file has the new items: the other categories, all/, Alpha's other feeds.
    for path in ("beta/atom.xml", "gamma/atom.xml", "all/atom.xml", "alpha/rss.xml"):
        assert b"item 1" in (out / path).read_bytes(), path
    assert f"cannot write output: 1 file(s) not written: {blocked}: Is a directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert blocked.is_dir()
    assert problems(config) == {"alpha": [f"not written: {blocked}: Is a directory"]}

    # The folder gone, the next run (nothing is due) writes what was left, and all is well.
    blocked.rmdir()
    done = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert blocked.is_file()
    assert b"item 1" in (out / "alpha" / "atom.xml").read_bytes()
    assert problems(config) == {}


def article(root: Path, name: str, number: int) -> None:
    folder = root / name
    folder.mkdir(exist_ok=True)
    (folder / f"{number}.md").write_text(
        f"---\ntitle: {name} article {number}\ndate: 2026-01-0{number + 1}T10:00\n---\nText\n",
        encoding="utf-8",
    )


def test_the_daemon_names_a_refused_file_once_and_publishes_the_rest(tmp_path: Path) -> None:
    text = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
    for name in NAMES:
        article(tmp_path, name, 0)
        text += f'[[sources]]\nname = "{name}"\npath = "{name}"\ncategory = "{name}"\n'
    (tmp_path / "feeds.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"

    def shows(path: str, title: str) -> bool:
        try:
            return title.encode() in (out / path).read_bytes()
        except OSError:
            return False

    with daemon_with_metrics(Path("feeds.toml"), tmp_path) as (process, base):
        assert wait_for(lambda: shows("gamma/atom.xml", "Gamma article 0"))
        blocked = out / "alpha" / "rss.xml"
        blocked.unlink()
        blocked.mkdir()
        for name in NAMES:
            article(tmp_path, name, 1)
        assert wait_for(lambda: shows("gamma/atom.xml", "Gamma article 1")), "others stopped"
        assert wait_for(lambda: shows("all/atom.xml", "Gamma article 1"))
        assert wait_for(lambda: shows("alpha/atom.xml", "Alpha article 1"))

        def scraped() -> str:
            return str(urllib.request.urlopen(base + "/metrics", timeout=5).read().decode())

        assert wait_for(lambda: "feeds_publish_problems 1.0" in scraped())
        assert problems(tmp_path / "feeds.toml") == {
            "alpha": [f"not written: {blocked}: Is a directory"]
        }

        # Room again: the next publish writes it, without a restart.
        blocked.rmdir()
        assert wait_for(lambda: shows("alpha/rss.xml", "Alpha article 1")), "not retried"
        assert wait_for(lambda: "feeds_publish_problems 0.0" in scraped())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    # Said once with the file and its reason (not once per retry), then its end.
    assert log.count("publishing failed") == 1, log
    assert f"publishing failed; will retry: 1 file(s) not written: {blocked}: Is a directory" in log
    assert "publishing works again" in log
    assert "Traceback" not in log
