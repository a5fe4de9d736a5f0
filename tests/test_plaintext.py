"""Plain-text fields keep angle brackets that are not HTML, lose markup that is, and every
output escapes the result so that readers (feedparser, lxml, a browser) see the same text."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree, html
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.feedwriter import Entry, Feed, Raw, document, encode, json_feed
from support.namespaces import ATOM
from support.strategies import SETTINGS

from feeds.normalise.html import _parsed_text, holds_no_markup, html_to_text
from feeds.normalise.plaintext import plain_text

# (value, is it HTML, the text it must give)
CASES: list[tuple[str, bool, str]] = [
    ("scheduler & <io_uring>", True, "scheduler & <io_uring>"),
    ("Option<T>", True, "Option<T>"),
    ("Vec<Option<T>>", True, "Vec<Option<T>>"),
    ("a < b", True, "a < b"),
    ("1 < 2 > 0", True, "1 < 2 > 0"),
    ("a <b", True, "a <b"),
    ("x &lt;io_uring&gt;", True, "x <io_uring>"),
    ("AT&amp;T", True, "AT&T"),
    ("<b>x</b> y", True, "x y"),
    ("<B>x</B> y", True, "x y"),
    ('<a href="https://e.org/">link</a> text', True, "link text"),
    ("<script>alert(1)</script>Safe", True, "Safe"),
    ("<style>p{color:red}</style>Safe", True, "Safe"),
    ("&lt;b&gt;x&lt;/b&gt; y", True, "x y"),  # escaped once
    ("&lt;script&gt;alert(1)&lt;/script&gt;Safe", True, "Safe"),
    ("<p>one</p><p>two</p>", True, "one two"),
    ("a <!-- hidden --> b", True, "a b"),
    ("<br/>x", True, "x"),
    # Text fields: only markup of HTML elements goes.
    ("scheduler & <io_uring>", False, "scheduler & <io_uring>"),
    ("Use <T> & <b>bold</b>", False, "Use <T> & bold"),
    ("<b>x</b> y", False, "x y"),
    ("&lt;b&gt;x&lt;/b&gt; y", False, "&lt;b&gt;x&lt;/b&gt; y"),  # text: entities are text
    ("<script>alert(1)</script>Safe", False, "Safe"),
    ("AT&amp;T", False, "AT&amp;T"),  # text is text
    ("  spaced \n out  ", False, "spaced out"),
]


# Every character but those that make markup (and U+FEFF, dropped at the start), between
# letters: text an HTML parser returns as it is, whitespace folded.
EVERY_TEXT_CHARACTER = " ".join(f"a{c}b" for c in map(chr, range(0x110000)) if c not in "<&\ufeff")
# Whitespace, controls, noncharacters, surrogates: what parsers or our rules treat apart.
AWKWARD = "\r\n\t\x0b\x0c\x00\x01\x1f\x7f\x85\xa0\u2028\u3000\ufffd\ufffe\uffff\ud800"
_NO_MARKUP_TEXT = st.text(
    st.characters(blacklist_characters="<&\ufeff") | st.sampled_from(AWKWARD), max_size=40
)


def _skips_the_parser_alike(text: str) -> None:
    assert holds_no_markup(text)
    parsed = _parsed_text(text)
    assert html_to_text(text) == parsed
    assert plain_text(text, is_html=True) == parsed
    assert plain_text(text, is_html=False) == parsed


def test_text_without_markup_reads_as_parsed_for_every_character() -> None:
    _skips_the_parser_alike(EVERY_TEXT_CHARACTER)


@SETTINGS
@given(_NO_MARKUP_TEXT)
def test_text_without_markup_reads_as_parsed(text: str) -> None:
    _skips_the_parser_alike(text)


@pytest.mark.parametrize("text", ["\ufeffx", "\x01\ufeffx", "a&amp;b", "a<b>c", "&#1;"])
def test_a_mark_or_reference_goes_through_the_parser(text: str) -> None:
    assert not holds_no_markup(text)
    assert html_to_text(text) == _parsed_text(text)


@pytest.mark.parametrize(("value", "is_html", "expected"), CASES)
def test_plain_text(value: str, is_html: bool, expected: str) -> None:
    assert plain_text(value, is_html=is_html) == expected


def test_escapes_deeper_than_markup_in_text_stay_text() -> None:
    # HTML whose text is escaped markup loses that markup; anything escaped deeper is text.
    value = "<i>x</i>"
    for _ in range(3):
        value = escape(value)
    assert plain_text(value, is_html=True) == escape(escape("<i>x</i>"))
    assert plain_text("<b>" * 10_000 + "x", is_html=True) == "x"


def test_hostile_text_costs_linear_time() -> None:
    # Each of these took minutes with a pattern that rescans to the end from every start.
    for value in ("<!--" * 200_000, "<a " * 200_000, "<" * 500_000, "&lt;b " * 100_000):
        started = time.process_time()
        plain_text(value, is_html=True)
        plain_text(value)
        assert time.process_time() - started < 5, value[:10]


# Titles as sources write them (the XML as it is), and the title every output must carry.
RSS_TITLES = [
    ("scheduler &amp; &lt;io_uring&gt;", "scheduler & <io_uring>"),
    ("Option&lt;T&gt; in Rust", "Option<T> in Rust"),
    ("a &lt; b", "a < b"),
    ("&lt;b&gt;Fett&lt;/b&gt; gedruckt", "Fett gedruckt"),
    ("&amp;lt;b&amp;gt;Zweimal&amp;lt;/b&amp;gt; maskiert", "Zweimal maskiert"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;Sicher", "Sicher"),
    ('<![CDATA[<a href="https://e.org/">Link</a> & <io_uring>]]>', "Link & <io_uring>"),
    ("Größe &amp; Maß", "Größe & Maß"),
]
# (Atom title type, the title as written, the title every output must carry)
ATOM_TITLES = [
    ("text", "Option&lt;T&gt; &amp; a &lt; b", "Option<T> & a < b"),
    ("html", "&lt;i&gt;x&lt;/i&gt; &amp;lt;io_uring&amp;gt;", "x <io_uring>"),
    ("text", "&lt;b&gt;escaped&lt;/b&gt; markup", "escaped markup"),
]
JSON_TITLES = [("Option<T> & Vec<u8>", "Option<T> & Vec<u8>")]
EXPECTED = {title for *_, title in RSS_TITLES + ATOM_TITLES + JSON_TITLES}


def _rss() -> bytes:
    entries = tuple(
        Entry(
            id=f"r{n}",
            permalink=None,
            title=Raw(title),
            link=f"https://e.org/r{n}",
            summary="d",
            published=datetime(2025, 5, 10, 10 + n, tzinfo=UTC),
        )
        for n, (title, _) in enumerate(RSS_TITLES)
    )
    return encode(document("rss20", Feed("R", "https://e.org/", entries=entries)))


def _atom() -> bytes:
    entries = tuple(
        Entry(
            id=f"urn:a{n}",
            title=Raw(title),
            title_type=kind,
            link=f"https://e.org/a{n}",
            updated=datetime(2025, 5, 11, n, tzinfo=UTC),
            summary="s",
        )
        for n, (kind, title, _) in enumerate(ATOM_TITLES)
    )
    feed = Feed("A", id="urn:a", updated=datetime(2025, 5, 11, tzinfo=UTC), entries=entries)
    return encode(document("atom10", feed))


def _json() -> bytes:
    entries = tuple(
        Entry(
            id=f"j{n}",
            title=title,
            link=f"https://e.org/j{n}",
            text="x",
            published=datetime(2025, 5, 12, tzinfo=UTC),
        )
        for n, (title, _) in enumerate(JSON_TITLES)
    )
    return json_feed(Feed("J", entries=entries)).encode()


def test_titles_are_published_exactly_in_every_format(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    sources = []
    for name, body, kind in (
        ("rss", _rss(), "application/rss+xml"),
        ("atom", _atom(), "application/atom+xml"),
        ("json", _json(), "application/feed+json"),
    ):
        url = feed_server.add(f"/{name}", body, content_type=kind)
        sources.append(f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "Titel"\n')
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\ntitle = "Site"\n'
        '[storage]\nurl = "sqlite:///feeds.db"\n' + "\n".join(sources),
        encoding="utf-8",
    )
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out" / "titel"
    assert_valid_atom((out / "atom.xml").read_bytes())
    assert_valid_rss((out / "rss.xml").read_bytes())
    assert_valid_jsonfeed((out / "feed.json").read_bytes())

    atom, rss = (out / "atom.xml").read_bytes(), (out / "rss.xml").read_bytes()
    assert {e.findtext(f"{ATOM}title") for e in etree.fromstring(atom).iter(f"{ATOM}entry")} == (
        EXPECTED
    )
    assert {i.findtext("title") for i in etree.fromstring(rss).iter("item")} == EXPECTED
    for body in (atom, rss):
        assert {e.title for e in feedparser.parse(io.BytesIO(body)).entries} == EXPECTED
    document = json.loads((out / "feed.json").read_bytes())
    assert {item["title"] for item in document["items"]} == EXPECTED
    page = html.fromstring((out / "index.html").read_bytes())
    assert {h.text_content() for h in page.iter("h2")} == EXPECTED
    front = html.fromstring((tmp_path / "out" / "index.html").read_bytes())
    assert {h.text_content() for h in front.iter("h3")} <= EXPECTED
    assert b"<io_uring>" not in (out / "index.html").read_bytes()  # escaped in HTML
