"""`feeds update` on a corpus of feeds as found in the wild (`wildcorpus.py`), over real HTTP.

Every feed of the corpus is served by the test server with its own headers (charsets right,
missing and wrong), one remote source per feed spread over 15 categories, and one
`feeds update` runs as a subprocess. Then:

* the run exits 0 within `UPDATE_LIMIT` seconds;
* every published feed document (each category's and ``all/``'s Atom, RSS and JSON Feed,
  and the Atom archive pages) is valid (`conformance.py`);
* per feed, its entries in its category's Atom feed are exactly the expected ones: every
  expected title is there, correctly decoded (compared as plain text with whitespace
  folded), a later duplicate id is not (the first is kept), and nothing else of the feed
  is; where the feed says, links (resolved against ``xml:base`` or the feed's URL),
  publication instants (or the run's time for undated and future-dated entries), the
  content, links inside it and enclosures come through;
* every entry of a category traces back to a feed of that category (by the ``W<feed>-``
  tag its title carries), and ``all/`` holds every category's entries.

What "recoverable" means for broken XML: the generator cannot know what a lenient parser
makes of a broken document, so the expected entries of a broken feed are what feedparser
itself returns for the same body and HTTP headers (``feedparser.parse`` with its defaults
plus the response headers), duplicate ids collapsed like ours. The test then demands that
every one of them reaches the output with the same title (feedparser's title as plain
text), except entries with no title, link or text at all, which feeds drops by design.
The corpus check demands that feedparser recovers at least one entry of each.

Findings (real defects the corpus exposes, in `feeds/`, which this test does not change)
are kept as strict xfails: see `FINDINGS`.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.feeds_cli import FEEDS_ENV
from support.feedserver import FeedServer, Route, serve
from support.namespaces import ATOM
from support.wildcorpus import (
    CATEGORIES,
    CHARSETS,
    LEGACY,
    RUN,
    Expected,
    WildFeed,
    build_corpus,
    composition,
    fold,
)

from feeds.slugs import readable_slug

pytestmark = pytest.mark.slow

UPDATE_LIMIT = 75.0  # seconds for `feeds update` on the whole corpus (about 15 s here)
MAX_ITEMS = 5000  # per category: high enough that retention keeps everything
TAG = re.compile(r"W(\d{3})-\d{3}")
# The page we write for an entry without a link names its source (slugified).
PAGE = re.compile(r"^https://wild\.example\.org/articles/w(\d{3})-")

CORPUS = build_corpus()
FEEDS = {feed.number: feed for feed in CORPUS}


# --- findings -------------------------------------------------------------------------------

Predicate = Callable[[WildFeed], bool]


@dataclass(frozen=True)
class Finding:
    check: str  # "entries", "urls", "dates", "content"
    applies: Predicate
    reason: str


def _garbled_by_latin1_label(feed: WildFeed) -> bool:
    """Served with charset=ISO-8859-1 while the prolog (or BOM) names the real encoding."""
    if feed.declared != "header-latin1":
        return False
    if feed.charset in ("utf-8", "utf-8-bom"):
        # feedparser re-decodes each string that looks like UTF-8 read as Latin-1; a string
        # that also holds characters from numeric references cannot be re-encoded, stays.
        return any(e.title.startswith("“Zitat” — 😀") for e in feed.expected or ())
    return feed.charset != "windows-1252"  # cp1252 read as Latin-1 is mapped back


FINDINGS: tuple[Finding, ...] = (
    Finding(
        "urls",
        lambda f: "xml-base-relative" in f.features,
        "an xml:base inside a relative xml:base is dropped: feeds passes feedparser no "
        "content-location (feeds/parse/feed.py), so its base starts empty, the feed's "
        "relative xml:base stays relative and make_safe_absolute_uri discards every "
        "relative xml:base nested in it; entry links and links in the content then miss "
        "the entry's own base",
    ),
)


def _params(check: str, wanted: Predicate) -> list[Any]:
    params = []
    for feed in CORPUS:
        if not wanted(feed):
            continue
        marks = [
            pytest.mark.xfail(strict=True, reason=finding.reason)
            for finding in FINDINGS
            if finding.check == check and finding.applies(feed)
        ]
        feed_id = f"W{feed.number:03d}-{feed.kind}-{feed.charset}-{feed.declared}"
        if feed.broken:
            feed_id += f"-{feed.broken}"
        params.append(pytest.param(feed.number, id=feed_id, marks=marks))
    return params


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutEntry:
    title: str
    id: str
    link: str | None
    enclosures: tuple[str, ...]
    published: datetime
    content: str


@dataclass
class Run:
    out: Path
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    started: datetime
    finished: datetime
    urls: dict[int, str]
    failed: dict[str, str]
    warnings: dict[str, str]
    _entries: dict[str, list[OutEntry]] = field(default_factory=dict)

    def entries(self, slug: str) -> list[OutEntry]:
        if slug not in self._entries:
            self._entries[slug] = _read_atom(self.out / slug / "atom.xml")
        return self._entries[slug]

    def of_feed(self, feed: WildFeed) -> list[OutEntry]:
        """The entries of the feed's category that carry the feed's tag."""
        return [
            entry
            for entry in self.entries(readable_slug(feed.category))
            if _feed_number(entry) == feed.number
        ]


def _feed_number(entry: OutEntry) -> int | None:
    """The feed an entry came from: the tag in its title, else the page we wrote for it.

    (An entry a lenient parser made of junk may have no title, summary, id or link: its
    title is then its content hash, but its page still names the source.)
    """
    match = TAG.search(entry.title) or PAGE.match(entry.link or "")
    return int(match.group(1)) if match else None


def _read_atom(path: Path) -> list[OutEntry]:
    root = etree.parse(str(path)).getroot()
    entries = []
    for element in root.iter(f"{ATOM}entry"):
        links = element.findall(f"{ATOM}link")
        alternate = next((x.get("href") for x in links if x.get("rel") == "alternate"), None)
        entries.append(
            OutEntry(
                title=fold(element.findtext(f"{ATOM}title") or ""),
                id=element.findtext(f"{ATOM}id") or "",
                link=alternate,
                enclosures=tuple(x.get("href") or "" for x in links if x.get("rel") == "enclosure"),
                published=datetime.fromisoformat(element.findtext(f"{ATOM}published") or ""),
                content=element.findtext(f"{ATOM}content") or "",
            )
        )
    return entries


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


@pytest.fixture(scope="module")
def feed_server() -> Iterator[FeedServer]:
    """The conftest `feed_server`, once for the module: one run serves every check here."""
    yield from serve()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, feed_server: FeedServer) -> Run:
    root = tmp_path_factory.mktemp("wild")
    urls: dict[int, str] = {}
    sources = []
    for feed in CORPUS:
        # Route directly: the headers are the feed's own (some have no Content-Type at all).
        feed_server.routes[feed.path] = Route(feed.body, 200, dict(feed.headers))
        urls[feed.number] = feed_server.url(feed.path)
        source = (
            f"[[sources]]\nname = {_toml(feed.name)}\nurl = {_toml(urls[feed.number])}\n"
            f"category = {_toml(feed.category)}\n"
        )
        if feed.timezone != "UTC":
            source += f"timezone = {_toml(feed.timezone)}\n"
        sources.append(source)
    config = root / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://wild.example.org/"\n'
        f'title = "Wild corpus"\nmax_items = {MAX_ITEMS}\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        "[fetch]\nconcurrency = 16\nper_host = 8\n\n" + "\n".join(sources),
        encoding="utf-8",
    )
    started = datetime.now().astimezone()
    clock = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(config), "update"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=UPDATE_LIMIT * 2,
        env={**FEEDS_ENV, "HOME": str(root)},
    )
    elapsed = time.monotonic() - clock
    finished = datetime.now().astimezone()
    failed: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in ("failed", "warning"):
            name, _, reason = rest.strip().partition(": ")
            (failed if word == "failed" else warnings)[name] = reason
    return Run(
        root / "out",
        result.returncode,
        result.stdout,
        result.stderr,
        elapsed,
        started,
        finished,
        urls,
        failed,
        warnings,
    )


# --- what a broken feed must give: what feedparser recovers ---------------------------------


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain(fragment: str) -> str:
    """Text of an HTML fragment as a reader shows it: tags dropped, references decoded."""
    parser = _PlainText()
    parser.feed(fragment)
    parser.close()
    return fold("".join(parser.parts))


@dataclass(frozen=True)
class Recovered:
    titles: tuple[str | None, ...]  # per entry: its title as plain text (None: blank)

    @property
    def count(self) -> int:
        return len(self.titles)


@cache
def recovered(number: int) -> Recovered:
    """What feedparser itself returns for a feed's body and headers, duplicates collapsed."""
    feed = FEEDS[number]
    headers = {k.lower(): v for k, v in feed.headers.items()}
    parsed = feedparser.parse(io.BytesIO(feed.body), response_headers=headers)
    titles: list[str | None] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        if not any(entry.get(k) for k in ("title", "link", "content", "summary", "enclosures")):
            continue  # an entry of nothing (broken XML): feeds drops it by design
        key = fold(str(entry.get("id") or "")) or fold(str(entry.get("link") or ""))
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        titles.append(plain(str(entry.get("title") or "")) or None)
    return Recovered(tuple(titles))


def expected_titles(feed: WildFeed) -> list[str | None]:
    if feed.expected is None:
        return list(recovered(feed.number).titles)
    return [entry.title for entry in feed.expected]


# --- the corpus itself ----------------------------------------------------------------------


def test_corpus_is_wild_enough() -> None:
    kinds = composition(CORPUS)
    assert len(CORPUS) >= 300
    assert set(kinds["charset"]) == set(CHARSETS)
    assert set(kinds["category"]) == set(CATEGORIES)
    assert {"rss090", "rss091n", "rss094", "rss10", "podcast", "atom03", "cdf"} <= set(
        kinds["kind"]
    )
    assert {"json10", "json11", "atom10", "rss20", "rss20-ns"} <= set(kinds["kind"])
    assert max(f.written for f in CORPUS) == 500
    assert sum(1 for f in CORPUS if f.written == 0) >= 5
    assert sum(1 for f in CORPUS if f.dropped) >= 8
    for feed in CORPUS:
        if feed.charset in LEGACY and feed.expected:
            # so that a wrong decoding shows in every title
            assert all(not e.title.isascii() for e in feed.expected), feed.name
    # the same corpus, byte for byte, every time
    assert [f.body for f in build_corpus()] == [f.body for f in CORPUS]


# What feedparser 6.0 calls each dialect of the corpus (CDF it reads but names no version).
VERSIONS = {
    "rss090": "rss090",
    "rss091u": "rss091u",
    "rss091n": "rss091n",
    "rss092": "rss092",
    "rss093": "rss093",
    "rss094": "rss094",
    "rss20": "rss20",
    "rss20-ns": "rss20",
    "rss20-userland": "rss20",
    "rss20-harvard": "rss20",
    "rss-noversion": "rss",
    "podcast": "rss20",
    "rss10": "rss10",
    "atom03": "atom03",
    "atom10": "atom10",
    "cdf": "",
}


def test_feedparser_reads_every_dialect_as_written() -> None:
    """Only dialects feedparser parses: each well-formed XML feed gives all its entries."""
    wrong = []
    for feed in CORPUS:
        if feed.broken or feed.kind.startswith("json"):
            continue
        # the body alone (its own header may be the wrong one, on purpose)
        parsed = feedparser.parse(
            io.BytesIO(feed.body), response_headers={"content-type": "application/xml"}
        )
        got = (parsed.get("version"), len(parsed.entries))
        if got != (VERSIONS[feed.kind], feed.written):
            wrong.append(f"{feed.name}: {got}, not {(VERSIONS[feed.kind], feed.written)}")
    assert not wrong


def test_feedparser_recovers_something_from_every_broken_feed() -> None:
    empty = [f.name for f in CORPUS if f.broken and recovered(f.number).count == 0]
    assert not empty


# --- the run --------------------------------------------------------------------------------


def test_update_exits_0_in_bounded_time(run: Run) -> None:
    assert run.returncode == 0, run.stderr
    assert run.elapsed < UPDATE_LIMIT, f"feeds update took {run.elapsed:.1f}s"
    assert f"{len(CORPUS)} source(s) updated" in run.stdout


SLUGS = [*sorted({readable_slug(name) for name in CATEGORIES}), "all"]
VALIDATORS = {
    "atom.xml": assert_valid_atom,
    "rss.xml": assert_valid_rss,
    "feed.json": assert_valid_jsonfeed,
}


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@pytest.mark.parametrize("slug", SLUGS)
def test_published_feed_is_valid(run: Run, slug: str, name: str) -> None:
    VALIDATORS[name]((run.out / slug / name).read_bytes())


def test_archive_pages_are_valid(run: Run) -> None:
    pages = sorted(run.out.glob("*/archive/*.xml"))
    assert pages, "no RFC 5005 archive pages were written"
    for page in pages:
        assert_valid_atom(page.read_bytes())


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_entry_of_a_category_comes_from_its_feeds(run: Run, category: str) -> None:
    entries = run.entries(readable_slug(category))
    strays = [
        f"{e.title[:100]} ({e.link})"
        for e in entries
        if (number := _feed_number(e)) is None or FEEDS[number].category != category
    ]
    assert not strays, f"{len(strays)} entries of no feed of {category!r}: {strays[:10]}"
    assert len({e.id for e in entries}) == len(entries)


def test_all_holds_every_category(run: Run) -> None:
    everything = run.entries("all")
    by_category = [e.id for name in CATEGORIES for e in run.entries(readable_slug(name))]
    assert len(everything) == len(by_category)
    assert {e.id for e in everything} == set(by_category)


# --- per feed -------------------------------------------------------------------------------


def _describe(feed: WildFeed, run: Run) -> str:
    failure = run.failed.get(feed.name)
    warning = run.warnings.get(feed.name)
    text = (
        f"{feed.name} ({feed.kind}, {feed.charset}, {feed.declared}, "
        f"headers {dict(feed.headers)}, broken {feed.broken})"
    )
    if failure:
        text += f"\n  the source FAILED: {failure}"
    if warning:
        text += f"\n  warning: {warning[:300]}"
    return text


@pytest.mark.parametrize("number", _params("entries", lambda feed: True))
def test_entries_arrive(run: Run, number: int) -> None:
    """Exactly the expected entries, titles decoded, duplicates collapsed (first kept)."""
    feed = FEEDS[number]
    got = run.of_feed(feed)
    wanted = expected_titles(feed)
    problems = []
    if feed.name in run.failed:
        problems.append(f"the source failed: {run.failed[feed.name]}")
    if len(got) != len(wanted):
        problems.append(f"{len(got)} entries published, {len(wanted)} expected")
    missing = Counter(t for t in wanted if t is not None) - Counter(e.title for e in got)
    if missing:
        problems.append("missing: " + "; ".join(t[:100] for t in missing.elements()))
        known = set(wanted)
        extra = [e.title[:100] for e in got if e.title not in known]
        problems.append("published instead: " + "; ".join(extra))
    titles = {e.title for e in got}
    resurrected = [t for t in feed.dropped if t in titles]
    if resurrected:
        problems.append(f"later duplicates published: {resurrected}")
    assert not problems, _describe(feed, run) + "\n  " + "\n  ".join(problems)


def _matched(run: Run, feed: WildFeed) -> list[tuple[Expected, OutEntry | None]]:
    got = {e.title: e for e in run.of_feed(feed)}
    return [(want, got.get(want.title)) for want in feed.expected or ()]


def _has_urls(feed: WildFeed) -> bool:
    return any(e.link or e.content_href or e.enclosure for e in feed.expected or ())


@pytest.mark.parametrize("number", _params("urls", _has_urls))
def test_links_resolve(run: Run, number: int) -> None:
    """Entry links, links in the content and enclosures, resolved as the feed says."""
    feed = FEEDS[number]
    url = run.urls[number]
    problems = []
    for want, entry in _matched(run, feed):
        if entry is None:
            continue  # reported by test_entries_arrive
        if want.link is not None:
            link = Expected.resolve(url, want.link)
            if entry.link != link:
                problems.append(f"{want.tag}: link {entry.link}, expected {link}")
        if want.content_href is not None:
            href = Expected.resolve(url, want.content_href)
            if f'href="{href}"' not in entry.content:
                problems.append(f"{want.tag}: no link to {href} in {entry.content[:200]}")
        if want.enclosure is not None:
            enclosure = Expected.resolve(url, want.enclosure)
            if enclosure not in entry.enclosures:
                problems.append(f"{want.tag}: enclosures {entry.enclosures}, not {enclosure}")
    assert not problems, _describe(feed, run) + "\n  " + "\n  ".join(problems)


def _has_dates(feed: WildFeed) -> bool:
    return any(e.published is not None for e in feed.expected or ())


@pytest.mark.parametrize("number", _params("dates", _has_dates))
def test_dates_are_read(run: Run, number: int) -> None:
    """The instant each date means; the run's time for no date or a date in the future."""
    feed = FEEDS[number]
    slack = timedelta(seconds=2)
    problems = []
    for want, entry in _matched(run, feed):
        if entry is None or want.published is None:
            continue
        if want.published == RUN:
            if not run.started - slack <= entry.published <= run.finished + slack:
                problems.append(f"{want.tag}: published {entry.published}, not the run's time")
        elif entry.published != want.published:
            problems.append(f"{want.tag}: published {entry.published}, expected {want.published}")
    assert not problems, _describe(feed, run) + "\n  " + "\n  ".join(problems)


def _has_content(feed: WildFeed) -> bool:
    return any(e.marker for e in feed.expected or ())


@pytest.mark.parametrize("number", _params("content", _has_content))
def test_content_arrives(run: Run, number: int) -> None:
    """content:encoded, Atom html/xhtml content, descriptions and JSON content_html."""
    feed = FEEDS[number]
    problems = [
        f"{want.tag}: {want.marker!r} not in {entry.content[:200]!r}"
        for want, entry in _matched(run, feed)
        if entry is not None and want.marker and want.marker not in plain(entry.content)
    ]
    assert not problems, _describe(feed, run) + "\n  " + "\n  ".join(problems)
