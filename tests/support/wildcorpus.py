"""A deterministic corpus of feeds as they are found in the wild, written by our own code.

`build_corpus()` returns a few hundred `WildFeed`s (the same ones on every call: one seeded
`random.Random` drives every choice). Each is the body of one HTTP response, its headers
and what a reader of it should get out of it:

* dialects: RSS 0.90, 0.91 (UserLand and Netscape, with its DOCTYPE), 0.92, 0.93, 0.94,
  2.0 plain, 2.0 with namespaces (``content:encoded``, ``dc:creator``, ``dc:date``), 2.0 in the
  UserLand and Harvard default namespaces, ``<rss>`` without a version, RSS 1.0 (RDF), Atom
  0.3, Atom 1.0 (``xml:base``, relative links, ``type="xhtml"``, several links per entry),
  CDF (feedparser 6.0 reads it, but names no version for it), JSON Feed 1.0 and 1.1, and
  podcasts (RSS 2.0 with iTunes tags and enclosures);
* encodings, really encoded so: UTF-8 (with and without BOM), UTF-16 LE/BE with BOM,
  Shift_JIS, EUC-JP, KOI8-R, windows-1251, Big5, GB2312, GBK, ISO-8859-1, ISO-8859-15 and
  windows-1252, each title carrying text of that encoding (Japanese, Cyrillic, Chinese,
  accented Latin) so that a wrong decoding shows; the encoding declared in the HTTP header
  and the prolog, in only one of them, in neither (UTF-8), or in both but differently;
* dates in RFC 822 with offsets, zone names (``CEST``) and ``GMT+2``, two-digit years,
  ``10.05.2025 11:33``, German month names, epoch seconds, ISO 8601 with and without a zone,
  in the future (far: year 2099) and none at all;
* duplicate ids within a feed, entries with a link but no id, with neither, relative links
  with and without ``xml:base``, HTML entities, character references and CDATA in titles,
  very long, blank and missing titles, feeds with no entries and one with 500;
* broken XML (unclosed and mismatched tags, undefined entities, bare ``&`` and ``<``,
  control characters, invalid UTF-8, truncation, undeclared prefixes, junk before or after
  the document) in which some entries survive.

For a well-formed feed the generator knows what must come out: `WildFeed.expected` lists
the entries a reader should get, after duplicate ids are collapsed (the first kept), with
the title as a reader should show it (plain text, whitespace folded) and, where the feed
says, the link, the publication instant, a marker word of the content, a link inside the
content and the enclosure. For a broken feed `expected` is None: what is recoverable is
whatever feedparser itself recovers from the body (see `test_wild_corpus.py`).

Every title (or, for entries without one, the summary it is derived from, or the id) carries
the entry's tag ``W<feed>-<entry>`` (``W012-003``), so an entry found in a category's output
can be traced back to its feed.

Run ``python -m support.wildcorpus`` in tests/ for the composition of the corpus.
"""

from __future__ import annotations

import codecs
import html
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import reduce
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from support.conformance import XML_ILLEGAL
from support.date_names import MONTHS_DE, MONTHS_EN, WEEKDAYS_DE, WEEKDAYS_EN
from support.feedwriter import (
    Enclosure,
    Entry,
    Episode,
    Feed,
    Link,
    Person,
    Raw,
    Show,
    cdata,
    document,
    json_feed,
    prolog,
    xml_text,
)
from support.namespaces import NS_CONTENT, NS_DC

__all__ = [
    "CATEGORIES",
    "CHARSETS",
    "RUN",
    "Expected",
    "WildFeed",
    "build_corpus",
    "composition",
    "fold",
]

SEED = 20250510

# The instant an entry gets when it has no usable date of its own (none, or one in the
# future): the time of the run that first saw it.
RUN = "run"

CATEGORIES = (
    "Kultur & Gesellschaft",
    "日本",
    "Россия",
    "Technik",
    "Wirtschaft",
    "Politik",
    "Sport",
    "Wissenschaft",
    "Podcasts",
    "中文新闻",
    "Україна",
    "Europa",
    "Welt Nachrichten",
    "Blogs",
    "Café Société",
)

TIMEZONES = ("UTC", "Europe/Berlin", "Asia/Tokyo", "Europe/Moscow", "America/New_York")


NETSCAPE_DOCTYPE = (
    '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
    '  "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
)
ENTITY_DOCTYPE = (
    "<!DOCTYPE rss [\n"
    '<!ENTITY eacute "&#233;">\n'
    '<!ENTITY mdash "&#8212;">\n'
    '<!ENTITY nbsp "&#160;">\n'
    "]>\n"
)

_WHITESPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """A title as compared: XML-illegal characters removed, whitespace folded, stripped."""
    return _WHITESPACE.sub(" ", XML_ILLEGAL.sub("", text)).strip()


# --- encodings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Charset:
    key: str  # our name for it
    label: str  # as written in a prolog or a Content-Type
    codec: str  # Python's codec
    phrases: tuple[str, ...]  # title texts written in it
    language: str
    bom: bytes = b""


_JAPANESE = (
    "東京で桜が満開になりました",
    "日本語のニュース速報",
    "新しいカメラを発表",
    "大阪の夏祭り、今年も開催",
    "「ラーメン」特集：札幌の名店",
    "京都の紅葉と温泉旅行",
    "プログラミング入門講座",
)
_RUSSIAN = (
    "Новости дня: Москва и Санкт-Петербург",
    "Погода в Сибири, морозы до минус сорока",
    "Ёлка на площади",
    "Наука и техника сегодня",
    "Экономика: курс рубля",
    "Спорт: хоккей и футбол",
)
_CYRILLIC = (
    "Україна: новини з Києва",
    "Българските новини «Софийски вести»",
    "Ёлка на Красной площади №1",
    "Беларусь: навіны дня",
    "Сербија и Црна Гора",
    "Ґрунтовний аналіз економіки",
)
_TRADITIONAL = (
    "台灣新聞：颱風來襲",
    "臺北市政府發布公告",
    "中華民國國慶日慶祝活動",
    "高雄港口擴建計畫",
    "香港電影金像獎",
)
_SIMPLIFIED = (
    "中国新闻：北京天气晴朗",
    "上海股市今日上涨",
    "人工智能技术发展迅速",
    "长江三角洲经济报告",
    "广州美食节开幕",
)
_GBK = (
    "中國與中国：繁简混排",
    "朱镕基与喆、堃、玥",
    "深圳科技园区扩建",
    "臺灣與台湾",
)
_LATIN1 = (
    "Größe und Übermaß: Straßenfest in Köln",
    "Café, crème brûlée et Noël",
    "Ñandú en España",
    "Smørrebrød på Østerbro",
    "Ísland: Þingvellir í dag",
    "Ça coûte 5 £ ou ¥",
)
_LATIN9 = (
    "Preis: 5 € für Œuvres",
    "Šárka und Žižek im Kino",
    "Bœuf bourguignon à 12 €",
    "Ÿvonne et Œdipe",
)
_CP1252 = (
    "„Zitat“ – 100 € … ‘ok’",
    "Mötley Crüe™ live in Zürich",
    "Œuvre • Šeriff • Ždánov",
    "Preis: 20 € — „billig“",
)
_UNICODE = (
    "Ελληνικά νέα: Αθήνα σήμερα",
    "חדשות מירושלים",
    "أخبار القاهرة اليوم",
    "日本語と中文と한국어",
    "Россия и Україна",
    "Emoji 😀🎉 im Titel",
    "Ünïcödé ∑ ∞ ≠ √",
    "Ναι / Да / 是 / はい",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral",
    "Größe, Café, Straße",
)

CHARSETS: Mapping[str, Charset] = {
    c.key: c
    for c in (
        Charset("utf-8", "UTF-8", "utf-8", _UNICODE, "en"),
        Charset("utf-8-bom", "UTF-8", "utf-8", _UNICODE, "en", codecs.BOM_UTF8),
        Charset("utf-16le", "UTF-16", "utf-16-le", _UNICODE, "en", codecs.BOM_UTF16_LE),
        Charset("utf-16be", "UTF-16", "utf-16-be", _UNICODE, "en", codecs.BOM_UTF16_BE),
        Charset("shift_jis", "Shift_JIS", "shift_jis", _JAPANESE, "ja"),
        Charset("euc-jp", "EUC-JP", "euc_jp", _JAPANESE, "ja"),
        Charset("koi8-r", "KOI8-R", "koi8_r", _RUSSIAN, "ru"),
        Charset("windows-1251", "windows-1251", "cp1251", _CYRILLIC, "uk"),
        Charset("big5", "Big5", "big5", _TRADITIONAL, "zh-TW"),
        Charset("gb2312", "GB2312", "gb2312", _SIMPLIFIED, "zh-CN"),
        Charset("gbk", "GBK", "gbk", _GBK, "zh-CN"),
        Charset("iso-8859-1", "ISO-8859-1", "latin_1", _LATIN1, "de"),
        Charset("iso-8859-15", "ISO-8859-15", "iso8859_15", _LATIN9, "fr"),
        Charset("windows-1252", "windows-1252", "cp1252", _CP1252, "de"),
    )
}

_AUTHORS = {
    "ja": "山田太郎",
    "ru": "Иван Петров",
    "uk": "Олена Шевченко",
    "zh-TW": "陳大文",
    "zh-CN": "王小明",
    "de": "Jörg Müller",
    "fr": "Zoé Lefèvre",
    "en": "Ana Łukasiewicz",
}

LEGACY = (
    "shift_jis",
    "euc-jp",
    "koi8-r",
    "windows-1251",
    "big5",
    "gb2312",
    "gbk",
    "iso-8859-1",
    "iso-8859-15",
    "windows-1252",
)

# How the encoding of an XML feed is declared (`WildFeed.declared`):
DECLARATIONS = {
    "both": "HTTP charset and prolog agree",
    "prolog": "prolog only (XML media type without charset)",
    "prolog-texttype": "prolog only, served as text/* without charset (RFC 3023: us-ascii)",
    "header": "HTTP charset only (prolog without encoding)",
    "header-noprolog": "HTTP charset only (no prolog at all)",
    "none": "declared nowhere (UTF-8 by default)",
    "prolog-wrong": "HTTP charset right, prolog names another encoding",
    "header-utf8": "prolog right, HTTP says charset=UTF-8",
    "header-latin1": "prolog (or BOM) right, HTTP says charset=ISO-8859-1",
    "bom": "byte order mark (and prolog), no HTTP charset",
    "bom-charset": "byte order mark and a matching HTTP charset (UTF-16 says charset=UTF-16)",
    "bom-header-utf8": "UTF-16 byte order mark, HTTP says charset=UTF-8",
    "json": "JSON (UTF-8 by definition)",
}

_MEDIA_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "rdf": "application/rdf+xml",
    "cdf": "application/xml",
}


# --- what a feed must give ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """One entry a reader of the feed must get.

    URLs are kept as written, with the bases they are written under (``xml:base``, outer
    first): `resolve` turns them into absolute URLs against the feed's own URL.
    """

    tag: str
    title: str  # plain text as shown, whitespace folded
    link: tuple[str, ...] | None = None
    published: datetime | str | None = None  # the instant, RUN, or None (not checked)
    marker: str | None = None  # a word that must be in the published content
    content_href: tuple[str, ...] | None = None  # a link in the content, resolved
    enclosure: tuple[str, ...] | None = None

    @staticmethod
    def resolve(feed_url: str, refs: Sequence[str]) -> str:
        return reduce(urljoin, refs, feed_url)


@dataclass(frozen=True)
class WildFeed:
    number: int
    name: str  # the source name in the config
    path: str  # where the test server serves it
    kind: str  # dialect, e.g. "rss20-ns", "atom10", "cdf", "json11"
    charset: str  # what the bytes really are (a `CHARSETS` key)
    declared: str  # how the encoding is declared (a `DECLARATIONS` key)
    headers: Mapping[str, str]  # the HTTP response headers (no Content-Type: served without)
    body: bytes
    category: str
    timezone: str
    expected: tuple[Expected, ...] | None  # None: broken, recoverable = what feedparser finds
    dropped: tuple[str, ...] = ()  # titles of later duplicates (same id), never published
    broken: str | None = None  # how the XML is broken
    written: int = 0  # entries written into the document
    features: tuple[str, ...] = ()

    @property
    def tag_prefix(self) -> str:
        return f"W{self.number:03d}-"


def composition(corpus: Sequence[WildFeed]) -> dict[str, Counter[str]]:
    """Counts of the corpus by kind, encoding, declaration, feature and breakage."""
    return {
        "kind": Counter(f.kind for f in corpus),
        "charset": Counter(f.charset for f in corpus),
        "declared": Counter(f.declared for f in corpus),
        "features": Counter(x for f in corpus for x in f.features),
        "broken": Counter(f.broken for f in corpus if f.broken),
        "category": Counter(f.category for f in corpus),
    }


# --- dates ----------------------------------------------------------------------------------

DATE_STYLES = (
    "rfc822",
    "rfc822-gmt",
    "zone-name",
    "gmt-offset",
    "two-digit-year",
    "day-first",
    "epoch",
    "german",
    "iso-offset",
    "iso-z",
    "iso-naive",
    "future",
    "none",
)
_ISO_STYLES = ("iso-offset", "iso-z", "iso-naive", "iso-minutes")
_COMMON_STYLES = ("rfc822", "rfc822", "rfc822", "iso-z", "none")

DateText = tuple[str | None, datetime | str]


def _rfc822(local: datetime, zone: str, *, two_digit: bool = False) -> str:
    year = f"{local.year % 100:02d}" if two_digit else str(local.year)
    return (
        f"{WEEKDAYS_EN[local.weekday()]}, {local.day:02d} {MONTHS_EN[local.month - 1]} {year} "
        f"{local:%H:%M:%S} {zone}"
    )


def _numeric(local: datetime) -> str:
    offset = local.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _fixed(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def date_text(style: str, instant: datetime, zone: ZoneInfo, rng: random.Random) -> DateText:
    """`instant` written in `style`, and the instant a reader must take from it.

    Zone-less styles are written in the source's `zone` (that is how they are read); styles
    without seconds are written for the instant truncated to the minute.
    """
    if style == "none":
        return None, RUN
    if style == "future":
        return rng.choice(("Thu, 31 Dec 2099 10:00:00 +0000", "2099-12-31T10:00:00Z")), RUN
    if style == "rfc822":
        local = instant.astimezone(_fixed(rng.choice((0, 120, -300, 540, 330, 60))))
        return _rfc822(local, _numeric(local)), instant
    if style == "rfc822-gmt":
        return _rfc822(instant, "GMT"), instant
    if style == "zone-name":
        named = ZoneInfo(rng.choice(("Europe/Berlin", "America/New_York")))
        local = instant.astimezone(named)
        return _rfc822(local, str(local.tzname())), instant
    if style == "gmt-offset":
        hours = rng.choice((2, 3, -4, 9, 1))
        local = instant.astimezone(_fixed(hours * 60))
        return _rfc822(local, f"GMT{hours:+d}"), instant
    if style == "two-digit-year":
        local = instant.astimezone(_fixed(rng.choice((120, 0, -300))))
        return _rfc822(local, _numeric(local), two_digit=True), instant
    if style == "epoch":
        return str(int(instant.timestamp())), instant
    if style == "iso-offset":
        local = instant.astimezone(_fixed(rng.choice((120, -300, 540, 330))))
        return local.isoformat(), instant
    if style == "iso-z":
        return f"{instant:%Y-%m-%dT%H:%M:%S}Z", instant
    local = instant.astimezone(zone)
    if style == "iso-naive":
        return f"{local:%Y-%m-%d %H:%M:%S}", local
    local = local.replace(second=0)
    if style == "iso-minutes":
        return f"{local:%Y-%m-%dT%H:%M}", local
    if style == "day-first":
        return f"{local:%d.%m.%Y %H:%M}", local
    if style == "german":
        month = MONTHS_DE[local.month - 1]
        if rng.random() < 0.5:
            return f"{local.day}. {month} {local.year} {local:%H:%M}", local
        day = WEEKDAYS_DE[local.weekday()]
        return f"{day}, {local.day}. {month} {local.year}, {local:%H:%M} Uhr", local
    raise ValueError(f"unknown date style {style!r}")


def _instant(rng: random.Random, zone: ZoneInfo) -> datetime:
    """A past instant whose local time in `zone` is in the day (no DST ambiguity)."""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    instant = start + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
    local_hour = instant.astimezone(zone).hour
    return instant + timedelta(hours=12 - local_hour)


# --- entries as planned ---------------------------------------------------------------------


@dataclass(frozen=True)
class Title:
    xml: str  # the element's content as written (escaped, CDATA, markup)
    expected: str | None  # plain text a reader shows; None: blank (derived from the summary)
    atom_type: str | None = None  # Atom 1.0 type attribute
    style: str = "plain"


@dataclass(frozen=True)
class Item:
    tag: str
    phrase: str
    title: Title | None  # None: no title element
    guid: str | None = None  # RSS guid, Atom id, RDF about, JSON id
    guid_style: str = "urn"  # "urn" (isPermaLink="false"), "permalink", "bare", "number"
    link: str | None = None  # as written; maybe relative
    base: str | None = None  # the entry's own xml:base
    date: str | None = None
    instant: datetime | str | None = RUN
    date_role: str = "published"  # or "updated", "both"
    html: str | None = None  # content
    content_href: str | None = None  # the link inside `html`, as written
    summary: str | None = None  # plain text
    xhtml: bool = False
    cdata: bool = False
    enclosure: tuple[str, str, int] | None = None
    author: str | None = None
    more_links: bool = False  # Atom: related, non-HTML alternate, replies, edit around it


TITLE_STYLES = (
    "plain",
    "charrefs",
    "entities",
    "cdata",
    "long",
    "whitespace",
    "empty",
    "missing",
    "xhtml",
    "angle",
    "json-entities",
    "dtd",
)


def _title_styles(kind: str, *, dtd: bool = False) -> tuple[str, ...]:
    if kind.startswith("json"):
        return ("plain", "json-entities", "angle", "long", "whitespace", "missing")
    if kind == "rss090":
        return ("plain", "charrefs", "long", "whitespace")
    styles = ["plain", "charrefs", "entities", "cdata", "long", "whitespace", "empty", "missing"]
    if kind == "atom10":
        styles += ["xhtml", "angle"]
    if dtd:
        styles.append("dtd")
    return tuple(styles)


def _title(style: str, phrase: str, tag: str, kind: str) -> Title | None:
    text = f"{phrase} {tag}"
    if kind.startswith("json"):
        return _json_title(style, phrase, tag)
    atom = kind in ("atom10", "atom03")
    html_type = "html" if kind == "atom10" else ("text/html" if kind == "atom03" else None)
    if style == "plain":
        return Title(xml_text(text), text)
    if style == "charrefs":
        refs = "&#8220;Zitat&#8221; &#x2014; &#128512;"
        return Title(f"{refs} {xml_text(text)}", f"“Zitat” — 😀 {text}", style=style)
    if style == "entities":
        source = f"Caf&eacute; &amp; Bar &mdash; {html.escape(text, quote=False)}"
        return Title(xml_text(source), f"Café & Bar — {text}", html_type, style)
    if style == "cdata":
        return Title(cdata(f"{text} & <b>fett</b>"), f"{text} & fett", html_type, style)
    if style == "long":
        words = []
        while sum(len(w) + 1 for w in words) < 1500:
            words.append(phrase)
        long_text = " ".join(words) + f" {tag}"
        return Title(xml_text(long_text), long_text, style=style)
    if style == "whitespace":
        return Title(f"\n    {xml_text(phrase)}\t\t {tag}  \n  ", text, style=style)
    if style == "empty":
        return Title(" " if atom else "", None, style=style)
    if style == "missing":
        return None
    if style == "xhtml":
        # the markup of the XHTML div the writer puts it in
        return Title(f"{xml_text(phrase)} <em>{tag}</em>", text, "xhtml", style)
    if style == "angle":
        literal = f"Vec<T> und Option<&str>: {text}"
        return Title(xml_text(literal), literal, "text" if kind == "atom10" else None, style)
    if style == "dtd":
        return Title(f"Caf&eacute;&nbsp;&mdash; {xml_text(text)}", f"Café — {text}", style=style)
    raise ValueError(f"unknown title style {style!r}")


def _json_title(style: str, phrase: str, tag: str) -> Title | None:
    """A JSON Feed title: a plain string (entities in it are WordPress's habit)."""
    text = f"{phrase} {tag}"
    if style == "plain":
        return Title(text, text)
    if style == "json-entities":
        return Title(f"It&#8217;s {text} &amp; more", f"It’s {text} & more", style=style)
    if style == "angle":
        literal = f"Vec<T> und Option<&str>: {text}"
        return Title(literal, literal, style=style)
    if style == "long":
        long_text = " ".join([phrase] * (1500 // len(phrase) + 1)) + f" {tag}"
        return Title(long_text, long_text, style=style)
    if style == "whitespace":
        return Title(f"\n    {phrase}\t\t {tag}  \n  ", text, style=style)
    if style == "missing":
        return None
    raise ValueError(f"no JSON title style {style!r}")


def _content(tag: str, phrase: str, href: str | None) -> str:
    link = f' <a href="{html.escape(href)}">mehr</a>' if href else ""
    return f"<p>{tag}-body {html.escape(phrase, quote=False)}{link}</p>"


# --- dialects: what each can carry ----------------------------------------------------------

XML_KINDS = (
    "rss090",
    "rss091u",
    "rss091n",
    "rss092",
    "rss093",
    "rss094",
    "rss20",
    "rss20-ns",
    "rss20-userland",
    "rss20-harvard",
    "rss-noversion",
    "rss10",
    "podcast",
    "atom03",
    "atom10",
    "cdf",
)
JSON_KINDS = ("json10", "json11")

_RSS_VERSIONS = {
    "rss091u": "0.91",
    "rss091n": "0.91",
    "rss092": "0.92",
    "rss093": "0.93",
    "rss094": "0.94",
    "rss20": "2.0",
    "rss20-ns": "2.0",
    "rss20-userland": "2.0",
    "rss20-harvard": "2.0",
    "podcast": "2.0",
    "rss-noversion": None,
}
_GUIDS = {"rss094", "rss20", "rss20-ns", "rss20-userland", "rss20-harvard", "rss-noversion"}
_GUIDS |= {"podcast", "rss10", "atom03", "atom10", "json10", "json11"}
_DATES = _GUIDS | {"rss093", "cdf"}
_ENCLOSURES = {"rss092", "rss093", "rss094", "rss20", "rss20-ns", "rss20-userland"}
_ENCLOSURES |= {"rss20-harvard", "rss-noversion", "podcast", "atom03", "atom10", "json10"}
_ENCLOSURES |= {"json11"}
_ONE_DESCRIPTION = {"rss091u", "rss091n", "rss092", "rss093", "rss094", "rss20"}
_ONE_DESCRIPTION |= {"rss20-userland", "rss20-harvard", "rss-noversion", "cdf"}
_XML_BASE = {"atom10", "atom03", "rss20-ns", "podcast"}


def media_type(kind: str) -> str:
    if kind.startswith("atom"):
        return _MEDIA_TYPES["atom"]
    if kind in ("rss10", "rss090"):
        return _MEDIA_TYPES["rdf"]
    if kind == "cdf":
        return _MEDIA_TYPES["cdf"]
    if kind.startswith("json"):
        return "application/feed+json"
    return _MEDIA_TYPES["rss"]


def _fit(item: Item, kind: str, feed_link: str) -> Item:
    """`item` reduced to what `kind` can carry (so what is expected is what is written)."""
    if kind not in _GUIDS:
        item = replace(item, guid=None)
    if kind not in _DATES:
        item = replace(item, date=None, instant=RUN)
    if kind not in _ENCLOSURES:
        item = replace(item, enclosure=None)
    if kind not in _XML_BASE:
        item = replace(item, base=None)
    if kind != "atom10":
        item = replace(item, more_links=False)
    if kind not in ("atom10", "atom03"):
        item = replace(item, xhtml=False)
    if kind.startswith("json"):
        item = replace(item, cdata=False)
    if kind == "rss090":
        item = replace(item, html=None, summary=None, author=None, content_href=None)
        if item.link is None:
            item = replace(item, link=f"https://www.example.org/rss090/{item.tag}.html")
    if kind in _ONE_DESCRIPTION:
        # one <description> (CDF: <ABSTRACT>): the summary when the title is blank
        # (the title is derived from it), else the content if there is any
        blank = item.title is None or item.title.expected is None
        if blank or item.html is None:
            item = replace(item, html=None, content_href=None)
        else:
            item = replace(item, summary=None)
    if kind == "rss10" and item.guid is None:
        item = replace(item, guid=item.link or f"{feed_link}#{item.tag}", guid_style="urn")
    if kind == "cdf" and item.date is not None and item.date_role != "cdf":
        item = replace(item, date=None, instant=RUN)
    if item.guid_style == "permalink" and kind not in _RSS_VERSIONS:
        item = replace(item, guid=f"urn:wild:{item.tag}", guid_style="urn")
    return item


def _expect(item: Item, kind: str, feed_base: str | None) -> Expected:
    bases = tuple(b for b in (feed_base, item.base) if b)
    title = item.title.expected if item.title is not None else None
    if title is None:
        if item.summary is not None:
            title = item.summary
        elif kind.startswith("json") and item.html is not None:
            title = item.html  # content_text, for a JSON item without title
        else:
            raise AssertionError(f"{item.tag}: a blank title needs a summary")
    link: tuple[str, ...] | None = None
    if item.guid_style == "permalink" and item.guid is not None and kind in _RSS_VERSIONS:
        link = (item.guid,)
    elif item.link is not None:
        link = (*bases, item.link)
    marker = None
    content_href = None
    if item.html is not None and not (kind.startswith("json") and item.title is None):
        marker = f"{item.tag}-body"
        if item.content_href is not None:
            if kind.startswith("json"):
                content_href = (*(link or ()), item.content_href)
            else:
                content_href = (*bases, item.content_href)
    enclosure = (*bases, item.enclosure[0]) if item.enclosure else None
    return Expected(
        tag=item.tag,
        title=fold(title),
        link=link,
        published=item.instant,
        marker=marker,
        content_href=content_href,
        enclosure=enclosure,
    )


def _key(item: Item, bases: tuple[str, ...]) -> str | None:
    """The entry's identity for duplicate detection: its id, else its link, else none."""
    if item.guid is not None:
        return item.guid.strip()
    if item.link is not None:
        return " ".join((*bases, item.link))
    return None


# --- the document: each dialect described for the one writer -----------------------------


@dataclass(frozen=True)
class Channel:
    title: str
    link: str
    description: str
    language: str
    author: str
    base: str | None = None  # xml:base of the feed (Atom) or channel (RSS)
    doctype: str = ""
    updated: str = "2025-05-10T11:33:00Z"


# Our dialects as the writer names them, and the prefixes each declares whether used or not.
_FORMATS = {
    "rss091u": "rss091",
    "rss091n": "rss091",
    "rss20-ns": "rss20",
    "podcast": "rss20",
}
_DECLARE = {
    "rss20-ns": ("content", "dc"),
    "podcast": ("content", "dc", "itunes"),
    "rss10": ("dc", "content"),
}
_NAMESPACED = {"rss20-ns", "podcast"}  # RSS 2.0 with content:encoded and dc:
_NO_AUTHOR = {"rss091u", "rss091n", "rss092", "rss093"}  # RSS without an <author> element
_SHOW = Show(
    author="",
    owner="Wild",
    owner_email="wild@example.org",
    image="https://cdn.example.com/art/cover.jpg",
    category="Technology",
)


def _raw_title(item: Item) -> Raw | None:
    return None if item.title is None else Raw(item.title.xml)


def _description(item: Item) -> str | None:
    """The one description of dialects without content:encoded: the content, else summary."""
    if item.html is not None:
        return cdata(item.html) if item.cdata else item.html
    return item.summary


def _enclosures(item: Item) -> tuple[Enclosure, ...]:
    return () if item.enclosure is None else (Enclosure(*item.enclosure),)


def _authors(item: Item) -> tuple[Person, ...]:
    return () if item.author is None else (Person(item.author),)


def _rss_entry(kind: str, item: Item) -> Entry:
    namespaced = kind in _NAMESPACED
    permalink = item.guid_style == "permalink" and item.guid is not None
    updated_only = namespaced and item.date_role == "updated"
    episode = None
    if kind == "podcast":
        number = int(item.tag.rsplit("-", 1)[1])
        duration = f"00:{number % 60:02d}:{(number * 7) % 60:02d}"
        image = f"https://cdn.example.com/art/{item.tag}.jpg"
        episode = Episode(duration, image, explicit=False, episode=number, episode_type="full")
    return Entry(
        id=item.guid,
        permalink=False if item.guid_style == "urn" else None,
        title=_raw_title(item),
        link=None if permalink else item.link,
        base=item.base,
        summary=item.summary if namespaced else _description(item),
        content=cdata(item.html) if namespaced and item.html is not None else None,
        published=None if updated_only else item.date,
        updated=item.date if updated_only else None,
        authors=_authors(item) if namespaced else (),
        rss_author=(
            f"wild@example.org ({item.author})"
            if item.author is not None and not namespaced and kind not in _NO_AUTHOR
            else None
        ),
        itunes_author=(item.author or "Wild") if kind == "podcast" else None,
        enclosures=_enclosures(item),
        episode=episode,
    )


def _atom_links(item: Item) -> tuple[Link, ...]:
    """The entry's alternate link, bare or typed, and more links around it if it has them."""
    main: tuple[Link, ...] = ()
    if item.link is not None:
        bare = item.more_links or item.tag.endswith("1")
        main = (Link(item.link) if bare else Link(item.link, "alternate", "text/html"),)
    if not item.more_links:
        return main
    tag = item.tag
    return (
        Link(f"https://elsewhere.example.net/{tag}", "related"),
        Link(f"{tag}.pdf", "alternate", "application/pdf"),
        *main,
        Link(f"{tag}.html#comments", "replies", "text/html"),
        Link(f"https://edit.example.net/{tag}", "edit"),
        Link("self.xml", "self", "application/atom+xml"),
    )


def _atom_entry(kind: str, item: Item) -> Entry:
    atom10 = kind == "atom10"
    title_type = item.title.atom_type if item.title is not None else None
    if not atom10:  # Atom 0.3: only escaped HTML is typed
        title_type = "html" if title_type == "text/html" else None
    content: str | None = item.html
    content_type = "html"
    if item.html is not None and item.xhtml:
        content, content_type = Raw(item.html), "xhtml"
    elif item.html is not None and item.cdata and atom10:
        content = cdata(item.html)
    return Entry(
        id=item.guid,
        title=_raw_title(item),
        title_type=title_type,
        links=_atom_links(item) if atom10 else None,
        link=item.link,
        base=item.base,
        published=item.date if item.date_role in ("published", "both") else None,
        updated=item.date if item.date_role in ("updated", "both") else None,
        authors=_authors(item),
        summary=item.summary,
        summary_type="text",
        content=content,
        content_type=content_type,
        enclosures=_enclosures(item),
    )


def _entry(kind: str, item: Item) -> Entry:
    if kind in ("atom10", "atom03"):
        return _atom_entry(kind, item)
    if kind in ("rss10", "rss090"):
        return Entry(
            id=item.guid,
            title=_raw_title(item),
            link=item.link,
            summary=item.summary,
            content=None if item.html is None else cdata(item.html),
            published=item.date,
            authors=_authors(item),
        )
    if kind == "cdf":
        return Entry(
            title=_raw_title(item),
            link=item.link,
            published=item.date,
            summary=_description(item),
        )
    return _rss_entry(kind, item)


def describe(kind: str, channel: Channel, items: Sequence[Item]) -> Feed:
    """The feed of an XML dialect `kind` as the one writer takes it."""
    atom = kind in ("atom10", "atom03")
    return Feed(
        title=channel.title,
        link=channel.link,
        description=None if kind == "atom03" else channel.description,
        language=None if kind in ("rss090", "cdf") else channel.language,
        id=f"urn:wild:feed:{channel.link}" if kind == "atom10" else None,
        updated=channel.updated if atom else ("2025-05-10T11:33" if kind == "cdf" else None),
        authors=(Person(channel.author),) if atom else (),
        base=channel.base,
        doctype=channel.doctype,
        declare=_DECLARE.get(kind, ()),
        show=replace(_SHOW, author=channel.author) if kind == "podcast" else None,
        entries=tuple(_entry(kind, item) for item in items),
    )


def write_document(kind: str, channel: Channel, items: Sequence[Item]) -> str:
    """The XML document of dialect `kind`, without its prolog."""
    return document(_FORMATS.get(kind, kind), describe(kind, channel, items))


def write_json(
    kind: str, channel: Channel, items: Sequence[Item], *, ascii_only: bool, indent: int | None
) -> str:
    """The JSON Feed document (`kind` ``json10`` or ``json11``)."""
    entries = []
    for item in items:
        number = item.guid_style == "number" and item.guid is not None and item.guid.isdigit()
        microblog = item.title is None and item.html is not None  # the text is the post
        entries.append(
            Entry(
                id=int(item.guid) if number and item.guid is not None else item.guid,
                link=item.link,
                title=None if item.title is None else item.title.xml,
                content=None if microblog else item.html,
                text=item.html if microblog else None,
                summary=item.summary,
                published=item.date,
                authors=_authors(item),
                enclosures=_enclosures(item),
            )
        )
    feed = Feed(
        title=channel.title,
        link=channel.link,
        description=channel.description,
        language=channel.language,
        authors=(Person(channel.author),),
        entries=tuple(entries),
    )
    version = "1.1" if kind == "json11" else "1"
    return json_feed(feed, version=version, ensure_ascii=ascii_only, indent=indent)


# --- encoding and declaring -----------------------------------------------------------------


def _charset_param(label: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"; charset={label}"
    if style == 1:
        return f"; charset={label.lower()}"
    if style == 2:
        return f'; charset="{label}"'
    return f";charset={label}"


def _wrong_label(charset: Charset) -> str:
    return "UTF-8" if charset.key in ("iso-8859-1", "windows-1252", "iso-8859-15") else "ISO-8859-1"


def encode_xml(
    document: str, charset: Charset, declared: str, kind: str, rng: random.Random
) -> tuple[bytes, dict[str, str]]:
    """The document with its prolog, encoded, and the Content-Type it is served with."""
    own = media_type(kind)
    label = charset.label

    def typed(media: str, param: str | None) -> dict[str, str]:
        return {"content-type": media + (_charset_param(param, rng) if param else "")}

    if declared == "both":
        media = rng.choice((own, own, "application/xml", "text/xml"))
        text, headers = prolog(label) + document, typed(media, label)
    elif declared == "prolog":
        text, headers = prolog(label) + document, typed(rng.choice((own, "application/xml")), None)
    elif declared == "prolog-texttype":
        media = rng.choice(("text/xml", "text/xml", "text/plain", "text/html"))
        text, headers = prolog(label) + document, typed(media, None)
    elif declared == "header":
        media = rng.choice((own, "application/xml", "text/xml", "text/html"))
        text, headers = prolog(None) + document, typed(media, label)
    elif declared == "header-noprolog":
        text, headers = document, typed(rng.choice((own, "text/xml")), label)
    elif declared == "none":
        text = rng.choice(("", prolog(None))) + document
        headers = rng.choice((typed(own, None), typed("application/xml", None), {}))
    elif declared == "prolog-wrong":
        text, headers = prolog(_wrong_label(charset)) + document, typed(own, label)
    elif declared == "header-utf8":
        text, headers = prolog(label) + document, typed(own, "UTF-8")
    elif declared == "header-latin1":
        text, headers = prolog(label) + document, typed(own, "ISO-8859-1")
    elif declared in ("bom", "bom-charset", "bom-header-utf8"):
        text = prolog(label) + document
        param = {"bom": None, "bom-charset": label, "bom-header-utf8": "UTF-8"}[declared]
        headers = typed(own, param)
    else:
        raise ValueError(f"unknown declaration {declared!r}")
    if declared.startswith("bom") and not charset.bom:
        raise ValueError(f"{declared} needs a charset with a BOM, not {charset.key}")
    return charset.bom + text.encode(charset.codec), headers


def _encodable(text: str, charset: Charset) -> bool:
    try:
        text.encode(charset.codec)
    except UnicodeEncodeError:
        return False
    return True


# --- breaking -------------------------------------------------------------------------------

# How a document is broken, and the two dialects each breakage is done in.
BREAKAGES: Mapping[str, tuple[str, str]] = {
    "unclosed-tag": ("rss20-ns", "atom10"),  # <b> never closed, the rest nested in it
    "undefined-entity": ("rss20", "atom10"),  # &nbsp; &eacute; without a DTD
    "bare-ampersand": ("rss091u", "rss10"),  # AT&T, ?a=1&b=2
    "control-chars": ("atom10", "rss20-ns"),  # U+000B, U+001B, U+000C in titles
    "invalid-utf8": ("rss20-ns", "atom10"),  # a Latin-1 byte in a UTF-8 document
    "truncated": ("rss20", "rss10"),  # cut off at 65 %
    "undeclared-prefix": ("rss20-ns", "podcast"),  # dc:, content: without xmlns
    "raw-html": ("rss20", "rss091u"),  # <br> and <img> unescaped in <description>
    "mismatched-close": ("atom10", "rss20"),  # </titel>
    "leading-whitespace": ("rss20-ns", "atom10"),  # blank lines before <?xml
    "php-notice": ("rss20", "rss10"),  # a PHP notice before <?xml
    "trailing-junk": ("atom10", "podcast"),  # a PHP warning after the root element
    "lt-in-text": ("rss20-ns", "atom10"),  # 5 < 6 && 7 > 3
    "double-root": ("rss20", "atom10"),  # the document twice
    "unquoted-attr": ("podcast", "rss20"),  # <enclosure url=https://...>
    "missing-close": ("rss10", "atom10"),  # no closing tags at the end
    "bad-comment": ("rss20-ns", "atom10"),  # "--" inside a comment
    "unterminated-cdata": ("rss20-ns", "podcast"),  # a CDATA section never closed
}
_BROKEN_LEGACY = {
    "undefined-entity": "windows-1251",
    "truncated": "shift_jis",
    "bare-ampersand": "gb2312",
    "control-chars": "koi8-r",
    "raw-html": "iso-8859-1",
    "mismatched-close": "big5",
    "unclosed-tag": "euc-jp",
    "lt-in-text": "windows-1252",
    "php-notice": "iso-8859-15",
    "missing-close": "gbk",
}


def _nth(pattern: str, text: str, n: int) -> re.Match[str]:
    matches = list(re.finditer(pattern, text))
    return matches[min(n, len(matches) - 1)]


def break_text(document: str, how: str, kind: str, tags: Sequence[str]) -> str:
    """`document` made malformed in the way `how` names (before encoding)."""
    atom = kind.startswith("atom")
    close = "</entry>" if atom else "</item>"
    junk_tag = tags[0].split("-")[0] + "-999" if tags else "W000-999"
    if how == "unclosed-tag":
        junk = (
            f"<entry><title>Kaputt &undefinedentity; Eintrag {junk_tag}</title>"
            f'<id>urn:wild:{junk_tag}</id><content type="html"><b>unclosed'
            if atom
            else f"<item><title>Kaputt &undefinedentity; Eintrag {junk_tag}</title>"
            f'<guid isPermaLink="false">urn:wild:{junk_tag}</guid><description><b>unclosed'
        )
        at = _nth(re.escape(close), document, 1).end()
        return document[:at] + "\n" + junk + "\n" + document[at:]
    if how == "undefined-entity":
        count = 0

        def entity(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            if count % 2:
                return match.group(1) + " &nbsp;Caf&eacute; &hellip; &copy;" + match.group(2)
            return match.group(0)

        return re.sub(r"(<title>[^<]*)(</title>)", entity, document)
    if how == "bare-ampersand":
        document = re.sub(r"(<title>[^<]*)(</title>)", r"\1 AT&T & Q&A\2", document, count=3)
        return document.replace(".html</link>", ".html?a=1&b=2</link>", 2)
    if how == "control-chars":
        return re.sub(r"(<title>)([^<]*)(</title>)", "\\1\x0b\\2\x1b\x0c\\3", document, count=4)
    if how == "truncated":
        return document[: int(len(document) * 0.65)]
    if how == "undeclared-prefix":
        return document.replace(f' xmlns:dc="{NS_DC}"', "").replace(
            f' xmlns:content="{NS_CONTENT}"', ""
        )
    if how == "raw-html":
        return re.sub(
            r"<description>[^<]*</description>",
            lambda m: "<description><p>Text<br>mehr &nbsp; <img src=x.png></p></description>",
            document,
            count=2,
        )
    if how == "mismatched-close":
        match = _nth(r"</title>", document, 2)
        return document[: match.start()] + "</titel>" + document[match.end() :]
    if how == "trailing-junk":
        return (
            document
            + "<br />\n<b>Warning</b>:  Cannot modify header information - headers already sent "
            "in <b>/var/www/rss.php</b> on line <b>3</b><br />\n"
        )
    if how == "lt-in-text":
        return re.sub(r"(<title>)([^<]*)(</title>)", r"\1 5 < 6 && 7 > 3 \2\3", document, count=3)
    if how == "double-root":
        return document + document
    if how == "unquoted-attr":
        at = _nth(re.escape(close), document, 0).start()
        bad = f"<enclosure url=https://cdn.example.com/{tags[0]}.mp3 length=123 type=audio/mpeg>"
        return document[:at] + bad + document[at:]
    if how == "missing-close":
        return re.sub(r"\s*</channel>\s*</rss>\s*$|\s*</feed>\s*$|\s*</rdf:RDF>\s*$", "", document)
    if how == "bad-comment":
        at = _nth(re.escape(close), document, 1).end()
        return document[:at] + "\n<!-- old -- item -- removed -->\n" + document[at:]
    if how == "unterminated-cdata":
        match = _nth(r"<!\[CDATA\[", document, 1000)
        end = document.index("]]>", match.end())
        return document[:end] + document[end + 3 :]
    if how in ("invalid-utf8", "leading-whitespace", "php-notice"):
        return document  # done on the bytes: `break_bytes`
    raise ValueError(f"unknown breakage {how!r}")


def break_bytes(body: bytes, how: str) -> bytes:
    """Breakages done on the encoded body."""
    if how == "invalid-utf8":
        return body.replace(b"-body ", b"-body caf\xe9 ", 2)
    if how == "leading-whitespace":
        return b"\r\n\r\n   " + body
    if how == "php-notice":
        return (
            b"<br />\n<b>Notice</b>:  Undefined variable: feed in <b>/var/www/feed.php</b> "
            b"on line <b>12</b><br />\n" + body
        )
    return body


# --- the corpus -----------------------------------------------------------------------------


@dataclass
class _Spec:
    kind: str
    charset: str = "utf-8"
    declared: str = "both"
    count: int | None = None
    features: tuple[str, ...] = ()
    broken: str | None = None


@dataclass
class _Builder:
    rng: random.Random
    number: int = 0
    feeds: list[WildFeed] = field(default_factory=list)

    def add(self, spec: _Spec) -> None:
        self.number += 1
        self.feeds.append(_make_feed(self.number, spec, self.rng))


def _declared_for(charset: str, rng: random.Random) -> str:
    if CHARSETS[charset].bom:
        return "bom"
    return rng.choice(("both", "both", "prolog", "header"))


def _specs(rng: random.Random) -> list[_Spec]:
    specs: list[_Spec] = []
    xml_kinds = list(XML_KINDS)
    turn = 0

    def next_kind() -> str:
        nonlocal turn
        turn += 1
        return xml_kinds[(turn * 7) % len(xml_kinds)]

    # A: every encoding declared every way it is declared in the wild.
    modes = ("both", "prolog", "prolog-texttype", "header", "header-noprolog")
    modes += ("prolog-wrong", "header-utf8")
    for charset in LEGACY:
        for mode in modes:
            specs.append(_Spec(next_kind(), charset, mode, features=("encoding",)))
    for charset in ("shift_jis", "koi8-r", "windows-1251", "big5", "gbk", "iso-8859-15"):
        specs.append(_Spec(next_kind(), charset, "header-latin1", features=("encoding",)))
    specs.append(_Spec("rss20", "windows-1252", "header-latin1", features=("encoding",)))
    utf8_modes = ("both", "prolog", "header", "header-noprolog", "none", "none")
    utf8_modes += ("prolog-texttype", "header-latin1", "header-latin1")
    for mode in utf8_modes:
        specs.append(_Spec(next_kind(), "utf-8", mode, features=("encoding",)))
    for mode in ("bom", "bom-charset", "header-latin1"):
        specs.append(_Spec(next_kind(), "utf-8-bom", mode, features=("encoding",)))
    for charset in ("utf-16le", "utf-16be"):
        for mode in ("bom", "bom-charset", "bom-header-utf8"):
            specs.append(_Spec(next_kind(), charset, mode, features=("encoding",)))
    # UTF-16BE labelled charset=UTF-16 (as RFC 2781 labels it: the BOM tells the byte
    # order), with text that also decodes, wrongly but without error, as UTF-16LE.
    for kind in ("rss20", "atom10"):
        specs.append(_Spec(kind, "utf-16be", "bom-charset", features=("encoding", "bmp-text")))

    # B: every dialect, with random features.
    for kind in XML_KINDS:
        for _ in range(6):
            charset = "utf-8" if rng.random() < 0.7 else rng.choice(LEGACY)
            specs.append(_Spec(kind, charset, _declared_for(charset, rng)))

    # C: odd dates, every style in one feed.
    for kind in ("rss20", "rss20-ns", "atom10", "atom03", "rss10", "json11", "json10", "rss094"):
        specs.append(_Spec(kind, count=len(DATE_STYLES), features=("odd-dates",)))
    specs.append(_Spec("cdf", count=len(_ISO_STYLES) + 1, features=("odd-dates",)))

    # D: ids and links.
    for kind in ("rss20", "rss20-ns", "atom10", "rss10", "json11", "json10", "atom03", "podcast"):
        specs.append(_Spec(kind, features=("dup-guid",)))
    for kind in ("rss20", "atom10", "json10", "rss094"):
        specs.append(_Spec(kind, features=("no-guid",)))
    for kind in ("rss20", "rss091u", "atom10", "json11", "cdf"):
        specs.append(_Spec(kind, features=("no-guid-no-link",)))
    for kind in ("rss20", "rss20-ns", "atom10", "atom03", "rss091u", "cdf", "json11", "rss10"):
        specs.append(_Spec(kind, features=("relative-links",)))
    for kind in ("atom10", "atom10", "atom03", "rss20-ns"):
        specs.append(_Spec(kind, features=("relative-links", "xml-base")))
    for kind in ("atom10", "atom10"):
        specs.append(_Spec(kind, features=("relative-links", "xml-base-relative")))
    for charset in ("utf-8", "windows-1251", "shift_jis"):
        specs.append(_Spec("atom10", charset, features=("multi-links", "xhtml")))

    # E: titles, every style in one feed.
    title_kinds = (
        ("rss20", "utf-8"),
        ("rss20-ns", "utf-8"),
        ("atom10", "utf-8"),
        ("atom10", "windows-1251"),
        ("atom03", "utf-8"),
        ("rss10", "big5"),
        ("rss091u", "iso-8859-1"),
        ("rss092", "utf-8"),
        ("cdf", "utf-8"),
        ("json11", "utf-8"),
        ("json10", "utf-8"),
        ("podcast", "utf-8"),
        ("rss20-userland", "utf-8"),
        ("rss20", "shift_jis"),
        ("rss20-ns", "iso-8859-15"),
        ("rss-noversion", "koi8-r"),
    )
    for kind, charset in title_kinds:
        specs.append(_Spec(kind, charset, "both", count=13, features=("titles",)))
    for kind in ("rss20", "rss20-ns"):
        specs.append(_Spec(kind, count=10, features=("dtd-entities", "titles")))

    # F: podcasts.
    for charset in ("utf-8", "utf-8", "iso-8859-1", "shift_jis", "windows-1251", "gb2312"):
        specs.append(_Spec("podcast", charset, "both", features=("enclosures",)))
    specs.append(_Spec("podcast", features=("enclosures", "relative-links", "xml-base")))
    specs.append(_Spec("podcast", features=("enclosures", "relative-links")))
    specs.append(_Spec("atom10", features=("enclosures",)))
    specs.append(_Spec("json11", features=("enclosures",)))
    specs.append(_Spec("json10", features=("enclosures",)))

    # G: JSON Feed, served every way.
    for index in range(18):
        kind = "json11" if index % 3 else "json10"
        features = ("json-bom",) if index in (4, 11) else ()
        specs.append(_Spec(kind, "utf-8", "json", features=features))

    # H: no entries; I: 500 entries.
    for kind in ("rss20", "atom10", "rss10", "json11", "json10", "rss091u", "podcast"):
        specs.append(_Spec(kind, count=0, features=("zero",)))
    specs.append(_Spec("rss20-ns", count=500, features=("huge",)))

    # J: broken XML, each breakage in two dialects (the second in a legacy encoding, some).
    for how, kinds in BREAKAGES.items():
        for round_, kind in enumerate(kinds):
            charset = _BROKEN_LEGACY.get(how, "utf-8") if round_ else "utf-8"
            specs.append(_Spec(kind, charset, "both", broken=how, features=("broken",)))
    return specs


def _pick_date(
    rng: random.Random, style: str, charset: Charset, zone: ZoneInfo
) -> tuple[str | None, datetime | str]:
    instant = _instant(rng, zone)
    text, expected = date_text(style, instant, zone, rng)
    if text is not None and not _encodable(text, charset):
        text, expected = date_text("rfc822", instant, zone, rng)
    return text, expected


_BASES = {"xml-base", "xml-base-relative"}


def _bmp_safe(text: str) -> bool:
    """No character whose UTF-16 code unit, read byte-swapped, is a surrogate."""
    return all(ord(c) <= 0xFFFF and not 0xD8 <= ord(c) & 0xFF <= 0xDF for c in text)


def _phrases(charset: Charset, features: set[str] | frozenset[str]) -> tuple[str, ...]:
    if "bmp-text" in features:
        # UTF-16BE that also decodes as UTF-16LE without an error (see `_specs`)
        return tuple(p for p in charset.phrases if _bmp_safe(p))
    return charset.phrases


def _plan_items(number: int, spec: _Spec, rng: random.Random, zone: ZoneInfo) -> list[Item]:
    charset = CHARSETS[spec.charset]
    features = set(spec.features)
    kind = spec.kind
    count = spec.count if spec.count is not None else rng.randint(2, 8)
    plain_only = spec.broken is not None
    author = _AUTHORS[charset.language]
    styles = _title_styles(kind, dtd="dtd-entities" in features)
    items = []
    for index in range(1, count + 1):
        tag = f"W{number:03d}-{index:03d}"
        phrases = _phrases(charset, features)
        phrase = phrases[(number + index) % len(phrases)]

        # title
        if plain_only:
            style = "plain"
        elif "titles" in features:
            style = styles[(index - 1) % len(styles)]
        elif spec.count == 500:
            style = rng.choice(("plain", "plain", "plain", "charrefs", "entities", "cdata"))
        else:
            style = "plain" if rng.random() < 0.6 else rng.choice(styles)
        if style == "dtd" or (style == "entities" and kind == "rss20" and "dtd" in styles):
            style = "dtd"
        title = _title(style, phrase, tag, kind)

        # id and link
        host = f"https://www.example-{number % 7}.org/wild/W{number:03d}/"
        guid_style = rng.choice(("urn", "urn", "permalink", "bare", "none"))
        link_style = rng.choice(("abs", "abs", "abs", "rel", "root", "none"))
        if plain_only:
            guid_style, link_style = "urn", "abs"
        if "no-guid" in features:
            guid_style, link_style = "none", rng.choice(("abs", "rel"))
        if "no-guid-no-link" in features:
            guid_style = "none"
            link_style = "none" if index % 2 else "abs"
        if "relative-links" in features:
            link_style = rng.choice(("rel", "rel", "root"))
        if "multi-links" in features and link_style == "none":
            link_style = "abs"
        if kind.startswith("json") and guid_style in ("permalink", "bare"):
            guid_style = rng.choice(("urn", "number"))
        if kind not in _RSS_VERSIONS and guid_style in ("permalink", "bare"):
            guid_style = "urn"
        link = {
            "abs": f"{host}{tag}.html",
            "rel": f"articles/{tag}.html",
            "root": f"/posts/{tag}",
            "none": None,
        }[link_style]
        guid: str | None
        if guid_style == "permalink":
            guid, link = f"{host}{tag}.html", f"{host}{tag}.html"
        elif guid_style == "urn":
            guid = f"urn:wild:{tag}"
        elif guid_style in ("bare", "number"):
            guid = f"{number}{index:04d}"
            if link is None:
                link = f"{host}{tag}.html"  # a bare guid is a permalink: give the real one
        else:
            guid = None

        # date
        if "odd-dates" in features:
            odd = (*_ISO_STYLES, "none") if kind == "cdf" else DATE_STYLES
            date_style = odd[index - 1]
        elif kind == "cdf":
            date_style = rng.choice((*_ISO_STYLES, "none"))
        elif plain_only:
            date_style = "rfc822"
        else:
            date_style = (
                rng.choice(_COMMON_STYLES) if rng.random() < 0.7 else rng.choice(DATE_STYLES)
            )
        date, instant = _pick_date(rng, date_style, charset, zone)
        role = rng.choice(("published", "updated", "both"))
        if kind == "cdf":
            role = "cdf"

        # content
        href_style = rng.choice(("rel", "abs", None))
        if "relative-links" in features:
            href_style = "rel"
        content_href = {
            "rel": f"related/{tag}.html",
            "abs": f"https://elsewhere.example.net/{tag}",
            None: None,
        }[href_style]
        with_html = rng.random() < 0.85 or "xhtml" in features or plain_only
        content = _content(tag, phrase, content_href) if with_html else None
        blank = title is None or title.expected is None
        summary = f"{tag} {phrase[:50]}" if blank or rng.random() < 0.5 else None
        if kind.startswith("json") and title is None:
            # a microblog post: no title, no summary, the text is the post
            summary, content, content_href = None, f"{tag} {phrase[:50]}", None
        xhtml = "xhtml" in features or (kind in ("atom10", "atom03") and rng.random() < 0.25)

        # enclosure
        enclosure = None
        if kind == "podcast" or "enclosures" in features or rng.random() < 0.1:
            extension, media = rng.choice(
                (("mp3", "audio/mpeg"), ("m4a", "audio/x-m4a"), ("mp4", "video/mp4"))
            )
            url = f"https://cdn.example.com/W{number:03d}/{tag}.{extension}"
            if "relative-links" in features:
                url = f"media/{tag}.{extension}"
            enclosure = (url, media, 1_000_000 + number * 1000 + index)

        items.append(
            Item(
                tag=tag,
                phrase=phrase,
                title=title,
                guid=guid,
                guid_style=guid_style,
                link=link,
                base=("entries/" if features & _BASES and index % 2 == 0 else None),
                date=date,
                instant=instant,
                date_role=role,
                html=content,
                content_href=content_href if content is not None else None,
                summary=summary,
                xhtml=xhtml and content is not None,
                cdata=rng.random() < 0.5,
                enclosure=enclosure,
                author=None if "bmp-text" in features or rng.random() < 0.3 else author,
                more_links="multi-links" in features,
            )
        )

    if "dup-guid" in features and len(items) >= 2:
        # a later entry repeats an earlier one's id (with a title of its own): first kept
        for later in range(1, len(items), 2):
            earlier = items[later - 1]
            guid = earlier.guid or f"urn:wild:W{number:03d}-dup"
            style = earlier.guid_style if earlier.guid else "urn"
            if style == "permalink":
                style = "bare"
            items[later - 1] = replace(earlier, guid=guid, guid_style=style)
            items[later] = replace(items[later], guid=guid, guid_style=style)
            if style == "bare" and items[later].link is None:
                items[later] = replace(items[later], link=f"{items[later - 1].link}#again")
    return items


def _make_feed(number: int, spec: _Spec, rng: random.Random) -> WildFeed:
    charset = CHARSETS[spec.charset]
    kind = spec.kind
    features = set(spec.features)
    timezone_name = rng.choice(TIMEZONES)
    zone = ZoneInfo(timezone_name)
    home = f"https://www.example-{number % 7}.org/wild/W{number:03d}/"
    base = None
    if "xml-base" in features:
        base = f"https://static.example.net/W{number:03d}/blog/"
    elif "xml-base-relative" in features:
        base = f"/base-W{number:03d}/blog/"
    if base is not None and kind not in _XML_BASE:
        raise ValueError(f"{kind} cannot carry xml:base")
    phrases = _phrases(charset, features)
    title = f"{phrases[number % len(phrases)]} (W{number:03d})"
    channel = Channel(
        title=title,
        link=home,
        description=f"Wild feed W{number:03d}: {kind}, {charset.key}",
        language=charset.language,
        author="Ana Lukasiewicz" if "bmp-text" in features else _AUTHORS[charset.language],
        base=base,
        doctype=NETSCAPE_DOCTYPE
        if kind == "rss091n"
        else (ENTITY_DOCTYPE if "dtd-entities" in features else ""),
    )
    planned = _plan_items(number, spec, rng, zone)
    items = [_fit(item, kind, home) for item in planned]

    # what must come out: duplicates (same id, else same link) collapse, the first kept
    expected: list[Expected] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for item in items:
        bases = tuple(b for b in (base, item.base) if b)
        key = _key(item, bases)
        entry = _expect(item, kind, base)
        if key is not None and key in seen:
            dropped.append(entry.title)
            continue
        if key is not None:
            seen.add(key)
        expected.append(entry)

    # the document
    if kind.startswith("json"):
        text = write_json(
            kind,
            channel,
            items,
            ascii_only=rng.random() < 0.3,
            indent=rng.choice((None, 2, 4)),
        )
        body = text.encode("utf-8")
        if "json-bom" in features:
            body = codecs.BOM_UTF8 + body
        media = rng.choice(
            (
                "application/feed+json",
                "application/feed+json; charset=utf-8",
                "application/json",
                "application/json; charset=UTF-8",
                "text/plain; charset=utf-8",
                "text/html",
            )
        )
        headers = {"content-type": media}
        declared = "json"
    else:
        text = write_document(kind, channel, items)
        declared = spec.declared
        if spec.broken is None:
            body, headers = encode_xml(text, charset, declared, kind, rng)
        else:
            whole = encode_xml(text, charset, declared, kind, random.Random(number))[0]
            text = break_text(text, spec.broken, kind, [item.tag for item in items])
            body, headers = encode_xml(text, charset, declared, kind, rng)
            body = break_bytes(body, spec.broken)
            if body == whole:
                raise AssertionError(f"W{number:03d}: {spec.broken} left {kind} intact")

    extension = {
        "atom10": ".atom",
        "atom03": ".xml",
        "rss10": ".rdf",
        "rss090": ".rdf",
        "cdf": ".cdf",
        "json10": ".json",
        "json11": ".json",
    }.get(kind, ".rss")
    path = f"/wild/W{number:03d}{extension}"
    if number % 11 == 0:
        path = f"/wild/W{number:03d}/feed/?format={kind}&lang={charset.language}"
    name = f"W{number:03d} {kind} {charset.key}"
    if number % 5 == 0:
        name += " – Größe & Maß"
    if spec.broken:
        name += f" broken {spec.broken}"

    return WildFeed(
        number=number,
        name=name,
        path=path,
        kind=kind,
        charset=charset.key,
        declared=declared,
        headers=headers,
        body=body,
        category=rng.choice(CATEGORIES),
        timezone=timezone_name,
        expected=None if spec.broken else tuple(expected),
        dropped=() if spec.broken else tuple(dropped),
        broken=spec.broken,
        written=len(items),
        features=spec.features,
    )


def build_corpus(seed: int = SEED) -> list[WildFeed]:
    """The corpus: the same feeds, byte for byte, for the same seed."""
    for charset in CHARSETS.values():
        for phrase in charset.phrases:
            phrase.encode(charset.codec)  # every phrase is really written in its encoding
    rng = random.Random(seed)
    builder = _Builder(rng)
    for spec in _specs(rng):
        builder.add(spec)
    return builder.feeds


if __name__ == "__main__":
    corpus = build_corpus()
    entries = sum(len(f.expected) for f in corpus if f.expected is not None)
    print(f"{len(corpus)} feeds, {entries} expected entries (broken feeds not counted)")
    for name, counts in composition(corpus).items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
