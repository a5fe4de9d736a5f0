"""Normalise: raw entries to Articles, with plain values (no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.entities import html5

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.strategies import SETTINGS, html_fragments
from support.url_cases import PLACES, edge_urls

from feeds.model import (
    ARTICLE_ID_NAMESPACE,
    Author,
    Enclosure,
    RawEntry,
    RawFeed,
    Source,
    SourceKind,
    article_id,
)
from feeds.normalise.article import EntryError, entry_key, normalise_entry, normalise_feed
from feeds.normalise.html import (
    _WHITESPACE,
    _cleaner,
    _resolved_url,
    clean_text,
    html_to_text,
    safe_url,
    sanitise_html,
    strip_illegal_xml,
)
from feeds.web_url import _PLAIN_WEB_URL

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="Example", kind=SourceKind.REMOTE, interval=timedelta(minutes=30),
    url="https://example.org/feed.xml", category="Technik", language="en",
)  # fmt: skip
FEED = RawFeed(entries=(), title="Example", link="https://example.org/", language="de")


def normalise(raw: RawEntry, *, first_seen: datetime | None = None, source: Source = SOURCE):
    return normalise_entry(
        raw, source=source, feed=FEED, now=NOW, first_seen=first_seen,
        fallback_base="http://localhost:8080/",
    )  # fmt: skip


def test_entry_key_prefers_id_then_link_then_hash() -> None:
    assert entry_key(RawEntry(entry_id=" guid-1 ", link="https://x/1")) == "guid-1"
    assert entry_key(RawEntry(entry_id=None, link="https://x/1")) == "https://x/1"
    hashed = entry_key(RawEntry(entry_id="", title="T", content_html="<p>c</p>"))
    assert hashed.startswith("sha256:")
    assert hashed == entry_key(RawEntry(entry_id=None, title="T", content_html="<p>c</p>"))
    assert hashed != entry_key(RawEntry(entry_id=None, title="T2", content_html="<p>c</p>"))


def test_a_full_entry() -> None:
    raw = RawEntry(
        entry_id="guid-1",
        title="<b>Bold</b> &amp; more",
        link="/posts/1",
        summary_html="<p>Short <i>teaser</i></p>",
        content_html=(
            '<p onclick="x()">Body <a href="rel.html">link</a></p><script>alert(1)</script>'
        ),
        base_url="https://example.org/blog/",
        authors=(Author("Ada"), Author("Ada"), Author(" Bob ")),
        published="Sat, 10 May 2025 11:33:00 CEST",
        updated="2025-05-11T08:00:00Z",
        tags=("news", "news", "tech"),
        language="en-GB",
        enclosures=(Enclosure("ep1.mp3", "audio/mpeg", 1000), Enclosure("javascript:alert(1)")),
    )
    article = normalise(raw)
    assert article.id == article_id("Example", "guid-1")
    assert article.title == "Bold & more"
    assert article.link == "https://example.org/posts/1"
    assert article.summary == "Short teaser"
    assert article.content == (
        '<p>Body <a href="https://example.org/blog/rel.html" rel="noopener noreferrer">link</a></p>'
    )
    assert article.authors == (Author("Ada"), Author("Bob"))
    # CEST is +02:00 (feedparser would read it as UTC).
    assert article.published.isoformat() == "2025-05-10T11:33:00+02:00"
    assert article.updated == datetime(2025, 5, 11, 8, 0, tzinfo=UTC)
    assert article.tags == ("news", "tech")
    assert article.categories == ("Technik",)
    assert article.language == "en-gb"
    assert article.enclosures == (
        Enclosure("https://example.org/blog/ep1.mp3", "audio/mpeg", 1000),
    )


def test_day_first_date_uses_the_source_time_zone() -> None:
    source = Source(name="L", kind=SourceKind.LOCAL, interval=timedelta(minutes=5),
                    category="Welt", timezone="Europe/Berlin")  # fmt: skip
    article = normalise(
        RawEntry(entry_id="x", title="t", published="10.05.2025 11:33"), source=source
    )
    assert article.published.isoformat() == "2025-05-10T11:33:00+02:00"


def test_parser_guess_is_the_fallback() -> None:
    guess = datetime(2024, 1, 1, tzinfo=UTC)
    article = normalise(
        RawEntry(entry_id="x", title="t", published="not a date", published_guess=guess)
    )
    assert article.published == guess


def test_implausible_parser_guess_is_ignored() -> None:
    guess = datetime(1746, 1, 1, tzinfo=UTC)
    article = normalise(RawEntry(entry_id="x", title="t", published="junk", published_guess=guess))
    assert article.published == NOW


def test_undated_entries_keep_their_first_seen_time() -> None:
    first = NOW - timedelta(days=3)
    assert normalise(RawEntry(entry_id="x", title="t"), first_seen=first).published == first
    assert normalise(RawEntry(entry_id="x", title="t")).published == NOW


def test_future_dates_are_clamped_and_updated_never_before_published() -> None:
    raw = RawEntry(
        entry_id="x", title="t", published="2099-01-01T00:00:00Z", updated="2000-01-01T00:00:00Z"
    )
    article = normalise(raw)
    assert article.published == NOW
    assert article.updated == NOW


def test_a_future_update_is_not_taken_and_the_published_date_stands() -> None:
    # Clamped to the clock it would move on every read: the entry would look updated at
    # every poll of its subscribers.
    raw = RawEntry(
        entry_id="x", title="t", published="2000-01-01T00:00:00Z", updated="2099-01-01T00:00:00Z"
    )
    article = normalise(raw)
    assert article.published == article.updated == datetime(2000, 1, 1, tzinfo=UTC)
    soon = (NOW + timedelta(minutes=5)).isoformat()  # within the clock-skew tolerance: taken
    assert normalise(replace(raw, updated=soon)).updated == NOW + timedelta(minutes=5)


def test_javascript_link_is_dropped_and_text_fields_stay_text() -> None:
    raw = RawEntry(entry_id="x", title="<script>alert(1)</script>Hi", link="javascript:alert(1)")
    article = normalise(raw)
    assert article.link is None
    assert article.title == "Hi"
    assert "<" not in article.summary


def test_missing_title_comes_from_the_summary_and_missing_content_from_the_title() -> None:
    assert (
        normalise(RawEntry(entry_id="x", summary_html="<p>Just a note</p>")).title == "Just a note"
    )
    assert normalise(RawEntry(entry_id="x", title="Only a title")).content == "<p>Only a title</p>"


def test_language_falls_back_to_feed_then_source() -> None:
    assert normalise(RawEntry(entry_id="x", title="t")).language == "de"  # the feed's
    assert normalise(RawEntry(entry_id="x", title="t", language="!!")).language == "de"


def test_no_category_is_an_entry_error() -> None:
    source = Source(name="L", kind=SourceKind.LOCAL, interval=timedelta(minutes=5))
    with pytest.raises(EntryError, match="no category"):
        normalise(RawEntry(entry_id="x", title="t", location="a.txt"), source=source)


def test_entry_category_wins_over_the_source_default() -> None:
    assert normalise(RawEntry(entry_id="x", title="t", category="Sport")).categories == ("Sport",)


def test_feed_duplicates_and_errors_are_reported_not_raised() -> None:
    source = Source(name="L", kind=SourceKind.LOCAL, interval=timedelta(minutes=5))
    feed = RawFeed(
        entries=(
            RawEntry(entry_id="a", title="one", category="X"),
            RawEntry(entry_id="a", title="dup", category="X"),
            RawEntry(entry_id="b", title="no category", location="b.txt"),
        )
    )
    result = normalise_feed(feed, source=source, now=NOW, first_seen={}, fallback_base=None)
    assert [a.title for a in result.articles] == ["one"]
    assert len(result.errors) == 2
    assert result.errors[0] == "duplicate entry id, kept the first: 'a'"
    assert result.errors[1].startswith("no category") and result.errors[1].endswith(": b.txt")


def test_control_characters_never_reach_articles() -> None:
    article = normalise(RawEntry(entry_id="x\x00", title="a\x0bb\x1f", content_html="<p>c\x08</p>"))
    assert article.title == "ab"
    assert article.content == "<p>c</p>"
    assert "\x00" not in article.entry_id


@pytest.mark.parametrize(
    "vector",
    [
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        "<svg><script>alert(1)</script></svg>",
        '<iframe src="https://evil.example/"></iframe>',
        '<form action="https://evil.example/"><input></form>',
        '<div style="position:fixed;top:0">overlay</div>',
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
        '<object data="x.swf"></object>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    ],
)
def test_sanitiser_removes_active_content(vector: str) -> None:
    cleaned = sanitise_html(vector, "https://example.org/").lower()
    for bad in (
        "onerror",
        "javascript:",
        "<script",
        "<iframe",
        "<form",
        "style=",
        "data:",
        "<object",
    ):
        assert bad not in cleaned


def _sanitised_as_when_always_stripped(fragment: str) -> None:
    for base in ("https://example.org/a/", None):
        cleaned = _cleaner(base).clean(strip_illegal_xml(fragment))
        assert sanitise_html(fragment, base) == strip_illegal_xml(cleaned).strip()


def test_only_numeric_references_make_characters_xml_cannot_carry() -> None:
    characters = "".join(map(chr, range(0x110000)))
    _sanitised_as_when_always_stripped(f"<p>{characters}</p>")
    _sanitised_as_when_always_stripped(f'<img alt="{characters.replace(chr(34), "")}">')
    references = " ".join(f"&{name}" for name in html5)
    _sanitised_as_when_always_stripped(f'<p title="{references}">{references}</p>')
    _sanitised_as_when_always_stripped("<p>&#1;&#x1f;&#xFFFE;&\x01#2;</p>")
    assert sanitise_html("<p>a&#1;b</p>", None) == "<p>ab</p>"
    assert sanitise_html("<p>a&\x01#x1F;b</p>", None) == "<p>ab</p>"  # a reference once stripped


@SETTINGS
@given(html_fragments())
def test_sanitising_strips_what_cleaning_decodes(fragment: str) -> None:
    _sanitised_as_when_always_stripped(fragment)


def _cleaned_as_by_the_patterns(text: str) -> None:
    assert clean_text(text) == _WHITESPACE.sub(" ", strip_illegal_xml(text)).strip()


def test_clean_text_of_every_character() -> None:
    for character in map(chr, range(0x110000)):
        _cleaned_as_by_the_patterns(f"{character}a{character} b{character}")
    for text in ("  a  b ", " a b ", "a\tb", "a\u00a0b", "\x01", "", " ", "a\u3000 b"):
        _cleaned_as_by_the_patterns(text)


@SETTINGS
@given(st.text())
def test_clean_text_folds_and_strips(text: str) -> None:
    _cleaned_as_by_the_patterns(text)


def test_article_ids_keep_their_values() -> None:
    assert article_id("Example", "guid-1") == "urn:uuid:c44a29e4-77f5-5f37-8a11-5ed2ee6df14f"


@SETTINGS
@given(st.text(max_size=20), st.text())
def test_article_ids_are_uuid5_urns(source: str, entry_id: str) -> None:
    try:
        expected = "urn:uuid:" + str(uuid.uuid5(ARTICLE_ID_NAMESPACE, f"{source}\n{entry_id}"))
    except UnicodeEncodeError:  # a lone surrogate: no id, either way
        with pytest.raises(UnicodeEncodeError):
            article_id(source, entry_id)
        return
    assert article_id(source, entry_id) == expected


def test_html_to_text_and_safe_url() -> None:
    assert html_to_text("<p>A &amp; B</p><p>C<br>D</p>") == "A & B C D"
    assert safe_url("//cdn.example.org/x", "https://example.org/") == "https://cdn.example.org/x"
    assert safe_url("mailto:a@b") is None
    assert safe_url("") is None


# Bases as entries carry them: none, absolute (either scheme), not web, refused by urljoin.
BASES = (None, "", "http://x.example/base/", "https://x.example/", "ftp://x.example/", "http://[")


def _as_by_the_general_rules(url: str) -> None:
    for base in BASES:
        assert safe_url(url, base) == _resolved_url(clean_text(url), base), (url, base)


@pytest.mark.parametrize("where", PLACES[:3])
def test_urls_taking_the_short_cut_come_out_as_by_the_general_rules(where: str) -> None:
    for url in edge_urls((where,)):
        _as_by_the_general_rules(url)
    assert safe_url("https://h.example/x", "http://[") is None


@SETTINGS
@given(st.from_regex(_PLAIN_WEB_URL, fullmatch=True))
def test_plain_web_urls_come_out_as_by_the_general_rules(url: str) -> None:
    _as_by_the_general_rules(url)


def test_plain_text_titles_keep_angle_brackets_and_decode_entities() -> None:
    raw = RawEntry(entry_id="x", title="Vec<T> &amp; Option<&str>", title_is_html=False)
    assert normalise(raw).title == "Vec<T> & Option<&str>"
    assert normalise(RawEntry(entry_id="x", title="<b>Bold</b> &amp; more")).title == "Bold & more"


def test_an_entry_of_nothing_is_dropped_with_a_reason() -> None:
    with pytest.raises(EntryError, match="no title, link or text"):
        normalise(RawEntry(entry_id=None, location="feed.xml"))
