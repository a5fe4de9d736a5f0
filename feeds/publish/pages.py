"""HTML pages: the front page, a page per category and pages for local articles."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from feeds import PROJECT_URL
from feeds.model import Article, category_slug
from feeds.publish.document import FeedDocument
from feeds.publish.layout import OutputLayout

PREVIEW = 5  # items per category on the front page


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape everything: titles and summaries are text from strangers.
    return Environment(
        loader=PackageLoader("feeds.publish", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _render(template: str, **context: object) -> bytes:
    page = _environment().get_template(template).render(project_url=PROJECT_URL, **context)
    return page.encode("utf-8")


def render_index(documents: list[FeedDocument], layout: OutputLayout, site_title: str) -> bytes:
    return _render(
        "index.html",
        documents=documents,
        site_title=site_title,
        opml_url=layout.opml_url,
        preview=PREVIEW,
        language=None,
    )


def render_category_page(doc: FeedDocument) -> bytes:
    return _render(
        "category.html",
        doc=doc,
        site_title=doc.site_title,
        base_url=doc.layout.base_url,
        language=doc.language,
    )


def render_article_page(article: Article, layout: OutputLayout, site_title: str) -> bytes:
    category_urls = {
        name: layout.feed_url(category_slug(name), "html") for name in article.categories
    }
    return _render(
        "article.html",
        article=article,
        site_title=site_title,
        base_url=layout.base_url,
        category_urls=category_urls,
        language=article.language,
    )
