"""Hypothesis strategies for parsed-feed values as hostile or sloppy feeds arrive.

`cases()` draws a `RawFeed` with a source, a clock reading, first-seen times and a fallback
base URL: ids empty, blank, huge, of control characters or unicode; titles and content with
HTML, entities and control characters; links relative, absolute, ``javascript:`` or garbage;
dates in every form `feeds.normalise.dates` reads and in many it does not; odd enclosures
and languages. `category_names` and `hubs` are what a published category may be called and
announce.
"""

from __future__ import annotations

import dataclasses
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import nh3
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from feeds.model import Author, Enclosure, RawEntry, RawFeed, Source, SourceKind
from feeds.normalise.article import NormalisedFeed, entry_key, normalise_feed
from feeds.normalise.html import clean_text, safe_url
from support.conformance import XML_ILLEGAL
from support.date_names import MONTHS_DE, MONTHS_EN, WEEKDAYS_EN

# What every property and fuzz test runs under; each sets its own max_examples.
SETTINGS = settings(
    deadline=None,
    database=None,  # write nothing into the tree; failures print their reproduction
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# The base URL the published site has; a feed without a base of its own falls back to it.
BASE_URL = "http://localhost:8080/"

# --------------------------------------------------------------------------- known defects

# Defects the property tests found, each pinned by a strict xfail test at the end of
# test_properties.py. While one is open the strategies do not generate its trigger, so the
# properties keep checking everything else; when it is fixed, its xfail test XPASSes (and
# fails): remove the marker and the name here, and the strategies generate the trigger again.
OPEN_FINDINGS: frozenset[str] = frozenset()  # all fixed; the test_fixed_* tests pin them

# --------------------------------------------------------------------------- text

# Lone surrogates too: a JSON Feed can carry them as \ud800 escapes.
CONTROL_CHARS = "".join(map(chr, range(0x20))) + "\x7f\x85\x9f\u2028\ufeff\ufffe\uffff\ud800\udfff"
WHITESPACE = " \t\n\r\x0b\x0c\xa0\u2003\u3000"

any_text = st.text(max_size=40)  # any code point but surrogates, controls included
control_text = st.text(alphabet=CONTROL_CHARS, min_size=1, max_size=8)
blank_text = st.text(alphabet=WHITESPACE, max_size=8)
unicode_words = st.text(
    alphabet=st.characters(categories=("L", "M", "N", "P", "S", "Zs")), min_size=1, max_size=30
)


def _repeat(piece: str, times: int) -> str:
    return piece * times


huge_text = st.builds(_repeat, st.text(min_size=1, max_size=4), st.integers(500, 3000))
mixed_text = st.builds(
    lambda parts: "".join(parts),
    st.lists(st.one_of(unicode_words, control_text, blank_text, any_text), max_size=4),
)

# --------------------------------------------------------------------------- URLs

SCHEMES = ("http", "https", "HTTP", "hTTps", "javascript", "data", "mailto", "ftp", "file", "")
HOSTS = (
    "example.com",
    "EXAMPLE.org:8080",
    "xn--bcher-kva.example",
    "bücher.example",
    "127.0.0.1",
    "[::1]",
    "user:pass@example.net",
    "例え.テスト",
    "",
)
# Characters that may appear in a URL reference and in an IRI alike.
IRI_SAFE = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?#äöüß€日本"
# Characters a URL in a feed may carry but an IRI may not (space, quotes, brackets, ...).
IRI_UNSAFE = ' "<>{}|\\^`%\t\n\x7f\x85\xa0\u3000'


@st.composite
def url_paths(draw: st.DrawFn) -> str:
    alphabet = IRI_SAFE if "iri_unsafe_url" in OPEN_FINDINGS else IRI_SAFE + IRI_UNSAFE
    path = draw(st.text(alphabet=alphabet, max_size=30))
    if draw(st.booleans()):
        path += "%" + draw(st.sampled_from(["20", "C3%A4", "2F", "zz", "", "%"]))
    return path


# What a published URL may not contain (as tests/support/conformance.py checks IRIs).
_IRI_UNSAFE_RE = re.compile(r"[\s\"<>{}|\\^`\x00-\x1f\x7f-\x9f]|%(?![0-9A-Fa-f]{2})")


_AUTHORITY = re.compile(r"(?<=//)[^/?#]*")


def _without_open_triggers(link: str) -> str:
    """`link` without what triggers an open finding (surrounding blanks are kept)."""
    core = link.strip()
    if "iri_unsafe_url" in OPEN_FINDINGS:
        core = _IRI_UNSAFE_RE.sub("", core)
    if "bracket_url" in OPEN_FINDINGS:
        core = core.replace("[", "").replace("]", "")
    if "iri_unsafe_host" in OPEN_FINDINGS:
        core = _AUTHORITY.sub(lambda m: _IRI_UNSAFE_RE.sub("", m.group()), core)
    if core == link.strip():
        return link
    start = link.find(link.strip()) if link.strip() else len(link)
    return link[:start] + core + link[start + len(link.strip()) :]


def _nh3_refuses_base(url: str | None) -> bool:
    """Whether normalise would hand nh3 `url` as the base URL and nh3 refuse it."""
    base = safe_url(url)
    if not base or urlsplit(base).scheme not in ("http", "https"):
        return False
    try:
        nh3.Cleaner(url_relative=("rewrite_with_base", base))
    except ValueError:
        return True
    return False


@st.composite
def links(draw: st.DrawFn) -> str:
    return _without_open_triggers(draw(_any_links()))


@st.composite
def _any_links(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    path = draw(url_paths())
    if kind <= 3:  # absolute
        scheme = draw(st.sampled_from(SCHEMES))
        host = draw(st.sampled_from(HOSTS))
        return f"{scheme}://{host}/{path.lstrip('/')}"
    if kind == 4:
        return "/" + path  # root-relative
    if kind == 5:
        return draw(st.sampled_from(["", "./", "../", "../../", "?q=", "#", "//cdn.example.com/"]))
    if kind == 6:
        return draw(
            st.sampled_from(
                [
                    "javascript:alert(1)",
                    " JaVaScRiPt:alert(document.cookie)",
                    "data:text/html,<script>alert(1)</script>",
                    "vbscript:msgbox(1)",
                    "mailto:someone@example.com",
                    "http://",
                    "https:///path",
                    "http:example.com",
                    "\x01https://example.com/",
                    "https://example.com/\x00",
                    "  https://example.com/padded  ",
                    "https://example.com:99999/",
                    "https://example.com:port/",
                ]
            )
        )
    if kind == 7:
        return draw(any_text)
    if kind == 8:
        return draw(huge_text)
    return path


# --------------------------------------------------------------------------- HTML

TAGS = (
    "p",
    "a",
    "b",
    "i",
    "img",
    "script",
    "style",
    "iframe",
    "object",
    "svg",
    "math",
    "table",
    "tr",
    "td",
    "div",
    "span",
    "br",
    "hr",
    "pre",
    "code",
    "blockquote",
    "template",
    "noscript",
    "form",
    "input",
    "x-custom",
    "o:p",
    "h1",
    "ul",
    "li",
)
ATTRIBUTES = (
    "href",
    "src",
    "srcset",
    "title",
    "alt",
    "onclick",
    "onerror",
    "style",
    "class",
    "id",
    "xmlns",
    "lang",
    "rel",
)
SAFE_ENTITIES = (
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&nbsp;",
    "&eacute;",
    "&euro;",
    "&#228;",
    "&#x1F600;",
    "&bogus;",
    "&amp",
    "&#;",
    "&#x;",
    "&",
    "&#0;",
    "&#xD800;",
    "&#1114112;",
    "&#99999999999;",
    "&#x110000;",
    "&#150;",
    "&#x80;",
)
# Character references to code points XML 1.0 forbids (C0 controls, U+FFFE/U+FFFF).
ILLEGAL_CHAR_REFS = ("&#1;", "&#x1;", "&#8;", "&#x0B;", "&#12;", "&#x1F;", "&#xFFFE;", "&#65535;")


@st.composite
def html_fragments(draw: st.DrawFn, max_parts: int = 8) -> str:
    entities = SAFE_ENTITIES
    if "illegal_char_ref_in_html" not in OPEN_FINDINGS:
        entities += ILLEGAL_CHAR_REFS
    parts: list[str] = []
    for _ in range(draw(st.integers(0, max_parts))):
        kind = draw(st.integers(0, 7))
        if kind <= 1:
            parts.append(draw(mixed_text))
        elif kind == 2:
            parts.append(draw(st.sampled_from(entities)))
        elif kind <= 4:
            tag = draw(st.sampled_from(TAGS))
            attrs = ""
            for _ in range(draw(st.integers(0, 3))):
                name = draw(st.sampled_from(ATTRIBUTES))
                value = draw(st.one_of(links(), any_text, st.sampled_from(entities)))
                quote = draw(st.sampled_from(['"', "'", ""]))
                attrs += f" {name}={quote}{value}{quote}"
            closing = draw(st.sampled_from(["", f"</{tag}>", "/>"]))
            parts.append(f"<{tag}{attrs}>{draw(mixed_text)}{closing}")
        elif kind == 5:
            parts.append(
                draw(
                    st.sampled_from(
                        [
                            "<!-- comment -->",
                            "<!--",
                            "<![CDATA[ data ]]>",
                            "]]>",
                            "<?php echo 1 ?>",
                            "<!DOCTYPE html>",
                            "</p>",
                            "<",
                            ">",
                            "<a href=x",
                            "<p<p>",
                            "\x00",
                        ]
                    )
                )
            )
        elif kind == 6:
            parts.append(f"<p>{draw(huge_text)}</p>")
        else:
            parts.append(draw(any_text))
    return "".join(parts)


# --------------------------------------------------------------------------- dates

ZONES = (
    "",
    " +0000",
    " -0000",
    " +0200",
    " -0530",
    " +1400",
    " -1200",
    " +02:00",
    " +02",
    " GMT",
    " UT",
    " UTC",
    " Z",
    " CEST",
    " EST",
    " IST",
    " NZDT",
    " GMT+2",
    " UTC-05:30",
    " (CEST)",
    " +0200 (CEST)",
    " XYZ",
    " A",
    " +2500",
    " +0260",
    " +",
)
# Offsets with seconds: parse_date reads them (``+01:00:30``, ``+010030``).
SECOND_ZONES = (" +01:00:30", " +010030", " -00:00:01")
ISO_ZONES = ("", "Z", "z", "+00:00", "+02:00", "-05:30", "+0530", "+14:00", "-23:59", "+24:00")
SECOND_ISO_ZONES = ("+01:00:30", "-000001")
WEIRD_DATES = (
    "",
    " ",
    "0",
    "-1",
    "now",
    "yesterday",
    "2025-02-30T10:00:00Z",
    "2025-13-01",
    "2025-05-10T24:00:00Z",
    "2025-05-10T24:00:01Z",
    "2025-05-10T23:59:60Z",
    "31.12.1969 23:59",
    "01.01.1970 00:00 +0100",
    "1970-01-01T00:00:00+14:00",
    "2200-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "05/10/2025",
    "10 May 2025 25:61",
    "Sat, 10 May 2025 11:33:00 +0200 (CEST) extra",
    "１０．０５．２０２５",
    "10\u201305\u20132025",
    "99999999999999999999",
    "1746",
    "1715333580",
    "1715333580123",
    "2025-05-10T11:33:00.123456789+02:00",
    "Mon, 10 May 2025 11:33:00 +0200",
    "10 Mai 2025 11:33 pm",
    "13:00 pm 10 May 2025",
    "May 10th, 2025 at 00:30 AM",
)


def _two(value: int) -> str:
    return f"{value:02d}"


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    zones, iso_zones = ZONES, ISO_ZONES
    if "offset_with_seconds" not in OPEN_FINDINGS:
        zones, iso_zones = ZONES + SECOND_ZONES, ISO_ZONES + SECOND_ISO_ZONES
    dt = draw(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2260, 12, 31)))
    zone = draw(st.sampled_from(zones))
    hms = f"{_two(dt.hour)}:{_two(dt.minute)}:{_two(dt.second)}"
    month_en = MONTHS_EN[dt.month - 1]
    form = draw(st.integers(0, 14))
    if form == 0:  # RFC 822 as RSS writes it (the weekday may be wrong: it is skipped)
        weekday = draw(st.sampled_from((*WEEKDAYS_EN, WEEKDAYS_EN[dt.weekday()])))
        return f"{weekday}, {_two(dt.day)} {month_en} {dt.year} {hms}{zone}"
    if form == 1:  # RFC 822 without weekday or seconds, two-digit year
        return f"{dt.day} {month_en} {dt.year % 100:02d} {_two(dt.hour)}:{_two(dt.minute)}{zone}"
    if form == 2:  # RFC 3339 / ISO 8601 extended
        frac = draw(st.sampled_from(["", ".5", ".123456", ".1234567890"]))
        sep = draw(st.sampled_from(["T", "t", " "]))
        return f"{dt:%Y-%m-%d}{sep}{hms}{frac}{draw(st.sampled_from(iso_zones))}"
    if form == 3:
        return f"{dt:%Y-%m-%d}" if draw(st.booleans()) else f"{dt:%Y/%m/%d}"
    if form == 4:  # ISO basic
        return f"{dt:%Y%m%dT%H%M%S}{draw(st.sampled_from(['', 'Z', '+0200']))}"
    if form == 5:  # day-first numeric
        year = str(dt.year) if draw(st.booleans()) else f"{dt.year % 100:02d}"
        return f"{dt.day}.{dt.month}.{year} {hms}{zone}"
    if form == 6:  # German
        return (
            f"{dt.day}. {MONTHS_DE[dt.month - 1]} {dt.year}, {_two(dt.hour)}:{_two(dt.minute)} Uhr"
        )
    if form == 7:  # English, month first, 12-hour clock
        hour = dt.hour % 12 or 12
        ampm = "AM" if dt.hour < 12 else "PM"
        return f"{month_en} {dt.day}th, {dt.year} at {hour}:{_two(dt.minute)} {ampm}"
    if form == 8:  # asctime / date(1)
        name = draw(st.sampled_from(["CEST", "UTC", "PST", "QQQ"]))
        return f"{WEEKDAYS_EN[dt.weekday()]} {month_en} {dt.day} {hms} {name} {dt.year}"
    if form == 9:  # epoch seconds or milliseconds
        seconds = int(dt.replace(tzinfo=UTC).timestamp())
        return str(seconds * 1000 if draw(st.booleans()) else seconds)
    if form == 10:
        return draw(st.sampled_from(WEIRD_DATES))
    if form == 11:  # a valid form with a character inserted somewhere
        text = f"{dt:%Y-%m-%d}T{hms}Z"
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.characters()) + text[at:]
    if form == 12:
        return draw(huge_text)
    if form == 13:
        return draw(st.text(alphabet="0123456789 :.-/+TZ", max_size=30))
    return draw(any_text)


aware_guesses = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    st.datetimes(
        min_value=datetime(1969, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
)

# --------------------------------------------------------------------------- entries

entry_ids = st.one_of(
    st.none(),
    st.just(""),
    blank_text,
    control_text,
    st.sampled_from(["1", "2", "dup", " dup ", "dup\n", "urn:uuid:123", "https://example.com/1"]),
    any_text,
    unicode_words,
    mixed_text,
    huge_text,
    links(),
    st.integers().map(str),
)
titles = st.one_of(st.none(), any_text, mixed_text, html_fragments(max_parts=3), control_text)
MEDIA_TYPES = ("audio/mpeg", "video/mp4", "image/png", "application/octet-stream", "audio/x-m4a")
BAD_MEDIA_TYPES = ("audio", "mp3", "audio/mpeg; codecs", "audio mpeg", "a/b/c", "text/html x")


@st.composite
def media_types(draw: st.DrawFn) -> str | None:
    choices: list[st.SearchStrategy[str | None]] = [
        st.none(),
        st.just(""),
        st.sampled_from(MEDIA_TYPES),
        st.sampled_from([" audio/mpeg ", "Audio/MPEG", "audio/mpeg; charset=binary"]),
    ]
    if "bad_media_type" not in OPEN_FINDINGS:
        choices += [st.sampled_from(BAD_MEDIA_TYPES), any_text]
    return draw(st.one_of(choices))


enclosures = st.builds(
    Enclosure,
    url=links(),
    media_type=media_types(),
    length=st.one_of(st.none(), st.integers(-10, 10**12), st.just(10**30)),
)
languages = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "en",
            "de-DE",
            "de_AT",
            "EN-us",
            " en ",
            "x-klingon",
            "zh-Hant-TW",
            "i-default",
            "en-",
            "-en",
            "e",
            "english",
            "en US",
            "en-verylongsubtag",
            "en\n",
            "de-DE\n",
            "\u00e9n",
            "",
            "12",
            "en--us",
        ]
    ),
    any_text,
)
tag_lists = st.lists(st.one_of(any_text, unicode_words, control_text, blank_text), max_size=5)
categories = st.one_of(st.none(), any_text, unicode_words, control_text, blank_text)


@st.composite
def raw_entries(draw: st.DrawFn) -> RawEntry:
    raw = RawEntry(
        entry_id=draw(entry_ids),
        title=draw(titles),
        title_is_html=draw(st.booleans()),
        link=draw(st.one_of(st.none(), links())),
        summary_html=draw(st.one_of(st.none(), html_fragments(max_parts=4))),
        content_html=draw(st.one_of(st.none(), html_fragments())),
        base_url=draw(st.one_of(st.none(), links())),
        authors=tuple(
            Author(name, email=email, uri=uri)
            for name, email, uri in draw(
                st.lists(
                    st.tuples(
                        st.one_of(any_text, unicode_words, control_text, blank_text),
                        st.one_of(st.none(), any_text, st.just("ann@stadt.example")),
                        st.one_of(st.none(), links()),
                    ),
                    max_size=4,
                )
            )
        ),
        published=draw(st.one_of(st.none(), date_texts())),
        updated=draw(st.one_of(st.none(), date_texts())),
        published_guess=draw(aware_guesses),
        updated_guess=draw(aware_guesses),
        tags=tuple(draw(tag_lists)),
        category=draw(st.one_of(st.none(), st.none(), categories)),
        language=draw(languages),
        enclosures=tuple(draw(st.lists(enclosures, max_size=3))),
        location=draw(st.one_of(st.none(), links())),
    )
    if "invalid_base_url" in OPEN_FINDINGS and _nh3_refuses_base(raw.base_url):
        raw = dataclasses.replace(raw, base_url=None)
    if "empty_entry_key" in OPEN_FINDINGS and not entry_key(raw):
        # An id (or link) of nothing but XML-illegal characters gives an empty entry key.
        raw = dataclasses.replace(raw, entry_id=(raw.entry_id or "") + "k")
    return raw


@st.composite
def raw_feeds(draw: st.DrawFn, max_entries: int = 6, min_entries: int = 0) -> RawFeed:
    entries = draw(st.lists(raw_entries(), min_size=min_entries, max_size=max_entries))
    if entries and draw(st.booleans()):  # an exact duplicate entry
        entries.append(draw(st.sampled_from(entries)))
    link = draw(st.one_of(st.none(), links()))
    if "invalid_base_url" in OPEN_FINDINGS and _nh3_refuses_base(link):
        link = None
    return RawFeed(
        entries=tuple(entries),
        title=draw(st.one_of(st.none(), any_text)),
        link=link,
        language=draw(languages),
        warnings=tuple(draw(st.lists(any_text, max_size=2))),
    )


SOURCE_NAMES = ("src", "Example Blog", "Ünïcödé Quelle", "a/b", "日本語のフィード", "x" * 120)
ZONE_NAMES = ("UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham")


@st.composite
def sources(draw: st.DrawFn, categorised: bool = False) -> Source:
    """A remote source; `categorised`: with a category its entries can all be filed under."""
    # The config rejects a blank category; None happens for local sources.
    named = st.one_of(
        st.sampled_from(["Technik", "Welt Nachrichten", "Ärger & Ökonomie", "All", "static"]),
        unicode_words.filter(str.strip),
        any_text.filter(str.strip),
    )
    choice = named.filter(clean_text) if categorised else st.one_of(st.none(), named)
    category = draw(choice)
    return Source(
        name=draw(st.sampled_from(SOURCE_NAMES)),
        kind=SourceKind.REMOTE,
        interval=timedelta(minutes=30),
        url="https://example.com/feed.xml",
        category=category,
        language=draw(languages),
        timezone=draw(st.sampled_from(ZONE_NAMES)),
    )


nows = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC)
)
fallback_bases = st.sampled_from([BASE_URL, None, "https://example.org/sub/dir/"])


@st.composite
def first_seen_maps(draw: st.DrawFn, feed: RawFeed, now: datetime) -> dict[str, datetime]:
    keys = [entry_key(raw) for raw in feed.entries]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([]))
    ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650))
    return {key: now - draw(ages) for key in chosen}


@dataclasses.dataclass
class Case:
    feed: RawFeed
    source: Source
    now: datetime
    first_seen: dict[str, datetime]
    fallback_base: str | None

    def normalise(self, **changes: Any) -> NormalisedFeed:
        args = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)} | changes
        return normalise_feed(
            args["feed"],
            source=args["source"],
            now=args["now"],
            first_seen=args["first_seen"],
            fallback_base=args["fallback_base"],
        )


@st.composite
def cases(draw: st.DrawFn, max_entries: int = 6, publishable: bool = False) -> Case:
    """`publishable`: at least one entry, and a source category (as a remote source has)."""
    feed = draw(raw_feeds(max_entries, min_entries=1 if publishable else 0))
    now = draw(nows)
    return Case(
        feed=feed,
        source=draw(sources(categorised=publishable)),
        now=now,
        first_seen=draw(first_seen_maps(feed, now)),
        fallback_base=draw(fallback_bases),
    )


# --------------------------------------------------------------------------- publish

category_names = st.one_of(
    st.sampled_from(["Technik", "Welt Nachrichten", "Ärger & Ökonomie", "all", "<b>&amp;</b>"]),
    unicode_words,
    st.text(min_size=1, max_size=30),  # any code point but surrogates
).filter(
    lambda name: (
        # The config refuses a blank name and one with characters XML cannot carry;
        # Category.named strips those, so names that keep some text are tried too.
        bool(XML_ILLEGAL.sub("", name).strip())
    )
)
hubs = st.sampled_from([None, "https://hub.example.com/", "https://websub.example/hub?x=1&y=2"])
