"""Entries decided from their heads (`feeds.normalise.article.Screening`, shown each entry's
id, link and dates by the fast path before the rest is read) against the same read without
a screen. Whatever the screen takes, the normalised read must be the same: the same
articles, held entries, retired ids, counts and warnings (only the remembered digests
differ: a taken entry is remembered by its key). Every corpus the fast path is tested on
goes through both, with half of each feed's dated entries old enough to retire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import test_fast_parse
from support.update_runs import NOW, SOURCE
from support.wildcorpus import build_corpus
from test_fast_parse import EDGE_CASES, HOSTILE, XML_CORNERS, Corpus, render

from feeds.model import RawEntry, RawFeed, RetireBefore, Source
from feeds.normalise import limits
from feeds.normalise.article import (
    HeldEntries,
    NormalisedFeed,
    ScreenClashError,
    Screening,
    normalise_feed,
)
from feeds.normalise.recognise import DIGEST_LENGTH
from feeds.parse import ParseError, parse_feed
from feeds.workers import BodyJob, Cleaned, CleanJob, clean_entries, digest_body, packed_for

URL = "https://feeds.example/news/feed.xml"
FEED = replace(SOURCE, category="Nachrichten")
OLD = datetime(2025, 3, 1, tzinfo=UTC)


def read(
    body: bytes,
    source: Source = FEED,
    *,
    retire: RetireBefore | None,
    known: str = "",
    screen: bool,
    headers: Mapping[str, str] | None = None,
) -> tuple[NormalisedFeed, Screening | None, int]:
    """A body parsed and normalised as a worker does (`feeds.workers.digest_body`), with or
    without the screen; and how many entries were read whole. Where the screen took an id
    that a later entry repeats, the body is read again without it (no screening is
    returned), as the worker does."""
    screening = Screening(source, NOW, retire, known, "") if screen else None
    feed = parse_feed(body, url=URL, headers=headers, screen=screening)
    try:
        normalised = normalise(feed, source, retire, known, screening)
    except ScreenClashError:
        return read(body, source, retire=retire, known=known, screen=False, headers=headers)
    return normalised, screening, len(feed.entries)


def normalise(
    feed: RawFeed,
    source: Source,
    retire: RetireBefore | None,
    known: str,
    screening: Screening | None,
) -> NormalisedFeed:
    return normalise_feed(
        feed,
        source=source,
        now=NOW,
        first_seen={},
        fallback_base=None,
        known=known,
        retire=retire,
        screening=screening,
    )


def same_read(
    a: NormalisedFeed,
    b: NormalisedFeed,
    body: bytes = b"",
    source: Source = FEED,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """The same reads, but for the digests remembered and how the held entries wait: held
    whole (`a`) or, some of them, by their heads, to be read again from `body` when kept
    (`b`). The same entries are held, and cleaned they are the same articles."""
    if replace(a, entry_digests="", held=None) != replace(b, entry_digests="", held=None):
        return False
    if a.held is None or b.held is None:
        return a.held == b.held

    def decided(held: HeldEntries) -> list[tuple[str, str, datetime]]:
        return sorted((e.key, e.category, e.published) for e in held.entries)

    if decided(a.held) != decided(b.held):
        return False
    articles = [cleaned(h, body, source, headers).articles for h in (a.held, b.held)]
    return articles[0] == articles[1] and articles[0] is not None


def cleaned(
    held: HeldEntries, body: bytes, source: Source, headers: Mapping[str, str] | None
) -> Cleaned:
    """Every held entry cleaned as the run cleans those it keeps (`clean_entries`), the
    read to do again packed as the worker packs it (`digest_body`)."""
    if held.unread:
        job = BodyJob(body, URL, dict(headers or {}), source, NOW, None)
        held = replace(held, reread=packed_for(job))
    return clean_entries(CleanJob(((source, held, held.keys),)))


def halfway(body: bytes, headers: Mapping[str, str] | None = None) -> datetime | None:
    """The median date of the body's dated entries (None when it has none)."""
    try:
        feed = parse_feed(body, url=URL, headers=headers)
    except ParseError:
        return None
    dates = sorted(d for d in (_date(e) for e in feed.entries) if d is not None)
    return dates[len(dates) // 2] if dates else None


def _date(entry: RawEntry) -> datetime | None:
    return entry.published_guess or entry.updated_guess


def assert_same_with_screen(body: bytes, headers: Mapping[str, str] | None = None) -> int:
    """Read `body` with and without the screen, retiring before its median date (and again
    holding the rest); the same reads. Returns how many entries the screen took."""
    middle = halfway(body, headers)
    if middle is None:
        return 0
    taken = 0
    for retire in (RetireBefore(middle), RetireBefore(middle, hold=True)):
        try:
            plain, _, _ = read(body, retire=retire, screen=False, headers=headers)
        except ParseError:
            continue
        screened, screening, _ = read(body, retire=retire, screen=True, headers=headers)
        assert same_read(plain, screened, body, headers=headers), body[:300]
        taken += len(screening.taken) if screening is not None else 0
    return taken


@pytest.mark.parametrize("seed", [1, 20250510])
def test_the_bench_corpus_reads_the_same_with_its_old_entries_taken(seed: int) -> None:
    corpus = Corpus(60, seed)
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    taken = sum(
        assert_same_with_screen(render(spec, corpus.entries(spec)), headers)
        for spec in corpus.specs
    )
    assert taken > 200  # the screen took the old half of nearly every feed


def test_the_wild_corpus_reads_the_same_with_a_screen() -> None:
    taken = sum(assert_same_with_screen(w.body, w.headers) for w in build_corpus())
    assert taken > 20


def test_the_conformance_documents_read_the_same_with_a_screen() -> None:
    documents = list(test_fast_parse._conformance_documents())
    for text in documents:
        assert_same_with_screen(text.encode("utf-8"))


@pytest.mark.parametrize(
    "body",
    [*EDGE_CASES.values(), *XML_CORNERS.values(), *HOSTILE.values()],
    ids=[*EDGE_CASES, *(f"corner-{k}" for k in XML_CORNERS), *(f"hostile-{k}" for k in HOSTILE)],
)
def test_edge_corner_and_hostile_bodies_read_the_same_with_a_screen(body: bytes) -> None:
    assert_same_with_screen(body)


def item(n: int, when: datetime, extra: str = "", guid: str | None = None) -> str:
    guid = guid or f"https://feeds.example/{n}"
    return (
        f"<item><title>Item {n}</title><link>https://feeds.example/{n}</link>"
        f"<guid>{guid}</guid><pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>Text {n}</description>{extra}</item>"
    )


def rss(*items: str, channel_attrs: str = "") -> bytes:
    body = test_fast_parse.rss("".join(items))
    return body.replace(b"<channel>", f"<channel{channel_attrs}>".encode())


def items(count: int, extra: str = "") -> list[str]:
    """`count` items, a day apart, the newest first, from `OLD` + `count` days back."""
    return [item(n, OLD + timedelta(days=count - n), extra) for n in range(count)]


def test_old_entries_are_retired_unread_and_recognised_by_their_ids_next_time() -> None:
    body = rss(*items(10))
    retire = RetireBefore(OLD + timedelta(days=5, hours=12))
    plain, _, _ = read(body, retire=retire, screen=False)
    first, screening, read_whole = read(body, retire=retire, screen=True)
    assert same_read(plain, first)
    assert screening is not None and len(screening.retired) == 5 and read_whole == 5
    assert first.retired == plain.retired and len(first.retired) == 5
    # The next read retires nothing itself (no floors yet in that run): the retired
    # entries are recognised by their ids, unread, and the others by their digests.
    again, screening, read_whole = read(body, retire=None, known=first.entry_digests, screen=True)
    assert screening is not None and screening.recognised == 5 and read_whole == 5
    assert again.recognised == 10 and again.articles == () and again.dropped == 0
    assert set(again.entry_digests[i : i + 32] for i in range(0, 320, 32)) == set(
        first.entry_digests[i : i + 32] for i in range(0, 320, 32)
    )


def test_an_entry_a_reading_would_decline_over_is_read_whole() -> None:
    # An element the fast path does not know sends the whole body to feedparser: the screen
    # never hides it.
    unknown = "<foo:bar xmlns:foo='urn:x'>x</foo:bar>"
    body = rss(*items(4), item(9, OLD - timedelta(days=30), extra=unknown))
    assert_same_with_screen(body)
    _, screening, _ = read(body, retire=RetireBefore(OLD + timedelta(days=3)), screen=True)
    assert screening is not None and screening.taken == []  # feedparser read it all


def relative_item(n: int, when: datetime, extra: str = "", attrs: str = "") -> str:
    """An item whose link and id are relative: the base in scope resolves them."""
    return (
        f"<item{attrs}><title>Item {n}</title><link>/{n}</link><guid>/{n}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>Text {n}</description>{extra}</item>"
    )


def test_old_entries_are_taken_where_a_base_is_in_scope() -> None:
    # The channel's base, or each item's own: every element restores it as it ends, so an
    # entry not read further changes nothing after it, an xml:base below it included.
    retire = RetireBefore(OLD + timedelta(days=3, hours=12))
    inner = '<comments xml:base="https://inner.example/c/">c</comments>'
    channel_base = rss(
        *(relative_item(n, OLD + timedelta(days=6 - n), inner) for n in range(6)),
        channel_attrs=' xml:base="https://elsewhere.example/"',
    )
    own_bases = rss(
        *(
            relative_item(n, OLD + timedelta(days=6 - n), inner, ' xml:base="https://own.example/"')
            for n in range(6)
        )
    )
    for body, site in (
        (channel_base, "https://elsewhere.example/"),
        (own_bases, "https://own.example/"),
    ):
        plain, _, _ = read(body, retire=retire, screen=False)
        screened, screening, read_whole = read(body, retire=retire, screen=True)
        assert same_read(plain, screened) and read_whole == 3
        assert screening is not None and len(screening.taken) == 3
        assert {a.link for a in screened.articles} == {f"{site}{n}" for n in range(3)}
        assert screened.retired == {f"{site}{n}" for n in range(3, 6)}


def test_no_entry_is_taken_where_an_xml_base_may_reach_past_it() -> None:
    # No base in scope: the base an old item's element sets stays in scope after it, and
    # the items after it resolve their links against it. The item is read whole, so the
    # items after it are read where that base left them.
    retire = RetireBefore(OLD + timedelta(days=3, hours=12))
    leaking = '<comments xml:base="https://leaked.example/x/">c</comments>'
    body = rss(
        relative_item(0, OLD + timedelta(days=6)),
        relative_item(1, OLD + timedelta(days=5)),
        relative_item(2, OLD + timedelta(days=1), leaking),
        *(relative_item(n, OLD + timedelta(days=6 - n)) for n in (3, 4, 5)),
    )
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, read_whole = read(body, retire=retire, screen=True)
    assert same_read(plain, screened)
    # Item 2 was read whole; the ones after it, in the leaked base's scope, were taken.
    assert screening is not None and screening.taken == [
        f"https://leaked.example/{n}" for n in (3, 4, 5)
    ]
    assert read_whole == 3
    assert "/2" in screened.retired  # its own id, read with no base in scope


def test_a_taken_entry_s_title_keeps_a_later_channel_title_as_reading_it_would() -> None:
    # Found by fuzzing: in RSS 1.0 the channel may follow its items, at their depth, and
    # feedparser keeps no title after an item's title at that depth: the feed has no title.
    # An old item taken unread left the channel's title to be kept.
    def rdf_item(n: int, when: datetime) -> str:
        return (
            f'<item rdf:about="https://feeds.example/{n}"><title>Item {n}</title>'
            f"<link>https://feeds.example/{n}</link><dc:date>{when.isoformat()}</dc:date></item>"
        )

    body = (
        '<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/">{rdf_item(1, OLD)}'
        '<channel rdf:about="https://feeds.example/"><title>Channel</title>'
        f"<link>https://feeds.example/</link></channel>{rdf_item(2, OLD + timedelta(days=30))}"
        "</rdf:RDF>"
    ).encode()
    retire = RetireBefore(OLD + timedelta(days=3))
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, read_whole = read(body, retire=retire, screen=True)
    assert screening is not None and screening.taken == ["https://feeds.example/1"]
    assert read_whole == 1 and plain.title is None and same_read(plain, screened)


def test_an_old_entry_over_its_caps_is_retired_without_a_warning_read_or_taken() -> None:
    # Found by fuzzing: the whole reading capped an entry it then retired, and warned of
    # the cut title or dropped URL; the screen, taking it by its head, could not.
    retire = RetireBefore(OLD + timedelta(days=3))
    long_url = "https://feeds.example/" + "e" * limits.LINK
    over = item(1, OLD, extra=f'<enclosure url="{long_url}" type="audio/mpeg" length="1"/>')
    over = over.replace("<title>Item 1</title>", "<title>" + "Lang " * limits.TITLE + "</title>")
    body = rss(over, item(2, OLD + timedelta(days=30)))
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, read_whole = read(body, retire=retire, screen=True)
    assert screening is not None and screening.taken == ["https://feeds.example/1"]
    assert plain.retired == {"https://feeds.example/1"} and plain.errors == ()
    assert read_whole == 1 and same_read(plain, screened)
    # Kept, it is cut and warned of as before.
    kept, _, _ = read(body, retire=None, screen=False)
    assert any("title cut" in line for line in kept.errors)
    assert any("enclosure URL over" in line for line in kept.errors)


def test_an_entry_with_an_attribute_name_only_libxml2_takes_is_never_taken() -> None:
    # Found by fuzzing: expat refuses an attribute named with U+0450 (a name character of
    # XML 1.0's fifth edition only), so without a screen feedparser reads the body and warns
    # of it; an old entry holding it, taken unread, left that to a reading that does not.
    retire = RetireBefore(OLD + timedelta(days=400))
    odd = '<enclosure url="https://feeds.example/a.mp3" type\u0450="audio/mpeg"/>'
    body = rss(item(1, OLD, extra=odd), item(2, OLD))
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, _ = read(body, retire=retire, screen=True)
    assert screening is not None and screening.taken == [] and same_read(plain, screened)
    warned = parse_feed(body, url=URL, screen=Screening(FEED, NOW, retire, "", "")).warnings
    assert warned == parse_feed(body, url=URL).warnings != ()


def test_an_entry_whose_elements_send_the_body_elsewhere_is_never_taken() -> None:
    # Markup inside a text, an element the reading does not know below a known one, an
    # email (every entry's people are read again from the XML), an explicit flag: each
    # makes the body be read otherwise than entry by entry, so the screen never hides one.
    retire = RetireBefore(OLD + timedelta(days=400))
    extras = [
        "<description><p>markup</p></description>",
        "<media:group><media:content url='https://x.example/a.mp3'/><x:y xmlns:x='urn:y'/>"
        "</media:group>",
        "<author>editor@feeds.example (Ed)</author>",
        "<itunes:explicit>yes</itunes:explicit>",
    ]
    for extra in extras:
        body = rss(item(1, OLD, extra=extra), item(2, OLD))
        plain, _, _ = read(body, retire=retire, screen=False)
        screened, screening, _ = read(body, retire=retire, screen=True)
        assert same_read(plain, screened)
        assert screening is not None and "https://feeds.example/1" not in screening.taken, extra


def test_an_attribute_the_fast_path_declines_over_is_taken_with_its_entry() -> None:
    # Without a screen the whole body goes to feedparser; with one, the old entry is taken
    # unread and the rest read fast: the same reading.
    retire = RetireBefore(OLD + timedelta(days=400))
    olds = [
        item(1, OLD).replace("<title>Item 1</title>", '<title type="html">Item 1</title>'),
        item(1, OLD, extra='<category foo="bar">x</category>'),
    ]
    for old in olds:
        body = rss(old, item(2, OLD + timedelta(days=800)), item(3, OLD))
        plain, _, _ = read(body, retire=retire, screen=False)
        screened, screening, read_whole = read(body, retire=retire, screen=True)
        assert same_read(plain, screened)
        assert screening is not None and read_whole == 1
        assert screening.taken == ["https://feeds.example/1", "https://feeds.example/3"]


def test_an_impossible_date_or_no_link_or_no_category_is_read_whole() -> None:
    retire = RetireBefore(OLD + timedelta(days=400))
    impossible = item(1, OLD).replace("<pubDate>Sat, 01 Mar 2025", "<pubDate>Sun, 30 Feb 2025")
    # Its old dc:date dates it (the impossible pubDate is reported): retired, with the
    # warning, which only the whole reading gives.
    impossible = impossible.replace("</item>", "<dc:date>2025-03-01T00:00:00Z</dc:date></item>")
    linkless = item(2, OLD).replace("<link>https://feeds.example/2</link>", "")
    linkless = linkless.replace(
        "<guid>https://feeds.example/2</guid>", "<guid isPermaLink='false'>2</guid>"
    )
    body = rss(impossible, linkless, item(3, OLD))
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, read_whole = read(body, retire=retire, screen=True)
    assert same_read(plain, screened)
    assert screening is not None and screening.retired == ["https://feeds.example/3"]
    assert read_whole == 2
    # A source without a category drops every entry (none names one): the screen takes none.
    uncategorised = replace(FEED, category=None)
    plain, _, _ = read(body, uncategorised, retire=retire, screen=False)
    screened, screening, _ = read(body, uncategorised, retire=retire, screen=True)
    assert same_read(plain, screened) and screening is not None and screening.taken == []
    assert plain.articles == () and plain.retired == frozenset()


def test_an_entry_dated_by_feedparser_s_reading_alone_is_read_whole() -> None:
    # A head carries its dates as texts. A pubDate our reader cannot read (Greek names)
    # dates the entry by feedparser's reading of it: new, where the old dc:date alone
    # would have retired it. Its head is not enough, so it is read whole and kept.
    retire = RetireBefore(OLD + timedelta(days=3))
    greek = item(1, OLD).replace(
        "<pubDate>Sat, 01 Mar 2025 00:00:00 +0000", "<pubDate>Κυρ, 04 Ιαν 2026 16:29:06 EST"
    )
    greek = greek.replace("</item>", "<dc:date>2025-03-01T00:00:00Z</dc:date></item>")
    body = rss(greek, item(2, OLD))
    plain, _, _ = read(body, retire=retire, screen=False)
    screened, screening, read_whole = read(body, retire=retire, screen=True)
    assert same_read(plain, screened)
    assert [a.link for a in plain.articles] == ["https://feeds.example/1"]
    assert screening is not None and screening.taken == ["https://feeds.example/2"]
    assert read_whole == 1


def test_a_repeated_id_is_left_to_the_normaliser() -> None:
    # The first of two entries with one id is new (never shown to the screen: its date
    # alone rules it out), the second old: without a screen the normaliser keeps the first
    # and reports the second. The screen took the old one's id, so the normaliser refuses,
    # and the worker reads the body again, whole.
    new = item(1, OLD + timedelta(days=30), guid="https://feeds.example/same")
    old = item(2, OLD - timedelta(days=30), guid="https://feeds.example/same")
    body = rss(new, old)
    retire = RetireBefore(OLD)
    plain, _, _ = read(body, retire=retire, screen=False)
    assert len(plain.articles) == 1 and any("duplicate" in e for e in plain.errors)
    screening = Screening(FEED, NOW, retire, "", "")
    feed = parse_feed(body, url=URL, screen=screening)
    assert screening.retired == ["https://feeds.example/same"]
    with pytest.raises(ScreenClashError):
        normalise(feed, FEED, retire, "", screening)
    job = BodyJob(body, URL, {}, FEED, NOW, None, known="", retire=retire)
    digest = digest_body(job)
    assert digest.normalised is not None and same_read(plain, digest.normalised)


def test_dates_only_just_past_the_retiring_date_in_some_zone_are_decided_exactly() -> None:
    # The quick look reads dates as UTC, with a day's margin; the decision is the whole
    # reading's, in the source's zone.
    vienna = replace(FEED, timezone="Europe/Vienna")
    floor = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    texts = ["Sat, 01 Mar 2025 12:30:00", "Sat, 01 Mar 2025 13:30:00", "2025-03-01T12:59:00"]
    body = rss(
        *(
            item(n, OLD).replace("Sat, 01 Mar 2025 00:00:00 +0000", text)
            for n, text in enumerate(texts)
        )
    )
    for source in (FEED, vienna):
        plain, _, _ = read(body, source, retire=RetireBefore(floor), screen=False)
        screened, _, _ = read(body, source, retire=RetireBefore(floor), screen=True)
        assert same_read(plain, screened)


def test_held_entries_are_held_by_their_heads_and_read_again_only_when_kept() -> None:
    """A first read holds its dated entries by their heads, unread; those the run keeps are
    read again from the body (the others taken by their heads again) into the articles a
    whole reading gives, and what their preparing warns of (a title over its cap) is said
    then, as the whole reading said it."""
    long_title = "<title>" + "Lang " * (limits.TITLE // 4) + "</title>"
    entries = [item(n, OLD + timedelta(days=4 - n)) for n in range(4)]
    entries[1] = entries[1].replace("<title>Item 1</title>", long_title)
    body = rss(*entries)
    hold = RetireBefore(None, hold=True)
    plain, _, _ = read(body, retire=hold, screen=False)
    first, screening, read_whole = read(body, retire=hold, screen=True)
    assert screening is not None and read_whole == 0 and len(screening.held) == 4
    assert plain.held is not None and first.held is not None
    assert first.held.unread == first.held.keys == plain.held.keys
    assert first.errors == () and any("title" in line for line in plain.errors)
    job = BodyJob(body, URL, {}, FEED, NOW, None, known="")  # a read that remembers
    held = replace(first.held, reread=packed_for(job))
    kept = frozenset({"https://feeds.example/1", "https://feeds.example/3"})
    again = clean_entries(CleanJob(((FEED, held, kept),)))
    whole = clean_entries(CleanJob(((FEED, plain.held, kept),)))
    assert again.articles == whole.articles and again.articles is not None
    assert [a.entry_id for a in again.articles[0]] == sorted(kept)
    (kept_again,) = again.kept
    (warned,) = kept_again.warnings
    assert "title" in warned and warned in plain.errors
    # Remembered by what it holds, as the whole reading remembers it: the one not warned of.
    assert len(kept_again.entry_digests) == DIGEST_LENGTH
    # Kept none of those held by their heads: nothing is read again.
    assert clean_entries(CleanJob(((FEED, first.held, frozenset()),))).articles == ((),)
