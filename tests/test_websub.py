"""WebSub announcements and hub links, against a fake hub on 127.0.0.1."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feeds_cli import SEED, run_feeds
from support.feedserver import FeedServer


def run_update(config: Path) -> subprocess.CompletedProcess[str]:
    return run_feeds("--config", str(config), "update", cwd=config.parent)


def test_feeds_carry_the_hub_and_changes_are_announced(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    hub = feed_server.add("/hub", b"", status=202)
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\nbase_url = "https://news.example.org/"\n'
        f'[websub]\nhub = "{hub}"\n'
        '[[sources]]\nname = "L"\npath = "articles"\ntimezone = "Europe/Berlin"\n'
        'interval = "10m"\n',
        encoding="utf-8",
    )
    assert run_update(config).returncode == 0
    out = tmp_path / "out" / "welt-nachrichten"

    atom = (out / "atom.xml").read_bytes()
    assert_valid_atom(atom)
    links = {l.get("rel"): l.get("href") for l in etree.fromstring(atom).iter("{*}link")}
    assert links["hub"] == hub
    assert links["self"] == "https://news.example.org/welt-nachrichten/atom.xml"

    rss = (out / "rss.xml").read_bytes()
    assert_valid_rss(rss)
    channel = etree.fromstring(rss).find("channel")
    rss_links = {l.get("rel"): l.get("href") for l in channel.iter("{*}link") if l.get("rel")}
    assert rss_links == {"self": "https://news.example.org/welt-nachrichten/rss.xml", "hub": hub}
    assert channel.findtext("ttl") == "10"  # the category's fastest source interval, minutes
    assert feedparser.parse(io.BytesIO(rss)).bozo == 0

    jsonfeed = (out / "feed.json").read_bytes()
    assert_valid_jsonfeed(jsonfeed)
    assert json.loads(jsonfeed)["hubs"] == [{"type": "WebSub", "url": hub}]

    pings = [parse_qs(r.body.decode()) for r in feed_server.requests if r.method == "POST"]
    announced = {p["hub.url"][0] for p in pings}
    assert all(p["hub.mode"] == ["publish"] for p in pings)
    assert "https://news.example.org/welt-nachrichten/atom.xml" in announced
    assert "https://news.example.org/all/feed.json" in announced
    assert not any(url.endswith(".html") for url in announced)

    # Nothing changed: nothing rewritten, nothing announced.
    count = len(pings)
    assert run_update(config).returncode == 0
    assert len([r for r in feed_server.requests if r.method == "POST"]) == count


def test_a_failing_hub_does_not_fail_the_run(tmp_path: Path, feed_server: FeedServer) -> None:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\n[websub]\nhub = "{feed_server.url("/no-hub")}"\n'
        '[[sources]]\nname = "L"\npath = "articles"\n',
        encoding="utf-8",
    )
    result = run_update(config)
    assert result.returncode == 0
    assert "WebSub hub answered 404" in result.stderr
