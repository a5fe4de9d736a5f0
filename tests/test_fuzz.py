"""Byte-level fuzzing of parse -> normalise -> publish, bounded in time.

Contract under test: `parse_feed(body, url=..., headers=...)` raises nothing but
`ParseError`, whatever the bytes; when it returns, `normalise_feed` and the renderers do not
raise, and the Atom, RSS and JSON Feed they write pass the conformance checkers (which also
re-parse Atom and RSS with feedparser and require ``bozo == 0``).

Inputs:

* hypothesis ``binary()``: raw bytes, and raw bytes spliced into the head of a valid feed;
* hypothesis-driven mutations (`support.mutators`) of valid feeds written by `feedfactory`;
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from support.conformance import (
    XML_ILLEGAL,
    assert_valid_atom,
    assert_valid_jsonfeed,
    assert_valid_rss,
)
from support.mutators import (
    CORPUS,
    FEED_URLS,
    HEADERS,
    MAX_BODY,
    corpus_mutations,
    mutate,
)
from support.strategies import SETTINGS

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


# --------------------------------------------------------------------------- tests

# Examples per second the hypothesis tests reach here: max_examples follows the budget, a test
# that runs out of its time skips the remaining examples' work, and time a test leaves
# unused goes to the random loop, which runs last and takes what is left.
RATES = {"binary": 150, "mutations": 40}


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
@settings(SETTINGS, max_examples=_examples("binary"))
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


@seed(SEED)
@settings(SETTINGS, max_examples=_examples("mutations"))
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
