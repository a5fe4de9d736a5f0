"""Fuzz inputs: a corpus of valid feeds written by `feedfactory`, and ways to mutate them.

`MUTATIONS` are byte-level mutators ``(random.Random, body) -> body``: bit flips, inserted
and deleted bytes, truncation, duplicated / deleted / renamed elements, hostile text and
attribute values, entities and DOCTYPEs, changed prologs, re-encodings, BOMs, NULs, splices
of two feeds, and (`m_json`) structural JSON mutations. `mutate` draws one input for the
random loop, `corpus_mutations` is the hypothesis strategy of the same; `FEED_URLS` and
`HEADERS` are the URLs and response headers a body is parsed with.
"""

from __future__ import annotations

import codecs
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from support.feedfactory import (
    FeedItem,
    atom03,
    atom10,
    broken_rss,
    jsonfeed,
    rss091,
    rss10,
    rss20,
    sample_items,
)

MAX_BODY = 256 * 1024  # the longest fuzz input; mutated bodies are cut to it

FEED_URLS = (
    "https://example.com/feed.xml",
    "http://example.org/blog/feed/",
    "https://bücher.example/feed?format=rss&x=1",
    "http://127.0.0.1:8080/f",
    "https://example.com/a b/feed.xml",
)
HEADERS: tuple[dict[str, str] | None, ...] = (
    None,
    {},
    {"Content-Type": "application/rss+xml"},
    {"content-type": "application/atom+xml; charset=utf-8"},
    {"Content-Type": "text/xml; charset=iso-8859-1"},
    {"Content-Type": "application/xml; charset=windows-1252"},
    {"Content-Type": "application/xml; charset=utf-16"},
    {"Content-Type": "application/xml; charset=bogus-charset"},
    {"Content-Type": "text/html; charset=utf-8"},
    {"Content-Type": "application/json"},
    {"Content-Type": "application/feed+json"},
    {"Content-Type": "text/plain"},
    {"Content-Type": ""},
    {"CONTENT-TYPE": 'application/rss+xml; charset="UTF-8"'},
    {"Content-Location": "https://other.example/elsewhere/"},
    {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
)

# --------------------------------------------------------------------------- corpus


def _items() -> list[FeedItem]:
    berlin = timezone(timedelta(hours=2))
    odd = [
        FeedItem(
            id="urn:test:odd-1",
            title="Relative & <escaped> — „quotes“",
            link="/posts/odd-1",
            html=(
                '<p onclick="x()">Body <a href="rel/page.html">link</a> <img src="/i.png">'
                "<script>alert(1)</script></p>"
            ),
            summary="Ein Teaser mit <b>Markup</b>",
            published=datetime(2025, 5, 10, 11, 33, tzinfo=berlin),
            updated=datetime(2025, 5, 11, 8, 0, tzinfo=UTC),
            authors=("Jörg", "jorg@example.com"),
            tags=("a", "b", "a"),
            enclosures=(("ep1.mp3", "audio/mpeg", 1000),),
        ),
        FeedItem(id=None, title=None, link="https://example.com/no-id", text="plain\n\ntext"),
        FeedItem(
            id="42",
            title="",
            link=None,
            html="<p>only content</p>",
            published=datetime(2030, 1, 1, tzinfo=UTC),  # in the future: clamped
        ),
        FeedItem(id="urn:test:odd-1", title="Duplicate id", link="https://example.com/dup"),
    ]
    return [*sample_items(3), *odd]


def build_corpus() -> list[tuple[str, bytes]]:
    """Valid (and one deliberately broken) feeds in every format feedfactory writes."""
    items = _items()
    corpus: list[tuple[str, bytes]] = []
    for encoding in ("utf-8", "iso-8859-1", "windows-1252", "utf-16"):
        corpus += [
            (f"rss20/{encoding}", rss20(items, encoding=encoding)),
            (f"rss10/{encoding}", rss10(items, encoding=encoding)),
            (f"atom10/{encoding}", atom10(items, encoding=encoding)),
        ]
    corpus += [
        ("rss091", rss091(items)),
        (
            "atom10/xml-base",
            atom10(items, xml_base="https://example.net/base/", feed_authors=("F",)),
        ),
        ("atom03", atom03(items)),
        ("jsonfeed/1.1", jsonfeed(items, feed_authors=("Feed Author",))),
        ("jsonfeed/1.0", jsonfeed(items, version="1.0")),
        ("broken_rss", broken_rss(items, good=2)),
        ("rss20/empty", rss20([])),
        ("atom10/empty", atom10([])),
    ]
    return corpus


CORPUS = build_corpus()

# --------------------------------------------------------------------------- mutations

ENTITIES = (
    b"&",
    b"&amp;",
    b"&lt;",
    b"&nbsp;",
    b"&eacute;",
    b"&bogus;",
    b"&#0;",
    b"&#1;",
    b"&#x1;",
    b"&#x0B;",
    b"&#xD800;",
    b"&#xDFFF;",
    b"&#xFFFE;",
    b"&#65535;",
    b"&#1114112;",
    b"&#99999999999;",
    b"&#x80;",
    b"&#150;",
    b"&amp;#1;",
    b"&amp;#xFFFE;",
    b"&lt;p&gt;&amp;#1;&lt;/p&gt;",
    b"&lt;script&gt;alert(1)&lt;/script&gt;",
)
TOKENS = (
    b"<",
    b">",
    b"</",
    b"/>",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b'"',
    b"'",
    b"=",
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"\r",
    b"\r\n",
    b"\t",
    b"\x0b",
    b"\x1b[31m",
    b" ",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"</entry>",
    b"<channel>",
    b"</channel>",
    b"<feed>",
    b"<rss>",
    b'<link href="http://[::1"/>',
    b"<link>http://[</link>",
    b"<guid>&#1;</guid>",
    b'xml:base="http://[::1"',
    b'xml:lang="&#1;"',
    b'xml:lang="en US"',
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"1e999",
    b"-0",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff",
    b"\\u0001",
)
# Values that are text in a feed but hostile downstream: dates, URLs, types, ids.
HOSTILE_VALUES = (
    b"",
    b" ",
    b"&#1;",
    b"&#x1F;",
    b"\xc2\x85",
    b"&lt;p&gt;&amp;#1;&lt;/p&gt;",
    b"&lt;b&gt;unclosed",
    b"javascript:alert(1)",
    b"http://[",
    b"http://[::1",
    b"https://example.com/a b",
    b'https://example.com/"quoted"',
    b"https://example.com/100%",
    b"https://example.com/\xc2\x9f",
    b"/relative/path",
    b"//cdn.example.com/x.mp3",
    b"audio mpeg",
    b"audio",
    b"-5",
    b"99999999999999999999999",
    b"2025-05-10T11:33:00+01:00:30",
    b"Sat, 10 May 2025 11:33:00 +010030",
    b"Sat, 10 May 2025 11:33:00 XYZ",
    b"9999-12-31T23:59:59Z",
    b"0001-01-01T00:00:00Z",
    b"1970-01-01T00:00:00+14:00",
    b"2025-02-30",
    b"12345678901",
    b"de_DE",
    b"en US",
    b"x" * 5000,
)
ENCODINGS = (
    "utf-8",
    "UTF-8",
    "utf8",
    "iso-8859-1",
    "windows-1252",
    "us-ascii",
    "utf-16",
    "utf-16le",
    "utf-16be",
    "utf-32",
    "shift_jis",
    "euc-jp",
    "koi8-r",
    "gb2312",
    "big5",
    "cp037",
    "utf-7",
    "bogus-encoding",
    "",
)
BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8 * 2,
)
DOCTYPES = (
    b'<!DOCTYPE rss [<!ENTITY e "&#1;">]>',
    b'<!DOCTYPE feed [<!ENTITY e "<b>bold</b>">]>',
    b'<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY e "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    b'<!DOCTYPE rss SYSTEM "http://localhost:1/x.dtd">',
    b'<!DOCTYPE rss [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
)
_LEAF = re.compile(rb"<([A-Za-z][\w:.-]*)(\s[^<>]*)?>([^<]*)</\1>")
_ELEMENT_START = re.compile(rb"<[A-Za-z][\w:.-]*")
_ATTRIBUTE = re.compile(rb"""(\s[\w:.-]+\s*=\s*)(["'])(.*?)\2""")
_PROLOG = re.compile(rb"^\s*<\?xml[^>]*\?>")


def _choice_span(rnd: random.Random, pattern: re.Pattern[bytes], body: bytes) -> Any:
    matches = list(pattern.finditer(body[:MAX_BODY]))
    return rnd.choice(matches) if matches else None


def _at(rnd: random.Random, body: bytes) -> int:
    return rnd.randrange(len(body) + 1)


def m_flip(rnd: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rnd.randint(1, 8)):
        if data:
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    return bytes(data)


def m_random_bytes(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + rnd.randbytes(rnd.randint(1, 16)) + body[at:]


def m_token(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + rnd.choice(TOKENS) + body[at:]


def m_delete(rnd: random.Random, body: bytes) -> bytes:
    at = _at(rnd, body)
    return body[:at] + body[at + rnd.choice((1, 2, 8, 64, 512)) :]


def m_truncate(rnd: random.Random, body: bytes) -> bytes:
    return body[: _at(rnd, body)]


def m_entity(rnd: random.Random, body: bytes) -> bytes:
    """An entity or character reference inside some element's text."""
    leaf = _choice_span(rnd, _LEAF, body)
    at = leaf.start(3) + rnd.randint(0, len(leaf.group(3))) if leaf else _at(rnd, body)
    return body[:at] + rnd.choice(ENTITIES) + body[at:]


def m_text_value(rnd: random.Random, body: bytes) -> bytes:
    """Some element's text replaced by a hostile value."""
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is None:
        return m_token(rnd, body)
    return body[: leaf.start(3)] + rnd.choice(HOSTILE_VALUES) + body[leaf.end(3) :]


def m_attribute_value(rnd: random.Random, body: bytes) -> bytes:
    attribute = _choice_span(rnd, _ATTRIBUTE, body)
    if attribute is None:
        return m_text_value(rnd, body)
    value = rnd.choice(HOSTILE_VALUES).replace(b'"', b"&quot;")
    return body[: attribute.start(3)] + value + body[attribute.end(3) :]


def m_duplicate_element(rnd: random.Random, body: bytes) -> bytes:
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is None:
        return m_token(rnd, body)
    copies = leaf.group(0) * rnd.choice((1, 2, 50))
    return body[: leaf.end()] + copies + body[leaf.end() :]


def m_duplicate_item(rnd: random.Random, body: bytes) -> bytes:
    for open_tag, close_tag in ((b"<item", b"</item>"), (b"<entry", b"</entry>")):
        start = body.find(open_tag)
        end = body.find(close_tag, start)
        if start >= 0 and end > start:
            block = body[start : end + len(close_tag)]
            return body[:start] + block * rnd.randint(2, 4) + body[start:]
    return m_duplicate_element(rnd, body)


def m_delete_element(rnd: random.Random, body: bytes) -> bytes:
    leaf = _choice_span(rnd, _LEAF, body)
    return body[: leaf.start()] + body[leaf.end() :] if leaf else m_delete(rnd, body)


def m_rename_element(rnd: random.Random, body: bytes) -> bytes:
    start = _choice_span(rnd, _ELEMENT_START, body)
    if start is None:
        return m_token(rnd, body)
    name = rnd.choice((b"<item", b"<entry", b"<link", b"<guid", b"<id", b"<x:y", b"<html", b"<"))
    return body[: start.start()] + name + body[start.end() :]


def m_prolog(rnd: random.Random, body: bytes) -> bytes:
    """The XML prolog's encoding changed (the bytes stay as they are), dropped or added."""
    choice = rnd.random()
    encoding = rnd.choice(ENCODINGS).encode("ascii")
    prolog = b'<?xml version="1.0" encoding="' + encoding + b'"?>'
    if choice < 0.15:
        prolog = b""
    elif choice < 0.25:
        prolog = rnd.choice((b'<?xml version="1.1"?>', b"<?xml?>", b'<?xml encoding="utf-8"'))
    match = _PROLOG.match(body)
    if match:
        return prolog + body[match.end() :]
    return prolog + b"\n" + body


def m_reencode(rnd: random.Random, body: bytes) -> bytes:
    """The text re-encoded, with the prolog left, changed or matching."""
    text = body.decode("utf-8", "replace")
    encoding = rnd.choice(("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"))
    if rnd.random() < 0.5:
        text = re.sub(r'encoding="[^"]*"', f'encoding="{encoding}"', text, count=1)
    try:
        return text.encode(encoding, "xmlcharrefreplace")
    except (UnicodeError, LookupError):
        return body


def m_bom(rnd: random.Random, body: bytes) -> bytes:
    bom = rnd.choice(BOMS)
    return bom + body if rnd.random() < 0.8 else body[:1] + bom + body[1:]


def m_nul(rnd: random.Random, body: bytes) -> bytes:
    if rnd.random() < 0.3:  # NULs between bytes: UTF-16 without a BOM, or nonsense
        at = _at(rnd, body)
        tail = body[at : at + rnd.randint(1, 256)]
        return body[:at] + b"".join(bytes((b, 0)) for b in tail) + body[at + len(tail) :]
    at = _at(rnd, body)
    return body[:at] + b"\x00" * rnd.randint(1, 4) + body[at:]


def m_doctype(rnd: random.Random, body: bytes) -> bytes:
    doctype = rnd.choice(DOCTYPES)
    match = _PROLOG.match(body)
    at = match.end() if match else 0
    body = body[:at] + doctype + body[at:]
    leaf = _choice_span(rnd, _LEAF, body)
    if leaf is not None and b"ENTITY e" in doctype:
        body = body[: leaf.start(3)] + b"&e;" + body[leaf.start(3) :]
    return body


def m_splice(rnd: random.Random, body: bytes) -> bytes:
    other = rnd.choice(CORPUS)[1]
    return body[: _at(rnd, body)] + other[rnd.randrange(len(other)) :]


JSON_HOSTILE: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    10**30,
    1e308,
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\x01",
    "\ufffe",
    "&#1;",
    "<p>&#1;</p>",
    "<script>alert(1)</script>",
    "http://[::1",
    "https://example.com/a b",
    "javascript:alert(1)",
    "audio mpeg",
    "2025-05-10T11:33:00+01:00:30",
    "9999-12-31T23:59:59+00:00",
    [],
    {},
    [1, [2, [3]]],
    {"name": "\x01"},
    [{"url": "a b", "mime_type": "x", "size_in_bytes": -1}],
)


def m_json(rnd: random.Random, body: bytes) -> bytes:
    """A structural mutation of a JSON document: some value replaced, added or removed."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return m_token(rnd, body)
    holders: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict | list):
            holders.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(document)
    for _ in range(rnd.randint(1, 3)):
        holder = rnd.choice(holders)
        value = rnd.choice(JSON_HOSTILE)
        if isinstance(holder, dict):
            key = rnd.choice([*holder.keys(), "id", "title", "url", "content_html", "tags"])
            if rnd.random() < 0.15:
                holder.pop(key, None)
            else:
                holder[key] = value
        elif holder:
            holder[rnd.randrange(len(holder))] = value
        else:
            holder.append(value)
    ensure_ascii = rnd.random() < 0.7  # lone surrogates only survive as \\u escapes
    return json.dumps(document, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    m_flip,
    m_random_bytes,
    m_token,
    m_delete,
    m_truncate,
    m_entity,
    m_entity,
    m_text_value,
    m_text_value,
    m_text_value,
    m_attribute_value,
    m_attribute_value,
    m_duplicate_element,
    m_duplicate_item,
    m_delete_element,
    m_rename_element,
    m_prolog,
    m_reencode,
    m_bom,
    m_nul,
    m_doctype,
    m_splice,
)


def mutate(rnd: random.Random) -> tuple[str, bytes, str, dict[str, str] | None]:
    """One fuzz input: a corpus feed, 1-4 mutations, a URL and headers."""
    name, body = rnd.choice(CORPUS)
    applied = []
    for _ in range(rnd.choice((1, 1, 1, 2, 2, 3, 4))):
        if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and rnd.random() < 0.7:
            mutation = m_json
        else:
            mutation = rnd.choice(MUTATIONS)
        body = mutation(rnd, body)[:MAX_BODY]
        applied.append(mutation.__name__)
    url = FEED_URLS[0] if rnd.random() < 0.6 else rnd.choice(FEED_URLS)
    headers = None if rnd.random() < 0.4 else rnd.choice(HEADERS)
    return f"{name} + {', '.join(applied)}", body, url, headers


@st.composite
def corpus_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name, body = draw(st.sampled_from(CORPUS))
    applied = [name]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 4))
        at = draw(st.integers(0, len(body)))
        if kind == 0:
            body = body[:at] + draw(st.sampled_from(ENTITIES + TOKENS)) + body[at:]
        elif kind == 1:
            body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
        elif kind == 2:
            body = body[:at] + body[at + draw(st.integers(1, 64)) :]
        elif kind == 3:
            body = body[:at]
        else:
            mutation = draw(st.sampled_from(MUTATIONS))
            body = mutation(random.Random(draw(st.integers(0, 2**32))), body)
            applied.append(mutation.__name__)
    return " + ".join(applied), body
