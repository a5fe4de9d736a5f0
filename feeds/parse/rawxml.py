"""What feedparser 6.0.x misreads in entries, read from the XML document itself.

- **Authors.** Its split of ``mail@host (Name)`` stops at four-letter top-level domains
  (``presse@stadt.example (Pressestelle)`` becomes name ``ple (Pressestelle``), and an Atom
  ``<author>`` without a name or an email takes the missing part from the author before it.
- **itunes:explicit.** It keeps ``yes`` and ``clean`` but turns Apple's ``true`` and
  ``false`` (and ``no``) into None.

`read_entries` gives, per entry in document order, its authors (the texts read with
`feeds.normalise.authors.authors_from_text`, Atom persons as written) and its
``itunes:explicit`` text. The caller uses it only when it found as many entries as
feedparser did; otherwise (badly broken XML) it keeps feedparser's reading.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from lxml import etree

from feeds.model import Author
from feeds.normalise.authors import authors_from_text

_ATOM = frozenset({"http://www.w3.org/2005/atom", "http://purl.org/atom/ns#"})
_RSS = frozenset(
    {
        "",
        "http://purl.org/rss/1.0/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://backend.userland.com/rss2",  # RSS 2.0 with a namespace of its own
        "http://blogs.law.harvard.edu/tech/rss",
    }
)
_DC = frozenset({"http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/"})
_ITUNES = frozenset(
    {"http://www.itunes.com/dtds/podcast-1.0.dtd", "http://example.com/dtds/podcast-1.0.dtd"}
)


@dataclass(frozen=True, slots=True)
class EntryXml:
    """One entry's values as written in the XML."""

    authors: tuple[Author, ...]
    explicit: str | None


@dataclass(frozen=True, slots=True)
class DocumentXml:
    feed_authors: tuple[Author, ...]  # the Atom feed's own authors, which entries inherit
    entries: tuple[EntryXml, ...]


def read_entries(data: bytes, encoding: str | None) -> DocumentXml | None:
    """The entries' authors and explicit flags, or None if lxml cannot read the body.

    `encoding` is the one feedparser settled on (it weighs the HTTP charset too). Each
    entry is emptied once read, so a large feed never stands whole in memory.
    """
    entries: list[EntryXml] = []
    try:
        events = etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            recover=True,
            resolve_entities=False,
            no_network=True,
            encoding=encoding or None,
        )
        for _event, element in events:
            if _is_entry(element):
                entries.append(_entry(element))
                element.clear(keep_tail=True)
        root = events.root
    except (etree.XMLSyntaxError, LookupError, ValueError):
        return None
    if root is None:
        return None
    feed_authors = _persons(root) if _name(root)[1] == "feed" else ()
    return DocumentXml(feed_authors=feed_authors, entries=tuple(entries))


def _entry(element: Any) -> EntryXml:
    explicit = None
    for child in element:
        namespace, local = _name(child)
        if namespace in _ITUNES and local == "explicit":
            explicit = _text(child)
    return EntryXml(authors=_persons(element), explicit=explicit)


def _persons(element: Any) -> tuple[Author, ...]:
    found: list[Author] = []
    for child in element:
        namespace, local = _name(child)
        if local == "author" and namespace in _ATOM:
            person = _atom_person(child)
            if person is not None:
                found.append(person)
        elif (
            (local == "author" and namespace in _RSS)
            or (local in ("creator", "author") and namespace in _DC)
            or (local == "author" and namespace in _ITUNES)
        ):
            found.extend(authors_from_text(_text(child) or ""))
    return tuple(dict.fromkeys(found))


def _atom_person(element: Any) -> Author | None:
    parts: dict[str, str] = {}
    for child in element:
        namespace, local = _name(child)
        text = _text(child)
        if namespace in _ATOM and text and local not in parts:
            parts[local] = text
    email = parts.get("email")
    name = parts.get("name") or email
    if not name:
        return None
    return Author(name=name, email=email, uri=parts.get("uri") or parts.get("url"))


def _is_entry(element: Any) -> bool:
    namespace, local = _name(element)
    return (local == "entry" and namespace in _ATOM) or (local == "item" and namespace in _RSS)


def _name(element: Any) -> tuple[str, str]:
    """(namespace, local name) of an element, the namespace lower-cased; ("", "") for
    comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace.lower(), local
    return "", tag


def _text(element: Any) -> str | None:
    text = "".join(element.itertext()).strip()
    return text or None
