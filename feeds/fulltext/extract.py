"""The article text of a fetched page, in a worker process: readability-lxml finds the main
block (or the source's `content_selector` names it), the sanitiser cleans it and resolves
its URLs against the page, and the content cap bounds it.

readability-lxml was chosen over trafilatura by `bench/extract_quality.py` on our generated
site (README, "How it is built"): it kept every body and less boilerplate, faster, with a
far lighter dependency tree.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from readability import Document
from readability.readability import Unparseable

from feeds.model import Article, FullText, Source
from feeds.normalise import limits
from feeds.normalise.html import html_to_text, sanitise_html
from feeds.parse.page import compile_selector

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
        label = name.decode("ascii") if isinstance(name, bytes) else name
        try:
            return body.decode(codecs.lookup(label).name, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


def extract_article(page: Page, selector: str | None) -> str:
    """The sanitised HTML of the article on `page`, within the content cap; raises
    `ExtractionError` saying why there is none."""
    media_type = (page.content_type or "text/html").split(";")[0].strip().lower()
    if media_type not in HTML_TYPES:
        raise ExtractionError(f"not an HTML page ({media_type})")
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
    return "".join(lxml.html.tostring(element, encoding="unicode") for element in found)


@dataclass(frozen=True, slots=True)
class PageExtractor:
    """The pool half of full text: puts the article of one fetched page into its entry.

    An `Enricher` (module level, so it pickles into the workers); what fails to extract
    leaves the entry's content as the feed gave it, with the reason in `full_text`.
    """

    page: Page
    entry_hash: str  # the entry's content_hash as its feed gave it
    selector: str | None = None
    name: str = "full-text"

    def enrich(self, source: Source, articles: Sequence[Article]) -> Sequence[Article]:
        """Each of `articles` (one, in practice) with the page's article as its content."""
        return [self.apply(article) for article in articles]

    def apply(self, article: Article) -> Article:
        """`article` with the page's article text, or with why not."""
        try:
            content = extract_article(self.page, self.selector)
        except ExtractionError as exc:
            return replace(article, full_text=FullText(self.entry_hash, str(exc)))
        done = FullText(self.entry_hash, None, self.page.etag, self.page.last_modified)
        return replace(article, content=content, full_text=done)
