"""RSS 2.0 output through feedgen."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import PROJECT_URL, __version__
from feeds.model import Article, Author, Podcast
from feeds.publish.atom import ATOM_NS
from feeds.publish.document import FeedDocument, feedgen_categories

ITEM = b"    <item"  # how an item's line starts in the indented document
CLOSING = b"  </channel>\n</rss>\n"  # what follows the last item


def render_rss(doc: FeedDocument) -> bytes:
    """The category as an RSS 2.0 channel, newest item first.

    Its head is rendered each time; each item is rendered once for as long as it and its
    source stay the same (`feeds.publish.fragments`)."""
    podcast = any(article.podcast for article in doc.articles)

    credit = doc.credit_context(lambda source: podcast)

    def context(article: Article) -> object:
        return (doc.layout.article_url(article), credit(article))

    return doc.assembled(
        "rss", lambda articles: _render(doc, articles, podcast), ITEM, CLOSING, context
    )


def _render(doc: FeedDocument, articles: Sequence[Article], podcast: bool) -> bytes:
    """The channel with only `articles` as items, written as the whole `doc` would write
    them (with the itunes namespace when any of its items is an episode)."""
    fg = FeedGenerator()
    fg.load_extension("dc")
    if podcast:
        fg.load_extension("podcast")  # the itunes namespace, only where an episode has tags
    fg.title(doc.title)
    # HTML in RSS, as an item's: a category's name is text, escaped to stay text.
    fg.description(html.escape(doc.description, quote=False))
    # feedgen takes the channel <link> from the last link added: self first, site last.
    fg.link(href=doc.url("rss"), rel="self", type="application/rss+xml")
    fg.link(href=doc.url("html"), rel="alternate")
    fg.generator(f"feeds {__version__}", uri=PROJECT_URL)
    fg.lastBuildDate(doc.updated)
    fg.pubDate(doc.updated)
    fg.ttl(max(1, int(doc.ttl.total_seconds() // 60)))
    if doc.language:
        fg.language(doc.language)
    for article in articles:
        fe = fg.add_entry(order="append")
        fe.guid(article.id, permalink=False)
        fe.title(article.title)
        fe.link(href=doc.layout.article_url(article))
        fe.pubDate(article.published)
        # <description> is HTML in RSS: a plain-text summary must be escaped to stay text.
        fe.description(html.escape(article.summary or article.title, quote=False))
        fe.content(article.content)
        _authors(fe, doc.authors(article))
        origin = doc.origin(article)
        if source_url := origin.feed_url or origin.site_url:
            fe.source(url=source_url, title=origin.title)
        if names := feedgen_categories(article):
            fe.category(names)
        if article.enclosures:  # RSS carries one enclosure per item
            first = article.enclosures[0]
            fe.enclosure(
                first.url, str(first.length or 0), first.media_type or "application/octet-stream"
            )
        if article.podcast is not None:
            _podcast(fe, article.podcast)
    document = bytes(fg.rss_str(pretty=True))
    return _add_hub(document, doc.site.hub) if doc.site.hub else document


def _authors(fe: Any, authors: tuple[Author, ...]) -> None:
    """RSS has one ``<author>``, an email address with the name in parentheses: the first
    author with an email goes there; every other author is a ``dc:creator`` name."""
    emailed = next((a for a in authors if a.email), None)
    if emailed is not None:
        person = {"email": emailed.email}
        if emailed.name != emailed.email:
            person["name"] = emailed.name
        fe.author(person)
    creators = [a.name for a in authors if a is not emailed]
    if creators:
        fe.dc.dc_creator(creators)


def _podcast(fe: Any, podcast: Podcast) -> None:
    # Values were checked at ingest (feeds/normalise/podcast.py) against what feedgen takes.
    if podcast.duration:
        fe.podcast.itunes_duration(podcast.duration)
    if podcast.image:
        fe.podcast.itunes_image(podcast.image)
    if podcast.explicit:
        fe.podcast.itunes_explicit(podcast.explicit)
    if podcast.episode:
        fe.podcast.itunes_episode(podcast.episode)


def _add_hub(document: bytes, hub: str) -> bytes:
    # feedgen writes only rel="self" as an atom:link in RSS; WebSub needs rel="hub" beside it.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(document, parser)
    channel = root.find("channel")
    assert channel is not None
    self_link = channel.find(f"{ATOM_NS}link")
    hub_link = etree.Element(f"{ATOM_NS}link", href=hub, rel="hub")
    if self_link is not None:
        self_link.addnext(hub_link)
    else:
        channel.append(hub_link)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
