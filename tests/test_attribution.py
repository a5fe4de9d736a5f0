"""Attribution, one entry per article, per-entry language, relative page links and a
current front page: from plain values, and end to end through `feeds update`."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import feedparser
import lxml.html
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.namespaces import ATOM, XML_LANG

from feeds.model import (
    Article,
    Author,
    Category,
    FetchOutcome,
    FetchState,
    Origin,
    RawFeed,
    Source,
    SourceKind,
    article_id,
)
from feeds.normalise.article import FEED_TITLE_LIMIT, normalise_feed
from feeds.origins import attribution_digest, health_digest, source_origins
from feeds.publish import OutputLayout
from feeds.publish.atom import render_atom
from feeds.publish.dedupe import (
    _PLAIN_LINK,
    canonical_link,
    deduplicate,
    identity_keys,
    parsed_link,
)
from feeds.publish.document import Site, build_document, published_authors
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.rss import render_rss
from feeds.publish.site import publish_site
from feeds.store import ArticleStore

WHEN = datetime(2025, 5, 10, 9, 0, tzinfo=UTC)
BASE = "https://news.example.org/"


def article(
    source: str,
    entry_id: str,
    *,
    link: str | None = None,
    hours: int = 0,
    authors: tuple[str, ...] = (),
    language: str | None = "de",
    category: str = "Welt",
) -> Article:
    when = WHEN - timedelta(hours=hours)
    return Article(
        id=article_id(source, entry_id), source=source, entry_id=entry_id,
        title=f"{source} {entry_id}", link=link, summary="s", content="<p>c</p>",
        authors=tuple(Author(name) for name in authors), published=when, updated=when,
        categories=(category,),
        language=language,
    )  # fmt: skip


ALPHA = Origin(
    name="alpha", kind=SourceKind.REMOTE, title="Alpha Blog",
    site_url="https://alpha.example/", feed_url="https://alpha.example/feed.xml",
    outcome=FetchOutcome.NEW, fetched=True,
)  # fmt: skip
BETA = Origin(
    name="beta", kind=SourceKind.REMOTE, title="Beta News",
    site_url="https://beta.example/", feed_url="https://beta.example/rss",
    outcome=FetchOutcome.NEW, fetched=True,
)  # fmt: skip
LOKAL = Origin(
    name="Lokal Redaktion", kind=SourceKind.LOCAL, title="Lokal Redaktion", own_pages=True
)


def site_with(tmp_path: Path, *origins: Origin) -> Site:
    return Site(
        OutputLayout(tmp_path / "out", BASE), "Site Title", origins={o.name: o for o in origins}
    )


# --- one article, one entry (pure) --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.ORG/a/b?x=1#frag", "https://example.org/a/b?x=1"),
        ("HTTPS://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://example.org", "https://example.org/"),
        ("http://[2001:DB8::1]:443/x", "http://[2001:db8::1]:443/x"),
        ("https://example.org/A", "https://example.org/A"),  # paths are case-sensitive
        ("ftp://example.org/a", None),
        ("javascript:alert(1)", None),
        ("https://example.org:99999/a", None),  # a bad port is no link
        ("relative/path.txt", None),
    ],
)
def test_canonical_link(url: str, canonical: str | None) -> None:
    assert canonical_link(url) == canonical


def test_a_link_in_plain_form_is_canonical_as_parsing_makes_it() -> None:
    # Links already canonical but for their path skip the parse: over links of every
    # printable character, both ways give the same, and most take the short one.
    rnd = random.Random(20261206)
    printable = [chr(c) for c in range(32, 127)] + ["\t", "\n", "Ä", "é"]
    shortcut = 0
    for _ in range(20_000):
        labels = rnd.randint(1, 3)
        host = ".".join(
            "".join(rnd.choice(string.ascii_lowercase + string.digits + "-.A:") for _ in range(5))
            for _ in range(labels)
        )
        rest = "".join(rnd.choice(printable) for _ in range(rnd.randint(0, 12)))
        scheme = rnd.choice(["http", "https", "https", "HTTP", "ftp"])
        url = f"{scheme}://{host}{rnd.choice(['', '/', '?', '/a?', '#'])}{rest}"
        assert canonical_link(url) == parsed_link(url.strip()), url
        shortcut += _PLAIN_LINK.fullmatch(url.strip()) is not None
    assert shortcut > 2_000


def test_identity_keys_use_global_ids_only() -> None:
    assert identity_keys(article("a", "tag:x.org,2025:1")) == {"id tag:x.org,2025:1"}
    assert identity_keys(article("a", "urn:uuid:1", link="https://X.org/p")) == {
        "id urn:uuid:1",
        "link https://x.org/p",
    }
    assert identity_keys(article("a", "HTTPS://x.org/p#c")) == {"id https://x.org/p"}
    # A local file's path or a site-local guid says nothing across sources.
    assert identity_keys(article("a", "000_seed.txt")) == frozenset()
    assert identity_keys(article("a", "12345")) == frozenset()


def test_the_first_seen_stays_and_every_carrier_is_recorded() -> None:
    a = article("alpha", "1", link="https://example.org/story#top")
    b = article("beta", "9", link="HTTPS://EXAMPLE.org:443/story", hours=-2)  # newer date
    c = article("gamma", "tag:example.org,2025:story", link="https://example.org/story")
    other = article("beta", "10", link="https://example.org/other")
    first_seen = {a.id: WHEN, b.id: WHEN - timedelta(hours=1), c.id: WHEN + timedelta(hours=1)}
    result = deduplicate([a, b, c, other], first_seen)
    assert [x.id for x in result.articles] == [b.id, other.id]  # input order kept
    assert result.carriers == {b.id: ("alpha", "gamma")}


def test_same_global_id_merges_without_a_shared_link() -> None:
    a = article("alpha", "tag:example.org,2025:7", link="https://alpha.example/7")
    b = article("beta", "tag:example.org,2025:7", link="https://mirror.example/7")
    result = deduplicate([b, a], {a.id: WHEN, b.id: WHEN + timedelta(seconds=1)})
    assert [x.source for x in result.articles] == ["alpha"]
    assert result.carriers == {a.id: ("beta",)}


def test_one_source_never_merges_its_own_entries() -> None:
    # A feed that links every entry to its home page still has distinct entries.
    own = [article("alpha", str(n), link="https://alpha.example/") for n in range(3)]
    result = deduplicate(own, {})
    assert len(result.articles) == 3 and not result.carriers


def test_links_chain_merges_transitively_and_unknown_first_seen_uses_the_date() -> None:
    a = article("alpha", "urn:a", link="https://x.org/1", hours=3)  # oldest date: first
    b = article("beta", "urn:b", link="https://x.org/1")
    c = article("gamma", "urn:b", link="https://y.org/2", hours=1)  # b's id, another link
    result = deduplicate([a, b, c], {})
    assert [x.id for x in result.articles] == [a.id]
    assert result.carriers == {a.id: ("beta", "gamma")}


class _Asked(dict[str, datetime]):
    """A first_seen mapping that records the ids looked up."""

    def __init__(self, found: dict[str, datetime]) -> None:
        super().__init__(found)
        self.asked: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


def test_only_the_articles_that_share_a_key_are_looked_up_in_first_seen() -> None:
    # A publish reads when articles were first stored only for those it may merge.
    a = article("alpha", "1", link="https://example.org/story")
    b = article("beta", "2", link="https://example.org/story")
    alone = [article("gamma", str(n), link=f"https://example.org/{n}") for n in range(3)]
    first_seen = _Asked({a.id: WHEN + timedelta(hours=1), b.id: WHEN})
    result = deduplicate([alone[0], a, alone[1], b, alone[2]], first_seen)
    assert [x.id for x in result.articles] == [alone[0].id, alone[1].id, b.id, alone[2].id]
    assert result.carriers == {b.id: ("alpha",)}
    assert sorted(first_seen.asked) == sorted([a.id, b.id])
    nothing_shared = _Asked({})
    assert deduplicate(alone, nothing_shared).articles == tuple(alone)
    assert nothing_shared.asked == []


def test_feeds_and_pages_publish_each_article_once(tmp_path: Path) -> None:
    a = article("alpha", "1", link="https://example.org/story")
    b = article("beta", "2", link="https://example.org/story#comments", hours=1)
    site = site_with(tmp_path, ALPHA, BETA)
    first_seen = {a.id: WHEN, b.id: WHEN + timedelta(minutes=5)}
    doc = build_document(Category.named("Welt"), [a, b], site, first_seen=first_seen)
    assert [x.id for x in doc.articles] == [a.id]
    assert doc.others(a) == (BETA,)
    atom = etree.fromstring(render_atom(doc))
    assert len(atom.findall(f"{ATOM}entry")) == 1
    assert atom.findtext(f"{ATOM}entry/{ATOM}source/{ATOM}title") == "Alpha Blog"
    (item,) = json.loads(render_json_feed(doc))["items"]
    assert item["_source"] == {
        "title": "Alpha Blog",
        "home_page_url": "https://alpha.example/",
        "feed_url": "https://alpha.example/feed.xml",
        "others": [
            {
                "title": "Beta News",
                "home_page_url": "https://beta.example/",
                "feed_url": "https://beta.example/rss",
            }
        ],
    }
    assert len(etree.fromstring(render_rss(doc)).findall("channel/item")) == 1


# --- attribution in every format ----------------------------------------------------------


def test_atom_entries_carry_their_source_and_their_own_authors(tmp_path: Path) -> None:
    site = site_with(tmp_path, ALPHA, BETA)
    anonymous = article("alpha", "1", link="https://alpha.example/1")
    signed = article("beta", "2", link="https://beta.example/2", authors=("Ada",), hours=1)
    doc = build_document(Category.named("Welt"), [anonymous, signed], site)
    data = render_atom(doc)
    assert_valid_atom(data)
    root = etree.fromstring(data)
    assert root.find(f"{ATOM}author") is None  # entries must not inherit the site's name
    first, second = root.findall(f"{ATOM}entry")
    source = first.find(f"{ATOM}source")
    assert source is not None
    assert source.findtext(f"{ATOM}id") == "https://alpha.example/feed.xml"
    assert source.findtext(f"{ATOM}title") == "Alpha Blog"
    links = {link.get("rel"): link.get("href") for link in source.findall(f"{ATOM}link")}
    assert links == {
        "alternate": "https://alpha.example/",
        "self": "https://alpha.example/feed.xml",
    }
    assert source.findtext(f"{ATOM}updated") == WHEN.isoformat()
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "Alpha Blog"
    assert second.findtext(f"{ATOM}author/{ATOM}name") == "Ada"
    parsed = feedparser.parse(io.BytesIO(data))
    assert parsed.entries[0].author == "Alpha Blog"
    assert parsed.entries[0].source.title == "Alpha Blog"
    assert parsed.entries[0].source.id == "https://alpha.example/feed.xml"
    assert parsed.entries[1].author == "Ada"
    assert parsed.entries[1].source.title == "Beta News"


def test_rss_items_name_their_source_and_author(tmp_path: Path) -> None:
    site = site_with(tmp_path, ALPHA)
    doc = build_document(
        Category.named("Welt"), [article("alpha", "1", link="https://alpha.example/1")], site
    )
    data = render_rss(doc)
    assert_valid_rss(data)
    item = etree.fromstring(data).find("channel/item")
    assert item is not None
    source = item.find("source")
    assert source is not None
    assert (source.get("url"), source.text) == ("https://alpha.example/feed.xml", "Alpha Blog")
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Alpha Blog"
    parsed = feedparser.parse(io.BytesIO(data))
    assert parsed.entries[0].source == {
        "href": "https://alpha.example/feed.xml",
        "title": "Alpha Blog",
    }


def test_json_feed_source_without_others_and_author_fallback(tmp_path: Path) -> None:
    site = site_with(tmp_path, ALPHA)
    doc = build_document(
        Category.named("Welt"), [article("alpha", "1", link="https://alpha.example/1")], site
    )
    data = render_json_feed(doc)
    assert_valid_jsonfeed(data)
    (item,) = json.loads(data)["items"]
    assert item["_source"] == {
        "title": "Alpha Blog",
        "home_page_url": "https://alpha.example/",
        "feed_url": "https://alpha.example/feed.xml",
    }
    assert item["authors"] == [{"name": "Alpha Blog"}]


def test_author_fallback_is_the_source_title_never_the_site() -> None:
    own = article("alpha", "1", authors=("Ada", "Grace"))
    assert published_authors(own, ALPHA) == (Author("Ada"), Author("Grace"))
    assert published_authors(article("alpha", "2"), ALPHA) == (Author("Alpha Blog"),)


def test_a_source_missing_from_the_config_is_still_credited_by_name(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    doc = build_document(
        Category.named("Welt"), [article("gone", "1", link="https://x.example/1")], site
    )
    data = render_atom(doc)
    assert_valid_atom(data)
    entry = etree.fromstring(data).find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}source/{ATOM}title") == "gone"
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "gone"
    assert json.loads(render_json_feed(doc))["items"][0]["_source"] == {"title": "gone"}


def test_local_articles_credit_their_source_page_which_lists_them(tmp_path: Path) -> None:
    site = site_with(tmp_path, LOKAL)
    local = article("Lokal Redaktion", "000_seed.txt")
    doc = build_document(Category.named("Welt"), [local], site)
    page_url = BASE + "articles/lokal-redaktion/"
    entry = etree.fromstring(render_atom(doc)).find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}source/{ATOM}id") == page_url
    assert entry.findtext(f"{ATOM}source/{ATOM}title") == "Lokal Redaktion"
    assert [(x.get("rel"), x.get("href")) for x in entry.findall(f"{ATOM}source/{ATOM}link")] == [
        ("alternate", page_url)
    ]
    item = etree.fromstring(render_rss(doc)).find("channel/item/source")
    assert item is not None and item.get("url") == page_url
    assert json.loads(render_json_feed(doc))["items"][0]["_source"] == {
        "title": "Lokal Redaktion",
        "home_page_url": page_url,
    }
    publish_site([(Category.named("Welt"), [local])], [local], site, sources=[LOKAL])
    page = (tmp_path / "out" / "articles" / "lokal-redaktion" / "index.html").read_text()
    assert "Lokal Redaktion 000_seed.txt" in page
    assert f'href="{site.layout.article_page(local).rsplit("/", 1)[1]}"' in page


# --- language -----------------------------------------------------------------------------


def test_feed_language_only_when_every_entry_shares_it(tmp_path: Path) -> None:
    site = site_with(tmp_path, ALPHA)
    german = [article("alpha", str(n), link=f"https://a.example/{n}") for n in range(3)]
    same = build_document(Category.named("Welt"), german, site)
    assert same.language == "de"
    mixed_articles = [*german, article("alpha", "ru", link="https://a.example/ru", language="ru")]
    mixed = build_document(Category.named("Welt"), mixed_articles, site)
    assert mixed.language is None
    atom = etree.fromstring(render_atom(mixed))
    assert atom.get(XML_LANG) is None
    assert sorted(e.get(XML_LANG) for e in atom.findall(f"{ATOM}entry")) == ["de", "de", "de", "ru"]
    assert etree.fromstring(render_rss(mixed)).find("channel/language") is None
    feed = json.loads(render_json_feed(mixed))
    assert "language" not in feed
    assert sorted(i["language"] for i in feed["items"]) == ["de", "de", "de", "ru"]
    # An entry of unknown language under a feed marked "de" would be taken for German.
    unknown = [*german, article("alpha", "x", link="https://a.example/x", language=None)]
    assert build_document(Category.named("Welt"), unknown, site).language is None
    same_atom = etree.fromstring(render_atom(same))
    assert same_atom.get(XML_LANG) == "de"
    assert all(e.get(XML_LANG) is None for e in same_atom.findall(f"{ATOM}entry"))
    assert etree.fromstring(render_rss(same)).findtext("channel/language") == "de"


# --- origins and digests ------------------------------------------------------------------


def test_origins_from_config_and_state() -> None:
    remote = Source("alpha", SourceKind.REMOTE, timedelta(hours=1), url="https://a/feed")
    failing = Source("beta", SourceKind.REMOTE, timedelta(hours=1), url="https://b/feed")
    local = Source("lokal", SourceKind.LOCAL, timedelta(hours=1), path=Path("x"))
    states = {
        "alpha": FetchState(
            "alpha", url="https://a/moved", feed_title="Alpha Blog", site_url="https://a/",
            last_fetch=WHEN, last_outcome=FetchOutcome.NEW,
        ),
        "beta": FetchState(
            "beta", last_fetch=WHEN, last_outcome=FetchOutcome.FAILED, error_count=2,
            last_error="HTTP 500",
        ),
    }  # fmt: skip
    beta, lokal, alpha = source_origins([remote, failing, local], states)
    assert (alpha.title, alpha.site_url, alpha.feed_url) == (
        "Alpha Blog",
        "https://a/",
        "https://a/moved",
    )
    assert (alpha.health, beta.health, lokal.health) == ("ok", "failing", "unread")
    assert (beta.title, beta.feed_url) == ("beta", "https://b/feed")  # name until read
    assert (lokal.site_url, lokal.feed_url) == (None, None)


def test_health_digest_follows_what_the_page_shows() -> None:
    base = health_digest([ALPHA])
    assert health_digest([replace(ALPHA, outcome=FetchOutcome.NOT_MODIFIED)]) == base
    failing = replace(ALPHA, outcome=FetchOutcome.FAILED, error_count=1, last_error="HTTP 500")
    assert health_digest([failing]) != base
    assert health_digest([replace(failing, error_count=2)]) != health_digest([failing])
    assert health_digest([replace(ALPHA, outcome=FetchOutcome.GONE)]) != base
    assert attribution_digest([ALPHA]) == attribution_digest([failing])
    assert attribution_digest([replace(ALPHA, title="Renamed")]) != attribution_digest([ALPHA])


def test_feed_title_and_site_link_are_text_and_bounded() -> None:
    source = Source("s", SourceKind.REMOTE, timedelta(hours=1), url="https://s/", category="C")

    def read(title: str | None, link: str | None) -> tuple[str | None, str | None]:
        feed = RawFeed(entries=(), title=title, link=link)
        normalised = normalise_feed(
            feed, source=source, now=WHEN, first_seen={}, fallback_base=None
        )
        return normalised.title, normalised.site_url

    assert read("<b>Bold</b> &amp; <script>alert(1)</script>Blog", "https://s.example/") == (
        "Bold & Blog",
        "https://s.example/",
    )
    long_title, _ = read("word " * 10_000, None)
    assert long_title is not None and len(long_title) <= FEED_TITLE_LIMIT + 1
    assert read("", "javascript:alert(1)") == (None, None)
    assert read("T", "https://s.example/" + "a" * 5000) == ("T", None)
    assert read("\x00\x01", "data:text/html,x") == (None, None)


# --- pages link relatively ----------------------------------------------------------------


def page_links(out: Path) -> list[tuple[Path, str, str]]:
    """(page, tag, href) of every link in every page under `out`."""
    found = []
    for page in sorted(out.rglob("*.html")):
        document = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
        for element in document.iter("a", "link"):
            href = element.get("href")
            if href is not None:
                found.append((page, element.tag, href))
    return found


def assert_relative_links_resolve(out: Path, base_url: str) -> int:
    """Every link between our own pages is relative and names an existing file (a folder
    link would show a listing from disk); returns how many were checked."""
    checked = 0
    for page, tag, href in page_links(out):
        where = f"{page.relative_to(out)}: {href}"
        if urlsplit(href).scheme:
            # Only the head's autodiscovery links may name our public URL.
            assert tag == "link" or not href.startswith(base_url), where
            continue
        target = (page.parent / unquote(href)).resolve()
        assert target.is_relative_to(out.resolve()), where
        assert target.is_file(), where
        checked += 1
    return checked


def test_every_page_links_relatively_to_existing_files(tmp_path: Path) -> None:
    site = site_with(tmp_path, ALPHA, LOKAL)
    local = article("Lokal Redaktion", "2025/Bericht.md", category="Welt Nachrichten")
    remote = article("alpha", "1", link="https://alpha.example/1", category="Technik")
    categories = [
        (Category.named("Welt Nachrichten"), [local]),
        (Category.named("Technik"), [remote]),
    ]
    publish_site(categories, [local, remote], site, sources=[ALPHA, LOKAL])
    out = tmp_path / "out"
    checked = assert_relative_links_resolve(out, BASE)
    index = lxml.html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
    hrefs = {a.get("href") for a in index.iter("a")}
    assert {
        "welt-nachrichten/index.html",
        "all/atom.xml",
        "feeds.opml",
        "articles/lokal-redaktion/index.html",
    } <= hrefs
    article_page = out / site.layout.article_page(local)
    assert "../../index.html" in article_page.read_text(encoding="utf-8")
    # index, 2 category pages, all/, the article page, the source page: each links home or on.
    assert checked >= 20


# --- end to end ---------------------------------------------------------------------------


def write_config(tmp_path: Path, sources: dict[str, str], category: str = "Technik") -> Path:
    tables = "".join(
        f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "{category}"\n'
        for name, url in sources.items()
    )
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\nbase_url = "{BASE}"\ntitle = "Test Site"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n' + tables,
        encoding="utf-8",
    )
    return config


def story(number: int, link: str, **fields: Any) -> FeedItem:
    return FeedItem(
        id=f"urn:story:{number}:{link}", title=f"Story {number}", link=link,
        html=f"<p>Story {number}</p>", published=WHEN - timedelta(hours=number), **fields,
    )  # fmt: skip


def test_an_article_two_sources_carry_is_published_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    shared = "https://news.example.com/2025/story"
    alpha = feed_server.add(
        "/alpha",
        rss20([story(1, shared)], title="Alpha Blog", link="https://alpha.example/"),
        content_type="application/rss+xml",
    )
    beta_feed = rss20([story(2, "https://beta.example/own")], title="Beta News")
    beta = feed_server.add("/beta", beta_feed, content_type="application/rss+xml")
    config = write_config(tmp_path, {"alpha": alpha, "beta": beta})
    assert run_feeds("--config", str(config), "update").returncode == 0
    # Later, the second source carries the same article (its link written differently).
    copy = story(3, "HTTPS://NEWS.example.com:443/2025/story#comments", authors=("Bea",))
    beta_feed = rss20([copy, story(2, "https://beta.example/own")], title="Beta News")
    feed_server.add("/beta", beta_feed, content_type="application/rss+xml")
    second = run_feeds("--config", str(config), "update", "--all")
    assert second.returncode == 0, second.stderr
    assert "1 new" in second.stdout
    out = tmp_path / "out"
    db = sqlite3.connect(tmp_path / "var" / "feeds.db")
    assert db.execute("select count(*) from articles").fetchone()[0] == 3  # both stored
    assert db.execute(
        "select feed_title, site_url from source_state where source = 'alpha'"
    ).fetchone() == ("Alpha Blog", "https://alpha.example/")
    for slug in ("technik", "all"):
        atom = (out / slug / "atom.xml").read_bytes()
        assert_valid_atom(atom)
        parsed = feedparser.parse(io.BytesIO(atom))
        titles = sorted(e.title for e in parsed.entries)
        assert titles == ["Story 1", "Story 2"], slug
        first = next(e for e in parsed.entries if e.title == "Story 1")
        assert first.source.title == "Alpha Blog"
        assert first.source.link == "https://alpha.example/"
        assert first.author == "Alpha Blog"  # the feed gave no author
        assert first.link == shared
        document = json.loads((out / slug / "feed.json").read_text(encoding="utf-8"))
        assert_valid_jsonfeed((out / slug / "feed.json").read_bytes())
        item = next(i for i in document["items"] if i["title"] == "Story 1")
        assert item["_source"]["title"] == "Alpha Blog"
        assert item["_source"]["feed_url"] == alpha
        assert item["_source"]["others"] == [
            {"title": "Beta News", "home_page_url": "https://example.com/", "feed_url": beta}
        ]
        rss = feedparser.parse(io.BytesIO((out / slug / "rss.xml").read_bytes()))
        assert sorted(e.title for e in rss.entries) == ["Story 1", "Story 2"]
        assert next(e for e in rss.entries if e.title == "Story 1").source.href == alpha
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count(">Story 1<") == 2  # in its category and nowhere twice
    assert_relative_links_resolve(out, BASE)


def blogroll(out: Path) -> dict[str, str]:
    """Source name -> the state the front page shows for it."""
    document = lxml.html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
    return {
        row[0].text_content(): row[3].text_content()
        for row in document.xpath("//section[h2='Sources']//tbody/tr")
    }


def test_the_front_page_shows_a_source_failing_after_its_second_failure(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    good = feed_server.add(
        "/good", rss20([story(1, "https://g.example/1")], title="Good Feed"),
        content_type="application/rss+xml",
    )  # fmt: skip
    flaky = feed_server.add("/flaky", b"down", status=500, content_type="text/plain")
    config = write_config(tmp_path, {"good": good, "flaky": flaky})
    out = tmp_path / "out"
    assert run_feeds("--config", str(config), "update").returncode == 0
    first = blogroll(out)
    assert first["Good Feed (good)"] == "ok"
    assert first["flaky"].startswith("failing: 1 error(s) in a row: HTTP 500")
    # Nothing changes but the failing source's count: the page must still say so.
    assert run_feeds("--config", str(config), "update", "--all").returncode == 0
    assert blogroll(out)["flaky"].startswith("failing: 2 error(s) in a row: HTTP 500")
    feed_server.add(
        "/flaky", rss20([story(2, "https://f.example/2")], title="Flaky Feed"),
        content_type="application/rss+xml",
    )  # fmt: skip
    assert run_feeds("--config", str(config), "update", "--all").returncode == 0
    assert blogroll(out)["Flaky Feed (flaky)"] == "ok"
    document = lxml.html.document_fromstring((out / "index.html").read_text(encoding="utf-8"))
    row = document.xpath("//section[h2='Sources']//tbody/tr[td[1]/a='Flaky Feed']")[0]
    assert [a.get("href") for a in row.iter("a")] == ["https://example.com/", flaky]


# --- hostile values -----------------------------------------------------------------------


def test_a_hostile_source_title_stays_text_everywhere(tmp_path: Path) -> None:
    title = '"><script>alert(1)</script> & <b>Blog</b>'
    hostile = replace(ALPHA, title=title)
    site = site_with(tmp_path, hostile)
    entry = article("alpha", "1", link="https://alpha.example/1")
    doc = build_document(Category.named("Welt"), [entry], site)
    atom = etree.fromstring(render_atom(doc))
    assert atom.findtext(f"{ATOM}entry/{ATOM}source/{ATOM}title") == title
    assert atom.findtext(f"{ATOM}entry/{ATOM}author/{ATOM}name") == title
    rss = etree.fromstring(render_rss(doc))
    assert rss.findtext("channel/item/source") == title
    assert json.loads(render_json_feed(doc))["items"][0]["_source"]["title"] == title
    publish_site([(Category.named("Welt"), [entry])], [entry], site, sources=[hostile])
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in index
    document = lxml.html.document_fromstring(index)
    (cell,) = document.xpath("//section[h2='Sources']//tbody/tr/td[1]")
    assert cell.text_content() == f"{title} (alpha)"


def test_local_sources_whose_names_give_one_folder_share_its_page(tmp_path: Path) -> None:
    one = Origin(
        name="Lokal Redaktion", kind=SourceKind.LOCAL, title="Lokal Redaktion", own_pages=True
    )
    two = Origin(
        name="lokal-redaktion", kind=SourceKind.LOCAL, title="lokal-redaktion", own_pages=True
    )
    site = site_with(tmp_path, one, two)
    first = article("Lokal Redaktion", "a.md")
    second = article("lokal-redaktion", "b.md", hours=1)
    publish_site(
        [(Category.named("Welt"), [first, second])], [first, second], site, sources=[one, two]
    )
    page = (tmp_path / "out" / "articles" / "lokal-redaktion" / "index.html").read_text()
    assert "Lokal Redaktion a.md" in page and "lokal-redaktion b.md" in page
    assert "<h1>Lokal Redaktion · lokal-redaktion</h1>" in page
    assert assert_relative_links_resolve(tmp_path / "out", BASE) > 0


def test_a_store_from_before_feed_titles_reads_each_feed_once_more(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = rss20([story(1, "https://a.example/1")], title="Alpha Blog", link="https://a.example/")
    alpha = feed_server.add("/alpha", feed, content_type="application/rss+xml",
                            headers={"etag": '"v1"'})  # fmt: skip
    config = write_config(tmp_path, {"alpha": alpha})
    assert run_feeds("--config", str(config), "update").returncode == 0
    db = sqlite3.connect(tmp_path / "var" / "feeds.db")
    with db:  # as an upgraded store has it: validators, but no title yet
        db.execute("update source_state set feed_title = null, site_url = null")
    assert run_feeds("--config", str(config), "update", "--all").returncode == 0
    assert run_feeds("--config", str(config), "update", "--all").returncode == 0
    _, refill, after = feed_server.requests_to("/alpha")
    assert "if-none-match" not in refill.headers  # the body, not a 304
    assert after.headers["if-none-match"] == '"v1"'  # then conditional again
    row = db.execute("select feed_title, site_url from source_state").fetchone()
    assert row == ("Alpha Blog", "https://a.example/")
    assert blogroll(tmp_path / "out") == {"Alpha Blog (alpha)": "ok"}


def test_a_feed_without_a_title_is_credited_by_name_and_stays_conditional(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = rss20([story(1, "https://a.example/1")], title="")
    alpha = feed_server.add("/alpha", feed, content_type="application/rss+xml",
                            headers={"etag": '"v1"'})  # fmt: skip
    config = write_config(tmp_path, {"alpha": alpha})
    assert run_feeds("--config", str(config), "update").returncode == 0
    assert run_feeds("--config", str(config), "update", "--all").returncode == 0
    _, second = feed_server.requests_to("/alpha")
    assert second.headers["if-none-match"] == '"v1"'
    item = json.loads((tmp_path / "out" / "all" / "feed.json").read_text())["items"][0]
    assert item["_source"]["title"] == "alpha"


# --- the store ----------------------------------------------------------------------------


def test_store_keeps_feed_title_and_site_and_first_seen(store: ArticleStore) -> None:
    state = FetchState("alpha", feed_title="Alpha Blog", site_url="https://alpha.example/")
    store.save_fetch_state(state)
    saved = store.fetch_state("alpha")
    assert saved is not None
    assert (saved.feed_title, saved.site_url) == ("Alpha Blog", "https://alpha.example/")
    a = article("alpha", "1", link="https://x.org/1")
    b = article("beta", "1", link="https://x.org/1")
    store.upsert_articles("alpha", [a], WHEN)
    store.upsert_articles("beta", [b], WHEN + timedelta(minutes=1))
    store.upsert_articles("alpha", [replace(a, title="edited")], WHEN + timedelta(hours=1))
    assert store.first_seen_by_id([a.id, b.id, "urn:uuid:missing"]) == {
        a.id: WHEN,
        b.id: WHEN + timedelta(minutes=1),
    }


def test_reader_sees_each_entry_with_its_source_and_author(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """reader, a real subscriber, reads our Atom and RSS back with attribution."""
    reader = pytest.importorskip("reader")
    site = site_with(tmp_path, ALPHA)
    anonymous = article("alpha", "1", link="https://alpha.example/1")
    doc = build_document(Category.named("Welt"), [anonymous], site)
    for path, data, media_type in (
        ("/atom", render_atom(doc), "application/atom+xml"),
        ("/rss", render_rss(doc), "application/rss+xml"),
    ):
        url = feed_server.add(path, data, content_type=media_type)
        subscriber = reader.make_reader(str(tmp_path / f"reader{path[1:]}.sqlite"))
        try:
            subscriber.add_feed(url)
            subscriber.update_feeds()
            (entry,) = subscriber.get_entries()
            assert entry.title == "alpha 1"
            assert entry.authors_str == "Alpha Blog", path
            assert entry.source.title == "Alpha Blog", path
            assert entry.source.url == "https://alpha.example/feed.xml", path
            if path == "/atom":
                assert entry.source.link == "https://alpha.example/"
                assert entry.source.updated == WHEN
        finally:
            subscriber.close()
