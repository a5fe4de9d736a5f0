"""Finding 1 and 11 of issue 12: every field is capped at ingest, one entry or category
that cannot be rendered never stops the rest of the site, and warnings stay short.

Before the caps, a 12 MB item (under the default `max_body`), a 10 MB title or a 12 MB
local article made every later `update` fail in `publish/atom.py` with lxml's
"Text node too long", and 1,000 items sharing a guid made one 100 KB warning line.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from lxml import etree
from support.feedfactory import FeedItem, jsonfeed, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer
from support.namespaces import ATOM
from support.strategies import SETTINGS, raw_entries

from feeds.model import (
    Article,
    Author,
    Category,
    Enclosure,
    RawEntry,
    RawFeed,
    Source,
    SourceKind,
    article_id,
)
from feeds.normalise import limits
from feeds.normalise.article import entry_key, normalise_entry, normalise_feed
from feeds.normalise.authors import MAX_AUTHORS
from feeds.normalise.warnings import LINE_LIMIT, MAX_LINES, WarningTally, bounded
from feeds.publish import OutputLayout, Site
from feeds.publish.atom import render_atom
from feeds.publish.document import build_document
from feeds.store import ArticleStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="Example", kind=SourceKind.REMOTE, interval=timedelta(minutes=30),
    url="https://example.org/feed.xml", category="Technik",
)  # fmt: skip
FEED = RawFeed(entries=(), link="https://example.org/")
MB = 1024 * 1024


def _normalise(raw: RawEntry, tally: WarningTally) -> Article:
    return normalise_entry(
        raw, source=SOURCE, feed=FEED, now=NOW, first_seen=None, fallback_base=None, tally=tally
    )


def _item(n: int, **fields: object) -> FeedItem:
    values: dict[str, object] = {
        "id": f"urn:test:{n}",
        "title": f"Item {n}",
        "link": f"https://example.org/{n}",
        "html": f"<p>text {n}</p>",
        "published": datetime(2026, 11, 1, 8, n, tzinfo=UTC),
    }
    return FeedItem(**{**values, **fields})  # type: ignore[arg-type]


# -- caps at ingest, with plain values ---------------------------------------------------


def test_every_field_is_capped_and_each_cut_is_reported() -> None:
    tally = WarningTally()
    raw = RawEntry(
        entry_id="e1",
        title="T" * (limits.TITLE + 5),
        link="https://example.org/" + "l" * limits.LINK,
        summary_html="<p>" + "s " * limits.SUMMARY + "</p>",
        content_html="<div><p><b>" + "c" * (limits.CONTENT + 10),  # cut inside open tags
        authors=tuple(Author(f"author {i} " + "a" * limits.AUTHOR) for i in range(MAX_AUTHORS + 3)),
        tags=tuple(f"tag {i} " + "t" * limits.TAG for i in range(limits.MAX_TAGS + 7)),
        category="C" * (limits.CATEGORY + 1),
        language="x" * 100,
        enclosures=(
            Enclosure("https://example.org/" + "e" * limits.LINK, "audio/mpeg", 1),
            *(
                Enclosure(f"https://example.org/{i}.mp3", "audio/mpeg", 1)
                for i in range(limits.MAX_ENCLOSURES + 1)
            ),
        ),
    )
    article = _normalise(raw, tally)
    assert len(article.title) <= limits.TITLE
    assert article.link is None
    assert len(article.content) <= limits.CONTENT
    assert article.content.endswith("</b></p></div>")  # re-sanitised: well-formed
    etree.fromstring(f"<x>{article.content}</x>")
    assert len(article.authors) == MAX_AUTHORS
    assert all(len(a.name) <= limits.AUTHOR for a in article.authors)
    assert len(article.tags) == limits.MAX_TAGS
    assert all(len(t) <= limits.TAG for t in article.tags)
    assert article.categories == ("C" * limits.CATEGORY,)
    assert article.language is None
    # The count is cut to 20, and of those the one with the long URL is dropped.
    assert len(article.enclosures) == limits.MAX_ENCLOSURES - 1
    text = "\n".join(tally.lines())
    for said in (
        "title cut to 2,000 characters: 'e1' (2,005)",
        "link over 2,048 characters dropped",
        "summary cut to 10,000 characters",
        "content cut to 1,000,000 characters",
        f"authors beyond {MAX_AUTHORS} dropped",
        f"authors cut to 500 characters: 'e1' ({MAX_AUTHORS} of them)",
        "tags beyond 50 dropped",
        "tags cut to 200 characters: 'e1' (50 of them)",
        "category cut to 100 characters",
        "enclosures beyond 20 dropped: 'e1' (22)",
        "enclosure URL over 2,048 characters dropped",
    ):
        assert said in text, text


def test_cuts_fall_on_character_boundaries() -> None:
    tally = WarningTally()
    title = "ä" * (limits.TITLE - 1) + "😀😀"  # a cut through the emoji's UTF-8 bytes
    article = _normalise(RawEntry(entry_id="e", title=title), tally)
    assert article.title == "ä" * (limits.TITLE - 1) + "😀"
    article.title.encode("utf-8")


def test_long_ids_become_digests_and_stay_distinct_and_stable() -> None:
    long_a, long_b = "a" * 5000 + "1", "a" * 5000 + "2"
    key_a, key_b = entry_key(RawEntry(entry_id=long_a)), entry_key(RawEntry(entry_id=long_b))
    assert key_a.startswith("sha256:") and len(key_a) == 71
    assert key_a != key_b
    assert key_a == entry_key(RawEntry(entry_id=long_a))
    # A link used as the id is hashed the same way, and the link itself is dropped.
    link = "https://example.org/" + "p" * 3000
    tally = WarningTally()
    article = _normalise(RawEntry(entry_id=None, link=link, title="t"), tally)
    assert article.entry_id == entry_key(RawEntry(entry_id=None, link=link))
    assert article.link is None


# -- warnings: one line per kind ----------------------------------------------------------


def test_a_thousand_duplicate_ids_make_one_short_line() -> None:
    entries = tuple(RawEntry(entry_id="same-" + "g" * 200, title=f"t{i}") for i in range(1000))
    result = normalise_feed(
        RawFeed(entries=entries), source=SOURCE, now=NOW, first_seen={}, fallback_base=None
    )
    assert len(result.articles) == 1
    (line,) = result.errors
    assert line.startswith("duplicate entry id, kept the first: 999 times, e.g. ")
    assert len(line) <= LINE_LIMIT


def test_bounded_keeps_few_short_lines_and_counts_the_rest() -> None:
    lines = bounded(f"problem {i} " + "x" * 5000 for i in range(100))
    assert len(lines) == MAX_LINES + 1
    assert all(len(line) <= LINE_LIMIT for line in lines)
    assert lines[-1] == f"... and {100 - MAX_LINES} more warning(s)"


def test_json_feed_items_that_are_not_objects_make_one_warning(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    body = jsonfeed([_item(1)])
    body = body.replace(b'"items": [', b'"items": [' + b"1, " * 1000)
    url = feed_server.add("/feed.json", body, content_type="application/feed+json")
    config = _config(tmp_path, f'[[sources]]\nname = "json"\nurl = "{url}"\ncategory = "J"\n')
    result = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("  warning json")]
    assert "1000 item(s) not a JSON object, skipped: item 0 is a JSON number" in line
    assert len(line) < LINE_LIMIT


# -- the whole run ------------------------------------------------------------------------


def _config(tmp_path: Path, sources: str) -> Path:
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example.org/"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        '[fetch]\nparse_deadline = "300s"\ndeadline = "300s"\n' + sources,
        encoding="utf-8",
    )
    return config


def test_huge_entries_are_cut_and_every_category_is_published(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    big_text = "<p>" + "word " * (12 * MB // 5) + "</p>"
    big = feed_server.add("/big", rss20([_item(1, html=big_text), _item(2)]))
    title = feed_server.add("/title", rss20([_item(3, title="T" * (10 * MB)), _item(4)]))
    small = feed_server.add("/small", rss20([_item(5)]))
    articles = tmp_path / "articles"
    articles.mkdir()
    # A 12 MB article file is refused unread (over the 2 MiB a file may have); one of
    # 1.5 MB is read, and its text is cut to the content cap.
    for name, size in (("gross.txt", 12 * MB), ("lang.txt", 3 * MB // 2)):
        paragraph = "Satz " * (size // 5)
        (articles / name).write_text(
            f"Veröffentlichungsdatum: 01.11.2026 08:00 / Lokal\n\nGroß\nGroß\n\n{paragraph}\n",
            encoding="utf-8",
        )
    sources = "".join(
        f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "{name}"\n'
        for name, url in (("Big", big), ("Title", title), ("Small", small))
    )
    config = _config(tmp_path, sources + '[[sources]]\nname = "Lokal"\npath = "articles"\n')
    result = run_feeds("--config", str(config), "update", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "content cut to 1,000,000 characters: 'urn:test:1'" in result.stdout
    assert "title cut to 2,000 characters: 'urn:test:3' (10,485,760)" in result.stdout
    assert "articles/gross.txt: file is 12,582,975 bytes, over the 2 MiB limit" in result.stdout
    assert "content cut to 1,000,000 characters: articles/lang.txt" in result.stdout, result.stdout
    out = tmp_path / "out"
    for slug, ids in (("big", 2), ("title", 2), ("small", 1), ("lokal", 1), ("all", 6)):
        root = etree.parse(out / slug / "atom.xml").getroot()  # no huge_tree needed
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == ids, slug
    # The next run publishes again, and the stored rows are within the caps.
    assert run_feeds("--config", str(config), "publish", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "feeds.db") as db:
        longest = db.execute("SELECT max(length(title)), max(length(content)) FROM articles")
        title_length, content_length = longest.fetchone()
    assert title_length <= limits.TITLE
    assert content_length <= limits.CONTENT


def test_an_entry_that_cannot_be_rendered_is_left_out_and_reported(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # A store written before the caps holds an entry no renderer can take back (lxml
    # refuses text nodes over 10 MB): it is reported; the rest of its category and every
    # other category are published.
    small = feed_server.add("/small", rss20([_item(1)]))
    other = feed_server.add("/other", rss20([_item(2)]))
    config = _config(
        tmp_path,
        f'[[sources]]\nname = "Small"\nurl = "{small}"\ncategory = "Small"\n'
        f'[[sources]]\nname = "Other"\nurl = "{other}"\ncategory = "Other"\n',
    )
    assert run_feeds("--config", str(config), "update", cwd=tmp_path).returncode == 0
    store = ArticleStore.open(f"sqlite:///{tmp_path / 'var' / 'feeds.db'}")
    try:
        huge = Article(
            id=article_id("Small", "old-huge"), source="Small", entry_id="old-huge",
            title="huge", link="https://example.org/huge", summary="",
            content="<p>" + "x" * (11 * MB) + "</p>", authors=(), published=NOW, updated=NOW,
            categories=("Small",), language=None,
        )  # fmt: skip
        store.upsert_articles("Small", [huge], NOW)
    finally:
        store.close()
    result = run_feeds("--config", str(config), "publish", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "not published: small: entry 'old-huge' of 'Small' not published" in result.stdout
    assert "not published: all: entry 'old-huge'" in result.stdout
    for slug, ids in (("small", {"urn:test:1"}), ("other", {"urn:test:2"})):
        root = etree.parse(tmp_path / "out" / slug / "atom.xml").getroot()
        links = root.findall(f"{ATOM}entry/{ATOM}link")
        assert {link.get("href").rsplit("/", 1)[-1] for link in links} == {
            i.rsplit(":", 1)[-1] for i in ids
        }


def test_html_that_grows_when_sanitised_still_fits_the_cap() -> None:
    # Every `<b><i>` gains two closing tags and every `&` becomes `&amp;`: cut to the cap
    # and sanitised, both come out more than twice as long, and are cut again.
    for content in ("<b><i>" * 200_000, "<p>" + "&" * 300_000 + "<b>" * 300_000):
        article = _normalise(
            RawEntry(entry_id="e", title="t", content_html=content), WarningTally()
        )
        assert 0 < len(article.content) <= limits.CONTENT
        # Readers get it back out of the Atom feed whole (lxml without huge_tree).
        site = Site(OutputLayout(Path("/nonexistent"), "https://news.example.org/"), "feeds")
        atom = render_atom(build_document(Category.named("Technik"), [article], site))
        content = etree.fromstring(atom).find(f"{ATOM}entry/{ATOM}content")
        assert content is not None and content.text == article.content


def test_an_untitled_entry_named_by_a_long_id_gets_a_title_within_the_cap() -> None:
    raw = RawEntry(
        entry_id="i" * limits.ENTRY_ID,
        enclosures=(Enclosure("https://example.org/a.mp3", "audio/mpeg", 1),),
    )
    article = _normalise(raw, WarningTally())
    assert article.entry_id == "i" * limits.ENTRY_ID
    assert article.title == "i" * limits.TITLE


def _capped_alike(raw: RawEntry) -> None:
    key = entry_key(raw) or "k"
    quick, full = WarningTally(), WarningTally()
    assert limits.cap_entry(raw, key, "w", quick) == limits._capped(raw, key, "w", full)
    assert quick.lines() == full.lines()


def _at_and_over(limit: int) -> list[str | None]:
    return [None, "", "x" * limit, "x" * (limit + 1)]


def test_entries_at_and_over_each_cap_are_capped_alike() -> None:
    base = RawEntry(entry_id="e", title="t", link="https://example.org/")
    variants = [base, replace(base, entry_id=" e "), replace(base, entry_id=None)]
    for name, limit in (
        ("title", limits.TITLE), ("link", limits.LINK), ("summary_html", limits.SUMMARY),
        ("content_html", limits.CONTENT), ("base_url", limits.LINK),
        ("category", limits.CATEGORY), ("language", limits.LANGUAGE),
    ):  # fmt: skip
        variants += [replace(base, **{name: value}) for value in _at_and_over(limit)]
    for value in _at_and_over(limits.AUTHOR):
        variants.append(replace(base, authors=(Author(value or ""),)))
        variants.append(replace(base, authors=(Author("a", email=value),)))
    for value in _at_and_over(limits.LINK):
        variants.append(replace(base, authors=(Author("a", uri=value),)))
        variants.append(replace(base, enclosures=(Enclosure(value or ""),)))
    for value in _at_and_over(limits.MEDIA_TYPE):
        variants.append(replace(base, enclosures=(Enclosure("u", value),)))
    for value in _at_and_over(limits.TAG):
        variants.append(replace(base, tags=(value or "",)))
    for count in (MAX_AUTHORS, MAX_AUTHORS + 1):
        variants.append(replace(base, authors=(Author("a"),) * count))
    for count in (limits.MAX_TAGS, limits.MAX_TAGS + 1):
        variants.append(replace(base, tags=("t",) * count))
    for count in (limits.MAX_ENCLOSURES, limits.MAX_ENCLOSURES + 1):
        variants.append(replace(base, enclosures=(Enclosure("u"),) * count))
    for raw in variants:
        _capped_alike(raw)


@SETTINGS
@given(raw_entries())
def test_entries_are_capped_alike(raw: RawEntry) -> None:
    _capped_alike(raw)
