"""Discovery that lets the editor choose (issue 14): `feeds sources add PAGE` lists every feed a
page advertises, in page order, with its entry count, and chooses none silently; `--pick N`,
`--first` and `--list`; a prompt on a terminal; OPML entries that are pages.

Pages and feeds are served by the real test server (`feed_server`); the commands run
in-process (CliRunner, whose stdin is no terminal) and, for the prompt, as `python -m feeds`
on a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from support.cannedweb import CannedWeb
from support.feedfactory import FeedItem, atom10, jsonfeed, rss10, rss20, sample_items
from support.feeds_cli import FEEDS_ENV
from support.feedserver import FeedServer
from support.terminal import read_terminal, read_until

from feeds.addresses import private_address, refusal
from feeds.cli.feed_choice import choose, listing
from feeds.cli.sources import opml, sources
from feeds.config import load_config
from feeds.discovery import (
    FETCHES_AT_ONCE,
    MAX_CANDIDATES,
    WELL_KNOWN_PATHS,
    Candidate,
    Discovery,
    FeedCheck,
    FeedLink,
    discover,
    find_feed_links,
    well_known_urls,
)
from feeds.sources.remote import make_client
from feeds.workers import ParserPool

CONFIG = """\
# kept byte for byte
[output]
dir = "out"

[fetch]
connect_timeout = "5s"
read_timeout = "5s"
deadline = "20s"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(group: click.Group, config: Path, *args: str) -> Result:
    return CliRunner().invoke(group, list(args), obj=str(config), catch_exceptions=False)


def html_page(*links: tuple[str, str, str]) -> bytes:
    """A page advertising (type, title, href) links, in this order."""
    head = "".join(
        f'<link rel="alternate" type="{media}" title="{title}" href="{href}">'
        for media, title, href in links
    )
    return (
        f"<!DOCTYPE html><html><head><title>Ada</title>{head}</head><body>hi</body></html>".encode()
    )


def added(config: Path) -> list[tuple[str, str | None]]:
    return [(s.name, s.url) for s in load_config(config).sources]


# The page: RSS "Ada's blog" first, Atom "Comments" second, then three more.
FIVE = (
    ("application/rss+xml", "Ada's blog", "/blog/rss.xml"),
    ("application/atom+xml", "Comments", "/blog/comments.atom"),
    ("application/feed+json", "JSON", "/blog/feed.json"),
    ("application/rdf+xml", "Old RDF", "/blog/index.rdf"),
    ("application/rss+xml", "Podcast", "/blog/gone.xml"),  # 404
)


@pytest.fixture
def five_feeds(feed_server: FeedServer) -> str:
    """A page advertising five feeds (the fifth is gone); its URL."""
    feed_server.add("/blog/rss.xml", rss20(sample_items(4), title="Ada's blog"))
    feed_server.add("/blog/comments.atom", atom10([], title="Comments"))
    feed_server.add("/blog/feed.json", jsonfeed(sample_items(2), title="JSON"))
    feed_server.add("/blog/index.rdf", rss10(sample_items(3), title="Old RDF"))
    return feed_server.add("/blog/", html_page(*FIVE), content_type="text/html")


# --- what a page advertises -------------------------------------------------------------------


def test_every_feed_type_in_page_order_each_url_once() -> None:
    page = html_page(
        *FIVE,
        ("application/rss+xml", "again", "/blog/rss.xml"),  # the same URL again
        ("application/json", "WordPress REST", "/wp-json/wp/v2/pages/1"),  # no feed type
        ("text/css", "style", "/s.css"),
    )
    found = find_feed_links(page, "https://ada.example/blog/")
    assert [(link.url, link.title, link.kind) for link in found.links] == [
        ("https://ada.example/blog/rss.xml", "Ada's blog", "RSS"),
        ("https://ada.example/blog/comments.atom", "Comments", "Atom"),
        ("https://ada.example/blog/feed.json", "JSON", "JSON Feed"),
        ("https://ada.example/blog/index.rdf", "Old RDF", "RDF"),
        ("https://ada.example/blog/gone.xml", "Podcast", "RSS"),
    ]
    assert found.left_out == 0


def test_hostile_links_are_passed_over_and_titles_become_plain_text() -> None:
    page = (
        b"<html><head>"
        b'<link rel="alternate" type="application/rss+xml" title="x" href="javascript:alert(1)">'
        b'<link rel="alternate" type="application/rss+xml" title="x" href="data:text/xml,<rss/>">'
        b'<link rel="alternate" type="application/rss+xml" title="x" href="ftp://a.example/f">'
        b'<link rel="alternate" type="application/rss+xml" title="x" href="/a\x01b">'
        b'<link rel="alternate" type="application/atom+xml" href="/long?' + b"x" * 3000 + b'">'
        b'<link rel="alternate" type="application/rss+xml" '
        b'title="&lt;b&gt;Bold&lt;/b&gt; \x1b[2J\xc2\x9b31m news" href="/ok.xml">'
        b"</head></html>"
    )
    found = find_feed_links(page, "https://x.example/")
    assert [(link.url, link.title) for link in found.links] == [
        ("https://x.example/ok.xml", "Bold [2J 31m news")
    ]


def test_hundreds_of_links_are_capped_and_the_rest_counted() -> None:
    links = [("application/rss+xml", f"feed {n}", f"/f{n}.xml") for n in range(300)]
    found = find_feed_links(html_page(*links), "https://x.example/")
    assert len(found.links) == MAX_CANDIDATES
    assert found.links[0].url == "https://x.example/f0.xml"  # page order kept
    assert found.left_out == 300 - MAX_CANDIDATES


def test_well_known_paths_are_on_the_pages_own_site_only() -> None:
    urls = well_known_urls("https://ada.example:8443/blog/post.html?x=1")
    assert urls[: len(WELL_KNOWN_PATHS)] == [
        f"https://ada.example:8443/blog/{path}" for path in WELL_KNOWN_PATHS
    ]
    assert urls[len(WELL_KNOWN_PATHS) :] == [
        f"https://ada.example:8443/{path}" for path in WELL_KNOWN_PATHS
    ]
    assert well_known_urls("http://ada.example") == [
        f"http://ada.example/{path}" for path in WELL_KNOWN_PATHS
    ]  # the root is one folder, asked once


def test_the_listing_lets_no_control_character_reach_the_terminal() -> None:
    hostile = "Evil\x1b]0;owned\x07 \x9b2J title"
    discovery = Discovery(
        "https://x.example/",
        (
            Candidate(
                FeedLink("https://x.example/a", hostile, "RSS"),
                FeedCheck("https://x.example/a", "feed\x1b[5m", 3, "RSS"),
            ),
            Candidate(FeedLink("https://x.example/b", None, "Atom"), error="HTTP 500 \x1b[31mx"),
        ),
        page_url="https://x.example/",
    )
    text = "\n".join(listing(discovery))
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text), text
    assert "1. Evil ]0;owned 2J title" in text and "3 entries" in text
    assert "2. (no title) - Atom, failed: HTTP 500 [31mx" in text


# --- feeds sources add: 0, 1 and 5 feeds, not on a terminal -------------------------------------


def test_a_page_with_five_feeds_lists_them_and_chooses_none(config: Path, five_feeds: str) -> None:
    result = run(sources, config, "add", five_feeds, "--category", "K")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == f"{five_feeds} is an HTML page that advertises 5 feeds:"
    assert lines[1:3] == ["  1. Ada's blog - RSS, 4 entries", f"     {five_feeds}rss.xml"]
    assert lines[3] == "  2. Comments - Atom, 0 entries"
    assert lines[5] == "  3. JSON - JSON Feed, 2 entries"
    assert lines[7] == "  4. Old RDF - RDF, 3 entries"
    assert lines[9] == "  5. Podcast - RSS, failed: HTTP 404 Not Found"
    assert "--pick N (1 to 5)" in result.stderr and "--first" in result.stderr
    assert "nothing written" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_pick_first_and_list(config: Path, five_feeds: str, feed_server: FeedServer) -> None:
    listed = run(sources, config, "add", five_feeds, "--list")  # needs no --category
    assert listed.exit_code == 0, listed.output
    assert "  5. Podcast - RSS, failed: HTTP 404 Not Found" in listed.stdout
    assert config.read_text(encoding="utf-8") == CONFIG

    picked = run(sources, config, "add", five_feeds, "--category", "K", "--pick", "2")
    assert picked.exit_code == 0, picked.output
    assert added(config) == [("Comments", feed_server.url("/blog/comments.atom"))]

    first = run(sources, config, "add", five_feeds, "--category", "K", "--first")
    assert first.exit_code == 0, first.output
    assert "--first: taking feed 1" in first.stdout
    assert added(config)[-1] == ("Ada's blog", feed_server.url("/blog/rss.xml"))


@pytest.mark.parametrize(
    ("charset", "title"), [("euc-jp", "日本語のブログ"), ("undefined", "Ada's blog")]
)
def test_a_page_in_any_charset_lists_its_feeds(
    config: Path, feed_server: FeedServer, charset: str, title: str
) -> None:
    """euc-jp is named so by Python and refused by that name by lxml; `undefined` is a
    Python codec that decodes nothing (the page is then read as UTF-8). Either once ended
    the command in a LookupError traceback."""
    feed_server.add("/rss.xml", rss20(sample_items(2), title="Blog"))
    text = html_page(("application/rss+xml", title, "/rss.xml")).decode("utf-8")
    body = text.encode("utf-8" if charset == "undefined" else charset)
    page = feed_server.add("/", body, content_type=f"text/html; charset={charset}")
    listed = run(sources, config, "add", page, "--list")
    assert listed.exit_code == 0, listed.output
    assert f"  1. {title} (the feed calls itself Blog) - RSS, 2 entries" in listed.stdout


def test_an_advertised_feed_that_cannot_be_sent_fails_alone(
    config: Path, feed_server: FeedServer
) -> None:
    """Their fetches once raised out of the connection (OverflowError from asyncio's
    connect for the port, idna's InvalidCodepoint for the label): a traceback, and no other
    candidate listed."""
    feed_server.add("/rss.xml", rss20(sample_items(1), title="Blog"))
    page = feed_server.add(
        "/",
        html_page(
            ("application/rss+xml", "Far", "http://127.0.0.1:99999/rss.xml"),
            ("application/rss+xml", "Label", "http://xn--a/rss.xml"),
            ("application/rss+xml", "Near", "/rss.xml"),
        ),
        content_type="text/html",
    )
    listed = run(sources, config, "add", page, "--category", "K", "--first")
    assert listed.exit_code == 0, listed.output
    assert "  1. Far - RSS, failed: unusable URL: bad port: Port out of range 0-65535" in (
        listed.stdout
    )
    assert "  2. Label - RSS, failed: unusable URL: Codepoint U+0080 " in listed.stdout
    assert added(config) == [("Blog", feed_server.url("/rss.xml"))]


def test_pick_out_of_range_or_a_failed_feed_writes_nothing(config: Path, five_feeds: str) -> None:
    beyond = run(sources, config, "add", five_feeds, "--category", "K", "--pick", "6")
    assert beyond.exit_code == 2
    assert "--pick 6:" in beyond.stderr and "choose 1 to 5; nothing written" in beyond.stderr
    gone = run(sources, config, "add", five_feeds, "--category", "K", "--pick", "5")
    assert gone.exit_code == 1  # a failed fetch: worth trying again later
    assert "feed 5" in gone.stderr and "HTTP 404" in gone.stderr
    zero = run(sources, config, "add", five_feeds, "--category", "K", "--pick", "0")
    assert zero.exit_code == 2
    assert config.read_text(encoding="utf-8") == CONFIG


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pick", "1", "--first"], "--pick and --first exclude each other"),
        (["--first", "--list"], "--first and --list exclude each other"),
        (["--no-check", "--first"], "--no-check fetches nothing"),
        ([], "Missing option '--category'"),
    ],
)
def test_choice_options_that_contradict(config: Path, args: list[str], message: str) -> None:
    result = run(sources, config, "add", "https://x.example/", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_page_with_one_feed_takes_it_and_says_so(config: Path, feed_server: FeedServer) -> None:
    feed_server.add("/only.xml", rss20(sample_items(2), title="Only feed"))
    page = feed_server.add(
        "/one", html_page(("application/rss+xml", "Only", "/only.xml")), content_type="text/html"
    )
    result = run(sources, config, "add", page, "--category", "K")
    assert result.exit_code == 0, result.output
    assert f"{page} is an HTML page that advertises 1 feed:" in result.stdout
    assert "  1. Only (the feed calls itself Only feed) - RSS, 2 entries" in result.stdout
    assert added(config) == [("Only feed", feed_server.url("/only.xml"))]


def test_a_page_with_no_feed_advertised_is_probed_at_well_known_paths(
    config: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/site/feed.xml", atom10(sample_items(3), title="Found"))
    feed_server.add("/rss", b"", status=301, headers={"location": "/site/feed.xml"})
    page = feed_server.add("/site/about.html", html_page(), content_type="text/html")
    result = run(sources, config, "add", page, "--category", "K")
    assert result.exit_code == 0, result.output
    assert "is an HTML page that advertises no feed; 1 feed at well-known paths:" in result.stdout
    assert "  1. Found - Atom, 3 entries" in result.stdout  # /rss leads to the same feed
    assert added(config) == [("Found", feed_server.url("/site/feed.xml"))]
    asked = {r.path for r in feed_server.requests}
    expected = {f"/site/{p}" for p in WELL_KNOWN_PATHS} | {f"/{p}" for p in WELL_KNOWN_PATHS}
    assert asked - {"/site/about.html"} == expected  # the same site, nothing else


def test_a_page_with_no_feed_at_all_explains(config: Path, feed_server: FeedServer) -> None:
    page = feed_server.add("/empty.html", html_page(), content_type="text/html")
    result = run(sources, config, "add", page, "--category", "K")
    assert result.exit_code == 2
    assert "HTML page that links to no feed" in result.stderr
    assert "none of the well-known paths (feed, rss, atom" in result.stderr
    assert len(feed_server.requests) == 1 + len(WELL_KNOWN_PATHS)  # at the root: one folder
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_feed_url_is_its_own_only_candidate(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/direct.xml", rss20(sample_items(1), title="Direct"))
    assert run(sources, config, "add", url, "--category", "K", "--pick", "2").exit_code == 2
    result = run(sources, config, "add", url, "--category", "K", "--pick", "1")
    assert result.exit_code == 0, result.output
    assert added(config) == [("Direct", url)]


# --- hostile pages ----------------------------------------------------------------------------


def test_hundreds_of_links_fetch_at_most_the_cap(config: Path, feed_server: FeedServer) -> None:
    links = [("application/rss+xml", f"feed {n}", f"/f{n}.xml") for n in range(300)]
    page = feed_server.add("/many", html_page(*links), content_type="text/html")
    result = run(sources, config, "add", page, "--list")
    assert result.exit_code == 0, result.output
    assert f"({300 - MAX_CANDIDATES} more advertised feeds left out" in result.stdout
    assert len(feed_server.requests) == 1 + MAX_CANDIDATES


def test_a_public_page_cannot_make_us_fetch_a_private_address(
    config: Path, canned_web: CannedWeb, feed_server: FeedServer
) -> None:
    """A page on a public host naming a loopback feed: listed with the reason, never fetched."""
    inside = feed_server.add("/internal.xml", rss20(sample_items(1)))
    canned_web.add("/public.xml", rss20(sample_items(2), title="Public"))
    page = canned_web.add(
        "/",
        html_page(
            ("application/rss+xml", "Inside", inside),
            ("application/rss+xml", "Public", "/public.xml"),
        ),
        content_type="text/html",
    )
    fetch = load_config(config).fetch

    async def go() -> Discovery:
        async with canned_web.client(fetch) as client:
            return await discover(client, page, fetch, ParserPool(workers=0))

    found = asyncio.run(go())
    inside_candidate, public = found.candidates
    assert inside_candidate.check is None
    assert "127.0.0.1 is a loopback address, named by a page on a public host" in (
        inside_candidate.error or ""
    )
    assert public.check is not None and public.check.entries == 2
    assert feed_server.requests == []


def test_a_parse_that_overruns_its_deadline_shows_why(config: Path, five_feeds: str) -> None:
    """Candidates are parsed in the worker pool under the parse deadline, as in an update."""
    fetch = load_config(config).fetch
    pool = ParserPool(workers=1, deadline=0.0001)

    async def go() -> Discovery:
        async with make_client(fetch) as client:
            return await discover(client, five_feeds, fetch, pool)

    try:
        found = asyncio.run(go())
    finally:
        pool.close()
    errors = [c.error for c in found.candidates[:4]]
    assert errors == ["parsing took longer than 0.0001s"] * 4
    assert found.candidates[4].error == "HTTP 404 Not Found"


# --- OPML entries that are pages ------------------------------------------------------------


def opml_file(tmp_path: Path, *outlines: tuple[str, str]) -> Path:
    body = "".join(f'<outline text="{text}" xmlUrl="{url}"/>' for text, url in outlines)
    path = tmp_path / "subs.opml"
    path.write_text(f'<opml version="2.0"><body>{body}</body></opml>', encoding="utf-8")
    return path


def test_opml_pages_one_feed_taken_several_skipped_with_the_command(
    config: Path, tmp_path: Path, feed_server: FeedServer, five_feeds: str
) -> None:
    feed_server.add("/one.xml", rss20(sample_items(1), title="One"))
    one = feed_server.add(
        "/one.html", html_page(("application/rss+xml", "One", "/one.xml")), content_type="text/html"
    )
    empty = feed_server.add("/empty.html", html_page(), content_type="text/html")
    file = opml_file(tmp_path, ("Single", one), ("Five", five_feeds), ("Nothing", empty))
    result = run(opml, config, "import", str(file), "--category", "Blogs")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 1, skipped 2\n")
    assert f"  found   <{one}>: an HTML page; in its place its only feed, advertised by" in (
        result.stdout
    )
    assert added(config) == [("Single", feed_server.url("/one.xml"))]
    five_line = next(line for line in result.stdout.splitlines() if "'Five'" in line)
    assert "an HTML page with 5 feeds advertised by the page (1. " in five_line
    assert f"`feeds sources add {five_feeds} --category Blogs --pick N`" in five_line
    assert "or import again with --first" in five_line
    assert "links to no feed" in result.stdout


def test_opml_first_takes_the_first_usable_feed_of_a_page(
    config: Path, tmp_path: Path, feed_server: FeedServer, five_feeds: str
) -> None:
    direct = feed_server.url("/blog/rss.xml")
    file = opml_file(tmp_path, ("Five", five_feeds), ("Also listed directly", direct))
    result = run(opml, config, "import", str(file), "--first")
    assert result.exit_code == 0, result.output
    assert "feed 1 of 5 (--first), advertised by the page" in result.stdout
    # The page's feed is the one listed below it: imported once.
    assert added(config) == [("Five", direct)]
    assert "listed twice in this OPML" in result.stdout


# --- on a terminal --------------------------------------------------------------------------


def on_a_terminal(config: Path, args: list[str], answers: list[tuple[bytes, bytes]]) -> bytes:
    """`feeds sources add ARGS` with a pseudo-terminal as stdin, stdout and stderr: at each
    (prompt, answer), wait for the prompt and type the answer. What the terminal showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(config), "sources", "add", *args],
        cwd=config.parent, stdin=follower, stdout=follower, stderr=follower,
        env={**FEEDS_ENV, "HOME": str(config.parent), "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    shown = b""
    try:
        for prompt, answer in answers:
            shown += read_until(leader, prompt)
            os.write(leader, answer)
        shown += read_terminal(leader)
        process.wait(timeout=60)
    finally:
        os.close(leader)
    return shown + f"\n(exit {process.returncode})".encode()


PROMPT = b"Which feed? 1-5, empty to cancel: "


@pytest.mark.slow
def test_the_editor_is_asked_until_the_answer_is_a_usable_feed(
    config: Path, five_feeds: str, feed_server: FeedServer
) -> None:
    answers = [b"x\n", b"9\n", b"5\n", b"2\n"]  # no number, out of range, gone, then one
    shown = on_a_terminal(config, [five_feeds, "--category", "K"], [(PROMPT, a) for a in answers])
    assert shown.endswith(b"(exit 0)"), shown
    text = shown.decode().replace("\r\n", "\n")
    assert "  1. Ada's blog - RSS, 4 entries" in text
    assert "'x' is not one of 1 to 5" in text and "'9' is not one of 1 to 5" in text
    assert "feed 5 cannot be used (HTTP 404 Not Found)" in text
    assert text.count(PROMPT.decode()) == 4
    assert added(config) == [("Comments", feed_server.url("/blog/comments.atom"))]


@pytest.mark.slow
@pytest.mark.parametrize("answer", [b"\x04", b"\n"], ids=["ctrl-d", "empty"])
def test_ctrl_d_or_an_empty_answer_writes_nothing(
    config: Path, five_feeds: str, answer: bytes
) -> None:
    shown = on_a_terminal(config, [five_feeds, "--category", "K"], [(PROMPT, answer)])
    assert shown.endswith(b"(exit 2)"), shown
    assert b"no feed chosen; nothing written" in shown
    assert config.read_text(encoding="utf-8") == CONFIG


@pytest.mark.slow
def test_hostile_titles_reach_the_terminal_as_plain_text(
    config: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/a.xml", rss20(sample_items(1), title="<b>A</b>\x9b2J\x85pwned"))
    feed_server.add("/b.xml", atom10([FeedItem(id="1", title="x")], title="B"))
    page = feed_server.add(
        "/evil",
        html_page(
            ("application/rss+xml", "&#x1b;[2J&#x9b;31mred", "/a.xml"),
            ("application/atom+xml", "<script>B</script>", "/b.xml"),
        ),
        content_type="text/html",
    )
    prompt = b"Which feed? 1-2, empty to cancel: "
    shown = on_a_terminal(config, [page, "--category", "K"], [(prompt, b"\x04")])
    assert shown.endswith(b"(exit 2)"), shown
    assert b"\x1b" not in shown and b"\xc2\x9b" not in shown and b"\x07" not in shown
    text = shown.decode()
    # C1 controls in HTML are read as windows-1252 (the HTML standard's rule): "›", "…".
    assert "1. [2J›31mred (the feed calls itself A›2J…pwned) - RSS, 1 entry" in text
    assert "2. B - Atom, 1 entry" in text  # markup is no title: the feed's own is shown


HTML, RSS = {"content-type": "text/html"}, {"content-type": "application/rss+xml"}


def test_candidates_are_fetched_at_most_four_at_a_time(config: Path) -> None:
    """Ten feeds on ten hosts: the fetches overlap, but never more than FETCHES_AT_ONCE."""
    hosts = [f"https://h{n}.example" for n in range(10)]
    page = html_page(*(("application/rss+xml", f"H{n}", f"{h}/f.xml") for n, h in enumerate(hosts)))
    feed = rss20(sample_items(1))
    in_flight = peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        if request.url.host == "page.example":
            return httpx.Response(200, headers=HTML, stream=httpx.ByteStream(page))
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)  # hold the slot while the others are started
        in_flight -= 1
        return httpx.Response(200, headers=RSS, stream=httpx.ByteStream(feed))

    fetch = load_config(config).fetch

    async def go() -> Discovery:
        client = make_client(fetch, transport=httpx.MockTransport(answer))
        async with client:
            return await discover(client, "https://page.example/", fetch, ParserPool(workers=0))

    found = asyncio.run(go())
    assert [c.check.entries if c.check else c.error for c in found.candidates] == [1] * 10
    assert peak == FETCHES_AT_ONCE


def test_a_prompt_answer_of_many_digits_is_asked_again() -> None:
    """int() refuses strings of thousands of digits: such an answer is just not a number."""
    discovery = Discovery(
        "https://x.example/",
        tuple(
            Candidate(FeedLink(url), FeedCheck(url, None, 1))
            for url in ("https://x.example/a", "https://x.example/b")
        ),
        page_url="https://x.example/",
    )
    answers = iter(["1" * 5000, "٢", "2"])
    said: list[str] = []
    chosen = choose(discovery, pick=None, first=False, ask=lambda _: next(answers), say=said.append)
    assert chosen.url == "https://x.example/b"
    assert len(said) == 2 and all("is not one of 1 to 2" in line for line in said)


def test_the_candidates_of_a_slow_host_share_one_time_budget(
    config: Path, feed_server: FeedServer
) -> None:
    """Four feeds on one host answering one at a time, 0.4 s each: within a budget of 0.5 s
    not all can be done (however fast the machine), and the late ones say why."""
    config.write_text(CONFIG + "per_host = 1\n", encoding="utf-8")
    links = []
    for n in range(4):
        feed_server.add(f"/slow{n}.xml", rss20(sample_items(1)), delay=0.4)
        links.append(("application/rss+xml", f"Slow {n}", f"/slow{n}.xml"))
    page = feed_server.add("/slow", html_page(*links), content_type="text/html")
    fetch = load_config(config).fetch

    async def go() -> Discovery:
        async with make_client(fetch) as client:
            return await discover(client, page, fetch, ParserPool(workers=0), budget=0.5)

    found = asyncio.run(go())
    late = [c for c in found.candidates if c.check is None]
    assert len(found.candidates) == 4 and len(late) >= 2
    assert {c.error for c in late} == {"not checked: the candidates took longer than 0.5s together"}


class _PublicPage(httpx.AsyncBaseTransport):
    """page.example answered from memory (a public page), every other host through the
    production transport with its SSRF guard."""

    def __init__(self, page: bytes, guarded: httpx.AsyncBaseTransport) -> None:
        self.page, self.guarded = page, guarded

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "page.example":
            return httpx.Response(200, headers=HTML, stream=httpx.ByteStream(self.page))
        return await self.guarded.handle_async_request(request)


def test_the_ssrf_guard_judges_every_candidate(config: Path, feed_server: FeedServer) -> None:
    """With allow_private_addresses = false, a candidate whose name resolves to this machine
    is refused where the connection is made: the page-level rule cannot see a name's
    address, the guard resolves it."""
    config.write_text(CONFIG + "allow_private_addresses = false\n", encoding="utf-8")
    fetch = load_config(config).fetch
    feed_server.add("/inside.xml", rss20(sample_items(1)))
    name = socket.gethostname()  # a name that resolves to this machine (/etc/hosts)
    try:
        resolved = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if refusal(str(resolved)) is None:
        pytest.skip(f"this machine's name {name!r} resolves to a public address")
    port = feed_server.url("/").rsplit(":", 1)[1].rstrip("/")
    inside = f"http://{name}:{port}/inside.xml"
    page = html_page(("application/rss+xml", "Inside", inside))
    guarded = make_client(fetch)._transport  # the production transport, guard included

    async def go() -> Discovery:
        async with make_client(fetch, transport=_PublicPage(page, guarded)) as client:
            return await discover(client, "https://page.example/", fetch, ParserPool(workers=0))

    (candidate,) = asyncio.run(go()).candidates
    assert candidate.check is None
    assert f"refused to connect to {name}:" in (candidate.error or "")
    assert feed_server.requests == []


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.1", "127.1 (127.0.0.1) is a loopback address"),
        ("0x7f.1", "0x7f.1 (127.0.0.1) is a loopback address"),
        ("2130706433", "2130706433 (127.0.0.1) is a loopback address"),
        ("10.1", "10.1 (10.0.0.1) is a private address"),
        ("8.8.8.8", None),
        ("1.example", None),
    ],
)
def test_numeric_ipv4_forms_count_as_addresses(host: str, why: str | None) -> None:
    """The resolver reads 127.1 as 127.0.0.1: a page naming it is caught like 127.0.0.1."""
    assert private_address(f"http://{host}:8080/feed") == why


@pytest.mark.slow
def test_on_a_terminal_one_feed_is_taken_unasked_and_none_is_an_error(
    config: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/only.xml", rss20(sample_items(2), title="Only feed"))
    one = feed_server.add(
        "/one", html_page(("application/rss+xml", "Only", "/only.xml")), content_type="text/html"
    )
    none = feed_server.add("/none", html_page(), content_type="text/html")

    taken = on_a_terminal(config, [one, "--category", "K"], [])
    assert taken.endswith(b"(exit 0)"), taken
    assert b"Which feed?" not in taken and b"advertises 1 feed:" in taken
    assert added(config) == [("Only feed", feed_server.url("/only.xml"))]

    refused = on_a_terminal(config, [none, "--category", "K"], [])
    assert refused.endswith(b"(exit 2)"), refused
    assert b"Which feed?" not in refused and b"links to no feed" in refused
    assert added(config) == [("Only feed", feed_server.url("/only.xml"))]
