"""What an update does to a source's state: pure functions of values, no store, no network.

The run (`feeds.update.run`) reads a source, hands what came back to these functions and
writes the `FetchState` they return; the daemon asks them how much to claim and how a
changed interval moves a due time. Timing formulas (backoff, hints, jitter) are in
`feeds.schedule`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from feeds.model import FetchOutcome, FetchState, Source
from feeds.normalise.warnings import LINE_LIMIT
from feeds.request_options import header_safe
from feeds.schedule import NextFetch, cache_lifetime, next_after_failure, next_fetch, retry_after
from feeds.shorten import shorten
from feeds.sources.kinds import describe

CLAIM_BATCH = 4  # sources claimed at a time, per unit of fetch concurrency
# The daemon's shortest wait for the next due time: sources coming due close together are
# claimed together, not one query each.
CLAIM_GAP = 0.5
WARNINGS_LIMIT = 2000  # characters of a source's warnings kept for `feeds status`
PUBLISH_BACKOFF = 5.0  # publish at most 1/5 of the time while changes keep coming


def url_hash(url: str) -> str:
    """Digest of a configured URL: tells whether the config changed since a state was saved."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def is_gone(source: Source, state: FetchState | None) -> bool:
    """410 Gone holds until the config names another URL for the source."""
    return (
        state is not None
        and state.last_outcome is FetchOutcome.GONE
        and source.url is not None
        and state.config_hash == url_hash(source.url)
    )


def is_due(source: Source, state: FetchState | None, now: datetime, *, force: bool = False) -> bool:
    """Whether to read `source` now.

    A kind that is not scheduled (local files: cheap, they ask no host for anything) is
    always due. A scheduled source is due when its next due time has come (`force`: at
    once), but never before a server's Retry-After and never after a 410 Gone, forced or not.
    """
    if not describe(source.kind).scheduled:
        return True
    if state is None:
        return True
    if is_gone(source, state) or (state.retry_after is not None and state.retry_after > now):
        return False
    return force or state.next_due is None or state.next_due <= now


# --------------------------------------------------------------------------- a remote fetch


def fetch_url(source: Source, state: FetchState | None) -> str:
    """The URL to ask: one learnt from a permanent redirect, until the config changes."""
    assert source.url is not None
    if state is not None and state.url and state.config_hash == url_hash(source.url):
        return state.url
    return source.url


def before_fetch(state: FetchState | None) -> FetchState | None:
    """The state whose validators go out with the request."""
    if state is not None and state.feed_title is None and state.last_outcome is not None:
        # Read before the store kept feed titles: fetch and parse the body once more,
        # unconditionally, to learn the title and site its entries are credited with.
        return without_validators(state)
    return state


def without_validators(state: FetchState) -> FetchState:
    """`state` with nothing that could take the next read for unchanged: no ETag, no
    Last-Modified, no digest of the body, so the feed is fetched and read whole."""
    return replace(state, etag=None, last_modified=None, body_hash=None)


def attempted(
    source: Source, state: FetchState | None, url: str, now: datetime, status: int | None
) -> FetchState:
    """The state after asking `url` at `now`, whatever the answer."""
    assert source.url is not None
    return replace(
        state or FetchState(source=source.name),
        url=url,
        config_hash=url_hash(source.url),
        last_fetch=now,
        last_status=status,
        retry_after=None,
    )


def answered(
    tried: FetchState,
    previous: FetchState,
    headers: Mapping[str, str],
    permanent_url: str | None,
) -> FetchState:
    """The state after a 200 or 304: validators refreshed, and the URL a permanent redirect
    led to (kept only from a response that turned out to be a feed)."""
    return replace(
        tried,
        url=permanent_url or tried.url,
        etag=_sendable(headers.get("etag"), previous.etag),
        last_modified=_sendable(headers.get("last-modified"), previous.last_modified),
    )


def _sendable(value: str | None, kept: str | None) -> str | None:
    """A validator the server sent, if it can go back in a request header (`header_safe`),
    else the one `kept`: a server's "café" ETag, stored, once
    failed every later request before it was sent."""
    if value is None:
        return kept
    return value if header_safe(value) else kept


def is_unchanged(previous: FetchState, *, status: int | None, body_hash: str | None) -> bool:
    """A 304, or the same bytes again: no parse and no write but the state's."""
    return status == 304 or body_hash == previous.body_hash


def due_after_fetch(
    source: Source,
    now: datetime,
    headers: Mapping[str, str],
    *,
    refresh_hint: timedelta | None = None,
    skip_hours: frozenset[int] = frozenset(),
    skip_days: frozenset[int] = frozenset(),
) -> NextFetch:
    """When a source answered with a feed (or a 304) is next due: its interval, stretched
    by the server's cache lifetime and the feed's own ttl, out of its skip hours and days."""
    hints = (cache_lifetime(headers, now), ("ttl", refresh_hint))
    return next_fetch(source, now, hints=hints, skip_hours=skip_hours, skip_days=skip_days)


def due_after_local_read(source: Source, now: datetime) -> NextFetch:
    """A local source asks no host: its interval, no jitter."""
    return NextFetch(now + source.interval)


# --------------------------------------------------------------------------- outcomes


def succeeded(
    state: FetchState, outcome: FetchOutcome, now: datetime, next_due: NextFetch
) -> FetchState:
    """The state after a read that worked (a feed, or nothing new): failures forgotten."""
    return replace(
        state,
        last_fetch=now,
        last_outcome=outcome,
        next_due=next_due.at,
        due_reason=next_due.reason,
        error_count=0,
        last_error=None,
    )


def stored(
    state: FetchState,
    now: datetime,
    next_due: NextFetch,
    *,
    errors: Sequence[str],
    title: str | None,
    site_url: str | None,
    entry_digests: str | None = None,
) -> FetchState:
    """The state written with a source's articles: what the feed says about itself, what
    reading it had to recover from, and the entries the next read need not normalise again
    (`entry_digests`; None: every entry is normalised)."""
    return replace(
        succeeded(state, FetchOutcome.NEW, now, next_due),
        warnings="; ".join(errors)[:WARNINGS_LIMIT] or None,
        feed_title=title or "",  # "": read, and the feed names no title
        site_url=site_url,
        entry_digests=entry_digests,
    )


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed read does: the state to write, the outcome, the message to report and
    the level to log it at."""

    state: FetchState
    outcome: FetchOutcome
    error: str
    log_level: int


def failed(
    source: Source,
    state: FetchState,
    *,
    status: int | None,
    headers: Mapping[str, str],
    error: str | None,
    now: datetime,
) -> Failure:
    """The state after a failed fetch or parse: 410 disables the source until its URL
    changes; otherwise a backoff after the failures in a row, never before a 429 or 503's
    Retry-After."""
    message = shorten(error or "unknown error", LINE_LIMIT)
    if status == 410:
        gone = replace(
            state,
            last_outcome=FetchOutcome.GONE,
            last_error=message,
            next_due=None,
            due_reason=None,
        )
        return Failure(gone, FetchOutcome.GONE, f"{message}; disabled", logging.WARNING)
    failures = state.error_count + 1
    not_before = None
    if status in (429, 503):
        not_before = retry_after(headers.get("retry-after"), now)
        if not_before is not None:
            message += f" (retry after {not_before:%Y-%m-%d %H:%M:%S} UTC)"
    due = next_after_failure(source, failures, now, not_before=not_before)
    after = replace(
        state,
        last_outcome=FetchOutcome.FAILED,
        error_count=failures,
        last_error=message,
        retry_after=not_before,
        next_due=due.at,
        due_reason=due.reason,
    )
    # One warning when a source starts failing (and one info line when it recovers); repeats
    # are debug, so thousands of sources that stay down do not flood the daemon's log.
    level = logging.WARNING if failures == 1 else logging.DEBUG
    return Failure(after, FetchOutcome.FAILED, message, level)


# --------------------------------------------------------------------------- the loop's policy


def claim_room(concurrency: int, running: int, *, refill_at_half: bool = False) -> int:
    """How many sources to claim now, with `running` claimed and not done: at most a few
    times the concurrency, so no lease waits in a queue long enough to expire and be
    claimed again by another worker. `refill_at_half`: claim only once half is done (a
    one-shot run, where each claim costs a query and the slow sources of one claim never
    leave slots idle)."""
    batch = CLAIM_BATCH * concurrency
    if refill_at_half and running > batch // 2:
        return 0
    return max(0, batch - running)


def claim_wait(tick: float, now: datetime, next_due: datetime | None) -> float:
    """Seconds the daemon waits, after a claim that found nothing more due, before it looks
    again: until the next due time, but at least CLAIM_GAP and at most a `tick`."""
    if next_due is None:
        return tick
    return min(tick, max(CLAIM_GAP, (next_due - now).total_seconds()))


def after_interval_change(
    before: Source, after: Source, state: FetchState | None
) -> FetchState | None:
    """A shorter interval applies now, not after the old, longer wait has run out: the
    state to save, or None when the due time stands."""
    if state is None or state.last_fetch is None:
        return None
    sooner = state.last_fetch + after.interval
    if after.interval < before.interval and state.next_due and sooner < state.next_due:
        return replace(state, next_due=sooner, due_reason=None)
    return None


def quiet_until(started: float, seconds: float) -> float:
    """While changes keep coming, after a publish that took `seconds` the next waits
    PUBLISH_BACKOFF times as long, so rendering never crowds out fetching and storing."""
    return started + PUBLISH_BACKOFF * seconds
