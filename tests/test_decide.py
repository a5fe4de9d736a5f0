"""The update decisions with plain values: no server, no store, no event loop."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from feeds.model import FetchOutcome, FetchState, Source, SourceKind
from feeds.schedule import JITTER_FRACTION, MAX_JITTER, NextFetch
from feeds.update import decide

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=30)
SOURCE = Source(
    name="s",
    kind=SourceKind.REMOTE,
    interval=INTERVAL,
    url="https://example.org/feed",
    category="C",
)
KNOWN = FetchState(
    source="s",
    url="https://example.org/feed",
    config_hash=decide.url_hash("https://example.org/feed"),
    etag='"v1"',
    last_modified="Thu, 26 Nov 2026 10:00:00 GMT",
    body_hash="abc",
    last_fetch=NOW - INTERVAL,
    last_outcome=FetchOutcome.NEW,
    next_due=NOW,
    feed_title="Feed",
)


def within_jitter(due: datetime, wait: timedelta) -> bool:
    return NOW + wait <= due <= NOW + wait + min(INTERVAL * JITTER_FRACTION, MAX_JITTER)


def test_a_304_keeps_the_validators_and_forgets_failures() -> None:
    state = replace(KNOWN, error_count=2, last_error="timeout")
    tried = decide.attempted(SOURCE, state, decide.fetch_url(SOURCE, state), NOW, 304)
    assert tried.last_status == 304 and tried.last_fetch == NOW and tried.retry_after is None
    fetched = decide.answered(tried, state, {}, None)
    assert (fetched.etag, fetched.last_modified) == (KNOWN.etag, KNOWN.last_modified)
    assert decide.is_unchanged(state, status=304, body_hash=None)
    due = decide.due_after_fetch(SOURCE, NOW, {})
    after = decide.succeeded(fetched, FetchOutcome.NOT_MODIFIED, NOW, due)
    assert after.last_outcome is FetchOutcome.NOT_MODIFIED
    assert after.error_count == 0 and after.last_error is None
    assert within_jitter(after.next_due or NOW, INTERVAL) and after.due_reason is None


def test_the_same_bytes_again_count_as_not_modified_but_new_bytes_do_not() -> None:
    assert decide.is_unchanged(KNOWN, status=200, body_hash="abc")
    assert not decide.is_unchanged(KNOWN, status=200, body_hash="def")


def test_a_200_with_entries_takes_new_validators_and_the_feed_ttl() -> None:
    tried = decide.attempted(SOURCE, KNOWN, KNOWN.url or "", NOW, 200)
    headers = {"etag": '"v2"', "cache-control": "max-age=600"}
    fetched = decide.answered(tried, KNOWN, headers, None)
    assert fetched.etag == '"v2"'
    assert fetched.last_modified == KNOWN.last_modified  # not sent again: the old one stays
    due = decide.due_after_fetch(SOURCE, NOW, headers, refresh_hint=timedelta(hours=2))
    assert due.reason == "ttl 2h"
    assert NOW + timedelta(hours=2) <= due.at
    saved = decide.stored(
        fetched, NOW, due, errors=("entry 3: no date",), title=None, site_url="https://e.org/"
    )
    assert saved.last_outcome is FetchOutcome.NEW
    assert saved.feed_title == ""  # read, and the feed names no title
    assert saved.site_url == "https://e.org/" and saved.warnings == "entry 3: no date"
    assert saved.next_due == due.at and saved.due_reason == "ttl 2h"


def test_warnings_kept_for_status_are_bounded() -> None:
    errors = tuple(f"entry {n}: " + "x" * 100 for n in range(100))
    saved = decide.stored(KNOWN, NOW, NextFetch(NOW), errors=errors, title="t", site_url=None)
    assert saved.warnings is not None and len(saved.warnings) == decide.WARNINGS_LIMIT


def test_410_disables_the_source_until_its_url_changes() -> None:
    tried = decide.attempted(SOURCE, KNOWN, KNOWN.url or "", NOW, 410)
    failure = decide.failed(SOURCE, tried, status=410, headers={}, error="HTTP 410", now=NOW)
    assert failure.outcome is FetchOutcome.GONE and failure.error == "HTTP 410; disabled"
    assert failure.state.next_due is None and failure.state.last_error == "HTTP 410"
    assert decide.is_gone(SOURCE, failure.state)
    assert not decide.is_due(SOURCE, failure.state, NOW + timedelta(days=30), force=True)
    moved = replace(SOURCE, url="https://example.org/new-feed")
    assert not decide.is_gone(moved, failure.state)
    assert decide.is_due(moved, failure.state, NOW, force=True)


def test_429_with_retry_after_holds_the_source_back_until_then() -> None:
    failure = decide.failed(
        SOURCE,
        KNOWN,
        status=429,
        headers={"retry-after": "7200"},
        error="HTTP 429",
        now=NOW,
    )
    assert failure.outcome is FetchOutcome.FAILED
    assert failure.state.retry_after == NOW + timedelta(hours=2)
    assert failure.state.next_due == NOW + timedelta(hours=2)
    assert failure.state.due_reason == "Retry-After"
    assert failure.error == "HTTP 429 (retry after 2026-11-27 14:00:00 UTC)"
    assert not decide.is_due(SOURCE, failure.state, NOW + timedelta(hours=1), force=True)
    assert decide.is_due(SOURCE, failure.state, NOW + timedelta(hours=2))


def test_a_failure_after_n_failures_backs_off_and_logs_only_the_first() -> None:
    first = decide.failed(SOURCE, KNOWN, status=None, headers={}, error="timeout", now=NOW)
    assert first.state.error_count == 1 and first.log_level == logging.WARNING
    assert first.state.retry_after is None
    fourth = decide.failed(
        SOURCE, replace(KNOWN, error_count=3), status=500, headers={}, error="HTTP 500", now=NOW
    )
    assert fourth.state.error_count == 4 and fourth.log_level == logging.DEBUG
    assert fourth.state.due_reason == "backoff after 4 failures"
    assert (fourth.state.next_due or NOW) >= NOW + 8 * INTERVAL
    assert fourth.state.last_outcome is FetchOutcome.FAILED
    missing = decide.failed(SOURCE, KNOWN, status=None, headers={}, error=None, now=NOW)
    assert missing.error == "unknown error"


def test_a_permanent_redirect_is_kept_only_while_the_config_names_the_same_url() -> None:
    tried = decide.attempted(SOURCE, KNOWN, KNOWN.url or "", NOW, 200)
    moved = decide.answered(tried, KNOWN, {}, "https://example.org/moved")
    assert moved.url == "https://example.org/moved"
    assert decide.fetch_url(SOURCE, moved) == "https://example.org/moved"
    edited = replace(SOURCE, url="https://example.org/other")
    assert decide.fetch_url(edited, moved) == "https://example.org/other"
    assert decide.attempted(edited, moved, "https://example.org/other", NOW, 200).config_hash == (
        decide.url_hash("https://example.org/other")
    )


def test_a_state_read_before_feed_titles_were_kept_is_fetched_unconditionally() -> None:
    old = replace(KNOWN, feed_title=None)
    prepared = decide.before_fetch(old)
    assert prepared is not None
    assert (prepared.etag, prepared.last_modified, prepared.body_hash) == (None, None, None)
    assert decide.before_fetch(KNOWN) == KNOWN
    assert decide.before_fetch(None) is None


def test_local_sources_are_always_due_and_next_due_after_their_interval() -> None:
    local = Source(name="l", kind=SourceKind.LOCAL, interval=INTERVAL, category="C")
    assert decide.is_due(local, replace(KNOWN, next_due=NOW + timedelta(days=1)), NOW)
    assert decide.due_after_local_read(local, NOW) == NextFetch(NOW + INTERVAL)


def test_claim_room_keeps_a_few_times_the_concurrency_in_flight() -> None:
    assert decide.claim_room(8, 0) == decide.CLAIM_BATCH * 8
    assert decide.claim_room(8, 31) == 1
    assert decide.claim_room(8, 32) == 0
    assert decide.claim_room(8, 40) == 0
    # A one-shot run claims again only once half of its batch is done.
    assert decide.claim_room(8, 17, refill_at_half=True) == 0
    assert decide.claim_room(8, 16, refill_at_half=True) == 16


def test_a_shorter_interval_applies_now_and_a_longer_one_waits() -> None:
    state = replace(KNOWN, last_fetch=NOW, next_due=NOW + timedelta(hours=2), due_reason="ttl 2h")
    hourly = replace(SOURCE, interval=timedelta(hours=1))
    sooner = decide.after_interval_change(hourly, SOURCE, state)
    assert sooner is not None
    assert sooner.next_due == NOW + INTERVAL and sooner.due_reason is None
    assert decide.after_interval_change(SOURCE, hourly, state) is None
    assert decide.after_interval_change(hourly, SOURCE, None) is None
    assert decide.after_interval_change(hourly, SOURCE, replace(state, last_fetch=None)) is None


def test_a_long_publish_quiets_the_next_one_in_proportion() -> None:
    assert decide.quiet_until(100.0, 2.0) == 100.0 + decide.PUBLISH_BACKOFF * 2.0
