"""Normalising gives the same Articles, every field byte for byte, as a recorded run did.

A guard for work on normalising's speed: the bench corpus, the wild corpus, seeded fuzz
mutations, the XSS vectors and a list of awkward values (in every field) are parsed and
normalised, and a digest of each feed's result is compared with the one recorded in
`data/normalised_digests.json` with the versions of the libraries whose output an Article
holds (feedparser, lxml, nh3). Under other versions the test still passes when every digest
is the same; where some differ, it is skipped, saying which versions and how many. A
change that means to change the output records the new digests with
``python test_normalise_same.py --record`` (run in tests/) and says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
import support.xss_vectors as xv
from support.mutators import FEED_URLS, mutate
from support.wildcorpus import build_corpus

from feeds.model import Author, Enclosure, RawEntry, RawFeed, Source, SourceKind
from feeds.normalise.article import normalise_feed
from feeds.parse import ParseError, parse_feed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.corpus import Corpus, render

RECORD = Path(__file__).parent / "data" / "normalised_digests.json"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
FUZZ_INPUTS = 300
BENCH_FEEDS = 80

# Values that take each branch of the text, HTML, URL and date rules.
AWKWARD_TEXT = (
    "plain words", "  padded\t\ttabs\r\nand lines  ", "nbsp\u00a0here", "line\u2028sep\x85nel",
    "\ufeffbom first", "Müller & Söhne", "a &amp; b", "&lt;b&gt;bold&lt;/b&gt;", "x < y > z",
    "Option<T>", "<b>bold</b> text", "&amp;lt;p&amp;gt;twice", "&copy &copy; &#169; &#xA9;",
    "&#1;&#x1f;&#xFFFE;&#0;&#xD800;", "ctl\x01\x0b\x0c\x1f\ufffe\uffff\ud800", "tab\there",
    "<script>x</script>after", "<!-- c -->kept", "&nbsp;&ensp;&thinsp;", "&#128;&#x9F;",
    "&notit; &notin;", "a\u3000b", "\u200bzero width", "", " ", "<p>para</p><p>two</p>",
    "a<br>b<br/>c", "𝔘nicode 🎉", "&unknown; & ;", "trailing &amp",
)  # fmt: skip
AWKWARD_URLS = (
    "https://example.com/a/b.html", "http://example.com", "HTTP://Example.COM/Up",
    "https://example.com/a b", "https://example.com/ü?q=ä#f", "https://bücher.example/x",
    "https://example.com/%41%zz%", "https://example.com/p;params?q#frag", "https://x.example/?",
    "https://x.example/#", "https://x.example:8080/p", "https://x.example:/p",
    "https://user:pw@x.example/p", "https://x.example/../a/./b", "//x.example/p", "/rel/path",
    "rel.html", "?q=1", "#frag", "javascript:alert(1)", " https://example.com/pad ",
    "https://example.com/\ttab", "https://[::1]/v6", "https://[bad/", "ftp://example.com/f",
    "https://ex ample.com/", "https://x.example/a\"b<c>d\\e^f`g{h|i}j", "https://x.example/%",
    "https://x.example/~user/_x-y.z!$&'()*+,;=:@", "mailto:a@b.example", "https:x.example",
    "https://x.example/\x7f\x80", "https://x.example/a?b=c&d=e#f?g#h",
)  # fmt: skip
AWKWARD_DATES = (
    "2025-05-10T11:33:00Z", "2025-05-10T11:33:00.5+02:00", "2025-05-10T11:33:00+01:00:30",
    "2025-05-10 11:33", "2025-05-10", "2024-02-30T00:00:00Z", "2030-01-01T00:00:00Z",
    "Sat, 10 May 2025 11:33:00 +0200", "Sat, 10 May 2025 11:33:00 GMT", "10 May 2025 11:33 CEST",
    "Sat, 10 May 25 11:33:00 +0530", "Sat, 10 May 2025 11:33:00 XYZ", "10.05.2025 11:33",
    "10. Mai 2025, 11:33 Uhr", "1746871980", "2025-05-10T24:00:00Z", "20250510T113300Z",
    "Sat, 31 Feb 2025 11:33:00 +0200", "Mon, 10 May 2025 11:33:60 -0000", "garbage", "",
)  # fmt: skip


def _source(name: str, timezone: str = "Europe/Berlin") -> Source:
    return Source(
        name=name, kind=SourceKind.REMOTE, interval=timedelta(hours=1), category="Kategorie",
        language="en", timezone=timezone,
    )  # fmt: skip


def _digest(raw: RawFeed, source: Source, base: str) -> str:
    done = normalise_feed(raw, source=source, now=NOW, first_seen={}, fallback_base=base)
    # Every field but `undated`, whose order as a set changes with the hash seed, written
    # as the dataclass's repr did before it had `recognised` and `entry_digests` (a read
    # with nothing known recognises nothing; the digests are recognise's own business).
    assert done.recognised == 0
    text = (
        f"NormalisedFeed(articles={done.articles!r}, errors={done.errors!r}, "
        f"undated=frozenset(), title={done.title!r}, site_url={done.site_url!r}, "
        f"dropped={done.dropped!r})"
    ) + repr(sorted(done.undated))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _parsed(body: bytes, url: str, headers: object, source: Source) -> str:
    try:
        raw = parse_feed(body, url=url, headers=headers)  # type: ignore[arg-type]
    except ParseError:
        return "not a feed"
    return _digest(raw, source, url)


def _awkward_entries() -> Iterator[tuple[str, RawFeed]]:
    rnd = random.Random(20251205)
    texts = list(AWKWARD_TEXT) + [value for _, value in xv.TEXT_VECTORS]
    htmls = texts + [value for _, value in xv.HTML_VECTORS + xv.CONTROL_REFERENCE_VECTORS]
    urls = list(AWKWARD_URLS) + [value for _, value in xv.URL_VECTORS]
    for number in range(200):
        entries = tuple(
            RawEntry(
                entry_id=rnd.choice((None, *texts[:8])),
                title=rnd.choice(texts),
                title_is_html=rnd.random() < 0.5,
                link=rnd.choice(urls),
                summary_html=rnd.choice((None, *htmls)),
                content_html=rnd.choice((None, *htmls)),
                base_url=rnd.choice((None, *urls)),
                authors=(Author(rnd.choice(texts), rnd.choice((None, "a@b.example")), None),),
                published=rnd.choice(AWKWARD_DATES),
                updated=rnd.choice((None, *AWKWARD_DATES)),
                tags=tuple(rnd.sample(texts, 2)),
                language=rnd.choice((None, "de-DE", "en_gb", xv.LANGUAGE_VECTOR)),
                enclosures=(Enclosure(rnd.choice(urls), rnd.choice((None, "audio/mpeg")), 5),),
            )
            for _ in range(4)
        )
        feed = RawFeed(entries, title=rnd.choice(texts), link=rnd.choice(urls))
        yield f"awkward {number}", feed


def digests() -> dict[str, str]:
    """Feed name -> digest of its normalised result, over every corpus."""
    result: dict[str, str] = {}
    corpus = Corpus(BENCH_FEEDS, 1)
    for spec in corpus.specs:
        url = f"http://127.0.0.1/{spec.filename}"
        body = render(spec, corpus.entries(spec))
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        result[f"bench {spec.filename}"] = _parsed(body, url, headers, _source("b"))
    for wild in build_corpus():
        url = f"http://127.0.0.1:8080{wild.path}"
        source = _source(wild.name, wild.timezone)
        result[f"wild {wild.name}"] = _parsed(wild.body, url, wild.headers, source)
    rnd = random.Random(20251205)
    for number in range(FUZZ_INPUTS):
        _name, body, url, headers = mutate(rnd)
        result[f"fuzz {number}"] = _parsed(body, url, headers, _source("fuzz"))
    for base in FEED_URLS[:2]:
        for name, feed in _awkward_entries():
            result[f"{name} {base}"] = _digest(feed, _source("awkward"), base)
    return result


def versions() -> dict[str, str]:
    """The libraries whose output is part of an Article's: a new release may change it."""
    return {name: metadata.version(name) for name in ("feedparser", "lxml", "nh3")}


def test_normalised_articles_are_the_recorded_ones() -> None:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    recorded = record["digests"]
    now = digests()
    changed = sorted(
        name for name in recorded.keys() | now.keys() if recorded.get(name) != now.get(name)
    )
    if changed and record["versions"] != versions():
        # Not our change: check what the new release changed, then record again.
        pytest.skip(
            f"{len(changed)} differ, recorded with {record['versions']}, installed {versions()}"
        )
    assert not changed, f"{len(changed)} of {len(recorded)} differ, e.g. {changed[:10]}"


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    record = {"versions": versions(), "digests": digests()}
    RECORD.write_text(json.dumps(record, indent=0, sort_keys=True) + "\n", encoding="utf-8")
