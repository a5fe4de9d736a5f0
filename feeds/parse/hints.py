"""A feed's own refresh hints: RSS `ttl`, `sy:updatePeriod`/`sy:updateFrequency`,
`skipHours` and `skipDays`.

feedparser keeps `ttl` and the syndication module but flattens skipHours/skipDays to their
last value, so those two are read from the body with bounded, linear patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}
_DAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_SKIP_HOURS = re.compile(rb"<skipHours\b[^>]{0,200}>(.{0,2000}?)</skipHours>", re.S | re.I)
_SKIP_DAYS = re.compile(rb"<skipDays\b[^>]{0,200}>(.{0,2000}?)</skipDays>", re.S | re.I)
_SMALL_NUMBER = re.compile(r"[0-9]{1,6}")  # ASCII digits only: int() takes others, or refuses
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.I)
_DAY = re.compile(rb"<day>\s*([A-Za-z]{3,9})\s*</day>", re.I)


def refresh_hint(feed: Mapping[str, Any]) -> timedelta | None:
    """The longest wait the feed asks for (`ttl` minutes, or period / frequency)."""
    hints: list[timedelta] = []
    ttl = _small_number(feed.get("ttl"))
    if ttl:
        hints.append(timedelta(minutes=ttl))
    period = _PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is not None:
        hints.append(period / (_small_number(feed.get("sy_updatefrequency")) or 1))
    return max(hints, default=None)


def _small_number(value: object) -> int | None:
    """A whole number of up to six ASCII digits, else None: a hint of thousands of digits,
    or of other scripts' digits, is ignored rather than failing the feed."""
    match = _SMALL_NUMBER.fullmatch(str(value or "").strip())
    return int(match.group()) if match else None


def skip_hours(body: bytes) -> frozenset[int]:
    """The UTC hours (0-23) of an RSS channel's skipHours."""
    match = _SKIP_HOURS.search(body)
    if match is None:
        return frozenset()
    return frozenset(int(h) % 24 for h in _HOUR.findall(match.group(1)) if int(h) <= 24)


def skip_days(body: bytes) -> frozenset[int]:
    """An RSS channel's skipDays as weekday numbers (0 = Monday)."""
    match = _SKIP_DAYS.search(body)
    if match is None:
        return frozenset()
    names = (d.decode("ascii").lower() for d in _DAY.findall(match.group(1)))
    return frozenset(_DAYS[name] for name in names if name in _DAYS)
