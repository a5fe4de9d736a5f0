"""An HTML page to a raw feed: one entry per element the source's `item` selector picks.

Selectors are CSS (lxml's cssselect) or XPath (``xpath:...``, lxml's own), read inside the
item: `title` and `summary` give their text, `link` its ``href``, `date` its ``datetime``
attribute else its text, `image` its ``src``. CSS matches the item itself too (cssselect
reads ``descendant-or-self``), so ``link = "a"`` on an item that is a link gives its own
href. Script, style and template elements are removed before anything is read: their
text is never an entry's. Links and images resolve against the page (its ``<base href>``,
as in a browser), and only http(s) ones are kept; an entry's id is its link. What the
text says is untrusted: the normaliser escapes and caps it like any feed's.
"""

from __future__ import annotations

import functools
import html
import mimetypes
from collections.abc import Callable, Mapping
from datetime import tzinfo
from urllib.parse import urljoin, urlsplit

import lxml.html
from cssselect import SelectorError as CssSelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from feeds.model import Enclosure, RawEntry, RawFeed
from feeds.normalise import limits
from feeds.normalise.dates import read_formatted_date
from feeds.parse.charset import for_lxml, html_encoding
from feeds.parse.feed import ParseError
from feeds.sources.page_kind import PageOptions
from feeds.web_url import is_web_url

XPATH_PREFIX = "xpath:"
_NOT_CONTENT = ("script", "style", "template", "noscript")
_TEXT_READ = 4 * limits.SUMMARY  # characters of an element's text: more than a field keeps

Selector = Callable[[etree._Element], list[object]]


class SelectorError(ValueError):
    """A selector that does not compile; the message names it."""


@functools.lru_cache(maxsize=256)
def compile_selector(text: str) -> Selector:
    """A CSS selector, or an XPath expression after ``xpath:``, as a function of an element
    to what it selects there. Raises SelectorError for one that does not compile."""
    if text.startswith(XPATH_PREFIX):
        expression = text[len(XPATH_PREFIX) :].strip()
        try:
            xpath = etree.XPath(expression, smart_strings=False)
        except etree.XPathSyntaxError as exc:
            raise SelectorError(f"invalid XPath {expression!r}: {exc}") from None
        return lambda element: _as_list(xpath(element))
    try:
        css = CSSSelector(text, translator="html")
    except CssSelectorError as exc:
        raise SelectorError(f"invalid CSS selector {text!r}: {exc}") from None
    return lambda element: _as_list(css(element))


def _as_list(result: object) -> list[object]:
    # XPath may give a node set, a string, a number or a boolean.
    return list(result) if isinstance(result, list) else [result]


def parse_page(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    options: PageOptions,
    zone: tzinfo,
) -> RawFeed:
    """Entries from a list page at `url` (its final URL); dates without a zone are in
    `zone`. Raises ParseError when the page cannot be read or `item` matches nothing."""
    root, cut = _document(body, headers)
    etree.strip_elements(root, *_NOT_CONTENT, with_tail=False)
    items = [e for e in _select(options.item, root, "item") if isinstance(e, etree._Element)]
    if not items:
        why = f"; {cut}" if cut else ""
        raise ParseError(f"item selector {options.item!r} matched nothing on the page{why}")
    warnings = [cut] if cut else []
    if len(items) > limits.PAGE_ITEMS:
        warnings.append(f"{len(items)} items on the page, read the first {limits.PAGE_ITEMS}")
    base = _base(root, url)
    entries = tuple(_entry(item, url, base, options, zone) for item in items[: limits.PAGE_ITEMS])
    title_element = root.find(".//title")
    return RawFeed(
        entries,
        title=_text(title_element) if title_element is not None else None,
        link=url,
        language=root.get("lang"),
        warnings=tuple(warnings),
    )


def _document(body: bytes, headers: Mapping[str, str]) -> tuple[etree._Element, str | None]:
    """The page's tree, and why the parser read only part of it (or None)."""
    # As discovery reads a page: libxml2 takes Latin-1 where no charset is named, which
    # made mojibake of every title of a UTF-8 page that names none.
    body, encoding = for_lxml(body, html_encoding(body, headers.get("content-type")))
    parser = lxml.html.HTMLParser(
        encoding=encoding, remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        root = lxml.html.document_fromstring(body, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not an HTML page: {exc}") from None
    # libxml2 stops at 256 levels of nesting (we never ask for more): the rest is unread.
    deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    return root, "the page is nested too deeply, read only up to 256 levels" if deep else None


def _select(selector: str, element: etree._Element, key: str) -> list[object]:
    try:
        return compile_selector(selector)(element)
    except etree.XPathError as exc:  # compiles, but fails on this page (an unknown function)
        raise ParseError(f"{key} selector {selector!r} failed: {exc}") from None


def _base(root: etree._Element, url: str) -> str:
    """What the page's relative links resolve against, as a browser resolves them: its
    first ``<base href>`` (against `url`) when that is an http(s) URL, else `url`."""
    found = root.find(".//base[@href]")
    return (_web_url(url, found.get("href")) if found is not None else None) or url


def _entry(
    item: etree._Element, page: str, base: str, options: PageOptions, zone: tzinfo
) -> RawEntry:
    title = _first_text(options.title, item, "title")
    link = _web_url(base, _first_attribute(options.link, item, "link", "href"))
    published = _first_date(options.date, item) if options.date else None
    guess = None
    if published and options.date_format:
        guess = read_formatted_date(published, options.date_format, zone)
        published = None if guess is not None else published
    summary = _first_text(options.summary, item, "summary") if options.summary else None
    image = None
    if options.image:
        image = _web_url(base, _first_attribute(options.image, item, "image", "src"))
    enclosures = (Enclosure(image, mimetypes.guess_type(urlsplit(image).path)[0]),) if image else ()
    return RawEntry(
        entry_id=link,
        title=title,
        title_is_html=False,
        link=link,
        summary_html=html.escape(summary, quote=False) if summary else None,
        base_url=base,
        published=published,
        published_guess=guess,
        enclosures=enclosures,
        location=page,
    )


def _first(selector: str, item: etree._Element, key: str) -> object | None:
    found = _select(selector, item, key)
    return found[0] if found else None


def _first_text(selector: str, item: etree._Element, key: str) -> str | None:
    found = _first(selector, item, key)
    text = _text(found) if isinstance(found, etree._Element) else _string(found)
    return text or None


def _first_attribute(selector: str, item: etree._Element, key: str, name: str) -> str | None:
    for found in _select(selector, item, key):
        if isinstance(found, etree._Element):
            value = found.get(name)
            if value:
                return value
        elif (text := _string(found)) is not None:
            return text
    return None


def _first_date(selector: str, item: etree._Element) -> str | None:
    found = _first(selector, item, "date")
    if isinstance(found, etree._Element):
        return (found.get("datetime") or "").strip() or _text(found) or None
    return _string(found)


def _text(element: etree._Element) -> str:
    # Whitespace as a browser shows it: runs become one space. Read up to `_TEXT_READ`
    # characters: an item may hold the rest of the page (items nested in items, 250 deep,
    # each title the whole subtree's text), and no field keeps more.
    parts: list[str] = []
    size = 0
    for part in element.itertext():
        parts.append(str(part)[:_TEXT_READ])
        size += len(parts[-1])
        if size >= _TEXT_READ:
            break
    return " ".join(" ".join(parts).split())


def _string(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return " ".join(str(value).split()) or None


def _web_url(page: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        url = urljoin(page, value.strip())
    except ValueError:  # "http://[" and the like
        return None
    return url if is_web_url(url) and len(url) <= limits.LINK else None
