"""JSON Feed 1.0 / 1.1 bodies to a `RawFeed` (feedparser 6.0 does not read JSON Feed).

Only `parse_feed` (in `feeds.parse.feed`) is public; it wraps `JSONFeedError` in `ParseError`.
Every field is type-checked: a JSON Feed is untrusted input, and a field of the wrong type is
dropped rather than trusted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from feeds.model import Author, Enclosure, RawEntry, RawFeed
from feeds.normalise.authors import authors_from_text
from feeds.normalise.dates import read_zoned_date
from feeds.parse.urls import join_url, web_url
from feeds.parse.windows_1252 import c1_as_windows_1252

VERSION_PREFIX = "https://jsonfeed.org/version/"
JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})
MAX_INT_DIGITS = 30  # longer JSON integers read as absent (no field of ours needs one)

# 15 digits reach a petabyte; int() refuses thousands of digits.
_SIZE = re.compile(r"[0-9]{1,15}")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


class JSONFeedError(ValueError):
    """The body is JSON but not a usable JSON Feed; the message says why."""


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines -> paragraphs, single newlines -> ``<br>``."""
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n"))]
    return "".join(
        "<p>" + escape(p, quote=False).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p
    )


def media_type(content_type: str | None) -> str:
    """The lower-case media type of a Content-Type value, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """Whether a body should be read as JSON Feed rather than XML.

    The body decides when it can: a first non-whitespace byte ``{`` means JSON, ``<`` means
    XML whatever the Content-Type claims (servers mislabel feeds both ways). Otherwise a
    JSON Content-Type (``application/feed+json``, ``application/json``) means JSON, so the
    error says what is wrong with the JSON.
    """
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        return True
    if start == b"<":
        return False
    return media_type(content_type) in JSON_FEED_TYPES


def _bounded_int(text: str) -> int | None:
    # Python refuses to convert integers of more than 4,300 digits (a ValueError that would
    # fail the whole feed); no field of ours holds one, so such a number reads as absent.
    return int(text) if len(text) <= MAX_INT_DIGITS else None


def parse_json_feed(body: bytes, *, url: str) -> RawFeed:
    """Map a JSON Feed document to a `RawFeed`; raise `JSONFeedError` if it is not one."""
    try:
        document = json.loads(body, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise JSONFeedError(f"invalid JSON Feed: {error}") from error
    except UnicodeDecodeError as error:
        raise JSONFeedError(f"invalid JSON Feed: not UTF-8 text ({error.reason})") from error
    except RecursionError as error:
        raise JSONFeedError("invalid JSON Feed: nested too deeply") from error
    if not isinstance(document, dict):
        raise JSONFeedError(
            f"invalid JSON Feed: the top level is a JSON {_json_type(document)}, not an object"
        )
    items = document.get("items")
    if not isinstance(items, list):
        if items is None:
            raise JSONFeedError('invalid JSON Feed: no "items" list')
        raise JSONFeedError(
            f'invalid JSON Feed: "items" must be a list, not a JSON {_json_type(items)}'
        )

    warnings: list[str] = []
    version = document.get("version")
    if not (isinstance(version, str) and version.startswith(VERSION_PREFIX)):
        warnings.append(f"JSON Feed version not recognised: {version!r}")

    home_page = web_url(url, _string(document.get("home_page_url")))
    feed_language = _string(document.get("language"))
    feed_authors = _authors(document)
    entries: list[RawEntry] = []
    skipped: list[str] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(f"item {position} is a JSON {_json_type(item)}")
            continue
        entries.append(_entry(item, url=url, feed_authors=feed_authors, language=feed_language))
    if skipped:  # one line, however many: a count and the first few
        examples = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        warnings.append(f"{len(skipped)} item(s) not a JSON object, skipped: {examples}")
    return RawFeed(
        entries=tuple(entries),
        title=_string(document.get("title")),
        link=home_page,
        language=feed_language,
        warnings=tuple(warnings),
    )


def _entry(
    item: Mapping[str, Any], *, url: str, feed_authors: tuple[Author, ...], language: str | None
) -> RawEntry:
    raw_id = item.get("id")
    entry_id: str | None = None
    if isinstance(raw_id, str):
        entry_id = raw_id.strip() or None
    elif isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        entry_id = str(raw_id)  # 1.0 feeds in the wild use numbers; 1.1 asks for strings

    item_url = _string(item.get("url"))
    link = item_url or _string(item.get("external_url"))

    content_html = _string(item.get("content_html"))
    if content_html is None:
        content_text = _string(item.get("content_text"))
        content_html = text_to_html(content_text) if content_text else None
    summary = _string(item.get("summary"))

    published = _string(item.get("date_published"))
    updated = _string(item.get("date_modified"))
    return RawEntry(
        entry_id=entry_id,
        title=_string(item.get("title")),
        title_is_html=False,  # JSON Feed titles are plain text by the spec
        link=join_url(url, link) if link else None,
        summary_html=text_to_html(summary) if summary else None,
        content_html=content_html,
        # JSON Feed names no base: relative URLs in content_html are taken relative to the
        # item's own page (where the HTML is shown), else to the feed document.
        base_url=web_url(url, item_url) or url,
        authors=_authors(item) or feed_authors,
        published=published,
        updated=updated,
        published_guess=read_zoned_date(published),
        updated_guess=read_zoned_date(updated),
        tags=_unique(
            c1_as_windows_1252(tag.strip())
            for tag in _list(item.get("tags"))
            if isinstance(tag, str)
        ),
        language=_string(item.get("language")) or language,
        enclosures=_attachments(item.get("attachments"), url=url),
        location=url,
    )


def _authors(holder: Mapping[str, Any]) -> tuple[Author, ...]:
    """People from 1.1 ``authors`` (a list of objects), else 1.0 ``author`` (one object).

    A ``mailto:`` url is the author's email, any other their page; a name written as an
    address (``Ann <ann@example.org>``) is read like RSS author text.
    """
    people = holder.get("authors")
    if not isinstance(people, list):
        people = [holder.get("author")]
    found: list[Author] = []
    for person in people:
        if not isinstance(person, dict):
            continue
        name, url = _string(person.get("name")), _string(person.get("url"))
        email = url[7:].strip() if url and url[:7].lower() == "mailto:" else None
        uri = url if url and email is None else None
        written = authors_from_text(name) if name else ()
        if len(written) == 1:
            first = written[0]
            found.append(Author(name=first.name, email=first.email or email, uri=uri))
        elif written:
            found.extend(written)
        elif email:
            found.append(Author(name=email, email=email, uri=uri))
    return tuple(dict.fromkeys(found))


def _attachments(value: Any, *, url: str) -> tuple[Enclosure, ...]:
    enclosures: dict[str, Enclosure] = {}
    for attachment in _list(value):
        if not isinstance(attachment, dict):
            continue
        href = _string(attachment.get("url"))
        if href is None:
            continue
        href = join_url(url, href)
        if href is None:
            continue
        if href not in enclosures:
            enclosures[href] = Enclosure(
                url=href,
                media_type=_string(attachment.get("mime_type")),
                length=_size(attachment.get("size_in_bytes")),
            )
    return tuple(enclosures.values())


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and _SIZE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _string(value: Any) -> str | None:
    """A non-blank string field, stripped and read as feedparser reads XML text
    (`c1_as_windows_1252`); None for anything else."""
    if isinstance(value, str) and value.strip():
        return c1_as_windows_1252(value.strip())
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
