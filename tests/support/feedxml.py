"""What the feed generators share: namespaces, dates as feeds write them, XML writing.

`feedfactory` and `subscriber_corpus` build lxml trees with `sub` and `serialise`;
`wildcorpus` writes text (to control every byte, CDATA and entity included) with `xml_text`,
`xml_attr` and `cdata`. All of them take their namespaces and date formats from here.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from lxml import etree

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_ATOM03 = "http://purl.org/atom/ns#"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
NS_RSS10 = "http://purl.org/rss/1.0/"
NS_XHTML = "http://www.w3.org/1999/xhtml"
NS_XML = "http://www.w3.org/XML/1998/namespace"

# --- dates --------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"feed dates must be timezone-aware, got {value!r}")
    return value


def rfc822(value: datetime) -> str:
    """RFC 822 / RFC 2822 date as RSS 2.0 writes it: ``Wed, 01 May 2024 08:30:00 +0000``."""
    return format_datetime(_aware(value))


def rfc3339(value: datetime) -> str:
    """RFC 3339 (also W3CDTF) date: ``2024-05-01T08:30:00Z`` or with a numeric offset."""
    text = _aware(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- XML trees ----------------------------------------------------------------------------


def q(namespace: str, name: str) -> str:
    """The lxml name of `name` in `namespace`: ``{namespace}name``."""
    return f"{{{namespace}}}{name}"


def sub(
    parent: etree._Element,
    tag: str,
    text: str | None = None,
    attrib: dict[str, str] | None = None,
) -> etree._Element:
    """A child element of `parent`, with `text` and attributes if given."""
    element = etree.SubElement(parent, tag, attrib or {})
    if text is not None:
        element.text = text
    return element


def nsmap(default: str, **prefixed: str) -> Any:
    """An lxml namespace map with a default namespace (its key is None)."""
    return {None: default, **prefixed}


def serialise(root: etree._Element, encoding: str) -> bytes:
    """The document of `root` in `encoding`, pretty-printed, with a double-quoted prolog."""
    body = etree.tostring(root, encoding=encoding, xml_declaration=True, pretty_print=True)
    assert isinstance(body, bytes)
    # lxml writes the prolog with single quotes; write the common double-quoted form.
    return re.sub(
        rb"^<\?xml version='1.0' encoding='([^']+)'\?>",
        lambda m: b'<?xml version="1.0" encoding="' + m.group(1) + b'"?>',
        body,
        count=1,
    )


# --- XML text -----------------------------------------------------------------------------


def xml_text(text: str) -> str:
    """`text` escaped for element content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: str) -> str:
    """`text` escaped for a double-quoted attribute value."""
    return xml_text(text).replace('"', "&quot;")


def cdata(text: str) -> str:
    """`text` as a CDATA section (a ``]]>`` inside split across two)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
