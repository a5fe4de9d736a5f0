"""Feed documents for tests, written by our own code.

Each writer takes a list of `FeedItem`s and returns the bytes of one feed document in one
format, built with lxml (so every text is escaped properly) and dated in that format's own
style:

=============  ==========================================  =================================
writer         format                                      dates
=============  ==========================================  =================================
`rss20`        RSS 2.0 (+ content:encoded, dc:creator)     RFC 822 ``pubDate``
`rss10`        RSS 1.0 / RDF (+ content, dc)               W3CDTF ``dc:date``
`rss091`       RSS 0.91 (title, link, description only)    none (0.91 items carry no dates)
`atom10`       Atom 1.0 (RFC 4287)                         RFC 3339 ``published``/``updated``
`atom03`       Atom 0.3 (pre-standard)                     ``issued``/``modified`` (ISO 8601)
`jsonfeed`     JSON Feed 1.0 or 1.1                        RFC 3339 ``date_published``/...
`broken_rss`   RSS 2.0 made malformed after a few items    as `rss20`
=============  ==========================================  =================================

The XML writers take an ``encoding`` (``"utf-8"``, ``"iso-8859-1"``, ``"windows-1252"``, ...):
the prolog declares it and the bytes are really encoded so; characters the encoding lacks
become numeric character references.

Example::

    from support.feedfactory import FeedItem, rss20  # tests/ is on sys.path under pytest
    body = rss20([FeedItem(id="1", title="Grüße", link="https://example.com/1")])
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape
from typing import Any

from lxml import etree

from support.feedxml import (
    NS_ATOM,
    NS_ATOM03,
    NS_CONTENT,
    NS_DC,
    NS_RDF,
    NS_RSS10,
    NS_XML,
    nsmap,
    q,
    rfc822,
    rfc3339,
    serialise,
    sub,
)

__all__ = [
    "DEFAULT_LINK",
    "DEFAULT_TITLE",
    "FeedItem",
    "atom03",
    "atom10",
    "broken_rss",
    "jsonfeed",
    "rss091",
    "rss10",
    "rss20",
    "sample_items",
]

DEFAULT_TITLE = "Test feed"
DEFAULT_LINK = "https://example.com/"


Enclosure = tuple[str, str, int]  # (url, media type, length in bytes)


@dataclass(frozen=True)
class FeedItem:
    """One entry to write, in format-neutral terms.

    `html` is the full content as an HTML fragment; `summary` is a plain-text summary (each
    writer escapes it as its format needs); `text` is plain-text content, used where the format
    has a place for it (JSON Feed ``content_text``, Atom ``<content type="text">``) when `html`
    is None. Dates must be timezone-aware.
    """

    id: str | None
    title: str | None = None
    link: str | None = None
    html: str | None = None
    summary: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: Sequence[str] = ()
    tags: Sequence[str] = ()
    enclosures: Sequence[Enclosure] = ()
    text: str | None = None


def sample_items(count: int = 3) -> list[FeedItem]:
    """A few varied items with umlauts, authors, tags and an enclosure, for quick use."""
    items = []
    for n in range(1, count + 1):
        items.append(
            FeedItem(
                id=f"urn:test:item-{n}",
                title=f"Eintrag {n}: Größe, Übermaß & Straße",
                link=f"https://example.com/posts/{n}",
                html=f"<p>Inhalt <b>{n}</b> über Bäume &amp; Flüsse.</p>",
                summary=f"Zusammenfassung {n}",
                published=datetime(2024, 5, n, 8, 30, tzinfo=UTC),
                updated=datetime(2024, 5, n, 9, 45, tzinfo=UTC),
                authors=("Jörg Müller", "Anna Ösz") if n == 1 else ("Jörg Müller",),
                tags=("Politik", "Natur") if n % 2 else ("Natur",),
                enclosures=(
                    ((f"https://cdn.example.com/ep{n}.mp3", "audio/mpeg", 1234567 * n),)
                    if n == 1
                    else ()
                ),
            )
        )
    return items


def _text_as_html(text: str) -> str:
    return "<p>" + html_escape(text, quote=False) + "</p>"


# --- RSS ------------------------------------------------------------------------------------


def rss20(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str | None = "en",
    description: str = "A feed written for tests",
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 2.0 document.

    Per item: ``guid`` (``isPermaLink="false"`` unless it equals the link), ``title``,
    ``link``, ``description`` (the summary, as escaped HTML), ``content:encoded`` (the html),
    ``pubDate`` (RFC 822; RSS 2.0 has no updated date), one ``dc:creator`` per author, one
    ``category`` per tag and one ``enclosure`` per enclosure.
    """
    root = etree.Element("rss", {"version": "2.0"}, nsmap={"content": NS_CONTENT, "dc": NS_DC})
    channel = sub(root, "channel")
    sub(channel, "title", title)
    sub(channel, "link", link)
    sub(channel, "description", description)
    if language:
        sub(channel, "language", language)
    for item in items:
        element = sub(channel, "item")
        if item.title is not None:
            sub(element, "title", item.title)
        if item.link is not None:
            sub(element, "link", item.link)
        if item.id is not None:
            permalink = "true" if item.id == item.link else "false"
            sub(element, "guid", item.id, {"isPermaLink": permalink})
        if item.summary is not None:
            sub(element, "description", _text_as_html(item.summary))
        if item.html is not None:
            sub(element, q(NS_CONTENT, "encoded"), item.html)
        if item.published is not None:
            sub(element, "pubDate", rfc822(item.published))
        for author in item.authors:
            sub(element, q(NS_DC, "creator"), author)
        for tag in item.tags:
            sub(element, "category", tag)
        for url, media_type, length in item.enclosures:
            attrib = {"url": url, "type": media_type, "length": str(length)}
            sub(element, "enclosure", None, attrib)
    return serialise(root, encoding)


def rss10(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str | None = "en",
    description: str = "A feed written for tests",
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 1.0 (RDF) document.

    Per item: ``rdf:about`` (the id, else the link), ``title``, ``link``, ``description``
    (the summary as escaped HTML), ``content:encoded``, ``dc:date`` (W3CDTF, the published
    date, else the updated one), ``dc:creator`` per author and ``dc:subject`` per tag.
    RSS 1.0 core has no enclosures; they are not written.
    """
    items = list(items)
    root = etree.Element(
        q(NS_RDF, "RDF"),
        nsmap=nsmap(NS_RSS10, rdf=NS_RDF, dc=NS_DC, content=NS_CONTENT),
    )
    channel = sub(root, q(NS_RSS10, "channel"), None, {q(NS_RDF, "about"): link})
    sub(channel, q(NS_RSS10, "title"), title)
    sub(channel, q(NS_RSS10, "link"), link)
    sub(channel, q(NS_RSS10, "description"), description)
    if language:
        sub(channel, q(NS_DC, "language"), language)
    abouts = [item.id or item.link or f"{link}#item-{n}" for n, item in enumerate(items)]
    sequence = sub(sub(channel, q(NS_RSS10, "items")), q(NS_RDF, "Seq"))
    for about in abouts:
        sub(sequence, q(NS_RDF, "li"), None, {q(NS_RDF, "resource"): about})
    for item, about in zip(items, abouts, strict=True):
        element = sub(root, q(NS_RSS10, "item"), None, {q(NS_RDF, "about"): about})
        if item.title is not None:
            sub(element, q(NS_RSS10, "title"), item.title)
        if item.link is not None:
            sub(element, q(NS_RSS10, "link"), item.link)
        if item.summary is not None:
            sub(element, q(NS_RSS10, "description"), _text_as_html(item.summary))
        if item.html is not None:
            sub(element, q(NS_CONTENT, "encoded"), item.html)
        date = item.published or item.updated
        if date is not None:
            sub(element, q(NS_DC, "date"), rfc3339(date))
        for author in item.authors:
            sub(element, q(NS_DC, "creator"), author)
        for tag in item.tags:
            sub(element, q(NS_DC, "subject"), tag)
    return serialise(root, encoding)


def rss091(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str = "en",
    description: str = "A feed written for tests",
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 0.91 (UserLand) document.

    0.91 items have only ``title``, ``link`` and ``description``; the description carries the
    html if there is any, else the summary as escaped HTML. Ids, dates, authors, tags and
    enclosures are not written (0.91 has no place for them).
    """
    root = etree.Element("rss", {"version": "0.91"})
    channel = sub(root, "channel")
    sub(channel, "title", title)
    sub(channel, "link", link)
    sub(channel, "description", description)
    sub(channel, "language", language)
    for item in items:
        element = sub(channel, "item")
        if item.title is not None:
            sub(element, "title", item.title)
        if item.link is not None:
            sub(element, "link", item.link)
        if item.html is not None:
            sub(element, "description", item.html)
        elif item.summary is not None:
            sub(element, "description", _text_as_html(item.summary))
    return serialise(root, encoding)


def broken_rss(
    items: Sequence[FeedItem],
    *,
    good: int = 2,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str | None = "en",
    encoding: str = "utf-8",
) -> bytes:
    """An RSS 2.0 document that stops being well-formed after its first `good` items.

    After the `good`-th item comes an item whose title uses an undefined entity
    (``&undefinedentity;``) and whose description opens a ``<b>`` tag that is never closed;
    the remaining items follow. A strict XML parser fails there; the first `good` items stay
    recoverable.
    """
    if not 0 <= good <= len(items):
        raise ValueError(f"good must be between 0 and {len(items)}")
    body = rss20(items, title=title, link=link, language=language, encoding=encoding)
    broken = (
        "<item><title>Kaputt &undefinedentity; Eintrag</title>"
        "<guid>urn:test:broken</guid><description><b>unclosed"
    ).encode("ascii")
    starts = [m.start() for m in re.finditer(rb"<item>", body)]
    at = starts[good] if good < len(starts) else body.index(b"</channel>")
    return body[:at] + broken + b"\n" + body[at:]


# --- Atom -----------------------------------------------------------------------------------


def atom10(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str | None = "en",
    feed_id: str = "urn:test:feed",
    feed_authors: Sequence[str] = (),
    xml_base: str | None = None,
    updated: datetime | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """An Atom 1.0 document.

    The feed carries ``xml:lang`` (language) and, if given, ``xml:base``. Per entry: ``id``,
    ``title``, ``link rel="alternate"``, ``published``, ``updated`` (the updated date, else
    the published one, else `updated`, else 1970 — Atom requires it), ``author/name`` per
    author, ``category term`` per tag, ``summary type="text"``, ``content type="html"`` (or
    ``type="text"`` for an item with only `text`) and ``link rel="enclosure"`` per enclosure.
    """
    items = list(items)
    fallback = updated or datetime(1970, 1, 1, tzinfo=UTC)
    dates = [d for item in items for d in (item.updated, item.published) if d is not None]
    root = etree.Element(q(NS_ATOM, "feed"), nsmap=nsmap(NS_ATOM))
    if language:
        root.set(q(NS_XML, "lang"), language)
    if xml_base:
        root.set(q(NS_XML, "base"), xml_base)
    sub(root, q(NS_ATOM, "id"), feed_id)
    sub(root, q(NS_ATOM, "title"), title)
    sub(root, q(NS_ATOM, "updated"), rfc3339(updated or max(dates, default=fallback)))
    sub(root, q(NS_ATOM, "link"), None, {"rel": "alternate", "href": link})
    for name in feed_authors:
        sub(sub(root, q(NS_ATOM, "author")), q(NS_ATOM, "name"), name)
    for item in items:
        entry = sub(root, q(NS_ATOM, "entry"))
        if item.id is not None:
            sub(entry, q(NS_ATOM, "id"), item.id)
        sub(entry, q(NS_ATOM, "title"), item.title or "", {"type": "text"})
        if item.link is not None:
            sub(entry, q(NS_ATOM, "link"), None, {"rel": "alternate", "href": item.link})
        if item.published is not None:
            sub(entry, q(NS_ATOM, "published"), rfc3339(item.published))
        sub(entry, q(NS_ATOM, "updated"), rfc3339(item.updated or item.published or fallback))
        for name in item.authors:
            sub(sub(entry, q(NS_ATOM, "author")), q(NS_ATOM, "name"), name)
        for tag in item.tags:
            sub(entry, q(NS_ATOM, "category"), None, {"term": tag})
        if item.summary is not None:
            sub(entry, q(NS_ATOM, "summary"), item.summary, {"type": "text"})
        if item.html is not None:
            sub(entry, q(NS_ATOM, "content"), item.html, {"type": "html"})
        elif item.text is not None:
            sub(entry, q(NS_ATOM, "content"), item.text, {"type": "text"})
        for url, media_type, length in item.enclosures:
            attrib = {"rel": "enclosure", "href": url, "type": media_type, "length": str(length)}
            sub(entry, q(NS_ATOM, "link"), None, attrib)
    return serialise(root, encoding)


def atom03(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str = DEFAULT_LINK,
    language: str | None = "en",
    modified: datetime | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """An Atom 0.3 document (``version="0.3"``, namespace ``http://purl.org/atom/ns#``).

    Per entry: ``title``, ``link rel="alternate"``, ``id``, ``issued`` (published),
    ``modified`` (updated, else published), ``author/name`` per author, ``dc:subject`` per
    tag, ``summary type="text/plain"``, ``content type="text/html" mode="escaped"`` and
    ``link rel="enclosure"`` per enclosure.
    """
    items = list(items)
    dates = [d for item in items for d in (item.updated, item.published) if d is not None]
    feed_modified = modified or max(dates, default=datetime(1970, 1, 1, tzinfo=UTC))
    root = etree.Element(q(NS_ATOM03, "feed"), {"version": "0.3"}, nsmap=nsmap(NS_ATOM03, dc=NS_DC))
    if language:
        root.set(q(NS_XML, "lang"), language)
    sub(root, q(NS_ATOM03, "title"), title)
    sub(root, q(NS_ATOM03, "link"), None, {"rel": "alternate", "type": "text/html", "href": link})
    sub(root, q(NS_ATOM03, "modified"), rfc3339(feed_modified))
    for item in items:
        entry = sub(root, q(NS_ATOM03, "entry"))
        if item.title is not None:
            sub(entry, q(NS_ATOM03, "title"), item.title)
        if item.link is not None:
            attrib = {"rel": "alternate", "type": "text/html", "href": item.link}
            sub(entry, q(NS_ATOM03, "link"), None, attrib)
        if item.id is not None:
            sub(entry, q(NS_ATOM03, "id"), item.id)
        if item.published is not None:
            sub(entry, q(NS_ATOM03, "issued"), rfc3339(item.published))
        changed = item.updated or item.published
        if changed is not None:
            sub(entry, q(NS_ATOM03, "modified"), rfc3339(changed))
        for name in item.authors:
            sub(sub(entry, q(NS_ATOM03, "author")), q(NS_ATOM03, "name"), name)
        for tag in item.tags:
            sub(entry, q(NS_DC, "subject"), tag)
        if item.summary is not None:
            sub(entry, q(NS_ATOM03, "summary"), item.summary, {"type": "text/plain"})
        if item.html is not None:
            attrib = {"type": "text/html", "mode": "escaped"}
            sub(entry, q(NS_ATOM03, "content"), item.html, attrib)
        for url, media_type, length in item.enclosures:
            attrib = {"rel": "enclosure", "href": url, "type": media_type, "length": str(length)}
            sub(entry, q(NS_ATOM03, "link"), None, attrib)
    return serialise(root, encoding)


# --- JSON Feed ----------------------------------------------------------------------------


def jsonfeed(
    items: Iterable[FeedItem],
    *,
    title: str = DEFAULT_TITLE,
    link: str | None = DEFAULT_LINK,
    feed_url: str | None = None,
    language: str | None = "en",
    version: str = "1.1",
    feed_authors: Sequence[str] = (),
) -> bytes:
    """A JSON Feed document (UTF-8), version ``"1.0"`` or ``"1.1"``.

    1.1 writes ``authors`` lists and ``language``; 1.0 writes a single ``author`` object (the
    first author) and no language. Per item: ``id`` (JSON Feed requires one; an item without
    gets its link), ``url``, ``title``, ``content_html`` (html) or ``content_text`` (text),
    ``summary``, ``date_published``/``date_modified`` (RFC 3339), ``tags`` and
    ``attachments`` (url, mime_type, size_in_bytes).
    """
    if version not in ("1.0", "1.1"):
        raise ValueError(f"unknown JSON Feed version {version!r}")
    modern = version == "1.1"

    def people(names: Sequence[str]) -> dict[str, Any]:
        if not names:
            return {}
        if modern:
            return {"authors": [{"name": name} for name in names]}
        return {"author": {"name": names[0]}}

    document: dict[str, Any] = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": title,
    }
    if link is not None:
        document["home_page_url"] = link
    if feed_url is not None:
        document["feed_url"] = feed_url
    if language and modern:
        document["language"] = language
    document.update(people(feed_authors))
    entries: list[dict[str, Any]] = []
    for item in items:
        entry: dict[str, Any] = {"id": item.id if item.id is not None else (item.link or "")}
        if item.link is not None:
            entry["url"] = item.link
        if item.title is not None:
            entry["title"] = item.title
        if item.html is not None:
            entry["content_html"] = item.html
        if item.text is not None:
            entry["content_text"] = item.text
        if item.html is None and item.text is None:
            entry["content_text"] = ""
        if item.summary is not None:
            entry["summary"] = item.summary
        if item.published is not None:
            entry["date_published"] = rfc3339(item.published)
        if item.updated is not None:
            entry["date_modified"] = rfc3339(item.updated)
        entry.update(people(item.authors))
        if item.tags:
            entry["tags"] = list(item.tags)
        if item.enclosures:
            entry["attachments"] = [
                {"url": url, "mime_type": media_type, "size_in_bytes": length}
                for url, media_type, length in item.enclosures
            ]
        entries.append(entry)
    document["items"] = entries
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
