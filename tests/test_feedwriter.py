"""The tests' one feed writer (support.feedwriter): what it writes is what a reader gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import feedparser
import pytest
from lxml import etree
from support.feedwriter import (
    Enclosure,
    Entry,
    Episode,
    Feed,
    Person,
    Raw,
    cdata,
    document,
    encode,
    json_feed,
)

HOSTILE = 'a < b &\r\n"c" > d'
WHEN = datetime(2025, 5, 10, 11, 33, tzinfo=timezone(timedelta(hours=2)))

ENTRY = Entry(
    id="urn:x:1",
    title=HOSTILE,
    link="https://e.org/1?a=1&b=2",
    published=WHEN,
    summary=HOSTILE,
    content="<p>body &amp; more</p>",
    authors=(Person("Jörg Müller", "j@e.org", "https://e.org/j"),),
    tags=("Größe",),
    enclosures=(Enclosure("https://cdn.e.org/1.mp3?x=1&y=2", "audio/mpeg", 12),),
)
FEED = Feed(
    "Feed & <co>",
    "https://e.org/",
    "d",
    "de",
    id="urn:x",
    updated=WHEN,
    entries=(ENTRY,),
)
FORMATS = ("rss091", "rss092", "rss20", "rss-noversion", "rss10", "atom03", "atom10")


@pytest.mark.parametrize("format", FORMATS)
def test_text_and_attributes_are_escaped_and_read_back(format: str) -> None:
    body = encode(document(format, FEED))
    etree.fromstring(body)  # well-formed
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    (entry,) = parsed.entries
    assert entry.title == HOSTILE  # the \r too: written as a character reference
    assert entry.link == "https://e.org/1?a=1&b=2"
    assert parsed.feed.title == "Feed & <co>"


def test_raw_text_is_written_as_it_is() -> None:
    entry = Entry(id="1", title=Raw("Caf&#233; &amp; <![CDATA[<b>]]>"), summary=cdata("x]]>y"))
    body = encode(document("rss20", Feed("t", "https://e.org/", entries=(entry,))))
    assert b"<title>Caf&#233; &amp; <![CDATA[<b>]]></title>" in body
    (parsed,) = feedparser.parse(body).entries
    assert parsed.title == "Café & <b>"
    assert parsed.summary == "x]]>y"  # a "]]>" inside is split across two sections


def test_dates_as_datetimes_follow_the_format_and_strings_are_kept() -> None:
    rss = document("rss20", Feed("t", entries=(Entry(published=WHEN), Entry(published="gestern"))))
    assert "<pubDate>Sat, 10 May 2025 11:33:00 +0200</pubDate>" in rss
    assert "<pubDate>gestern</pubDate>" in rss
    atom = document("atom10", Feed("t", entries=(Entry(published=WHEN.astimezone(UTC)),)))
    assert "<published>2025-05-10T09:33:00Z</published>" in atom
    with pytest.raises(ValueError, match="timezone-aware"):
        document("rss20", Feed("t", entries=(Entry(published=datetime(2025, 1, 1)),)))


def test_namespaces_are_declared_when_used_or_asked_for() -> None:
    plain = document("rss20", Feed("t", entries=(Entry(id="1"),)))
    assert "xmlns" not in plain
    used = document("rss20", Feed("t", entries=(Entry(authors=(Person("A"),)),)))
    assert used.startswith('<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">')
    asked = document("rss20", Feed("t", declare=("content",)))
    assert 'xmlns:content="http://purl.org/rss/1.0/modules/content/"' in asked


def test_encoding_declares_and_encodes_with_character_references() -> None:
    body = encode(document("rss20", Feed("Preis: 5 € für Öl")), "iso-8859-1")
    assert body.startswith(b'<?xml version="1.0" encoding="iso-8859-1"?>\n')
    assert "Preis: 5 &#8364; für Öl".encode("iso-8859-1") in body
    assert feedparser.parse(body).feed.title == "Preis: 5 € für Öl"


def test_podcast_tags_and_rss_091_items() -> None:
    episode = Entry(id="e", episode=Episode("1:02:03", "https://e.org/e.jpg", True, 7, "full"))
    rss = document("rss20", Feed("p", entries=(episode,)))
    assert "<itunes:explicit>true</itunes:explicit>" in rss
    assert "<itunes:episode>7</itunes:episode>" in rss
    old = document("rss091", FEED)  # 0.91 items: title, link and description only
    assert "<guid" not in old and "<pubDate" not in old and "<enclosure" not in old


def test_xhtml_content_is_put_in_a_div() -> None:
    entry = Entry(id="1", content="<b>x</b>", content_type="xhtml", link="https://e.org/1")
    (parsed,) = feedparser.parse(encode(document("atom10", Feed("t", entries=(entry,))))).entries
    assert parsed.content[0].value == "<b>x</b>"


def test_json_feed_versions() -> None:
    one = json.loads(json_feed(FEED, version="1"))
    assert one["version"] == "https://jsonfeed.org/version/1"
    assert one["items"][0]["author"] == {"name": "Jörg Müller", "url": "https://e.org/j"}
    assert "language" not in one
    modern = json.loads(json_feed(FEED))
    assert modern["language"] == "de" and "authors" in modern["items"][0]
    with pytest.raises(ValueError, match="version"):
        json_feed(FEED, version="2")
    with pytest.raises(ValueError, match="format"):
        document("atom2", FEED)
