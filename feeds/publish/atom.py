"""Atom 1.0 output through feedgen, with its entry-link defect repaired and each entry's
`<source>` (RFC 4287 4.2.11) and language added."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import PROJECT_URL, __version__
from feeds.model import Article, Author, Origin
from feeds.publish.document import FeedDocument, feedgen_categories, written_time
from feeds.publish.fragments import split_entries

ATOM_NS = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
ENTRY = b"  <entry"  # how an entry's line starts in the indented document
ENTRY_END = b"  </entry>\n"  # how it ends
# Sources whose `<source>` element is kept (cut around its date), a few hundred bytes each:
# every source of a big site.
SOURCE_BLOCKS = 8192
CLOSING = b"</feed>\n"  # what follows the last entry


def _entry_links(doc: FeedDocument, articles: Sequence[Article]) -> list[list[dict[str, str]]]:
    links: list[list[dict[str, str]]] = []
    for article in articles:
        entry = [{"href": doc.layout.article_url(article), "rel": "alternate", "type": "text/html"}]
        for enclosure in article.enclosures:
            # The type always, as in RSS and JSON Feed: podcast apps pick files by it.
            link = {
                "href": enclosure.url,
                "rel": "enclosure",
                "type": enclosure.media_type or "application/octet-stream",
            }
            if enclosure.length:
                link["length"] = str(enclosure.length)
            entry.append(link)
        links.append(entry)
    return links


def render_atom(doc: FeedDocument) -> bytes:
    """The category as an RFC 4287 document, newest entry first.

    Its head is rendered each time. Each entry is its fragment, its `<source>` and its
    end: the fragment is rendered once for as long as the article and what the document
    says of its source stay the same (`feeds.publish.fragments`), and once for the
    category's feed and its archive pages; the `<source>`, which says when the source last
    changed in this document, once per source and document."""
    mixed = doc.language is None
    credit = doc.credit_context(lambda source: mixed)

    def context(article: Article) -> object:
        return (doc.layout.article_url(article), credit(article))

    def entries(articles: Sequence[Article]) -> list[bytes]:
        _, written = split_entries(_render(doc, articles), ENTRY, CLOSING)
        return [_without_end(entry) for entry in written]

    head, _ = split_entries(_render(doc, ()), ENTRY, CLOSING)
    bodies = doc.entry_fragments("atom", context, entries, family="atom")
    source = _SourceBlocks(doc)
    parts = (body + source.of(a) + ENTRY_END for a, body in zip(doc.articles, bodies, strict=True))
    return b"".join((head, *parts, CLOSING))


def _without_end(entry: bytes) -> bytes:
    if not entry.endswith(ENTRY_END):
        raise ValueError(f"an Atom entry that does not end with {ENTRY_END!r}")
    return entry[: -len(ENTRY_END)]


class _SourceBlocks:
    """Each source's `<source>` element in one document (see `source_block`), looked up
    once per source."""

    def __init__(self, doc: FeedDocument) -> None:
        self._doc = doc
        self._updated = doc.sources_updated()
        self._found: dict[tuple[str, bool], bytes] = {}

    def of(self, article: Article) -> bytes:
        key = (article.source, article.link is None)  # all that `doc.origin` reads
        block = self._found.get(key)
        if block is None:
            origin = self._doc.origin(article)
            updated = written_time(self._updated[article.source]).isoformat()
            block = self._found[key] = source_block(origin, updated)
        return block


def source_block(origin: Origin, updated: str) -> bytes:
    """An entry's `<source>` element as pretty printing writes it as an entry's child,
    for every entry from `origin` in documents that say it last changed at `updated` (as
    written: equal datetimes in other offsets are other text).

    A date as `isoformat` writes it needs no escaping: it goes between the two halves of
    the element rendered once per source (`_source_halves`); any other text is rendered
    whole."""
    shown = _Shown(origin.title, origin.site_url, origin.feed_url)
    if not _PLAIN_DATE.fullmatch(updated):
        return _in_entry(_source(shown, updated))
    before, after = _source_halves(shown)
    return before + updated.encode("ascii") + after


_PLAIN_DATE = re.compile(r"[0-9A-Za-z:.+-]*")  # written as it is in XML text
_DATE_MARK = "DATE"
_MARKED_DATE = f"<updated>{_DATE_MARK}</updated>".encode("ascii")


class _Shown(NamedTuple):
    """What an entry's `<source>` shows of its origin (not its health, which moves)."""

    title: str
    site_url: str | None
    feed_url: str | None


@lru_cache(maxsize=SOURCE_BLOCKS)
def _source_halves(shown: _Shown) -> tuple[bytes, bytes]:
    """A `<source>` element written with a mark for its date, cut around the mark: the
    last `<updated>` (texts before it are escaped, so none holds the tag)."""
    before, mark, after = _in_entry(_source(shown, _DATE_MARK)).rpartition(_MARKED_DATE)
    assert mark, "the date's element is the source's last"
    return before + b"<updated>", b"</updated>" + after


def _in_entry(element: Any) -> bytes:
    """`element` as pretty printing writes it as a child of an entry of the feed."""
    feed = etree.Element("feed")
    etree.SubElement(feed, "entry").append(element)
    text: bytes = etree.tostring(feed, encoding="UTF-8", pretty_print=True)
    start = text.index(b"\n", text.index(b"<entry>")) + 1
    return text[start : text.rindex(ENTRY_END)]


def _render(doc: FeedDocument, articles: Sequence[Article]) -> bytes:
    """The document with only `articles` as entries, written as the whole `doc` would
    write them (its language), but for their `<source>` (see `render_atom`)."""
    links = _entry_links(doc, articles)
    fg = FeedGenerator()
    fg.id(doc.url("atom"))
    fg.title(doc.title)
    fg.subtitle(doc.description)
    fg.updated(written_time(doc.updated))
    # No feed-level author: entries would inherit the site's name; each entry has its own.
    fg.link(href=doc.self_url, rel="self", type="application/atom+xml")
    fg.link(href=doc.url("html"), rel="alternate", type="text/html")
    if doc.site.hub:
        fg.link(href=doc.site.hub, rel="hub")
    archive, slug = doc.archive, doc.category.slug
    if archive.page is not None:
        fg.link(href=doc.url("atom"), rel="current", type="application/atom+xml")
    if archive.prev_page is not None:
        fg.link(href=doc.layout.archive_url(slug, archive.prev_page), rel="prev-archive")
    if archive.next_page is not None:
        fg.link(href=doc.layout.archive_url(slug, archive.next_page), rel="next-archive")
    fg.generator("feeds", version=__version__, uri=PROJECT_URL)
    if doc.language:
        fg.language(doc.language)
    for article, entry_links in zip(articles, links, strict=True):
        fe = fg.add_entry(order="append")
        fe.id(article.id)
        fe.title(article.title)
        fe.updated(written_time(article.updated))
        fe.published(written_time(article.published))
        for author in doc.authors(article):
            fe.author(_person(author))
        fe.link(entry_links)
        if article.summary:
            fe.summary(article.summary)
        fe.content(article.content, type="html")
        if names := feedgen_categories(article):
            fe.category(names)
    # feedgen's tree itself, not its text parsed again (a parse costs twice the writing):
    # atom_str writes this tree. Its elements carry no namespace; the root's `xmlns`
    # attribute puts them all in Atom's as written (feedgen is pinned below 2; the golden
    # test in tests/test_publish.py holds the bytes).
    root, _ = fg._create_atom()
    return _repair(root, doc, articles, links)


def _person(author: Author) -> dict[str, str]:
    person = {"name": author.name}
    if author.email:
        person["email"] = author.email
    if author.uri:
        person["uri"] = author.uri
    return person


def _repair(
    root: Any,
    doc: FeedDocument,
    articles: Sequence[Article],
    links: list[list[dict[str, str]]],
) -> bytes:
    # feedgen 1.0 writes entry links with `href` only (its #135/#143): enclosures would
    # become a second alternate link. Its links come out in the order given, so set the
    # attributes back by position. It has no entry languages: they are added here.
    entries = root.findall("entry")
    # Entries state their language when the feed cannot (they do not share one).
    mixed = doc.language is None
    for entry, wanted, article in zip(entries, links, articles, strict=True):
        written = entry.findall("link")
        for element, attributes in zip(written, wanted, strict=True):
            _set_attributes(element, attributes)
        if mixed and article.language:
            entry.set(XML_LANG, article.language)
    if doc.archive.page is not None:  # RFC 5005: an archive page, complete and stable
        root.insert(0, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))
    # feedgen's tree holds no whitespace text, so pretty printing alone indents it all, the
    # elements added here too (no `etree.indent` pass over the whole tree first).
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _source(shown: _Shown, updated: str) -> Any:
    """The entry's source feed: its id (the feed URL), title, site, self link, and when it
    last changed (its newest entry here)."""
    source = etree.Element("source")
    identity = shown.feed_url or shown.site_url
    if identity:
        etree.SubElement(source, "id").text = identity
    etree.SubElement(source, "title").text = shown.title
    if shown.site_url:
        etree.SubElement(source, "link", rel="alternate", href=shown.site_url)
    if shown.feed_url:
        etree.SubElement(source, "link", rel="self", href=shown.feed_url)
    etree.SubElement(source, "updated").text = updated
    return source


def _set_attributes(element: Any, attributes: dict[str, str]) -> None:
    element.attrib.clear()
    for name, value in attributes.items():
        element.set(name, value)
