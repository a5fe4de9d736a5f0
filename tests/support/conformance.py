"""Test-side conformance checks for the feeds our publisher writes.

Three checkers return a list of human-readable violations (an empty list means the
document conforms), and three ``assert_valid_*`` helpers raise ``AssertionError``
listing every problem found:

* Atom 1.0 -- RFC 4287 (prose rules plus the element/attribute grammar of
  Appendix B),
* RSS 2.0 -- the RSS 2.0 specification (rssboard.org), plus the atom:link
  rel="self" our publisher promises,
* JSON Feed 1.1 -- https://jsonfeed.org/version/1.1.

Every message starts with the path of the offending element. For XML the path uses
1-based positions, XPath style: ``entry[3]/author[1]``, ``feed/link[2]``,
``item[2]/guid``. For JSON Feed it uses 0-based JSON indexes: ``items[0].authors[1]``.

XML is parsed with a hardened lxml parser (no entity expansion, no DTD loading, no
network access). Any DOCTYPE is itself reported: a published feed has no business
carrying one.
"""

import base64
import binascii
import codecs
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import feedparser
from lxml import etree

from support.date_names import WEEKDAYS_EN
from support.namespaces import NS_ATOM, NS_XHTML, XML_BASE, XML_LANG

__all__ = [
    "assert_valid_atom",
    "assert_valid_jsonfeed",
    "assert_valid_rss",
    "atom_violations",
    "jsonfeed_violations",
    "rss_violations",
]

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"

_Element = etree._Element

# --------------------------------------------------------------------------- lexical rules

# XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD]
#                               | [#x10000-#x10FFFF]
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CHAR_REF = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")
# Sections where "&#1;" is literal text rather than a character reference.
_NON_MARKUP = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>", re.DOTALL)
_XML_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# RFC 3339 section 5.6 "date-time", with the RFC 4287 section 3.3 restriction that "T"
# and "Z" are uppercase.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))"
)
_RFC3339_ANY_CASE = re.compile(_RFC3339.pattern, re.IGNORECASE)

# RFC 822 section 5 date-time, with the four-digit year RSS 2.0 prefers.
_RFC822 = re.compile(
    r"(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?"
    r"(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{4}|\d{2})\s+"
    r"(\d{2}):(\d{2})(?::(\d{2}))?\s+"
    r"([+-]\d{4}|UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)"
)

# BCP 47 / RFC 3066 shape: a primary subtag (2-8 letters, or the "x"/"i" singletons)
# followed by 1-8 character alphanumeric subtags.
_LANGUAGE_TAG = re.compile(r"(?:[A-Za-z]{2,8}|[xXiI])(?:-[A-Za-z0-9]{1,8})*")

# RFC 3986 scheme, then the rest of an IRI (checked separately by _iri_problem).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Characters that can never appear literally in a URI/IRI reference (RFC 3987 section 2.2
# leaves them out of every production), plus whitespace and C0/C1 controls.
_NOT_IN_IRI = re.compile(r"[\s<>\"{}|\\^`\x00-\x1f\x7f-\x9f]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"(?:[^\"\\]|\\.)*\"))*"
)
_LINK_REL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
_NON_NEGATIVE_INTEGER = re.compile(r"[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_IANA_REL_PREFIX = "http://www.iana.org/assignments/relation/"


def _iri_problem(value: str) -> str | None:
    """Why ``value`` is not an IRI reference, or None if it plausibly is one."""
    bad = _NOT_IN_IRI.search(value)
    if bad:
        return f"contains a character not allowed in an IRI ({bad.group()!r})"
    if _BAD_PERCENT.search(value):
        return "contains a '%' that does not start a percent-encoded octet"
    return None


def _absolute_iri_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute IRI (RFC 3987), or None."""
    if not value:
        return "is empty, not an absolute IRI"
    if not _SCHEME.match(value):
        return f"{value!r} is not an absolute IRI (no scheme)"
    problem = _iri_problem(value)
    return f"{value!r} {problem}" if problem else None


def _http_url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL, or None."""
    problem = _absolute_iri_problem(value)
    if problem:
        return problem
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"{value!r} is not an absolute http(s) URL"
    return None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _rfc3339_problem(value: str, *, uppercase_only: bool = True) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time denoting a real instant, or None."""
    pattern = _RFC3339 if uppercase_only else _RFC3339_ANY_CASE
    match = pattern.fullmatch(value)
    if match is None:
        return (
            f"{value!r} is not an RFC 3339 date-time "
            "(YYYY-MM-DDTHH:MM:SS[.frac] followed by Z or +HH:MM/-HH:MM)"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12:
        return f"{value!r} has month {month:02d} (must be 01-12)"
    if not 1 <= day <= _days_in_month(year, month):
        return f"{value!r} has day {day:02d}, which does not exist in {year:04d}-{month:02d}"
    if hour > 23 or minute > 59:
        return f"{value!r} has an invalid time of day"
    if second > 60 or (second == 60 and minute != 59):
        return f"{value!r} has an invalid seconds value"
    if match.group(9) is not None:
        off_hour, off_minute = int(match.group(10)), int(match.group(11))
        if off_hour > 23 or off_minute > 59:
            return f"{value!r} has an invalid UTC offset"
    return None


def _rfc822_problem(value: str) -> str | None:
    """Why ``value`` is not an RFC 822 date-time with a time zone, or None."""
    text = value.strip()
    match = _RFC822.fullmatch(text)
    if match is None:
        return f"{value!r} is not an RFC 822 date-time (e.g. 'Sat, 10 May 2025 11:33:00 +0000')"
    try:
        parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        return f"{value!r} is not a valid RFC 822 date-time ({exc})"
    if parsed.tzinfo is None:
        return f"{value!r} has no usable time zone ('-0000' means 'unknown')"
    day_name = match.group(1)
    if day_name is not None and day_name != WEEKDAYS_EN[parsed.weekday()]:
        return f"{value!r}: day of week {day_name} is wrong (the date is a {parsed:%a})"
    return None


def _language_tag_problem(value: str, *, allow_empty: bool) -> str | None:
    if value == "" and allow_empty:
        return None
    if _LANGUAGE_TAG.fullmatch(value) is None:
        return f"{value!r} is not a BCP 47 language tag"
    return None


def _media_type_problem(value: str) -> str | None:
    if _MEDIA_TYPE.fullmatch(value) is None:
        return f"{value!r} is not a MIME media type (type/subtype)"
    return None


# --------------------------------------------------------------------------- XML plumbing


def _link_rel(link: _Element) -> str:
    """RFC 4287 section 4.2.7.2: no rel means "alternate", and a registered name equals
    the same name appended to the IANA relation prefix."""
    rel = link.get("rel", "alternate")
    return rel[len(_IANA_REL_PREFIX) :] if rel.startswith(_IANA_REL_PREFIX) else rel


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        recover=False,
    )


def _declared_encoding(document: bytes) -> str:
    if document.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if document.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    match = _XML_DECL_ENCODING.match(document)
    return match.group(1).decode("ascii") if match else "utf-8"


def _line_col(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _illegal_characters(document: bytes) -> list[str]:
    """Report characters (literal or as references) outside the XML 1.0 Char production."""
    encoding = _declared_encoding(document)
    try:
        text = document.decode(encoding)
    except LookupError:
        return [f"document: unknown encoding {encoding!r}"]
    except UnicodeDecodeError as exc:
        return [f"document: not valid {encoding}: {exc}"]
    found: list[str] = []
    for match in XML_ILLEGAL.finditer(text):
        char = ord(match.group())
        found.append(f"{_line_col(text, match.start())}: XML-illegal character U+{char:04X}")
    markup = _NON_MARKUP.sub(lambda m: " " * len(m.group()), text)
    for match in _CHAR_REF.finditer(markup):
        hex_digits, dec_digits = match.groups()
        code = int(hex_digits, 16) if hex_digits else int(dec_digits)
        if code > 0x10FFFF or XML_ILLEGAL.fullmatch(chr(code)):
            found.append(
                f"{_line_col(text, match.start())}: character reference {match.group()} "
                "refers to an XML-illegal character"
            )
    if len(found) > 10:
        found = [*found[:10], f"... and {len(found) - 10} more XML-illegal characters"]
    return found


def _parse_xml(document: bytes, out: list[str]) -> _Element | None:
    """Parse ``document`` safely; report illegal characters, DOCTYPEs and syntax errors."""
    out.extend(_illegal_characters(document))
    try:
        root = etree.fromstring(document, _safe_parser())
    except etree.XMLSyntaxError as exc:
        out.append(f"document: not well-formed XML: {exc}")
        return None
    # (lxml-stubs does not declare DocInfo.doctype, hence getattr.)
    if getattr(root.getroottree().docinfo, "doctype", ""):
        out.append("document: has a DOCTYPE declaration (not allowed in a published feed)")
    return root


def _elements(el: _Element) -> list[_Element]:
    """Child elements of ``el``, skipping comments, processing instructions and entities."""
    return [child for child in el if isinstance(child.tag, str)]


def _text(el: _Element) -> str:
    """Character content of ``el`` that is not inside a child node (comments skipped)."""
    parts = [el.text or ""]
    parts.extend(child.tail or "" for child in el)
    return "".join(parts)


def _ns(el: _Element) -> str | None:
    return etree.QName(el).namespace


def _local(el: _Element) -> str:
    return etree.QName(el).localname


_PREFIXES = {NS_ATOM: "atom", NS_XHTML: "xhtml"}


class _Paths:
    """Builds XPath-like locations (``entry[3]/author[1]``) for one document.

    Sibling positions are computed once per parent and cached, so reporting on every
    entry of a large feed stays linear. The cache holds the element proxies, which
    keeps lxml from handing out fresh (unequal) proxies for the same nodes.
    """

    def __init__(self, home_ns: str | None, repeatable: frozenset[str]) -> None:
        self.home_ns = home_ns
        self.repeatable = repeatable
        self._positions: dict[_Element, tuple[int, int]] = {}

    def _position(self, node: _Element, parent: _Element) -> tuple[int, int]:
        """(1-based position among same-named siblings, number of such siblings)."""
        cached = self._positions.get(node)
        if cached is None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            for index, sibling in enumerate(same, start=1):
                self._positions[sibling] = (index, len(same))
            cached = self._positions[node]
        return cached

    def segments(self, el: _Element) -> list[str]:
        segments: list[str] = []
        node: _Element | None = el
        while node is not None:
            namespace, local = _ns(node), _local(node)
            if namespace == self.home_ns or namespace is None:
                label = local
            else:
                prefix = _PREFIXES.get(namespace) or node.prefix
                label = f"{prefix}:{local}" if prefix else f"{{{namespace}}}{local}"
            parent = node.getparent()
            if parent is not None:
                position, count = self._position(node, parent)
                if count > 1 or (namespace == self.home_ns and local in self.repeatable):
                    label = f"{label}[{position}]"
            segments.append(label)
            node = parent
        segments.reverse()
        return segments


class _AtomPaths(_Paths):
    def __init__(self) -> None:
        super().__init__(NS_ATOM, frozenset({"entry", "author", "contributor", "link", "category"}))

    def __call__(self, el: _Element) -> str:
        segments = self.segments(el)
        if len(segments) > 1 and segments[1].startswith("entry["):
            segments = segments[1:]  # "entry[3]/id" rather than "feed/entry[3]/id"
        return "/".join(segments)


class _RssPaths(_Paths):
    def __init__(self) -> None:
        super().__init__(None, frozenset({"item", "category", "enclosure"}))

    def __call__(self, el: _Element) -> str:
        segments = self.segments(el)
        if len(segments) > 1 and segments[1] == "channel":
            segments = segments[1:]  # "channel/ttl" rather than "rss/channel/ttl"
            if len(segments) > 1 and segments[1].startswith("item["):
                segments = segments[1:]  # "item[2]/guid"
        return "/".join(segments)


def _check_language_and_base(
    root: _Element, path: Callable[[_Element], str], out: list[str]
) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        lang = el.get(XML_LANG)
        if lang is not None:
            problem = _language_tag_problem(lang, allow_empty=True)
            if problem:
                out.append(f"{path(el)}: xml:lang {problem}")
        base = el.get(XML_BASE)
        if base is not None:
            problem = _iri_problem(base)
            if problem:
                out.append(f"{path(el)}: xml:base {base!r} {problem}")


# --------------------------------------------------------------------------- Atom


class _Atom:
    """Checks one Atom feed document, collecting violations in ``self.out``."""

    # Appendix B: which Atom children each container may hold.
    FEED_CHILDREN = frozenset(
        {
            "author",
            "category",
            "contributor",
            "generator",
            "icon",
            "id",
            "link",
            "logo",
            "rights",
            "subtitle",
            "title",
            "updated",
            "entry",
        }
    )
    ENTRY_CHILDREN = frozenset(
        {
            "author",
            "category",
            "content",
            "contributor",
            "id",
            "link",
            "published",
            "rights",
            "source",
            "summary",
            "title",
            "updated",
        }
    )
    SOURCE_CHILDREN = frozenset(
        {
            "author",
            "category",
            "contributor",
            "generator",
            "icon",
            "id",
            "link",
            "logo",
            "rights",
            "subtitle",
            "title",
            "updated",
        }
    )
    PERSON_CHILDREN = frozenset({"name", "uri", "email"})

    # Appendix B: the unqualified attributes each Atom element may carry. Anything else
    # must be namespace-qualified (xml:base, xml:lang and foreign attributes are fine).
    ATTRIBUTES: ClassVar[dict[str, frozenset[str]]] = {
        "title": frozenset({"type"}),
        "subtitle": frozenset({"type"}),
        "summary": frozenset({"type"}),
        "rights": frozenset({"type"}),
        "content": frozenset({"type", "src"}),
        "link": frozenset({"href", "rel", "type", "hreflang", "title", "length"}),
        "category": frozenset({"term", "scheme", "label"}),
        "generator": frozenset({"uri", "version"}),
    }

    def __init__(self) -> None:
        self.out: list[str] = []
        self.path = _AtomPaths()

    def report(self, el: _Element, message: str) -> None:
        self.out.append(f"{self.path(el)}: {message}")

    # -- structure helpers

    def children(self, el: _Element, allowed: frozenset[str]) -> dict[str, list[_Element]]:
        """Atom children of ``el`` by local name; unknown Atom elements are reported."""
        found: dict[str, list[_Element]] = {}
        for child in _elements(el):
            if _ns(child) != NS_ATOM:
                continue  # extension element (RFC 4287 section 6)
            local = _local(child)
            if local not in allowed:
                self.report(child, f"unknown or misplaced Atom element atom:{local}")
                continue
            found.setdefault(local, []).append(child)
        return found

    def cardinality(
        self,
        el: _Element,
        found: dict[str, list[_Element]],
        exactly_one: Iterable[str] = (),
        at_most_one: Iterable[str] = (),
    ) -> None:
        for name in exactly_one:
            count = len(found.get(name, []))
            if count == 0:
                self.report(el, f"missing atom:{name}")
            elif count > 1:
                self.report(el, f"more than one atom:{name} ({count})")
        for name in at_most_one:
            count = len(found.get(name, []))
            if count > 1:
                self.report(el, f"more than one atom:{name} ({count})")

    def attributes(self, el: _Element) -> None:
        allowed = self.ATTRIBUTES.get(_local(el), frozenset())
        for name in el.attrib:
            if not str(name).startswith("{") and name not in allowed:
                self.report(el, f"unknown attribute {name!r} on atom:{_local(el)}")

    def no_child_elements(self, el: _Element, why: str = "") -> bool:
        kids = _elements(el)
        if kids:
            self.report(el, f"must not contain child elements{why} (found {_local(kids[0])!r})")
            return False
        return True

    def alternates(self, el: _Element, links: list[_Element]) -> None:
        keys: Counter[tuple[str | None, str | None]] = Counter()
        for link in links:
            if _link_rel(link) != "alternate":
                continue
            link_type = link.get("type")
            hreflang = link.get("hreflang")
            keys[
                (link_type.lower() if link_type else None, hreflang.lower() if hreflang else None)
            ] += 1
        if any(count > 1 for count in keys.values()):
            self.report(el, "more than one rel=alternate link with the same type and hreflang")

    # -- element checks

    def check_feed(self, feed: _Element) -> None:
        self.attributes(feed)
        found = self.children(feed, self.FEED_CHILDREN)
        self.cardinality(
            feed,
            found,
            exactly_one=("id", "title", "updated"),
            at_most_one=("generator", "icon", "logo", "rights", "subtitle"),
        )
        self.metadata(found)
        links = found.get("link", [])
        if not any(_link_rel(link) == "self" for link in links):
            self.report(feed, 'missing atom:link rel="self"')
        self.alternates(feed, links)
        feed_has_author = bool(found.get("author"))
        for entry in found.get("entry", []):
            self.check_entry(entry, feed_has_author)

    def check_entry(self, entry: _Element, feed_has_author: bool) -> None:
        self.attributes(entry)
        found = self.children(entry, self.ENTRY_CHILDREN)
        self.cardinality(
            entry,
            found,
            exactly_one=("id", "title", "updated"),
            at_most_one=("content", "published", "rights", "source", "summary"),
        )
        self.metadata(found)
        links = found.get("link", [])
        self.alternates(entry, links)

        source_has_author = any(
            _ns(child) == NS_ATOM and _local(child) == "author"
            for source in found.get("source", [])
            for child in _elements(source)
        )
        if not (found.get("author") or source_has_author or feed_has_author):
            self.report(entry, "missing atom:author (and the feed has no atom:author)")

        contents = found.get("content", [])
        if not contents:
            has_alternate = any(_link_rel(link) == "alternate" for link in links)
            if not has_alternate:
                self.report(entry, 'has no atom:content, so it needs an atom:link rel="alternate"')
        elif not found.get("summary"):
            content = contents[0]
            if content.get("src") is not None:
                self.report(entry, "atom:content has src, so an atom:summary is required")
            elif _is_base64_media_type(content.get("type", "text")):
                self.report(
                    entry,
                    f"atom:content type={content.get('type')!r} is Base64-encoded, "
                    "so an atom:summary is required",
                )

    def check_source(self, source: _Element) -> None:
        self.attributes(source)
        found = self.children(source, self.SOURCE_CHILDREN)
        self.cardinality(
            source,
            found,
            at_most_one=(
                "generator",
                "icon",
                "id",
                "logo",
                "rights",
                "subtitle",
                "title",
                "updated",
            ),
        )
        self.metadata(found)

    def metadata(self, found: dict[str, list[_Element]]) -> None:
        checks: dict[str, Callable[[_Element], None]] = {
            "author": self.check_person,
            "contributor": self.check_person,
            "category": self.check_category,
            "content": self.check_content,
            "generator": self.check_generator,
            "icon": self.check_uri_element,
            "logo": self.check_uri_element,
            "id": self.check_id,
            "link": self.check_link,
            "published": self.check_date,
            "updated": self.check_date,
            "rights": self.check_text_construct,
            "subtitle": self.check_text_construct,
            "summary": self.check_text_construct,
            "title": self.check_text_construct,
            "source": self.check_source,
        }
        for name, elements in found.items():
            check = checks.get(name)
            if check is None:
                continue
            for el in elements:
                check(el)

    def check_person(self, person: _Element) -> None:
        self.attributes(person)
        found = self.children(person, self.PERSON_CHILDREN)
        self.cardinality(person, found, exactly_one=("name",), at_most_one=("uri", "email"))
        for el in (*found.get("name", []), *found.get("uri", []), *found.get("email", [])):
            self.attributes(el)
            self.no_child_elements(el)
        for name in found.get("name", []):
            if not _text(name).strip():
                self.report(name, "is empty")
        for uri in found.get("uri", []):
            problem = _iri_problem(_text(uri))
            if problem:
                self.report(uri, f"{_text(uri)!r} {problem}")
        for email in found.get("email", []):
            if _EMAIL.fullmatch(_text(email)) is None:
                self.report(email, f"{_text(email)!r} is not an e-mail address")

    def check_id(self, el: _Element) -> None:
        self.attributes(el)
        if self.no_child_elements(el):
            problem = _absolute_iri_problem(_text(el))
            if problem:
                self.report(el, problem)

    def check_date(self, el: _Element) -> None:
        self.attributes(el)
        if self.no_child_elements(el):
            problem = _rfc3339_problem(_text(el))
            if problem:
                self.report(el, problem)

    def check_uri_element(self, el: _Element) -> None:
        self.attributes(el)
        if self.no_child_elements(el):
            value = _text(el)
            problem = "is empty" if not value.strip() else _iri_problem(value)
            if problem:
                self.report(el, f"{value!r} {problem}" if value.strip() else problem)

    def check_generator(self, el: _Element) -> None:
        self.attributes(el)
        self.no_child_elements(el)
        uri = el.get("uri")
        if uri is not None:
            problem = _iri_problem(uri)
            if problem:
                self.report(el, f"uri {uri!r} {problem}")

    def check_category(self, el: _Element) -> None:
        self.attributes(el)
        term = el.get("term")
        if term is None:
            self.report(el, "missing term attribute")
        elif not term.strip():
            self.report(el, "empty term attribute")
        scheme = el.get("scheme")
        if scheme is not None:
            problem = _iri_problem(scheme)
            if problem:
                self.report(el, f"scheme {scheme!r} {problem}")
        self.no_atom_children(el)

    def check_link(self, el: _Element) -> None:
        self.attributes(el)
        href = el.get("href")
        if href is None:
            self.report(el, "missing href attribute")
        else:
            problem = _iri_problem(href)
            if problem:
                self.report(el, f"href {href!r} {problem}")
        rel = el.get("rel")
        if rel is not None and _LINK_REL_NAME.fullmatch(rel) is None:
            problem = _absolute_iri_problem(rel)
            if problem:
                self.report(el, f"rel {rel!r} is neither a registered name nor an absolute IRI")
        link_type = el.get("type")
        if link_type is not None:
            problem = _media_type_problem(link_type)
            if problem:
                self.report(el, f"type {problem}")
        hreflang = el.get("hreflang")
        if hreflang is not None:
            problem = _language_tag_problem(hreflang, allow_empty=False)
            if problem:
                self.report(el, f"hreflang {problem}")
        length = el.get("length")
        if length is not None and _NON_NEGATIVE_INTEGER.fullmatch(length) is None:
            self.report(el, f"length {length!r} is not a non-negative integer")
        self.no_atom_children(el)

    def no_atom_children(self, el: _Element) -> None:
        """atom:link and atom:category hold only undefinedContent (foreign markup)."""
        for child in _elements(el):
            if _ns(child) == NS_ATOM:
                self.report(child, f"unknown or misplaced Atom element atom:{_local(child)}")

    def check_text_construct(self, el: _Element) -> None:
        """RFC 4287 section 3.1 (title, subtitle, summary, rights)."""
        self.attributes(el)
        text_type = el.get("type", "text")
        if text_type not in ("text", "html", "xhtml"):
            self.report(el, f"type={text_type!r} is not one of 'text', 'html', 'xhtml'")
            return
        self.text_body(el, text_type)

    def text_body(self, el: _Element, text_type: str) -> None:
        if text_type == "xhtml":
            kids = _elements(el)
            stray_text = _text(el).strip()
            if len(kids) != 1 or kids[0].tag != f"{{{NS_XHTML}}}div" or stray_text:
                self.report(
                    el, "type='xhtml' requires exactly one xhtml:div child (and no other content)"
                )
        else:
            self.no_child_elements(el, f" when type={text_type!r}")

    def check_content(self, el: _Element) -> None:
        """RFC 4287 section 4.1.3."""
        self.attributes(el)
        content_type = el.get("type", "text")
        src = el.get("src")
        if src is not None:
            problem = _iri_problem(src)
            if problem:
                self.report(el, f"src {src!r} {problem}")
            if content_type in ("text", "html", "xhtml"):
                self.report(el, f"has src, so type must be a MIME media type, not {content_type!r}")
            elif problem := _media_type_problem(content_type):
                self.report(el, f"type {problem}")
            if _elements(el) or _text(el).strip():
                self.report(el, "has src, so it must be empty")
            return
        if content_type in ("text", "html", "xhtml"):
            self.text_body(el, content_type)
            return
        problem = _media_type_problem(content_type)
        if problem:
            self.report(el, f"type {problem} (and not 'text', 'html' or 'xhtml')")
            return
        major = content_type.split("/", 1)[0].strip().lower()
        if major in ("multipart", "message"):
            self.report(el, f"type={content_type!r} is a composite media type")
        elif _is_xml_media_type(content_type):
            pass  # may contain any markup
        elif major == "text":
            self.no_child_elements(el, f" when type={content_type!r}")
        elif self.no_child_elements(el, f" when type={content_type!r}"):
            payload = re.sub(r"\s+", "", _text(el))
            try:
                base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                self.report(el, f"type={content_type!r} requires Base64 content")


def _essence(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _is_xml_media_type(media_type: str) -> bool:
    essence = _essence(media_type)
    return essence.endswith(("+xml", "/xml")) or essence in (
        "application/xml-external-parsed-entity",
        "application/xml-dtd",
        "text/xml-external-parsed-entity",
    )


def _is_base64_media_type(media_type: str) -> bool:
    """RFC 4287 section 4.1.3.3 item 6: neither text, html, xhtml, text/*, nor XML."""
    if media_type in ("text", "html", "xhtml") or _MEDIA_TYPE.fullmatch(media_type) is None:
        return False
    return not (_essence(media_type).startswith("text/") or _is_xml_media_type(media_type))


def atom_violations(document: bytes) -> list[str]:
    """Every RFC 4287 violation found in an Atom feed document; [] means conformant."""
    out: list[str] = []
    root = _parse_xml(document, out)
    if root is None:
        return out
    if root.tag != f"{{{NS_ATOM}}}feed":
        out.append(f"document: root element is {root.tag!r}, not {{{NS_ATOM}}}feed")
        return out
    checker = _Atom()
    checker.check_feed(root)
    out.extend(checker.out)
    _check_language_and_base(root, checker.path, out)
    return out


# --------------------------------------------------------------------------- RSS 2.0

_RSS_CHANNEL_CHILDREN = frozenset(
    {
        "title",
        "link",
        "description",
        "language",
        "copyright",
        "managingEditor",
        "webMaster",
        "pubDate",
        "lastBuildDate",
        "category",
        "generator",
        "docs",
        "cloud",
        "ttl",
        "image",
        "rating",
        "textInput",
        "skipHours",
        "skipDays",
        "item",
    }
)
_RSS_CHANNEL_AT_MOST_ONE = (
    "language",
    "copyright",
    "managingEditor",
    "webMaster",
    "pubDate",
    "lastBuildDate",
    "generator",
    "docs",
    "cloud",
    "ttl",
    "image",
    "rating",
    "textInput",
    "skipHours",
    "skipDays",
)
_RSS_ITEM_CHILDREN = frozenset(
    {
        "title",
        "link",
        "description",
        "author",
        "category",
        "comments",
        "enclosure",
        "guid",
        "pubDate",
        "source",
    }
)
_RSS_ITEM_AT_MOST_ONE = (
    "title",
    "link",
    "description",
    "author",
    "comments",
    "guid",
    "pubDate",
    "source",
)
# Elements whose content is plain character data (escaped HTML at most).
_RSS_TEXT_ELEMENTS = frozenset(
    {
        "title",
        "link",
        "description",
        "language",
        "copyright",
        "managingEditor",
        "webMaster",
        "pubDate",
        "lastBuildDate",
        "category",
        "generator",
        "docs",
        "ttl",
        "rating",
        "author",
        "comments",
        "guid",
        "source",
    }
)


class _Rss:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.path = _RssPaths()

    def report(self, el: _Element, message: str) -> None:
        self.out.append(f"{self.path(el)}: {message}")

    def children(self, el: _Element, allowed: frozenset[str]) -> dict[str, list[_Element]]:
        found: dict[str, list[_Element]] = {}
        for child in _elements(el):
            if _ns(child) is not None:
                continue  # namespaced extension (content:encoded, dc:creator, atom:link, ...)
            local = _local(child)
            if local not in allowed:
                self.report(child, f"unknown element <{local}> (extensions need a namespace)")
                continue
            found.setdefault(local, []).append(child)
            if local in _RSS_TEXT_ELEMENTS:
                kids = _elements(child)
                if kids:
                    self.report(
                        child,
                        f"must not contain child elements (found "
                        f"{_local(kids[0])!r}; escape markup instead)",
                    )
        return found

    def at_most_one(
        self, el: _Element, found: dict[str, list[_Element]], names: Iterable[str]
    ) -> None:
        for name in names:
            if len(found.get(name, [])) > 1:
                self.report(el, f"more than one <{name}> ({len(found[name])})")

    def date(self, el: _Element) -> None:
        problem = _rfc822_problem(_text(el))
        if problem:
            self.report(el, problem)

    def url(self, el: _Element, value: str, what: str = "") -> None:
        problem = _http_url_problem(value.strip())
        if problem:
            self.report(el, f"{what}{problem}")

    def check_channel(self, channel: _Element) -> None:
        found = self.children(channel, _RSS_CHANNEL_CHILDREN)
        for name in ("title", "link", "description"):
            count = len(found.get(name, []))
            if count == 0:
                self.report(channel, f"missing <{name}>")
            elif count > 1:
                self.report(channel, f"more than one <{name}> ({count})")
        self.at_most_one(channel, found, _RSS_CHANNEL_AT_MOST_ONE)
        for link in found.get("link", []):
            self.url(link, _text(link))
        for name in ("pubDate", "lastBuildDate"):
            for el in found.get(name, []):
                self.date(el)
        for ttl in found.get("ttl", []):
            if _NON_NEGATIVE_INTEGER.fullmatch(_text(ttl).strip()) is None:
                self.report(ttl, f"{_text(ttl)!r} is not a non-negative integer")
        for language in found.get("language", []):
            problem = _language_tag_problem(_text(language).strip(), allow_empty=False)
            if problem:
                self.report(language, problem)
        for image in found.get("image", []):
            self.check_image(image)

        atom_links = [child for child in _elements(channel) if child.tag == f"{{{NS_ATOM}}}link"]
        for link in atom_links:
            href = link.get("href")
            if href is None:
                self.report(link, "missing href attribute")
            elif problem := _absolute_iri_problem(href):
                self.report(link, f"href {problem}")
        if not any(_link_rel(link) == "self" for link in atom_links):
            self.report(channel, 'missing atom:link rel="self"')

        for item in found.get("item", []):
            self.check_item(item)

    def check_image(self, image: _Element) -> None:
        found: dict[str, list[_Element]] = {}
        for child in _elements(image):
            if _ns(child) is None:
                found.setdefault(_local(child), []).append(child)
        for name in ("url", "title", "link"):
            if not found.get(name):
                self.report(image, f"missing <{name}>")
        for name in ("url", "link"):
            for el in found.get(name, []):
                self.url(el, _text(el))
        for name, limit in (("width", 144), ("height", 400)):
            for el in found.get(name, []):
                value = _text(el).strip()
                if _NON_NEGATIVE_INTEGER.fullmatch(value) is None or int(value) > limit:
                    self.report(el, f"{value!r} is not an integer between 0 and {limit}")

    def check_item(self, item: _Element) -> None:
        found = self.children(item, _RSS_ITEM_CHILDREN)
        self.at_most_one(item, found, _RSS_ITEM_AT_MOST_ONE)
        if not found.get("title") and not found.get("description"):
            self.report(item, "needs at least a <title> or a <description>")
        for name in ("link", "comments"):
            for el in found.get(name, []):
                self.url(el, _text(el))
        for el in found.get("pubDate", []):
            self.date(el)
        for author in found.get("author", []):
            if "@" not in _text(author):
                self.report(author, f"{_text(author)!r} is not an e-mail address")
        for guid in found.get("guid", []):
            self.check_guid(guid)
        for enclosure in found.get("enclosure", []):
            self.check_enclosure(enclosure)
        for source in found.get("source", []):
            url = source.get("url")
            if url is None:
                self.report(source, "missing url attribute")
            else:
                self.url(source, url, "url ")

    def check_guid(self, guid: _Element) -> None:
        value = _text(guid).strip()
        if not value:
            self.report(guid, "is empty")
        permalink = guid.get("isPermaLink", "true")
        if permalink not in ("true", "false"):
            self.report(guid, f"isPermaLink={permalink!r} must be 'true' or 'false'")
        elif permalink == "true" and value:
            problem = _http_url_problem(value)
            if problem:
                self.report(guid, f"is a permalink (isPermaLink true or absent) but {problem}")

    def check_enclosure(self, enclosure: _Element) -> None:
        url = enclosure.get("url")
        if url is None:
            self.report(enclosure, "missing url attribute")
        else:
            self.url(enclosure, url, "url ")
        length = enclosure.get("length")
        if length is None:
            self.report(enclosure, "missing length attribute")
        elif _NON_NEGATIVE_INTEGER.fullmatch(length) is None:
            self.report(enclosure, f"length {length!r} is not a non-negative integer")
        enclosure_type = enclosure.get("type")
        if enclosure_type is None:
            self.report(enclosure, "missing type attribute")
        elif problem := _media_type_problem(enclosure_type):
            self.report(enclosure, f"type {problem}")


def rss_violations(document: bytes) -> list[str]:
    """Every RSS 2.0 violation found in ``document``; [] means conformant."""
    out: list[str] = []
    root = _parse_xml(document, out)
    if root is None:
        return out
    if root.tag != "rss":
        out.append(f"document: root element is {root.tag!r}, not rss")
        return out
    checker = _Rss()
    version = root.get("version")
    if version != "2.0":
        checker.report(root, f"version={version!r}, expected '2.0'")
    for child in _elements(root):
        if _ns(child) is None and _local(child) != "channel":
            checker.report(
                child, f"unknown element <{_local(child)}> (extensions need a namespace)"
            )
    channels = [child for child in _elements(root) if child.tag == "channel"]
    if len(channels) != 1:
        checker.report(root, f"must contain exactly one <channel> (found {len(channels)})")
    for channel in channels:
        checker.check_channel(channel)
    out.extend(checker.out)
    return out


# --------------------------------------------------------------------------- JSON Feed 1.1

_JSON_TOP_KEYS = frozenset(
    {
        "version",
        "title",
        "home_page_url",
        "feed_url",
        "description",
        "user_comment",
        "next_url",
        "icon",
        "favicon",
        "authors",
        "author",
        "language",
        "expired",
        "hubs",
        "items",
    }
)
_JSON_ITEM_KEYS = frozenset(
    {
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "image",
        "banner_image",
        "date_published",
        "date_modified",
        "authors",
        "author",
        "tags",
        "language",
        "attachments",
    }
)
_JSON_AUTHOR_KEYS = frozenset({"name", "url", "avatar"})
_JSON_ATTACHMENT_KEYS = frozenset(
    {"url", "mime_type", "title", "size_in_bytes", "duration_in_seconds"}
)
_JSON_HUB_KEYS = frozenset({"type", "url"})


def _join(path: str, key: str) -> str:
    """JSON location of ``key`` inside the object at ``path`` ("" is the top level)."""
    return f"{path}.{key}" if path else key


class _JsonFeed:
    def __init__(self) -> None:
        self.out: list[str] = []

    def report(self, path: str, message: str) -> None:
        self.out.append(f"{path or 'feed'}: {message}")

    def keys(self, obj: dict[str, Any], path: str, known: frozenset[str]) -> None:
        for key in obj:
            if key not in known and not key.startswith("_"):
                self.report(path, f"unknown key {key!r} (extension keys must start with '_')")

    def string(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> bool:
        """Check ``obj[key]`` is a string; True if it is present and a string."""
        if key not in obj:
            if required:
                self.report(path, f"missing required {key!r}")
            return False
        if not isinstance(obj[key], str):
            self.report(_join(path, key), f"must be a string, not {type(obj[key]).__name__}")
            return False
        return True

    def url(self, obj: dict[str, Any], key: str, path: str, *, http_only: bool) -> None:
        if self.string(obj, key, path):
            problem = (_http_url_problem if http_only else _absolute_iri_problem)(obj[key])
            if problem:
                self.report(_join(path, key), problem)

    def date(self, obj: dict[str, Any], key: str, path: str) -> None:
        if self.string(obj, key, path):
            problem = _rfc3339_problem(obj[key], uppercase_only=False)
            if problem:
                self.report(_join(path, key), problem)

    def language(self, obj: dict[str, Any], path: str) -> None:
        if self.string(obj, "language", path):
            problem = _language_tag_problem(obj["language"], allow_empty=False)
            if problem:
                self.report(_join(path, "language"), problem)

    def array_of_objects(
        self, obj: dict[str, Any], key: str, path: str, *, required: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        if key not in obj:
            if required:
                self.report(path, f"missing required {key!r}")
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.report(_join(path, key), f"must be an array, not {type(value).__name__}")
            return []
        result: list[tuple[str, dict[str, Any]]] = []
        for index, member in enumerate(value):
            member_path = f"{_join(path, key)}[{index}]"
            if isinstance(member, dict):
                result.append((member_path, member))
            else:
                self.report(member_path, f"must be an object, not {type(member).__name__}")
        return result

    def author(self, author: dict[str, Any], path: str) -> None:
        self.keys(author, path, _JSON_AUTHOR_KEYS)
        if not any(key in author for key in ("name", "url", "avatar")):
            self.report(path, "author needs at least one of 'name', 'url', 'avatar'")
        self.string(author, "name", path)
        self.url(author, "url", path, http_only=False)
        self.url(author, "avatar", path, http_only=False)

    def authors(self, obj: dict[str, Any], path: str) -> None:
        for author_path, author in self.array_of_objects(obj, "authors", path):
            self.author(author, author_path)
        if "author" in obj:  # deprecated in 1.1 but still allowed for 1.0 readers
            author_path = _join(path, "author")
            if isinstance(obj["author"], dict):
                self.author(obj["author"], author_path)
            else:
                self.report(author_path, "must be an object")

    def check_feed(self, feed: dict[str, Any]) -> None:
        path = ""
        self.keys(feed, path, _JSON_TOP_KEYS)
        if feed.get("version") != JSONFEED_VERSION:
            self.report(path, f"version must be {JSONFEED_VERSION!r}, not {feed.get('version')!r}")
        self.string(feed, "title", path, required=True)
        for key in ("description", "user_comment"):
            self.string(feed, key, path)
        for key in ("home_page_url", "feed_url", "next_url"):
            self.url(feed, key, path, http_only=True)
        for key in ("icon", "favicon"):
            self.url(feed, key, path, http_only=False)
        self.language(feed, path)
        if "expired" in feed and not isinstance(feed["expired"], bool):
            self.report("expired", "must be a boolean")
        self.authors(feed, path)
        for hub_path, hub in self.array_of_objects(feed, "hubs", path):
            self.keys(hub, hub_path, _JSON_HUB_KEYS)
            self.string(hub, "type", hub_path, required=True)
            if self.string(hub, "url", hub_path, required=True):
                self.url(hub, "url", hub_path, http_only=False)
        if "items" in feed and not isinstance(feed["items"], list):
            self.report("items", f"must be an array, not {type(feed['items']).__name__}")
            return
        seen_ids: dict[str, str] = {}
        for item_path, item in self.array_of_objects(feed, "items", path, required=True):
            self.check_item(item, item_path, seen_ids)

    def check_item(self, item: dict[str, Any], path: str, seen_ids: dict[str, str]) -> None:
        self.keys(item, path, _JSON_ITEM_KEYS)
        if self.string(item, "id", path, required=True):
            item_id = item["id"]
            if not item_id:
                self.report(_join(path, "id"), "is empty")
            elif item_id in seen_ids:
                self.report(
                    _join(path, "id"), f"duplicate id {item_id!r} (also {seen_ids[item_id]})"
                )
            else:
                seen_ids[item_id] = path
        has_html = self.string(item, "content_html", path)
        has_text = self.string(item, "content_text", path)
        if not (has_html or has_text) and not ({"content_html", "content_text"} & item.keys()):
            self.report(path, "needs at least one of 'content_html', 'content_text'")
        for key in ("title", "summary"):
            self.string(item, key, path)
        for key in ("url", "external_url"):
            self.url(item, key, path, http_only=True)
        for key in ("image", "banner_image"):
            self.url(item, key, path, http_only=False)
        for key in ("date_published", "date_modified"):
            self.date(item, key, path)
        self.language(item, path)
        self.authors(item, path)
        if "tags" in item:
            tags = item["tags"]
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                self.report(_join(path, "tags"), "must be an array of strings")
        for attachment_path, attachment in self.array_of_objects(item, "attachments", path):
            self.check_attachment(attachment, attachment_path)

    def check_attachment(self, attachment: dict[str, Any], path: str) -> None:
        self.keys(attachment, path, _JSON_ATTACHMENT_KEYS)
        if self.string(attachment, "url", path, required=True):
            self.url(attachment, "url", path, http_only=False)
        if self.string(attachment, "mime_type", path, required=True):
            problem = _media_type_problem(attachment["mime_type"])
            if problem:
                self.report(f"{path}.mime_type", problem)
        self.string(attachment, "title", path)
        for key in ("size_in_bytes", "duration_in_seconds"):
            if key in attachment:
                value = attachment[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    self.report(_join(path, key), f"must be a non-negative number, not {value!r}")


def jsonfeed_violations(document: bytes) -> list[str]:
    """Every JSON Feed 1.1 violation found in ``document``; [] means conformant."""
    out: list[str] = []
    if document.startswith(codecs.BOM_UTF8):
        out.append("document: starts with a byte order mark (RFC 8259 section 8.1)")
        document = document[len(codecs.BOM_UTF8) :]
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.append(f"document: not valid UTF-8: {exc}")
        return out

    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value")

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=reject_constant)
    except ValueError as exc:
        out.append(f"document: not valid JSON: {exc}")
        return out
    out.extend(f"document: duplicate object key {key!r}" for key in duplicates)
    if not isinstance(data, dict):
        out.append(f"document: top level must be a JSON object, not {type(data).__name__}")
        return out
    checker = _JsonFeed()
    checker.check_feed(data)
    out.extend(checker.out)
    return out


# --------------------------------------------------------------------------- assertions


def _fail(kind: str, problems: list[str]) -> None:
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise AssertionError(f"{kind} document is not valid ({len(problems)} problems):\n{listing}")


def _feedparser_problems(document: bytes, expected_version: str) -> list[str]:
    parsed = feedparser.parse(io.BytesIO(document))
    problems: list[str] = []
    if parsed.get("bozo"):
        problems.append(f"feedparser: bozo=1 ({parsed.get('bozo_exception')!r})")
    if parsed.get("version") != expected_version:
        problems.append(
            f"feedparser: version {parsed.get('version')!r}, expected {expected_version!r}"
        )
    return problems


def assert_valid_atom(document: bytes) -> None:
    """Raise AssertionError unless ``document`` is a conformant Atom 1.0 feed."""
    _fail("Atom", atom_violations(document) + _feedparser_problems(document, "atom10"))


def assert_valid_rss(document: bytes) -> None:
    """Raise AssertionError unless ``document`` is a conformant RSS 2.0 feed."""
    _fail("RSS", rss_violations(document) + _feedparser_problems(document, "rss20"))


def assert_valid_jsonfeed(document: bytes) -> None:
    """Raise AssertionError unless ``document`` is a conformant JSON Feed 1.1 document.

    (feedparser 6.0 does not read JSON Feed, so there is no second opinion here.)
    """
    _fail("JSON Feed", jsonfeed_violations(document))
