"""HTML pages: the front page, a page per category and pages for local articles."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from feeds import PROJECT_URL
from feeds.model import Article, category_slug
from feeds.publish.document import FeedDocument, Site

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


def render_index(documents: list[FeedDocument], site: Site) -> bytes:
    return _render(
        "index.html",
        documents=documents,
        site_title=site.title,
        opml_url=site.layout.opml_url,
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


def render_article_page(article: Article, site: Site) -> bytes:
    layout = site.layout
    category_urls = {
        name: layout.feed_url(category_slug(name), "html") for name in article.categories
    }
    return _render(
        "article.html",
        article=article,
        site_title=site.title,
        base_url=layout.base_url,
        category_urls=category_urls,
        language=article.language,
    )
