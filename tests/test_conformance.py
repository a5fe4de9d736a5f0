"""Tests of the feed validator in tests/support/conformance.py.

Each rule family gets a hand-written document that breaks exactly that rule, and the
minimal/rich documents prove the validator raises no false alarms.
"""

import datetime as dt
import json
from typing import Any

import pytest
from feedgen.feed import FeedGenerator
from support.conformance import (
    assert_valid_atom,
    assert_valid_jsonfeed,
    assert_valid_rss,
    atom_violations,
    jsonfeed_violations,
    rss_violations,
)


def mutate(document: str, old: str, new: str) -> bytes:
    """``document`` with the first ``old`` replaced by ``new``, as UTF-8 bytes."""
    assert old in document, f"test bug: {old!r} not in the document"
    return document.replace(old, new, 1).encode()


def flagged(violations: list[str], fragment: str) -> bool:
    return any(fragment in violation for violation in violations)


# =========================================================================== Atom

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://example.org/feeds/all</id>
  <title>Example Feed</title>
  <updated>2025-05-10T11:33:00Z</updated>
  <author><name>Ann Author</name></author>
  <link rel="self" href="https://example.org/feeds/all.atom"/>
  <link rel="alternate" type="text/html" href="https://example.org/"/>
  <entry>
    <id>https://example.org/posts/1</id>
    <title>First post</title>
    <updated>2025-05-10T11:33:00Z</updated>
    <link rel="alternate" type="text/html" href="https://example.org/posts/1"/>
    <summary>Hello</summary>
  </entry>
</feed>
"""

ENTRY_1 = """  <entry>
    <id>https://example.org/posts/1</id>"""

RICH_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<?xml-stylesheet type="text/xsl" href="feed.xsl"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
      xml:lang="en-GB" xml:base="https://example.org/">
  <!-- a comment -->
  <id>tag:example.org,2025:feeds/all</id>
  <title type="html">Example &amp;lt;b&amp;gt;Feed&amp;lt;/b&amp;gt;</title>
  <subtitle type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">All <b>posts</b></div></subtitle>
  <updated>2025-05-10T11:33:00.123456+02:00</updated>
  <link rel="self" type="application/atom+xml" href="https://example.org/feeds/all.atom"/>
  <link rel="alternate" type="text/html" href="/"/>
  <link rel="alternate" type="text/html" hreflang="de" href="/de/"/>
  <link rel="http://www.iana.org/assignments/relation/hub" href="https://hub.example.org/"/>
  <category term="tech" scheme="https://example.org/categories" label="Technology"/>
  <generator uri="https://example.org/feeds" version="0.1.0">feeds</generator>
  <icon>/favicon.ico</icon>
  <logo>https://example.org/logo.png</logo>
  <rights>CC BY 4.0</rights>
  <contributor><name>Carl</name><uri>https://carl.example</uri></contributor>
  <author><name>Editorial team</name><uri>/about</uri></author>
  <media:rating>nonadult</media:rating>
  <entry>
    <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
    <title>Podcast episode</title>
    <updated>2024-02-29T23:59:60Z</updated>
    <published>2024-02-29T00:00:00-05:30</published>
    <author><name>Ann</name><email>ann@example.org</email></author>
    <link href="https://example.org/posts/1"/>
    <link rel="enclosure" type="audio/mpeg" length="12345" href="/1.mp3"/>
    <link rel="replies" type="text/html" href="https://example.org/posts/1#comments"/>
    <content type="xhtml" xml:lang="">
      <div xmlns="http://www.w3.org/1999/xhtml"><p>Hi <a href="/x">there</a></p></div>
    </content>
    <media:thumbnail url="https://example.org/1.jpg"/>
  </entry>
  <entry>
    <id>https://example.org/posts/2</id>
    <title>Copied entry</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <content type="text/plain">plain text content, no summary needed</content>
    <source>
      <id>https://other.example/feed</id>
      <title>Other feed</title>
      <author><name>Otto</name></author>
    </source>
  </entry>
  <entry>
    <id>https://example.org/posts/3</id>
    <title>Binary</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <summary>A PNG</summary>
    <content type="image/png">iVBORw0KGgo=</content>
  </entry>
  <entry>
    <id>https://example.org/posts/4</id>
    <title>XML payload</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <content type="application/xhtml+xml"><x xmlns="urn:x"><y/></x></content>
    <category term="misc"/>
  </entry>
  <entry>
    <id>https://example.org/posts/5</id>
    <title>Elsewhere</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <summary type="html">&lt;p&gt;See there&lt;/p&gt;</summary>
    <content src="https://example.org/posts/5.pdf" type="application/pdf"/>
  </entry>
</feed>
"""


NEEDS_ONE_DIV = (
    "entry[1]/title: type='xhtml' requires exactly one xhtml:div child (and no other content)"
)


def test_minimal_atom_is_valid() -> None:
    assert atom_violations(ATOM.encode()) == []
    assert_valid_atom(ATOM.encode())


def test_rich_atom_is_valid() -> None:
    assert atom_violations(RICH_ATOM.encode()) == []
    assert_valid_atom(RICH_ATOM.encode())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<id>https://example.org/feeds/all</id>", "", "feed: missing atom:id"),
        ("<title>Example Feed</title>", "", "feed: missing atom:title"),
        ("<updated>2025-05-10T11:33:00Z</updated>", "", "feed: missing atom:updated"),
        (
            "<title>Example Feed</title>",
            "<title>Example Feed</title><title>Again</title>",
            "feed: more than one atom:title (2)",
        ),
        (
            "<id>https://example.org/feeds/all</id>",
            "<id>https://example.org/feeds/all</id><id>https://example.org/x</id>",
            "feed: more than one atom:id (2)",
        ),
        (
            "<author>",
            "<subtitle>a</subtitle><subtitle>b</subtitle><author>",
            "feed: more than one atom:subtitle (2)",
        ),
        (
            "<author>",
            "<rights>a</rights><rights>b</rights><author>",
            "feed: more than one atom:rights (2)",
        ),
        (
            "<author>",
            "<generator>a</generator><generator>b</generator><author>",
            "feed: more than one atom:generator (2)",
        ),
        (
            "<author>",
            "<icon>/a.ico</icon><icon>/b.ico</icon><author>",
            "feed: more than one atom:icon (2)",
        ),
        (
            "<author>",
            "<logo>/a.png</logo><logo>/b.png</logo><author>",
            "feed: more than one atom:logo (2)",
        ),
    ],
)
def test_atom_feed_cardinality(old: str, new: str, expected: str) -> None:
    assert atom_violations(mutate(ATOM, old, new)) == [expected]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<title>First post</title>", "", "entry[1]: missing atom:title"),
        ("<id>https://example.org/posts/1</id>", "", "entry[1]: missing atom:id"),
        (
            "<updated>2025-05-10T11:33:00Z</updated>\n    <link",
            "<link",
            "entry[1]: missing atom:updated",
        ),
        (
            "<summary>Hello</summary>",
            "<summary>a</summary><summary>b</summary>",
            "entry[1]: more than one atom:summary (2)",
        ),
        (
            "<summary>Hello</summary>",
            "<summary>a</summary><content>b</content><content>c</content>",
            "entry[1]: more than one atom:content (2)",
        ),
        (
            "<summary>Hello</summary>",
            "<published>2025-01-01T00:00:00Z</published><published>2025-01-01T00:00:00Z</published>",
            "entry[1]: more than one atom:published (2)",
        ),
        (
            "<summary>Hello</summary>",
            "<rights>a</rights><rights>b</rights>",
            "entry[1]: more than one atom:rights (2)",
        ),
        (
            "<summary>Hello</summary>",
            "<source/><source/>",
            "entry[1]: more than one atom:source (2)",
        ),
        (
            "<title>First post</title>",
            "<title>a</title><title>b</title>",
            "entry[1]: more than one atom:title (2)",
        ),
    ],
)
def test_atom_entry_cardinality(old: str, new: str, expected: str) -> None:
    assert atom_violations(mutate(ATOM, old, new)) == [expected]


def test_atom_entry_paths_count_entries_from_one() -> None:
    second = """  <entry>
    <id>https://example.org/posts/2</id>
    <title>Second</title>
    <link href="https://example.org/posts/2"/>
  </entry>
</feed>"""
    document = mutate(ATOM, "</feed>", second)
    assert atom_violations(document) == ["entry[2]: missing atom:updated"]


@pytest.mark.parametrize(
    "bad",
    [
        "2025-05-10 11:33",
        "2025-05-10T11:33",
        "2025-05-10T11:33Z",
        "2025-05-10T11:33:00",  # no offset
        "2025-05-10t11:33:00z",  # RFC 4287 section 3.3: uppercase T and Z
        "2025-05-10T11:33:00+0200",
        " 2025-05-10T11:33:00Z",
        "2025-05-10T11:33:00.Z",
        "Sat, 10 May 2025 11:33:00 GMT",
        "2025-02-29T00:00:00Z",  # not a leap year
        "2025-04-31T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-00-10T00:00:00Z",
        "2025-05-10T24:00:00Z",
        "2025-05-10T11:60:00Z",
        "2025-05-10T11:33:61Z",
        "2025-05-10T11:33:00+24:00",
        "",
    ],
)
def test_atom_bad_dates(bad: str) -> None:
    document = mutate(
        ATOM,
        "<updated>2025-05-10T11:33:00Z</updated>\n    <link",
        f"<updated>{bad}</updated>\n    <link",
    )
    violations = atom_violations(document)
    assert len(violations) == 1
    assert violations[0].startswith("entry[1]/updated: ")
    assert f"{bad!r}" in violations[0]


@pytest.mark.parametrize(
    "good",
    [
        "2025-05-10T11:33:00Z",
        "2025-05-10T11:33:00.5-07:00",
        "2000-02-29T23:59:60+00:00",
        "1999-12-31T23:59:59.999999999+14:00",
    ],
)
def test_atom_good_dates(good: str) -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", f"<published>{good}</published>")
    assert atom_violations(document) == []


def test_atom_date_must_not_contain_markup() -> None:
    document = mutate(
        ATOM,
        "<updated>2025-05-10T11:33:00Z</updated>",
        "<updated><b>2025-05-10T11:33:00Z</b></updated>",
    )
    assert atom_violations(document) == [
        "feed/updated: must not contain child elements (found 'b')"
    ]


@pytest.mark.parametrize(
    ("bad_id", "expected"),
    [
        ("posts/1", "entry[1]/id: 'posts/1' is not an absolute IRI (no scheme)"),
        ("/posts/1", "entry[1]/id: '/posts/1' is not an absolute IRI (no scheme)"),
        ("", "entry[1]/id: is empty, not an absolute IRI"),
        (
            "https://example.org/a b",
            "entry[1]/id: 'https://example.org/a b' contains a character not allowed in an IRI "
            "(' ')",
        ),
        (
            "https://example.org/%zz",
            "entry[1]/id: 'https://example.org/%zz' contains a '%' that "
            "does not start a percent-encoded octet",
        ),
    ],
)
def test_atom_ids_are_absolute_iris(bad_id: str, expected: str) -> None:
    document = mutate(ATOM, "<id>https://example.org/posts/1</id>", f"<id>{bad_id}</id>")
    assert atom_violations(document) == [expected]


def test_atom_feed_id_is_checked_too() -> None:
    document = mutate(ATOM, "<id>https://example.org/feeds/all</id>", "<id>all</id>")
    assert atom_violations(document) == ["feed/id: 'all' is not an absolute IRI (no scheme)"]


def test_atom_missing_self_link() -> None:
    document = mutate(ATOM, '<link rel="self" href="https://example.org/feeds/all.atom"/>', "")
    assert atom_violations(document) == ['feed: missing atom:link rel="self"']
    iana = mutate(ATOM, 'rel="self"', 'rel="http://www.iana.org/assignments/relation/self"')
    assert atom_violations(iana) == []
    not_self = mutate(ATOM, 'rel="self"', 'rel="related"')
    assert atom_violations(not_self) == ['feed: missing atom:link rel="self"']


def test_atom_missing_author_everywhere() -> None:
    document = mutate(ATOM, "<author><name>Ann Author</name></author>", "")
    assert atom_violations(document) == [
        "entry[1]: missing atom:author (and the feed has no atom:author)"
    ]


def test_atom_entry_authors_or_source_author_replace_feed_author() -> None:
    without_feed_author = ATOM.replace("<author><name>Ann Author</name></author>", "")
    with_entry_author = mutate(
        without_feed_author,
        "<summary>Hello</summary>",
        "<summary>Hello</summary><author><name>Bo</name></author>",
    )
    assert atom_violations(with_entry_author) == []
    with_source_author = mutate(
        without_feed_author,
        "<summary>Hello</summary>",
        "<summary>Hello</summary><source><author><name>Bo</name></author></source>",
    )
    assert atom_violations(with_source_author) == []


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("<author><email>a@example.org</email></author>", "feed/author[1]: missing atom:name"),
        (
            "<author><name>A</name><name>B</name></author>",
            "feed/author[1]: more than one atom:name (2)",
        ),
        (
            "<author><name>A</name><uri>https://a</uri><uri>https://b</uri></author>",
            "feed/author[1]: more than one atom:uri (2)",
        ),
        (
            "<author><name>A</name><email>not-an-address</email></author>",
            "feed/author[1]/email: 'not-an-address' is not an e-mail address",
        ),
        ("<author><name> </name></author>", "feed/author[1]/name: is empty"),
        (
            "<author><name>A <b>B</b></name></author>",
            "feed/author[1]/name: must not contain child elements (found 'b')",
        ),
        (
            "<author><name>A</name><homepage>x</homepage></author>",
            "feed/author[1]/homepage: unknown or misplaced Atom element atom:homepage",
        ),
    ],
)
def test_atom_person_constructs(person: str, expected: str) -> None:
    document = mutate(ATOM, "<author><name>Ann Author</name></author>", person)
    assert expected in atom_violations(document)


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (
            '<title type="markdown">x</title>',
            "entry[1]/title: type='markdown' is not one of 'text', 'html', 'xhtml'",
        ),
        (
            '<title type="text/html">x</title>',
            "entry[1]/title: type='text/html' is not one of 'text', 'html', 'xhtml'",
        ),
        (
            "<title>a <b>b</b></title>",
            "entry[1]/title: must not contain child elements when type='text' (found 'b')",
        ),
        (
            '<title type="html"><p>raw html</p></title>',
            "entry[1]/title: must not contain child elements when type='html' (found 'p')",
        ),
        (
            '<title type="xhtml">no div</title>',
            NEEDS_ONE_DIV,
        ),
        (
            '<title type="xhtml"><div>atom-namespace div</div></title>',
            NEEDS_ONE_DIV,
        ),
        (
            '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">a</div>'
            '<div xmlns="http://www.w3.org/1999/xhtml">b</div></title>',
            NEEDS_ONE_DIV,
        ),
        (
            '<title type="xhtml">stray<div xmlns="http://www.w3.org/1999/xhtml">a</div></title>',
            NEEDS_ONE_DIV,
        ),
    ],
)
def test_atom_text_constructs(element: str, expected: str) -> None:
    document = mutate(ATOM, "<title>First post</title>", element)
    assert atom_violations(document) == [expected]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("<author>", '<subtitle type="plain">x</subtitle><author>', "feed/subtitle"),
        ("<author>", '<rights type="plain">x</rights><author>', "feed/rights"),
        ("<summary>Hello</summary>", '<summary type="plain">x</summary>', "entry[1]/summary"),
        (
            "<summary>Hello</summary>",
            '<summary>x</summary><rights type="plain">x</rights>',
            "entry[1]/rights",
        ),
    ],
)
def test_atom_every_text_construct_checks_its_type(old: str, new: str, path: str) -> None:
    assert atom_violations(mutate(ATOM, old, new)) == [
        f"{path}: type='plain' is not one of 'text', 'html', 'xhtml'"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '<content type="bogus">x</content>',
            "entry[1]/content: type 'bogus' is not a MIME media type (type/subtype) "
            "(and not 'text', 'html' or 'xhtml')",
        ),
        (
            '<content type="multipart/mixed">x</content>',
            "entry[1]/content: type='multipart/mixed' is a composite media type",
        ),
        (
            '<content type="html"><p>unescaped</p></content>',
            "entry[1]/content: must not contain child elements when type='html' (found 'p')",
        ),
        (
            '<content type="text/plain"><p>x</p></content>',
            "entry[1]/content: must not contain child elements when type='text/plain' (found 'p')",
        ),
        (
            '<content type="xhtml"><p xmlns="http://www.w3.org/1999/xhtml">x</p></content>',
            "entry[1]/content: type='xhtml' requires exactly one xhtml:div child "
            "(and no other content)",
        ),
        (
            '<content type="html" src="https://example.org/x"/>',
            "entry[1]/content: has src, so type must be a MIME media type, not 'html'",
        ),
        (
            '<content type="text/html" src="https://example.org/x">body</content>',
            "entry[1]/content: has src, so it must be empty",
        ),
        (
            '<content type="image/png">not base64!</content>',
            "entry[1]/content: type='image/png' requires Base64 content",
        ),
    ],
)
def test_atom_content(content: str, expected: str) -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", f"<summary>Hello</summary>{content}")
    assert atom_violations(document) == [expected]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '<content type="text/html" src="https://example.org/x"/>',
            "entry[1]: atom:content has src, so an atom:summary is required",
        ),
        (
            '<content type="application/octet-stream">AAAA</content>',
            "entry[1]: atom:content type='application/octet-stream' is Base64-encoded, "
            "so an atom:summary is required",
        ),
    ],
)
def test_atom_content_that_needs_a_summary(content: str, expected: str) -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", content)
    assert atom_violations(document) == [expected]


@pytest.mark.parametrize(
    "content",
    [
        "<content>plain</content>",
        '<content type="html">&lt;p&gt;x&lt;/p&gt;</content>',
        '<content type="text/markdown">*x*</content>',
        '<content type="image/svg+xml"><svg xmlns="http://www.w3.org/2000/svg"/></content>',
    ],
)
def test_atom_inline_content_needs_no_summary(content: str) -> None:
    assert atom_violations(mutate(ATOM, "<summary>Hello</summary>", content)) == []


def test_atom_contentless_entry_needs_an_alternate_link() -> None:
    document = mutate(
        ATOM, '<link rel="alternate" type="text/html" href="https://example.org/posts/1"/>', ""
    )
    assert atom_violations(document) == [
        'entry[1]: has no atom:content, so it needs an atom:link rel="alternate"'
    ]
    # A non-alternate link does not help ...
    related = mutate(
        ATOM,
        '<link rel="alternate" type="text/html" href="https://example.org/posts/1"/>',
        '<link rel="related" href="https://example.org/posts/1"/>',
    )
    assert atom_violations(related) == [
        'entry[1]: has no atom:content, so it needs an atom:link rel="alternate"'
    ]
    # ... but content does.
    with_content = mutate(
        ATOM,
        '<link rel="alternate" type="text/html" href="https://example.org/posts/1"/>',
        "<content>body</content>",
    )
    assert atom_violations(with_content) == []


@pytest.mark.parametrize(
    ("links", "ok"),
    [
        ('<link href="https://a.example/"/><link href="https://b.example/"/>', False),
        (
            '<link href="https://a.example/"/><link rel="alternate" href="https://b.example/"/>',
            False,
        ),
        (
            '<link rel="alternate" type="text/html" href="/a"/>'
            '<link rel="alternate" type="TEXT/HTML" href="/b"/>',
            False,
        ),
        (
            '<link rel="alternate" href="/a"/>'
            '<link rel="http://www.iana.org/assignments/relation/alternate" href="/b"/>',
            False,
        ),
        (
            '<link rel="alternate" type="text/html" href="/a"/>'
            '<link rel="alternate" type="application/pdf" href="/b"/>',
            True,
        ),
        (
            '<link rel="alternate" type="text/html" hreflang="en" href="/a"/>'
            '<link rel="alternate" type="text/html" hreflang="de" href="/b"/>',
            True,
        ),
        (
            '<link href="https://a.example/"/><link rel="enclosure" href="https://b.example/"/>',
            True,
        ),
    ],
)
def test_atom_one_alternate_link_per_type_and_hreflang(links: str, ok: bool) -> None:
    entry = mutate(
        ATOM, '<link rel="alternate" type="text/html" href="https://example.org/posts/1"/>', links
    )
    expected = (
        [] if ok else ["entry[1]: more than one rel=alternate link with the same type and hreflang"]
    )
    assert atom_violations(entry) == expected
    feed = mutate(
        ATOM, '<link rel="alternate" type="text/html" href="https://example.org/"/>', links
    )
    expected = (
        [] if ok else ["feed: more than one rel=alternate link with the same type and hreflang"]
    )
    assert atom_violations(feed) == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('<link rel="related"/>', "entry[1]/link[2]: missing href attribute"),
        (
            '<link rel="enclosure" href="/a.mp3" length="-1"/>',
            "entry[1]/link[2]: length '-1' is not a non-negative integer",
        ),
        (
            '<link rel="enclosure" href="/a.mp3" length="12kB"/>',
            "entry[1]/link[2]: length '12kB' is not a non-negative integer",
        ),
        (
            '<link rel="enclosure" href="/a.mp3" type="audio"/>',
            "entry[1]/link[2]: type 'audio' is not a MIME media type (type/subtype)",
        ),
        (
            '<link rel="related" href="/a" hreflang="en_GB"/>',
            "entry[1]/link[2]: hreflang 'en_GB' is not a BCP 47 language tag",
        ),
        (
            '<link rel="two words" href="/a"/>',
            "entry[1]/link[2]: rel 'two words' is neither a registered name nor an absolute IRI",
        ),
        (
            '<link rel="related" href="/a b"/>',
            "entry[1]/link[2]: href '/a b' contains a character not allowed in an IRI (' ')",
        ),
        ("<category/>", "entry[1]/category[1]: missing term attribute"),
        ('<category term=""/>', "entry[1]/category[1]: empty term attribute"),
        (
            '<category term="x" scheme="a b"/>',
            "entry[1]/category[1]: scheme 'a b' contains a character not allowed in an IRI (' ')",
        ),
    ],
)
def test_atom_links_and_categories(extra: str, expected: str) -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", f"<summary>Hello</summary>{extra}")
    assert atom_violations(document) == [expected]


@pytest.mark.parametrize(
    ("where", "element", "expected"),
    [
        (
            "<summary>Hello</summary>",
            "<foo>x</foo>",
            "entry[1]/foo: unknown or misplaced Atom element atom:foo",
        ),
        (
            "<summary>Hello</summary>",
            "<name>x</name>",
            "entry[1]/name: unknown or misplaced Atom element atom:name",
        ),
        (
            "<summary>Hello</summary>",
            "<subtitle>x</subtitle>",
            "entry[1]/subtitle: unknown or misplaced Atom element atom:subtitle",
        ),
        (
            "<summary>Hello</summary>",
            "<entry/>",
            "entry[1]/entry[1]: unknown or misplaced Atom element atom:entry",
        ),
        (
            "<author>",
            "<content>x</content><author>",
            "feed/content: unknown or misplaced Atom element atom:content",
        ),
        (
            "<author>",
            "<summary>x</summary><author>",
            "feed/summary: unknown or misplaced Atom element atom:summary",
        ),
        (
            '<link rel="self" href="https://example.org/feeds/all.atom"/>',
            '<link rel="self" href="https://example.org/feeds/all.atom"><title>x</title></link>',
            "feed/link[1]/title: unknown or misplaced Atom element atom:title",
        ),
        (
            "<title>First post</title>",
            '<title lang="en">First post</title>',
            "entry[1]/title: unknown attribute 'lang' on atom:title",
        ),
        (
            "<id>https://example.org/posts/1</id>",
            '<id type="iri">https://example.org/posts/1</id>',
            "entry[1]/id: unknown attribute 'type' on atom:id",
        ),
    ],
)
def test_atom_unknown_atom_elements_and_attributes(where: str, element: str, expected: str) -> None:
    assert atom_violations(mutate(ATOM, where, element)) == [expected]


def test_atom_extension_elements_and_attributes_are_allowed() -> None:
    document = mutate(
        ATOM,
        "<summary>Hello</summary>",
        '<summary xmlns:x="urn:x" x:flag="1">Hello</summary>'
        '<x:foo xmlns:x="urn:x"><x:bar/></x:foo><unqualified xmlns=""/>',
    )
    assert atom_violations(document) == []


@pytest.mark.parametrize(
    ("lang", "ok"),
    [
        ("en", True),
        ("en-GB", True),
        ("zh-Hant-TW", True),
        ("x-klingon", True),
        ("", True),
        ("en_GB", False),
        ("english language", False),
        ("e", False),
        ("en-", False),
        ("toolongtag", False),
    ],
)
def test_atom_xml_lang(lang: str, ok: bool) -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", f'<summary xml:lang="{lang}">Hi</summary>')
    expected = [] if ok else [f"entry[1]/summary: xml:lang {lang!r} is not a BCP 47 language tag"]
    assert atom_violations(document) == expected


@pytest.mark.parametrize(
    ("title", "fragment"),
    [
        ("bell\x07", "line 4, column 14: XML-illegal character U+0007"),
        ("nul\x00", "line 4, column 13: XML-illegal character U+0000"),
        ("vt\x0b", "line 4, column 12: XML-illegal character U+000B"),
        ("\ufffe", "line 4, column 10: XML-illegal character U+FFFE"),
        (
            "ref&#x1;",
            "line 4, column 13: character reference &#x1; refers to an XML-illegal character",
        ),
        (
            "ref&#27;",
            "line 4, column 13: character reference &#27; refers to an XML-illegal character",
        ),
    ],
)
def test_atom_control_characters(title: str, fragment: str) -> None:
    violations = atom_violations(mutate(ATOM, "Example Feed", title))
    assert violations[0] == fragment
    # libxml2 refuses the document too.
    assert flagged(violations, "document: not well-formed XML")


def test_control_characters_inside_cdata_references_are_literal_text() -> None:
    document = mutate(ATOM, "<summary>Hello</summary>", "<summary><![CDATA[&#1;]]></summary>")
    assert atom_violations(document) == []


def test_atom_c1_and_astral_characters_are_legal() -> None:
    document = mutate(ATOM, "Example Feed", "Caf\u00e9 \u0085 \U0001f600 &#x1F600; &#xE000;")
    assert atom_violations(document) == []


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"", "document: not well-formed XML"),
        (b"not xml at all", "document: not well-formed XML"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><id>x</id>", "document: not well-formed XML"),
        (
            b"<feed><id>urn:x</id></feed>",
            "document: root element is 'feed', not {http://www.w3.org/2005/Atom}feed",
        ),
        (b"<rss version='2.0'/>", "document: root element is 'rss'"),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'>&undefined;</feed>",
            "document: not well-formed XML",
        ),
        (
            "<?xml version='1.0' encoding='utf-8'?><feed>caf\u00e9</feed>".encode("latin-1"),
            "document: not valid utf-8",
        ),
    ],
)
def test_atom_not_well_formed_or_wrong_root(document: bytes, fragment: str) -> None:
    assert flagged(atom_violations(document), fragment)


def test_atom_doctype_is_reported_and_entities_are_not_expanded() -> None:
    bomb = ATOM.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE feed [\n'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        "]>",
    ).replace("Example Feed", "&d;")
    assert atom_violations(bomb.encode()) == [
        "document: has a DOCTYPE declaration (not allowed in a published feed)"
    ]
    external = ATOM.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/never-fetched.dtd">',
    )
    assert atom_violations(external.encode()) == [
        "document: has a DOCTYPE declaration (not allowed in a published feed)"
    ]


def test_atom_utf16_documents_are_decoded_for_the_character_scan() -> None:
    document = ATOM.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert atom_violations(document) == []


def test_assert_valid_atom_lists_every_violation() -> None:
    document = mutate(ATOM, "<id>https://example.org/feeds/all</id>", "")
    with pytest.raises(AssertionError) as raised:
        assert_valid_atom(document)
    assert "feed: missing atom:id" in str(raised.value)


def test_assert_valid_atom_requires_feedparser_to_agree() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_valid_atom(RSS.encode())
    message = str(raised.value)
    assert "root element is 'rss'" in message
    assert "feedparser: version 'rss20', expected 'atom10'" in message


# --------------------------------------------------------------------------- feedgen


def _feedgen(*, with_enclosure: bool) -> FeedGenerator:
    when = dt.datetime(2025, 5, 10, 11, 33, tzinfo=dt.UTC)
    fg = FeedGenerator()
    fg.id("https://example.org/feeds/tech")
    fg.title("Tech")
    fg.description("Everything about tech")
    fg.author({"name": "Ann Author", "email": "ann@example.org"})
    fg.link(href="https://example.org/feeds/tech.atom", rel="self")
    fg.link(href="https://example.org/tech", rel="alternate")
    fg.language("en")
    fg.updated(when)
    fe = fg.add_entry()
    fe.id("https://example.org/posts/1")
    fe.title("First post")
    fe.link(href="https://example.org/posts/1", rel="alternate")
    fe.updated(when)
    fe.published(when - dt.timedelta(hours=1))
    fe.content("<p>Hello &amp; welcome</p>", type="html")
    if with_enclosure:
        fe.link(
            href="https://example.org/posts/1.mp3",
            rel="enclosure",
            type="audio/mpeg",
            length="1234",
        )
        fe.enclosure("https://example.org/posts/1.mp3", "1234", "audio/mpeg")
    return fg


def test_feedgen_atom_output_passes() -> None:
    document: bytes = _feedgen(with_enclosure=False).atom_str(pretty=True)
    assert atom_violations(document) == []
    assert_valid_atom(document)


def test_feedgen_rss_output_passes() -> None:
    fg = _feedgen(with_enclosure=True)
    document: bytes = fg.rss_str(pretty=True)
    assert rss_violations(document) == []
    assert_valid_rss(document)


def test_feedgen_entry_link_bug_is_caught() -> None:
    """feedgen 1.0.0 drops rel/type/length from entry links, so an enclosure link
    becomes a second alternate link. Our publisher must post-process that away."""
    document: bytes = _feedgen(with_enclosure=True).atom_str(pretty=True)
    assert b'rel="enclosure"' not in document  # the bug this test documents
    assert atom_violations(document) == [
        "entry[1]: more than one rel=alternate link with the same type and hreflang"
    ]
    with pytest.raises(AssertionError, match="more than one rel=alternate link"):
        assert_valid_atom(document)


# =========================================================================== RSS 2.0

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Example</title>
    <link>https://example.org/</link>
    <description>All posts</description>
    <atom:link href="https://example.org/feeds/all.rss" rel="self" type="application/rss+xml"/>
    <language>en-gb</language>
    <lastBuildDate>Sat, 10 May 2025 11:33:00 +0000</lastBuildDate>
    <ttl>60</ttl>
    <item>
      <title>First post</title>
      <link>https://example.org/posts/1</link>
      <description>&lt;p&gt;Hello&lt;/p&gt;</description>
      <content:encoded><![CDATA[<p>Hello</p>]]></content:encoded>
      <author>ann@example.org (Ann Author)</author>
      <category>tech</category>
      <guid>https://example.org/posts/1</guid>
      <pubDate>Sat, 10 May 2025 11:33:00 GMT</pubDate>
      <enclosure url="https://example.org/a.mp3" length="1234" type="audio/mpeg"/>
    </item>
    <item>
      <description>Untitled note</description>
      <guid isPermaLink="false">note-2</guid>
      <pubDate>10 May 25 11:33 EST</pubDate>
    </item>
  </channel>
</rss>
"""


def test_minimal_rss_is_valid() -> None:
    assert rss_violations(RSS.encode()) == []
    assert_valid_rss(RSS.encode())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('version="2.0"', 'version="0.91"', "rss: version='0.91', expected '2.0'"),
        ('version="2.0"', "", "rss: version=None, expected '2.0'"),
        ("<channel>", "<channel/><channel>", "rss: must contain exactly one <channel> (found 2)"),
        ("<title>Example</title>", "", "channel: missing <title>"),
        ("<link>https://example.org/</link>", "", "channel: missing <link>"),
        ("<description>All posts</description>", "", "channel: missing <description>"),
        (
            "<title>Example</title>",
            "<title>A</title><title>B</title>",
            "channel: more than one <title> (2)",
        ),
        (
            "<ttl>60</ttl>",
            "<ttl>an hour</ttl>",
            "channel/ttl: 'an hour' is not a non-negative integer",
        ),
        (
            "<language>en-gb</language>",
            "<language>en_GB</language>",
            "channel/language: 'en_GB' is not a BCP 47 language tag",
        ),
        (
            "<link>https://example.org/</link>",
            "<link>/</link>",
            "channel/link: '/' is not an absolute IRI (no scheme)",
        ),
        (
            "<ttl>60</ttl>",
            "<image><url>https://example.org/i.png</url></image>",
            "channel/image: missing <title>",
        ),
    ],
)
def test_rss_channel(old: str, new: str, expected: str) -> None:
    assert expected in rss_violations(mutate(RSS, old, new))


def test_rss_wrong_root() -> None:
    assert rss_violations(ATOM.encode()) == [
        "document: root element is '{http://www.w3.org/2005/Atom}feed', not rss"
    ]


def test_rss_missing_self_link() -> None:
    document = mutate(
        RSS,
        '<atom:link href="https://example.org/feeds/all.rss" rel="self" '
        'type="application/rss+xml"/>',
        "",
    )
    assert rss_violations(document) == ['channel: missing atom:link rel="self"']


def test_rss_item_needs_title_or_description() -> None:
    document = mutate(RSS, "<description>Untitled note</description>", "")
    assert rss_violations(document) == ["item[2]: needs at least a <title> or a <description>"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "<guid>https://example.org/posts/1</guid>",
            "<guid>post-1</guid>",
            "item[1]/guid: is a permalink (isPermaLink true or absent) but 'post-1' is not an "
            "absolute IRI (no scheme)",
        ),
        (
            "<guid>https://example.org/posts/1</guid>",
            '<guid isPermaLink="true">urn:x:1</guid>',
            "item[1]/guid: is a permalink (isPermaLink true or absent) but 'urn:x:1' is not an "
            "absolute http(s) URL",
        ),
        (
            '<guid isPermaLink="false">note-2</guid>',
            '<guid isPermaLink="no">note-2</guid>',
            "item[2]/guid: isPermaLink='no' must be 'true' or 'false'",
        ),
        (
            '<guid isPermaLink="false">note-2</guid>',
            '<guid isPermaLink="false"> </guid>',
            "item[2]/guid: is empty",
        ),
    ],
)
def test_rss_guid(old: str, new: str, expected: str) -> None:
    assert rss_violations(mutate(RSS, old, new)) == [expected]


@pytest.mark.parametrize(
    "bad",
    [
        "2025-05-10T11:33:00Z",
        "Sat, 10 May 2025 11:33:00",  # no zone
        "Sat, 10 May 2025 11:33:00 -0000",  # "unknown" zone
        "Sat, 10 May 2025 11:33:00 CEST",
        "Sun, 10 May 2025 11:33:00 GMT",  # wrong day of week
        "Sat, 31 Feb 2025 11:33:00 GMT",
        "Sat, 10 May 2025 25:33:00 GMT",
        "Saturday, 10 May 2025 11:33:00 GMT",
        "Sat, 10 May 2025",
        "",
    ],
)
def test_rss_bad_dates(bad: str) -> None:
    document = mutate(
        RSS, "<pubDate>Sat, 10 May 2025 11:33:00 GMT</pubDate>", f"<pubDate>{bad}</pubDate>"
    )
    violations = rss_violations(document)
    assert len(violations) == 1
    assert violations[0].startswith("item[1]/pubDate: ")
    last_build = mutate(RSS, "Sat, 10 May 2025 11:33:00 +0000", bad)
    assert [v.split(":", 1)[0] for v in rss_violations(last_build)] == ["channel/lastBuildDate"]


@pytest.mark.parametrize(
    ("enclosure", "expected"),
    [
        (
            '<enclosure length="1" type="audio/mpeg"/>',
            "item[1]/enclosure[1]: missing url attribute",
        ),
        (
            '<enclosure url="https://e.example/a" type="audio/mpeg"/>',
            "item[1]/enclosure[1]: missing length attribute",
        ),
        (
            '<enclosure url="https://e.example/a" length="1"/>',
            "item[1]/enclosure[1]: missing type attribute",
        ),
        (
            '<enclosure url="https://e.example/a" length="1.5 MB" type="audio/mpeg"/>',
            "item[1]/enclosure[1]: length '1.5 MB' is not a non-negative integer",
        ),
        (
            '<enclosure url="https://e.example/a" length="1" type="mp3"/>',
            "item[1]/enclosure[1]: type 'mp3' is not a MIME media type (type/subtype)",
        ),
        (
            '<enclosure url="/a.mp3" length="1" type="audio/mpeg"/>',
            "item[1]/enclosure[1]: url '/a.mp3' is not an absolute IRI (no scheme)",
        ),
    ],
)
def test_rss_enclosure(enclosure: str, expected: str) -> None:
    document = mutate(
        RSS,
        '<enclosure url="https://example.org/a.mp3" length="1234" type="audio/mpeg"/>',
        enclosure,
    )
    assert rss_violations(document) == [expected]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "<category>tech</category>",
            "<tags>tech</tags>",
            "item[1]/tags: unknown element <tags> (extensions need a namespace)",
        ),
        (
            "<ttl>60</ttl>",
            "<updated>2025</updated>",
            "channel/updated: unknown element <updated> (extensions need a namespace)",
        ),
        (
            "<title>First post</title>",
            "<title>A</title><title>B</title>",
            "item[1]: more than one <title> (2)",
        ),
        (
            "<description>&lt;p&gt;Hello&lt;/p&gt;</description>",
            "<description><p>Hello</p></description>",
            "item[1]/description: must not contain child elements (found 'p'; escape markup "
            "instead)",
        ),
        (
            "<link>https://example.org/posts/1</link>",
            "<link>posts/1</link>",
            "item[1]/link: 'posts/1' is not an absolute IRI (no scheme)",
        ),
        (
            "<author>ann@example.org (Ann Author)</author>",
            "<author>Ann Author</author>",
            "item[1]/author: 'Ann Author' is not an e-mail address",
        ),
    ],
)
def test_rss_items_and_unknown_elements(old: str, new: str, expected: str) -> None:
    assert rss_violations(mutate(RSS, old, new)) == [expected]


def test_rss_control_characters_and_syntax() -> None:
    violations = rss_violations(mutate(RSS, "All posts", "All\x1bposts"))
    assert violations[0] == "line 7, column 21: XML-illegal character U+001B"
    assert flagged(rss_violations(b"<rss version='2.0'><channel>"), "not well-formed XML")


def test_assert_valid_rss_raises() -> None:
    with pytest.raises(AssertionError, match="channel: missing <link>"):
        assert_valid_rss(mutate(RSS, "<link>https://example.org/</link>", ""))
    with pytest.raises(AssertionError, match="feedparser: version 'atom10', expected 'rss20'"):
        assert_valid_rss(ATOM.encode())


# =========================================================================== JSON Feed 1.1

JSONFEED: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example",
    "home_page_url": "https://example.org/",
    "feed_url": "https://example.org/feeds/all.json",
    "description": "All posts",
    "icon": "https://example.org/icon.png",
    "favicon": "https://example.org/favicon.ico",
    "language": "en-GB",
    "authors": [{"name": "Ann Author", "url": "mailto:ann@example.org"}],
    "expired": False,
    "hubs": [{"type": "WebSub", "url": "https://hub.example.org/"}],
    "_feeds": {"category": "all"},
    "items": [
        {
            "id": "https://example.org/posts/1",
            "url": "https://example.org/posts/1",
            "title": "First post",
            "content_html": "<p>Hello</p>",
            "summary": "Hello",
            "date_published": "2025-05-10T11:33:00Z",
            "date_modified": "2025-05-10T12:00:00.5+02:00",
            "tags": ["tech"],
            "authors": [{"avatar": "https://example.org/ann.png"}],
            "attachments": [
                {
                    "url": "https://example.org/a.mp3",
                    "mime_type": "audio/mpeg",
                    "size_in_bytes": 1234,
                    "duration_in_seconds": 61.5,
                }
            ],
        },
        {"id": "2", "content_text": "A note", "external_url": "https://other.example/"},
    ],
}


def jsonfeed(**changes: Any) -> dict[str, Any]:
    """A deep copy of JSONFEED; keys set to None are removed."""
    feed: dict[str, Any] = json.loads(json.dumps(JSONFEED))
    for key, value in changes.items():
        if value is None:
            feed.pop(key, None)
        else:
            feed[key] = value
    return feed


def item(**changes: Any) -> dict[str, Any]:
    """A copy of the first JSONFEED item; keys set to None are removed."""
    first: dict[str, Any] = json.loads(json.dumps(JSONFEED["items"][0]))
    for key, value in changes.items():
        if value is None:
            first.pop(key, None)
        else:
            first[key] = value
    return first


def encode(feed: Any) -> bytes:
    return json.dumps(feed).encode()


def test_minimal_jsonfeed_is_valid() -> None:
    assert jsonfeed_violations(encode(JSONFEED)) == []
    minimal = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}
    assert jsonfeed_violations(encode(minimal)) == []
    assert_valid_jsonfeed(encode(JSONFEED))


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"{not json", "document: not valid JSON"),
        (b"", "document: not valid JSON"),
        (b'{"version": NaN}', "document: not valid JSON"),
        (b"[]", "document: top level must be a JSON object, not list"),
        (b"\xff\xfe{}", "document: not valid UTF-8"),
        (
            b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
            b'"items": []}',
            "document: starts with a byte order mark",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "title": "u", '
            b'"items": []}',
            "document: duplicate object key 'title'",
        ),
    ],
)
def test_jsonfeed_not_json(document: bytes, fragment: str) -> None:
    assert flagged(jsonfeed_violations(document), fragment)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"version": "https://jsonfeed.org/version/1"},
            "feed: version must be 'https://jsonfeed.org/version/1.1', not "
            "'https://jsonfeed.org/version/1'",
        ),
        ({"version": None}, "feed: version must be 'https://jsonfeed.org/version/1.1', not None"),
        ({"title": None}, "feed: missing required 'title'"),
        ({"title": 7}, "title: must be a string, not int"),
        ({"items": None}, "feed: missing required 'items'"),
        ({"items": {}}, "items: must be an array, not dict"),
        ({"items": ["x"]}, "items[0]: must be an object, not str"),
        ({"home_page_url": "/"}, "home_page_url: '/' is not an absolute IRI (no scheme)"),
        (
            {"feed_url": "ftp://example.org/feed.json"},
            "feed_url: 'ftp://example.org/feed.json' is not an absolute http(s) URL",
        ),
        (
            {"next_url": "https://example.org/ page 2"},
            "next_url: 'https://example.org/ page 2' contains a character not allowed in an IRI "
            "(' ')",
        ),
        ({"language": "en_GB"}, "language: 'en_GB' is not a BCP 47 language tag"),
        ({"expired": "no"}, "expired: must be a boolean"),
        ({"authors": {"name": "Ann"}}, "authors: must be an array, not dict"),
        ({"authors": [{}]}, "authors[0]: author needs at least one of 'name', 'url', 'avatar'"),
        ({"authors": [{"name": 1}]}, "authors[0].name: must be a string, not int"),
        ({"author": "Ann"}, "author: must be an object"),
        ({"hubs": [{"type": "WebSub"}]}, "hubs[0]: missing required 'url'"),
        (
            {"homepage": "https://example.org/"},
            "feed: unknown key 'homepage' (extension keys must start with '_')",
        ),
    ],
)
def test_jsonfeed_top_level(changes: dict[str, Any], expected: str) -> None:
    assert jsonfeed_violations(encode(jsonfeed(**changes))) == [expected]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": None}, "items[0]: missing required 'id'"),
        ({"id": 1}, "items[0].id: must be a string, not int"),
        ({"id": ""}, "items[0].id: is empty"),
        ({"content_html": None}, "items[0]: needs at least one of 'content_html', 'content_text'"),
        ({"content_html": ["x"]}, "items[0].content_html: must be a string, not list"),
        (
            {"date_published": "2025-05-10 11:33"},
            "items[0].date_published: '2025-05-10 11:33' is not an RFC 3339 date-time "
            "(YYYY-MM-DDTHH:MM:SS[.frac] followed by Z or +HH:MM/-HH:MM)",
        ),
        (
            {"date_modified": "2025-02-30T00:00:00Z"},
            "items[0].date_modified: '2025-02-30T00:00:00Z' has day 30, which does not exist in "
            "2025-02",
        ),
        ({"url": "posts/1"}, "items[0].url: 'posts/1' is not an absolute IRI (no scheme)"),
        (
            {"external_url": "javascript:alert(1)"},
            "items[0].external_url: 'javascript:alert(1)' is not an absolute http(s) URL",
        ),
        ({"image": "/a.png"}, "items[0].image: '/a.png' is not an absolute IRI (no scheme)"),
        ({"tags": "tech"}, "items[0].tags: must be an array of strings"),
        (
            {"authors": [{"name": "Ann", "nick": "ann"}]},
            "items[0].authors[0]: unknown key 'nick' (extension keys must start with '_')",
        ),
        (
            {"attachments": [{"url": "https://example.org/a.mp3"}]},
            "items[0].attachments[0]: missing required 'mime_type'",
        ),
        (
            {"attachments": [{"mime_type": "audio/mpeg"}]},
            "items[0].attachments[0]: missing required 'url'",
        ),
        (
            {"attachments": [{"url": "https://e.example/a", "mime_type": "mp3"}]},
            "items[0].attachments[0].mime_type: 'mp3' is not a MIME media type (type/subtype)",
        ),
        (
            {
                "attachments": [
                    {"url": "https://e.example/a", "mime_type": "audio/mpeg", "size_in_bytes": "12"}
                ]
            },
            "items[0].attachments[0].size_in_bytes: must be a non-negative number, not '12'",
        ),
        ({"content": "x"}, "items[0]: unknown key 'content' (extension keys must start with '_')"),
    ],
)
def test_jsonfeed_items(changes: dict[str, Any], expected: str) -> None:
    feed = jsonfeed(items=[item(**changes)])
    assert jsonfeed_violations(encode(feed)) == [expected]


def test_jsonfeed_duplicate_item_ids() -> None:
    feed = jsonfeed(items=[item(), item()])
    assert jsonfeed_violations(encode(feed)) == [
        "items[1].id: duplicate id 'https://example.org/posts/1' (also items[0])"
    ]


def test_jsonfeed_extension_keys_and_lowercase_rfc3339_are_allowed() -> None:
    feed = jsonfeed(items=[item(_reading_time=3, date_published="2025-05-10t11:33:00z")])
    assert jsonfeed_violations(encode(feed)) == []


def test_assert_valid_jsonfeed_raises() -> None:
    with pytest.raises(AssertionError, match="missing required 'id'"):
        assert_valid_jsonfeed(encode(jsonfeed(items=[item(id=None)])))
