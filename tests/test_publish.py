"""Publish: rendering from plain Articles, validity of every format, atomic and minimal writes."""

from __future__ import annotations

import ctypes
import errno
import gzip
import io
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import brotli
import feedparser
import pytest
from lxml import etree
from support.conformance import assert_valid_atom, assert_valid_jsonfeed, assert_valid_rss
from support.namespaces import ATOM, XML_LANG

from feeds.model import Article, Author, Category, Enclosure, Origin, SourceKind, article_id
from feeds.publish import OutputLayout, files
from feeds.publish import site as site_module
from feeds.publish.atom import render_atom, source_block
from feeds.publish.document import ArchiveLinks, FeedDocument, Site, build_document
from feeds.publish.files import (
    StagedFiles,
    stage_changed,
    write_changed,
    write_if_changed,
    write_staged,
)
from feeds.publish.formats import FORMATS
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.rss import render_rss
from feeds.publish.site import publish_category, publish_site
from feeds.publish.variants import variants_current

BERLIN = timezone(timedelta(hours=2))


def make(
    entry_id: str,
    *,
    hours: int = 0,
    link: str | None = "https://example.org/p",
    enclosures: tuple[Enclosure, ...] = (),
    title: str = "Grüße & <Tags>",
    category: str = "Welt Nachrichten",
    authors: tuple[Author, ...] = (Author("Ada"),),
) -> Article:
    when = datetime(2025, 5, 10, 11, 33, tzinfo=BERLIN) - timedelta(hours=hours)
    return Article(
        id=article_id("src", entry_id), source="src", entry_id=entry_id, title=title, link=link,
        summary="Ein „Zitat“ <b>nicht fett</b>", content="<p>Inhalt „Zitat“</p>", authors=authors,
        published=when, updated=when, categories=(category,), language="de",
        enclosures=enclosures, tags=("Politik",),
    )  # fmt: skip


@pytest.fixture
def layout(tmp_path: Path) -> OutputLayout:
    return OutputLayout(tmp_path / "out", "http://localhost:8080/")


def site_of(layout: OutputLayout, **options: Any) -> Site:
    return Site(layout, "feeds", **options)


def doc_of(layout: OutputLayout, *articles: Article, **options: Any) -> FeedDocument:
    return build_document(
        Category.named("Welt Nachrichten"), list(articles), site_of(layout, **options)
    )


def test_a_documents_name_is_the_inverse_of_its_file_and_none_outside_the_folder(
    layout: OutputLayout, tmp_path: Path
) -> None:
    # Fragments are kept, archive pages forgotten and WebSub pings sent by these names.
    for kind in FORMATS:
        name = layout.feed_file("welt-nachrichten", kind)
        assert layout.document_name(layout.feed_path("welt-nachrichten", kind)) == name
    page = layout.archive_path("technik", 3)
    assert layout.document_name(page) == "technik/archive/3.xml"
    assert layout.archive_url("technik", 3) == layout.base_url + "technik/archive/3.xml"
    outside = tmp_path / "elsewhere" / "atom.xml"
    assert not outside.is_relative_to(layout.directory)
    assert layout.document_name(outside) is None
    assert layout.feed_urls([outside, page]) == []  # an archive page is no subscription


def test_all_three_formats_are_valid_and_newest_first(layout: OutputLayout) -> None:
    doc = doc_of(
        layout, make("old", hours=5), make("new"), make("mid", hours=1, link=None, authors=())
    )
    atom, rss, jsonfeed = render_atom(doc), render_rss(doc), render_json_feed(doc)
    assert_valid_atom(atom)
    assert_valid_rss(rss)
    assert_valid_jsonfeed(jsonfeed)
    for body in (atom, rss):
        parsed = feedparser.parse(io.BytesIO(body))
        assert [e.id for e in parsed.entries] == [
            article_id("src", x) for x in ("new", "mid", "old")
        ]
    items = json.loads(jsonfeed)["items"]
    assert [i["id"] for i in items] == [article_id("src", x) for x in ("new", "mid", "old")]


def test_atom_feed_metadata_comes_from_the_data(layout: OutputLayout) -> None:
    atom = render_atom(doc_of(layout, make("a"), make("b", hours=3)))
    root = etree.fromstring(atom)
    assert root.findtext(f"{ATOM}updated") == "2025-05-10T11:33:00+02:00"
    assert root.get(XML_LANG) == "de"
    self_links = [l.get("href") for l in root.findall(f"{ATOM}link") if l.get("rel") == "self"]
    assert self_links == ["http://localhost:8080/welt-nachrichten/atom.xml"]
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}published") == "2025-05-10T11:33:00+02:00"
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == [
        "Welt Nachrichten",
        "Politik",
    ]
    assert entry.find(f"{ATOM}summary").get("type") in (None, "text")
    assert entry.find(f"{ATOM}content").get("type") == "html"


def test_atom_keeps_enclosures_as_enclosures(layout: OutputLayout) -> None:
    """Golden test for feedgen's lost link attributes (its #135/#143)."""
    audio = Enclosure("https://example.org/ep.mp3", "audio/mpeg", 12345)
    atom = render_atom(doc_of(layout, make("pod", enclosures=(audio,))))
    assert_valid_atom(atom)
    links = etree.fromstring(atom).find(f"{ATOM}entry").findall(f"{ATOM}link")
    assert [dict(l.attrib) for l in links] == [
        {"href": "https://example.org/p", "rel": "alternate", "type": "text/html"},
        {
            "href": "https://example.org/ep.mp3",
            "rel": "enclosure",
            "type": "audio/mpeg",
            "length": "12345",
        },
    ]
    parsed = feedparser.parse(io.BytesIO(atom))
    assert parsed.entries[0].enclosures[0].href == "https://example.org/ep.mp3"
    rss = feedparser.parse(io.BytesIO(render_rss(doc_of(layout, make("pod", enclosures=(audio,))))))
    assert rss.entries[0].enclosures[0].length == "12345"


def test_text_stays_text_in_every_format(layout: OutputLayout) -> None:
    doc = doc_of(layout, make("a", title="<script>alert(1)</script> & Co"))
    for body in (render_atom(doc), render_rss(doc)):
        parsed = feedparser.parse(io.BytesIO(body))
        assert "<script>" not in parsed.entries[0].summary
    atom_entry = feedparser.parse(io.BytesIO(render_atom(doc))).entries[0]
    assert atom_entry.title == "<script>alert(1)</script> & Co"
    assert atom_entry.title_detail.type == "text/plain"
    # RSS <description> is HTML: the plain-text summary arrives escaped, as text.
    assert b"&amp;lt;b&amp;gt;nicht fett" in render_rss(doc)
    assert (
        json.loads(render_json_feed(doc))["items"][0]["title"] == "<script>alert(1)</script> & Co"
    )


def test_rendering_is_deterministic(layout: OutputLayout) -> None:
    doc = doc_of(layout, make("a"), make("b", hours=1))
    assert render_atom(doc) == render_atom(doc_of(layout, make("b", hours=1), make("a")))
    assert render_rss(doc) == render_rss(doc)
    assert render_json_feed(doc) == render_json_feed(doc)


def test_atom_is_indented_as_a_whole_indent_pass_would_and_keeps_every_text(
    layout: OutputLayout,
) -> None:
    # Texts with their own line breaks and edge spaces, two authors, an enclosure, a
    # language apart from the rest (xml:lang) and an archive page (fh:archive first):
    # every element the renderer adds is indented by pretty printing alone, and no text
    # of an entry gains or loses a character.
    audio = Enclosure("https://example.org/ep.mp3", "audio/mpeg", 1)
    spaced = make("a", title=" Zeile\n  zwei ", authors=(Author("Ada"), Author("Bo", "b@x.org")))
    spaced = replace(spaced, summary="\n  s  \n", content="\n<p>c</p>\n  ", enclosures=(audio,))
    english = replace(make("b", hours=1), language="en")
    for doc in (
        doc_of(layout, spaced, english),
        replace(doc_of(layout, spaced, english), archive=ArchiveLinks(page=1, next_page=2)),
    ):
        atom = render_atom(doc)
        root = etree.fromstring(atom)
        etree.indent(root, space="  ")
        assert atom == etree.tostring(
            root, xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        entry = etree.fromstring(atom).find(f"{ATOM}entry")
        assert entry is not None
        assert entry.findtext(f"{ATOM}title") == " Zeile\n  zwei "
        assert entry.findtext(f"{ATOM}summary") == "\n  s  \n"
        assert entry.findtext(f"{ATOM}content") == "\n<p>c</p>\n  "


def test_an_entry_s_source_says_its_own_document_s_date_as_written(
    layout: OutputLayout,
) -> None:
    # One source's newest entry is the same instant in two documents, written in other
    # offsets: each document's <source> says the date as its entry does.
    berlin = make("a")
    utc = replace(make("b"), published=berlin.published.astimezone(UTC))
    utc = replace(utc, updated=utc.published)
    assert berlin.updated == utc.updated
    for article in (berlin, utc, berlin):
        entry = etree.fromstring(render_atom(doc_of(layout, article))).find(f"{ATOM}entry")
        assert entry is not None
        said = entry.findtext(f"{ATOM}source/{ATOM}updated")
        assert said == article.updated.isoformat() == entry.findtext(f"{ATOM}updated")


def test_an_entry_s_source_keeps_every_character_of_its_origin(layout: OutputLayout) -> None:
    # The <source> element is written once per source and cut around its date: texts that
    # need escaping come out whole, and the document is indented as a whole would be.
    nasty = Origin(
        name="src", kind=SourceKind.REMOTE, title="A & B <\"C\"> 'd' Ü\n  e\tf",
        site_url='https://x.example/?a=1&b="2"<3>', feed_url="https://x.example/f?x=1&y=2",
    )  # fmt: skip
    for origin in (nasty, replace(nasty, site_url=None), replace(nasty, feed_url=None)):
        doc = doc_of(layout, make("a"), make("b", hours=1), origins={"src": origin})
        for page in (doc, replace(doc, archive=ArchiveLinks(page=1, next_page=2))):
            atom = render_atom(page)
            root = etree.fromstring(atom)
            etree.indent(root, space="  ")
            pretty = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
            assert atom == pretty
            for source in etree.fromstring(atom).iterfind(f"{ATOM}entry/{ATOM}source"):
                assert source.findtext(f"{ATOM}title") == origin.title
                assert source.findtext(f"{ATOM}id") == (origin.feed_url or origin.site_url)
                links = [link.get("href") for link in source.iterfind(f"{ATOM}link")]
                assert links == [u for u in (origin.site_url, origin.feed_url) if u]
                assert source.findtext(f"{ATOM}updated") == "2025-05-10T11:33:00+02:00"
    # A date text that would need escaping (no datetime writes one) is written whole.
    assert b"<updated>a&lt;b&amp;c</updated>\n    </source>\n" in source_block(nasty, "a<b&c")


def test_empty_category_is_still_a_valid_feed(layout: OutputLayout) -> None:
    doc = doc_of(layout)
    assert_valid_atom(render_atom(doc))
    assert_valid_rss(render_rss(doc))
    assert_valid_jsonfeed(render_json_feed(doc))


def test_publish_site_writes_the_layout_and_skips_unchanged(layout: OutputLayout) -> None:
    local = make("000_seed.txt", link=None)
    welt = (Category.named("Welt Nachrichten"), [local, make("b", hours=2)])
    tech = (Category.named("Technik"), [make("t", category="Technik")])
    everything = [local, make("b", hours=2), make("t", category="Technik")]
    first = publish_site([welt, tech], everything, site_of(layout))
    out = layout.directory
    expected = {
        "index.html", "feeds.opml",
        *(f"{slug}/{name}" for slug in ("welt-nachrichten", "technik", "all")
          for name in ("atom.xml", "rss.xml", "feed.json", "index.html")),
        layout.article_page(local), layout.source_page("src"),
    }  # fmt: skip
    assert {str(p.relative_to(out)) for p in first.written} == expected
    index = (out / "index.html").read_text()
    assert 'rel="alternate" type="application/atom+xml"' in index
    assert 'href="http://localhost:8080/welt-nachrichten/atom.xml"' in index
    page = (out / layout.article_page(local)).read_text()
    assert "<p>Inhalt „Zitat“</p>" in page and "Grüße &amp; &lt;Tags&gt;" in page
    opml = etree.fromstring((out / "feeds.opml").read_bytes())
    assert [o.get("xmlUrl") for o in opml.iter("outline")] == [
        "http://localhost:8080/welt-nachrichten/atom.xml", "http://localhost:8080/technik/atom.xml",
    ]  # fmt: skip
    mtimes = {p: p.stat().st_mtime_ns for p in first.written}
    second = publish_site([welt, tech], everything, site_of(layout))
    assert second.written == ()
    assert second.unchanged == len(expected)
    assert {p: p.stat().st_mtime_ns for p in first.written} == mtimes


def test_publish_category_rewrites_only_what_changed(layout: OutputLayout) -> None:
    category = Category.named("Welt Nachrichten")
    publish_category(category, [make("a")], site_of(layout))
    result = publish_category(category, [make("a"), make("b", hours=1)], site_of(layout))
    assert {p.name for p in result.written} == {"atom.xml", "rss.xml", "feed.json", "index.html"}


def test_write_if_changed_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "feed.xml"
    assert write_if_changed(target, b"one")
    assert not write_if_changed(target, b"one")
    assert write_if_changed(target, b"two")
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in target.parent.iterdir()] == ["feed.xml"]  # no temp files left


def test_disk_full_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permissions and this machine has no small filesystem to fill, so the
    # disk-full error is injected where the OS would raise it.
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_if_changed(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]


def test_a_staged_batch_is_compressed_ahead_and_written_only_when_asked(tmp_path: Path) -> None:
    # A publish stages a batch (its variants compressing) while earlier batches are still
    # being written: staging must leave the folder as it is, and leave out what holds.
    kept, changed = tmp_path / "a" / "atom.xml", tmp_path / "b" / "atom.xml"
    assert write_changed({kept: b"k" * 2000, changed: b"old " * 500}) == [kept, changed]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    staged = stage_changed({kept: b"k" * 2000, changed: b"new " * 500})
    assert [path for path, _, _ in staged.files] == [changed]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert write_staged(staged) == [changed]
    assert changed.read_bytes() == b"new " * 500
    assert gzip.decompress(changed.with_name("atom.xml.gz").read_bytes()) == b"new " * 500
    assert brotli.decompress(changed.with_name("atom.xml.br").read_bytes()) == b"new " * 500
    assert kept.read_bytes() == b"k" * 2000


def test_variants_remade_for_a_file_changed_by_another_hand_are_never_paired_with_it(
    tmp_path: Path,
) -> None:
    # Staged (its variants missing, the file as wanted), then overwritten by someone else
    # before the batch is written: the variants made from our bytes must not carry the new
    # file's mtime, or servers would send them as that file compressed.
    feed = tmp_path / "atom.xml"
    ours, theirs = b"<feed>ours</feed> " * 200, b"<feed>theirs</feed>" * 200
    write_changed({feed: ours})
    feed.with_name("atom.xml.br").unlink()
    staged = stage_changed({feed: ours})
    assert [(path, held is not None) for path, _, held in staged.files] == [(feed, True)]
    feed.write_bytes(theirs)
    os.utime(feed, ns=(10**18, 10**18))  # another mtime, whatever the clock's resolution
    assert write_staged(staged) == []
    assert feed.read_bytes() == theirs
    assert not variants_current(feed)  # so the next publish writes ours and its variants
    assert write_changed({feed: ours}) == [feed]
    assert variants_current(feed)
    assert gzip.decompress(feed.with_name("atom.xml.gz").read_bytes()) == ours


def test_a_batch_is_made_durable_at_once_or_leaves_every_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {tmp_path / "a" / "atom.xml": b"a" * 2000, tmp_path / "b" / "feed.json": b"b" * 2000}
    assert write_changed(old) == list(old)
    synced: list[int] = []

    def failing(fd: int) -> int:  # what syncfs does when writeback failed
        synced.append(fd)
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(files, "_syncfs", lambda: failing)
    with pytest.raises(OSError, match="Input/output error"):
        write_changed({path: b"new " * 1000 for path in old})
    assert len(synced) == 1  # one flush for the batch (two files and their variants)
    for path, data in old.items():
        assert path.read_bytes() == data
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(
            [path.name, path.name + ".br", path.name + ".gz"]
        )  # the old variants, and no temporary file


def test_a_failed_batch_stops_the_publish_before_any_later_batch(
    layout: OutputLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches are written in a thread while the next is rendered: a write that fails must
    # still fail the publish, and nothing after it may be written.
    welt = (Category.named("Welt Nachrichten"), [make("a")])
    tech = (Category.named("Technik"), [make("t", category="Technik")])
    batches: list[list[str]] = []

    def failing(staged: StagedFiles) -> list[Path]:
        batches.append(sorted(path.parent.name for path, _, _ in staged.files))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(site_module, "write_staged", failing)
    with pytest.raises(OSError, match="No space left"):
        publish_site([welt, tech], [make("a"), make("t", category="Technik")], site_of(layout))
    assert batches == [["welt-nachrichten"] * 4]  # the first category only: no later batch
    assert not layout.directory.exists() or not any(layout.directory.rglob("*.xml"))


def test_feed_updated_is_never_the_build_time(layout: OutputLayout) -> None:
    before = datetime.now(UTC)
    root = etree.fromstring(render_atom(doc_of(layout)))
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated")) < before


def test_publish_site_renders_only_the_changed_categories(layout: OutputLayout) -> None:
    welt = (Category.named("Welt Nachrichten"), [make("a")])
    tech = (Category.named("Technik"), [make("t", category="Technik")])
    publish_site([welt, tech], [make("a"), make("t", category="Technik")], site_of(layout))
    (layout.directory / "technik" / "atom.xml").unlink()  # would come back if re-rendered
    welt = (Category.named("Welt Nachrichten"), [make("a"), make("b", hours=1)])
    everything = [make("a"), make("b", hours=1), make("t", category="Technik")]
    result = publish_site([welt, tech], everything, site_of(layout), render={"welt-nachrichten"})
    written = {str(p.relative_to(layout.directory)) for p in result.written}
    assert "welt-nachrichten/atom.xml" in written and "all/atom.xml" in written
    assert not any(p.startswith("technik/") for p in written)
    assert not (layout.directory / "technik" / "atom.xml").exists()


def test_feed_urls_of_written_files(layout: OutputLayout) -> None:
    paths = [
        layout.directory / "technik" / "atom.xml",
        layout.directory / "technik" / "index.html",
        layout.directory / "all" / "feed.json",
        layout.directory / "feeds.opml",
    ]
    assert layout.feed_urls(paths) == [
        "http://localhost:8080/technik/atom.xml",
        "http://localhost:8080/all/feed.json",
    ]


def test_stale_temp_files_are_swept(tmp_path: Path) -> None:
    import time

    from feeds.publish.files import sweep_temp_files

    old = tmp_path / "technik" / ".atom.xml.feeds-abc12345.tmp"
    old.parent.mkdir()
    old.write_bytes(b"half")
    fresh = tmp_path / ".index.html.feeds-def45678.tmp"
    fresh.write_bytes(b"being written")
    keep = tmp_path / "technik" / "atom.xml"
    keep.write_bytes(b"<feed/>")
    hour_ago = time.time() - 7200
    os.utime(old, (hour_ago, hour_ago))
    assert sweep_temp_files(tmp_path) == 1
    assert not old.exists() and fresh.exists() and keep.exists()
    assert sweep_temp_files(tmp_path / "not-yet-published") == 0  # no output folder yet
