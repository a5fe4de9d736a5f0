"""Authors read faithfully from every form a feed or an editor writes, stored and republished
with their emails where the output format has room for one."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
from lxml import etree
from sqlalchemy import update
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feedfactory import FeedItem, broken_rss
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.namespaces import ATOM, NS_DC, NS_ITUNES

from feeds.model import Article, Author, RawFeed, Rule, RuleAction, Source, SourceKind, article_id
from feeds.normalise.article import normalise_feed
from feeds.normalise.authors import (
    MAX_ADDRESS_TEXT,
    MAX_AUTHORS,
    authors_from_text,
    clean_authors,
)
from feeds.parse import parse_feed
from feeds.parse.rawxml import read_entries
from feeds.publish.document import Site
from feeds.publish.layout import OutputLayout
from feeds.publish.pages import render_article_page
from feeds.rules import matches
from feeds.sources.local import read_local_source
from feeds.store import ArticleStore
from feeds.store.schema import articles

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
URL = "https://example.org/feed.xml"
SOURCE = Source(
    name="Example", kind=SourceKind.REMOTE, interval=timedelta(minutes=30), url=URL,
    category="Technik",
)  # fmt: skip


def A(name: str, email: str | None = None, uri: str | None = None) -> Author:  # noqa: N802
    return Author(name=name, email=email, uri=uri)


# Raw author text as RSS <author>, dc:creator, itunes:author and editors write it, and the
# authors it must give once normalised.
FORMS: list[tuple[str, tuple[Author, ...]]] = [
    # RSS 2.0's form; feedparser 6.0.x cuts the first two at four-letter TLDs.
    ("presse@stadt.example (Pressestelle)", (A("Pressestelle", "presse@stadt.example"),)),
    ("news@heise.online (Heise)", (A("Heise", "news@heise.online"),)),
    ("ann@example.com (Ann Lee)", (A("Ann Lee", "ann@example.com"),)),
    ("ann@x.org (Ann Lee, Redaktion)", (A("Ann Lee, Redaktion", "ann@x.org"),)),
    ("a@b.example (Ann (the) Lee)", (A("Ann (the) Lee", "a@b.example"),)),
    ("ANN@EXAMPLE.ORG (Ann)", (A("Ann", "ANN@EXAMPLE.ORG"),)),
    ("mailto:ann@example.org (Ann)", (A("Ann", "ann@example.org"),)),
    # Name <address>
    ("Ann Lee <ann@stadt.example>", (A("Ann Lee", "ann@stadt.example"),)),
    ("Jörg Müller <jm@zeitung.berlin>", (A("Jörg Müller", "jm@zeitung.berlin"),)),
    ('"Lee, Ann" <ann@example.org>', (A("Lee, Ann", "ann@example.org"),)),
    ('"Ann \\"Nick\\" Lee" <ann@example.org>', (A('Ann "Nick" Lee', "ann@example.org"),)),
    ("<ann@example.org>", (A("ann@example.org", "ann@example.org"),)),
    ("Ann <mailto:ann@example.org>", (A("Ann", "ann@example.org"),)),
    # Name (address)
    ("Ann Lee (ann@example.org)", (A("Ann Lee", "ann@example.org"),)),
    # An address alone is also the name.
    ("ann@example.org", (A("ann@example.org", "ann@example.org"),)),
    ("mailto:ann@stadt.example", (A("ann@stadt.example", "ann@stadt.example"),)),
    # Names without an address.
    ("(Pressestelle)", (A("Pressestelle"),)),
    ("Pressestelle", (A("Pressestelle"),)),
    ("  Ann \t  Lee  ", (A("Ann Lee"),)),
    ("Müller, Jörg", (A("Müller, Jörg"),)),
    ("dpa (Deutsche Presse-Agentur)", (A("dpa (Deutsche Presse-Agentur)"),)),
    ("@handle", (A("@handle"),)),
    ("Option<T> Fan", (A("Option<T> Fan"),)),
    ("ann@localhost (Ann)", (A("ann@localhost (Ann)"),)),  # no such address: as written
    ("g@%.m", (A("g@%.m"),)),  # no valid mailto: URL either
    # Markup is no part of a name; script text goes with its element.
    ("<b>Ann</b> Lee", (A("Ann Lee"),)),
    ("x@y.example (<script>alert(1)</script>)", (A("x@y.example", "x@y.example"),)),
    # Several addresses in one text.
    (
        "a@x.org (A), b@y.museum (B)",
        (A("A", "a@x.org"), A("B", "b@y.museum")),
    ),
    (
        "Ann <ann@example.org>, Bob <bob@example.org>",
        (A("Ann", "ann@example.org"), A("Bob", "bob@example.org")),
    ),
    ("Ann, Bob <bob@example.org>", (A("Ann, Bob", "bob@example.org"),)),
]


def normalised(feed: RawFeed) -> tuple[Article, ...]:
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    assert result.errors == ()
    return result.articles


def rss(*items: str, namespaces: str = "") -> bytes:
    body = "".join(
        f"<item><guid>g{n}</guid><title>t{n}</title>{i}</item>" for n, i in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>T</title><link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


DC = f'xmlns:dc="{NS_DC}"'
ITUNES = f'xmlns:itunes="{NS_ITUNES}"'


def test_the_table_has_at_least_25_forms() -> None:
    assert len(FORMS) >= 25


@pytest.mark.parametrize(("raw", "expected"), FORMS, ids=[raw for raw, _ in FORMS])
def test_author_text_forms(raw: str, expected: tuple[Author, ...]) -> None:
    assert clean_authors(authors_from_text(raw)) == expected


@pytest.mark.parametrize("element", ["author", "dc:creator", "itunes:author"])
def test_every_form_through_every_rss_author_element(element: str) -> None:
    items = [f"<{element}>{escape(raw)}</{element}>" for raw, _ in FORMS]
    feed = parse_feed(rss(*items, namespaces=f"{DC} {ITUNES}"), url=URL)
    got = [article.authors for article in normalised(feed)]
    assert got == [expected for _, expected in FORMS]


def test_several_author_elements_in_one_item_are_each_read() -> None:
    # feedparser keeps only the last raw text; the others it splits wrongly.
    item = (
        "<author>presse@stadt.example (Pressestelle)</author>"
        "<dc:creator>news@heise.online (Heise)</dc:creator><dc:creator>Ann</dc:creator>"
    )
    (article,) = normalised(parse_feed(rss(item, namespaces=DC), url=URL))
    assert article.authors == (
        A("Pressestelle", "presse@stadt.example"),
        A("Heise", "news@heise.online"),
        A("Ann"),
    )


def test_broken_xml_falls_back_to_feedparser_with_the_raw_author_read_again() -> None:
    # lxml and feedparser's loose parser count this document's entries differently, so
    # feedparser's persons are used; its one raw author text per entry is read again.
    items = [
        FeedItem(id=f"u{n}", title=f"t{n}", authors=(f"presse{n}@stadt.example (Presse {n})",))
        for n in range(4)
    ]
    feed = parse_feed(broken_rss(items, good=2), url=URL)
    assert feed.warnings
    assert [entry.authors for entry in feed.entries] == [
        (A(f"Presse {n}", f"presse{n}@stadt.example"),) for n in range(4)
    ]


def test_rss_in_the_userland_namespace_is_read_from_the_xml() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0" xmlns="http://backend.userland.com/rss2">'
        "<channel><title>T</title><item><guid>1</guid><title>t</title>"
        "<author>a@x.museum (A)</author><author>b@y.museum (B)</author></item></channel></rss>"
    )
    (entry,) = parse_feed(body.encode(), url=URL).entries
    assert entry.authors == (A("A", "a@x.museum"), A("B", "b@y.museum"))


def test_atom_persons_keep_name_email_and_uri() -> None:
    body = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>
<updated>2025-05-10T11:33:00Z</updated>
<author><name>Redaktion</name><email>redaktion@zeitung.example</email></author>
<entry><id>urn:1</id><title>one</title><updated>2025-05-10T11:33:00Z</updated>
 <author><name>Ann Lee</name><email>ann@stadt.example</email><uri>https://ann.example/</uri></author>
 <author><email>bob@heise.online</email></author>
 <author><name>presse@stadt.example (P)</name></author>
 <author><name>Eve</name><uri>javascript:alert(1)</uri></author>
</entry>
<entry><id>urn:2</id><title>two</title><updated>2025-05-10T11:33:00Z</updated></entry>
</feed>"""
    first, second = normalised(parse_feed(body.encode(), url=URL))
    assert first.authors == (
        A("Ann Lee", "ann@stadt.example", "https://ann.example/"),
        # feedparser gives this one the name "Ann (ple" of the author before it.
        A("bob@heise.online", "bob@heise.online"),
        # An Atom name is a name, whatever it looks like; feedparser adds an email.
        A("presse@stadt.example (P)"),
        A("Eve"),  # only http(s) pages
    )
    assert second.authors == (A("Redaktion", "redaktion@zeitung.example"),)  # inherited


def test_json_feed_authors_name_and_url() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T",
        "items": [
            {
                "id": "1",
                "title": "one",
                "content_text": "x",
                "authors": [
                    {"name": "Ann", "url": "https://ann.example/"},
                    {"name": "Bob", "url": "mailto:bob@heise.online"},
                    {"name": "presse@stadt.example (Pressestelle)"},
                    {"url": "mailto:eve@example.org"},
                    {"avatar": "https://example.org/a.png"},
                ],
            },
            {"id": "2", "title": "two", "content_text": "x", "author": {"name": "Solo"}},
        ],
    }
    first, second = normalised(parse_feed(json.dumps(document).encode(), url=URL))
    assert first.authors == (
        A("Ann", uri="https://ann.example/"),
        A("Bob", "bob@heise.online"),
        A("Pressestelle", "presse@stadt.example"),
        A("eve@example.org", "eve@example.org"),
    )
    assert second.authors == (A("Solo"),)


def test_markdown_front_matter_authors(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.md").write_text(
        "---\ntitle: T\ndate: 2025-05-10T11:33\ncategory: Lokal\n"
        'author: "Ann Lee <ann@stadt.example>"\n'
        "authors: [presse@stadt.example (Pressestelle), Bob]\n---\nText.\n",
        encoding="utf-8",
    )
    source = Source(name="Lokal", kind=SourceKind.LOCAL, interval=timedelta(minutes=5), path=folder)
    read = read_local_source(source)
    assert read.errors == ()
    (entry,) = read.feed.entries
    assert clean_authors(entry.authors) == (
        A("Ann Lee", "ann@stadt.example"),
        A("Pressestelle", "presse@stadt.example"),
        A("Bob"),
    )


def test_only_well_formed_emails_are_kept() -> None:
    written = (A("A", "g@%.m"), A("B", "b@x"), A("C", "c@{x}.org"), A("D", "mailto:d@jörg.example"))
    assert clean_authors(written) == (A("A"), A("B"), A("C"), A("D", "d@jörg.example"))


def test_a_huge_author_text_is_a_name_and_quick() -> None:
    raw = "a@" + "b." * 20_000 + "example (" + "x" * 50_000
    (author,) = authors_from_text(raw)
    assert author.email is None and len(raw) > MAX_ADDRESS_TEXT
    assert authors_from_text("(" * 10_000 + "@") == (A("(" * 10_000 + "@"),)


def test_authors_are_bounded_and_entities_are_not_expanded() -> None:
    creators = "".join(f"<dc:creator>p{n}@stadt.example (P{n})</dc:creator>" for n in range(5000))
    feed = parse_feed(rss(creators, namespaces=DC), url=URL)
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    (article,) = result.articles
    assert article.authors == tuple(A(f"P{n}", f"p{n}@stadt.example") for n in range(MAX_AUTHORS))
    assert result.errors == (f"authors beyond {MAX_AUTHORS} dropped: 'g0' (5,000)",)
    # Our own read of the XML never expands entities (feedparser does, and its author
    # pattern then takes minutes: it runs in a worker under the parse deadline).
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<rss version="2.0"><channel><title>T</title><item><guid>1</guid><title>t</title>'
        "<author>&c; x@y.example (&c;)</author></item></channel></rss>"
    )
    document = read_entries(laughs.encode(), None)
    assert document is not None
    (entry,) = document.entries
    assert all("aaaa" not in a.name for a in entry.authors)


def test_rules_match_author_names_and_emails() -> None:
    article = Article(
        id=article_id("S", "1"), source="S", entry_id="1", title="T", link=None, summary="",
        content="<p>x</p>", authors=(A("Pressestelle", "presse@stadt.example"), A("Ann")),
        published=NOW, updated=NOW, categories=("C",), language=None,
    )  # fmt: skip
    assert matches(Rule(RuleAction.DROP, author=re.compile("^Pressestelle")), article)
    assert matches(Rule(RuleAction.DROP, author=re.compile(r"@stadt\.example")), article)
    assert matches(Rule(RuleAction.DROP, author=re.compile("(?m)^Ann$")), article)
    assert not matches(Rule(RuleAction.DROP, author=re.compile("ple \\(")), article)


def test_store_keeps_authors_as_objects_and_reads_old_plain_names(store: ArticleStore) -> None:
    authors = (A("Pressestelle", "presse@stadt.example"), A("Ann", uri="https://ann.example/"))
    article = Article(
        id=article_id("S", "1"), source="S", entry_id="1", title="T", link=None, summary="",
        content="<p>x</p>", authors=authors, published=NOW, updated=NOW, categories=("C",),
        language=None,
    )  # fmt: skip
    store.upsert_articles("S", [article], NOW)
    with store.engine.connect() as conn:
        stored = conn.execute(articles.select()).one()._mapping["authors"]
    assert json.loads(stored) == [
        {"name": "Pressestelle", "email": "presse@stadt.example"},
        {"name": "Ann", "uri": "https://ann.example/"},
    ]
    (back,) = store.recent_articles(None, 10)
    assert back.authors == authors
    # A row written before authors were objects: plain names.
    with store.engine.begin() as conn:
        conn.execute(update(articles).values(authors='["Jörg", "Anna"]'))
    (old,) = store.recent_articles(None, 10)
    assert old.authors == (A("Jörg"), A("Anna"))


PRESSE_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Stadt</title><link>https://stadt.example/</link>
<item><guid>p1</guid><title>Mitteilung</title><link>https://stadt.example/p1</link>
<description>Text</description><pubDate>Sat, 10 May 2025 11:33:00 +0200</pubDate>
<author>presse@stadt.example (Pressestelle)</author></item>
<item><guid>p2</guid><title>Ohne Mail</title><link>https://stadt.example/p2</link>
<description>Text</description><pubDate>Sat, 10 May 2025 10:33:00 +0200</pubDate>
<author>(Stadtrat)</author></item>
</channel></rss>"""


def test_served_rss_author_is_published_with_name_and_email(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/stadt", PRESSE_RSS.encode(), content_type="application/rss+xml")
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\ntitle = "Site"\n'
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "Stadt"\nurl = "{url}"\ncategory = "Stadt"\n',
        encoding="utf-8",
    )
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out" / "stadt"
    assert_valid_atom((out / "atom.xml").read_bytes())
    assert_valid_rss((out / "rss.xml").read_bytes())
    assert_valid_jsonfeed((out / "feed.json").read_bytes())

    atom = etree.fromstring((out / "atom.xml").read_bytes())
    first, second = atom.findall(f"{ATOM}entry")
    (person,) = first.findall(f"{ATOM}author")
    assert person.findtext(f"{ATOM}name") == "Pressestelle"
    assert person.findtext(f"{ATOM}email") == "presse@stadt.example"
    assert [a.findtext(f"{ATOM}name") for a in second.findall(f"{ATOM}author")] == ["Stadtrat"]
    assert second.find(f"{ATOM}author/{ATOM}email") is None
    parsed = feedparser.parse(io.BytesIO((out / "atom.xml").read_bytes()))
    assert parsed.entries[0].author_detail == {
        "name": "Pressestelle",
        "email": "presse@stadt.example",
    }

    channel = etree.fromstring((out / "rss.xml").read_bytes()).find("channel")
    assert channel is not None
    first_item, second_item = channel.findall("item")
    assert first_item.findtext("author") == "presse@stadt.example (Pressestelle)"
    dc = "{http://purl.org/dc/elements/1.1/}"
    assert first_item.find(f"{dc}creator") is None
    assert second_item.find("author") is None
    assert second_item.findtext(f"{dc}creator") == "Stadtrat"

    document = json.loads((out / "feed.json").read_bytes())
    assert document["items"][0]["authors"] == [
        {"name": "Pressestelle", "url": "mailto:presse@stadt.example"}
    ]
    assert document["items"][1]["authors"] == [{"name": "Stadtrat"}]


def test_article_pages_show_author_names_escaped(tmp_path: Path) -> None:
    article = Article(
        id=article_id("S", "1"), source="S", entry_id="1", title="T", link=None, summary="",
        content="<p>x</p>", authors=(A("Ann <Lee>", "ann@stadt.example"), A("Bob")),
        published=NOW, updated=NOW, categories=("C",), language=None,
    )  # fmt: skip
    site = Site(layout=OutputLayout(tmp_path, "https://news.example.org/"), title="Site")
    page = render_article_page(article, site).decode()
    assert "· Ann &lt;Lee&gt;, Bob</p>" in page
    assert "ann@stadt.example" not in page
