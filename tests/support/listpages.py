"""List pages without feeds, written by our own code, for page sources (`page = ...`).

Each writer takes `ListItem`s and returns the bytes of one HTML page of a shape found on
real sites, built with lxml so every text is escaped:

===============  ===================================================  ==========================
writer           shape                                                dates
===============  ===================================================  ==========================
`press_list`     ``<article class="press">`` with h2, a "weiter"       ``10.05.2025 | 11.33 Uhr``
                 link, a teaser paragraph and an image                (needs `PRESS_DATE_FORMAT`)
`blog_index`     ``<li class="post">`` with the link in its heading,  ``<time datetime="...">``
                 an excerpt
`link_list`      ``<a class="entry">`` items (the item is the link)   none
                 holding a title span and a thumbnail
===============  ===================================================  ==========================

Links are written relative (``/presse/1.html``, ``2025/05/slug/``, ``../docs/a.html``) the
way each shape's sites write them; `ListItem.path` is the link as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml.builder import E

PRESS_DATE_FORMAT = "%d.%m.%Y | %H.%M Uhr"


@dataclass(frozen=True)
class ListItem:
    title: str
    path: str  # the link as the page writes it (relative)
    date: datetime | None = None
    summary: str | None = None
    image: str | None = None  # its src as written (relative)


def _page(title: str, *body: etree._Element) -> bytes:
    document = E.html(
        {"lang": "de"},
        E.head(E.meta(charset="utf-8"), E.title(title)),
        E.body(
            E.header(E.nav(E.a("Start", href="/"))),
            *body,
            E.footer(E.a("Impressum", href="/impressum")),
        ),
    )
    return b"<!DOCTYPE html>\n" + etree.tostring(document, method="html", encoding="utf-8")


def press_list(items: Sequence[ListItem], title: str = "Pressemitteilungen") -> bytes:
    """Press releases: one ``<article class="press">`` each."""
    articles = []
    for item in items:
        children: list[etree._Element | str] = [E.h2(item.title)]
        if item.date is not None:
            children.append(E.span(item.date.strftime(PRESS_DATE_FORMAT), {"class": "datum"}))
        if item.summary is not None:
            children.append(E.p(item.summary, {"class": "teaser"}))
        if item.image is not None:
            children.append(E.img(src=item.image, alt=""))
        children.append(E.a("weiter", href=item.path))
        articles.append(E.article({"class": "press"}, *children))
    return _page(title, E.main(E.h1(title), *articles))


def blog_index(items: Sequence[ListItem], title: str = "Blog") -> bytes:
    """A blog's index: ``<li class="post">`` with the link in its heading and a <time>."""
    posts = []
    for item in items:
        children: list[etree._Element] = [E.h3(E.a(item.title, href=item.path))]
        if item.date is not None:
            spoken = item.date.strftime("%d.%m.")  # what a reader sees; the attribute is exact
            children.append(E.time(spoken, datetime=item.date.isoformat()))
        if item.summary is not None:
            children.append(E.div(E.p(item.summary), {"class": "excerpt"}))
        posts.append(E.li({"class": "post"}, *children))
    return _page(title, E.ul({"class": "posts"}, *posts))


def link_list(items: Sequence[ListItem], title: str = "Dokumente") -> bytes:
    """A list of links, each item the ``<a>`` itself, with a title span and a thumbnail."""
    entries = []
    for item in items:
        children: list[etree._Element] = [E.span(item.title, {"class": "t"})]
        if item.image is not None:
            children.append(E.img(src=item.image, alt=""))
        entries.append(E.a({"class": "entry", "href": item.path}, *children))
    return _page(title, E.div({"class": "docs"}, *entries))
