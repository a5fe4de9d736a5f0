"""HTML pages: the front page, a page per category, pages for local articles and for
local sources.

Links between our own files are relative (`welt-nachrichten/index.html`,
`../all/atom.xml`), so the site works opened from disk and from any mirror; only the
autodiscovery `<link rel="alternate">` in the head names the feeds' public URLs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from feeds import PROJECT_URL
from feeds.model import Article, Origin, newest_first
from feeds.publish.document import FeedDocument, Site
from feeds.publish.formats import feed_formats, linked_formats, main_feed
from feeds.publish.layout import PREVIEW, OutputLayout

# The macro that writes an entry of a category's page (a fragment kept between publishes).
ENTRY_TEMPLATE = "category_entry.html"


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


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Links from one page (`page`, relative to the output folder) to our other files.

    Folders are linked by their `index.html`: a browser reading from disk shows a
    folder listing, not the page, for a bare folder link.
    """

    layout: OutputLayout
    page: str

    def to(self, path: str) -> str:
        return posixpath.relpath(path, posixpath.dirname(self.page) or ".")

    @property
    def home(self) -> str:
        return self.to("index.html")

    @property
    def opml(self) -> str:
        return self.to(self.layout.opml_path.name)

    def feed(self, slug: str, kind: str) -> str:
        return self.to(self.layout.feed_file(slug, kind))

    def article(self, article: Article) -> str:
        """The article's own page elsewhere, else the page we write for it."""
        return article.link or self.to(self.layout.article_page(article))

    def source(self, origin: Origin) -> str | None:
        """A source's site: a remote feed's own, or the page of a local source's articles."""
        if origin.own_pages:
            return self.to(self.layout.source_page(origin.name))
        return origin.site_url


def _render(template: str, **context: object) -> bytes:
    # The formats are read per page, not kept in the cached environment: the table decides.
    formats = {
        "feed_formats": feed_formats(),
        "linked_formats": linked_formats(),
        "main_feed": main_feed(),
    }
    template_of = _environment().get_template(template)
    return template_of.render(project_url=PROJECT_URL, **formats, **context).encode("utf-8")


def render_index(
    documents: list[FeedDocument],
    combined: FeedDocument,
    site: Site,
    sources: Sequence[Origin] = (),
) -> bytes:
    """The front page: every category with its newest items, and the blogroll of
    `sources` with their health."""
    return _render(
        "index.html",
        documents=documents,
        combined=combined,
        sources=sources,
        site_title=site.title,
        links=PageLinks(site.layout, "index.html"),
        preview=PREVIEW,
        language=combined.language,
    )


def render_category_page(doc: FeedDocument) -> bytes:
    """A category's page: its entries, each rendered once for as long as it and its link
    from the page stay the same (`feeds.publish.fragments`)."""
    links = PageLinks(doc.layout, doc.layout.feed_file(doc.category.slug, "html"))
    entry = _environment().get_template(ENTRY_TEMPLATE).module.entry  # type: ignore[attr-defined]

    def render(articles: Sequence[Article]) -> list[bytes]:
        return [str(entry(article, links)).encode("utf-8") for article in articles]

    fragments = doc.entry_fragments("html", links.article, render)
    return _render(
        "category.html",
        doc=doc,
        # The macro's own output (escaped as it wrote it), now or by an earlier publish.
        entries=[Markup(fragment.decode("utf-8")) for fragment in fragments],  # noqa: S704
        site_title=doc.site_title,
        links=links,
        language=doc.language,
    )


def render_article_page(article: Article, site: Site) -> bytes:
    layout = site.layout
    links = PageLinks(layout, layout.article_page(article))
    category_feeds = {
        name: layout.feed_url(site.category_slug(name), main_feed().key)
        for name in article.categories
    }
    category_urls = {
        name: links.feed(site.category_slug(name), "html") for name in article.categories
    }
    return _render(
        "article.html",
        article=article,
        site_title=site.title,
        links=links,
        category_urls=category_urls,
        category_feeds=category_feeds,
        language=article.language,
    )


def render_source_page(
    page: str, names: Sequence[str], articles: Sequence[Article], site: Site
) -> bytes:
    """The page of a local source (`page`, its path): its articles, newest first. Two
    sources whose names give one folder share it."""
    languages = {a.language for a in articles}
    return _render(
        "source.html",
        title=" · ".join(names),
        articles=newest_first(articles),
        site_title=site.title,
        links=PageLinks(site.layout, page),
        language=languages.pop() if len(languages) == 1 else None,
    )
