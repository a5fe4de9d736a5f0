"""`feeds.quick_pickle`: the dataclasses that cross between the parser workers and the main
process in bulk pickle to the same values, faster than `dataclasses` pickles them."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from feeds.model import (
    Article,
    Author,
    Enclosure,
    FullText,
    Podcast,
    RawEntry,
    RetireBefore,
    Source,
    SourceKind,
)
from feeds.normalise.article import HeldEntries, HeldEntry, NormalisedFeed, Prepared
from feeds.quick_pickle import quick_pickle
from feeds.workers import BodyJob, Digest

WHEN = datetime(2026, 12, 6, 10, 30, tzinfo=timezone(timedelta(hours=1)))
AUTHORS = (Author("Ann", "ann@example.org", "https://ann.example/"), Author("Bo"))
ENCLOSURES = (Enclosure("https://a.example/1.mp3", "audio/mpeg", 1234),)
PODCAST = Podcast("12:00", "https://a.example/i.jpg", "no", 3)
RAW = RawEntry(
    "id-1", "Tïtle", False, "https://a.example/1", "<p>s</p>", "<p>c</p>", "https://a.example/",
    AUTHORS, "Sun, 06 Dec 2026 10:30:00 +0100", "2026-12-06T10:30:00+01:00", WHEN, WHEN,
    ("t1", "t2"), "Welt", "de", ENCLOSURES, PODCAST, "https://a.example/feed",
)  # fmt: skip
SOURCE = Source(
    name="a", kind=SourceKind.REMOTE, interval=timedelta(minutes=20),
    url="https://a.example/feed", category="Welt", language="de", timezone="Europe/Berlin",
    full_text=True, content_selector="article .body",
)  # fmt: skip


def article() -> Article:
    return Article(
        id="urn:uuid:1", source="a", entry_id="id-1", title="T", link=None, summary="s",
        content="<p>c</p>", authors=AUTHORS, published=WHEN, updated=WHEN + timedelta(hours=1),
        categories=("Welt",), language="de", enclosures=ENCLOSURES, tags=("t",),
        podcast=PODCAST, full_text=FullText("h", "timed out", '"e"', "Sun, 06 Dec 2026"),
    )  # fmt: skip


def values(obj: Any) -> list[Any]:
    return [getattr(obj, f.name) for f in fields(obj)]


def examples() -> list[Any]:
    prepared = Prepared(RAW, "id-1", "Welt", WHEN, WHEN)
    held = HeldEntries.pack([prepared], "https://a.example/", "de", None)
    normalised = NormalisedFeed(
        (article(),), ("an error",), frozenset({"id-1"}), "Feed", "https://a.example/", 2, 3,
        "ab" * 16, frozenset({"old"}), held,
    )  # fmt: skip
    return [
        SOURCE, ENCLOSURES[0], AUTHORS[0], PODCAST, RAW, article().full_text, article(),
        RetireBefore(WHEN, frozenset({"x"}), True, WHEN), normalised, prepared,
        HeldEntry("id-1", "Welt", WHEN), held,
        BodyJob(b"<rss/>", "https://a.example/feed", {"etag": "e"}, SOURCE, WHEN, None, "", "s"),
        Digest(normalised, None, ("w",), 60.0, frozenset({1}), frozenset({2})),
    ]  # fmt: skip


@pytest.mark.parametrize("obj", examples(), ids=lambda obj: type(obj).__name__)
def test_each_class_round_trips_with_every_field(obj: Any) -> None:
    assert type(obj).__getstate__.__qualname__.startswith("quick_pickle.")
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(obj, protocol))
        assert type(back) is type(obj)
        assert values(back) == values(obj)
        assert back == obj


def test_an_articles_content_hash_travels_with_it() -> None:
    """Taken in the worker, it is read in the main process, not taken again."""
    taken = article()
    digest = taken.content_hash
    back = pickle.loads(pickle.dumps(taken, pickle.HIGHEST_PROTOCOL))
    assert back._content_hash == digest
    fresh = pickle.loads(pickle.dumps(article(), pickle.HIGHEST_PROTOCOL))
    assert fresh._content_hash is None and fresh.content_hash == digest


def test_a_state_written_by_dataclasses_own_pickling_still_loads() -> None:
    obj = Author.__new__(Author)
    obj.__setstate__(["Ann", "ann@example.org", None])  # the list `dataclasses` writes
    assert obj == Author("Ann", "ann@example.org")
    with pytest.raises(ValueError):  # a state of other fields is refused, not half loaded
        Author.__new__(Author).__setstate__(["Ann"])


def test_only_frozen_slotted_dataclasses_are_taken() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int
        b: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int
        b: int

    class Plain:
        pass

    for cls in (NoSlots, NotFrozen, Plain):
        with pytest.raises(TypeError, match="not a frozen dataclass with slots"):
            quick_pickle(cls)


def test_a_dated_article_keeps_its_offset() -> None:
    utc = pickle.loads(pickle.dumps(article(), pickle.HIGHEST_PROTOCOL)).published
    assert utc == WHEN and utc.utcoffset() == timedelta(hours=1)
    assert utc.astimezone(UTC).hour == 9
