"""Dates as feeds and editors write them, read into timezone-aware datetimes.

feedparser misreads some common forms (it takes zone names such as CEST as UTC and does not
know day-first or German dates), so `parse_date` reads these forms deliberately and gives
up on anything else, letting the caller fall back rather than keep a wrong date:

- RFC 822/1123/2822: ``Sat, 10 May 2025 11:33:00 +0200``, with or without weekday and
  seconds, two-digit years, a zone name or offset, and a trailing ``(CEST)`` comment.
- ISO 8601 / RFC 3339: ``2025-05-10T11:33:00.5+02:00``, ``2025-05-10 11:33``,
  ``2025-05-10``, ``2025/05/10``, basic ``20250510T113300Z``; ``24:00`` ends the day.
- Day-first numeric: ``10.05.2025 11:33:45``, ``10.5.25``.
- English and German month names, full or abbreviated, with or without a dot:
  ``10. Mai 2025, 11:33 Uhr``, ``May 10th, 2025 at 11:33 AM``, ``10-Mrz-2025``, and
  asctime / date(1) output ``Sat May 10 11:33:00 CEST 2025``.
- Epoch seconds (9-10 digits) and milliseconds (13 digits), as UTC.

Decisions:

- A leading weekday (English or German) is skipped, not checked: feeds get it wrong.
- Zones are numeric offsets (``+02``, ``+0200``, ``+02:00``, ``GMT+2``, ``UTC-05:30``; as
  people write them, so ``GMT+2`` is two hours ahead, unlike POSIX ``Etc/GMT+2``) or a
  name in `ZONE_OFFSETS`. Ambiguous names get one reading: IST is India (+05:30), not
  Ireland or Israel; BST is British Summer Time; CST is US Central, as in RFC 822.
- An unknown zone name, military letters other than Z included, makes the date
  unreadable (None): guessing UTC is exactly how feedparser ends up hours off.
- Slashed dates other than year-first (``05/10/2025``) are unreadable: day-first and
  month-first are both common and the text cannot tell which it is.
- Two-digit years follow RFC 2822: 00-49 are 20xx, 50-99 are 19xx. A leap second (:60)
  reads as :59.
- Dates outside the years `MIN_YEAR`..`MAX_YEAR` are impossible, and so are days,
  months and times that do not exist (``2024-02-30``, ``2025-13-01``, ``25:00``) and
  signed years (``-0001-01-01``): `read_date` raises `ImpossibleDateError` for them, so
  that the caller does not fall back to a parser that rolls them over (feedparser reads
  ``2024-02-30`` as March 1st). Dates before 1970 are real dates (archives, history).

python-dateutil is deliberately not used as a fallback: it fills missing fields from today
and reads stray numbers as dates, which would turn unreadable text into wrong dates.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

MIN_YEAR = 1000  # four-digit years: the store's text columns sort as text
MAX_YEAR = 2200

# No real date is longer; bounds the regexes' work on hostile input.
MAX_LENGTH = 200

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OTHER_ZONE = timezone(timedelta(hours=1))  # any zone but UTC, to tell zoned dates apart


def _fixed(minutes: Mapping[str, int]) -> dict[str, timezone]:
    return {name: timezone(timedelta(minutes=offset)) for name, offset in minutes.items()}


# Zone names (lowercase) and their fixed offsets.
ZONE_OFFSETS: Mapping[str, timezone] = _fixed(
    {
        "z": 0,
        "ut": 0,
        "utc": 0,
        "gmt": 0,
        "wet": 0,
        "west": 60,
        "bst": 60,  # British Summer Time, not Bangladesh
        "ist": 330,  # India, not Irish Standard Time (+01:00) or Israel (+02:00)
        "cet": 60,
        "cest": 120,
        "met": 60,
        "mest": 120,
        "mez": 60,
        "mesz": 120,
        "eet": 120,
        "eest": 180,
        "msk": 180,
        "wat": 60,
        "cat": 120,
        "sast": 120,
        "eat": 180,
        "est": -300,
        "edt": -240,
        "cst": -360,  # US Central, not China
        "cdt": -300,
        "mst": -420,
        "mdt": -360,
        "pst": -480,
        "pdt": -420,
        "akst": -540,
        "akdt": -480,
        "hst": -600,
        "sgt": 480,
        "hkt": 480,
        "awst": 480,
        "jst": 540,
        "kst": 540,
        "acst": 570,
        "acdt": 630,
        "aest": 600,
        "aedt": 660,
        "nzst": 720,
        "nzdt": 780,
    }
)

# Names that may carry an offset relative to them: "GMT+2", "UTC-05:30".
_OFFSET_BASES = frozenset({"z", "ut", "utc", "gmt"})

_MONTHS: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "januar", "jän", "jänner"),
            ("feb", "february", "februar", "feber"),
            ("mar", "march", "mär", "märz", "mrz", "maerz"),
            ("apr", "april"),
            ("may", "mai"),
            ("jun", "june", "juni"),
            ("jul", "july", "juli"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october", "okt", "oktober"),
            ("nov", "november"),
            ("dec", "december", "dez", "dezember"),
        ),
        start=1,
    )
    for name in names
}

_WEEKDAYS = frozenset(
    {
        *("mon", "monday", "tue", "tues", "tuesday", "wed", "weds", "wednesday"),
        *("thu", "thur", "thurs", "thursday", "fri", "friday", "sat", "saturday"),
        *("sun", "sunday"),
        *("mo", "di", "mi", "do", "fr", "sa", "so"),
        *("montag", "dienstag", "mittwoch", "donnerstag", "freitag"),
        *("samstag", "sonnabend", "sonntag"),
    }
)

# Dashes and minus signs that editors and word processors put where "-" belongs.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))

# The patterns below run on cleaned text: NFKC, lowercase, single spaces, at most
# MAX_LENGTH characters. None nests quantifiers, so none can backtrack catastrophically.
# Digits are [0-9], not \d, which would take other scripts' digits too.
_WORD = r"[^\W\d_]+"  # letters, umlauts included
_TIME = (
    r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?"
)
_YEAR = r"(?P<year>[0-9]{4}|[0-9]{2})(?![0-9])"

_EPOCH_RE = re.compile(r"[0-9]{9,10}|[0-9]{13}")
# ISO 8601's expanded years (-0001-01-01, +12025-05-10): never within our years.
_SIGNED_YEAR_RE = re.compile(r"[+-][0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}(?![0-9]).*")
_ISO_BASIC_RE = re.compile(
    r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})"
    r"(?:t(?P<hour>[0-9]{2})(?P<minute>[0-9]{2})"
    r"(?:(?P<second>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?)?"
    r"(?P<zone>.*)"
)
_WEEKDAY_RE = re.compile(rf"(?P<word>{_WORD})\.?,?\s?")
_ASCTIME_RE = re.compile(
    rf"(?P<month>{_WORD})\.?\s(?P<day>[0-9]{{1,2}})\s{_TIME}"
    r"(?:\s(?P<zone>[a-z]+))?\s(?P<year>[0-9]{4})(?![0-9])"
)

# Date parts, each followed by _TAIL_RE: (pattern, month is a name).
_DATE_RES: tuple[tuple[re.Pattern[str], bool], ...] = (
    # ISO 8601 extended, also with slashes: year first is never ambiguous.
    (
        re.compile(
            r"(?P<year>[0-9]{4})(?P<sep>[-/])(?P<month>[0-9]{1,2})(?P=sep)"
            r"(?P<day>[0-9]{1,2})(?![0-9])"
        ),
        False,
    ),
    # Day-first numeric: 10.05.2025, 10.5.25, 10. 5. 2025.
    (re.compile(rf"(?P<day>[0-9]{{1,2}})\.\s?(?P<month>[0-9]{{1,2}})\.\s?{_YEAR}"), False),
    # Day, month name, year: 10 May 2025, 10. Mai 2025, 10th May 2025, 10-Mrz.-25.
    (
        re.compile(
            rf"(?P<day>[0-9]{{1,2}})(?:\.|st|nd|rd|th)?[\s/-]?(?P<month>{_WORD})\.?"
            rf"[\s/,-]{{0,3}}{_YEAR}"
        ),
        True,
    ),
    # Month name, day, year: May 10, 2025; May 10th 2025.
    (
        re.compile(
            rf"(?P<month>{_WORD})\.?\s?(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\.?,?\s?"
            r"(?P<year>[0-9]{4})(?![0-9])"
        ),
        True,
    ),
)

# What may follow a date: a time (after "T", a comma, "at", "um" or a dash), AM/PM, "Uhr",
# then a zone.
_TAIL_RE = re.compile(
    rf"(?:(?:\s?[,;]?\s?|\s(?:at|um|-)\s|t){_TIME}"
    r"(?:\s?(?P<ampm>[ap])\.?\s?m\.?(?![a-z]))?(?:\s?uhr(?![a-z]))?)?"
    r"\s?,?\s?(?P<zone>.*)"
)

_ZONE_RE = re.compile(
    r"(?P<name>[a-z]+)?\s?"
    r"(?:(?P<sign>[+-])\s?"
    r"(?:(?P<hh>[0-9]{2}):?(?P<mm>[0-9]{2})(?::?(?P<ss>[0-9]{2}))?|(?P<h>[0-9]{1,2})))?"
)
_COMMENT_RE = re.compile(r"\((?P<inner>[^()]*)\)$")

# The two forms nearly every feed writes, as written (not cleaned): RFC 3339 with whole
# seconds, and RFC 822 with an English weekday, a four-digit year, seconds and a numeric
# offset or GMT. `_read_common` reads them for a fraction of the general route's work.
_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)
_RFC822_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) ([A-Z][a-z]{2}) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) (?:GMT|([+-])([0-9]{2})([0-9]{2}))"
)


class ImpossibleDateError(ValueError):
    """A date in a form we read whose values cannot be: 2024-02-30, year 0, 25:00."""


def parse_date(text: str | None, default_tz: tzinfo) -> datetime | None:
    """Read a date as feeds and editors write it; timezone-aware, or None if unreadable
    or impossible.

    A date written without a zone is taken to be in `default_tz` (a `zoneinfo.ZoneInfo` or
    a fixed offset); one with a zone gets it as a fixed-offset `datetime.timezone`. See
    the module docstring for the forms read. Never raises.
    """
    try:
        return read_date(text, default_tz)
    except ImpossibleDateError:
        return None


def read_date(text: str | None, default_tz: tzinfo) -> datetime | None:
    """`parse_date`, but a date whose form is read and whose values cannot be raises
    ImpossibleDateError instead of giving None (which means: not a form we read)."""
    if text is None:
        return None
    if common := _read_common(text):
        return common
    try:
        return _parse(text, default_tz)
    except ImpossibleDateError:
        raise
    except (ValueError, OverflowError):
        return None


def read_formatted_date(text: str | None, date_format: str, default_tz: tzinfo) -> datetime | None:
    """A date in a form the source configured (`strptime` directives, e.g. ``%d.%m.%Y``),
    in `default_tz` unless the format reads a zone (``%z``); None when it does not fit or is
    out of range. For pages whose dates our own reader cannot read, or reads otherwise."""
    if text is None or len(text) > MAX_LENGTH:
        return None
    try:
        value = datetime.strptime(" ".join(text.split()), date_format)
        return _checked(value if value.tzinfo is not None else value.replace(tzinfo=default_tz))
    except (ValueError, OverflowError):  # ImpossibleDateError included: not a guess
        return None


def check_date_format(date_format: str) -> None:
    """Raise ValueError unless `date_format` is a `strptime` format that reads back a date
    it wrote (so it names at least the day, month and year)."""
    sample = datetime(2025, 5, 10, 11, 33)
    if "%" not in date_format:
        raise ValueError(f"{date_format!r} has no % directive (use e.g. '%d.%m.%Y')")
    try:
        read = datetime.strptime(sample.strftime(date_format), date_format)
    except ValueError as exc:
        raise ValueError(f"{date_format!r} does not read what it writes: {exc}") from None
    if read.date() != sample.date():
        raise ValueError(f"{date_format!r} must name the day, month and year")


def read_zoned_date(text: str | None) -> datetime | None:
    """A date that names its zone, as UTC; None when it names none (the caller cannot know
    the source's zone: the normaliser reads it then), or is unreadable or impossible."""
    in_utc = parse_date(text, UTC)
    if in_utc is None or parse_date(text, _OTHER_ZONE) != in_utc:
        return None  # read differently in another default zone: it names none
    return in_utc.astimezone(UTC)


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as an aware UTC datetime, or None."""
    if value is None:
        return None
    try:
        result = datetime(
            value.tm_year,
            value.tm_mon,
            value.tm_mday,
            value.tm_hour,
            value.tm_min,
            min(value.tm_sec, 59),  # struct_time allows leap seconds, datetime does not
            tzinfo=UTC,
        )
    except (ValueError, OverflowError):
        return None
    return result if MIN_YEAR <= result.year <= MAX_YEAR else None


FUTURE_TOLERANCE = timedelta(minutes=10)  # clock skew: a date this far ahead is not future


def is_future(value: datetime, now: datetime, tolerance: timedelta = FUTURE_TOLERANCE) -> bool:
    """Whether `value` is more than `tolerance` after `now`."""
    return value - now > tolerance


def clamp_future(
    value: datetime, now: datetime, tolerance: timedelta = FUTURE_TOLERANCE
) -> datetime:
    """`value`, or `now` if `value` is more than `tolerance` after it.

    Feeds that date posts in the future (scheduled posts, wrong zones) would otherwise pin
    them to the top of every listing until that date comes.
    """
    return now if is_future(value, now, tolerance) else value


# A date text is read more than once: the screen reads an entry's dates to decide whether
# to look at it, then to date it (`feeds.normalise.article.Screening`), and an entry read
# whole has them read again.
COMMON_READINGS = 4096


@lru_cache(maxsize=COMMON_READINGS)
def _read_common(text: str) -> datetime | None:
    """`text` read as `_parse` reads it, when it is in one of the two common forms and its
    values are plainly valid; None for anything else, which `_parse` then reads."""
    if match := _RFC3339_RE.fullmatch(text):
        year, month, day, hour, minute, second, sign, hh, mm = match.groups()
        month_number = int(month)
    elif match := _RFC822_RE.fullmatch(text):
        day, month, year, hour, minute, second, sign, hh, mm = match.groups()
        month_number = _MONTHS.get(month.lower(), 0)
    else:
        return None
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        return None
    zone = UTC
    if sign is not None:
        if int(hh) > 23 or int(mm) > 59:
            return None
        offset = timedelta(hours=int(hh), minutes=int(mm))
        zone = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(
            int(year), month_number, int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:  # no such day or time, 24:00, a leap second: the general rules decide
        return None


def _parse(text: str, default_tz: tzinfo) -> datetime | None:
    """The reading of `text`; None or ValueError if it has none."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    if _SIGNED_YEAR_RE.fullmatch(cleaned):
        raise ImpossibleDateError(f"year out of range: {cleaned!r}")
    if _EPOCH_RE.fullmatch(cleaned):
        number = int(cleaned)
        since = timedelta(milliseconds=number) if len(cleaned) == 13 else timedelta(seconds=number)
        return _checked(_EPOCH + since)
    if match := _ISO_BASIC_RE.fullmatch(cleaned):
        fields = match.groupdict()
        return _build(fields, int(fields["month"]), fields, fields["zone"], default_tz)

    weekday = _WEEKDAY_RE.match(cleaned)
    if weekday and weekday["word"] in _WEEKDAYS:
        cleaned = cleaned[weekday.end() :]

    if match := _ASCTIME_RE.match(cleaned):
        fields = match.groupdict()
        rest = cleaned[match.end() :].strip()
        if fields["zone"] and rest:
            return None
        return _build(fields, _month(fields["month"]), fields, fields["zone"] or rest, default_tz)
    for pattern, month_is_name in _DATE_RES:
        if match := pattern.match(cleaned):
            tail = _TAIL_RE.fullmatch(cleaned, match.end())
            if tail is None:
                return None
            fields = match.groupdict()
            month = _month(fields["month"]) if month_is_name else int(fields["month"])
            time_fields = tail.groupdict()
            return _build(fields, month, time_fields, time_fields["zone"], default_tz)
    return None


def _clean(text: str) -> str | None:
    """`text` in the form the patterns expect, or None if it is empty or too long."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        return None
    # NFKC turns no-break spaces into spaces and fullwidth digits into ASCII ones.
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).lower()
    text = " ".join(text.split())
    return text if len(text) <= MAX_LENGTH else None


def _month(name: str) -> int:
    number = _MONTHS.get(name)
    if number is None:
        raise ValueError(f"not a month: {name!r}")
    return number


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 50 else 1900  # RFC 2822's reading of two-digit years
    return year


def _build(
    date: Mapping[str, str | None],
    month: int,
    clock: Mapping[str, str | None],
    zone_text: str | None,
    default_tz: tzinfo,
) -> datetime:
    """The datetime of parsed fields: `date` has year and day, `clock` the time, if any."""
    year = _year(date["year"] or "")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ImpossibleDateError(f"year out of range: {year}")
    hour = int(clock.get("hour") or 0)
    minute = int(clock.get("minute") or 0)
    second = min(int(clock.get("second") or 0), 59)  # a leap second reads as :59
    micro = int((clock.get("frac") or "")[:6].ljust(6, "0"))
    ampm = clock.get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"not a 12-hour clock hour: {hour}")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    end_of_day = hour == 24 and minute == second == micro == 0  # ISO 8601's 24:00
    if end_of_day:
        hour = 0
    zone = _zone(zone_text or "")
    try:
        result = datetime(
            year,
            month,
            int(date["day"] or ""),
            hour,
            minute,
            second,
            micro,
            tzinfo=zone or default_tz,
        )
    except ValueError as exc:  # the form was read; its day, month or time cannot be
        raise ImpossibleDateError(str(exc)) from None
    if end_of_day:
        result += timedelta(days=1)
    return _checked(result)


def _zone(text: str) -> timezone | None:
    """The zone written after a date: None if none is; ValueError if it is unreadable."""
    text = text.strip()
    if comment := _COMMENT_RE.search(text):
        # RFC 2822 comment, as in "+0200 (CEST)": the zone before it governs, if any.
        text = text[: comment.start()].strip() or comment["inner"].strip()
    if not text:
        return None
    match = _ZONE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a zone: {text!r}")
    name, sign = match["name"], match["sign"]
    if sign is None:
        zone = ZONE_OFFSETS.get(name or "")
        if zone is None:
            raise ValueError(f"unknown zone: {text!r}")
        return zone
    if name is not None and name not in _OFFSET_BASES:
        raise ValueError(f"offset from a zone other than UTC: {text!r}")
    hours = int(match["hh"] or match["h"])
    minutes = int(match["mm"] or 0)
    seconds = int(match["ss"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"offset out of range: {text!r}")
    offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return timezone(-offset if sign == "-" else offset)


def _checked(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ImpossibleDateError(f"year out of range: {value.year}")
    return value
