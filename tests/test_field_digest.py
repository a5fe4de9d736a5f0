"""Digests of dataclass fields (feeds/field_digest.py), as recognition uses them:
every field counts, and no two different values feed the same bytes."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from feeds.field_digest import add_fields
from feeds.model import Author, Enclosure, Podcast, RawEntry, RawFeed, Source, SourceKind
from feeds.normalise.recognise import Recognition

TEXTS = ("title", "summary_html", "content_html")
OTHERS = tuple(f.name for f in fields(RawEntry) if f.name not in TEXTS)


def digest(entry: RawEntry) -> str:
    made = hashlib.sha256()
    add_fields(made, entry, TEXTS, OTHERS)
    return made.hexdigest()


BASE = RawEntry(
    entry_id="1",
    title="ab",
    link="https://e.example/1",
    summary_html="c",
    content_html=None,
    published="2026-12-06T10:00:00Z",
    published_guess=datetime(2026, 12, 6, 10, tzinfo=UTC),
    authors=(Author("Ann", "ann@e.example"),),
    enclosures=(Enclosure("https://e.example/a.mp3", "audio/mpeg", 3),),
)


def test_texts_never_run_into_each_other_and_none_is_not_empty() -> None:
    variants = [
        BASE,
        replace(BASE, title="a", summary_html="bc"),
        replace(BASE, title="abc", summary_html=""),
        replace(BASE, content_html=""),
        replace(BASE, summary_html=None, content_html="c"),
    ]
    assert len({digest(v) for v in variants}) == len(variants)


def test_every_field_of_an_entry_counts() -> None:
    changed = {
        "entry_id": "2",
        "title": "ab ",
        "title_is_html": False,
        "link": "https://e.example/2",
        "summary_html": "c\u0301",
        "content_html": "<p>x</p>",
        "base_url": "https://e.example/",
        "authors": (Author("Bob"),),
        "published": "2026-12-06T10:00:01Z",
        "updated": "x",
        "published_guess": datetime(2026, 12, 6, 11, tzinfo=UTC),
        "updated_guess": datetime(2026, 12, 6, 11, tzinfo=UTC),
        "tags": ("t",),
        "category": "C",
        "language": "de",
        "enclosures": (),
        "podcast": Podcast(),
        "location": "https://e.example/feed",
    }
    assert set(changed) == {f.name for f in fields(RawEntry)}  # a new field needs a case here
    base = digest(BASE)
    for name, value in changed.items():
        assert digest(replace(BASE, **{name: value})) != base, name


def test_recognition_digests_the_entry_in_its_context() -> None:
    source = Source("s", SourceKind.REMOTE, timedelta(hours=1), url="https://s.example/")
    feed = RawFeed(entries=(BASE,))
    one = Recognition(feed, source, None, "", "salt")
    other = Recognition(feed, source, None, "", "other salt")
    assert one.digest(BASE) == one.digest(replace(BASE))
    assert one.digest(BASE) != other.digest(BASE)
    assert one.digest(BASE) != one.digest(replace(BASE, title="ab", summary_html="c "))
