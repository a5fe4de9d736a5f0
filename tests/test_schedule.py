"""Timing decisions with plain values: hints, Retry-After, backoff, skips, due rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from feeds.model import FetchOutcome, FetchState, Source, SourceKind
from feeds.parse.hints import refresh_hint, skip_days, skip_hours
from feeds.pipeline import is_due, url_hash
from feeds.schedule import (
    MAX_HINT,
    cache_lifetime,
    next_after_failure,
    next_fetch,
    retry_after,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
SOURCE = Source(
    name="s",
    kind=SourceKind.REMOTE,
    interval=timedelta(minutes=30),
    url="https://example.org/f",
    category="C",
)


class NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


class FullJitter(random.Random):
    def random(self) -> float:
        return 0.999999


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after("120", NOW) == NOW + timedelta(seconds=120)
    assert retry_after("Fri, 27 Nov 2026 13:00:00 GMT", NOW) == NOW + timedelta(hours=1)
    assert retry_after("Fri, 27 Nov 2026 11:00:00 GMT", NOW) == NOW  # in the past: now
    assert retry_after("999999999", NOW) == NOW + MAX_HINT  # capped
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None


def test_cache_lifetime() -> None:
    assert cache_lifetime({"cache-control": "public, max-age=3600"}, NOW) == timedelta(hours=1)
    assert cache_lifetime({"cache-control": "s-maxage=60, max-age=10"}, NOW) == timedelta(minutes=1)
    assert cache_lifetime({"cache-control": "no-cache, max-age=3600"}, NOW) is None
    assert cache_lifetime({"expires": "Fri, 27 Nov 2026 14:00:00 GMT"}, NOW) == timedelta(hours=2)
    assert cache_lifetime({"expires": "0"}, NOW) is None
    assert cache_lifetime({}, NOW) is None


def test_next_fetch_takes_the_longest_hint_capped_with_jitter() -> None:
    assert next_fetch(SOURCE, NOW, rng=NoJitter()) == NOW + timedelta(minutes=30)
    hinted = next_fetch(SOURCE, NOW, hints=(timedelta(hours=2), None), rng=NoJitter())
    assert hinted == NOW + timedelta(hours=2)
    shorter = next_fetch(SOURCE, NOW, hints=(timedelta(minutes=5),), rng=NoJitter())
    assert shorter == NOW + timedelta(minutes=30)  # never sooner than the interval
    capped = next_fetch(SOURCE, NOW, hints=(timedelta(days=30),), rng=NoJitter())
    assert capped == NOW + MAX_HINT
    jittered = next_fetch(SOURCE, NOW, rng=FullJitter())
    assert NOW + timedelta(minutes=32) < jittered < NOW + timedelta(minutes=33)


def test_jitter_spreads_sources() -> None:
    rng = random.Random(7)
    times = {next_fetch(SOURCE, NOW, rng=rng) for _ in range(50)}
    assert len(times) == 50
    assert all(NOW + timedelta(minutes=30) <= t <= NOW + timedelta(minutes=33) for t in times)


def test_skip_hours_and_days_move_the_due_time() -> None:
    due = next_fetch(SOURCE, NOW, skip_hours=frozenset({12, 13}), rng=NoJitter())
    assert due == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    # Friday and Saturday skipped: Sunday midnight.
    due = next_fetch(SOURCE, NOW, skip_days=frozenset({4, 5}), rng=NoJitter())
    assert due == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    # A feed that skips every hour is ignored rather than obeyed forever.
    due = next_fetch(SOURCE, NOW, skip_hours=frozenset(range(24)), rng=NoJitter())
    assert due == NOW + timedelta(minutes=30)


def test_backoff_grows_is_capped_and_never_stops() -> None:
    delays = [next_after_failure(SOURCE, n, NOW, rng=NoJitter()) - NOW for n in (1, 2, 3, 10, 100)]
    assert delays == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=24),
        timedelta(hours=24),
    ]
    later = NOW + timedelta(hours=5)
    assert next_after_failure(SOURCE, 1, NOW, not_before=later, rng=NoJitter()) == later


@pytest.mark.parametrize(
    ("state", "force", "due"),
    [
        (None, False, True),
        (FetchState("s", next_due=NOW + timedelta(minutes=1)), False, False),
        (FetchState("s", next_due=NOW + timedelta(minutes=1)), True, True),
        (FetchState("s", next_due=NOW - timedelta(minutes=1)), False, True),
        (FetchState("s", next_due=NOW, retry_after=NOW + timedelta(minutes=5)), True, False),
        (FetchState("s", retry_after=NOW - timedelta(minutes=5)), False, True),
        (
            FetchState(
                "s", last_outcome=FetchOutcome.GONE, config_hash=url_hash("https://example.org/f")
            ),
            True,
            False,
        ),
        (
            FetchState("s", last_outcome=FetchOutcome.GONE, config_hash=url_hash("https://old/")),
            False,
            True,
        ),
    ],
)
def test_due_rules(state: FetchState | None, force: bool, due: bool) -> None:
    assert is_due(SOURCE, state, NOW, force=force) is due


def test_feed_hints_from_the_parsed_feed_and_the_body() -> None:
    assert refresh_hint({"ttl": "90"}) == timedelta(minutes=90)
    assert refresh_hint({"sy_updateperiod": "daily", "sy_updatefrequency": "4"}) == timedelta(
        hours=6
    )
    assert refresh_hint({"ttl": "60", "sy_updateperiod": "daily"}) == timedelta(days=1)
    assert refresh_hint({"ttl": "soon", "sy_updateperiod": "fortnightly"}) is None
    body = (
        b"<rss><channel><skipHours><hour>0</hour><hour> 7 </hour><hour>24</hour></skipHours>"
        b"<skipDays><day>Saturday</day><day>Sunday</day><day>Caturday</day></skipDays>"
    )
    assert skip_hours(body) == {0, 7}
    assert skip_days(body) == {5, 6}
    assert skip_hours(b"<rss/>") == frozenset()
