"""Podcasts keep their enclosures' type and length and their iTunes item tags."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.namespaces import ATOM, NS_ITUNES

from feeds.model import Article, Category, Enclosure, Podcast, article_id
from feeds.normalise.podcast import clean_podcast
from feeds.parse import parse_feed
from feeds.publish.atom import render_atom
from feeds.publish.document import Site, build_document
from feeds.publish.layout import OutputLayout
from feeds.store import ArticleStore

IT = "{" + NS_ITUNES + "}"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Podcast(duration="1:02:03"), Podcast(duration="1:02:03")),
        (Podcast(duration="45:07"), Podcast(duration="45:07")),
        (Podcast(duration="3723"), Podcast(duration="3723")),
        (Podcast(duration=" 05:00 "), Podcast(duration="05:00")),
        (Podcast(duration="1:75"), None),  # no such time
        (Podcast(duration="1:60:00"), None),
        (Podcast(duration="1h 2m"), None),
        (Podcast(duration="0"), None),
        (Podcast(duration="1:2:3:4"), None),
        (Podcast(duration="9" * 40), None),
        (Podcast(explicit="yes"), Podcast(explicit="yes")),
        (Podcast(explicit="True"), Podcast(explicit="yes")),
        (Podcast(explicit="false"), Podcast(explicit="no")),
        (Podcast(explicit="no"), Podcast(explicit="no")),
        (Podcast(explicit="clean"), Podcast(explicit="clean")),
        (Podcast(explicit="maybe"), None),
        (
            Podcast(image="https://cdn.example/cover.jpg"),
            Podcast(image="https://cdn.example/cover.jpg"),
        ),
        (Podcast(image="cover.png"), Podcast(image="https://pod.example/show/cover.png")),
        (Podcast(image="javascript:alert(1)//.jpg"), None),
        (Podcast(image="data:image/png;base64,AAAA.png"), None),
        (Podcast(image="https://cdn.example/cover.gif"), None),  # Apple's rule: jpg or png
        (Podcast(episode=12), Podcast(episode=12)),
        (Podcast(episode=0), None),
        (Podcast(episode=-3), None),
        (Podcast(episode=10**9), None),
        (
            Podcast(duration="bad", image="https://cdn.example/c.jpg", explicit="x", episode=2),
            Podcast(image="https://cdn.example/c.jpg", episode=2),
        ),
    ],
)
def test_clean_podcast(raw: Podcast, expected: Podcast | None) -> None:
    assert clean_podcast(raw, "https://pod.example/show/") == expected


EPISODES = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="{NS_ITUNES}"><channel><title>Pod</title>
<link>https://pod.example/</link>
<item><guid>e1</guid><title>Folge 1</title><link>https://pod.example/1</link>
 <description>Eins</description><pubDate>Sat, 10 May 2025 12:00:00 +0000</pubDate>
 <enclosure url="https://cdn.example/e1.mp3" length="12345678" type="audio/mpeg"/>
 <itunes:duration>1:02:03</itunes:duration><itunes:image href="https://cdn.example/e1.jpg"/>
 <itunes:explicit>true</itunes:explicit><itunes:episode>1</itunes:episode></item>
<item><guid>e2</guid><title>Folge 2</title><link>https://pod.example/2</link>
 <description>Zwei</description><pubDate>Sat, 10 May 2025 11:00:00 +0000</pubDate>
 <enclosure url="https://cdn.example/e2.m4a" type="audio/x-m4a"/>
 <itunes:duration>45:07</itunes:duration><itunes:explicit>clean</itunes:explicit>
 <itunes:image href="javascript:alert(1)//.jpg"/><itunes:episode>-3</itunes:episode></item>
<item><guid>e3</guid><title>Ohne</title><link>https://pod.example/3</link>
 <description>Drei</description><pubDate>Sat, 10 May 2025 10:00:00 +0000</pubDate></item>
</channel></rss>"""


def test_itunes_tags_are_read_as_written() -> None:
    first, second, third = parse_feed(EPISODES.encode(), url="https://pod.example/feed").entries
    # feedparser turns Apple's "true" into None; it is read from the XML.
    assert first.podcast == Podcast(
        duration="1:02:03", image="https://cdn.example/e1.jpg", explicit="true", episode=1
    )
    assert second.podcast == Podcast(
        duration="45:07", image="javascript:alert(1)//.jpg", explicit="clean"
    )
    assert third.podcast is None


def test_hostile_itunes_values_cost_only_themselves() -> None:
    body = EPISODES.replace(
        "<itunes:episode>1</itunes:episode>", f"<itunes:episode>{'9' * 5000}</itunes:episode>"
    )
    body = body.replace(
        "<itunes:duration>1:02:03</itunes:duration>",
        f"<itunes:duration>{'1:' * 5000}</itunes:duration>",
    )
    first, second, _ = parse_feed(body.encode(), url="https://pod.example/feed").entries
    assert first.podcast is not None and first.podcast.episode is None
    assert clean_podcast(first.podcast, None) == Podcast(
        image="https://cdn.example/e1.jpg", explicit="yes"
    )
    assert second.podcast is not None and second.podcast.duration == "45:07"


def test_an_enclosure_length_of_thousands_of_digits_is_unknown() -> None:
    body = EPISODES.replace('length="12345678"', f'length="{"9" * 5000}"')
    first = parse_feed(body.encode(), url="https://pod.example/feed").entries[0]
    assert first.enclosures[0].length is None
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {"id": "1", "content_text": "x",
             "attachments": [{"url": "https://cdn.example/a.mp3", "mime_type": "audio/mpeg",
                              "size_in_bytes": "9" * 5000}]},
        ],
    }  # fmt: skip
    (item,) = parse_feed(json.dumps(document).encode(), url="https://j.example/").entries
    assert item.enclosures[0].length is None


def test_store_keeps_the_podcast_tags(store: ArticleStore) -> None:
    podcast = Podcast(duration="45:07", image="https://cdn.example/c.jpg", explicit="no", episode=7)

    def article(entry: str, podcast: Podcast | None) -> Article:
        return Article(
            id=article_id("S", entry), source="S", entry_id=entry, title=entry, link=None,
            summary="", content="<p>x</p>", authors=(), published=NOW, updated=NOW,
            categories=("C",), language=None, podcast=podcast,
        )  # fmt: skip

    store.upsert_articles("S", [article("a", podcast), article("b", None)], NOW)
    assert {a.entry_id: a.podcast for a in store.recent_articles(None, 10)} == {
        "a": podcast,
        "b": None,
    }
    # An article without tags keeps the digest it had before the field existed.
    assert article("b", None).content_hash != article("b", Podcast(episode=1)).content_hash


def test_podcast_feed_is_republished_with_its_tags(tmp_path: Path, feed_server: FeedServer) -> None:
    pod = feed_server.add("/pod", EPISODES.encode(), content_type="application/rss+xml")
    text = feed_server.add(
        "/text",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<link>https://t.example/</link><item><guid>t1</guid><title>Nur Text</title>"
        b"<description>x</description></item></channel></rss>",
        content_type="application/rss+xml",
    )
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\ntitle = "Site"\n'
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "Pod"\nurl = "{pod}"\ncategory = "Podcasts"\n'
        f'[[sources]]\nname = "Text"\nurl = "{text}"\ncategory = "Text"\n',
        encoding="utf-8",
    )
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out"
    assert_valid_atom((out / "podcasts" / "atom.xml").read_bytes())
    assert_valid_rss((out / "podcasts" / "rss.xml").read_bytes())
    assert_valid_jsonfeed((out / "podcasts" / "feed.json").read_bytes())

    rss = (out / "podcasts" / "rss.xml").read_bytes()
    first, second, third = etree.fromstring(rss).iter("item")
    enclosure = first.find("enclosure")
    assert enclosure is not None
    assert dict(enclosure.attrib) == {
        "url": "https://cdn.example/e1.mp3",
        "length": "12345678",
        "type": "audio/mpeg",
    }
    assert first.findtext(f"{IT}duration") == "1:02:03"
    assert [i.get("href") for i in first.iter(f"{IT}image")] == ["https://cdn.example/e1.jpg"]
    assert first.findtext(f"{IT}explicit") == "yes"
    assert first.findtext(f"{IT}episode") == "1"
    second_enclosure = second.find("enclosure")
    assert second_enclosure is not None
    assert second_enclosure.get("length") == "0" and second_enclosure.get("type") == "audio/x-m4a"
    assert second.findtext(f"{IT}duration") == "45:07"
    assert second.findtext(f"{IT}explicit") == "clean"
    assert second.find(f"{IT}image") is None and second.find(f"{IT}episode") is None
    assert [child.tag for child in third if child.tag.startswith(IT)] == []

    parsed = feedparser.parse(io.BytesIO(rss)).entries
    assert parsed[0].itunes_duration == "1:02:03"
    assert parsed[0].image == {"href": "https://cdn.example/e1.jpg"}
    assert parsed[0].itunes_explicit is True
    assert parsed[0].itunes_episode == "1"
    assert parsed[1].itunes_explicit is False  # clean
    assert parsed[0].enclosures[0] == {
        "href": "https://cdn.example/e1.mp3",
        "length": "12345678",
        "type": "audio/mpeg",
    }

    atom = etree.fromstring((out / "podcasts" / "atom.xml").read_bytes())
    links = [
        dict(link.attrib) for link in atom.iter(f"{ATOM}link") if link.get("rel") == "enclosure"
    ]
    assert links == [
        {"href": "https://cdn.example/e1.mp3", "rel": "enclosure", "type": "audio/mpeg",
         "length": "12345678"},
        {"href": "https://cdn.example/e2.m4a", "rel": "enclosure", "type": "audio/x-m4a"},
    ]  # fmt: skip
    items = json.loads((out / "podcasts" / "feed.json").read_bytes())["items"]
    assert items[0]["attachments"] == [
        {"url": "https://cdn.example/e1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 12345678}
    ]
    assert items[1]["attachments"] == [
        {"url": "https://cdn.example/e2.m4a", "mime_type": "audio/x-m4a"}
    ]
    # A channel without podcast tags declares no itunes namespace.
    assert NS_ITUNES.encode() not in (out / "text" / "rss.xml").read_bytes()
    combined = etree.fromstring((out / "all" / "rss.xml").read_bytes())
    assert [d.text for d in combined.iter(f"{IT}duration")] == ["1:02:03", "45:07"]


def test_atom_enclosures_always_carry_a_type(tmp_path: Path) -> None:
    article = Article(
        id=article_id("S", "1"), source="S", entry_id="1", title="T", link="https://e.org/1",
        summary="", content="<p>x</p>", authors=(), published=NOW, updated=NOW,
        categories=("C",), language=None, enclosures=(Enclosure("https://cdn.example/a"),),
    )  # fmt: skip
    site = Site(layout=OutputLayout(tmp_path, "https://news.example.org/"), title="Site")
    atom = etree.fromstring(render_atom(build_document(Category.named("C"), [article], site)))
    (link,) = (x for x in atom.iter(f"{ATOM}link") if x.get("rel") == "enclosure")
    assert dict(link.attrib) == {
        "href": "https://cdn.example/a",
        "rel": "enclosure",
        "type": "application/octet-stream",
    }
