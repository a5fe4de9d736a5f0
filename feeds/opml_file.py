"""OPML subscription lists: read the feeds of OPML 1.0/2.0 files, write the configured ones.

Reading is defensive, since OPML files come from elsewhere: lxml parses with no network, no
DTD loading and no entity resolution, and a file whose DOCTYPE declares entities is refused
outright (libxml2 would still expand internal entities inside attribute values, and
attributes are all OPML has). Element and attribute names are matched in any case
(``xmlUrl``, ``xmlurl``, ``XMLURL``).

Writing produces OPML 2.0 with one folder outline per category. Two attributes in our own
namespace (``feeds:interval``, ``feeds:language``) carry what OPML has no place for, so an
export imported into another feeds instance gives the same sources; other readers ignore
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from feeds import PROJECT_URL
from feeds.config import DEFAULT_INTERVAL, format_duration
from feeds.errors import OpmlError
from feeds.model import Source
from feeds.sources.kinds import describe

__all__ = ["FEEDS_NS", "OpmlError", "OpmlFeed", "read_opml", "write_opml"]

FEEDS_NS = PROJECT_URL + "#opml"


_ENTITIES = (
    "the file declares entities in a DOCTYPE; refusing it (feeds never expands entities): "
    "remove the DOCTYPE and try again"
)


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One ``outline`` with an ``xmlUrl``."""

    url: str
    title: str | None = None  # the outline's title, else its text
    category: str | None = None  # the title/text of the innermost enclosing folder
    html_url: str | None = None
    interval: str | None = None  # feeds:interval, from an export of ours
    language: str | None = None  # feeds:language


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""  # comments, processing instructions, entity references
    return etree.QName(tag).localname.lower()


def _attributes(element: etree._Element) -> dict[str, str]:
    """Un-namespaced attributes by lower-case name."""
    found: dict[str, str] = {}
    for name, value in element.attrib.items():
        key = str(name)
        if not key.startswith("{"):
            found.setdefault(key.lower(), str(value))
    return found


def _text(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    return cleaned or None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order (nested folders flattened)."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        if "entit" in str(exc).lower():  # e.g. an expansion bomb stopped by libxml2
            raise OpmlError(f"{_ENTITIES} ({exc})") from None
        raise OpmlError(f"not well-formed XML: {exc}") from None
    dtd: Any = root.getroottree().docinfo.internalDTD  # the stubs lack iterentities()
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise OpmlError(_ENTITIES)
    if _local(root) != "opml":
        raise OpmlError(f"not an OPML document: the root element is <{_local(root) or '?'}>")
    body = next((child for child in root if _local(child) == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document: it has no <body>")
    return list(_walk(body, None))


def _walk(parent: etree._Element, category: str | None) -> Iterator[OpmlFeed]:
    for element in parent:
        if _local(element) != "outline":
            continue
        attributes = _attributes(element)
        label = _text(attributes.get("title")) or _text(attributes.get("text"))
        url = (attributes.get("xmlurl") or "").strip()
        if url:
            yield OpmlFeed(
                url=url,
                title=label,
                category=category,
                html_url=(attributes.get("htmlurl") or "").strip() or None,
                interval=_text(element.get(f"{{{FEEDS_NS}}}interval")),
                language=_text(element.get(f"{{{FEEDS_NS}}}language")),
            )
        # A feed's children are unusual but harmless; they stay in the same folder.
        yield from _walk(element, category if url else (label or category))


def write_opml(
    sources: Iterable[Source], *, title: str, html_urls: Mapping[str, str] | None = None
) -> bytes:
    """OPML 2.0 of the remote sources, one folder per category in order of first use.

    `html_urls` (source name -> site URL) adds ``htmlUrl`` where known.
    """
    opml = etree.Element("opml", {"version": "2.0"}, nsmap={"feeds": FEEDS_NS})
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    folders: dict[str, etree._Element] = {}
    for source in sources:
        if not describe(source.kind).is_feed or source.url is None:
            continue
        category = source.category or "Uncategorised"
        folder = folders.get(category)
        if folder is None:
            folder = etree.SubElement(body, "outline", {"text": category, "title": category})
            folders[category] = folder
        attributes = {
            "type": "rss",
            "text": source.name,
            "title": source.name,
            "xmlUrl": source.url,
        }
        html_url = (html_urls or {}).get(source.name)
        if html_url:
            attributes["htmlUrl"] = html_url
        outline = etree.SubElement(folder, "outline", attributes)
        if source.interval != DEFAULT_INTERVAL:  # the config's default: not written
            outline.set(f"{{{FEEDS_NS}}}interval", format_duration(source.interval))
        if source.language:
            outline.set(f"{{{FEEDS_NS}}}language", source.language)
    return bytes(etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True))
