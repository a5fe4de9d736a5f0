"""Byte-level fuzzing of parse -> normalise -> publish, bounded in time.

Contract under test: `parse_feed(body, url=..., headers=...)` raises nothing but
`ParseError`, whatever the bytes; when it returns, `normalise_feed` and the renderers do not
raise, and the Atom, RSS and JSON Feed they write pass the conformance checkers (which also
re-parse Atom and RSS with feedparser and require ``bozo == 0``).

Inputs:

* hypothesis ``binary()``: raw bytes, and raw bytes spliced into the head of a valid feed;
* hypothesis-driven mutations of valid feeds written by `feedfactory`;
* a time-bounded loop of `random.Random` mutations of the same corpus: bit flips, inserted
  and deleted bytes, truncation, duplicated / deleted / swapped elements, hostile text and
  attribute values, injected entities and DOCTYPEs, changed or removed XML prologs,
  re-encoding (UTF-16/32, Latin-1, ...), BOMs, NULs, splices of two feeds, structural JSON
  mutations (lone surrogates, control characters, wrong types), and odd Content-Type
  headers and feed URLs.

Environment:

* ``FEEDS_FUZZ_SECONDS`` (default 60): the time budget of the whole file, shared out over
  the three tests.
* ``FEEDS_FUZZ_SEED``: the seed; without it every run tries the same inputs.

Each test reports how many inputs it tried (and their outcomes) on the terminal, in its
``record_property`` entries (``--junitxml``) and on stderr. Failures matching a defect
already pinned by a strict xfail test in ``test_properties.py`` are counted as "known"
rather than failing the run; anything else fails, with a shrunken input to reproduce it.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import re
import signal
import sys
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from support.conformance import (
    XML_ILLEGAL,
    assert_valid_atom,
    assert_valid_jsonfeed,
    assert_valid_rss,
)
from support.feedfactory import (
    FeedItem,
    atom03,
    atom10,
    broken_rss,
    jsonfeed,
    rss091,
    rss10,
    rss20,
    sample_items,
)

from feeds.model import Category, RawFeed, Source, SourceKind
from feeds.normalise.article import NormalisedFeed, normalise_feed
from feeds.parse import ParseError, parse_feed
from feeds.publish.document import Site, build_document
from feeds.publish.layout import OutputLayout
from feeds.publish.site import render_category

# --------------------------------------------------------------------------- configuration


def _seed_from_env() -> int:
    text = os.environ.get("FEEDS_FUZZ_SEED", "").strip()
    if not text:
        return 20250510
    return int(text) if text.isdigit() else zlib.crc32(text.encode("utf-8"))


BUDGET = max(1.0, float(os.environ.get("FEEDS_FUZZ_SECONDS", "60")))
SEED = _seed_from_env()
# Shares of the budget: hypothesis binary(), hypothesis mutations, the random loop.
SHARES = {"binary": 0.15, "mutations": 0.25, "loop": 0.60}
HANG_SECONDS = 20.0  # one input taking this long is a finding of its own
MAX_BODY = 256 * 1024

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
CLAMP_TOLERANCE = timedelta(minutes=10)
BASE_URL = "http://localhost:8080/"
LAYOUT = OutputLayout(Path("/nonexistent/feeds-fuzz-output"), BASE_URL)
SITE = Site(LAYOUT, "feeds", hub="https://hub.example.com/")
CATEGORY = Category.named("Fuzz Kategorie")
SOURCE = Source(
    name="fuzz",
    kind=SourceKind.REMOTE,
    interval=timedelta(minutes=30),
    url="https://example.com/feed.xml",
    category=CATEGORY.name,
    timezone="Europe/Berlin",
)

FEED_URLS = (
    "https://example.com/feed.xml",
    "http://example.org/blog/feed/",
    "https://bücher.example/feed?format=rss&x=1",
    "http://127.0.0.1:8080/f",
    "https://example.com/a b/feed.xml",
)
HEADERS: tuple[dict[str, str] | None, ...] = (
    None,
    {},
    {"Content-Type": "application/rss+xml"},
    {"content-type": "application/atom+xml; charset=utf-8"},
    {"Content-Type": "text/xml; charset=iso-8859-1"},
    {"Content-Type": "application/xml; charset=windows-1252"},
    {"Content-Type": "application/xml; charset=utf-16"},
    {"Content-Type": "application/xml; charset=bogus-charset"},
    {"Content-Type": "text/html; charset=utf-8"},
    {"Content-Type": "application/json"},
    {"Content-Type": "application/feed+json"},
    {"Content-Type": "text/plain"},
    {"Content-Type": ""},
    {"CONTENT-TYPE": 'application/rss+xml; charset="UTF-8"'},
    {"Content-Location": "https://other.example/elsewhere/"},
    {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
)

# --------------------------------------------------------------------------- corpus


def _items() -> list[FeedItem]:
    berlin = timezone(timedelta(hours=2))
    odd = [
        FeedItem(
            id="urn:test:odd-1",
            title="Relative & <escaped> — „quotes“",
            link="/posts/odd-1",
            html=(
                '<p onclick="x()">Body <a href="rel/page.html">link</a> <img src="/i.png">'
                "<script>alert(1)</script></p>"
            ),
            summary="Ein Teaser mit <b>Markup</b>",
            published=datetime(2025, 5, 10, 11, 33, tzinfo=berlin),
            updated=datetime(2025, 5, 11, 8, 0, tzinfo=UTC),
            authors=("Jörg", "jorg@example.com"),
            tags=("a", "b", "a"),
            enclosures=(("ep1.mp3", "audio/mpeg", 1000),),
        ),
        FeedItem(id=None, title=None, link="https://example.com/no-id", text="plain\n\ntext"),
        FeedItem(
            id="42",
            title="",
            link=None,
            html="<p>only content</p>",
            published=datetime(2030, 1, 1, tzinfo=UTC),  # in the future: clamped
        ),
        FeedItem(id="urn:test:odd-1", title="Duplicate id", link="https://example.com/dup"),
    ]
    return [*sample_items(3), *odd]


def build_corpus() -> list[tuple[str, bytes]]:
    """Valid (and one deliberately broken) feeds in every format feedfactory writes."""
    items = _items()
    corpus: list[tuple[str, bytes]] = []
    for encoding in ("utf-8", "iso-8859-1", "windows-1252", "utf-16"):
        corpus += [
            (f"rss20/{encoding}", rss20(items, encoding=encoding)),
            (f"rss10/{encoding}", rss10(items, encoding=encoding)),
            (f"atom10/{encoding}", atom10(items, encoding=encoding)),
        ]
    corpus += [
        ("rss091", rss091(items)),
        (
            "atom10/xml-base",
            atom10(items, xml_base="https://example.net/base/", feed_authors=("F",)),
        ),
        ("atom03", atom03(items)),
        ("jsonfeed/1.1", jsonfeed(items, feed_authors=("Feed Author",))),
        ("jsonfeed/1.0", jsonfeed(items, version="1.0")),
        ("broken_rss", broken_rss(items, good=2)),
        ("rss20/empty", rss20([])),
        ("atom10/empty", atom10([])),
    ]
    return corpus


CORPUS = build_corpus()

# --------------------------------------------------------------------------- the pipeline


class HangError(Exception):
    """One input took longer than HANG_SECONDS."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: Any) -> None:
        raise HangError(f"one input took more than {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class PipelineError(Exception):
    """What went wrong with one input: problem lines, and the known triggers it carries."""

    def __init__(self, lines: list[str], triggers: set[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.triggers = triggers


_SURROGATE = re.compile("[\ud800-\udfff]")


def raw_triggers(raw: RawFeed) -> set[str]:
    """Known-defect triggers in a parsed feed, before normalising."""
    found = set()
    texts: list[str] = [raw.title or "", raw.link or "", raw.language or ""]
    for entry in raw.entries:
        texts += [
            entry.entry_id or "",
            entry.title or "",
            entry.link or "",
            entry.summary_html or "",
            entry.content_html or "",
            entry.base_url or "",
            entry.language or "",
            *(author.name for author in entry.authors),
            *(author.email or "" for author in entry.authors),
            *entry.tags,
            *(e.url for e in entry.enclosures),
            *(e.media_type or "" for e in entry.enclosures),
        ]
        urls = [entry.link, entry.base_url, *(e.url for e in entry.enclosures)]
        if any(url and "[" in url for url in urls):
            found.add("bracket-url")
    if any(_SURROGATE.search(text) for text in texts):
        found.add("surrogate")
    return found


def article_triggers(articles: Any) -> set[str]:
    """Known-defect triggers in normalised articles, before rendering."""
    found = set()
    for article in articles:
        if not article.title:
            found.add("empty-title")
        for date in (article.published, article.updated):
            offset = date.utcoffset()
            if offset is not None and offset.total_seconds() % 60:
                found.add("offset-seconds")
    return found


def article_problems(raw: RawFeed, result: NormalisedFeed) -> list[str]:
    """Broken invariants of the normalised articles."""
    problems = []
    if len(result.articles) + result.dropped != len(raw.entries):
        problems.append("normalise: entries neither articles nor dropped")
    if result.dropped and not result.errors:
        problems.append("normalise: entries dropped without a warning")
    for article in result.articles:
        if article.published.utcoffset() is None or article.updated.utcoffset() is None:
            problems.append("article: naive date")
        elif not article.published <= article.updated <= NOW + CLAMP_TOLERANCE:
            problems.append("article: dates out of order or in the future")
        for text in (
            article.title,
            article.summary,
            article.content,
            *(author.name for author in article.authors),
            *(author.email or "" for author in article.authors),
            *article.tags,
        ):
            if _SURROGATE.search(text):
                problems.append("article: lone surrogate in a text field")
            elif XML_ILLEGAL.search(text):
                problems.append("article: XML-illegal character in a text field")
    return problems


def run_pipeline(body: bytes, url: str, headers: dict[str, str] | None) -> str:
    """Parse, normalise, render and validate one body: the outcome's name, or raise
    `PipelineError` listing every problem."""
    try:
        raw = parse_feed(body, url=url, headers=headers)
    except ParseError as error:
        assert str(error).strip(), "ParseError without a message"
        return "rejected"
    assert isinstance(raw, RawFeed), f"parse_feed returned {type(raw).__name__}"
    triggers = raw_triggers(raw)
    try:
        result = normalise_feed(raw, source=SOURCE, now=NOW, first_seen={}, fallback_base=BASE_URL)
    except Exception as error:
        raise PipelineError([f"normalise_feed: {describe(error)}"], triggers) from error
    problems = article_problems(raw, result)
    triggers |= article_triggers(result.articles)
    doc = build_document(CATEGORY, result.articles, SITE)
    try:
        files = render_category(doc)
    except Exception as error:
        raise PipelineError([*problems, f"render: {describe(error)}"], triggers) from error
    for kind, validate in (
        ("atom", assert_valid_atom),
        ("rss", assert_valid_rss),
        ("json", assert_valid_jsonfeed),
    ):
        try:
            validate(files[LAYOUT.feed_path(CATEGORY.slug, kind)])
        except AssertionError as error:
            problems += [f"{kind}: {line.strip()[2:]}" for line in str(error).splitlines()[1:]]
    if problems:
        raise PipelineError(problems, triggers)
    return "published" if result.articles else "empty"


def describe(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"


# --------------------------------------------------------------------------- failures

# Defects pinned by strict xfail tests in test_properties.py: (name, pattern over one
# blanked problem line, the trigger the input must carry or None). An input whose every
# problem one of these explains counts as "known" instead of failing the run.
KNOWN_FINDINGS: tuple[tuple[str, re.Pattern[str], str | None], ...] = ()  # all fixed


def signature(error: BaseException) -> tuple[list[str], set[str]]:
    """What went wrong, one line per problem with the input's own values blanked out, and
    the known triggers the input carried."""
    if isinstance(error, PipelineError):
        return [_blank(line) for line in error.lines], error.triggers
    return [_blank(describe(error))], set()


def _blank(line: str) -> str:
    line = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "'…'", line)
    return re.sub(r"\d+", "N", line)


def known_finding(lines: list[str], triggers: set[str]) -> str | None:
    """The names of the known defects that explain every problem, if they do."""
    names = set()
    for line in lines:
        name = next(
            (
                name
                for name, pattern, trigger in KNOWN_FINDINGS
                if pattern.search(line) and (trigger is None or trigger in triggers)
            ),
            None,
        )
        if name is None:
            return None
        names.add(name)
    return "+".join(sorted(names))


@dataclass
class Failure:
    description: str
    body: bytes
    url: str
    headers: dict[str, str] | None
    lines: list[str]
    trace: str

    def report(self) -> str:
        return (
            f"{self.description}\n  url={self.url!r} headers={self.headers!r}\n"
            f"  body ({len(self.body)} bytes)={self.body[:2000]!r}\n"
            "  problems:\n" + "\n".join(f"    {line}" for line in self.lines) + f"\n{self.trace}"
        )


@dataclass
class Tally:
    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    unknown: dict[str, Failure] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def check(
        self, description: str, body: bytes, url: str, headers: Any, *, reraise: bool = False
    ) -> None:
        """Run one input; record its outcome. `reraise`: raise a new kind of failure (for
        hypothesis to shrink) instead of keeping it for `finish`."""
        body = body[:MAX_BODY]
        try:
            with time_limit(HANG_SECONDS):
                self.outcomes[run_pipeline(body, url, headers)] += 1
        except Exception as error:  # every failure is recorded; unknown ones fail the test
            lines, triggers = signature(error)
            known = known_finding(lines, triggers)
            if known is not None:
                self.outcomes[f"known:{known}"] += 1
                return
            self.outcomes["FAILED"] += 1
            if reraise:
                raise
            key = "\n".join(lines)
            if key not in self.unknown:
                trace = "".join(traceback.format_exception(error)[-6:])
                self.unknown[key] = Failure(description, body, url, headers, lines, trace)

    def summary(self) -> str:
        seconds = time.monotonic() - self.started
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return f"fuzz[{self.name}] seed={SEED}: {self.tried} inputs in {seconds:.1f} s ({parts})"


def finish(tally: Tally, record_property: Callable[[str, object], None], capsys: Any) -> None:
    """Report the tally everywhere, shrink any new failure and fail on it."""
    record_property("fuzz_seed", SEED)
    record_property("inputs_tried", tally.tried)
    for outcome, count in sorted(tally.outcomes.items()):
        record_property(f"outcome_{outcome}", count)
    line = tally.summary()
    with capsys.disabled():
        sys.stderr.write(f"\n{line}\n")
    if tally.unknown:
        reports = []
        for failure in list(tally.unknown.values())[:5]:
            failure.body = shrink(failure)
            reports.append(failure.report())
        pytest.fail(
            f"{line}\n{len(tally.unknown)} new kind(s) of failure:\n\n" + "\n\n".join(reports),
            pytrace=False,
        )


def shrink(failure: Failure, seconds: float = 5.0) -> bytes:
    """A smaller body that still fails the same way (greedy chunk removal, time-bounded)."""
    wanted = failure.lines
    end = time.monotonic() + seconds

    def still_fails(candidate: bytes) -> bool:
        try:
            with time_limit(HANG_SECONDS):
                run_pipeline(candidate, failure.url, failure.headers)
        except Exception as error:
            return signature(error)[0] == wanted
        return False

    body = failure.body
    chunk = max(1, len(body) // 2)
    while chunk >= 1 and time.monotonic() < end:
        at, changed = 0, False
        while at < len(body) and time.monotonic() < end:
            candidate = body[:at] + body[at + chunk :]
            if still_fails(candidate):
                body, changed = candidate, True
            else:
                at += chunk
        if not changed:
            chunk //= 2
    return body


# --------------------------------------------------------------------------- mutations

ENTITIES = (
    b"&",
    b"&amp;",
    b"&lt;",
    b"&nbsp;",
    b"&eacute;",
    b"&bogus;",
    b"&#0;",
    b"&#1;",
    b"&#x1;",
    b"&#x0B;",
    b"&#xD800;",
    b"&#xDFFF;",
    b"&#xFFFE;",
    b"&#65535;",
    b"&#1114112;",
    b"&#99999999999;",
    b"&#x80;",
    b"&#150;",
    b"&amp;#1;",
    b"&amp;#xFFFE;",
    b"&lt;p&gt;&amp;#1;&lt;/p&gt;",
    b"&lt;script&gt;alert(1)&lt;/script&gt;",
)
TOKENS = (
    b"<",
    b">",
    b"</",
    b"/>",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b'"',
    b"'",
    b"=",
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"\r",
    b"\r\n",
    b"\t",
    b"\x0b",
    b"\x1b[31m",
    b" ",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"</entry>",
    b"<channel>",
    b"</channel>",
    b"<feed>",
    b"<rss>",
    b'<link href="http://[::1"/>',
    b"<link>http://[</link>",
    b"<guid>&#1;</guid>",
    b'xml:base="http://[::1"',
    b'xml:lang="&#1;"',
    b'xml:lang="en US"',
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"1e999",
    b"-0",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff",
    b"\\u0001",
)
# Values that are text in a feed but hostile downstream: dates, URLs, types, ids.
HOSTILE_VALUES = (
    b"",
    b" ",
    b"&#1;",
    b"&#x1F;",
    b"\xc2\x85",
    b"&lt;p&gt;&amp;#1;&lt;/p&gt;",
    b"&lt;b&gt;unclosed",
    b"javascript:alert(1)",
    b"http://[",
    b"http://[::1",
    b"https://example.com/a b",
    b'https://example.com/"quoted"',
    b"https://example.com/100%",
    b"https://example.com/\xc2\x9f",
    b"/relative/path",
    b"//cdn.example.com/x.mp3",
    b"audio mpeg",
    b"audio",
    b"-5",
    b"99999999999999999999999",
    b"2025-05-10T11:33:00+01:00:30",
    b"Sat, 10 May 2025 11:33:00 +010030",
    b"Sat, 10 May 2025 11:33:00 XYZ",
    b"9999-12-31T23:59:59Z",
    b"0001-01-01T00:00:00Z",
    b"1970-01-01T00:00:00+14:00",
    b"2025-02-30",
    b"12345678901",
    b"de_DE",
    b"en US",
    b"x" * 5000,
)
ENCODINGS = (
    "utf-8",
    "UTF-8",
    "utf8",
    "iso-8859-1",
    "windows-1252",
    "us-ascii",
    "utf-16",
    "utf-16le",
    "utf-16be",
    "utf-32",
    "shift_jis",
    "euc-jp",
    "koi8-r",
    "gb2312",
    "big5",
    "cp037",
    "utf-7",
    "bogus-encoding",
    "",
)
BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8 * 2,
)
DOCTYPES = (
    b'<!DOCTYPE rss [<!ENTITY e "&#1;">]>',
    b'<!DOCTYPE feed [<!ENTITY e "<b>bold</b>">]>',
    b'<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY e "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    b'<!DOCTYPE rss SYSTEM "http://localhost:1/x.dtd">',
    b'<!DOCTYPE rss [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
)
_LEAF = re.compile(rb"<([A-Za-z][\w:.-]*)(\s[^<>]*)?>([^<]*)</\1>")
_ELEMENT_START = re.compile(rb"<[A-Za-z][\w:.-]*")
_ATTRIBUTE = re.compile(rb"""(\s[\w:.-]+\s*=\s*)(["'])(.*?)\2""")
_PROLOG = re.compile(rb"^\s*<\?xml[^>]*\?>")


def _choice_span(rnd: random.Random, pattern: re.Pattern[bytes], body: bytes) -> Any:
    matches = list(pattern.finditer(body[:MAX_BODY]))
    return rnd.choice(matches) if matches else None


def _at(rnd: random.Random, body: bytes) -> int:
    return rnd.randrange(len(body) + 1)


def m_flip(rnd: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rnd.randint(1, 8)):
        if data:
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    return bytes(data)


def m_random_bytes(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + rnd.randbytes(rnd.randint(1, 16)) + body[at:]


def m_token(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + rnd.choice(TOKENS) + body[at:]


def m_delete(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + body[at + rnd.choice((1, 2, 8, 64, 512)) :]


def m_truncate(rnd: random.Random, body: bytes) -> bytes:
    return body[: _at(rnd, body)]


def m_entity(rnd: random.Random, body: bytes) -> bytes:
    """An entity or character reference inside some element's text."""
    leaf = _choice_span(rnd, _LEAF, body)
    at = leaf.start(3) + rnd.randint(0, len(leaf.group(3))) if leaf else _at(rnd, body)
    return body[:at] + rnd.choice(ENTITIES) + body[at:]


def m_text_value(rnd: random.Random, body: bytes) -> bytes:
    """Some element's text replaced by a hostile value."""
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is None:
        return m_token(rnd, body)
    return body[: leaf.start(3)] + rnd.choice(HOSTILE_VALUES) + body[leaf.end(3) :]


def m_attribute_value(rnd: random.Random, body: bytes) -> bytes:
    attribute = _choice_span(rnd, _ATTRIBUTE, body)
    if attribute is None:
        return m_text_value(rnd, body)
    value = rnd.choice(HOSTILE_VALUES).replace(b'"', b"&quot;")
    return body[: attribute.start(3)] + value + body[attribute.end(3) :]


def m_duplicate_element(rnd: random.Random, body: bytes) -> bytes:
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is None:
        return m_token(rnd, body)
    copies = leaf.group(0) * rnd.choice((1, 2, 50))
    return body[: leaf.end()] + copies + body[leaf.end() :]


def m_duplicate_item(rnd: random.Random, body: bytes) -> bytes:
    for open_tag, close_tag in ((b"<item", b"</item>"), (b"<entry", b"</entry>")):
        start = body.find(open_tag)
        end = body.find(close_tag, start)
        if start >= 0 and end > start:
            block = body[start : end + len(close_tag)]
            return body[:start] + block * rnd.randint(2, 4) + body[start:]
    return m_duplicate_element(rnd, body)


def m_delete_element(rnd: random.Random, body: bytes) -> bytes:
    leaf = _choice_span(rnd, _LEAF, body)
    return body[: leaf.start()] + body[leaf.end() :] if leaf else m_delete(rnd, body)


def m_rename_element(rnd: random.Random, body: bytes) -> bytes:
    start = _choice_span(rnd, _ELEMENT_START, body)
    if start is None:
        return m_token(rnd, body)
    name = rnd.choice((b"<item", b"<entry", b"<link", b"<guid", b"<id", b"<x:y", b"<html", b"<"))
    return body[: start.start()] + name + body[start.end() :]


def m_prolog(rnd: random.Random, body: bytes) -> bytes:
    """The XML prolog's encoding changed (the bytes stay as they are), dropped or added."""
    choice = rnd.random()
    encoding = rnd.choice(ENCODINGS).encode("ascii")
    prolog = b'<?xml version="1.0" encoding="' + encoding + b'"?>'
    if choice < 0.15:
        prolog = b""
    elif choice < 0.25:
        prolog = rnd.choice((b'<?xml version="1.1"?>', b"<?xml?>", b'<?xml encoding="utf-8"'))
    match = _PROLOG.match(body)
    if match:
        return prolog + body[match.end() :]
    return prolog + b"\n" + body


def m_reencode(rnd: random.Random, body: bytes) -> bytes:
    """The text re-encoded, with the prolog left, changed or matching."""
    text = body.decode("utf-8", "replace")
    encoding = rnd.choice(("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"))
    if rnd.random() < 0.5:
        text = re.sub(r'encoding="[^"]*"', f'encoding="{encoding}"', text, count=1)
    try:
        return text.encode(encoding, "xmlcharrefreplace")
    except (UnicodeError, LookupError):
        return body


def m_bom(rnd: random.Random, body: bytes) -> bytes:
    bom = rnd.choice(BOMS)
    return bom + body if rnd.random() < 0.8 else body[:1] + bom + body[1:]


def m_nul(rnd: random.Random, body: bytes) -> bytes:
    if rnd.random() < 0.3:  # NULs between bytes: UTF-16 without a BOM, or nonsense
        at = _at(rnd, body)
        tail = body[at : at + rnd.randint(1, 256)]
        return body[:at] + b"".join(bytes((b, 0)) for b in tail) + body[at + len(tail) :]
    at = _at(rnd, body)
    return body[:at] + b"\x00" * rnd.randint(1, 4) + body[at:]


def m_doctype(rnd: random.Random, body: bytes) -> bytes:
    doctype = rnd.choice(DOCTYPES)
    match = _PROLOG.match(body)
    at = match.end() if match else 0
    body = body[:at] + doctype + body[at:]
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is not None and b"ENTITY e" in doctype:
        body = body[: leaf.start(3)] + b"&e;" + body[leaf.start(3) :]
    return body


def m_splice(rnd: random.Random, body: bytes) -> bytes:
    other = rnd.choice(CORPUS)[1]
    return body[: _at(rnd, body)] + other[rnd.randrange(len(other)) :]


JSON_HOSTILE: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    1e308,
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\x01",
    "\ufffe",
    "&#1;",
    "<p>&#1;</p>",
    "<script>alert(1)</script>",
    "http://[::1",
    "https://example.com/a b",
    "javascript:alert(1)",
    "audio mpeg",
    "2025-05-10T11:33:00+01:00:30",
    "9999-12-31T23:59:59+00:00",
    [],
    {},
    [1, [2, [3]]],
    {"name": "\x01"},
    [{"url": "a b", "mime_type": "x", "size_in_bytes": -1}],
)


def m_json(rnd: random.Random, body: bytes) -> bytes:
    """A structural mutation of a JSON document: some value replaced, added or removed."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return m_token(rnd, body)
    holders: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict | list):
            holders.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(document)
    for _ in range(rnd.randint(1, 3)):
        holder = rnd.choice(holders)
        value = rnd.choice(JSON_HOSTILE)
        if isinstance(holder, dict):
            key = rnd.choice([*holder.keys(), "id", "title", "url", "content_html", "tags"])
            if rnd.random() < 0.15:
                holder.pop(key, None)
            else:
                holder[key] = value
        elif holder:
            holder[rnd.randrange(len(holder))] = value
        else:
            holder.append(value)
    ensure_ascii = rnd.random() < 0.7  # lone surrogates only survive as \\u escapes
    return json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    m_flip,
    m_random_bytes,
    m_token,
    m_delete,
    m_truncate,
    m_entity,
    m_entity,
    m_text_value,
    m_text_value,
    m_text_value,
    m_attribute_value,
    m_attribute_value,
    m_duplicate_element,
    m_duplicate_item,
    m_delete_element,
    m_rename_element,
    m_prolog,
    m_reencode,
    m_bom,
    m_nul,
    m_doctype,
    m_splice,
)


def mutate(rnd: random.Random) -> tuple[str, bytes, str, dict[str, str] | None]:
    """One fuzz input: a corpus feed, 1-4 mutations, a URL and headers."""
    name, body = rnd.choice(CORPUS)
    applied = []
    for _ in range(rnd.choice((1, 1, 1, 2, 2, 3, 4))):
        if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and rnd.random() < 0.7:
            mutation = m_json
        else:
            mutation = rnd.choice(MUTATIONS)
        body = mutation(rnd, body)[:MAX_BODY]
        applied.append(mutation.__name__)
    url = FEED_URLS[0] if rnd.random() < 0.6 else rnd.choice(FEED_URLS)
    headers = None if rnd.random() < 0.4 else rnd.choice(HEADERS)
    return f"{name} + {', '.join(applied)}", body, url, headers


# --------------------------------------------------------------------------- tests

# Examples per second the hypothesis tests reach here: max_examples follows the budget, a test
# that runs out of its time skips the remaining examples' work, and time a test leaves
# unused goes to the random loop, which runs last and takes what is left.
RATES = {"binary": 150, "mutations": 40}
HYPOTHESIS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


_FILE_START: list[float] = []  # when the first fuzz test of this run started


class Budget:
    """One test's share of FEEDS_FUZZ_SECONDS; `rest`: also whatever earlier tests left."""

    def __init__(self, name: str, *, rest: bool = False) -> None:
        self.name = name
        self.rest = rest
        self.tally = Tally(name)
        self.deadline = 0.0
        self.failing = False  # once a failure is seen, hypothesis must be able to replay it

    def start(self) -> None:
        now = time.monotonic()
        if not _FILE_START:
            _FILE_START.append(now)
        self.tally.started = now
        share = BUDGET * SHARES[self.name]
        self.deadline = now + share
        if self.rest:  # the file's budget, less what earlier tests took (a quarter at least)
            self.deadline = max(now + share / 4, _FILE_START[0] + BUDGET)

    def left(self) -> bool:
        return self.failing or time.monotonic() < self.deadline


def _examples(name: str) -> int:
    return max(10, int(RATES[name] * BUDGET * SHARES[name]))


BINARY = Budget("binary")
MUTATIONS_BUDGET = Budget("mutations")
HEAD = CORPUS[0][1][:200]


@seed(SEED)
@settings(HYPOTHESIS, max_examples=_examples("binary"))
@given(
    st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=512).map(lambda tail: HEAD + tail),
        st.binary(max_size=512).map(lambda tail: b"{" + tail),
        st.binary(max_size=512).map(lambda tail: codecs.BOM_UTF16_LE + tail),
    ),
    st.sampled_from(HEADERS),
    st.sampled_from(FEED_URLS),
)
def _binary_fuzz(body: bytes, headers: dict[str, str] | None, url: str) -> None:
    if BINARY.left():
        BINARY.failing = True
        BINARY.tally.check("hypothesis binary()", body, url, headers, reraise=True)
        BINARY.failing = False


def test_fuzz_hypothesis_binary(record_property: Any, capsys: Any) -> None:
    BINARY.start()
    try:
        _binary_fuzz()
    finally:
        finish(BINARY.tally, record_property, capsys)


@st.composite
def corpus_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name, body = draw(st.sampled_from(CORPUS))
    applied = [name]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 4))
        at = draw(st.integers(0, len(body)))
        if kind == 0:
            body = body[:at] + draw(st.sampled_from(ENTITIES + TOKENS)) + body[at:]
        elif kind == 1:
            body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
        elif kind == 2:
            body = body[:at] + body[at + draw(st.integers(1, 64)) :]
        elif kind == 3:
            body = body[:at]
        else:
            mutation = draw(st.sampled_from(MUTATIONS))
            body = mutation(random.Random(draw(st.integers(0, 2**32))), body)
            applied.append(mutation.__name__)
    return " + ".join(applied), body


@seed(SEED)
@settings(HYPOTHESIS, max_examples=_examples("mutations"))
@given(corpus_mutations(), st.sampled_from(HEADERS), st.sampled_from(FEED_URLS))
def _mutation_fuzz(case: tuple[str, bytes], headers: dict[str, str] | None, url: str) -> None:
    if MUTATIONS_BUDGET.left():
        MUTATIONS_BUDGET.failing = True
        description = f"hypothesis mutation: {case[0]}"
        MUTATIONS_BUDGET.tally.check(description, case[1], url, headers, reraise=True)
        MUTATIONS_BUDGET.failing = False


def test_fuzz_hypothesis_mutations(record_property: Any, capsys: Any) -> None:
    MUTATIONS_BUDGET.start()
    try:
        _mutation_fuzz()
    finally:
        finish(MUTATIONS_BUDGET.tally, record_property, capsys)


def test_fuzz_random_mutation_loop(record_property: Any, capsys: Any) -> None:
    budget = Budget("loop", rest=True)
    budget.start()
    rnd = random.Random(SEED)
    # The unmutated corpus first: a valid feed must go through cleanly.
    for name, body in CORPUS:
        budget.tally.check(f"corpus {name}", body, FEED_URLS[0], None)
    while budget.left():
        description, body, url, headers = mutate(rnd)
        budget.tally.check(description, body, url, headers)
    finish(budget.tally, record_property, capsys)
