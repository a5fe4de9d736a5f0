"""The one sanitising policy for HTML we republish, and HTML-to-text for plain-text fields.

Feed content is untrusted: it reaches readers' screens through our output. nh3 (ammonia)
parses it like a browser would and keeps only what the policy below allows.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

from feeds.web_url import URL_SAFE, is_web_url, kept_when_joined
from feeds.xml_chars import strip_illegal_xml

# Tags and attributes beyond nh3's conservative defaults; nothing that runs code, loads
# frames or can overlay the reader's page (no iframe, object, embed, form, style, svg).
_EXTRA_ATTRIBUTES = {"a": {"title"}, "img": {"title"}, "abbr": {"title"}}
# `cite` holds a URL that ammonia does not treat as one (no scheme check): not kept.
_ATTRIBUTES = {
    tag: (set(attrs) - {"cite"}) | _EXTRA_ATTRIBUTES.get(tag, set())
    for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()
} | {tag: attrs for tag, attrs in _EXTRA_ATTRIBUTES.items() if tag not in nh3.ALLOWED_ATTRIBUTES}
_TAGS = set(nh3.ALLOWED_TAGS)
# Elements whose text is code or styling, not content: dropped with what is inside them.
_DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed"}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Keeps no tag, only text: built once, not on every call as nh3.clean() builds its own.
_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=_DROP_WITH_CONTENT)

_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote|/pre|hr)\b[^>]*>", re.I)
_WHITESPACE = re.compile(r"\s+")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_BAD_HOST = re.compile(r'[\s"<>\\^`{|}%\x00-\x1f\x7f-\x9f]')  # controls, and % too


@lru_cache(maxsize=256)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    # One cleaner per base URL (every entry of a feed has the same): relative links are
    # resolved by ammonia itself, and without an absolute base they cannot work in a
    # reader, so they are dropped.
    base = safe_url(base_url)
    try:
        return _new_cleaner(("rewrite_with_base", base) if base else "deny")
    except ValueError:  # a base ammonia's URL parser refuses: relative links are dropped
        return _new_cleaner("deny")


def _new_cleaner(
    url_relative: Literal["deny"] | tuple[Literal["rewrite_with_base"], str],
) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        clean_content_tags=_DROP_WITH_CONTENT,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
        url_relative=url_relative,
    )


def sanitise_html(fragment: str, base_url: str | None) -> str:
    """Untrusted HTML to HTML safe to republish, relative URLs resolved against `base_url`."""
    legal = strip_illegal_xml(fragment)
    cleaned = _cleaner(base_url).clean(legal)
    # Stripped again after cleaning when it has numeric references: ammonia decodes ones
    # like &#1; into characters XML cannot carry (no named one is such a character), and
    # one of those would make a whole feed unrenderable.
    return (strip_illegal_xml(cleaned) if "&#" in legal else cleaned).strip()


def holds_no_markup(text: str) -> bool:
    """Whether an HTML parser reads all of `text` as the text it is: no tag, no character
    reference and no byte-order mark (one that starts a document is dropped)."""
    return "<" not in text and "&" not in text and "\ufeff" not in text


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment on one line: tags dropped, entities decoded."""
    if holds_no_markup(fragment):
        return clean_text(fragment)  # what parsing it gives, without the parser's cost
    return _parsed_text(fragment)


def _parsed_text(fragment: str) -> str:
    spaced = _BLOCK_END.sub(" ", strip_illegal_xml(fragment))
    text = html.unescape(_TEXT_ONLY.clean(spaced))
    return _WHITESPACE.sub(" ", strip_illegal_xml(text)).strip()


def clean_text(text: str) -> str:
    """A plain-text field as published: illegal characters gone, whitespace folded."""
    if text.isprintable() and "  " not in text:
        # Printable text has no XML-illegal character and no whitespace but the space.
        return text.strip()
    return _WHITESPACE.sub(" ", strip_illegal_xml(text)).strip()


def safe_url(url: str | None, base_url: str | None = None) -> str | None:
    """An absolute http(s) URL, resolved against `base_url`; None for anything else."""
    if not url:
        return None
    candidate = clean_text(url)
    if kept_when_joined(candidate, base_url):
        return candidate  # what the general rules below give for it, for less work
    return _resolved_url(candidate, base_url)


def _resolved_url(candidate: str, base_url: str | None) -> str | None:
    try:
        if base_url:
            candidate = urljoin(base_url, candidate)
        parts = urlsplit(candidate)
    except ValueError:  # "http://[" and the like
        return None
    if not is_web_url(candidate):
        return None
    if _BAD_HOST.search(parts.netloc):
        return None
    # Characters an IRI may not hold are escaped (a stray % too), so every output carries a
    # valid URL; the host is left alone.
    path, query, fragment = (
        quote(_LONE_PERCENT.sub("%25", piece), safe=URL_SAFE)
        for piece in (parts.path, parts.query, parts.fragment)
    )
    return urlunsplit((parts.scheme, parts.netloc, path, query, fragment))
