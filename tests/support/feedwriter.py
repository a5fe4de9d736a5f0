"""The one feed writer of the tests: every format from one description of a feed.

A `Feed` (with its `Entry`s) says what a document carries; `document(format, feed)` writes it
as RSS 0.90, 0.91-0.94, 2.0 (plain, with namespaces, as a podcast), RSS 1.0 (RDF), Atom 0.3,
Atom 1.0 or CDF text, `encode` puts a prolog on it and encodes it, and `json_feed` writes JSON
Feed 1.0 or 1.1. `feedfactory`, `wildcorpus` and `subscriber_corpus` describe their feeds
this way; each format's rules (which element a value goes in, how a date is written) live
only here.

What the wild corpus needs to write oddly is said in the description, not by another writer:

* a `Raw` text is written as it is (entity and character references, CDATA, markup), any
  other text is escaped;
* a date is a `datetime` (written as the format writes dates) or a string (written as it is);
* `Feed.base` and `Entry.base` are ``xml:base``, `Feed.doctype` goes before the root,
  `Feed.declare` declares namespaces the document does not use;
* prologs, byte order marks, declared-but-wrong encodings and broken markup are done to the
  text or bytes afterwards (see `wildcorpus.encode_xml` and `wildcorpus.break_text`).

The layout is lxml's pretty print: two spaces per level, an element with text on one line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from support.namespaces import (
    NS_ATOM,
    NS_ATOM03,
    NS_CONTENT,
    NS_DC,
    NS_ITUNES,
    NS_RDF,
    NS_RSS090,
    NS_RSS10,
    NS_XHTML,
)

# The prefixes a document may use, and their namespaces.
PREFIXES = {"content": NS_CONTENT, "dc": NS_DC, "itunes": NS_ITUNES, "rdf": NS_RDF}

# RSS dialects: their version attribute (None: no attribute) and default namespace.
RSS_VERSIONS: dict[str, tuple[str | None, str | None]] = {
    "rss091": ("0.91", None),
    "rss092": ("0.92", None),
    "rss093": ("0.93", None),
    "rss094": ("0.94", None),
    "rss20": ("2.0", None),
    "rss20-userland": ("2.0", "http://backend.userland.com/rss2"),
    "rss20-harvard": ("2.0", "http://blogs.law.harvard.edu/tech/rss"),
    "rss-noversion": (None, None),
}
XML_FORMATS = (*RSS_VERSIONS, "rss090", "rss10", "atom03", "atom10", "cdf")

# --- dates --------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"feed dates must be timezone-aware, got {value!r}")
    return value


def rfc822(value: datetime) -> str:
    """RFC 822 / RFC 2822 date as RSS 2.0 writes it: ``Wed, 01 May 2024 08:30:00 +0000``."""
    return format_datetime(_aware(value))


def rfc3339(value: datetime) -> str:
    """RFC 3339 (also W3CDTF) date: ``2024-05-01T08:30:00Z`` or with a numeric offset."""
    text = _aware(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


When = datetime | str  # a str is written as it is


def _date(value: When, style: str = "rfc3339") -> str:
    if isinstance(value, str):
        return value
    return rfc822(value) if style == "rfc822" else rfc3339(value)


# --- XML text -----------------------------------------------------------------------------


class Raw(str):
    """Text written into the document as it is: markup, entity references, CDATA."""


def xml_text(text: str) -> str:
    """`text` escaped for element content (as lxml escapes it)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;")


def xml_attr(text: str) -> str:
    """`text` escaped for a double-quoted attribute value (as lxml escapes it)."""
    escaped = xml_text(text).replace('"', "&quot;")
    return escaped.replace("\n", "&#10;").replace("\t", "&#9;")


def cdata(text: str) -> Raw:
    """`text` as a CDATA section (a ``]]>`` inside split across two)."""
    return Raw("<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>")


def prolog(encoding: str | None) -> str:
    """The XML declaration, naming `encoding` if given."""
    if encoding is None:
        return '<?xml version="1.0"?>\n'
    return f'<?xml version="1.0" encoding="{encoding}"?>\n'


def encode(text: str, encoding: str = "utf-8") -> bytes:
    """`text` with a prolog declaring `encoding`, encoded so.

    Characters the encoding lacks become numeric character references; ``utf-16`` gets a
    byte order mark.
    """
    return (prolog(encoding) + text).encode(encoding, errors="xmlcharrefreplace")


@dataclass
class _Node:
    name: str
    attrs: list[tuple[str, str | None]] = field(default_factory=list)  # None: not written
    text: str | None = None
    children: list[_Node] = field(default_factory=list)

    def add(
        self, name: str, text: str | None = None, attrs: Sequence[tuple[str, str | None]] = ()
    ) -> _Node:
        child = _Node(name, list(attrs), text)
        self.children.append(child)
        return child

    def write(self, lines: list[str], depth: int) -> None:
        attrs = "".join(f' {k}="{xml_attr(v)}"' for k, v in self.attrs if v is not None)
        pad = "  " * depth
        if self.children:
            lines.append(f"{pad}<{self.name}{attrs}>")
            for child in self.children:
                child.write(lines, depth + 1)
            lines.append(f"{pad}</{self.name}>")
        elif self.text is None:
            lines.append(f"{pad}<{self.name}{attrs}/>")
        else:
            text = self.text if isinstance(self.text, Raw) else xml_text(self.text)
            lines.append(f"{pad}<{self.name}{attrs}>{text}</{self.name}>")

    def prefixes(self) -> list[str]:
        """Namespace prefixes used in this subtree, in order of first use."""
        found = [n.split(":")[0] for n in (self.name, *(k for k, _ in self.attrs)) if ":" in n]
        for child in self.children:
            found += child.prefixes()
        return list(dict.fromkeys(p for p in found if p in PREFIXES))


def _serialise(root: _Node, default_ns: str | None, declare: Sequence[str], doctype: str) -> str:
    used = root.prefixes()
    names = list(dict.fromkeys([*declare, *used]))
    namespaces = [("xmlns", default_ns)] if default_ns else []
    namespaces += [(f"xmlns:{p}", PREFIXES[p]) for p in names]
    root.attrs = namespaces + root.attrs
    lines: list[str] = []
    root.write(lines, 0)
    return doctype + "\n".join(lines) + "\n"


# --- the description ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """An author: Atom ``author`` (name, email, uri), JSON Feed author (name, url)."""

    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Link:
    """An Atom link."""

    href: str
    rel: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str
    length: int


@dataclass(frozen=True)
class Episode:
    """The iTunes tags of a podcast episode."""

    duration: str  # as written: "HH:MM:SS" or seconds
    image: str
    explicit: bool
    episode: int
    episode_type: str | None = None


@dataclass(frozen=True)
class Show:
    """The iTunes tags of a podcast channel."""

    author: str
    owner: str
    owner_email: str
    image: str
    category: str
    kind: str = "episodic"


@dataclass(frozen=True)
class Entry:
    """One entry, in the terms every format shares.

    Where each value goes: `id` is the RSS ``guid`` (`permalink` its ``isPermaLink``: None
    writes no attribute), the RDF ``rdf:about``, the Atom and JSON ``id``. `summary` is the
    RSS/RDF ``description``, the Atom ``summary``, the CDF ``ABSTRACT``; `content` is
    ``content:encoded``, the Atom ``content`` of `content_type` (``"html"`` or ``"xhtml"``:
    markup put in an XHTML ``div``), JSON ``content_html``; `text` is plain-text content
    (Atom ``content type="text"`` when there is no `content`, JSON ``content_text``).
    `published` is ``pubDate`` (RSS 2.0; ``dc:date`` carries `updated` when only it is
    given), ``dc:date`` (RDF, else `updated`), ``published``/``issued``, ``LASTMOD``;
    `updated` is ``updated``/``modified``. `authors` are ``dc:creator`` in RSS; `rss_author`
    is the RSS ``author`` element as written, `itunes_author` the ``itunes:author``.
    `links` replace the one Atom link made of `link`.
    """

    id: str | int | None = None
    permalink: bool | None = False
    title: str | None = None
    title_type: str | None = None  # Atom: "text", "html", "xhtml"
    link: str | None = None
    links: tuple[Link, ...] | None = None
    base: str | None = None
    published: When | None = None
    updated: When | None = None
    summary: str | None = None
    summary_type: str | None = None  # Atom
    content: str | None = None
    content_type: str = "html"
    text: str | None = None
    authors: tuple[Person, ...] = ()
    rss_author: str | None = None
    itunes_author: str | None = None
    tags: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    episode: Episode | None = None
    language: str | None = None  # JSON Feed only


@dataclass(frozen=True)
class Feed:
    """A feed: its own values and its entries (see `Entry` for where each value goes)."""

    title: str
    link: str | None = None
    description: str | None = None  # RSS description, Atom subtitle, CDF ABSTRACT
    language: str | None = None
    id: str | None = None  # Atom 1.0
    updated: When | None = None  # Atom updated / modified, CDF LASTMOD
    authors: tuple[Person, ...] = ()
    base: str | None = None  # xml:base of the Atom feed or the RSS channel
    doctype: str = ""
    declare: tuple[str, ...] = ()  # prefixes declared whether used or not
    feed_url: str | None = None  # JSON Feed
    show: Show | None = None
    entries: tuple[Entry, ...] = ()


# --- RSS ----------------------------------------------------------------------------------


def _rss(version: str | None, default_ns: str | None, feed: Feed) -> str:
    root = _Node("rss", [("version", version)] if version else [])
    channel = root.add("channel", None, [("xml:base", feed.base)])
    channel.add("title", feed.title)
    if feed.link is not None:
        channel.add("link", feed.link)
    if feed.description is not None:
        channel.add("description", feed.description)
    if feed.language:
        channel.add("language", feed.language)
    if feed.show is not None:
        show = feed.show
        channel.add("itunes:author", show.author)
        owner = channel.add("itunes:owner")
        owner.add("itunes:name", show.owner)
        owner.add("itunes:email", show.owner_email)
        channel.add("itunes:image", None, [("href", show.image)])
        channel.add("itunes:category", None, [("text", show.category)])
        channel.add("itunes:explicit", "false")
        channel.add("itunes:type", show.kind)
    for entry in feed.entries:
        if version == "0.91":  # its items have nothing else
            entry = Entry(title=entry.title, link=entry.link, summary=entry.summary)
        item = channel.add("item", None, [("xml:base", entry.base)])
        if entry.title is not None:
            item.add("title", entry.title)
        if entry.link is not None:
            item.add("link", entry.link)
        if entry.id is not None:
            permalink = None if entry.permalink is None else str(entry.permalink).lower()
            item.add("guid", str(entry.id), [("isPermaLink", permalink)])
        if entry.summary is not None:
            item.add("description", entry.summary)
        if entry.content is not None:
            item.add("content:encoded", entry.content)
        if entry.published is not None:
            item.add("pubDate", _date(entry.published, "rfc822"))
        elif entry.updated is not None:
            item.add("dc:date", _date(entry.updated))
        if entry.rss_author is not None:
            item.add("author", entry.rss_author)
        for person in entry.authors:
            item.add("dc:creator", person.name)
        if entry.itunes_author is not None:
            item.add("itunes:author", entry.itunes_author)
        for tag in entry.tags:
            item.add("category", tag)
        for enclosure in entry.enclosures:
            attrs = [("url", enclosure.url), ("type", enclosure.type)]
            item.add("enclosure", None, [*attrs, ("length", str(enclosure.length))])
        if entry.episode is not None:
            episode = entry.episode
            item.add("itunes:duration", episode.duration)
            item.add("itunes:image", None, [("href", episode.image)])
            item.add("itunes:explicit", str(episode.explicit).lower())
            item.add("itunes:episode", str(episode.episode))
            if episode.episode_type is not None:
                item.add("itunes:episodeType", episode.episode_type)
    return _serialise(root, default_ns, feed.declare, feed.doctype)


def _rdf(feed: Feed) -> str:
    root = _Node("rdf:RDF")
    channel = root.add("channel", None, [("rdf:about", feed.link)])
    channel.add("title", feed.title)
    channel.add("link", feed.link)
    channel.add("description", feed.description)
    if feed.language:
        channel.add("dc:language", feed.language)
    sequence = channel.add("items").add("rdf:Seq")
    for entry in feed.entries:
        sequence.add("rdf:li", None, [("rdf:resource", str(entry.id or ""))])
    for entry in feed.entries:
        item = root.add("item", None, [("rdf:about", str(entry.id or ""))])
        if entry.title is not None:
            item.add("title", entry.title)
        if entry.link is not None:
            item.add("link", entry.link)
        if entry.summary is not None:
            item.add("description", entry.summary)
        if entry.content is not None:
            item.add("content:encoded", entry.content)
        date = entry.published or entry.updated
        if date is not None:
            item.add("dc:date", _date(date))
        for person in entry.authors:
            item.add("dc:creator", person.name)
        for tag in entry.tags:
            item.add("dc:subject", tag)
    return _serialise(root, NS_RSS10, ("rdf", *feed.declare), feed.doctype)


def _rss090(feed: Feed) -> str:
    root = _Node("rdf:RDF")
    channel = root.add("channel")
    channel.add("title", feed.title)
    channel.add("link", feed.link)
    channel.add("description", feed.description)
    for entry in feed.entries:
        item = root.add("item")
        if entry.title is not None:
            item.add("title", entry.title)
        item.add("link", entry.link or "")
    return _serialise(root, NS_RSS090, ("rdf",), feed.doctype)


# --- Atom ---------------------------------------------------------------------------------


def _xhtml(markup: str) -> Raw:
    return Raw(f'<div xmlns="{NS_XHTML}">{markup}</div>')


def _person(parent: _Node, person: Person) -> None:
    author = parent.add("author")
    author.add("name", person.name)
    if person.email:
        author.add("email", person.email)
    if person.uri:
        author.add("uri", person.uri)


def _enclosure_links(parent: _Node, entry: Entry) -> None:
    for enclosure in entry.enclosures:
        attrs = [("rel", "enclosure"), ("href", enclosure.url), ("type", enclosure.type)]
        parent.add("link", None, [*attrs, ("length", str(enclosure.length))])


def _links(parent: _Node, entry: Entry, alternate: Link | None) -> None:
    links = entry.links if entry.links is not None else (alternate,) if alternate else ()
    for link in links:
        parent.add("link", None, [("rel", link.rel), ("type", link.type), ("href", link.href)])


# Atom 0.3 names a content type by media type, and how it is written by its mode.
_ATOM03_TYPES = {
    "text": [("type", "text/plain")],
    "html": [("type", "text/html"), ("mode", "escaped")],
    "xhtml": [("type", "application/xhtml+xml"), ("mode", "xml")],
}


def _atom_entry(parent: _Node, entry: Entry, *, v03: bool) -> None:
    """One Atom 1.0 entry, or (`v03`) Atom 0.3 with its own names of dates, types, tags."""

    def typed(kind: str | None) -> Sequence[tuple[str, str | None]]:
        return _ATOM03_TYPES.get(kind or "", []) if v03 else [("type", kind)]

    element = parent.add("entry", None, [("xml:base", entry.base)])
    if entry.title is not None:
        title = _xhtml(entry.title) if entry.title_type == "xhtml" else entry.title
        element.add("title", title, typed(entry.title_type))
    alternate = None
    if entry.link is not None:
        alternate = Link(entry.link, "alternate", "text/html" if v03 else None)
    _links(element, entry, alternate)
    # title and links before the id (the wild corpus breaks titles: what feedparser recovers
    # of a broken entry, its expected result, depends on this order)
    if entry.id is not None:
        element.add("id", str(entry.id))
    if entry.published is not None:
        element.add("issued" if v03 else "published", _date(entry.published))
    if entry.updated is not None:
        element.add("modified" if v03 else "updated", _date(entry.updated))
    for person in entry.authors:
        _person(element, person)
    for tag in entry.tags:
        if v03:
            element.add("dc:subject", tag)
        else:
            element.add("category", None, [("term", tag)])
    if entry.summary is not None:
        element.add("summary", entry.summary, typed("text" if v03 else entry.summary_type))
    if entry.content is not None:
        xhtml = entry.content_type == "xhtml"
        content = _xhtml(entry.content) if xhtml else entry.content
        element.add("content", content, typed(entry.content_type))
    elif entry.text is not None and not v03:
        element.add("content", entry.text, typed("text"))
    _enclosure_links(element, entry)


def _atom10(feed: Feed) -> str:
    root = _Node("feed", [("xml:lang", feed.language), ("xml:base", feed.base)])
    if feed.id is not None:
        root.add("id", feed.id)
    root.add("title", feed.title)
    if feed.description is not None:
        root.add("subtitle", feed.description)
    if feed.updated is not None:
        root.add("updated", _date(feed.updated))
    if feed.link is not None:
        root.add("link", None, [("rel", "alternate"), ("href", feed.link)])
    for person in feed.authors:
        _person(root, person)
    for entry in feed.entries:
        _atom_entry(root, entry, v03=False)
    return _serialise(root, NS_ATOM, feed.declare, feed.doctype)


def _atom03(feed: Feed) -> str:
    attrs = [("version", "0.3"), ("xml:lang", feed.language), ("xml:base", feed.base)]
    root = _Node("feed", attrs)
    root.add("title", feed.title)
    root.add("link", None, [("rel", "alternate"), ("type", "text/html"), ("href", feed.link)])
    if feed.updated is not None:
        root.add("modified", _date(feed.updated))
    for person in feed.authors:
        _person(root, person)
    for entry in feed.entries:
        _atom_entry(root, entry, v03=True)
    return _serialise(root, NS_ATOM03, feed.declare, feed.doctype)


# --- CDF ----------------------------------------------------------------------------------


def _cdf(feed: Feed) -> str:
    updated = _date(feed.updated) if feed.updated is not None else None
    root = _Node("CHANNEL", [("HREF", feed.link), ("LASTMOD", updated)])
    root.add("TITLE", feed.title)
    root.add("ABSTRACT", feed.description)
    for entry in feed.entries:
        published = _date(entry.published) if entry.published is not None else None
        item = root.add("ITEM", None, [("HREF", entry.link), ("LASTMOD", published)])
        if entry.title is not None:
            item.add("TITLE", entry.title)
        if entry.summary is not None:
            item.add("ABSTRACT", entry.summary)
    return _serialise(root, None, (), feed.doctype)


def document(format: str, feed: Feed) -> str:
    """`feed` as an XML document of `format` (one of `XML_FORMATS`), without a prolog."""
    if format in RSS_VERSIONS:
        return _rss(*RSS_VERSIONS[format], feed)
    writers = {"rss090": _rss090, "rss10": _rdf, "atom03": _atom03, "atom10": _atom10}
    if format == "cdf":
        return _cdf(feed)
    if format not in writers:
        raise ValueError(f"unknown feed format {format!r}")
    return writers[format](feed)


# --- JSON Feed ----------------------------------------------------------------------------


def _json_people(people: Sequence[Person], modern: bool) -> dict[str, Any]:
    def person(p: Person) -> dict[str, str]:
        return {"name": p.name, **({"url": p.uri} if p.uri else {})}

    if not people:
        return {}
    if modern:
        return {"authors": [person(p) for p in people]}
    return {"author": person(people[0])}


def json_feed(
    feed: Feed, *, version: str = "1.1", ensure_ascii: bool = False, indent: int | None = 2
) -> str:
    """`feed` as a JSON Feed document of `version` (``"1"`` or ``"1.1"``).

    1.1 writes ``authors`` lists and ``language``; 1 writes one ``author`` (the first).
    """
    if version not in ("1", "1.1"):
        raise ValueError(f"unknown JSON Feed version {version!r}")
    modern = version == "1.1"
    top: dict[str, Any] = {"version": f"https://jsonfeed.org/version/{version}"}
    top["title"] = feed.title
    if feed.link is not None:
        top["home_page_url"] = feed.link
    if feed.feed_url is not None:
        top["feed_url"] = feed.feed_url
    if feed.description is not None:
        top["description"] = feed.description
    if feed.language and modern:
        top["language"] = feed.language
    top.update(_json_people(feed.authors, modern))
    items: list[dict[str, Any]] = []
    for entry in feed.entries:
        item: dict[str, Any] = {} if entry.id is None else {"id": entry.id}
        values = {
            "url": entry.link,
            "title": entry.title,
            "content_html": entry.content,
            "content_text": entry.text,
            "summary": entry.summary,
            "date_published": None if entry.published is None else _date(entry.published),
            "date_modified": None if entry.updated is None else _date(entry.updated),
        }
        item.update({key: value for key, value in values.items() if value is not None})
        item.update(_json_people(entry.authors, modern))
        if entry.language:
            item["language"] = entry.language
        if entry.tags:
            item["tags"] = list(entry.tags)
        if entry.enclosures:
            item["attachments"] = [
                {"url": e.url, "mime_type": e.type, "size_in_bytes": e.length}
                for e in entry.enclosures
            ]
        items.append(item)
    top["items"] = items
    return json.dumps(top, ensure_ascii=ensure_ascii, indent=indent)
