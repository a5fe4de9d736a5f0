"""Publishing a site: every category's feeds and pages, `all/`, the front page and OPML."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from feeds.model import Article, Category
from feeds.publish.atom import render_atom
from feeds.publish.document import FeedDocument, Site, archive_documents, build_document
from feeds.publish.files import PublishResult, write_if_changed
from feeds.publish.jsonfeed import render_json_feed
from feeds.publish.layout import ALL_SLUG
from feeds.publish.opml import render_opml
from feeds.publish.pages import (
    render_article_page,
    render_category_page,
    render_index,
)
from feeds.publish.rss import render_rss
from feeds.status import SourceStatus

# A category's highest arrival number and its live (arrival number, article) pairs.
Archive = tuple[int, list[tuple[int, Article]]]


def render_category(doc: FeedDocument) -> dict[Path, bytes]:
    """Every file of one category, by path."""
    layout, slug = doc.layout, doc.category.slug
    return {
        layout.feed_path(slug, "atom"): render_atom(doc),
        layout.feed_path(slug, "rss"): render_rss(doc),
        layout.feed_path(slug, "json"): render_json_feed(doc),
        layout.feed_path(slug, "html"): render_category_page(doc),
    }


def publish_category(category: Category, articles: list[Article], site: Site) -> PublishResult:
    """Write one category's feeds and the pages of its local articles."""
    doc = build_document(category, articles, site)
    files = render_category(doc)
    files.update(_article_pages(doc.articles, site))
    return _write(files)


def publish_site(
    categories: Sequence[tuple[Category, list[Article]]],
    everything: list[Article],
    site: Site,
    *,
    render: Container[str] | None = None,
    sources: Sequence[SourceStatus] = (),
    archives: Mapping[str, Archive] | None = None,
) -> PublishResult:
    """Write the categories in `render` (all when None), `all/`, the front page and the OPML.

    `categories` lists every category; those not rendered need only their newest few
    articles, for the front page, which also shows the `sources` and their health.
    `archives` holds, per rendered category, its highest arrival number and its live
    arrivals, from which the RFC 5005 archive pages are cut.
    """
    documents = [build_document(c, a, site) for c, a in categories]
    combined = build_document(Category(name=site.title, slug=ALL_SLUG), everything, site)
    files: dict[Path, bytes] = {}
    for doc in (*documents, combined):
        if render is None or doc.category.slug in render or doc is combined:
            highest, entries = (archives or {}).get(doc.category.slug, (0, []))
            links, pages = archive_documents(doc.category, highest, entries, site)
            subscription = replace(doc, archive=links)
            files.update(render_category(subscription))
            files.update(_article_pages(doc.articles, site))
            for page in pages:
                assert page.archive.page is not None
                path = site.layout.archive_path(doc.category.slug, page.archive.page)
                files[path] = render_atom(page)
    files[site.layout.index_path] = render_index(documents, combined, site, sources)
    files[site.layout.opml_path] = render_opml(documents, site.title)
    return _write(files)


def _article_pages(articles: Sequence[Article], site: Site) -> dict[Path, bytes]:
    layout = site.layout
    return {
        layout.directory / layout.article_page(a): render_article_page(a, site)
        for a in articles
        if a.link is None
    }


def _write(files: dict[Path, bytes]) -> PublishResult:
    written = tuple(path for path, data in files.items() if write_if_changed(path, data))
    return PublishResult(written=written, unchanged=len(files) - len(written))
