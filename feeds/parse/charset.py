"""The charset a page names (its Content-Type's, its ``<meta charset>``), read safely.

A page names its charset; Python and libxml2 each know a different set. Python knows
codecs that libxml2 does not (``euc-jp``, ``euc-kr``, ``iso-2022-jp``, ``utf-16le``,
``mac-roman``: lxml refuses them with LookupError when its parser is made), and codecs no
page is written in: ``undefined`` and ``idna`` refuse to decode at all, ``punycode`` takes
quadratic time, ``hex`` and ``base64`` give no text.
"""

from __future__ import annotations

import codecs
import functools

from lxml import etree

__all__ = ["for_lxml", "html_encoding", "page_codec"]

# Text encodings to Python that no page is in, and that would fail or stall its reading.
_NOT_FOR_PAGES = frozenset({"undefined", "idna", "punycode"})


def page_codec(label: str) -> str | None:
    """Python's name of the codec a page's charset `label` names, or None when it names
    none a page can be decoded with (unknown, not a text encoding, or one of those above)."""
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not info._is_text_encoding or info.name in _NOT_FOR_PAGES:
        return None
    return info.name


@functools.lru_cache(maxsize=64)
def _libxml2_knows(codec: str) -> bool:
    try:
        etree.HTMLParser(encoding=codec)
    except LookupError:
        return False
    return True


def for_lxml(body: bytes, codec: str | None) -> tuple[bytes, str | None]:
    """`body` and the encoding to make lxml's HTML parser with (a `page_codec` name, or
    None to let it find one): `codec` itself when libxml2 knows it, else the body decoded
    by Python and handed over as UTF-8."""
    if codec is None or _libxml2_knows(codec):
        return body, codec
    return body.decode(codec, errors="replace").encode("utf-8"), "utf-8"


def html_encoding(html: bytes, content_type: str | None) -> str | None:
    """The encoding of an HTML page: the Content-Type's charset (`page_codec`), else UTF-8
    if the bytes are that, else None (lxml reads a ``<meta charset>``, or takes Latin-1)."""
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            codec = page_codec(value.strip().strip("\"'"))
            if codec is not None:
                return codec
            break
    try:
        html.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"
