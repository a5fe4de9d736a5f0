"""Feed documents for tests, written by our own code.

Each writer takes a list of `FeedItem`s and returns the bytes of one feed document in one
format: each turns the items into one `feedwriter.Feed` (what goes where in that format, with
these defaults) and has `feedwriter` write it, dated in the format's own style:

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

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape
from typing import Any

from support.feedwriter import Enclosure as Attachment
from support.feedwriter import Entry, Feed, Person, document, encode, json_feed

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


def _people(names: Iterable[str]) -> tuple[Person, ...]:
    return tuple(Person(name) for name in names)


def _attachments(item: FeedItem) -> tuple[Attachment, ...]:
    return tuple(Attachment(*enclosure) for enclosure in item.enclosures)


def _entry(item: FeedItem, **in_format: Any) -> Entry:
    """`item` as the writer takes it: its values where every format puts them, and where a
    format puts them otherwise, `in_format`."""
    values: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "published": item.published,
        "updated": item.updated,
        "summary": item.summary,
        "content": item.html,
        "text": item.text,
        "authors": _people(item.authors),
        "tags": tuple(item.tags),
        "enclosures": _attachments(item),
    }
    return Entry(**(values | in_format))


def _html_summary(item: FeedItem) -> str | None:
    return None if item.summary is None else _text_as_html(item.summary)


def _newest(items: Sequence[FeedItem]) -> datetime:
    dates = [d for item in items for d in (item.updated, item.published) if d is not None]
    return max(dates, default=datetime(1970, 1, 1, tzinfo=UTC))


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
    entries = tuple(
        _entry(item, permalink=item.id == item.link, summary=_html_summary(item), updated=None)
        for item in items
    )
    feed = Feed(title, link, description, language, declare=("content", "dc"), entries=entries)
    return encode(document("rss20", feed), encoding)


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
    entries = tuple(
        _entry(item, id=item.id or item.link or f"{link}#item-{n}", summary=_html_summary(item))
        for n, item in enumerate(items)
    )
    feed = Feed(title, link, description, language, declare=("dc", "content"), entries=entries)
    return encode(document("rss10", feed), encoding)


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
    entries = tuple(
        _entry(item, summary=item.html if item.html is not None else _html_summary(item))
        for item in items
    )
    feed = Feed(title, link, description, language, entries=entries)
    return encode(document("rss091", feed), encoding)


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
    entries = tuple(
        _entry(
            item,
            title=item.title or "",
            title_type="text",
            updated=item.updated or item.published or fallback,
            summary_type="text",
        )
        for item in items
    )
    feed = Feed(
        title,
        link,
        language=language,
        id=feed_id,
        updated=updated or _newest(items),
        authors=_people(feed_authors),
        base=xml_base,
        entries=entries,
    )
    return encode(document("atom10", feed), encoding)


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
    entries = tuple(_entry(item, updated=item.updated or item.published) for item in items)
    feed = Feed(
        title,
        link,
        language=language,
        updated=modified or _newest(items),
        declare=("dc",),
        entries=entries,
    )
    return encode(document("atom03", feed), encoding)


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
    entries = tuple(
        _entry(
            item,
            id=item.id if item.id is not None else (item.link or ""),
            text="" if item.html is None and item.text is None else item.text,
        )
        for item in items
    )
    feed = Feed(
        title,
        link,
        language=language,
        feed_url=feed_url,
        authors=_people(feed_authors),
        entries=entries,
    )
    # 1.0 is named "https://jsonfeed.org/version/1" in the document
    return json_feed(feed, version=version.removesuffix(".0")).encode("utf-8")
