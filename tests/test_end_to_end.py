"""`feeds update` as a subprocess against a real HTTP server on 127.0.0.1 and a SQLite file."""

from __future__ import annotations

import io
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.default_site import install_default_site
from support.feedfactory import FeedItem, atom03, atom10, broken_rss, jsonfeed, rss10, rss20
from support.feeds_cli import FEEDS_ENV, SEED, run_feeds
from support.feedserver import FeedServer
from support.namespaces import ATOM, XML_LANG

pytestmark = pytest.mark.slow


def items(prefix: str, count: int = 2) -> list[FeedItem]:
    return [
        FeedItem(
            id=f"urn:{prefix}:{n}",
            title=f"{prefix} item {n}: Größe & Maß",
            link=f"https://example.com/{prefix}/{n}",
            html=f'<p>{prefix} body {n} <a href="rel/{n}">more</a></p><script>alert(1)</script>',
            summary=f"{prefix} summary {n}",
            published=datetime(2025, 3, n, 8, 0, tzinfo=UTC),
            authors=("Jörg",),
            tags=("x",),
        )
        for n in range(1, count + 1)
    ]


FORMATS: dict[str, tuple[Callable[..., bytes], str]] = {
    "rss20": (rss20, "application/rss+xml"),
    "rss10": (rss10, "application/rdf+xml"),
    "atom10": (atom10, "application/atom+xml"),
    "atom03": (atom03, "application/atom+xml"),
    "jsonfeed": (jsonfeed, "application/feed+json"),
}


@pytest.fixture
def site(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A config with the seed article, one remote source per format, and bad sources."""
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles)
    (articles / "broken.txt").write_text("no header here\n\nTitle\n\nBody\n", encoding="utf-8")
    sources = [
        '[[sources]]\nname = "Lokal"\npath = "articles"\nlanguage = "de"\n'
        'timezone = "Europe/Berlin"\n'
    ]
    for name, (writer, content_type) in FORMATS.items():
        url = feed_server.add(f"/{name}", writer(items(name)), content_type=content_type)
        sources.append(f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "Technik"\n')
    latin1 = rss20(items("latin"), encoding="iso-8859-1")
    url = feed_server.add("/latin1", latin1, content_type="application/rss+xml")
    sources.append(f'[[sources]]\nname = "latin1"\nurl = "{url}"\ncategory = "Europa"\n')
    url = feed_server.add("/broken", broken_rss(items("broken", 4), good=2))
    sources.append(f'[[sources]]\nname = "broken"\nurl = "{url}"\ncategory = "Europa"\n')
    url = feed_server.add(
        "/html", b"<html><body>Not a feed</body></html>", content_type="text/html"
    )
    sources.append(f'[[sources]]\nname = "html page"\nurl = "{url}"\ncategory = "Europa"\n')
    missing = feed_server.url("/missing")
    sources.append(f'[[sources]]\nname = "missing"\nurl = "{missing}"\ncategory = "Europa"\n')
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\ntitle = "Test Site"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n' + "\n".join(sources),
        encoding="utf-8",
    )
    return config


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.name in ("atom.xml", "rss.xml", "feed.json"))


def test_update_publishes_every_format_and_survives_bad_sources(
    site: Path, feed_server: FeedServer
) -> None:
    result = run_feeds("--config", str(site), "update")
    assert result.returncode == 0, result.stderr
    out = site.parent / "out"
    # Every failure is named with its reason; the run still completed.
    assert "failed  html page: unparseable feed: " in result.stdout
    assert "failed  missing: HTTP 404" in result.stdout
    assert "broken.txt:1:" in result.stdout  # the malformed local article, with its line

    for path in feed_files(out):
        body = path.read_bytes()
        {
            "atom.xml": assert_valid_atom,
            "rss.xml": assert_valid_rss,
            "feed.json": assert_valid_jsonfeed,
        }[path.name](body)
        assert b"<script" not in body and b"&lt;script" not in body, path

    technik = feedparser.parse(io.BytesIO((out / "technik" / "atom.xml").read_bytes()))
    titles = {e.title for e in technik.entries}
    for name in FORMATS:
        assert {f"{name} item 1: Größe & Maß", f"{name} item 2: Größe & Maß"} <= titles
    assert len(technik.entries) == 2 * len(FORMATS)
    relative = next(e for e in technik.entries if e.title.startswith("rss20 item 1"))
    # RSS has no xml:base here: relative links resolve against the feed's own URL.
    assert f'href="{feed_server.url("/rel/1")}"' in relative.content[0].value

    europa = feedparser.parse(io.BytesIO((out / "europa" / "atom.xml").read_bytes()))
    europa_titles = {e.title for e in europa.entries}
    assert {"latin item 1: Größe & Maß", "latin item 2: Größe & Maß"} <= europa_titles
    assert {"broken item 1: Größe & Maß", "broken item 2: Größe & Maß"} <= europa_titles

    everything = json.loads((out / "all" / "feed.json").read_text(encoding="utf-8"))
    # 2 per format, the seed, 2 Latin-1 and the broken feed's 4 (the lenient parser keeps all)
    assert len(everything["items"]) == 2 * len(FORMATS) + 1 + 2 + 4


def test_second_run_is_conditional_and_rewrites_nothing(
    site: Path, feed_server: FeedServer
) -> None:
    assert run_feeds("--config", str(site), "update").returncode == 0
    out = site.parent / "out"
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    second = run_feeds("--config", str(site), "update", "--all")
    assert second.returncode == 0, second.stderr
    assert "0 new, 0 changed" in second.stdout
    # The two failing sources failed once more: the front page shows their error counts,
    # so it alone is rewritten (with its compressed variants).
    assert "2 failed; 1 file(s) written" in second.stdout
    rewritten = {p for p in out.rglob("*") if p.is_file() and p.stat().st_mtime_ns != mtimes[p]}
    front = {out / name for name in ("index.html", "index.html.br", "index.html.gz")}
    assert rewritten == {*front, out / ".feeds-front"}
    # The validators we stored were sent back.
    [first_request, second_request] = feed_server.requests_to("/rss20")
    assert "if-none-match" not in first_request.headers
    assert second_request.headers["if-none-match"].startswith('"')
    assert "feeds/" in second_request.headers["user-agent"]
    # Without --all nothing remote is due yet: no third request, no health change, no write.
    third = run_feeds("--config", str(site), "update")
    assert third.returncode == 0
    assert "0 file(s) written" in third.stdout
    assert len(feed_server.requests_to("/rss20")) == 2
    db = sqlite3.connect(site.parent / "var" / "feeds.db")
    count = db.execute("select count(*) from articles where source = 'rss20'").fetchone()[0]
    assert count == 2


def test_default_config_publishes_the_seed_offline(tmp_path: Path) -> None:
    """The shipped config, copied so the checkout's output/ is left alone."""
    config = install_default_site(tmp_path)
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "output" / "welt-nachrichten"
    atom = (out / "atom.xml").read_bytes()
    assert_valid_atom(atom)
    entry = etree.fromstring(atom).find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Russland und USA planen bald Botschaftsgespräche"
    assert entry.findtext(f"{ATOM}published") == "2025-05-10T11:33:00+02:00"
    assert entry.findtext(f"{ATOM}id") == "urn:uuid:794c525b-11c3-5d83-8dfd-ec9531277c7e"
    assert etree.fromstring(atom).get(XML_LANG) == "de"
    content = entry.findtext(f"{ATOM}content")
    assert content.count("<p>") == 5
    assert "„Ja, es wird stattfinden." in content
    assert "Botschaftsgespräche" not in content  # the headline is not repeated
    assert entry.findtext(f"{ATOM}summary").startswith("Der russische Vizeaußenminister")
    link = entry.find(f"{ATOM}link").get("href")
    page = tmp_path / "output" / link.removeprefix("http://localhost:8080/")
    assert page.is_file() and "„Sondierungsphase“" in page.read_text(encoding="utf-8")
    rss = feedparser.parse(io.BytesIO((out / "rss.xml").read_bytes()))
    assert rss.bozo == 0 and rss.entries[0].link == link
    item = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["date_published"] == "2025-05-10T11:33:00+02:00"
    assert item["language"] == "de"


def test_config_error_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\n[[sources]]\nname = "x"\nurl = "https://a/"\npath = "b"\n'
        'category = "C"\ninterval = "soon"\n',
        encoding="utf-8",
    )
    result = run_feeds("--config", str(config), "update")
    assert result.returncode == 2
    assert f"{config}: sources[1] (\"x\") key 'url': has 'url' and 'path'" in result.stderr
    assert f"{config}: sources[1] (\"x\") key 'interval': bad duration 'soon'" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "var").exists()
    check = run_feeds("--config", str(config), "check")
    assert check.returncode == 2


def test_check_lists_sources(site: Path) -> None:
    result = run_feeds("--config", str(site), "check")
    assert result.returncode == 0
    assert "OK, 10 source(s)" in result.stdout
    assert "Lokal [local] -> (from the files)" in result.stdout


def test_unwritable_store_is_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the store's folder should be")
    config = tmp_path / "feeds.toml"
    config.write_text('[storage]\nurl = "sqlite:///var/sub/feeds.db"\n', encoding="utf-8")
    result = run_feeds("--config", str(config), "update")
    assert result.returncode == 1
    assert "Error:" in result.stderr


def test_daemon_publishes_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = install_default_site(tmp_path)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(config), "run"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**FEEDS_ENV, "HOME": str(tmp_path)},
    )
    try:
        atom = tmp_path / "output" / "welt-nachrichten" / "atom.xml"
        deadline = time.monotonic() + 30
        while not atom.exists() and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.1)
        assert atom.exists(), daemon.stderr.read() if daemon.poll() is not None else "no output"
        assert_valid_atom(atom.read_bytes())
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert "Traceback" not in daemon.stderr.read()


def test_site_changes_republish_everything_and_publish_forces_it(tmp_path: Path) -> None:
    config = install_default_site(tmp_path)
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    atom = tmp_path / "output" / "welt-nachrichten" / "atom.xml"
    assert b"http://localhost:8080/" in atom.read_bytes()
    # Nothing changed in the sources, but the site's URL did: every file follows.
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("http://localhost:8080/", "https://feeds.example.org/"))
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0 and "0 new" in result.stdout
    assert b"https://feeds.example.org/welt-nachrichten/atom.xml" in atom.read_bytes()
    assert b"localhost:8080" not in (tmp_path / "output" / "index.html").read_bytes()
    # `feeds publish` rewrites from the store: a deleted file comes back.
    atom.unlink()
    result = run_feeds("--config", str(config), "publish", cwd=tmp_path)
    assert result.returncode == 0 and atom.exists()
    assert "1 file(s) written" in result.stdout
