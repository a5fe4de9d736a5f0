"""Source management: `feeds sources add/list/remove` and `feeds opml import/export`.

Real config files in tmp_path (with comments and odd formatting that must survive every
edit), a real HTTP server for discovery and checks, and the click groups run in-process
(CliRunner) plus once as a subprocess.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from lxml import etree
from support.feedfactory import FeedItem, atom10, jsonfeed, rss20, sample_items
from support.feeds_cli import FEEDS_ENV, run_feeds
from support.feedserver import FeedServer

from feeds.addresses import private_address
from feeds.cli.errors import exit_code
from feeds.cli.sources import opml, sources
from feeds.config import ConfigError, load_config
from feeds.config_edit import (
    ConfigWriteError,
    DuplicateSourceError,
    EditError,
    NewSource,
    UnknownSourceError,
    add_source,
    add_sources,
    configured_sources,
    find_source,
    remove_source,
    write_config,
)
from feeds.discovery import find_feed_links, looks_like_html
from feeds.model import Source, SourceKind
from feeds.opml_file import FEEDS_NS, OpmlError, OpmlFeed, read_opml, write_opml
from feeds.source_identity import normalise_url
from feeds.subscriptions import plan_import

# A hand-edited config: comments everywhere, odd spacing, a literal string, a local source,
# a commented-out key and a closing comment block. Edits must leave all of it alone.
CONFIG = """\
# feeds configuration -- edited by hand, keep the comments!
[output]
dir    =   "out"          # odd spacing survives
base_url = 'http://localhost:8080/'   # a literal string
title = "Test site"

[storage]
url = "sqlite:///var/feeds.db"

[fetch]
connect_timeout = "2s"
read_timeout = "2s"
deadline = "5s"

# Articles written by the editors.
[[sources]]
name = "Lokal"
path = "articles"
timezone = "Europe/Berlin"
# language = "de"

# Heise: the German tech news.
# Fetched every hour.
[[sources]]
name    = "Heise"
url     = "https://www.heise.de/rss/heise.rdf"
category = "Technik"
interval = "1h"   # they ask for no more

# LWN, weekly edition and headlines.
[[sources]]
name = "LWN"
url = "https://lwn.net/headlines/rss"
category = "Technik"

# --- more sources go below this line ---
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "feeds.toml"
    path.parent.mkdir()
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(group: click.Group, config: Path, *args: str) -> Result:
    return CliRunner().invoke(group, list(args), obj=str(config), catch_exceptions=False)


def names(config: Path) -> list[str]:
    return [source.name for source in load_config(config).sources]


def assert_appended(before: str, after: str) -> None:
    """`after` is `before` plus something, byte for byte (`before` may lack a final newline)."""
    assert after.startswith(before if before.endswith("\n") else before + "\n"), after


def leftovers(config: Path) -> list[str]:
    return sorted(p.name for p in config.parent.iterdir() if p.name != config.name)


def page(*links: tuple[str, str], base: str | None = None) -> bytes:
    head = "".join(
        f'<link rel="alternate" type="{media}" title="t" href="{href}">' for media, href in links
    )
    if base is not None:
        head = f'<base href="{base}">' + head
    return (
        "<!DOCTYPE html><html><head><title>A blog</title>"
        '<link rel="stylesheet" href="/style.css">'
        f"{head}</head><body><p>Hello</p></body></html>"
    ).encode()


def blog_feed(count: int = 3, title: str = "Das Blog") -> bytes:
    return atom10(sample_items(count), title=title, link="https://blog.example/")


# --- discovery ----------------------------------------------------------------------------


def urls_of(html: bytes, base_url: str) -> list[str]:
    return [link.url for link in find_feed_links(html, base_url).links]


def test_discovery_keeps_page_order_and_resolves_relative_hrefs() -> None:
    html = page(
        ("application/feed+json", "feed.json"),
        ("application/rss+xml; charset=utf-8", "/rss.xml"),
        ("application/atom+xml", "../atom.xml"),
        ("application/atom+xml", "comments/atom.xml"),
    )
    assert urls_of(html, "https://blog.example/posts/index.html") == [
        "https://blog.example/posts/feed.json",
        "https://blog.example/rss.xml",
        "https://blog.example/atom.xml",
        "https://blog.example/posts/comments/atom.xml",
    ]
    only_json = page(("application/feed+json", "//cdn.example/f.json"))
    assert urls_of(only_json, "https://x.example/") == ["https://cdn.example/f.json"]


def test_discovery_honours_base_and_ignores_other_links() -> None:
    html = page(("application/rss+xml", "feed"), base="https://other.example/sub/")
    assert urls_of(html, "https://x.example/") == ["https://other.example/sub/feed"]
    others = (
        b'<html><head><link rel="alternate" hreflang="de" href="/de/">'
        b'<link rel="stylesheet alternate" type="text/css" href="a.css">'
        b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        b'<link rel="alternate" type="application/rss+xml" href="">'
        b'<link rel="ALTERNATE home" type="Application/Atom+XML" href="/a.xml">'
        b"</head></html>"
    )
    assert urls_of(others, "https://x.example/p") == ["https://x.example/a.xml"]


@pytest.mark.parametrize("html", [b"", b"   ", b"<html><body>no feeds</body></html>", b"\x00\xff"])
def test_discovery_without_feeds_finds_nothing(html: bytes) -> None:
    assert urls_of(html, "https://x.example/") == []


def test_looks_like_html() -> None:
    assert looks_like_html(b"<?xml version='1.0'?><rss/>", "text/html; charset=utf-8")
    assert not looks_like_html(b"<!DOCTYPE html>", "application/rss+xml")
    assert looks_like_html(b"\xef\xbb\xbf  <!doctype HTML><html>", None)
    assert not looks_like_html(b"<?xml version='1.0'?><feed/>", None)


# --- editing the config text --------------------------------------------------------------


def test_add_source_appends_and_keeps_everything_before_byte_for_byte() -> None:
    after = add_source(
        CONFIG, name='Grüße "Blog"', url="https://b.example/feed", category="Kultur", interval="2h"
    )
    assert_appended(CONFIG, after)
    added = tomllib.loads(after)["sources"][-1]
    assert added == {
        "name": 'Grüße "Blog"',
        "url": "https://b.example/feed",
        "category": "Kultur",
        "interval": "2h",
    }
    # Without a final newline, one is added; with CRLF line ends, the new table uses them too.
    bare = CONFIG.rstrip("\n")
    assert_appended(bare, add_source(bare, name="B", url="https://b.example/", category="K"))
    crlf = CONFIG.replace("\n", "\r\n")
    added_crlf = add_source(crlf, name="B", url="https://b.example/", category="K")
    assert added_crlf.startswith(crlf)
    assert "\n" not in added_crlf.replace("\r\n", "")
    assert add_source("", name="B", url="https://b.example/", category="K").startswith(
        "[[sources]]\n"
    )


def test_add_then_remove_gives_the_original_back() -> None:
    after = add_source(CONFIG, name="New", url="https://n.example/", category="K")
    assert remove_source(after, "New") == CONFIG


def test_add_keeps_sources_together_when_other_tables_follow() -> None:
    text = (
        '[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "K"\n'
        "\n# the fetch settings\n[fetch]\nconcurrency = 2\n"
    )
    after = add_source(text, name="B", url="https://b.example/", category="K")
    assert after == (
        '[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "K"\n'
        '\n[[sources]]\nname = "B"\nurl = "https://b.example/"\ncategory = "K"\n'
        "\n# the fetch settings\n[fetch]\nconcurrency = 2\n"
    )
    assert remove_source(after, "B") == text


def test_add_refuses_duplicate_names_and_urls() -> None:
    with pytest.raises(DuplicateSourceError, match="'Heise' exists already") as caught:
        add_source(CONFIG, name="Heise", url="https://new.example/", category="K")
    assert caught.value.existing == "Heise"
    # The same URL written differently: host case, default port, no fragment.
    with pytest.raises(DuplicateSourceError, match="configured as source 'LWN'"):
        add_source(CONFIG, name="X", url="HTTPS://LWN.net:443/headlines/rss#top", category="K")


def test_add_refuses_an_inline_sources_array() -> None:
    text = 'sources = [{name = "A", url = "https://a.example/", category = "K"}]\n'
    with pytest.raises(EditError, match="inline array"):
        add_source(text, name="B", url="https://b.example/", category="K")


def test_remove_takes_the_table_and_its_own_comments_only() -> None:
    after = remove_source(CONFIG, "Heise")
    expected = CONFIG.replace(
        "# Heise: the German tech news.\n# Fetched every hour.\n[[sources]]\n"
        'name    = "Heise"\nurl     = "https://www.heise.de/rss/heise.rdf"\n'
        'category = "Technik"\ninterval = "1h"   # they ask for no more\n\n',
        "",
    )
    assert after == expected
    assert "# LWN, weekly edition and headlines." in after
    assert "# Articles written by the editors." in after


def test_remove_by_url_and_the_last_and_first_source() -> None:
    last = remove_source(CONFIG, "https://LWN.net/headlines/rss")
    assert "LWN" not in last
    assert last.endswith("# they ask for no more\n\n# --- more sources go below this line ---\n")
    first = remove_source(CONFIG, "Lokal")
    assert first.startswith(CONFIG.split("# Articles written")[0])
    assert "# language" not in first  # the commented-out key belonged to the removed table
    assert "# Heise: the German tech news.\n# Fetched every hour.\n[[sources]]" in first
    assert [s["name"] for s in tomllib.loads(first)["sources"]] == ["Heise", "LWN"]


def test_remove_compact_tables_keeps_the_next_tables_comment() -> None:
    text = (
        '# A\n[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "K"\n'
        '# B\n[[sources]]\nname = "B"\nurl = "https://b.example/"\ncategory = "K"\n'
    )
    assert remove_source(text, "A") == (
        '# B\n[[sources]]\nname = "B"\nurl = "https://b.example/"\ncategory = "K"\n'
    )


def test_remove_takes_a_source_with_its_rules_and_keeps_the_next_ones_comments() -> None:
    """The layout the README shows: `[[sources.rules]]` under a source. Its table's own
    text names the rules from the source down (`[[rules]]`), which once made every such
    source one the command refused to remove."""
    first = (
        '# the first\n[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "K"\n\n'
        '[[sources.rules]]\naction = "drop"\ntitle = "x"\n# a note on the rule\n\n'
    )
    second = (
        '# about B\n[[sources]]\nname = "B"\nurl = "https://b.example/"\ncategory = "K"\n'
        '[[sources.rules]]\naction = "keep"\ntitle = "y"\n'
    )
    text = '[output]\ndir = "out"\n\n' + first + second
    assert remove_source(text, "A") == '[output]\ndir = "out"\n\n' + second
    after = remove_source(text, "B")
    assert after == '[output]\ndir = "out"\n\n' + first.rstrip("\n") + "\n"
    assert tomllib.loads(after)["sources"][0]["rules"] == [{"action": "drop", "title": "x"}]


def test_remove_unknown_source_suggests_close_matches() -> None:
    with pytest.raises(UnknownSourceError) as caught:
        find_source(CONFIG, "Hiese")
    assert caught.value.suggestions == ("Heise",)
    with pytest.raises(UnknownSourceError, match="did you mean: LWN"):
        remove_source(CONFIG, "https://lwn.net/headlines/atom")


def test_remove_refuses_what_tomlkit_cannot_edit_losslessly() -> None:
    text = (
        '[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "K"\n'
        '[fetch]\nconcurrency = 2\n[[sources]]\nname = "B"\nurl = "https://b.example/"\n'
        'category = "K"\n'
    )
    with pytest.raises(EditError, match="by hand"):
        remove_source(text, "A")


def test_discovery_skips_links_that_cannot_be_joined() -> None:
    """A page's link or base that urljoin cannot take ("http://[") is passed over with the
    parser's own URL rule (feeds/parse/urls.py), where it raised ValueError out of
    `feeds sources add`."""
    page = (
        b'<html><head><base href="http://[base/">'
        b'<link rel="alternate" type="application/atom+xml" href="http://[x/feed">'
        b'<link rel="alternate" type="application/rss+xml" href="/ok.xml">'
        b"</head></html>"
    )
    assert urls_of(page, "https://example.com/a/") == ["https://example.com/ok.xml"]


def test_normalise_url() -> None:
    assert normalise_url("HTTP://Example.COM:80") == "http://example.com/"
    assert normalise_url("https://example.com:8443/a?b=1#c") == "https://example.com:8443/a?b=1"
    assert normalise_url("https://[::1]:443/x") == "https://[::1]/x"
    assert normalise_url("https://u:p@Example.com/") == "https://u:p@example.com/"


@pytest.mark.parametrize(
    ("url", "private"),
    [("http://127.0.0.1:8080/feed", True), ("http://localhost/feed", True),
     ("http://api.localhost/feed", True), ("http://10.1.2.3/", True),
     ("http://192.168.0.1/", True), ("http://172.16.5.4/", True), ("http://169.254.169.254/", True),
     ("http://[::1]/", True), ("http://[fe80::1]/", True), ("http://[fd00::1]/", True),
     ("http://[::ffff:127.0.0.1]/", True), ("http://0.0.0.0/", True),
     ("http://224.0.0.1/", True), ("http://100.64.0.1/", True), ("http://[ff02::1]/", True),
     ("https://example.com/", False), ("https://8.8.8.8/", False),
     ("https://localhost.example.com/", False)],
)  # fmt: skip
def test_private_address(url: str, private: bool) -> None:
    assert (private_address(url) is not None) is private


# --- OPML -----------------------------------------------------------------------------------

NESTED_OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Loose" type="rss" xmlUrl="https://loose.example/feed"/>
    <outline text="News">
      <outline text="Tagesschau" title="Tagesschau" type="rss"
               xmlUrl="https://www.tagesschau.de/xml/rss2/" htmlUrl="https://www.tagesschau.de/"/>
      <outline title="Technik">
        <outline text="Heise again" xmlurl="https://www.heise.de/rss/heise.rdf"/>
        <outline text="Golem" XMLURL="https://rss.golem.de/rss.php?feed=ATOM1.0"/>
        <outline text="LWN" xmlUrl="https://other.example/lwn"/>
        <outline text="Golem" xmlUrl="https://golem.example/mirror"/>
      </outline>
      <outline text="Mail" xmlUrl="mailto:news@example.com"/>
      <outline text="Gopher" xmlUrl="gopher://old.example/feed"/>
    </outline>
    <outline text="Twice" xmlUrl="https://WWW.TAGESSCHAU.DE/xml/rss2/"/>
    <outline text="Intranet" xmlUrl="http://10.0.0.5/feed.xml"/>
    <outline text="" xmlUrl="https://untitled.example/rss"/>
  </body>
</opml>
"""


def test_read_opml_nested_folders_any_case() -> None:
    feeds = read_opml(NESTED_OPML)
    assert [(f.url, f.title, f.category) for f in feeds] == [
        ("https://loose.example/feed", "Loose", None),
        ("https://www.tagesschau.de/xml/rss2/", "Tagesschau", "News"),
        ("https://www.heise.de/rss/heise.rdf", "Heise again", "Technik"),
        ("https://rss.golem.de/rss.php?feed=ATOM1.0", "Golem", "Technik"),
        ("https://other.example/lwn", "LWN", "Technik"),
        ("https://golem.example/mirror", "Golem", "Technik"),
        ("mailto:news@example.com", "Mail", "News"),
        ("gopher://old.example/feed", "Gopher", "News"),
        ("https://WWW.TAGESSCHAU.DE/xml/rss2/", "Twice", None),
        ("http://10.0.0.5/feed.xml", "Intranet", None),
        ("https://untitled.example/rss", None, None),
    ]
    assert feeds[1].html_url == "https://www.tagesschau.de/"


def test_read_opml_1_0() -> None:
    body = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><opml version="1.0"><head><title>x</title>'
        b'</head><body><outline text="Stra\xdfe"><outline text="M\xfcll" type="rss" '
        b'xmlUrl="http://m.example/rss.xml"/></outline></body></opml>'
    )
    assert read_opml(body) == [OpmlFeed("http://m.example/rss.xml", "Müll", "Straße")]


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "well-formed"), (b"<opml><body>", "well-formed"), (b"<rss/>", "root element is <rss>"),
     (b"<opml><head/></opml>", "no <body>")],
)  # fmt: skip
def test_read_opml_refuses_what_is_no_opml(body: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(body)


def entity_opml(secret: Path) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY secret SYSTEM "file://{secret}">
  <!ENTITY name "Expanded entity">
]>
<opml version="2.0"><head><title>&secret;</title></head><body>
  <outline text="&name;" xmlUrl="https://e.example/&name;"/>
</body></opml>
""".encode()


def test_read_opml_never_expands_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    with pytest.raises(OpmlError, match="declares entities") as caught:
        read_opml(entity_opml(secret))
    assert "TOP-SECRET" not in str(caught.value)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {n} "{("&" + p + ";") * 16}">'.encode()
            for p, n in zip("abcdefg", "bcdefgh", strict=True)
        )
        + b']><opml><body><outline text="&h;" xmlUrl="https://a.example/"/></body></opml>'
    )
    with pytest.raises(OpmlError, match="entities"):
        read_opml(laughs)


def test_plan_import_skips_and_names() -> None:
    plan = plan_import(CONFIG, read_opml(NESTED_OPML))
    assert [(s.name, s.category, s.url) for s in plan.add] == [
        ("Loose", "Imported", "https://loose.example/feed"),
        ("Tagesschau", "News", "https://www.tagesschau.de/xml/rss2/"),
        ("Golem", "Technik", "https://rss.golem.de/rss.php?feed=ATOM1.0"),
        ("LWN (2)", "Technik", "https://other.example/lwn"),
        ("Golem (2)", "Technik", "https://golem.example/mirror"),
        ("Intranet", "Imported", "http://10.0.0.5/feed.xml"),
        ("untitled.example", "Imported", "https://untitled.example/rss"),
    ]
    assert [(s.feed.url, s.reason) for s in plan.skipped] == [
        ("https://www.heise.de/rss/heise.rdf", "already configured as source 'Heise'"),
        ("mailto:news@example.com", "not an http(s) URL: 'mailto:news@example.com'"),
        ("gopher://old.example/feed", "not an http(s) URL: 'gopher://old.example/feed'"),
        ("https://WWW.TAGESSCHAU.DE/xml/rss2/", "listed twice in this OPML"),
    ]
    assert [(s.name, why) for s, why in plan.private] == [
        ("Intranet", "10.0.0.5 is a private address")
    ]
    forced = plan_import(CONFIG, read_opml(NESTED_OPML), category="Alles")
    assert {s.category for s in forced.add} == {"Alles"}


# --- feeds sources add --------------------------------------------------------------------


def test_add_discovers_the_feeds_of_an_html_page(config: Path, feed_server: FeedServer) -> None:
    feed_server.add("/blog/feeds/atom.xml", blog_feed(3), content_type="application/atom+xml")
    feed_server.add("/blog/rss.xml", rss20(sample_items(1)), content_type="application/rss+xml")
    html = page(
        ("application/rss+xml", "/blog/rss.xml"), ("application/atom+xml", "feeds/atom.xml")
    )
    page_url = feed_server.add("/blog/", html, content_type="text/html; charset=utf-8")

    result = run(sources, config, "add", page_url, "--category", "Kultur", "--pick", "2")

    assert result.exit_code == 0, result.output
    feed_url = feed_server.url("/blog/feeds/atom.xml")
    assert f"{page_url} is an HTML page that advertises 2 feeds:" in result.stdout
    assert "'Das Blog', 3 entries" in result.stdout
    after = config.read_text(encoding="utf-8")
    assert_appended(CONFIG, after)
    added = load_config(config).sources[-1]
    assert (added.name, added.url, added.category) == ("Das Blog", feed_url, "Kultur")
    assert len(feed_server.requests_to("/blog/rss.xml")) == 1  # counted for the list
    assert leftovers(config) == []


def test_add_a_feed_directly_with_name_and_interval(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.json", jsonfeed(sample_items(2)), content_type="application/json")
    result = run(
        sources, config, "add", url, "--category", "Technik", "--name", "JSON", "--interval", "2h"
    )
    assert result.exit_code == 0, result.output
    assert "2 entries" in result.stdout
    assert_appended(CONFIG, config.read_text(encoding="utf-8"))
    added = load_config(config).sources[-1]
    assert (added.name, added.url, added.interval.total_seconds()) == ("JSON", url, 7200)


def test_add_names_an_untitled_feed_after_its_host(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/untitled", rss20([FeedItem(id="1", title="x")], title=""))
    result = run(sources, config, "add", url, "--category", "K")
    assert result.exit_code == 0, result.output
    assert names(config)[-1] == "127.0.0.1"


def test_add_a_404_exits_1_and_writes_nothing(config: Path, feed_server: FeedServer) -> None:
    result = run(sources, config, "add", feed_server.url("/missing"), "--category", "K")
    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "nothing written" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_an_unreachable_host_exits_1(config: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(sources, config, "add", f"http://127.0.0.1:{port}/feed", "--category", "K")
    assert result.exit_code == 1
    assert "cannot fetch" in result.stderr and "nothing written" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


@pytest.mark.parametrize("url", ["http://[::1/feed", "ftp://example.com/feed", "example.com/feed"])
def test_add_refuses_what_is_no_web_url(config: Path, url: str) -> None:
    """`feeds sources add` takes the URLs the config takes (feeds/web_url.py): a URL that
    cannot be split is a usage error (exit 2), where it raised ValueError."""
    result = run(sources, config, "add", url, "--category", "K", "--no-check")
    assert result.exit_code == 2
    assert f"must be an absolute http(s) URL, not {url!r}" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_a_page_without_feeds_explains(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/plain.html", page(), content_type="text/html")
    result = run(sources, config, "add", url, "--category", "K")
    assert result.exit_code == 2
    assert "HTML page that links to no feed" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_a_body_that_is_no_feed(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/text", b"just some text", content_type="text/plain")
    result = run(sources, config, "add", url, "--category", "K")
    assert result.exit_code == 2
    assert "is not a feed" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_refuses_duplicates_before_and_after_the_check(
    config: Path, feed_server: FeedServer
) -> None:
    by_name = run(sources, config, "add", "https://x.example/", "--category", "K", "--name", "LWN")
    assert by_name.exit_code == 2
    assert "'LWN' exists already" in by_name.stderr
    by_url = run(sources, config, "add", "https://www.HEISE.de/rss/heise.rdf", "--category", "K")
    assert by_url.exit_code == 2
    assert "already configured as source 'Heise'" in by_url.stderr
    # The feed's title is taken already: found only after the check.
    url = feed_server.add("/heise-mirror", rss20(sample_items(1), title="Heise"))
    by_title = run(sources, config, "add", url, "--category", "K")
    assert by_title.exit_code == 2
    assert "'Heise' exists already" in by_title.stderr
    assert "--name" in by_title.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_no_check_fetches_nothing(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.url("/not-there-yet")
    result = run(sources, config, "add", url, "--category", "K", "--no-check")
    assert result.exit_code == 0, result.output
    assert feed_server.requests == []
    assert load_config(config).sources[-1].name == "127.0.0.1"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["ftp://x.example/feed", "--category", "K"], "http(s) URL"),
     (["https://x.example/", "--category", "  "], "must not be empty"),
     (["https://x.example/", "--category", "K", "--interval", "5x"], "bad duration"),
     (["https://x.example/"], "Missing option '--category'")],
)  # fmt: skip
def test_add_usage_errors_exit_2(config: Path, args: list[str], message: str) -> None:
    result = run(sources, config, "add", *args, "--no-check")
    assert result.exit_code == 2
    assert message in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_add_to_an_invalid_config_writes_nothing(config: Path) -> None:
    broken = CONFIG.replace('interval = "1h"', 'interval = "5x"')
    config.write_text(broken, encoding="utf-8")
    result = run(sources, config, "add", "https://x.example/", "--category", "K", "--no-check")
    assert result.exit_code == 2
    assert "bad duration '5x'" in result.stderr
    assert config.read_text(encoding="utf-8") == broken


def test_write_config_validates_first_and_leaves_no_temp_file(config: Path) -> None:
    original = config.read_bytes()
    os.chmod(config, 0o640)
    bad = CONFIG + '\n[[sources]]\nname = "Bad"\nurl = "https://b.example/"\n'
    with pytest.raises(ConfigError) as caught:
        write_config(config, original, bad)
    assert exit_code(caught.value) == 2
    assert f"{config}: sources[4] (\"Bad\") key 'category'" in str(caught.value.problems[0])
    assert config.read_bytes() == original
    assert leftovers(config) == []
    good = add_source(CONFIG, name="New", url="https://n.example/", category="K")
    # The file changed since it was read: refuse rather than overwrite someone's edit.
    with pytest.raises(ConfigWriteError) as changed:
        write_config(config, original + b"\n", good)
    assert exit_code(changed.value) == 1
    assert config.read_bytes() == original
    written = write_config(config, original, good)
    assert written.path == config and written.sources[-1].name == "New"
    assert config.read_text(encoding="utf-8") == good
    assert oct(config.stat().st_mode & 0o777) == oct(0o640)
    assert leftovers(config) == []


def test_write_config_compares_and_replaces_under_the_folders_lock(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another edit landing between the comparison and the replace would be replaced unseen:
    both run under an exclusive lock on the config's folder, which another editing command
    (here a second open of the folder) cannot take meanwhile."""
    original = config.read_bytes()
    good = add_source(CONFIG, name="New", url="https://n.example/", category="K")
    held: list[bool] = []
    replace = os.replace

    def replacing(source: str, target: str) -> None:
        other = os.open(config.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(True)
        else:
            held.append(False)
        finally:
            os.close(other)
        replace(source, target)

    monkeypatch.setattr("feeds.config_edit.os.replace", replacing)
    write_config(config, original, good)
    assert held == [True]
    assert config.read_text(encoding="utf-8") == good


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = run(sources, tmp_path / "nope.toml", "remove", "X")
    assert result.exit_code == 2
    assert "config file not found" in result.stderr


# --- feeds sources list / remove ----------------------------------------------------------


def test_list_json(config: Path) -> None:
    result = run(sources, config, "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    assert [row["name"] for row in rows] == ["Lokal", "Heise", "LWN"]
    assert rows[0]["kind"] == "local" and rows[0]["url"] is None
    assert rows[0]["path"] == str(config.parent / "articles")
    assert rows[1] == {
        "name": "Heise",
        "kind": "remote",
        "url": "https://www.heise.de/rss/heise.rdf",
        "path": None,
        "category": "Technik",
        "interval": "1h",
        "interval_seconds": 3600.0,
        "language": None,
    }
    assert rows[2]["interval"] == "30m"


def test_list_table(config: Path) -> None:
    result = run(sources, config, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "CATEGORY", "INTERVAL", "URL", "/", "PATH"]
    assert lines[2].split() == [
        "Heise",
        "remote",
        "Technik",
        "1h",
        "https://www.heise.de/rss/heise.rdf",
    ]
    assert "(from the files)" in lines[1]


def test_remove_by_name_and_by_url(config: Path) -> None:
    result = run(sources, config, "remove", "Heise")
    assert result.exit_code == 0, result.output
    assert "Removed source 'Heise'" in result.stdout
    assert config.read_text(encoding="utf-8") == remove_source(CONFIG, "Heise")
    assert names(config) == ["Lokal", "LWN"]
    by_url = run(sources, config, "remove", "https://lwn.net/headlines/rss")
    assert by_url.exit_code == 0, by_url.output
    assert names(config) == ["Lokal"]
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG.split("# Heise:")[0])
    assert text.endswith("# --- more sources go below this line ---\n")
    assert leftovers(config) == []


def test_remove_unknown_lists_close_matches(config: Path) -> None:
    result = run(sources, config, "remove", "heise")
    assert result.exit_code == 2
    assert "no source named or with the URL 'heise'; did you mean: Heise?" in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_remove_fixes_an_invalid_config(config: Path) -> None:
    broken = CONFIG.replace('interval = "1h"', 'interval = "5x"')
    config.write_text(broken, encoding="utf-8")
    result = run(sources, config, "remove", "Heise")
    assert result.exit_code == 0, result.output
    assert names(config) == ["Lokal", "LWN"]


# --- feeds opml import / export -----------------------------------------------------------


def test_opml_import_nested_duplicates_and_private_addresses(config: Path, tmp_path: Path) -> None:
    file = tmp_path / "subs.opml"
    file.write_bytes(NESTED_OPML)
    result = run(opml, config, "import", str(file), "--no-check")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 7, skipped 4\n")
    assert "<https://www.heise.de/rss/heise.rdf>: already configured as source 'Heise'" in (
        result.stdout
    )
    assert "listed twice in this OPML" in result.stdout
    assert "not an http(s) URL: 'mailto:news@example.com'" in result.stdout
    assert "this OPML points at a private address: 'Intranet' <http://10.0.0.5/feed.xml>" in (
        result.stderr
    )
    assert_appended(CONFIG, config.read_text(encoding="utf-8"))
    loaded = load_config(config)
    assert [(s.name, s.category) for s in loaded.sources[3:]] == [
        ("Loose", "Imported"), ("Tagesschau", "News"), ("Golem", "Technik"),
        ("LWN (2)", "Technik"), ("Golem (2)", "Technik"), ("Intranet", "Imported"),
        ("untitled.example", "Imported"),
    ]  # fmt: skip
    again = run(opml, config, "import", str(file), "--no-check")
    assert again.exit_code == 0
    assert again.stdout.startswith("added 0, skipped 11\n")


def test_opml_import_warns_about_every_address_a_fetch_would_refuse(
    config: Path, tmp_path: Path
) -> None:
    """OPML import warns by the connection guard's own rule (feeds/addresses.py): multicast
    and shared (carrier-grade NAT) addresses too, which it let pass unmentioned before."""
    file = tmp_path / "subs.opml"
    file.write_text(
        """<opml version="2.0"><body>
        <outline text="Multicast" xmlUrl="http://224.0.0.1/feed.xml"/>
        <outline text="Shared" xmlUrl="http://100.64.0.1/feed.xml"/>
        <outline text="Public" xmlUrl="https://public.example/feed.xml"/>
        </body></opml>""",
        encoding="utf-8",
    )
    result = run(opml, config, "import", str(file), "--no-check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 3, skipped 0\n")
    assert "'Multicast' <http://224.0.0.1/feed.xml> (224.0.0.1 is a multicast address)" in (
        result.stderr
    )
    assert "'Shared' <http://100.64.0.1/feed.xml> (100.64.0.1 is not a public address)" in (
        result.stderr
    )
    assert "Public" not in result.stderr


def test_opml_import_skips_a_url_that_cannot_be_split(config: Path, tmp_path: Path) -> None:
    """The web-URL test is feeds/web_url.py's: "http://[" is skipped as no http(s) URL,
    where splitting it first raised ValueError out of the whole import."""
    file = tmp_path / "subs.opml"
    file.write_text(
        """<opml version="2.0"><body>
        <outline text="Broken" xmlUrl="http://[::1/feed"/>
        <outline text="Fine" xmlUrl="https://fine.example/feed.xml"/>
        </body></opml>""",
        encoding="utf-8",
    )
    result = run(opml, config, "import", str(file), "--no-check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 1, skipped 1\n")
    assert "skipped 'Broken' <http://[::1/feed>: not an http(s) URL: 'http://[::1/feed'" in (
        result.stdout
    )


def test_opml_import_checks_each_feed(
    config: Path, tmp_path: Path, feed_server: FeedServer
) -> None:
    good = feed_server.add("/good", rss20(sample_items(2), title="Good feed"))
    untitled = feed_server.add("/untitled", blog_feed(1, title="From the feed"))
    html = feed_server.add(
        "/page", page(("application/rss+xml", "/good")), content_type="text/html"
    )
    text = feed_server.add("/text", b"just text", content_type="text/plain")
    missing = feed_server.url("/missing")
    file = tmp_path / "subs.opml"
    file.write_text(
        f"""<opml version="2.0"><body><outline text="Checked">
        <outline text="Good" xmlUrl="{good}"/>
        <outline xmlUrl="{untitled}"/>
        <outline text="A page" xmlUrl="{html}"/>
        <outline text="Text" xmlUrl="{text}"/>
        <outline text="Gone" xmlUrl="{missing}"/>
        </outline></body></opml>""",
        encoding="utf-8",
    )
    result = run(opml, config, "import", str(file), "--category", "Geprüft")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 2, skipped 3\n")
    assert "HTTP 404" in result.stdout
    assert f"{text} is not a feed" in result.stdout
    # The page's feed is "Good", listed above it: found, then skipped as a duplicate.
    assert f"found   <{html}>: an HTML page; in its place its only feed" in result.stdout
    assert f"skipped 'A page' <{good}>: listed twice in this OPML" in result.stdout
    # The test server is on 127.0.0.1: a warning for each feed added, under its name.
    assert result.stderr.count("private address") == 2
    assert f"private address: 'From the feed' <{untitled}>" in result.stderr
    added = [(s.name, s.url, s.category) for s in load_config(config).sources[3:]]
    assert added == [("Good", good, "Geprüft"), ("From the feed", untitled, "Geprüft")]


def test_opml_import_refuses_entities_and_writes_nothing(config: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    file = tmp_path / "evil.opml"
    file.write_bytes(entity_opml(secret))
    result = run(opml, config, "import", str(file), "--no-check")
    assert result.exit_code == 2
    assert "declares entities" in result.stderr
    assert "TOP-SECRET" not in result.output and "Expanded entity" not in result.output
    assert config.read_text(encoding="utf-8") == CONFIG


def test_opml_import_bad_files(config: Path, tmp_path: Path) -> None:
    missing = run(opml, config, "import", str(tmp_path / "nope.opml"), "--no-check")
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
    junk = tmp_path / "junk.opml"
    junk.write_bytes(b"<opml><body><outline")
    broken = run(opml, config, "import", str(junk), "--no-check")
    assert broken.exit_code == 2
    assert "not well-formed XML" in broken.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_opml_import_from_stdin(config: Path) -> None:
    body = b'<opml><body><outline text="S" xmlUrl="https://stdin.example/f"/></body></opml>'
    result = CliRunner().invoke(
        opml, ["import", "-", "--no-check"], obj=str(config), input=body, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert names(config)[-1] == "S"


def test_opml_export(config: Path) -> None:
    config.write_text(
        add_source(CONFIG, name="Kultur & so", url="https://k.example/?a=1&b=2", category="Kultur"),
        encoding="utf-8",
    )
    result = run(opml, config, "export")
    assert result.exit_code == 0, result.output
    root = etree.fromstring(result.stdout_bytes)
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Test site: sources"
    folders = root.findall("body/outline")
    assert [(f.get("text"), f.get("title")) for f in folders] == [
        ("Technik", "Technik"),
        ("Kultur", "Kultur"),
    ]
    heise, lwn = folders[0]
    assert dict(heise.attrib) == {
        "type": "rss",
        "text": "Heise",
        "title": "Heise",
        "xmlUrl": "https://www.heise.de/rss/heise.rdf",
        f"{{{FEEDS_NS}}}interval": "1h",
    }
    assert lwn.get(f"{{{FEEDS_NS}}}interval") is None  # the default is not written
    assert folders[1][0].get("xmlUrl") == "https://k.example/?a=1&b=2"
    assert b"Lokal" not in result.stdout_bytes  # local sources have no feed URL to share


def test_write_opml_html_urls_where_known() -> None:
    source = Source(
        "A", SourceKind.REMOTE, timedelta(minutes=30), url="https://a.example/f", category="K"
    )
    body = write_opml([source], title="t", html_urls={"A": "https://a.example/"})
    assert read_opml(body) == [
        OpmlFeed("https://a.example/f", "A", "K", html_url="https://a.example/")
    ]


def test_opml_round_trip(config: Path, tmp_path: Path) -> None:
    text = add_source(
        CONFIG,
        name="Grüße & <Spaß>",
        url="https://g.example/feed?x=1&y=2",
        category="Kultur",
        interval="1h30m",
        language="de",
    )
    config.write_text(text, encoding="utf-8")
    exported = run(opml, config, "export")
    assert exported.exit_code == 0, exported.output
    file = tmp_path / "export.opml"
    file.write_bytes(exported.stdout_bytes)
    empty = tmp_path / "empty" / "feeds.toml"
    empty.parent.mkdir()
    empty.write_text("", encoding="utf-8")

    imported = run(opml, empty, "import", str(file), "--no-check")

    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith("added 3, skipped 0\n")

    def remote(path: Path) -> list[tuple[Any, ...]]:
        return [
            (s.name, s.url, s.category, s.interval, s.language)
            for s in load_config(path).sources
            if s.url is not None
        ]

    assert remote(empty) == remote(config)


# --- as a program -------------------------------------------------------------------------


def program(group: str, *args: str, config: Path) -> subprocess.CompletedProcess[str]:
    code = f"from feeds.cli.sources import {group}; {group}()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**FEEDS_ENV, "HOME": str(config.parent), "FEEDS_CONFIG": str(config)},
    )


@pytest.mark.slow
def test_as_a_program(config: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", rss20(sample_items(2), title="Subprocess feed"))
    added = program("sources", "add", url, "--category", "K", config=config)
    assert added.returncode == 0, added.stderr
    assert "'Subprocess feed', 2 entries" in added.stdout
    listed = program("sources", "list", "--json", config=config)
    assert json.loads(listed.stdout)[-1]["url"] == url
    exported = program("opml", "export", config=config)
    assert exported.returncode == 0, exported.stderr
    assert f'xmlUrl="{url}"' in exported.stdout
    duplicate = program("sources", "add", url, "--category", "K", config=config)
    assert duplicate.returncode == 2
    assert "already configured as source 'Subprocess feed'" in duplicate.stderr
    removed = program("sources", "remove", "Subprocess feed", config=config)
    assert removed.returncode == 0, removed.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


@pytest.mark.slow
def test_wired_into_feeds(config: Path) -> None:
    def feeds(*args: str) -> subprocess.CompletedProcess[str]:
        return run_feeds("--config", str(config), *args, cwd=config.parent, timeout=60)

    listed = feeds("sources", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["name"] for row in json.loads(listed.stdout)] == ["Lokal", "Heise", "LWN"]
    assert feeds("sources", "remove", "Hiese").returncode == 2
    exported = feeds("opml", "export")
    assert exported.returncode == 0 and "lwn.net" in exported.stdout


def test_import_normalises_each_url_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12 #9: planning and adding n outlines to a config of m sources normalises
    O(n + m) URLs (it was one per pair: 20,000 outlines never finished)."""
    import feeds.config_edit
    import feeds.source_identity
    import feeds.subscriptions

    calls = 0
    real = feeds.source_identity.normalise_url

    def counted(url: str) -> str:
        nonlocal calls
        calls += 1
        return real(url)

    monkeypatch.setattr(feeds.config_edit, "normalise_url", counted)
    monkeypatch.setattr(feeds.subscriptions, "normalise_url", counted)
    configured = "".join(
        f'[[sources]]\nname = "Old {i}"\nurl = "https://old.example/{i}.xml"\ncategory = "C"\n\n'
        for i in range(1000)
    )
    outlines = [OpmlFeed(url=f"https://new.example/{i}.xml", title=f"New {i}") for i in range(1000)]
    outlines.append(OpmlFeed(url="HTTPS://OLD.example:443/5.xml#x", title="Old again"))
    outlines.append(OpmlFeed(url="https://new.example/7.xml", title="Twice"))
    plan = plan_import(configured, outlines)
    result = add_sources(configured, plan.add)
    assert calls <= 10 * 2002
    assert [s.reason for s in plan.skipped] == [
        "already configured as source 'Old 5'",
        "listed twice in this OPML",
    ]
    added = configured_sources(result)[1000:]
    assert [t["url"] for t in added] == [f"https://new.example/{i}.xml" for i in range(1000)]
    with pytest.raises(DuplicateSourceError, match="'Old 9'"):
        add_sources(result, [NewSource("Other", "https://OLD.example/9.xml", "C")])
