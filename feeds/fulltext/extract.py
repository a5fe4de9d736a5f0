"""The article text of a fetched page, in a worker process: readability-lxml finds the main
block (or the source's `content_selector` names it), the sanitiser cleans it and resolves
its URLs against the page, and the content cap bounds it; an article split over pages is
joined page by page, each page naming the next (`next_page_of`).

readability-lxml was chosen over trafilatura by `bench/extract_quality.py` on our generated
site (README, "How it is built"): it kept every body and less boilerplate, faster, with a
far lighter dependency tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from readability import Document
from readability.readability import Unparseable

from feeds.normalise import limits
from feeds.normalise.html import html_to_text, safe_url, sanitise_html
from feeds.parse.charset import page_codec
from feeds.parse.page import compile_selector
from feeds.shorten import shorten
from feeds.terminal_text import terminal_safe

# Fewer words than this is a navigation block, a consent wall or an error page, not the
# article: the teaser is kept instead.
MIN_WORDS = 25
HTML_TYPES = ("text/html", "application/xhtml+xml")

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.I)
_SNIFF = 4096  # bytes of the page searched for a <meta charset>, as browsers do (1024+)


class ExtractionError(Exception):
    """The page has no article text we can publish; the message says why."""


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched article page: what the extraction needs, and its validators to store."""

    body: bytes
    url: str  # after redirects: what its relative links resolve against
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def decode_page(body: bytes, content_type: str | None) -> str:
    """The page's text: the header's charset, else its <meta charset>, else UTF-8."""
    for found in (
        _HEADER_CHARSET.search(content_type or ""),
        _CHARSET.search(body[:_SNIFF]),
    ):
        if found is None:
            continue
        name = found.group(1)
        codec = page_codec(name.decode("ascii") if isinstance(name, bytes) else name)
        if codec is not None:
            return body.decode(codec, errors="replace")
    return body.decode("utf-8", errors="replace")


def extract_article(page: Page, selector: str | None) -> str:
    """The sanitised HTML of the article on `page`, within the content cap; raises
    `ExtractionError` saying why there is none."""
    media_type = (page.content_type or "text/html").split(";")[0].strip().lower()
    if media_type not in HTML_TYPES:
        # The server's text, stored and shown: no control character, and short.
        raise ExtractionError(f"not an HTML page ({shorten(terminal_safe(media_type), 100)})")
    text = decode_page(page.body, page.content_type)
    if not text.strip():
        raise ExtractionError("the page is empty")
    fragment = _selected(text, selector) if selector is not None else _readable(text)
    cleaned = limits.fit_html(
        sanitise_html(fragment, page.url), lambda cut: sanitise_html(cut, page.url)
    )
    words = len(html_to_text(cleaned).split())
    if words < MIN_WORDS:
        where = f"content_selector {selector!r}" if selector is not None else "the page"
        raise ExtractionError(f"no article text in {where} ({words} words)")
    return cleaned


def _readable(text: str) -> str:
    try:
        return str(Document(text).summary(html_partial=True))
    except (Unparseable, lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable page: {exc}") from None


def _selected(text: str, selector: str) -> str:
    try:
        root = lxml.html.document_fromstring(text)
        found = [e for e in compile_selector(selector)(root) if isinstance(e, HtmlElement)]
    except (lxml.etree.ParserError, lxml.etree.XPathError, ValueError) as exc:
        raise ExtractionError(f"unparseable page or selector: {exc}") from None
    if not found:
        raise ExtractionError(f"content_selector {selector!r} matched nothing on the page")
    # Matches inside a match are in it already: taken again, a page nesting 250 matches
    # repeated its text 250 times (a 5 MB page took 9 GB to serialise).
    outermost: list[HtmlElement] = []
    for element in found:  # in page order: an element's descendants follow it
        if not outermost or outermost[-1] not in element.iterancestors():
            outermost.append(element)
    return "".join(lxml.html.tostring(element, encoding="unicode") for element in outermost)


@dataclass(frozen=True, slots=True)
class PageJob:
    """One fetched page of an article, for `read_page` in a worker: `before` is the
    article's text from the pages before this one ("" for its first page)."""

    page: Page
    selector: str | None = None
    before: str = ""


@dataclass(frozen=True, slots=True)
class PageText:
    """`read_page`'s answer: the article's text so far (the pages before and this one,
    within the content cap), or why this page has none; and the page the article goes on
    to, when this one links it (`next_page_of`)."""

    content: str | None = None
    error: str | None = None
    next_page: str | None = None


def read_page(job: PageJob) -> PageText:
    """The pool half of full text (a module-level function, so it pickles into the workers):
    the article on one fetched page, after the text of the pages before it."""
    try:
        text = extract_article(job.page, job.selector)
    except ExtractionError as exc:
        return PageText(error=str(exc))
    if job.before:
        if html_to_text(text) in html_to_text(job.before):  # a site that answers every
            return PageText(error="the text of a page before it again")  # number with one
        # Both halves are sanitised: joined, they only need fitting to the cap again.
        text = limits.fit_html(job.before + text, lambda cut: sanitise_html(cut, job.page.url))
    return PageText(text, None, next_page_of(job.page))


# Where a page names the next one: rel="next" on a <link> or an <a> (HTML's link type).
# The value is searched up to 200 bytes: unbounded, a page of "rel=rel=rel=..." took
# quadratic time (160 KB: 37 s).
_NEXT_HINT = re.compile(rb"""rel\s*=\s*["']?[^"'>]{0,200}?\bnext\b""", re.IGNORECASE)


def next_page_of(page: Page) -> str | None:
    """The page an article goes on to, as `page` links it: the first `<link>` or `<a>`
    whose rel names "next", resolved against the page (or its `<base href>`), without its
    fragment; None when it links none or not to an http(s) URL."""
    if _NEXT_HINT.search(page.body) is None:
        return None  # most pages: no second parse
    try:
        root = lxml.html.document_fromstring(decode_page(page.body, page.content_type))
    except (lxml.etree.ParserError, ValueError):
        return None
    base = next((b.get("href") for b in root.iter("base") if b.get("href")), None)
    base = safe_url(base, page.url) or page.url
    for element in root.iter("link", "a"):
        if "next" in (element.get("rel") or "").lower().split():
            found = safe_url(element.get("href"), base)
            return urldefrag(found).url if found is not None else None
    return None
