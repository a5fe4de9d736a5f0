"""OPML 2.0 list of the category feeds, for importing them all into a reader at once."""

from __future__ import annotations

from lxml import etree

from feeds.publish.document import FeedDocument
from feeds.publish.formats import main_feed


def render_opml(documents: list[FeedDocument], title: str) -> bytes:
    """One outline per category, pointing at its main feed (Atom)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    feed = main_feed()
    for doc in documents:
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=doc.title,
            title=doc.title,
            xmlUrl=doc.url(feed.key),
            htmlUrl=doc.url("html"),
        )
    return bytes(etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True))
