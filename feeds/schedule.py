"""When a source is next fetched: pure decisions from values, no I/O and no clock of its own.

The fetcher reads hints (Retry-After, Cache-Control, Expires) and the parser reads the
feed's own (RSS `ttl`, `sy:updatePeriod`, `skipHours`, `skipDays`); this module turns them,
with the source's interval and its failure count, into the next due time.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from feeds.model import Source

# However long a feed or server asks us to stay away, we look again within a day.
MAX_HINT = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=24)
# Spread sources over up to a tenth of their interval so they do not all fire together.
JITTER_FRACTION = 0.1
MAX_JITTER = timedelta(minutes=15)

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d{1,10})\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)

# A hint names where it came from ("max-age", "Expires", "ttl") and how long it asks to wait.
Hint = tuple[str, timedelta | None]


@dataclass(frozen=True, slots=True)
class NextFetch:
    """When a source is next due, and why, when that is later than its interval says:
    e.g. "ttl 60m", "max-age 2h", "Retry-After", "backoff after 3 failures"."""

    at: datetime
    reason: str | None = None


def duration_text(value: timedelta) -> str:
    """A wait as people read it in a status line: 45s, 90m, 2h, 1h30m, 3d."""
    seconds = round(value.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 120 * 60:
        return f"{round(seconds / 60)}m"
    if seconds < 48 * 3600:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{round(seconds / 86400)}d"


def _http_date(value: str) -> datetime | None:
    text = value.strip()
    if not text:  # most answers have no Expires: no parse, and no exception to catch
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a year of 20 digits
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """A Retry-After header (seconds or an HTTP date) as the time we may ask again."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit() also takes "²", which int() does not
        return now + min(timedelta(seconds=int(text[:10])), MAX_HINT)
    when = _http_date(text)
    if when is None:
        return None
    return min(max(when, now), now + MAX_HINT)


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> Hint | None:
    """How long the server says the response stays fresh (Cache-Control, else Expires),
    named after the header that said so."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match:
        return ("max-age", timedelta(seconds=int(match.group(1))))
    expires = _http_date(headers.get("expires", ""))
    if expires is not None and expires > now:
        return ("Expires", expires - now)
    return None


def next_fetch(
    source: Source,
    now: datetime,
    *,
    hints: Iterable[Hint | None] = (),
    skip_hours: frozenset[int] = frozenset(),
    skip_days: frozenset[int] = frozenset(),
    rng: random.Random | None = None,
) -> NextFetch:
    """After a successful fetch: the later of the interval and the hints (capped), plus jitter,
    moved out of the feed's skipHours (UTC hours) and skipDays (0 = Monday). The reason names
    the hint that stretched the interval, and the skip rule that moved the time."""
    wait, reason = source.interval, None
    for hint in hints:
        if hint is None or hint[1] is None:
            continue
        name, asked = hint[0], min(hint[1], MAX_HINT)
        if asked > wait:
            capped = " (capped)" if hint[1] > MAX_HINT else ""
            wait, reason = asked, f"{name} {duration_text(hint[1])}{capped}"
    jitter = min(source.interval * JITTER_FRACTION, MAX_JITTER)
    due = now + wait + jitter * (rng or random).random()
    moved = _after_skips(due, skip_hours, skip_days)
    if moved != due:
        reason = ", ".join(filter(None, (reason, "skipHours/skipDays")))
    return NextFetch(moved, reason)


def next_after_failure(
    source: Source,
    failures: int,
    now: datetime,
    *,
    not_before: datetime | None = None,
    rng: random.Random | None = None,
) -> NextFetch:
    """Capped exponential backoff with jitter, never a permanent stop; Retry-After wins if later.

    The delay is interval x 2^(failures-1), at most MAX_BACKOFF (or the interval, if longer).
    """
    delay = source.interval * (1 << min(max(failures - 1, 0), 16))
    delay = min(delay, max(MAX_BACKOFF, source.interval))
    due = now + delay + delay * JITTER_FRACTION * (rng or random).random()
    if not_before is not None and not_before > due:
        return NextFetch(not_before, "Retry-After")
    return NextFetch(due, f"backoff after {failures} failure{'s' if failures != 1 else ''}")


def _after_skips(due: datetime, skip_hours: frozenset[int], skip_days: frozenset[int]) -> datetime:
    # A feed that skips every hour or every day asks for the impossible: ignore it.
    if len(skip_hours) >= 24 or len(skip_days) >= 7:
        return due
    utc = due.astimezone(UTC)
    while utc.hour in skip_hours or utc.weekday() in skip_days:  # ends within a week
        utc = utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return utc
