"""Feed bodies to `RawFeed`: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser, JSON Feed
through `feeds.parse.jsonfeed`. Plain RSS 2.0, RSS 1.0 and Atom 1.0 are first offered to
`feeds.parse.fast`, which reads them on lxml as feedparser would (or declines); both
readings go through the same mapping here.

`parse_feed` is a pure function of its arguments (no I/O, no global state changed), so it can
run in worker processes; it raises nothing but `ParseError`, whatever the bytes.

How feedparser 6.0.x is driven, and why:

* The body goes in as ``io.BytesIO``: a bytes value that looks like a path or URL would be
  opened.
* Header keys are lower-cased (feedparser ignores mixed case). Without a Content-Type we say
  ``application/xml``: given any header but no Content-Type, feedparser decodes a body whose
  prolog names no encoding as ISO-8859-1, which garbles every UTF-8 feed that omits it.
* No ``content-location`` is passed. With one, feedparser resolves every entry id that looks
  like a relative reference against it (an RSS ``<guid>abc</guid>`` becomes
  ``https://host/path/abc``, an Atom ``<id>1</id>`` likewise), so ids would change whenever the
  feed URL does. Without it, ids stay as written and links, enclosure URLs and ``xml:base`` stay
  relative (after any ``xml:base`` in scope): we resolve those against `url` here, which gives
  the same URLs feedparser would have given.
* ``sanitize_html=False, resolve_relative_uris=False``: normalise sanitises (nh3) and resolves
  relative URLs in the HTML against `RawEntry.base_url`.
* ``bozo`` means suspicious, not failed: entries found are returned, with the reason in
  `RawFeed.warnings`. Only a body with no detected feed version and no entries fails.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser
import feedparser.encodings

from feeds.model import Author, Enclosure, EntryScreen, Podcast, RawEntry, RawFeed
from feeds.normalise.authors import authors_from_text
from feeds.parse.fast import read_plain
from feeds.parse.hints import refresh_hint, skip_days, skip_hours
from feeds.parse.jsonfeed import (
    JSONFeedError,
    looks_like_json_feed,
    media_type,
    parse_json_feed,
    text_to_html,
)
from feeds.parse.rawxml import DocumentXml, EntryXml, read_entries
from feeds.parse.urls import join_url, web_url

# chardet comes with readability-lxml (full text), and feedparser runs it over the whole body
# of every feed whose declared encoding fails once it is importable: a pure-Python detector,
# 13 s for a 1.7 MB feed on this machine. Keep feedparser's fixed fallbacks instead.
feedparser.encodings.lazy_chardet_encoding = None

__all__ = ["ParseError", "parse_feed"]

_HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml", ""})
_TEXT_CONTENT_TYPES = frozenset({"text/plain", "text"})
_HTML_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_MAX_REASON = 300
_DEFAULT_LABELS = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"})
_CHARSET = re.compile(r"charset\s*=\s*([^;]+)", re.IGNORECASE)
_EPISODE = re.compile(r"[0-9]{1,9}")
# An enclosure's bytes: 15 digits reach a petabyte, and int() refuses thousands of digits.
_LENGTH = re.compile(r"[0-9]{1,15}")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class ParseError(Exception):
    """The body is not a feed we can read; the message says what is wrong with it."""


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    screen: EntryScreen | None = None,
) -> RawFeed:
    """Parse one fetched (or read) feed body into a `RawFeed`.

    `url` is where the body came from: relative links resolve against it and every entry's
    `location` names it. `headers` are the HTTP response headers (any case); the Content-Type
    charset is honoured. A `screen` is shown, on the fast path, the head of each entry (a
    `RawEntry` of only its id, link and dates, as the whole entry's would hold them); the
    entries it takes are left out. Raises `ParseError` (only) when the body is not a feed.
    """
    try:
        data = bytes(body)
        lowered = {str(key).lower(): str(value) for key, value in (headers or {}).items()}
        if not data.lstrip().removeprefix(b"\xef\xbb\xbf").strip():
            raise ParseError("not a feed: empty body")
        if looks_like_json_feed(data, lowered.get("content-type")):
            return parse_json_feed(data, url=url)
        return _parse_xml(data, url=url, headers=lowered, screen=screen)
    except ParseError:
        raise
    except JSONFeedError as error:
        raise ParseError(str(error)) from error
    except Exception as error:  # feedparser or our mapping tripped: still a bad body for us
        raise ParseError(f"cannot parse the feed: {_reason(error)}") from error


# --- feedparser -----------------------------------------------------------------------------


def _parse_xml(
    data: bytes, *, url: str, headers: dict[str, str], screen: EntryScreen | None
) -> RawFeed:
    response_headers = {k: v for k, v in headers.items() if k != "content-location"}
    response_headers["content-type"] = _trusted_content_type(
        data, response_headers.get("content-type", "application/xml")
    )
    heads = _HeadScreen(screen, url) if screen is not None else None
    plain = read_plain(data, response_headers, heads)
    if plain is not None:
        result = {"feed": plain.feed, "encoding": plain.encoding}
        suspect = _suspect(result, plain.entries)
        written = _written(data, result, plain.count) if suspect else None
        # Where the XML is to be read again but lxml could not (an encoding named as lxml
        # names none, such as "utf-16-le"), the mapping falls back to the reading's own
        # people, whose misreadings the fast path does not model: feedparser reads it.
        if written is not None or not suspect:
            return _raw_feed(
                data, url, plain.version, plain.feed, plain.entries, None, written, plain.positions
            )
    if screen is not None:
        screen.forget()  # the fast path declined, maybe midway: feedparser reads every entry
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    version = str(result.get("version") or "")
    entries = list(result.get("entries") or [])
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not version and not entries:
        raise ParseError(_failure(data, headers, problem))
    written = _written(data, result, len(entries)) if _suspect(result, entries) else None
    positions = range(len(entries))
    feed = result.get("feed") or {}
    return _raw_feed(data, url, version, feed, entries, problem, written, positions)


def _raw_feed(
    data: bytes,
    url: str,
    version: str,
    feed: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    problem: object,
    written: DocumentXml | None,
    positions: Sequence[int],
) -> RawFeed:
    """The `RawFeed` of feedparser's reading (or the fast path's reading, which has its
    shape), with the entries' authors and explicit flags `written` in the XML if read (each
    entry's at its position among the document's)."""
    warnings: list[str] = []
    if problem is not None:
        reason = _reason(problem, declared=_has_declaration(data))
        warnings.append(f"feed is not well-formed or not as declared: {reason}")
    if not version:
        warnings.append("feed format not recognised; entries read anyway")

    is_atom = version.startswith("atom")
    feed_language = _text(_get(feed, "language"))
    written_link = _link(feed, prefer_links=is_atom)
    feed_link = web_url(url, written_link)
    # Atom: entries inherit the feed's authors.
    if not is_atom:
        feed_authors: tuple[Author, ...] = ()
    elif written is not None:
        feed_authors = written.feed_authors
    else:
        feed_authors = _authors(feed, is_atom=True)
    mapped = tuple(
        _entry(
            entry,
            url=url,
            is_atom=is_atom,
            feed_link=feed_link,
            feed_language=feed_language,
            feed_authors=feed_authors,
            written=written.entries[position] if written is not None else None,
        )
        for position, entry in zip(positions, entries, strict=True)
    )
    return RawFeed(
        entries=mapped,
        title=_text(_get(feed, "title")),
        link=feed_link,
        language=feed_language,
        warnings=tuple(warnings),
        refresh_hint=refresh_hint(feed),
        skip_hours=skip_hours(data),
        skip_days=skip_days(data),
    )


def _entry(
    entry: Mapping[str, Any],
    *,
    url: str,
    is_atom: bool,
    feed_link: str | None,
    feed_language: str | None,
    feed_authors: tuple[Author, ...],
    written: EntryXml | None,
) -> RawEntry:
    content_html, content_detail = _content(entry)
    summary_html, summary_detail = _summary(entry)
    details = [d for d in (content_detail, summary_detail) if d is not None]

    # The xml:base in scope where the entry's text is (its title's, when it has no other:
    # feedparser tells the base only on text details), resolved against the document.
    scoped = [*details, *_dicts([_get(entry, "title_detail")])]
    in_scope = web_url(url, str(scoped[0].get("base") or "")) or url if scoped else url
    base_url = in_scope if details else feed_link or url

    return RawEntry(
        **_head_fields(entry, url=url, is_atom=is_atom),
        title=_text(_get(entry, "title")),
        # Atom says what its titles are; RSS titles are HTML in practice (entities, <b>).
        title_is_html=not (is_atom and _detail_type(entry, "title_detail") == "text/plain"),
        summary_html=summary_html,
        content_html=content_html,
        base_url=base_url,
        authors=(written.authors if written else _authors(entry, is_atom=is_atom)) or feed_authors,
        tags=_unique(
            _text(tag.get("term")) or _text(tag.get("label")) for tag in _dicts(_get(entry, "tags"))
        ),
        language=next((lang for d in details if (lang := _text(d.get("language")))), feed_language),
        # feedparser resolves Atom link hrefs against xml:base, but not RSS enclosure URLs.
        enclosures=_enclosures(entry, url=in_scope),
        podcast=_podcast(entry, url=in_scope, explicit=written.explicit if written else None),
    )


class _HeadScreen:
    """An `EntryScreen` as the fast path shows it heads: as its values, mapped here."""

    def __init__(self, screen: EntryScreen, url: str) -> None:
        self._screen = screen
        self._url = url

    def worth(self, dates: Sequence[str]) -> bool:
        return self._screen.worth(dates)

    def __call__(self, head: dict[str, Any], is_atom: bool) -> bool:
        return self._screen(_entry_head(head, url=self._url, is_atom=is_atom))


def _entry_head(entry: Mapping[str, Any], *, url: str, is_atom: bool) -> RawEntry:
    """An entry's head: all a screen sees of it (`parse_feed`)."""
    return RawEntry(**_head_fields(entry, url=url, is_atom=is_atom))


def _head_fields(entry: Mapping[str, Any], *, url: str, is_atom: bool) -> dict[str, Any]:
    """The fields of an entry's `RawEntry` that name and date it: its id, link, dates and
    where it came from."""
    published_key = "published" if _get(entry, "published") else "created"
    link = _link(entry, prefer_links=is_atom)
    return {
        "entry_id": _text(_get(entry, "id")),
        "link": join_url(url, link) if link else None,
        "published": _text(_get(entry, published_key)),
        "updated": _text(_get(entry, "updated")),
        "published_guess": _utc(_get(entry, published_key + "_parsed")),
        "updated_guess": _utc(_get(entry, "updated_parsed")),
        "location": url,
    }


def _content(entry: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    """The longest HTML content (else the longest plain-text one, as HTML) and its detail."""
    html: list[Mapping[str, Any]] = []
    text: list[Mapping[str, Any]] = []
    for detail in _dicts(_get(entry, "content")):
        value = detail.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        kind = str(detail.get("type") or "").lower()
        if kind in _HTML_CONTENT_TYPES:
            html.append(detail)
        elif kind in _TEXT_CONTENT_TYPES:
            text.append(detail)
    if html:
        best = max(html, key=lambda d: len(d["value"]))
        return best["value"], best
    if text:
        best = max(text, key=lambda d: len(d["value"]))
        return text_to_html(best["value"]), best
    return None, None


def _summary(entry: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    # Without a summary element feedparser copies the content into `summary` but writes no
    # `summary_detail`: only a summary with its own detail is a real one.
    detail = _get(entry, "summary_detail")
    if not isinstance(detail, Mapping):
        return None, None
    value = detail.get("value")
    if not isinstance(value, str) or not value.strip():
        return None, detail
    if str(detail.get("type") or "").lower() in _TEXT_CONTENT_TYPES:
        return text_to_html(value), detail
    return value, detail


def _link(holder: Mapping[str, Any], *, prefer_links: bool) -> str | None:
    """The alternate link as written (maybe relative).

    feedparser's `link` prefers an HTML-typed ``rel=alternate``; without any ``<link>`` it is
    the RSS ``<guid>`` (a permalink unless ``isPermaLink="false"``), but in Atom it is the
    entry's ``<id>``, which is no link: in Atom only real ``<link>`` elements count.
    """
    alternates = [
        href
        for link in _dicts(_get(holder, "links"))
        if link.get("rel", "alternate") == "alternate" and (href := _text(link.get("href")))
    ]
    link = _text(_get(holder, "link"))
    if link and link in alternates:
        return link
    if alternates:
        return alternates[0]
    return None if prefer_links else link


def _written(data: bytes, result: Mapping[str, Any], count: int) -> DocumentXml | None:
    """The entries' authors and explicit flags as the XML writes them, for a reading
    `_suspect` doubts (see `feeds.parse.rawxml`): only if lxml finds the same number of
    entries."""
    document = read_entries(data, _text(result.get("encoding")))
    if document is None or len(document.entries) != count:
        return None
    return document


def _suspect(result: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether feedparser's reading of the people or explicit flags may be wrong (`_written`):
    a person has an email, or an entry an explicit flag."""
    holders = [result.get("feed") or {}, *entries]
    return any(
        "email" in person for holder in holders for person in _dicts(_get(holder, "authors"))
    ) or any("itunes_explicit" in entry for entry in entries)


def _authors(holder: Mapping[str, Any], *, is_atom: bool) -> tuple[Author, ...]:
    """feedparser's reading of the authors (used when the XML could not be read again).

    A name-only person is the raw text as written; a split one is read again from the raw
    text where feedparser kept it (the last author element's), since its split is wrong.
    """
    people = _dicts(_get(holder, "authors"))
    raw = _text(_get(holder, "author"))
    if not is_atom and len(people) == 1 and raw:
        return authors_from_text(raw)
    found: list[Author] = []
    for person in people:
        name, email = _text(person.get("name")), _text(person.get("email"))
        if is_atom:
            if name or email:
                found.append(
                    Author(name=name or email or "", email=email, uri=_text(person.get("href")))
                )
        elif name and not email:
            found.extend(authors_from_text(name))
        elif name or email:
            found.append(Author(name=name or email or "", email=email))
    if not found and raw:
        found.extend(authors_from_text(raw))
    return tuple(dict.fromkeys(found))


def _podcast(entry: Mapping[str, Any], *, url: str, explicit: str | None) -> Podcast | None:
    """The iTunes item tags as written (normalise checks them)."""
    image = _get(entry, "image")
    href = _text(image.get("href")) if isinstance(image, Mapping) else None
    if explicit is None:
        # feedparser keeps only "yes" (True) and "clean" (False) apart.
        flag = _get(entry, "itunes_explicit")
        explicit = "yes" if flag is True else "clean" if flag is False else None
    episode = _text(_get(entry, "itunes_episode"))
    podcast = Podcast(
        duration=_text(_get(entry, "itunes_duration")),
        image=join_url(url, href) if href else None,
        explicit=explicit,
        # At most 9 digits: int() refuses thousands, and that would fail the whole feed.
        episode=int(episode) if episode and _EPISODE.fullmatch(episode) else None,
    )
    return podcast if podcast != Podcast() else None


def _enclosures(entry: Mapping[str, Any], *, url: str) -> tuple[Enclosure, ...]:
    # RSS <enclosure>, Atom <link rel="enclosure"> and RSS 1.0 alike land in `links`.
    found: dict[str, Enclosure] = {}
    for link in _dicts(_get(entry, "links")):
        href = _text(link.get("href"))
        if link.get("rel") != "enclosure" or not href:
            continue
        href = join_url(url, href)
        if href is None:
            continue
        if href not in found:
            length = _text(link.get("length"))
            found[href] = Enclosure(
                url=href,
                media_type=_text(link.get("type")),
                length=int(length) if length and _LENGTH.fullmatch(length) else None,
            )
    return tuple(found.values())


def _utc(value: Any) -> datetime | None:
    """feedparser's parsed date (a UTC `time.struct_time`) as an aware UTC datetime."""
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# --- failures -------------------------------------------------------------------------------


def _failure(data: bytes, headers: Mapping[str, str], problem: object) -> str:
    """Why a body with neither a feed version nor entries is not a feed."""
    if _looks_binary(data):
        return "not a feed: binary data"
    if _looks_like_html(data) or media_type(headers.get("content-type")) in _HTML_PAGE_TYPES:
        return "not a feed: looks like an HTML page"
    if isinstance(problem, BaseException):
        return f"not a feed: {_reason(problem, declared=_has_declaration(data))}"
    return "not a feed: no RSS, RDF or Atom document found"


def _looks_binary(data: bytes) -> bool:
    if data.startswith(_BOMS):
        return False  # UTF-16/32 text has NULs
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f")
    return controls * 20 > len(sample)


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    return any(tag in head for tag in (b"<html", b"<head>", b"<head ", b"<body"))


def _has_declaration(data: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").startswith(b"<?xml")


def _reason(error: object, *, declared: bool = True) -> str:
    """A one-line account of an exception (SAX errors with their position in the body)."""
    if isinstance(error, SAXParseException):
        # feedparser re-encodes the body as UTF-8 and writes an XML declaration first: on a
        # line of its own when the body had none. (Removed DOCTYPE entity declarations can
        # shift the line further; the message stays a good pointer.)
        line = (error.getLineNumber() or 1) - (0 if declared else 1)
        column = error.getColumnNumber() or 0
        text = f"XML error at line {max(line, 1)}, column {column}: "
        text += str(error.getMessage())
    elif isinstance(error, BaseException):
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    else:
        text = str(error)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


# --- small readers of feedparser's dicts ----------------------------------------------------


def _trusted_content_type(data: bytes, content_type: str) -> str:
    """The Content-Type to hand feedparser, without a charset the body contradicts.

    RFC 3023 lets the header's charset win over the document, and servers often send a
    default they never checked (Latin-1, ASCII): a BOM always, and beside such a default an
    XML declaration naming another encoding, or a body that is valid non-ASCII UTF-8, are
    believed over the header. A specific charset in the header still wins.

    ``text/xml`` without a charset (nginx's default for ``.xml``) is US-ASCII under RFC 3023,
    so feedparser flags every non-ASCII body served so; RFC 7303, which replaced it, reads
    the document's own declaration as for ``application/xml``, and so do we.
    """
    media, _, params = content_type.partition(";")
    charset = _CHARSET.search(params)
    if charset is None:
        kind = media.strip().lower()
        if kind == "text/xml" or (kind.startswith("text/") and kind.endswith("+xml")):
            return "application/xml"
        return content_type
    label = charset.group(1).strip("\"' ").lower()
    if data.startswith(_BOMS):
        return media.strip()
    if label not in _DEFAULT_LABELS:
        return content_type  # a specific charset: someone chose it
    declared = _DECLARED.search(data[:200])
    if declared is not None and declared.group(1).decode("ascii").lower() != label:
        return media.strip()
    if declared is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return content_type
        if not data.isascii():
            return media.strip()  # valid UTF-8 with non-ASCII text: the label is a default
    return content_type


def _detail_type(holder: Mapping[str, Any], key: str) -> str | None:
    detail = holder.get(key)
    return str(detail.get("type")) if isinstance(detail, Mapping) else None


def _get(holder: Mapping[str, Any], key: str) -> Any:
    # dict.get, not FeedParserDict.get: the latter answers "updated" with "published" (and a
    # DeprecationWarning) when there is no updated date, and maps other keys too.
    return dict.get(holder, key) if isinstance(holder, dict) else holder.get(key)


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _text(value: Any) -> str | None:
    """A non-blank string, stripped; None for anything else."""
    if isinstance(value, str) and (stripped := value.strip()):
        return stripped
    return None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
