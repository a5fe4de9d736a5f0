"""Impossible dates are reported, never rolled over; real dates before 1970 are kept.

Through the real parser (feedparser reads `2024-02-30` as March 1st), normalising, the
store's text columns and every output format.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.feedwriter import Entry, Feed, document, encode

from feeds.model import Category, Source, SourceKind
from feeds.normalise.article import normalise_feed
from feeds.normalise.dates import ImpossibleDateError, parse_date, read_date
from feeds.parse import parse_feed
from feeds.publish import OutputLayout, Site
from feeds.publish.atom import render_atom
from feeds.publish.document import build_document
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.rss import render_rss
from feeds.store import ArticleStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="History", kind=SourceKind.REMOTE, interval=timedelta(minutes=30),
    url="https://example.org/feed.xml", category="History",
)  # fmt: skip

IMPOSSIBLE = [
    "2024-02-30",
    "2024-02-30T10:00:00Z",
    "2025-13-01",
    "2025-05-10T25:00:00Z",
    "-0001-01-01",
    "+12025-05-10",
    "0000-01-01",
    "Fri, 30 Feb 2024 10:00:00 GMT",
    "31.04.2025 11:33",
]

BEFORE_1970 = [
    ("1969-07-20T20:17:40Z", "1969-07-20T20:17:40+00:00"),
    ("Sun, 20 Jul 1969 20:17:40 +0000", "1969-07-20T20:17:40+00:00"),
    ("1945-05-08", "1945-05-08T00:00:00+00:00"),
    ("10.05.1912 11:33", "1912-05-10T11:33:00+00:00"),
    ("1066-10-14T09:00:00Z", "1066-10-14T09:00:00+00:00"),
]


def _rss(*dates: str) -> bytes:
    """An RSS 2.0 feed with an item per date, its ``pubDate`` the text as it is given."""
    entries = tuple(
        Entry(id=f"entry-{n}", permalink=None, title=f"T{n}", summary="text", published=date)
        for n, date in enumerate(dates, start=1)
    )
    return encode(document("rss20", Feed("H", "https://example.org/", entries=entries)))


@pytest.mark.parametrize("text", IMPOSSIBLE)
def test_impossible_dates_raise_and_parse_to_none(text: str) -> None:
    with pytest.raises(ImpossibleDateError):
        read_date(text, UTC)
    assert parse_date(text, UTC) is None


@pytest.mark.parametrize("text", IMPOSSIBLE)
def test_an_impossible_date_is_undated_with_a_warning(text: str) -> None:
    feed = parse_feed(_rss(text), url="https://example.org/feed.xml")
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    (article,) = result.articles
    # Dated `now` and listed as undated: the store's first-seen time replaces it.
    assert article.published == NOW
    assert "entry-1" in result.undated
    assert any("impossible date" in e and text in e for e in result.errors), result.errors


@pytest.mark.parametrize(("text", "expected"), BEFORE_1970)
def test_dates_before_1970_are_kept(text: str, expected: str) -> None:
    feed = parse_feed(_rss(text), url="https://example.org/feed.xml")
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    (article,) = result.articles
    assert article.published.isoformat() == expected
    assert not result.undated
    assert not result.errors


def test_dates_before_1970_survive_the_store_and_every_output(tmp_path: Path) -> None:
    body = _rss(*(text for text, _ in BEFORE_1970))
    feed = parse_feed(body, url="https://example.org/feed.xml")
    result = normalise_feed(feed, source=SOURCE, now=NOW, first_seen={}, fallback_base=None)
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'feeds.db'}")
    try:
        store.upsert_articles(SOURCE.name, result.articles, NOW)
        stored = store.recent_articles("history", 50)
    finally:
        store.close()
    expected = sorted((e for _, e in BEFORE_1970), reverse=True)
    # Newest first: the text column sorts pre-1970 and pre-1000 dates right.
    assert [a.published.isoformat() for a in stored] == expected
    site = Site(OutputLayout(tmp_path / "out", "http://localhost/"), "feeds")
    doc = build_document(Category.named("History"), stored, site)
    atom, rss = render_atom(doc).decode(), render_rss(doc).decode()
    items = json.loads(render_json_feed(doc))["items"]
    assert "1969-07-20T20:17:40+00:00" in atom and "1066-10-14T09:00:00+00:00" in atom
    assert "20 Jul 1969 20:17:40" in rss and "14 Oct 1066 09:00:00" in rss
    assert sorted(item["date_published"] for item in items) == sorted(expected)
