"""Plain-text fields (titles, summaries, author names, tags) from what feeds write in them.

Feeds put three things in these fields: text, HTML (entities, ``<b>``, sometimes a
``<script>``), and HTML escaped once more into text. A tag is markup only when its name is
an HTML element: ``<io_uring>``, ``Option<T>`` and ``a < b`` are text and stay, while
``<b>x</b>`` becomes ``x`` and ``<script>..</script>`` disappears with its contents, also
when it arrives escaped (``&lt;b&gt;``), once or twice.
"""

from __future__ import annotations

import re

from feeds.normalise.html import clean_text, holds_no_markup, html_to_text

# The HTML elements (the WHATWG list, with the obsolete ones feeds still carry and the SVG
# and MathML roots): a tag with another name is text, not markup.
HTML_ELEMENTS = frozenset({
    "a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b", "base",
    "basefont", "bdi", "bdo", "bgsound", "big", "blink", "blockquote", "body", "br", "button",
    "canvas", "caption", "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd",
    "del", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset",
    "figcaption", "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "image", "img", "input",
    "ins", "isindex", "kbd", "keygen", "label", "legend", "li", "link", "listing", "main", "map",
    "mark", "marquee", "math", "menu", "menuitem", "meta", "meter", "multicol", "nav", "nextid",
    "nobr", "noembed", "noframes", "noscript", "object", "ol", "optgroup", "option", "output",
    "p", "param", "picture", "plaintext", "portal", "pre", "progress", "q", "rb", "rp", "rt",
    "rtc", "ruby", "s", "samp", "script", "search", "section", "select", "slot", "small",
    "source", "spacer", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg",
    "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr",
    "track", "tt", "u", "ul", "var", "video", "wbr", "xmp",
})  # fmt: skip

# Decoding rounds beyond the first: markup escaped twice is still found, and a hostile
# value cannot make us loop.
_EXTRA_ROUNDS = 2
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])[^<>]*>")


def plain_text(value: str, *, is_html: bool = False) -> str:
    """The text of a plain-text field, on one line.

    `is_html`: the value is HTML (entities are decoded, markup removed). Otherwise it is
    text, and only markup of HTML elements in it (escaped markup, once decoded) is removed.
    """
    if holds_no_markup(value):
        return clean_text(value)  # text whichever `is_html` says, and no markup to find
    text = _strip_markup(value) if is_html else clean_text(value)
    for _ in range(_EXTRA_ROUNDS):
        if not _has_markup(text):
            break
        text = _strip_markup(text)
    return text


def _has_markup(text: str) -> bool:
    return any(match[2].lower() in HTML_ELEMENTS for match in _TAG.finditer(text))


def _strip_markup(fragment: str) -> str:
    """HTML to text, with every ``<`` that opens no HTML element's tag kept as text."""
    kept: list[str] = []
    position = 0
    for match in _TAG.finditer(fragment):
        if match[2].lower() not in HTML_ELEMENTS:
            continue
        kept.append(_escape_less_than(fragment[position : match.start()]))
        kept.append(match[0])
        position = match.end()
    kept.append(_escape_less_than(fragment[position:]))
    return html_to_text("".join(kept))


def _escape_less_than(text: str) -> str:
    # Comments stay markup (html_to_text drops them); any other "<" is text. Found with
    # find(), not a pattern: an unclosed "<!--" repeated must not cost quadratic time.
    pieces: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        pieces.append(text[position:start].replace("<", "&lt;"))
        pieces.append(text[start : end + 3])
        position = end + 3
    pieces.append(text[position:].replace("<", "&lt;"))
    return "".join(pieces)
