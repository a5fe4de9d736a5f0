"""JSON Feed 1.1 output, written directly (feedgen does not write it)."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

from feeds.model import Article, Author, Origin
from feeds.publish.document import FeedDocument, written_time

VERSION = "https://jsonfeed.org/version/1.1"
EMPTY = b"[]\n}"  # how the document ends with no items


def render_json_feed(doc: FeedDocument) -> bytes:
    """The category as a JSON Feed 1.1 document, newest item first."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": doc.title,
        "home_page_url": doc.url("html"),
        "feed_url": doc.url("json"),
        "description": doc.description,
        "authors": [{"name": doc.site_title}],
    }
    if doc.language:
        feed["language"] = doc.language
    if doc.site.hub:
        feed["hubs"] = [{"type": "WebSub", "url": doc.site.hub}]
    feed["items"] = []
    head = json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8")
    if not doc.articles:
        return head + b"\n"
    assert head.endswith(EMPTY)
    credit = doc.credit_context(lambda source: None)
    items = doc.entry_fragments(
        "json",
        lambda a: (doc.layout.article_url(a), credit(a)),
        lambda articles: [_fragment(doc, a) for a in articles],
    )
    # What json.dumps writes for the list, an item a line at this depth.
    return b"".join((head[: -len(EMPTY)], b"[\n", b",\n".join(items), b"\n  ]\n}\n"))


def _fragment(doc: FeedDocument, article: Article) -> bytes:
    """An item as the document's `json.dumps` writes it in the items list, two levels in."""
    return ("    " + _indented(_item(doc, article), "    ")).encode("utf-8")


def _indented(value: Any, pad: str) -> str:
    """`value` as `json.dumps(value, ensure_ascii=False, indent=2)` writes it at the depth
    of `pad`: the same bytes, without json's pure-Python encoder (which `indent` forces),
    twice as costly on items."""
    if isinstance(value, str):
        return encode_basestring(value)
    inner = pad + "  "
    if isinstance(value, dict) and value:
        members = (
            f"{inner}{encode_basestring(k)}: {_indented(v, inner)}" for k, v in value.items()
        )
        return "{\n" + ",\n".join(members) + "\n" + pad + "}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in value) + "\n" + pad + "]"
    return json.dumps(value)  # numbers, and the empty object and list


def _source(origin: Origin) -> dict[str, Any]:
    """The `_source` extension object: who published the item first (see the README)."""
    source: dict[str, Any] = {"title": origin.title}
    if origin.site_url:
        source["home_page_url"] = origin.site_url
    if origin.feed_url:
        source["feed_url"] = origin.feed_url
    return source


def _item(doc: FeedDocument, article: Article) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": article.id,
        "url": doc.layout.article_url(article),
        "title": article.title,
        "content_html": article.content,
        "date_published": written_time(article.published).isoformat(),
        "date_modified": written_time(article.updated).isoformat(),
    }
    if article.summary:
        item["summary"] = article.summary
    item["authors"] = [_author(author) for author in doc.authors(article)]
    tags = list(dict.fromkeys((*article.categories, *article.tags)))
    if tags:
        item["tags"] = tags
    if article.language:
        item["language"] = article.language
    item["_source"] = _source(doc.origin(article))
    if others := doc.others(article):
        item["_source"]["others"] = [_source(origin) for origin in others]
    if article.enclosures:
        item["attachments"] = [
            {
                "url": e.url,
                "mime_type": e.media_type or "application/octet-stream",
                **({"size_in_bytes": e.length} if e.length else {}),
            }
            for e in article.enclosures
        ]
    return item


def _author(author: Author) -> dict[str, str]:
    # JSON Feed has no email field: an author's page, else their address as a mailto: URL.
    person = {"name": author.name}
    if author.uri:
        person["url"] = author.uri
    elif author.email:
        person["url"] = "mailto:" + author.email
    return person
