"""A fast reading of plain, well-formed RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 on lxml.

feedparser (a SAX handler in pure Python) is most of a cold update's CPU. `read_plain`
walks an lxml tree instead and fills in only the keys of feedparser's result that
`feeds.parse.feed` maps, doing to each value what feedparser 6.0.14 does to it: the same
decoding (feedparser's own `convert_to_utf8`), whitespace stripping, the repair of UTF-8
read as Latin-1 and of Windows-1252 control characters, its ``xml:base`` tracking (which
leaks a base into the following siblings), its relative-link resolution, its date parser,
and its rules for which of two descriptions is the summary.

It reads only what it models and answers None on any doubt; the caller then runs
feedparser as before. It declines a body feedparser would flag (bozo: a charset that does
not fit, a media type that is not XML), any DOCTYPE or entity declaration, an XML error,
a Content-Language header, a root it does not know, an element or attribute it does not
know (matched by namespace URI and exact name: Media RSS beyond media:content and
media:thumbnail, an item's source, upper-case names and foreign namespaces all decline),
text with markup or comments inside it, xhtml, base64 or out-of-line Atom content, and an
author text that feedparser's repairs would change. A test (tests/test_fast_parse.py)
checks that whatever it accepts maps to the same `RawFeed` as feedparser's reading.

lxml runs without entity resolution, network, DTD loading or huge-tree mode: it stops at
libxml2's default limits (text nodes of 10 MB, nesting of 256), and the walk itself
declines below `_MAX_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from feeds.parse.windows_1252 import c1_as_windows_1252
from feeds.web_url import kept_when_joined

__all__ = ["HeadScreen", "PlainFeed", "read_plain"]

_XML = "http://www.w3.org/XML/1998/namespace"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS1 = "http://purl.org/rss/1.0/"
_ATOM = "http://www.w3.org/2005/Atom"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_SY = "http://purl.org/rss/1.0/modules/syndication/"
_ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
_ITUNES_AS_NAMED = "http://www.itunes.com/DTDs/PodCast-1.0.dtd"  # feedparser's spelling
_MEDIA = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
_SLASH = "http://purl.org/rss/1.0/modules/slash/"
_WFW = "http://wellformedweb.org/CommentAPI/"
# Namespaces whose declaration on the root sets feedparser's version, lower-cased as it
# compares them.
_VERSION_NAMESPACES = frozenset({_RSS1, "http://my.netscape.com/rdf/simple/0.9/", _ATOM.lower()})
_SCOPE_ATTRIBUTES = frozenset({"xml:base", "xml:lang"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Atom text constructs we read; feedparser maps the short names to these types.
_TEXT_TYPES = {
    "text": "text/plain",
    "html": "text/html",
    "text/plain": "text/plain",
    "text/html": "text/html",
}
_MAX_DEPTH = 8  # a channel's iTunes categories nest; nothing else we read goes below 4
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)  # deleted, C1 bytes remain
_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")
_NON_ASCII_PREFIX = re.compile(rb"xmlns:[^\s=]*[\x80-\xff]")
_NON_ASCII_TARGET = re.compile(rb"<\?[^\s?]*[\x80-\xff]")
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
_sync_author_detail: Callable[[Any], None] = _FeedParserMixin._sync_author_detail
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=False,
)


class _DeclineError(Exception):
    """Something this reader does not model: feedparser reads the body instead."""


@dataclass(frozen=True, slots=True)
class PlainFeed:
    """The part of feedparser's result that `feeds.parse.feed` maps, read without it."""

    version: str
    encoding: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]
    # Where each entry is among the document's (the screen takes some), and how many it has.
    positions: list[int]
    count: int


def read_plain(
    data: bytes, headers: Mapping[str, str], screen: HeadScreen | None = None
) -> PlainFeed | None:
    """The body read as feedparser would read it, or None when the body is not plain.

    `headers` are the lower-cased response headers exactly as feedparser would get them
    (with the Content-Type the caller settled on). With a `screen`, each entry's head (its
    id, links and dates, read as the whole entry's reading reads them) is shown to it
    first, with whether the feed is Atom: an entry it takes is not read further, nor
    returned (see `_Reader.screened` for when an entry is shown).
    """
    if "content-language" in headers:
        return None
    result: dict[str, Any] = {"bozo": False}
    try:
        converted = convert_to_utf8(dict(headers), data, result)
    except Exception:  # feedparser's own decoding tripped: let the full path report it
        return None
    if result.get("bozo") or not result.get("encoding"):
        return None
    # feedparser cuts DOCTYPEs out and expands their entities its own way (in UTF-8, so
    # looked for after decoding: a UTF-16 body's bytes would not show them)
    if b"<!DOCTYPE" in converted or b"<!ENTITY" in converted:
        return None
    if not converted.isascii() and _non_ascii_names(converted):
        return None
    try:
        root = etree.fromstring(converted, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        return _Reader(str(result["encoding"]), screen).read(root)
    except _DeclineError:
        return None
    except Exception:  # a case this reader gets wrong is a doubt too: feedparser decides
        return None


def _non_ascii_names(converted: bytes) -> bool:
    """Whether a namespace prefix or a processing instruction's target is not ASCII.

    expat (feedparser's parser) takes the name characters of XML 1.0's fourth edition,
    libxml2 those of the fifth, which has many more (U+0450 and U+FFFD among them): such a
    name is an error to feedparser alone. No feed names anything so, and every name read
    here is ASCII: an element's is one the tables know, an attribute's is looked at
    (`_attributes`, `_ascii_attributes`); prefixes and targets are looked for here."""
    if _NON_ASCII_PREFIX.search(converted):
        return True
    first = converted.find(b"<?", 2)  # after the declaration feedparser's decoding writes
    return first >= 0 and _NON_ASCII_TARGET.search(converted, first) is not None


_Handler = Callable[["_Reader", Any, dict[str, str]], None]


class HeadScreen(Protocol):
    """What `read_plain` shows entries' heads to (see `feeds.model.EntryScreen`)."""

    def worth(self, dates: Sequence[str]) -> bool:
        """Whether an entry with these date texts (stripped) might be taken."""

    def __call__(self, head: dict[str, Any], is_atom: bool) -> bool:
        """Whether the entry is taken, from its head (its values as the reading keeps
        them, but for feedparser's readings of its dates, which are not made) and whether
        the feed is Atom."""


class _Reader:
    """One walk over one document, holding the state feedparser's handler holds."""

    def __init__(self, encoding: str, screen: HeadScreen | None = None) -> None:
        self.encoding = encoding
        self.screen = screen
        self.version = ""
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.positions: list[int] = []
        self.count = 0  # entries met so far
        self.entry: dict[str, Any] | None = None
        self.base = ""
        self.bases: list[str] = []
        self.lang: str | None = None
        self.langs: list[str | None] = []
        self.depth = 0
        self.title_depth = -1
        self.has_content = False
        self.is_atom = False
        self.in_aside = False
        self.joined: dict[tuple[str, str], str] = {}
        self.based = False  # whether the document has an xml:base (see `screened`)
        self.guessing = True  # whether dates get feedparser's reading (see `_date`)
        self.emailed = False  # whether an Atom person so far had an email (`_atom_person`)

    # --- the document -----------------------------------------------------------------

    def read(self, root: Any) -> PlainFeed:
        namespace, local = _split(root.tag)
        self.based = self.screen is not None and bool(_HAS_BASE(root))
        declared = {uri.lower() for uri in root.nsmap.values()} & _VERSION_NAMESPACES
        if namespace == "" and local == "rss" and root.get("version") == "2.0":
            self.version = "rss20"
            self._walk(root, "rss", _ROOT_RSS)
        elif namespace == _ATOM and local == "feed" and declared == {_ATOM.lower()}:
            self.version = "atom10"
            self.is_atom = True
            self._walk(root, "feed", _FEED_ATOM)
        elif namespace == _RDF and local == "RDF" and declared == {_RSS1}:
            self.version = "rss10"
            self._walk(root, "rdf:rdf", _ROOT_RDF)
        else:
            raise _DeclineError
        return PlainFeed(
            self.version, self.encoding, self.feed, self.entries, self.positions, self.count
        )

    def _walk(self, element: Any, tag: str, handler: _Handler) -> None:
        """feedparser's start and end bookkeeping (depth, xml:base, xml:lang) around a
        handler."""
        attrs = _attributes(element)
        self.depth += 1
        lang = self.lang
        if attrs:  # most elements have none: then only the base is joined again
            written_base = attrs.get("xml:base") or self.base
            written_lang = attrs.get("xml:lang")
            if written_lang is not None:
                lang = written_lang or None
        else:
            written_base = self.base
        if written_base:
            self.base = self._next_base(written_base)
        if lang and tag in ("feed", "rss"):
            self.feed["language"] = lang.replace("_", "-")
        self.lang = lang
        bases, langs = self.bases, self.langs
        bases.append(self.base)
        langs.append(lang)
        handler(self, element, attrs)
        bases.pop()
        if bases and bases[-1]:
            self.base = bases[-1]
        langs.pop()
        if langs:
            self.lang = langs[-1]
        self.depth -= 1

    def _next_base(self, written_base: str) -> str:
        """feedparser's base in scope after an element (memoised: without an xml:base of
        its own, an element repeats the same join of the base with itself)."""
        key = (self.base, written_base)
        found = self.joined.get(key)
        if found is None:
            if self.base:
                found = make_safe_absolute_uri(self.base, written_base) or self.base
            else:
                found = _urljoin(self.base, written_base)
            self.joined[key] = found
        return str(found)

    def children(self, element: Any, table: Mapping[tuple[str, str], _Handler]) -> None:
        """Walk `element`'s child elements, each by its handler in `table`; comments and
        processing instructions are skipped (feedparser ignores them), text outside the
        children must be blank."""
        if (element.text or "").strip():
            raise _DeclineError
        for child in element:
            if (child.tail or "").strip():
                raise _DeclineError
            tag = child.tag
            if not isinstance(tag, str):
                continue
            split = _KNOWN_TAGS.get(tag)
            fresh = split is None
            if split is None:
                key = _split(tag)
                split = (key, key[1].lower())
            handler = table.get(split[0])
            if handler is None:
                raise _DeclineError
            if fresh:
                _KNOWN_TAGS[tag] = split  # a tag some table knows: a bounded set
            self._walk(child, split[1], handler)

    def screened(self, element: Any, table: Mapping[tuple[str, str], _Handler]) -> bool:
        """Whether the screen takes the entry `element` (its dict just begun) from the
        head its id, links and dates give, read by their own handlers as the whole walk
        would read them. An entry is shown only when every element in it is one this
        reading knows there, without an email or an explicit flag (which have every
        entry's people read again from the XML) or an attribute whose name is not ASCII,
        and when the screen finds its date texts worth it. Attributes outside the head are
        not otherwise looked at: an entry whose attribute would have sent the whole body to
        feedparser's reading may be taken, and the rest read here, which reads each entry
        as feedparser does. Two states outlive an entry: an xml:base, seen to first, and
        the depth of the last title (`_title`), left as its titles leave it."""
        assert self.screen is not None and self.entry is not None
        if self.based and not self.base:
            # With no base in scope, an xml:base below the entry stays in scope after its
            # element (`_walk` restores only a base there was) and reaches the elements
            # and entries after it: only reading all of it in order says where. With a
            # base in scope (the entry's own, most often), every element restores it as
            # it ends, so what is not read changes nothing after it.
            return False
        heads = []
        dates = []
        titled = False
        # The children, each followed by what is below it (document order, as
        # `iterdescendants` gives it, without asking each element for its parent).
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in _READ_AGAIN or (tag in _PERSON_TEXTS and "@" in (child.text or "")):
                return False  # it would have the whole document's people read again
            if not "".join(child.keys()).isascii():  # `_ascii_attributes`, inline: per child
                return False  # it would have feedparser read the whole document
            known = _KNOWN_TAGS.get(tag)
            if known is None:
                key = _split(tag)
                if key not in table:
                    return False
                _KNOWN_TAGS[tag] = (key, key[1].lower())  # as `children` keeps it
            else:
                key = known[0]
                if key not in table:
                    return False
            if key in _HEAD_KEYS:
                heads.append((child, key))
                if key in _DATE_KEYS:
                    dates.append((child.text or "").strip())
            elif table[key] is _title:
                if len(child):
                    return False  # whether its text is empty is feedparser's business
                titled = titled or bool((child.text or "").strip())
            if len(child) and not _only_entry_tags(child):
                return False
        if not self.screen.worth(dates):
            return False
        head = self.entry
        begun = dict(head)
        self.guessing = False
        for child, key in heads:
            self._walk(child, key[1].lower(), table[key])
        self.guessing = True
        taken = self.screen(head, self.is_atom)
        if not taken:  # read whole from where it began: the head's handlers add to lists
            head.clear()
            head.update(begun)
        elif titled:
            # As reading its title would: a later title as deep or deeper is not kept (the
            # title of an RSS 1.0 channel after its items: feedparser keeps the first).
            self.title_depth = self.depth + 1
        return taken

    # --- values -----------------------------------------------------------------------

    def text(self, element: Any) -> str:
        """The element's text as feedparser's `pop` leaves it, before storing."""
        if len(element):
            raise _DeclineError  # markup or comments inside a text: feedparser's own business
        return (element.text or "").strip()

    def finish(self, text: str) -> str:
        """What feedparser does to every text it keeps: UTF-8 that was read as Latin-1 is
        decoded again, and C1 controls become the Windows-1252 characters."""
        if text.isascii():
            return text  # both leave ASCII as it is
        # translate() with a table is slow on long texts; most hold no C1 control
        try:
            latin = text.encode("iso-8859-1")
            text = latin.decode("utf-8")
        except UnicodeEncodeError:
            pass
        except UnicodeDecodeError:
            # Latin-1 text that is no UTF-8 (most non-ASCII text): its C1 controls are
            # the bytes 0x80-0x9f of its encoding, found faster there than by a search.
            return text.translate(_cp1252) if latin.translate(None, _NOT_C1) else text
        return c1_as_windows_1252(text)

    def resolve(self, uri: str) -> str:
        base = self.base or ""
        if kept_when_joined(uri, base):
            return uri  # what feedparser's join gives for it (it has no "//" to fix either)
        return str(_urljoin(base, uri))

    def context(self) -> dict[str, Any]:
        return self.entry if self.entry is not None else self.feed

    def detail(self, attrs: Mapping[str, str], default_type: str) -> dict[str, Any]:
        """feedparser's `contentparams` of a text element."""
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        kind = attrs.get("type", default_type)
        if self.is_atom:
            mapped = _TEXT_TYPES.get(kind)
            if mapped is None or "mode" in attrs or "src" in attrs:
                raise _DeclineError  # xhtml, base64, out-of-line content
            kind = mapped
        elif "type" in attrs or "mode" in attrs:
            raise _DeclineError
        return {"type": kind, "language": self.lang, "base": self.base}

    def detail_text(self, element: Any, detail: dict[str, Any]) -> str:
        """A text element's value; like feedparser, outside Atom a plain-text one that
        looks like HTML is taken as HTML."""
        value = self.text(element)
        if not self.is_atom and detail["type"] == "text/plain" and _looks_like_html(value):
            detail["type"] = "text/html"
        return self.finish(value)

    def store(self, key: str, value: str, detail: dict[str, Any] | None = None) -> None:
        """A value kept in the current entry or the feed, the last one winning."""
        context = self.context()
        context[key] = value
        if detail is not None:
            context[key + "_detail"] = {**detail, "value": value}


# --- handlers: each mirrors feedparser's for that element, for the values we map -----------


def _ignore(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """An element feedparser keeps under a key we never read: only check it is text."""
    reader.text(element)


def _title(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    detail = reader.detail(attrs, "text/plain")
    value = reader.detail_text(element, detail)
    # A title at or below the depth of the last one is not kept (feedparser keeps the
    # first), and an RSS image's title goes to the image, but both count as the last.
    if not reader.in_aside and not -1 < reader.title_depth <= reader.depth:
        reader.store("title", value, detail)
    if value:
        reader.title_depth = reader.depth


def _aside(table: Mapping[tuple[str, str], _Handler]) -> _Handler:
    """An RSS channel's image or textInput: only its title matters, to which titles
    feedparser keeps."""

    def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        if attrs:
            raise _DeclineError
        reader.title_depth = -1
        reader.in_aside = True
        reader.children(element, table)
        reader.in_aside = False

    return handler


def _link_text(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    if attrs:
        raise _DeclineError
    context = reader.context()
    link = {"rel": "alternate", "type": "text/html"}
    context.setdefault("links", []).append(link)
    value = reader.text(element)
    if value:
        value = reader.resolve(value)
    value = reader.finish(value)
    if reader.entry is not None:
        value = _ENTITY_LIKE.sub(r"&\g<1>", value.replace("&amp;", "&"))
        context["link"] = value
        if value:
            link["href"] = value
    else:
        value = _ENTITY_LIKE.sub(r"&\g<1>", value)
        context["link"] = value
        link["href"] = value


def _link_href(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """An Atom link (also atom:link in RSS): its attributes, the href resolved."""
    reader.text(element)
    if "href" not in attrs or "url" in attrs or "uri" in attrs:
        raise _DeclineError
    link = dict(attrs)
    link.setdefault("rel", "alternate")
    link.setdefault("type", "application/atom+xml" if link["rel"] == "self" else "text/html")
    link["href"] = reader.resolve(link["href"])
    context = reader.context()
    context.setdefault("links", []).append(link)
    if link["rel"] == "alternate" and _content_type(link["type"]) in _HTML_TYPES:
        context["link"] = link["href"]


def _guid(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    if set(attrs) - {"ispermalink"}:
        raise _DeclineError
    is_link = attrs.get("ispermalink", "true") == "true"
    value = reader.text(element)
    if value and is_link:
        value = reader.resolve(value)
    value = reader.finish(value)
    context = reader.context()
    context["id"] = value
    context.setdefault("guidislink", is_link and "link" not in context)
    if is_link:
        context.setdefault("link", value)


def _description(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    context = reader.context()
    if "summary" in context and not reader.has_content:
        _content_element(reader, element, attrs, "text/plain")  # feedparser's rule
        return
    detail = reader.detail(attrs, "text/html")
    value = reader.detail_text(element, detail)
    if reader.entry is not None:
        reader.store("summary", value, detail)


def _summary(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    context = reader.context()
    if "summary" in context and not reader.has_content:
        _content_element(reader, element, attrs, "text/plain")
        return
    detail = reader.detail(attrs, "text/plain")
    value = reader.detail_text(element, detail)
    reader.store("summary", value, detail)


def _content(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    _content_element(reader, element, attrs, "text/plain")


def _content_encoded(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    _content_element(reader, element, attrs, "text/html")


def _content_element(reader: _Reader, element: Any, attrs: dict[str, str], default: str) -> None:
    reader.has_content = True
    detail = reader.detail(attrs, default)
    value = reader.detail_text(element, detail)
    context = reader.context()
    if reader.entry is not None:
        context.setdefault("content", []).append({**detail, "value": value})
    if detail["type"] in {"text/plain"} | _HTML_TYPES:
        context.setdefault("summary", value)


def _date(key: str) -> _Handler:
    def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        value = reader.finish(reader.text(element))
        if reader.entry is None:
            return  # feed-level dates are not mapped
        reader.store(key, value)
        # Its reading by feedparser, but for a head shown to the screen, which decides by
        # the text alone (`feeds.model.EntryScreen`).
        reader.entry[key + "_parsed"] = _parse_date(value) if reader.guessing else None

    return handler


def _rss_author(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """An RSS author, dc:creator, managingEditor or itunes:author: a person of its own,
    split into name and email by feedparser's own code (feeds.parse.feed reads the text
    again where that split may be wrong)."""
    raw = reader.text(element)
    value = reader.finish(raw)
    if value != raw:
        raise _DeclineError  # feeds.parse.rawxml would read the text before that repair
    context = reader.context()
    context.setdefault("authors", []).append({})
    context["author"] = value
    _sync_author_detail(_AuthorContext(context))


class _AuthorContext:
    """What feedparser's `_sync_author_detail` needs of its parser: the current context."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def _get_context(self) -> dict[str, Any]:
        return self.context


def _atom_person(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """An Atom author. Persons without a name are skipped in the mapping, as they are in
    feedparser's reading (but for one with a uri after another person: declined); with an
    email anywhere, authors are read from the XML again (`feeds.parse.rawxml`), on either
    path."""
    person: dict[str, str] = {}
    holder = reader.context()
    holder.setdefault("authors", []).append(person)

    def part(key: str) -> _Handler:
        def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
            person[key] = reader.text(element)  # feedparser keeps these as written

        return handler

    def uri(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        value = reader.text(element)
        person["href"] = reader.finish(reader.resolve(value) if value else value)

    reader.children(
        element,
        {(_ATOM, "name"): part("name"), (_ATOM, "email"): part("email"), (_ATOM, "uri"): uri},
    )
    if "email" not in person and "@" in person.get("name", ""):
        # feedparser takes an email out of such a name, and that sends the feedparser path
        # to read the authors from the XML again (uris as written): not modelled here.
        raise _DeclineError
    if "email" in person:
        reader.emailed = True
    # feedparser gives a person whose uri comes before any name the name of the person
    # before it (its `_sync_author_detail` reads the holder's last author): not modelled.
    # After an email it need not be: every author is then read from the XML again.
    unnamed = "href" in person and "name" not in person
    if unnamed and len(holder["authors"]) > 1 and not reader.emailed:
        raise _DeclineError


def _category(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    if set(attrs) - {"term", "scheme", "domain", "label"}:
        raise _DeclineError
    tags: list[dict[str, str | None]] = reader.context().setdefault("tags", [])
    _add_tag(tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
    value = reader.finish(reader.text(element))
    if not value:
        return
    if tags and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        _add_tag(tags, value, None, None)


def _add_tag(
    tags: list[dict[str, str | None]], term: str | None, scheme: str | None, label: str | None
) -> None:
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


def _enclosure(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    reader.text(element)
    link = dict(attrs)
    href = link.get("url", link.get("uri", link.get("href")))
    if href:
        link.pop("url", None)
        link.pop("uri", None)
        link["href"] = href
    link["rel"] = "enclosure"
    reader.context().setdefault("links", []).append(link)


def _kept(key: str) -> _Handler:
    """A text feedparser keeps under `key` (ttl, sy:updatePeriod, itunes:duration...)."""

    def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        reader.context()[key] = reader.finish(reader.text(element))

    return handler


def _itunes_image(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    reader.text(element)
    href = attrs.get("href") or attrs.get("url")
    if href:
        reader.context()["image"] = {"href": href}


def _itunes_explicit(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """feedparser's flag (its whitespace kept); with one, `feeds.parse.rawxml` reads the
    text again on either path."""
    if len(element):
        raise _DeclineError
    value = reader.finish(element.text or "")
    flag = True if value == "yes" else False if value == "clean" else None
    reader.context()["itunes_explicit"] = flag


def _itunes_keywords(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    tags: list[dict[str, str | None]] = reader.context().setdefault("tags", [])
    for term in reader.finish(reader.text(element)).split(","):
        if term.strip():
            _add_tag(tags, term.strip(), "http://www.itunes.com/", None)


def _itunes_category(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """A channel's (nested) iTunes categories: feed tags, which are not mapped."""
    if reader.depth > _MAX_DEPTH:
        raise _DeclineError
    reader.children(element, _ITUNES_CATEGORY)


def _language(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    value = reader.finish(reader.text(element))
    if reader.entry is None:
        reader.feed["language"] = value


def _entry(table: Mapping[tuple[str, str], _Handler]) -> _Handler:
    def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        entry: dict[str, Any] = {}
        reader.entries.append(entry)
        reader.entry = entry
        reader.title_depth = -1
        if set(attrs) - {"rdf:about", "xml:base", "xml:lang"}:
            raise _DeclineError
        if attrs.get("rdf:about"):
            entry["id"] = attrs["rdf:about"]
        if reader.screen is not None and reader.screened(element, table):
            reader.entries.pop()
        else:
            reader.positions.append(reader.count)
            reader.children(element, table)
        reader.count += 1
        reader.entry = None
        reader.has_content = False

    return handler


def _container(
    table: Mapping[tuple[str, str], _Handler], allowed: frozenset[str] = frozenset()
) -> _Handler:
    """An element that only holds others (attributes such as ``lastmod`` or ``href`` on
    a channel mean something to feedparser, so only `allowed` ones pass)."""

    def handler(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        if set(attrs) - allowed - _SCOPE_ATTRIBUTES:
            raise _DeclineError
        reader.children(element, table)

    return handler


# Each element tag a table knows, split into its table key and its lower-cased local name,
# as `_Reader.children` looks it up: tags repeat in every entry.
_KNOWN_TAGS: dict[str, tuple[tuple[str, str], str]] = {}


def _only_entry_tags(element: Any) -> bool:
    """Whether every element below `element` may be in an entry, none of them an email or
    an explicit flag or a person's text with an email, nor with an attribute whose name is
    not ASCII (see `_Reader.screened`)."""
    for below in element.iterdescendants():
        tag = below.tag
        if not isinstance(tag, str):
            continue
        if tag in _READ_AGAIN or (tag in _PERSON_TEXTS and "@" in (below.text or "")):
            return False
        if tag not in _ENTRY_TAGS or not _ascii_attributes(below):
            return False
    return True


def _ascii_attributes(element: Any) -> bool:
    """Whether the names of the element's attributes are ASCII (`_non_ascii_names`)."""
    return "".join(element.keys()).isascii()  # a third of a generator's cost over them


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _attributes(element: Any) -> dict[str, str]:
    """The attributes as feedparser names them: lower-cased, ``xml:`` and ``rdf:``
    prefixed, ``rel`` and ``type`` values lower-cased. Other namespaces, and the unprefixed
    ``base`` and ``lang`` feedparser also honours, decline."""
    attrs: dict[str, str] = {}
    for name, value in element.items():
        namespace, local = _split(name)
        if not local.isascii():
            raise _DeclineError  # an error to feedparser's parser alone (`_non_ascii_names`)
        if namespace == _XML:
            key = "xml:" + local.lower()
        elif namespace == _RDF:
            key = "rdf:" + local.lower()
        elif namespace == "":
            key = local.lower()
            if key in ("base", "lang"):
                raise _DeclineError
            if key in ("rel", "type"):
                value = value.lower()
        else:
            raise _DeclineError
        if key in attrs:
            raise _DeclineError
        attrs[key] = value
    return attrs


def _content_type(kind: str) -> str:
    kind = kind.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        kind, "application/xhtml+xml" if kind == "xhtml" else kind
    )


# --- which elements each format may hold -----------------------------------------------------

_RSS_ITEM: dict[tuple[str, str], _Handler] = {
    ("", "title"): _title,
    ("", "link"): _link_text,
    ("", "description"): _description,
    ("", "guid"): _guid,
    ("", "pubDate"): _date("published"),
    ("", "author"): _rss_author,
    ("", "category"): _category,
    ("", "enclosure"): _enclosure,
    ("", "comments"): _ignore,
    (_CONTENT, "encoded"): _content_encoded,
    (_DC, "creator"): _rss_author,
    (_DC, "date"): _date("updated"),
    (_DC, "subject"): _category,
    (_ATOM, "link"): _link_href,
    (_SLASH, "comments"): _ignore,
    (_WFW, "commentRss"): _ignore,
}
_ITUNES_ITEM: dict[str, _Handler] = {
    "author": _rss_author,
    "summary": _summary,
    "subtitle": _ignore,
    "duration": _kept("itunes_duration"),
    "episode": _kept("itunes_episode"),
    "image": _itunes_image,
    "explicit": _itunes_explicit,
    "keywords": _itunes_keywords,
    "episodeType": _ignore,
    "season": _ignore,
    "title": _ignore,
    "block": _ignore,
}
_ITUNES_CHANNEL: dict[str, _Handler] = {
    **_ITUNES_ITEM,
    "owner": _container(
        {(ns, name): _ignore for ns in (_ITUNES, _ITUNES_AS_NAMED) for name in ("name", "email")}
    ),
    "category": _itunes_category,
    "type": _ignore,
    "complete": _ignore,
    "new-feed-url": _ignore,
}
_ITUNES_CATEGORY: dict[tuple[str, str], _Handler] = {}
for _namespace in (_ITUNES, _ITUNES_AS_NAMED):
    _ITUNES_CATEGORY[(_namespace, "category")] = _itunes_category
    _RSS_ITEM.update({(_namespace, name): handler for name, handler in _ITUNES_ITEM.items()})
# Media RSS: only the media files themselves, which feedparser keeps under keys we do not
# map; media:title, media:description and media:category (its titles, summaries and tags)
# and anything inside a media:content decline.
_MEDIA_FILES: dict[tuple[str, str], _Handler] = {
    (namespace, name): _ignore for namespace in _MEDIA for name in ("content", "thumbnail")
}
_RSS_ITEM.update(_MEDIA_FILES)
_RSS_ITEM.update({(namespace, "group"): _container(_MEDIA_FILES) for namespace in _MEDIA})
_IMAGE: dict[tuple[str, str], _Handler] = {
    ("", name): _ignore for name in ("url", "link", "width", "height", "description")
}
_IMAGE[("", "title")] = _title
_TEXT_INPUT: dict[tuple[str, str], _Handler] = {
    ("", "title"): _title,
    ("", "description"): _ignore,
    ("", "name"): _ignore,
    ("", "link"): _ignore,
}
_RSS_CHANNEL: dict[tuple[str, str], _Handler] = {
    ("", "title"): _title,
    ("", "link"): _link_text,
    ("", "description"): _description,
    ("", "language"): _language,
    ("", "copyright"): _ignore,
    ("", "lastBuildDate"): _ignore,
    ("", "pubDate"): _ignore,
    ("", "generator"): _ignore,
    ("", "docs"): _ignore,
    ("", "ttl"): _kept("ttl"),
    ("", "image"): _aside(_IMAGE),
    ("", "textInput"): _aside(_TEXT_INPUT),
    ("", "managingEditor"): _rss_author,
    ("", "webMaster"): _ignore,
    ("", "category"): _ignore,
    ("", "cloud"): _ignore,
    ("", "rating"): _ignore,
    ("", "skipHours"): _container({("", "hour"): _ignore}),
    ("", "skipDays"): _container({("", "day"): _ignore}),
    ("", "item"): _entry(_RSS_ITEM),
    (_ATOM, "link"): _link_href,
    (_DC, "language"): _language,
    (_SY, "updatePeriod"): _kept("sy_updateperiod"),
    (_SY, "updateFrequency"): _kept("sy_updatefrequency"),
}
for _namespace in (_ITUNES, _ITUNES_AS_NAMED):
    _RSS_CHANNEL.update({(_namespace, name): handler for name, handler in _ITUNES_CHANNEL.items()})
_ROOT_RSS: _Handler = _container(
    {("", "channel"): _container(_RSS_CHANNEL)}, allowed=frozenset({"version"})
)

_RDF_ITEM: dict[tuple[str, str], _Handler] = {
    (_RSS1, "title"): _title,
    (_RSS1, "link"): _link_text,
    (_RSS1, "description"): _description,
    (_CONTENT, "encoded"): _content_encoded,
    (_DC, "creator"): _rss_author,
    (_DC, "date"): _date("updated"),
    (_DC, "subject"): _category,
}


def _rdf_items(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
    """A channel's ``<items><rdf:Seq>`` table of contents: nothing feedparser maps."""

    def item(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        reader.text(element)

    def seq(reader: _Reader, element: Any, attrs: dict[str, str]) -> None:
        reader.children(element, {(_RDF, "li"): item})

    reader.children(element, {(_RDF, "Seq"): seq})


_RDF_CHANNEL: dict[tuple[str, str], _Handler] = {
    (_RSS1, "title"): _title,
    (_RSS1, "link"): _link_text,
    (_RSS1, "description"): _ignore,
    (_RSS1, "items"): _rdf_items,
    (_DC, "language"): _language,
    (_DC, "date"): _ignore,
    (_SY, "updatePeriod"): _kept("sy_updateperiod"),
    (_SY, "updateFrequency"): _kept("sy_updatefrequency"),
}


_ROOT_RDF: _Handler = _container(
    {
        (_RSS1, "channel"): _container(_RDF_CHANNEL, allowed=frozenset({"rdf:about"})),
        (_RSS1, "item"): _entry(_RDF_ITEM),
    }
)

_ATOM_ENTRY: dict[tuple[str, str], _Handler] = {
    (_ATOM, "id"): _guid,
    (_ATOM, "title"): _title,
    (_ATOM, "link"): _link_href,
    (_ATOM, "published"): _date("published"),
    (_ATOM, "updated"): _date("updated"),
    (_ATOM, "author"): _atom_person,
    (_ATOM, "category"): _category,
    (_ATOM, "summary"): _summary,
    (_ATOM, "content"): _content,
}
_FEED_ATOM: _Handler = _container(
    {
        (_ATOM, "id"): _guid,
        (_ATOM, "title"): _title,
        (_ATOM, "subtitle"): _ignore,
        (_ATOM, "updated"): _ignore,
        (_ATOM, "link"): _link_href,
        (_ATOM, "author"): _atom_person,
        (_ATOM, "generator"): _ignore,
        (_ATOM, "icon"): _ignore,
        (_ATOM, "logo"): _ignore,
        (_ATOM, "rights"): _ignore,
        (_ATOM, "entry"): _entry(_ATOM_ENTRY),
    }
)

# Every element an entry may hold (Clark notation), at any depth: those of the entry tables
# and of the elements inside them that are read (an Atom person, a Media RSS group).
_ENTRY_TAGS = frozenset(
    f"{{{namespace}}}{local}" if namespace else local
    for table in (_RSS_ITEM, _RDF_ITEM, _ATOM_ENTRY, _MEDIA_FILES)
    for namespace, local in table
) | frozenset(f"{{{_ATOM}}}{part}" for part in ("name", "email", "uri"))
# The children that make an entry's head: its id, links and dates.
_HEAD_KEYS = frozenset(
    {
        ("", "guid"),
        ("", "link"),
        ("", "pubDate"),
        (_RSS1, "link"),
        (_DC, "date"),
        (_ATOM, "id"),
        (_ATOM, "link"),
        (_ATOM, "published"),
        (_ATOM, "updated"),
    }
)
_DATE_KEYS = frozenset({("", "pubDate"), (_DC, "date"), (_ATOM, "published"), (_ATOM, "updated")})
# What has `feeds.parse.feed` read every entry's people or explicit flag again from the
# XML (`_written`): an email, anywhere, or an explicit flag.
_READ_AGAIN = frozenset(
    {f"{{{_ATOM}}}email", *(f"{{{ns}}}explicit" for ns in (_ITUNES, _ITUNES_AS_NAMED))}
)
_PERSON_TEXTS = frozenset(
    {"author", f"{{{_DC}}}creator", *(f"{{{ns}}}author" for ns in (_ITUNES, _ITUNES_AS_NAMED))}
)
_HAS_BASE = etree.XPath("boolean(//@xml:base)")
