"""Feeds from pages that have none (`page = ...` sources): config, parsing, hostile pages,
and the whole way through `feeds update` into the published Atom, with conditional GET."""

from __future__ import annotations

import asyncio
import base64
import json
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.listpages import PRESS_DATE_FORMAT, ListItem, blog_index, link_list, press_list
from support.namespaces import ATOM

from feeds.config import ConfigError, load_config
from feeds.model import Source, SourceKind, article_id
from feeds.normalise import limits
from feeds.normalise.article import normalise_feed
from feeds.opml_file import write_opml
from feeds.parse import ParseError
from feeds.parse.page import parse_page
from feeds.sources.page_kind import PageOptions
from feeds.workers import BodyJob, ParserPool

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

PRESS = [
    ListItem(
        "Neue Kita am Markt eröffnet",
        "/presse/2025/kita.html",
        datetime(2025, 5, 10, 11, 33, tzinfo=BERLIN),
        "Die Stadt eröffnet eine Kita für 80 Kinder.",
        "bilder/kita.jpg",
    ),
    ListItem(
        "Haushalt 2026 <beschlossen> & veröffentlicht",
        "/presse/2025/haushalt.html",
        datetime(2025, 5, 9, 8, 5, tzinfo=BERLIN),
        "Der Rat hat den Haushalt beschlossen.",
    ),
    ListItem(
        "Straßensperrung", "/presse/2025/sperrung.html", datetime(2025, 4, 30, 16, 0, tzinfo=BERLIN)
    ),
]
BLOG = [
    ListItem(
        "Erster Beitrag",
        "2025/05/erster/",
        datetime(2025, 5, 12, 9, 0, tzinfo=UTC),
        "Worum es geht.",
    ),
    ListItem(
        "Zweiter Beitrag",
        "2025/05/zweiter/",
        datetime(2025, 5, 14, 18, 30, tzinfo=BERLIN),
        "Mehr dazu.",
    ),
    ListItem("Dritter Beitrag", "/blog/2025/06/dritter/", datetime(2025, 6, 1, 7, 15, tzinfo=UTC)),
]
DOCS = [
    ListItem("Satzung", "../satzung.pdf", image="/thumbs/satzung.png"),
    ListItem("Gebührenordnung", "../gebuehren.pdf", image="../thumbs/gebuehren.png"),
    ListItem("Protokoll", "https://other.example/protokoll.html"),
]

PRESS_OPTIONS = PageOptions(
    item="article.press",
    title="h2",
    link="a",
    date="span.datum",
    date_format=PRESS_DATE_FORMAT,
    summary="p.teaser",
    image="img",
)
PRESS_KEYS = (
    'item = "article.press"\ntitle = "h2"\nlink = "a"\ndate = "span.datum"\n'
    f'date_format = "{PRESS_DATE_FORMAT}"\nsummary = "p.teaser"\nimage = "img"\n'
    'timezone = "Europe/Berlin"\n'
)


def _config(tmp_path: Path, sources: str, fetch: str = "") -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[output]\ndir = "out"\nbase_url = "https://feeds.example/"\n'
        f'[storage]\nurl = "sqlite:///feeds.db"\n[fetch]\n{fetch}\n{sources}',
        encoding="utf-8",
    )
    return path


def _page_source(name: str, url: str, category: str, keys: str) -> str:
    return f'[[sources]]\nname = "{name}"\npage = "{url}"\ncategory = "{category}"\n{keys}\n'


# --- config ------------------------------------------------------------------------------


def test_a_page_source_is_read_with_its_selectors(tmp_path: Path) -> None:
    path = _config(
        tmp_path, _page_source("P", "https://stadt.example/presse/", "Lokal", PRESS_KEYS)
    )
    [source] = load_config(path).sources
    assert source.kind is SourceKind.PAGE
    assert source.url == "https://stadt.example/presse/"
    assert source.options == PRESS_OPTIONS


@pytest.mark.parametrize(
    ("keys", "key", "message"),
    [
        (
            'item = "article[class"\ntitle = "h2"\nlink = "a"',
            "item",
            "invalid CSS selector 'article[class'",
        ),
        ('item = "li"\ntitle = "xpath://h2[["\nlink = "a"', "title", "invalid XPath '//h2[['"),
        (
            'item = "li"\ntitle = "h2"\nlink = "a"\ndate = "time:nosuchthing"',
            "date",
            "invalid CSS selector",
        ),
        ('item = "li"\ntitle = "h2"\nlink = "a"\nimage = "xpath:"', "image", "invalid XPath ''"),
        ('title = "h2"\nlink = "a"', "item", "missing: a page source needs 'item'"),
        ('item = "li"\ntitle = "h2"\nlink = 3', "link", "must be a non-empty string, not 3"),
        (
            'item = "li"\ntitle = "h2"\nlink = "a"\ndate_format = "%H:%M"',
            "date_format",
            "'%H:%M' must name the day",
        ),
        ('item = "li"\ntitle = "h2"\nlink = "a"\nfeed = "x"', "feed", "unknown key"),
    ],
)
def test_bad_page_keys_are_config_errors_naming_source_and_key(
    tmp_path: Path, keys: str, key: str, message: str
) -> None:
    path = _config(tmp_path, _page_source("Presse", "https://stadt.example/", "Lokal", keys))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"sources[1] (\"Presse\") key '{key}': {message}" in str(caught.value)


def test_page_keys_on_a_feed_and_two_kinds_at_once_are_config_errors(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        '[[sources]]\nname = "F"\nurl = "https://a.example/feed"\ncategory = "C"\nitem = "li"\n'
        '[[sources]]\nname = "B"\nurl = "https://b.example/feed"\npage = "https://b.example/"\n'
        'category = "C"\n'
        '[[sources]]\nname = "D"\npage = "https://a.example/feed"\ncategory = "C"\n'
        'item = "li"\ntitle = "h2"\nlink = "a"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "sources[1] (\"F\") key 'item': unknown key" in text
    assert "sources[2] (\"B\") key 'url': has 'url' and 'page': give exactly one" in text
    assert 'sources[3] ("D") key \'page\': same address as sources[1] ("F")' in text


# --- parsing: hostile pages --------------------------------------------------------------


def _parse(body: bytes, options: PageOptions, url: str = "https://s.example/list/") -> list:
    feed = parse_page(body, url=url, headers={}, options=options, zone=UTC)
    source = Source(
        "S", SourceKind.PAGE, timedelta(hours=1), url=url, category="C", options=options
    )
    return list(
        normalise_feed(feed, source=source, now=NOW, first_seen={}, fallback_base=None).articles
    )


SIMPLE = PageOptions(item="li", title="b", link="a", image="img")


def test_script_in_titles_never_becomes_text_or_markup() -> None:
    body = (
        b"<ul><li><b><script>alert('t')</script>Hallo<style>b{}</style> Welt</b>"
        b"<a href=/1>x</a></li>"
        b"<li><b>&lt;img src=x onerror=alert(1)&gt;</b><a href=/2>x</a></li></ul>"
    )
    first, second = _parse(body, SIMPLE)
    assert first.title == "Hallo Welt"
    # A tag written as text is still dropped from the title, as in feeds' titles.
    assert "<img" not in second.title and "onerror" not in second.title
    assert "<img" not in second.content


def test_javascript_and_data_links_and_images_are_dropped() -> None:
    body = (
        b"<ul><li><b>A</b><a href='javascript:alert(1)'>x</a><img src='javascript:alert(2)'></li>"
        b"<li><b>B</b><a href=' JaVaScRiPt:alert(1)'>x</a>"
        b"<img src='data:image/png;base64,AAAA'></li>"
        b"<li><b>C</b><a href='/ok'>x</a><img src='//cdn.example/c.webp'></li></ul>"
    )
    a, b, c = _parse(body, SIMPLE)
    assert (a.link, a.enclosures, b.link, b.enclosures) == (None, (), None, ())
    assert c.link == "https://s.example/ok"
    assert [e.url for e in c.enclosures] == ["https://cdn.example/c.webp"]


def test_a_deeply_nested_page_is_refused_or_read_in_part_saying_so() -> None:
    depth = 20_000
    nested = b"<div>" * depth + b"<ul><li><b>Tief</b><a href=/t>x</a></li></ul>" + b"</div>" * depth
    flat = b"<ul><li><b>Flach</b><a href=/f>x</a></li></ul>"
    with pytest.raises(ParseError, match="matched nothing on the page; the page is nested too"):
        _parse(nested + flat, SIMPLE)
    # Items before the depth limit are read, with a warning that the rest was not.
    feed = parse_page(flat + nested, url="https://s.example/", headers={}, options=SIMPLE, zone=UTC)
    assert [e.title for e in feed.entries] == ["Flach"]
    assert feed.warnings == ("the page is nested too deeply, read only up to 256 levels",)


def test_item_count_and_field_sizes_are_bounded() -> None:
    many = b"".join(
        b"<li><b>T%d</b><a href=/%d>x</a></li>" % (i, i) for i in range(limits.PAGE_ITEMS + 300)
    )
    feed = parse_page(
        b"<ul>" + many + b"</ul>", url="https://s.example/", headers={}, options=SIMPLE, zone=UTC
    )
    assert len(feed.entries) == limits.PAGE_ITEMS
    assert feed.warnings == (
        f"{limits.PAGE_ITEMS + 300} items on the page, read the first {limits.PAGE_ITEMS}",
    )

    huge = b"<ul><li><b>" + b"Wort " * 100_000 + b"</b><a href=/h>x</a></li></ul>"
    [article] = _parse(huge, SIMPLE)
    assert len(article.title) <= limits.TITLE


def test_items_nested_in_items_read_a_bounded_text_each() -> None:
    """Each item's title was the whole text below it: 200 items nested around 400 KB of
    text held 80 MB of titles (a 20 MB page nesting 250, gigabytes), all cut to 2,000
    characters afterwards."""
    depth, text = 200, b"<p>" + b"Wort " * 80_000 + b"</p>"
    body = b"<div class=e><a href=/x>x</a>" * depth + text + b"</div>" * depth
    options = PageOptions(item="div.e", title="div.e", link="a")
    tracemalloc.start()
    try:
        feed = parse_page(body, url="https://s.example/", headers={}, options=options, zone=UTC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(feed.entries) == depth
    assert peak < 20 * 2**20
    assert max(len(entry.title or "") for entry in feed.entries) < 41_000  # 40,000 and spaces
    assert feed.entries[-1].title == " ".join(["x"] + ["Wort"] * 8_000)  # the innermost


def test_an_item_selector_that_matches_nothing_is_an_error_naming_it() -> None:
    with pytest.raises(ParseError, match=r"item selector 'article\.press' matched nothing"):
        parse_page(
            b"<p>nothing here</p>",
            url="https://s.example/",
            headers={},
            options=PageOptions(item="article.press", title="h2", link="a"),
            zone=UTC,
        )


def test_xpath_selectors_read_nodes_strings_and_attributes() -> None:
    options = PageOptions(
        item="xpath://div[@class='e']",
        title="xpath:string(h4)",
        link="xpath:.//a/@href",
        date="xpath:.//span[@class='d']",
    )
    body = (
        b"<div class=e><h4>Eins</h4><a href='eins.html'>x</a>"
        b"<span class=d>2025-05-10 11:33</span></div>"
        b"<div class=e><h4>Zwei</h4><a href='/zwei.html'>x</a></div>"
    )
    one, two = _parse(body, options)
    assert (one.title, one.link, one.published) == (
        "Eins",
        "https://s.example/list/eins.html",
        datetime(2025, 5, 10, 11, 33, tzinfo=UTC),
    )
    assert (two.title, two.link, two.published) == ("Zwei", "https://s.example/zwei.html", NOW)


# --- end to end: feeds update, status, conditional GET -----------------------------------


@pytest.fixture
def site(tmp_path: Path, feed_server: FeedServer) -> Path:
    html = "text/html; charset=utf-8"
    press = feed_server.add("/presse/", press_list(PRESS), content_type=html)
    blog = feed_server.add("/blog/", blog_index(BLOG), content_type=html)
    docs = feed_server.add("/docs/liste/", link_list(DOCS), content_type=html)
    empty = feed_server.add("/leer/", press_list([]), content_type=html)
    feed = feed_server.add(
        "/feed.xml", rss20([FeedItem(id="1", title="Feed-Eintrag", link="https://n.example/1")])
    )
    sources = (
        _page_source("Stadt Pressemitteilungen", press, "Lokal", PRESS_KEYS)
        + _page_source(
            "Blog",
            blog,
            "Blog",
            'item = "li.post"\ntitle = "h3"\nlink = "h3 a"\ndate = "time"\nsummary = ".excerpt"\n',
        )
        + _page_source(
            "Dokumente",
            docs,
            "Dokumente",
            'item = "a.entry"\ntitle = "span.t"\nlink = "a"\nimage = "img"\n',
        )
        + _page_source(
            "Leer", empty, "Lokal", 'item = "article.nichts"\ntitle = "h2"\nlink = "a"\n'
        )
        + f'[[sources]]\nname = "Feed"\nurl = "{feed}"\ncategory = "Technik"\n'
    )
    return _config(tmp_path, sources)


@dataclass(frozen=True)
class Published:
    """One entry of a published Atom feed, as a subscriber reads it."""

    id: str
    title: str
    link: str | None
    published: str
    summary: str | None
    enclosures: list[tuple[str | None, str | None]]


def _entries(config: Path, slug: str) -> list[Published]:
    root = etree.parse(config.parent / "out" / slug / "atom.xml").getroot()
    entries = []
    for entry in root.iter(f"{ATOM}entry"):
        links = entry.findall(f"{ATOM}link")
        alternate = [x.get("href") for x in links if x.get("rel", "alternate") == "alternate"]
        entries.append(
            Published(
                id=entry.findtext(f"{ATOM}id") or "",
                title=entry.findtext(f"{ATOM}title") or "",
                link=alternate[0] if alternate else None,
                published=entry.findtext(f"{ATOM}published") or "",
                summary=entry.findtext(f"{ATOM}summary"),
                enclosures=[
                    (x.get("href"), x.get("type")) for x in links if x.get("rel") == "enclosure"
                ],
            )
        )
    return sorted(entries, key=lambda e: e.title)


def test_feeds_from_pages_publish_exactly_the_known_items(
    site: Path, feed_server: FeedServer
) -> None:
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    result = run_feeds("--config", str(site), "update")
    assert result.returncode == 0, result.stderr
    base = feed_server.base_url

    press = _entries(site, "lokal")
    assert [(e.title, e.link, e.published) for e in press] == [
        (
            "Haushalt 2026 <beschlossen> & veröffentlicht",
            f"{base}/presse/2025/haushalt.html",
            "2025-05-09T08:05:00+02:00",
        ),
        (
            "Neue Kita am Markt eröffnet",
            f"{base}/presse/2025/kita.html",
            "2025-05-10T11:33:00+02:00",
        ),
        ("Straßensperrung", f"{base}/presse/2025/sperrung.html", "2025-04-30T16:00:00+02:00"),
    ]
    assert [e.summary for e in press] == [
        "Der Rat hat den Haushalt beschlossen.",
        "Die Stadt eröffnet eine Kita für 80 Kinder.",
        None,
    ]
    # Ids come from links: the same link gives the same entry on every run.
    assert [e.id for e in press] == [
        article_id("Stadt Pressemitteilungen", e.link or "") for e in press
    ]
    assert press[1].enclosures == [(f"{base}/presse/bilder/kita.jpg", "image/jpeg")]
    assert press[0].enclosures == []

    blog = _entries(site, "blog")
    assert [(e.title, e.link, e.published, e.summary) for e in blog] == [
        ("Dritter Beitrag", f"{base}/blog/2025/06/dritter/", "2025-06-01T07:15:00+00:00", None),
        (
            "Erster Beitrag",
            f"{base}/blog/2025/05/erster/",
            "2025-05-12T09:00:00+00:00",
            "Worum es geht.",
        ),
        (
            "Zweiter Beitrag",
            f"{base}/blog/2025/05/zweiter/",
            "2025-05-14T18:30:00+02:00",
            "Mehr dazu.",
        ),
    ]

    docs = _entries(site, "dokumente")
    assert [(e.title, e.link, e.enclosures) for e in docs] == [
        (
            "Gebührenordnung",
            f"{base}/docs/gebuehren.pdf",
            [(f"{base}/docs/thumbs/gebuehren.png", "image/png")],
        ),
        ("Protokoll", "https://other.example/protokoll.html", []),
        ("Satzung", f"{base}/docs/satzung.pdf", [(f"{base}/thumbs/satzung.png", "image/png")]),
    ]
    for entry in docs:  # no date on the page: dated when first seen
        assert before <= datetime.fromisoformat(entry.published) <= datetime.now(UTC)

    assert [e.title for e in _entries(site, "technik")] == ["Feed-Eintrag"]

    status = run_feeds("--config", str(site), "status", "--json")
    rows = {row["name"]: row for row in json.loads(status.stdout)}
    assert rows["Leer"]["outcome"] == "failed"
    assert (
        rows["Leer"]["last_error"]
        == "unusable page: item selector 'article.nichts' matched nothing on the page"
    )
    assert rows["Stadt Pressemitteilungen"]["kind"] == "page"
    assert {
        rows[n]["outcome"] for n in ("Stadt Pressemitteilungen", "Blog", "Dokumente", "Feed")
    } == {"new"}
    text = run_feeds("--config", str(site), "status").stdout
    assert "article.nichts" in text

    # Conditional GET: the page's ETag goes back, a 304 costs no parse, nothing changes.
    again = run_feeds("--config", str(site), "update", "--all")
    assert again.returncode == 0, again.stderr
    first, second = feed_server.requests_to("/presse/")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"].startswith('"')
    rows = {
        row["name"]: row
        for row in json.loads(run_feeds("--config", str(site), "status", "--json").stdout)
    }
    assert rows["Stadt Pressemitteilungen"]["outcome"] == "not-modified"
    assert rows["Stadt Pressemitteilungen"]["status"] == 304


def test_a_page_over_max_body_fails_alone(tmp_path: Path, feed_server: FeedServer) -> None:
    items = [ListItem(f"Meldung {i}", f"/p/{i}", summary="x" * 500) for i in range(400)]
    big = feed_server.add("/gross/", press_list(items), content_type="text/html")
    small = feed_server.add("/klein/", press_list(items[:1]), content_type="text/html")
    keys = 'item = "article.press"\ntitle = "h2"\nlink = "a"\n'
    config = _config(
        tmp_path,
        _page_source("Gross", big, "A", keys) + _page_source("Klein", small, "B", keys),
        fetch='max_body = "64KB"',
    )
    assert run_feeds("--config", str(config), "update").returncode == 0
    rows = {
        r["name"]: r
        for r in json.loads(run_feeds("--config", str(config), "status", "--json").stdout)
    }
    assert rows["Gross"]["last_error"] == "body larger than 64000 bytes (max_body)"
    assert rows["Klein"]["outcome"] == "new"


@pytest.mark.parametrize(
    ("charset", "title"),
    [("euc-jp", "日本語"), ("euc-kr", "한국어"), ("utf-16le", "日本語 한국어")],
)
def test_a_page_in_a_charset_lxml_has_no_name_for_is_read_in_it(
    tmp_path: Path, feed_server: FeedServer, charset: str, title: str
) -> None:
    """Python reads these charsets and libxml2 does too, but lxml refuses the names Python
    gives them: the page once failed as "internal error: LookupError"."""
    items = [ListItem(title, "/p/1")]
    html = press_list(items).decode("utf-8").replace('charset="utf-8"', f'charset="{charset}"')
    url = feed_server.add(
        "/asien/", html.encode(charset), content_type=f"text/html; charset={charset}"
    )
    keys = 'item = "article.press"\ntitle = "h2"\nlink = "a"\n'
    config = _config(tmp_path, _page_source("Asien", url, "A", keys))
    result = run_feeds("--config", str(config), "update")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stdout + result.stderr
    entries = _entries(config, "a")
    assert [(e.title, e.link) for e in entries] == [(title, f"{feed_server.base_url}/p/1")]


def test_a_utf8_page_that_names_no_charset_is_read_as_utf8(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """libxml2 takes Latin-1 where nothing names a charset: every title of such a page was
    published as mojibake ("StraÃŸe"), while discovery and full text read it as UTF-8."""
    items = [ListItem("Straßensperrung – Grüße aus Köln", "/p/1")]
    html = press_list(items).replace(b'<meta charset="utf-8">', b"")
    url = feed_server.add("/presse/", html, content_type="text/html")
    keys = 'item = "article.press"\ntitle = "h2"\nlink = "a"\n'
    config = _config(tmp_path, _page_source("Stadt", url, "A", keys))
    assert run_feeds("--config", str(config), "update").returncode == 0
    assert [e.title for e in _entries(config, "a")] == ["Straßensperrung – Grüße aus Köln"]


def test_links_resolve_against_the_pages_base_href_as_a_browser_does(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A CMS page at /presse/ whose <base href> is the site's root links "presse/kita.html":
    resolved against the page instead, every link once went to /presse/presse/..."""
    items = [ListItem("Kita", "presse/kita.html", image="bilder/kita.jpg")]
    html = press_list(items).replace(
        b"<head>", f'<head><base href="{feed_server.url("/")}">'.encode()
    )
    url = feed_server.add("/presse/", html, content_type="text/html")
    keys = 'item = "article.press"\ntitle = "h2"\nlink = "a"\nimage = "img"\n'
    config = _config(tmp_path, _page_source("Stadt", url, "A", keys))
    assert run_feeds("--config", str(config), "update").returncode == 0
    (entry,) = _entries(config, "a")
    assert entry.link == feed_server.url("/presse/kita.html")
    assert entry.enclosures == [(feed_server.url("/bilder/kita.jpg"), "image/jpeg")]


def test_a_page_source_is_fetched_as_a_feed_is_guard_and_request_options(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The same client as feeds: the SSRF guard refuses a private page before a byte is
    sent, and a page behind a header and a login is read with the source's request options."""
    items = [ListItem("Meldung 1", "/p/1")]
    keys = 'item = "article.press"\ntitle = "h2"\nlink = "a"\n'
    guarded = feed_server.add("/privat/", press_list(items), content_type="text/html")
    config = _config(
        tmp_path, _page_source("Privat", guarded, "A", keys), "allow_private_addresses = false"
    )
    assert "refused to connect to 127.0.0.1" in run_feeds("--config", str(config), "update").stdout
    [row] = json.loads(run_feeds("--config", str(config), "status", "--json").stdout)
    assert "refused to connect to 127.0.0.1" in row["last_error"]
    assert feed_server.requests_to("/privat/") == []

    login = "Basic " + base64.b64encode(b"editor:geheim").decode()
    member = feed_server.add(
        "/mitglieder/",
        press_list(items),
        content_type="text/html",
        demands={"x-api-key": "abc", "authorization": login},
    )
    (tmp_path / "pw").write_text("geheim\n", encoding="utf-8")
    options = 'headers = { "X-Api-Key" = "abc" }\nusername = "editor"\npassword_file = "pw"\n'
    config = _config(tmp_path, _page_source("Mitglieder", member, "A", keys + options))
    assert run_feeds("--config", str(config), "update").returncode == 0
    rows = {
        r["name"]: r
        for r in json.loads(run_feeds("--config", str(config), "status", "--json").stdout)
    }
    assert rows["Mitglieder"]["outcome"] == "new", rows
    assert rows["Mitglieder"]["items"] == 1


# --- feeds sources add PAGE --items ... --------------------------------------------------


def test_sources_add_previews_a_page_then_writes_it(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = feed_server.add("/presse/", press_list(PRESS), content_type="text/html")
    config = _config(tmp_path, "")
    original = config.read_bytes()
    args = [
        "--config",
        str(config),
        "sources",
        "add",
        page,
        "--category",
        "Lokal",
        "--items",
        "article.press",
        "--title",
        "h2",
        "--date",
        "span.datum",
        "--date-format",
        PRESS_DATE_FORMAT,
        "--summary",
        "p.teaser",
        "--image",
        "img",
    ]

    preview = run_feeds(*args, "--preview")
    assert preview.returncode == 0, preview.stderr
    assert "3 entries, the first 3:" in preview.stdout
    assert "- Neue Kita am Markt eröffnet" in preview.stdout
    assert "2025-05-10T11:33:00+02:00" not in preview.stdout  # the source's zone is UTC here
    assert f"image:   {feed_server.base_url}/presse/bilder/kita.jpg" in preview.stdout
    assert "nothing written" in preview.stdout
    assert config.read_bytes() == original

    bad = run_feeds(*args[:-10], "--items", "ul[", "--preview")
    assert bad.returncode == 2
    assert "--items" in bad.stderr and "invalid CSS selector 'ul['" in bad.stderr

    added = run_feeds(*args, "--name", "Presse")
    assert added.returncode == 0, added.stderr
    [source] = load_config(config).sources
    assert (source.name, source.kind, source.url) == ("Presse", SourceKind.PAGE, page)
    assert source.options == PRESS_OPTIONS
    again = run_feeds(*args, "--name", "Presse 2")
    assert again.returncode == 2 and "already configured" in again.stderr


def test_the_preview_lets_no_control_character_of_the_page_reach_the_terminal(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A C1 CSI (U+009B) and a bidi override in an item's title and summary once went to
    the terminal as they were."""
    html = (
        "<html><body><article class='press'><h2>Titel \u009b2J\u202eeno</h2>"
        "<p class='teaser'>Kurz \u009b31m</p><a href='/p/1'>x</a></article></body></html>"
    )
    url = feed_server.add("/presse/", html.encode(), content_type="text/html; charset=utf-8")
    config = _config(tmp_path, "")
    result = run_feeds(
        "--config", str(config), "sources", "add", url, "--category", "A",
        "--items", "article.press", "--title", "h2", "--summary", "p.teaser", "--preview",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "- Titel 2J eno\n" in result.stdout and "    summary: Kurz 31m\n" in result.stdout
    assert not any(c in result.stdout for c in "\u009b\u202e")


def test_the_preview_reads_the_page_under_the_parse_deadline(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The preview parsed in the command's own process, with no deadline: a selector whose
    cost grows with the cube of the page held it for hours, where `feeds update` stops at
    `parse_deadline`."""
    body = b"<ul>" + b"<li><b>t</b><a href=/x>x</a></li>" * 3000 + b"</ul>"
    url = feed_server.add("/liste/", body, content_type="text/html")
    config = _config(tmp_path, "", 'parse_deadline = "2s"')
    result = run_feeds(
        "--config", str(config), "sources", "add", url, "--category", "A", "--preview",
        "--items", "xpath://li[count(//li[count(//li) > 0]) > 0]", "--title", "b",
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"Error: {url}: parsing took longer than 2s; nothing written" in (result.stderr)


def test_a_page_source_is_no_feed_to_export(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        _page_source("P", "https://stadt.example/presse/", "Lokal", PRESS_KEYS)
        + '[[sources]]\nname = "F"\nurl = "https://stadt.example/feed.xml"\ncategory = "Lokal"\n',
    )
    opml = write_opml(load_config(path).sources, title="t")
    assert b"https://stadt.example/feed.xml" in opml
    assert b"presse" not in opml


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "not an HTML page"),
        (b"\x00\x01\x02\xff" * 1000, "matched nothing"),
        (b'{"items": [{"title": "json, not html"}]}', "matched nothing"),
    ],
)
def test_what_is_no_list_page_is_an_error_not_an_empty_success(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        _parse(body, SIMPLE)


def test_a_page_url_that_is_no_web_address_is_a_config_error(tmp_path: Path) -> None:
    keys = 'item = "li"\ntitle = "b"\nlink = "a"'
    path = _config(tmp_path, _page_source("P", "javascript:alert(1)", "C", keys))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (
        "sources[1] (\"P\") key 'page': must be an absolute http(s) URL, not 'javascript:alert(1)'"
        in str(caught.value)
    )


def test_a_page_parse_runs_in_the_worker_pool_under_the_parse_deadline() -> None:
    # A valid XPath whose cost grows with the cube of the page: the worker is killed at the
    # deadline and the source fails with the pool's reason, as a feed's parse would.
    options = PageOptions(item="xpath://li[count(//li[count(//li) > 0]) > 0]", title="b", link="a")
    body = b"<ul>" + b"<li><b>t</b><a href=/x>x</a></li>" * 3000 + b"</ul>"
    source = Source("S", SourceKind.PAGE, timedelta(hours=1), url="https://s.example/",
                    category="C", options=options)  # fmt: skip
    job = BodyJob(body, "https://s.example/", {}, source, NOW, None)
    pool = ParserPool(workers=1, deadline=2.0)
    try:
        digest = asyncio.run(pool.digest(job))
    finally:
        pool.close()
    assert (digest.normalised, digest.error) == (None, "parsing took longer than 2s")
