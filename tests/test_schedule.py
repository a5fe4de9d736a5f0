"""Timing decisions with plain values: hints, Retry-After, backoff, skips, due rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from feeds.model import FetchOutcome, FetchState, Source, SourceKind
from feeds.parse.hints import refresh_hint, skip_days, skip_hours
from feeds.schedule import (
    MAX_HINT,
    NextFetch,
    cache_lifetime,
    duration_text,
    next_after_failure,
    next_fetch,
    retry_after,
)
from feeds.update.decide import is_due, url_hash

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


def test_cache_lifetime_names_the_header_that_set_it() -> None:
    hour = timedelta(hours=1)
    assert cache_lifetime({"cache-control": "public, max-age=3600"}, NOW) == ("max-age", hour)
    minute = ("max-age", timedelta(minutes=1))
    assert cache_lifetime({"cache-control": "s-maxage=60, max-age=10"}, NOW) == minute
    assert cache_lifetime({"cache-control": "no-cache, max-age=3600"}, NOW) is None
    expires = {"expires": "Fri, 27 Nov 2026 14:00:00 GMT"}
    assert cache_lifetime(expires, NOW) == ("Expires", timedelta(hours=2))
    assert cache_lifetime({"expires": "0"}, NOW) is None
    assert cache_lifetime({}, NOW) is None


def test_next_fetch_takes_the_longest_hint_capped_with_jitter() -> None:
    assert next_fetch(SOURCE, NOW, rng=NoJitter()) == NextFetch(NOW + timedelta(minutes=30))
    two_hours = ("max-age", timedelta(hours=2))
    hinted = next_fetch(SOURCE, NOW, hints=(two_hours, ("ttl", None), None), rng=NoJitter())
    assert hinted == NextFetch(NOW + timedelta(hours=2), "max-age 2h")
    shorter = next_fetch(SOURCE, NOW, hints=(("ttl", timedelta(minutes=5)),), rng=NoJitter())
    assert shorter == NextFetch(NOW + timedelta(minutes=30))  # never sooner than the interval
    capped = next_fetch(SOURCE, NOW, hints=(("ttl", timedelta(days=30)),), rng=NoJitter())
    assert capped == NextFetch(NOW + MAX_HINT, "ttl 30d (capped)")
    jittered = next_fetch(SOURCE, NOW, rng=FullJitter())
    assert NOW + timedelta(minutes=32) < jittered.at < NOW + timedelta(minutes=33)
    assert jittered.reason is None  # jitter is no reason worth showing


def test_the_longest_hint_is_the_reason() -> None:
    hints = (("max-age", timedelta(minutes=45)), ("ttl", timedelta(minutes=60)))
    assert next_fetch(SOURCE, NOW, hints=hints, rng=NoJitter()).reason == "ttl 60m"
    hints = (("Expires", timedelta(hours=3)), ("ttl", timedelta(minutes=60)))
    assert next_fetch(SOURCE, NOW, hints=hints, rng=NoJitter()).reason == "Expires 3h"
    equal = (("ttl", timedelta(minutes=30)),)  # the interval anyway: no stretch
    assert next_fetch(SOURCE, NOW, hints=equal, rng=NoJitter()).reason is None


@pytest.mark.parametrize(
    ("wait", "text"),
    [(45, "45s"), (119, "119s"), (120, "2m"), (3600, "60m"), (7200, "2h"), (5400, "90m"),
     (9000, "2h30m"), (86400, "24h"), (172800, "2d"), (0, "0s")],
)  # fmt: skip
def test_duration_text(wait: int, text: str) -> None:
    assert duration_text(timedelta(seconds=wait)) == text


def test_jitter_spreads_sources() -> None:
    rng = random.Random(7)
    times = {next_fetch(SOURCE, NOW, rng=rng).at for _ in range(50)}
    assert len(times) == 50
    assert all(NOW + timedelta(minutes=30) <= t <= NOW + timedelta(minutes=33) for t in times)


def test_skip_hours_and_days_move_the_due_time() -> None:
    due = next_fetch(SOURCE, NOW, skip_hours=frozenset({12, 13}), rng=NoJitter())
    assert due == NextFetch(datetime(2026, 11, 27, 14, 0, tzinfo=UTC), "skipHours/skipDays")
    # Friday and Saturday skipped: Sunday midnight.
    due = next_fetch(SOURCE, NOW, skip_days=frozenset({4, 5}), rng=NoJitter())
    assert due.at == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    # A feed that skips every hour is ignored rather than obeyed forever.
    due = next_fetch(SOURCE, NOW, skip_hours=frozenset(range(24)), rng=NoJitter())
    assert due == NextFetch(NOW + timedelta(minutes=30))
    both = next_fetch(
        SOURCE, NOW, hints=(("ttl", timedelta(hours=2)),), skip_hours=frozenset({14}),
        rng=NoJitter(),
    )  # fmt: skip
    assert both == NextFetch(
        datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "ttl 2h, skipHours/skipDays"
    )


def test_backoff_grows_is_capped_and_never_stops() -> None:
    delays = [
        next_after_failure(SOURCE, n, NOW, rng=NoJitter()).at - NOW for n in (1, 2, 3, 10, 100)
    ]
    assert delays == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=24),
        timedelta(hours=24),
    ]
    assert next_after_failure(SOURCE, 3, NOW, rng=NoJitter()).reason == "backoff after 3 failures"
    assert next_after_failure(SOURCE, 1, NOW, rng=NoJitter()).reason == "backoff after 1 failure"
    later = NOW + timedelta(hours=5)
    assert next_after_failure(SOURCE, 1, NOW, not_before=later, rng=NoJitter()) == NextFetch(
        later, "Retry-After"
    )
    sooner = NOW + timedelta(minutes=1)  # Retry-After shorter than the backoff: backoff wins
    assert next_after_failure(SOURCE, 2, NOW, not_before=sooner, rng=NoJitter()).reason == (
        "backoff after 2 failures"
    )


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


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "\u00b2"},  # a digit to str.isdigit(), not to int()
        {"retry-after": "\u00b9\u00b2"},
        {"retry-after": "Mon, 07 Dec 2026 10:00:00 +99999999999999999999"},
        {"expires": "Mon, 07 Dec 99999999999999999999 10:00:00 GMT"},
    ],
)
def test_a_date_or_number_no_calendar_holds_is_ignored(headers: dict[str, str]) -> None:
    """Each once raised out of the fetch's bookkeeping, every run: a valid feed with such an
    Expires was never stored."""
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert retry_after(headers.get("retry-after"), now) is None
    assert cache_lifetime(headers, now) is None
