"""Properties of normalise -> publish over arbitrary parsed-feed shapes (hypothesis).

The strategies (`support.strategies`) build `RawEntry`/`RawFeed` values the way hostile or
sloppy feeds arrive after parsing: ids that are empty, blank, huge, made of control
characters or unicode;
titles and content with HTML, entities and control characters; links relative, absolute,
``javascript:`` or garbage; dates in every form `feeds.normalise.dates` reads and in many
it does not; enclosures with odd URLs, types and lengths; invalid languages.

Properties:

* `normalise_feed` never raises; every entry becomes an article or an error.
* Articles have timezone-aware dates, ``published <= updated`` and neither more than the
  clamp tolerance after ``now``; their text holds no XML-illegal character; links and
  enclosures are absolute http(s) URLs; languages are language tags.
* Ids are stable: the same input gives equal articles, ids depend on the source and the
  entry key only (not on ``now``, first-seen times or entry order), distinct keys give
  distinct ids, and `entry_key` is a deterministic function of the entry.
* Publishing: Atom, RSS and JSON Feed of any category name and any articles (with a WebSub
  hub and RFC 5005 archive pages, sometimes) pass the conformance checkers, which also
  re-parse Atom and RSS with feedparser; rendering is byte-identical across runs and input
  orders.

While a defect found by these tests is open, its trigger is kept out of the random
strategies (see ``support.strategies.OPEN_FINDINGS``) and pinned by a strict-xfail test at
the end of this file, so the properties keep testing everything else. Every defect found
so far is fixed and kept there as a regression test.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from support.conformance import (
    XML_ILLEGAL,
    assert_valid_atom,
    assert_valid_jsonfeed,
    assert_valid_rss,
)
from support.strategies import (
    BASE_URL,
    SETTINGS,
    SOURCE_NAMES,
    Case,
    cases,
    category_names,
    hubs,
    raw_entries,
)

from feeds.config import ConfigError, load_config
from feeds.model import (
    Article,
    Category,
    Enclosure,
    RawEntry,
    RawFeed,
    Source,
    SourceKind,
    article_id,
)
from feeds.normalise.article import entry_key, normalise_feed
from feeds.parse import parse_feed
from feeds.publish.atom import render_atom
from feeds.publish.document import FeedDocument, Site, archive_documents, build_document
from feeds.publish.jsonfeed import _indented, render_json_feed
from feeds.publish.layout import OutputLayout
from feeds.publish.site import render_category

# --------------------------------------------------------------------------- settings

# Sized for about a minute for the whole file on the shared 2-core machine.
NORMALISE_EXAMPLES = 200
PUBLISH_EXAMPLES = 150
SMALL_EXAMPLES = 100

CLAMP_TOLERANCE = timedelta(minutes=10)  # feeds.normalise.dates.clamp_future's default
LAYOUT = OutputLayout(Path("/nonexistent/feeds-property-output"), BASE_URL)

LANGUAGE_TAG = re.compile(r"[a-z]{2,8}(?:-[a-z0-9]{1,8})*")

# --------------------------------------------------------------------------- checks


def _http_url(value: str) -> bool:
    return re.match(r"(?i)https?://[^/?#]", value) is not None


def check_article(article: Article, now: datetime) -> None:
    assert article.published.tzinfo is not None and article.published.utcoffset() is not None
    assert article.updated.tzinfo is not None and article.updated.utcoffset() is not None
    assert article.updated >= article.published
    assert article.published <= now + CLAMP_TOLERANCE
    assert article.updated <= now + CLAMP_TOLERANCE
    assert article.title, "an article without a title"
    texts = [
        article.title,
        article.summary,
        article.content,
        article.entry_id,
        *(author.name for author in article.authors),
        *(author.email or "" for author in article.authors),
        *article.tags,
        *article.categories,
    ]
    for text in texts:
        assert not XML_ILLEGAL.search(text), f"XML-illegal character in {text!r}"
    assert article.categories and all(c.strip() for c in article.categories)
    assert all(a.name.strip() for a in article.authors) and all(t.strip() for t in article.tags)
    assert all(a.uri is None or _http_url(a.uri) for a in article.authors)
    assert article.content
    if article.language is not None:
        assert LANGUAGE_TAG.fullmatch(article.language), article.language
    if article.link is not None:
        assert _http_url(article.link), article.link
    for enclosure in article.enclosures:
        assert _http_url(enclosure.url), enclosure.url
        assert enclosure.length is None or enclosure.length > 0


def kept_entries(feed: RawFeed) -> list[RawEntry]:
    """The entries `normalise_feed` keeps: the first of each entry key."""
    seen: set[str] = set()
    kept = []
    for raw in feed.entries:
        key = entry_key(raw)
        if key not in seen:
            seen.add(key)
            kept.append(raw)
    return kept


# --------------------------------------------------------------------------- normalise


@settings(SETTINGS, max_examples=NORMALISE_EXAMPLES)
@given(cases())
def test_normalise_never_raises_and_articles_are_sane(case: Case) -> None:
    result = case.normalise()
    note(f"normalised: {result!r}")
    assert len(result.articles) + result.dropped == len(case.feed.entries)
    assert bool(result.dropped) <= bool(result.errors)  # nothing dropped unsaid
    ids = [a.id for a in result.articles]
    assert len(set(ids)) == len(ids)
    keys = {entry_key(raw) for raw in kept_entries(case.feed)}
    for article in result.articles:
        check_article(article, case.now)
        assert article.entry_id in keys
        assert article.id == article_id(case.source.name, article.entry_id)
        assert article.source == case.source.name
    assert result.undated <= {a.entry_id for a in result.articles}
    for article in result.articles:
        if article.entry_id in result.undated:
            assert article.published == case.now


@settings(SETTINGS, max_examples=SMALL_EXAMPLES)
@given(cases(), st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)))
def test_normalising_is_deterministic_and_ids_are_stable(case: Case, later: timedelta) -> None:
    first = case.normalise()
    assert case.normalise() == first  # same input, equal articles and errors
    for raw in case.feed.entries:
        assert entry_key(raw) == entry_key(dataclasses.replace(raw))
    # Ids depend on the source and the entry only: not on the clock or first-seen times.
    moved = case.normalise(now=case.now + later, first_seen={})
    assert [(a.id, a.entry_id) for a in moved.articles] == [
        (a.id, a.entry_id) for a in first.articles
    ]
    # ... nor on the order of the entries (once duplicates are gone).
    kept = kept_entries(case.feed)
    reordered = case.normalise(feed=dataclasses.replace(case.feed, entries=tuple(reversed(kept))))
    assert {a.id for a in reordered.articles} == {a.id for a in first.articles}


@settings(SETTINGS, max_examples=SMALL_EXAMPLES)
@given(
    st.lists(raw_entries(), min_size=2, max_size=8, unique_by=entry_key),
    st.sampled_from(SOURCE_NAMES),
    st.sampled_from(SOURCE_NAMES),
)
def test_distinct_keys_give_distinct_ids(
    entries: list[RawEntry], name: str, other_name: str
) -> None:
    source = Source(name, SourceKind.REMOTE, timedelta(minutes=30), category="Technik")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    feed = RawFeed(entries=tuple(entries))
    result = normalise_feed(feed, source=source, now=now, first_seen={}, fallback_base=BASE_URL)
    # Errors only for entries with nothing in them (dropped since bb39907).
    assert len(result.articles) + result.dropped == len(entries)
    assert bool(result.dropped) <= bool(result.errors)  # nothing dropped unsaid
    assert len({a.id for a in result.articles}) == len(result.articles)
    keys = [entry_key(e) for e in entries]
    assert [a.entry_id for a in result.articles] == [
        k for k in keys if k in {a.entry_id for a in result.articles}
    ]
    if other_name != name:
        other = dataclasses.replace(source, name=other_name)
        elsewhere = normalise_feed(
            feed, source=other, now=now, first_seen={}, fallback_base=BASE_URL
        )
        assert not {a.id for a in elsewhere.articles} & {a.id for a in result.articles}


# --------------------------------------------------------------------------- publish


def render_all(doc: FeedDocument) -> dict[str, bytes]:
    files = render_category(doc)
    slug = doc.category.slug
    return {
        kind: files[doc.layout.feed_path(slug, kind)] for kind in ("atom", "rss", "json", "html")
    }


def check_documents(rendered: dict[str, bytes]) -> None:
    assert_valid_atom(rendered["atom"])
    assert_valid_rss(rendered["rss"])
    assert_valid_jsonfeed(rendered["json"])
    assert rendered["html"].strip()  # the category page renders too (not validated)


def publish(
    articles: Sequence[Article], category: Category, site: Site
) -> tuple[dict[str, bytes], list[bytes]]:
    """The subscription documents of a category and its archive pages, as publish_site cuts."""
    doc = build_document(category, articles, site)
    entries = list(enumerate(doc.articles, start=1))
    links, pages = archive_documents(category, len(entries), entries, site)
    subscription = dataclasses.replace(doc, archive=links)
    return render_all(subscription), [render_atom(page) for page in pages]


@settings(SETTINGS, max_examples=PUBLISH_EXAMPLES)
@given(cases(publishable=True), category_names, hubs, st.sampled_from([0, 0, 2, 3]))
def test_published_documents_are_valid(
    case: Case, category_name: str, hub: str | None, archive_size: int
) -> None:
    articles = list(case.normalise().articles)
    note(f"articles: {articles!r}")
    event(f"articles published: {min(len(articles), 4)}{'+' if len(articles) >= 4 else ''}")
    site = Site(LAYOUT, "feeds", hub=hub, archive_size=archive_size)
    # The category as configured (any name) and as the articles name it (cleaned).
    named = [Category.named(category_name)]
    named += [Category.named(c) for c in sorted({a.categories[0] for a in articles})[:1]]
    for category in named:
        rendered, pages = publish(articles, category, site)
        check_documents(rendered)
        for page in pages:
            assert_valid_atom(page)


@settings(SETTINGS, max_examples=SMALL_EXAMPLES)
@given(cases(max_entries=5, publishable=True), category_names, st.randoms(use_true_random=False))
def test_rendering_is_byte_identical(case: Case, category_name: str, rnd: Any) -> None:
    articles = list(case.normalise().articles)
    site = Site(LAYOUT, "feeds")
    category = Category.named(category_name)
    first = render_all(build_document(category, articles, site))
    assert render_all(build_document(category, articles, site)) == first
    shuffled = list(articles)
    rnd.shuffle(shuffled)
    assert render_all(build_document(category, shuffled, site)) == first
    # Normalising the same input again (a re-fetch) republishes the same bytes.
    again = list(case.normalise().articles)
    assert render_all(build_document(category, again, site)) == first


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@settings(SETTINGS, max_examples=SMALL_EXAMPLES)
@given(json_values, st.integers(min_value=0, max_value=3))
def test_json_items_are_written_as_json_dumps_indents_them(value: Any, depth: int) -> None:
    pad = "  " * depth
    expected = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + pad)
    assert _indented(value, pad) == expected


@settings(SETTINGS, max_examples=SMALL_EXAMPLES)
@given(cases(max_entries=5, publishable=True), hubs)
def test_a_json_feed_is_what_json_dumps_writes(case: Case, hub: str | None) -> None:
    """Items are written a fragment at a time: the whole is still json.dumps's own bytes."""
    site = Site(LAYOUT, "feeds", hub=hub)
    doc = build_document(Category.named("Technik"), list(case.normalise().articles), site)
    body = render_json_feed(doc)
    written = json.dumps(json.loads(body), ensure_ascii=False, indent=2) + "\n"
    assert body == written.encode("utf-8")


# --------------------------------------------------------------------------- findings
#
# Minimal examples of the defects these tests found, through the real parse path where the
# defect is reachable from a feed body. All are fixed and kept as regression tests
# (test_fixed_*). A new one goes here as a strict xfail (test_finding_*, with `raises=`) and
# its trigger into support.strategies.OPEN_FINDINGS; once fixed, its test XPASSes, which
# fails: drop the marker and the name.

SOURCE = Source(
    "src", SourceKind.REMOTE, timedelta(minutes=30), url="https://example.com/feed.xml",
    category="Technik",
)  # fmt: skip
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
FEED_URL = "https://example.com/feed.xml"
RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    "<link>https://example.com/</link><description>d</description><item>{}</item>"
    "</channel></rss>"
)


def rss_item(item_xml: str) -> bytes:
    return RSS.format(item_xml).encode("utf-8")


def json_item(item: dict[str, Any]) -> bytes:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    return json.dumps(document).encode("utf-8")  # ensure_ascii: "\ud800" stays an escape


def articles_of(feed_input: RawEntry | bytes) -> list[Article]:
    """Normalise one raw entry, or parse and normalise one feed body."""
    if isinstance(feed_input, bytes):
        feed = parse_feed(feed_input, url=FEED_URL)
    else:
        feed = RawFeed(entries=(feed_input,))
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=BASE_URL)
    assert not result.errors and len(result.articles) == 1
    return list(result.articles)


def publish_articles(articles: Sequence[Article], category: str = "Technik") -> None:
    """Render a category of `articles` and validate all three formats."""
    doc = build_document(Category.named(category), articles, Site(LAYOUT, "feeds"))
    check_documents(render_all(doc))


# Found here and fixed since (dc2215a): kept as a regression test.
@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", content_html="<p>&#1;</p>"),
        RawEntry(entry_id="1", title="t", summary_html="&#xFFFE;"),
        rss_item("<guid>1</guid><description>&lt;p&gt;&amp;#1;&lt;/p&gt;</description>"),
        json_item({"id": "1", "content_html": "<p>&#x1F;</p>"}),
    ],
    ids=["raw-content", "raw-summary", "rss-description", "json-content_html"],
)
def test_char_ref_to_illegal_xml_character_in_html_is_dropped(
    feed_input: RawEntry | bytes,
) -> None:
    articles = articles_of(feed_input)
    for article in articles:
        check_article(article, NOW)
    publish_articles(articles)


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="\x01", title="<b></b>"),
        RawEntry(entry_id=None, link="\x01", title=" "),
        rss_item("<guid>&#1;</guid><title>&lt;b&gt;&lt;/b&gt;</title>"),
        json_item({"id": "\u0001", "url": "javascript:void(0)"}),
    ],
    ids=["raw-id", "raw-link", "rss-guid", "json-id"],
)
def test_fixed_id_of_only_illegal_characters_gives_no_title(feed_input: RawEntry | bytes) -> None:
    articles = articles_of(feed_input)
    assert articles[0].entry_id  # the link, else the content hash: never the empty string
    publish_articles(articles)


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", link="https://example.com/a b"),
        RawEntry(entry_id="1", title="t", link="https://example.com/100%"),
        RawEntry(entry_id="1", title="t", link='https://example.com/"x"'),
        RawEntry(entry_id="1", title="t", link="https://example.com/\x85x"),
        RawEntry(entry_id="1", title="t", enclosures=(Enclosure("https://example.com/e 1.mp3"),)),
        rss_item("<guid>1</guid><title>t</title><link>https://example.com/a b</link>"),
    ],
    ids=["space", "percent", "quote", "c1-control", "enclosure", "rss-link"],
)
def test_fixed_url_with_characters_not_allowed_in_an_iri(feed_input: RawEntry | bytes) -> None:
    publish_articles(articles_of(feed_input))


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", enclosures=(Enclosure("https://e.com/a.mp3", "audio"),)),
        rss_item(
            '<guid>1</guid><title>t</title><enclosure url="https://example.com/a.mp3" '
            'type="audio" length="1"/>'
        ),
    ],
    ids=["raw", "rss"],
)
def test_fixed_enclosure_type_that_is_no_media_type(feed_input: RawEntry | bytes) -> None:
    publish_articles(articles_of(feed_input))


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", published="2025-05-10T11:33:00+01:00:30"),
        rss_item(
            "<guid>1</guid><title>t</title><pubDate>Sat, 10 May 2025 11:33:00 +010030</pubDate>"
        ),
    ],
    ids=["raw-iso", "rss-rfc822"],
)
def test_fixed_utc_offset_with_seconds(feed_input: RawEntry | bytes) -> None:
    publish_articles(articles_of(feed_input))


@pytest.mark.parametrize(
    "feed_input",
    [
        json_item({"id": "1", "title": "\ud800"}),
        json_item({"id": "\udfff", "title": "t"}),
        json_item({"id": "1", "title": "t", "url": "https://example.com/\ud800"}),
        json_item({"id": "1", "title": "t", "tags": ["\udfff"]}),
        RawEntry(entry_id="1", title="t", content_html="a\ud800b"),
    ],
    ids=["json-title", "json-id", "json-url", "json-tag", "raw-content"],
)
def test_fixed_lone_surrogate_in_json_feed(feed_input: RawEntry | bytes) -> None:
    publish_articles(articles_of(feed_input))


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", link="http://["),
        RawEntry(entry_id="1", title="t", base_url="http://[::1", link="/x"),
        RawEntry(entry_id="1", title="t", enclosures=(Enclosure("//[x/a.mp3"),)),
    ],
    ids=["link", "base_url", "enclosure"],
)
def test_fixed_url_with_unbalanced_bracket_crashes_normalise(feed_input: RawEntry) -> None:
    publish_articles(articles_of(feed_input))


def test_fixed_category_name_with_control_character() -> None:
    publish_articles(articles_of(RawEntry(entry_id="1", title="t")), category="News\x01")


ATOM_WITH_BASE = (
    '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="{}">'
    "<id>urn:x</id><title>t</title><updated>2025-01-01T00:00:00Z</updated><entry><id>urn:1</id>"
    '<title>t</title><updated>2025-01-01T00:00:00Z</updated><content type="html">'
    "&lt;a href=&quot;x&quot;&gt;x&lt;/a&gt;</content></entry></feed>"
)


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", base_url="https://example.com:99999/"),
        ATOM_WITH_BASE.format("http://exa mple.com/").encode("utf-8"),
        json_item({"id": "1", "url": "http://1.2.3.4.5/", "content_html": "<p>x</p>"}),
        rss_item("<guid>1</guid><title>t</title>").replace(
            b"<link>https://example.com/</link>", b"<link>http://example.com:port/</link>"
        ),
    ],
    ids=["raw", "atom-xml:base", "json-url", "rss-channel-link"],
)
def test_fixed_base_url_that_nh3_refuses_crashes_normalise(
    feed_input: RawEntry | bytes,
) -> None:
    publish_articles(articles_of(feed_input))


@pytest.mark.parametrize(
    "feed_input",
    [
        RawEntry(entry_id="1", title="t", link="https://exa\x8fmple.com/"),
        RawEntry(entry_id="1", title="t", link="https://ex\x7fample.com/"),
        RawEntry(entry_id="1", title="t", link="https://ex%zzample.com/"),
        RawEntry(entry_id="1", title="t", enclosures=(Enclosure("https://exa\x9fmple.com/a"),)),
        rss_item("<guid>1</guid><title>t</title><link>https://exa&#x8f;mple.com/</link>"),
    ],
    ids=["c1-control", "del", "lone-percent", "enclosure", "rss-link"],
)
def test_fixed_url_host_with_control_character_or_lone_percent(
    feed_input: RawEntry | bytes,
) -> None:
    publish_articles(articles_of(feed_input))


def test_fixed_category_name_of_noncharacters_only(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[[sources]]\nname = "n"\nurl = "https://example.com/x.xml"\ncategory = "\\uFFFE"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="must not contain control characters"):
        load_config(config)
