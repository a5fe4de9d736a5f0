"""Tests for feeds.normalise.dates: the forms feeds write, zones, garbage, round trips."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.normalise.dates import (
    MAX_YEAR,
    MIN_YEAR,
    ZONE_OFFSETS,
    ImpossibleDateError,
    _parse,
    _read_common,
    clamp_future,
    from_struct_time,
    parse_date,
    read_date,
)

BERLIN = ZoneInfo("Europe/Berlin")


def iso(text: str | None, default_tz: tzinfo = BERLIN) -> str | None:
    result = parse_date(text, default_tz)
    return None if result is None else result.isoformat()


def cases(*pairs: tuple[str, str]) -> list[object]:
    return [pytest.param(text, expected, id=text) for text, expected in pairs]


RFC_822 = cases(
    ("Sat, 10 May 2025 11:33:00 +0200", "2025-05-10T11:33:00+02:00"),
    ("Sat, 10 May 2025 11:33 +0200", "2025-05-10T11:33:00+02:00"),
    ("10 May 2025 11:33:00 +0200", "2025-05-10T11:33:00+02:00"),
    ("10 May 2025 11:33 -0500", "2025-05-10T11:33:00-05:00"),
    ("Sat, 10 May 25 11:33:00 GMT", "2025-05-10T11:33:00+00:00"),
    ("Mon, 10 May 99 11:33:00 GMT", "1999-05-10T11:33:00+00:00"),
    ("Sat, 10 May 2025 11:33:00 UT", "2025-05-10T11:33:00+00:00"),
    ("Sat, 10 May 2025 11:33:00 UTC", "2025-05-10T11:33:00+00:00"),
    ("Sat, 10 May 2025 11:33:00 Z", "2025-05-10T11:33:00+00:00"),
    ("Sat, 10 May 2025 11:33:00 -0000", "2025-05-10T11:33:00+00:00"),
    ("Sat, 10 May 2025 11:33:00 +0200 (CEST)", "2025-05-10T11:33:00+02:00"),
    ("Sat, 10 May 2025 11:33:00 (CEST)", "2025-05-10T11:33:00+02:00"),
    ("Sat, 10 May 2025 11:33:00", "2025-05-10T11:33:00+02:00"),
    ("Sat,10 May 2025 11:33:00 +0200", "2025-05-10T11:33:00+02:00"),
    ("sat, 10 may 2025 11:33:00 gmt", "2025-05-10T11:33:00+00:00"),
    ("  Sat,  10 May 2025\t11:33:00\n+0200 ", "2025-05-10T11:33:00+02:00"),
    ("Sat, 10 May 2025 11:33:00.250 +0200", "2025-05-10T11:33:00.250000+02:00"),
    ("Sat, 1 Feb 2025 08:05:09 +0000", "2025-02-01T08:05:09+00:00"),
    ("Tue, 30 Jun 2015 23:59:60 +0000", "2015-06-30T23:59:59+00:00"),
    # asctime and date(1)
    ("Sat May 10 11:33:00 2025", "2025-05-10T11:33:00+02:00"),
    ("Sat May 10 11:33:00 CEST 2025", "2025-05-10T11:33:00+02:00"),
    ("Sat May 10 11:33:00 2025 +0000", "2025-05-10T11:33:00+00:00"),
)

ZONE_NAMES = cases(
    ("CET", "+01:00"),
    ("CEST", "+02:00"),
    ("MEZ", "+01:00"),
    ("MESZ", "+02:00"),
    ("WET", "+00:00"),
    ("WEST", "+01:00"),
    ("EET", "+02:00"),
    ("EEST", "+03:00"),
    ("BST", "+01:00"),
    ("IST", "+05:30"),
    ("EST", "-05:00"),
    ("EDT", "-04:00"),
    ("CST", "-06:00"),
    ("CDT", "-05:00"),
    ("MST", "-07:00"),
    ("MDT", "-06:00"),
    ("PST", "-08:00"),
    ("PDT", "-07:00"),
    ("AKST", "-09:00"),
    ("AKDT", "-08:00"),
    ("HST", "-10:00"),
    ("JST", "+09:00"),
    ("KST", "+09:00"),
    ("AEST", "+10:00"),
    ("AEDT", "+11:00"),
    ("MSK", "+03:00"),
    ("GMT", "+00:00"),
    ("UTC", "+00:00"),
    ("UT", "+00:00"),
    ("Z", "+00:00"),
    ("cest", "+02:00"),
)

OFFSETS = cases(
    ("GMT+2", "+02:00"),
    ("GMT+02", "+02:00"),
    ("GMT +2", "+02:00"),
    ("UTC+02:00", "+02:00"),
    ("UTC-3", "-03:00"),
    ("GMT-0530", "-05:30"),
    ("UT+0100", "+01:00"),
    ("+02", "+02:00"),
    ("+2", "+02:00"),
    ("+0200", "+02:00"),
    ("+02:00", "+02:00"),
    ("-0930", "-09:30"),
    ("+0545", "+05:45"),
    ("\u22120300", "-03:00"),  # a typographic minus sign
)

ISO_8601 = cases(
    ("2025-05-10T11:33:00+02:00", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10T09:33:00Z", "2025-05-10T09:33:00+00:00"),
    ("2025-05-10t09:33:00z", "2025-05-10T09:33:00+00:00"),
    ("2025-05-10T11:33:00.5+02:00", "2025-05-10T11:33:00.500000+02:00"),
    ("2025-05-10T11:33:00.123456789Z", "2025-05-10T11:33:00.123456+00:00"),
    ("2025-05-10T11:33:00,25Z", "2025-05-10T11:33:00.250000+00:00"),
    ("2025-05-10T11:33:00+0200", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10T11:33:00+02", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10T11:33+02:00", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10T11:33:00", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10 11:33:00", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10 11:33:00 +0200", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10 11:33:00 UTC", "2025-05-10T11:33:00+00:00"),
    ("2025-05-10 11:33", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10", "2025-05-10T00:00:00+02:00"),
    ("2025-5-1", "2025-05-01T00:00:00+02:00"),
    ("2025/05/10 11:33", "2025-05-10T11:33:00+02:00"),
    ("2025-05-10T24:00:00Z", "2025-05-11T00:00:00+00:00"),
    ("2025-05-10T11:33:00-00:44:30", "2025-05-10T11:33:00-00:44:30"),
    ("20250510T113300Z", "2025-05-10T11:33:00+00:00"),
    ("20250510T113300+0200", "2025-05-10T11:33:00+02:00"),
    ("20250510T1133", "2025-05-10T11:33:00+02:00"),
    ("20250510T113300.5Z", "2025-05-10T11:33:00.500000+00:00"),
    ("20250510", "2025-05-10T00:00:00+02:00"),
)

DAY_FIRST = cases(
    ("10.05.2025 11:33", "2025-05-10T11:33:00+02:00"),
    ("10.05.2025 11:33:45", "2025-05-10T11:33:45+02:00"),
    ("10.05.2025", "2025-05-10T00:00:00+02:00"),
    ("10.5.25", "2025-05-10T00:00:00+02:00"),
    ("1.2.2025", "2025-02-01T00:00:00+01:00"),
    ("10. 5. 2025", "2025-05-10T00:00:00+02:00"),
    ("10.05.2025, 11:33", "2025-05-10T11:33:00+02:00"),
    ("10.05.2025 - 11:33", "2025-05-10T11:33:00+02:00"),
    ("10.05.2025 um 11:33 Uhr", "2025-05-10T11:33:00+02:00"),
    ("10.05.2025 11:33 MESZ", "2025-05-10T11:33:00+02:00"),
    ("Sa, 10.05.2025 11:33", "2025-05-10T11:33:00+02:00"),
)

MONTH_NAMES = cases(
    ("10. Mai 2025 11:33", "2025-05-10T11:33:00+02:00"),
    ("10. Mai 2025, 11:33 Uhr", "2025-05-10T11:33:00+02:00"),
    ("10. Mai 2025 um 11:33 Uhr", "2025-05-10T11:33:00+02:00"),
    ("10 März 2025", "2025-03-10T00:00:00+01:00"),
    ("10 Ma\u0308rz 2025", "2025-03-10T00:00:00+01:00"),  # decomposed umlaut
    ("10 MÄRZ 2025", "2025-03-10T00:00:00+01:00"),
    ("10 Mrz 2025", "2025-03-10T00:00:00+01:00"),
    ("10. Mrz. 2025", "2025-03-10T00:00:00+01:00"),
    ("10 Maerz 2025", "2025-03-10T00:00:00+01:00"),
    ("1. Jänner 2025", "2025-01-01T00:00:00+01:00"),
    ("3. Okt. 2025", "2025-10-03T00:00:00+02:00"),
    ("24. Dez 2025 18:00", "2025-12-24T18:00:00+01:00"),
    ("24. Dezember 2025", "2025-12-24T00:00:00+01:00"),
    ("Samstag, 10. Mai 2025", "2025-05-10T00:00:00+02:00"),
    ("Sonnabend, 10. Mai 2025 11:33", "2025-05-10T11:33:00+02:00"),
    ("Mi., 1. Okt. 2025", "2025-10-01T00:00:00+02:00"),
    ("May 10, 2025 11:33 AM", "2025-05-10T11:33:00+02:00"),
    ("May 10, 2025 11:33 PM", "2025-05-10T23:33:00+02:00"),
    ("May 10, 2025 12:05 am", "2025-05-10T00:05:00+02:00"),
    ("May 10, 2025 12:05 p.m.", "2025-05-10T12:05:00+02:00"),
    ("May 10, 2025 at 11:33 am EDT", "2025-05-10T11:33:00-04:00"),
    ("May 10th, 2025", "2025-05-10T00:00:00+02:00"),
    ("Sept. 3, 2025", "2025-09-03T00:00:00+02:00"),
    ("Saturday, May 10, 2025 - 11:33", "2025-05-10T11:33:00+02:00"),
    ("10 May 2025", "2025-05-10T00:00:00+02:00"),
    ("10 May, 2025", "2025-05-10T00:00:00+02:00"),
    ("10th May 2025 11:33", "2025-05-10T11:33:00+02:00"),
    ("10-May-2025 11:33", "2025-05-10T11:33:00+02:00"),
    ("1 January 2025", "2025-01-01T00:00:00+01:00"),
    ("Thursday, 2 October 2025 09:00 BST", "2025-10-02T09:00:00+01:00"),
    # JavaScript's Date.prototype.toString()
    (
        "Sat May 10 2025 11:33:00 GMT+0200 (Mitteleuropäische Sommerzeit)",
        "2025-05-10T11:33:00+02:00",
    ),
)

EPOCH = cases(
    ("1746869580", "2025-05-10T09:33:00+00:00"),
    ("1746869580123", "2025-05-10T09:33:00.123000+00:00"),
    ("946684800", "2000-01-01T00:00:00+00:00"),
)


@pytest.mark.parametrize(("text", "expected"), RFC_822)
def test_rfc_822(text: str, expected: str) -> None:
    assert iso(text) == expected


@pytest.mark.parametrize(("zone", "offset"), ZONE_NAMES)
def test_zone_names(zone: str, offset: str) -> None:
    assert iso(f"Sat, 10 May 2025 11:33:00 {zone}") == "2025-05-10T11:33:00" + offset
    assert iso(f"2025-05-10 11:33 {zone}") == "2025-05-10T11:33:00" + offset


@pytest.mark.parametrize(("zone", "offset"), OFFSETS)
def test_offsets(zone: str, offset: str) -> None:
    assert iso(f"Sat, 10 May 2025 11:33:00 {zone}") == "2025-05-10T11:33:00" + offset
    assert iso(f"10.05.2025 11:33 {zone}") == "2025-05-10T11:33:00" + offset


@pytest.mark.parametrize(("text", "expected"), ISO_8601)
def test_iso_8601(text: str, expected: str) -> None:
    assert iso(text) == expected


@pytest.mark.parametrize(("text", "expected"), DAY_FIRST)
def test_day_first(text: str, expected: str) -> None:
    assert iso(text) == expected


@pytest.mark.parametrize(("text", "expected"), MONTH_NAMES)
def test_month_names(text: str, expected: str) -> None:
    assert iso(text) == expected


@pytest.mark.parametrize(("text", "expected"), EPOCH)
def test_epoch(text: str, expected: str) -> None:
    result = parse_date(text, BERLIN)
    assert result is not None
    assert result.isoformat() == expected
    assert result.tzinfo is UTC


def test_every_zone_name_is_a_fixed_offset() -> None:
    for name, zone in ZONE_OFFSETS.items():
        assert name == name.lower()
        assert isinstance(zone, timezone)
        assert parse_date(f"2025-05-10 11:33 {name.upper()}", BERLIN) is not None


def test_naive_dates_follow_daylight_saving_time() -> None:
    assert iso("10.01.2025 11:33") == "2025-01-10T11:33:00+01:00"
    assert iso("10.05.2025 11:33") == "2025-05-10T11:33:00+02:00"
    assert iso("2025-01-10") == "2025-01-10T00:00:00+01:00"
    assert iso("10. Januar 2025") == "2025-01-10T00:00:00+01:00"
    # The day the clocks go forward: before and after 02:00.
    assert iso("30.03.2025 01:59") == "2025-03-30T01:59:00+01:00"
    assert iso("30.03.2025 03:00") == "2025-03-30T03:00:00+02:00"


def test_naive_dates_get_the_default_zone_itself() -> None:
    result = parse_date("10.05.2025 11:33", BERLIN)
    assert result is not None
    assert result.tzinfo is BERLIN
    new_york = ZoneInfo("America/New_York")
    assert iso("10.05.2025 11:33", new_york) == "2025-05-10T11:33:00-04:00"
    fixed = timezone(timedelta(hours=3))
    assert iso("10.05.2025 11:33", fixed) == "2025-05-10T11:33:00+03:00"


def test_written_zones_are_fixed_offsets() -> None:
    result = parse_date("Sat, 10 May 2025 11:33:00 CEST", UTC)
    assert result is not None
    assert isinstance(result.tzinfo, timezone)
    assert result == datetime(2025, 5, 10, 9, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "yesterday",
        "gestern",
        "Mai 2025",
        "May",
        "2025",
        "11:33",
        "99.99.2025",
        "31.02.2025",
        "32.01.2025",
        "10.13.2025",
        "29.02.2025",
        "2025-02-30",
        "2025-13-01",
        "2025-05-10T25:00:00Z",
        "2025-05-10T11:60:00Z",
        "2025-05-10T24:30:00Z",
        "2025-05-10T11:33:00+2400",
        "2025-05-10T11:33:00+02:60",
        "10 Foo 2025",
        "Sat, 10 May 2025 11:33:00 XYZ",  # unknown zone names are not guessed
        "Sat, 10 May 2025 11:33:00 A",  # military letters other than Z
        "Sat, 10 May 2025 11:33:00 Europe/Berlin",
        "Sat, 10 May 2025 11:33:00 CET+1",
        "Sat, 10 May 2025 11:33:00 +0200 and more",
        "Sat, 10 May 2025 13:33 PM",
        "Sat, 10 May 2025 00:33 AM",
        "05/10/2025",  # month-first or day-first: unknowable
        "10/05/2025",
        "Friday",
        "2201-01-01",  # after MAX_YEAR
        "12345678",  # ISO basic for the year 1234
        "99999999999",  # 11 digits: neither seconds nor milliseconds
        "9999999999",  # epoch seconds past MAX_YEAR
        "2025-05-10T11:33:00+02:00[Europe/Berlin]",
        "\x00\x01\x02",
        "𝟐𝟎𝟐𝟓-𝟎𝟓-𝟏𝟎x",
        "٢٠٢٥-٠٥-١٠",  # Arabic-Indic digits are not read as dates
        "0" * 10_000,
        "1" * 10_000,
        "10.05.2025 " + " " * 10_000 + "x",
        "(" * 150 + ")" * 40,
        "Sat, 10 May 2025 11:33:00 +0200 " + "(" * 150,
    ],
)
def test_unreadable(text: str | None) -> None:
    assert parse_date(text, BERLIN) is None


def test_long_input_is_not_read() -> None:
    assert parse_date("2025-05-10" + " " * 300, BERLIN) is not None  # outer whitespace is free
    assert parse_date("Sat, 10 May 2025 11:33:00 +0200 " + "x" * 300, BERLIN) is None


def test_from_struct_time() -> None:
    parsed = time.strptime("2025-05-10 09:33:00", "%Y-%m-%d %H:%M:%S")
    result = from_struct_time(parsed)
    assert result is not None
    assert result.isoformat() == "2025-05-10T09:33:00+00:00"
    assert result.tzinfo is UTC
    assert from_struct_time(time.gmtime(1746869580)) == datetime(2025, 5, 10, 9, 33, tzinfo=UTC)
    assert from_struct_time(None) is None


def test_from_struct_time_edges() -> None:
    leap = time.struct_time((2015, 6, 30, 23, 59, 60, 1, 181, 0))
    assert from_struct_time(leap) == datetime(2015, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert from_struct_time(time.struct_time((999, 12, 31, 0, 0, 0, 2, 365, 0))) is None
    assert from_struct_time(time.struct_time((2201, 1, 1, 0, 0, 0, 0, 1, 0))) is None
    assert from_struct_time(time.struct_time((2025, 2, 30, 0, 0, 0, 0, 1, 0))) is None


def test_clamp_future() -> None:
    now = datetime(2025, 5, 10, 12, 0, tzinfo=UTC)
    past = now - timedelta(days=3)
    assert clamp_future(past, now) == past
    assert clamp_future(now, now) == now
    soon = now + timedelta(minutes=10)
    assert clamp_future(soon, now) == soon  # within the tolerance: clock skew
    assert clamp_future(soon + timedelta(seconds=1), now) == now
    assert clamp_future(now + timedelta(days=30), now) == now
    later = now + timedelta(hours=1)
    assert clamp_future(later, now, timedelta(hours=2)) == later
    # Comparison is by instant, not by wall clock.
    berlin_soon = datetime(2025, 5, 10, 14, 5, tzinfo=BERLIN)
    assert clamp_future(berlin_soon, now) == berlin_soon


# --- properties ---------------------------------------------------------------------------

# Text made of date pieces, to reach deeper than arbitrary text does.
_DATEISH = st.lists(
    st.sampled_from(
        [
            *"0123456789:.,-+/ TZtzapm()",
            *("Mai", "May", "März", "CEST", "GMT", "UTC", "Uhr", "Sat, ", "Samstag, "),
            *("\u2212", "2025", "10.05.", "11:33:00"),
        ]
    ),
    max_size=20,
).map("".join)

_ZONES = st.one_of(
    st.just(BERLIN),
    st.just(UTC),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)


def _assert_valid(result: datetime | None, default_tz: tzinfo) -> None:
    if result is not None:
        assert result.utcoffset() is not None
        assert result.tzinfo is default_tz or isinstance(result.tzinfo, timezone)
        assert MIN_YEAR <= result.year <= MAX_YEAR


@given(st.one_of(st.text(), _DATEISH), _ZONES)
def test_never_raises(text: str, default_tz: tzinfo) -> None:
    _assert_valid(parse_date(text, default_tz), default_tz)


_AWARE = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2199, 12, 30),
    timezones=st.one_of(st.timezones(), _ZONES),
)


@given(_AWARE)
def test_isoformat_round_trip(value: datetime) -> None:
    result = parse_date(value.isoformat(), BERLIN)
    assert result is not None
    # Wall clock and offset both survive (comparing isoformat strings, because aware
    # datetimes in a DST gap or fold never compare equal across zones).
    assert result.isoformat() == value.isoformat()
    assert isinstance(result.tzinfo, timezone)


@given(_AWARE)
def test_email_format_round_trip(value: datetime) -> None:
    text = format_datetime(value)
    result = parse_date(text, BERLIN)
    assert result is not None
    assert format_datetime(result) == text
    assert result.replace(tzinfo=None) == value.replace(tzinfo=None, microsecond=0)
    assert result.utcoffset() == value.utcoffset()


# Digits in every position, valid or not; the months as written and some that are not.
_DIGITS = st.text("0123456789", min_size=1, max_size=2).map(lambda d: d.zfill(2))
_RFC3339_TEXTS = st.builds(
    "{}-{}-{}T{}:{}:{}{}".format,
    st.sampled_from(["2025", "0999", "1000", "2200", "2201", "2024", "1970"]),
    _DIGITS, _DIGITS, _DIGITS, _DIGITS, _DIGITS,
    st.sampled_from(["Z", "+00:00", "-00:00", "+05:30", "-23:59", "+24:00", "+01:60", "+1:00"]),
)  # fmt: skip
_RFC822_TEXTS = st.builds(
    "{}{} {} {} {}:{}:{} {}".format,
    st.sampled_from(["", "Thu, ", "Sun, ", "Foo, ", "Thu,"]),
    st.sampled_from(["1", "01", "29", "31", "30", "0", "32"]),
    st.sampled_from(["May", "Feb", "Mai", "Dez", "Mrz", "Xyz", "MAY", "Sep"]),
    st.sampled_from(["2025", "2024", "2200", "2201", "0999"]),
    _DIGITS, _DIGITS, _DIGITS,
    st.sampled_from(["GMT", "+0200", "-0500", "+0530", "-0000", "+2400", "+0160", "UT", "CEST"]),
)  # fmt: skip


def _read_as_generally(text: str) -> None:
    for default_tz in (UTC, BERLIN):
        common = _read_common(text)
        if common is not None:
            general = _parse(text, default_tz)
            assert (common, repr(common.tzinfo)) == (general, repr(general.tzinfo)), text
        try:
            expected = repr(_parse(text, default_tz))
        except ValueError as exc:  # ImpossibleDateError or unreadable
            expected = type(exc).__name__
        try:
            read = repr(read_date(text, default_tz))
        except ImpossibleDateError:
            read = "ImpossibleDateError"
        assert read == (expected if expected != "ValueError" else "None"), text


@settings(max_examples=2000)
@given(st.one_of(_RFC3339_TEXTS, _RFC822_TEXTS))
def test_the_common_forms_read_as_by_the_general_rules(text: str) -> None:
    _read_as_generally(text)


@pytest.mark.parametrize(
    ("text", "short_cut"),
    [
        ("2025-05-10T11:33:00Z", True), ("2025-05-10T11:33:00+02:00", True),
        ("2025-05-10T11:33:00-00:00", True), ("2024-02-29T23:59:59+05:30", True),
        ("Sat, 10 May 2025 11:33:00 +0200", True), ("10 Mai 2025 11:33:00 GMT", True),
        ("2025-02-29T11:33:00Z", False), ("2025-05-10T24:00:00Z", False),
        ("2025-05-10T11:33:60Z", False), ("Sat, 31 Feb 2025 11:33:00 +0200", False),
        ("Sat, 10 May 2201 11:33:00 +0200", False), ("2025-05-10t11:33:00z", False),
    ],
)  # fmt: skip
def test_common_forms(text: str, short_cut: bool) -> None:
    _read_as_generally(text)
    assert (_read_common(text) is not None) == short_cut
