"""HTML pages: the front page, a page per category and pages for local articles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from feeds import PROJECT_URL
from feeds.model import Article
from feeds.publish.document import FeedDocument, Site
from feeds.publish.layout import PREVIEW
from feeds.status import SourceStatus


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape everything: titles and summaries are text from strangers.
    environment = Environment(
        loader=PackageLoader("feeds.publish", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = _when
    return environment


def _when(value: datetime) -> str:
    """One date format on every page, with its zone: 2025-05-10 11:33 +02:00."""
    offset = value.strftime("%z")
    zone = f"{offset[:3]}:{offset[3:5]}" if offset else "UTC"
    return f"{value:%Y-%m-%d %H:%M} {zone}"


def _render(template: str, **context: object) -> bytes:
    page = _environment().get_template(template).render(project_url=PROJECT_URL, **context)
    return page.encode("utf-8")


def render_index(
    documents: list[FeedDocument],
    combined: FeedDocument,
    site: Site,
    sources: Sequence[SourceStatus] = (),
) -> bytes:
    return _render(
        "index.html",
        documents=documents,
        combined=combined,
        sources=sources,
        site_title=site.title,
        opml_url=site.layout.opml_url,
        preview=PREVIEW,
        language=combined.language,
    )


def render_category_page(doc: FeedDocument) -> bytes:
    return _render(
        "category.html",
        doc=doc,
        site_title=doc.site_title,
        base_url=doc.layout.base_url,
        language=doc.language,
    )


def render_article_page(article: Article, site: Site) -> bytes:
    layout = site.layout
    category_feeds = {
        name: layout.feed_url(site.category_slug(name), "atom") for name in article.categories
    }
    category_urls = {
        name: layout.feed_url(site.category_slug(name), "html") for name in article.categories
    }
    return _render(
        "article.html",
        article=article,
        site_title=site.title,
        base_url=layout.base_url,
        category_urls=category_urls,
        category_feeds=category_feeds,
        language=article.language,
    )
