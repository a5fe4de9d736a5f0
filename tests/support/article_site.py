"""A web site of article pages for full-text tests and `bench/extract_quality.py`, written
by our own code from a seeded random generator.

Every page is one `ArticlePage`: its HTML, the paragraphs of its article body, and the
blocks of boilerplate around it (navigation, comments, related links, cookie banners,
newsletter boxes, footers). Body text and boilerplate are drawn from two disjoint word lists,
so the words of an extracted text tell which of the two it came from: `score` counts them.

Shapes (`SHAPES`), each drawn with two seeds:

==============  ============================================================================
``news``        header navigation, breadcrumbs, byline, related links, a comment thread
``blog``        a blog post with a sidebar (archive, tag cloud), share buttons, comments
``cookie``      a cookie-consent banner with long legal text before the article
``jsonld``      JSON-LD metadata (headline, articleBody), the body in classless divs
``paginated``   page 1 of 3 with page links; its body is this page's text
``headings``    sections with h2 headings, a list and a blockquote inside the body
``tables``      an old layout: the article in a table cell beside a link column
``breaks``      the body as text runs separated by ``<br><br>``, not paragraphs
``ads``         the body interrupted by advertisement and "read also" boxes
``figures``     the body with figures and captions, a large footer of links
``german``      a German article with a newsletter box and an author box
``hostile``     scripts, iframes, inline handlers and styles around and inside the body
==============  ============================================================================

`FAILING` pages have no article: a 404, a 500, an index page of links, a binary download.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from support.feedfactory import FeedItem, rss20
from support.feedserver import FeedServer

_BODY_TEXT = (
    "the river council approved new plans for bridge repairs after months of debate "
    "residents said traffic delays had grown worse since spring engineers measured cracks "
    "in three supports and warned that heavy lorries should take another route while "
    "workers replace steel cables budget figures show costs rising by nearly half compared "
    "with earlier estimates mayor promised weekly updates local shops reported fewer "
    "customers during closures although several owners welcomed longer evening hours "
    "teachers parents pupils school buses schedule changed morning journeys longer "
    "hospital ambulance crews emergency access guaranteed officials confirmed inspection "
    "findings published yesterday detailed corrosion water drainage winter salt damage "
    "historians note original structure opened decades earlier carried horses carts trams "
    "volunteers collected signatures petition asking pedestrian crossing safer lighting "
    "cyclists demanded protected lanes contractors expect finish before autumn festival "
    "conditions permitting materials delivered barges harbour quay cranes lifted segments "
    "night shifts noise complaints neighbours compensation scheme announced families"
)

_BOILER_TEXT = (
    "home sports politics weather subscribe login register newsletter privacy cookies "
    "accept reject settings manage preferences partners advertising consent imprint "
    "contact careers about sitemap archive tags share tweet facebook email print "
    "comments reply report posted ago user anonymous great totally disagree agree lol "
    "related stories more trending popular recommended sponsored advertisement read also "
    "next previous page menu search close open copyright rights reserved terms legal "
    "notice help faq shop deals offers app download follow instagram youtube podcast "
    "video gallery live ticker breaking editor picks opinion culture travel motoring "
    "tracking analytics vendors storage device identifiers purposes legitimate interest"
)
BODY_WORDS = tuple(_BODY_TEXT.split())
BOILER_WORDS = tuple(_BOILER_TEXT.split())

assert not set(BODY_WORDS) & set(BOILER_WORDS)

_WORD = re.compile(r"[a-zäöüß]+")


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One page of the site: where it is served, what is served, and what it contains."""

    path: str
    shape: str
    html: str
    title: str
    body: tuple[str, ...]  # the article's paragraphs, as plain text
    boilerplate: tuple[str, ...]  # everything else a reader does not want, as plain text
    status: int = 200
    content_type: str = "text/html; charset=utf-8"

    @property
    def body_text(self) -> str:
        return "\n".join(self.body)


@dataclass(frozen=True, slots=True)
class Score:
    """How an extracted text compares with a page: shares of word tokens (multisets)."""

    recall: float  # of the body's words, found in the extract
    precision: float  # of the extract's words, that are body words
    boilerplate: float  # of the page's boilerplate words, found in the extract


def words(text: str) -> Counter[str]:
    """The word tokens of `text`, lower-cased, as a multiset."""
    return Counter(_WORD.findall(text.lower()))


def score(page: ArticlePage, extracted: str) -> Score:
    """Compare `extracted` (plain text) with `page`'s known body and boilerplate."""
    body = words(page.body_text) + words(page.title)
    boiler = words(" ".join(page.boilerplate))
    got = words(extracted)
    body_only = Counter({w: n for w, n in body.items() if w not in boiler})
    found_body = sum((got & body_only).values())
    total_got = sum(got.values())
    boiler_only = Counter({w: n for w, n in boiler.items() if w not in body})
    return Score(
        recall=sum((got & words(page.body_text)).values())
        / max(1, sum(words(page.body_text).values())),
        precision=found_body / total_got if total_got else 0.0,
        boilerplate=sum((got & boiler_only).values()) / max(1, sum(boiler_only.values())),
    )


class _Writer:
    """Draws sentences and boilerplate for one page from its own seeded generator."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def sentence(self, vocabulary: tuple[str, ...] = BODY_WORDS, low: int = 9) -> str:
        count = self.random.randint(low, low + 14)
        picked = [self.random.choice(vocabulary) for _ in range(count)]
        if count > 12:
            picked[count // 2] += ","
        return " ".join(picked).capitalize() + "."

    def paragraph(self, sentences: int | None = None) -> str:
        n = sentences if sentences is not None else self.random.randint(2, 5)
        return " ".join(self.sentence() for _ in range(n))

    def paragraphs(self, low: int = 5, high: int = 10) -> list[str]:
        return [self.paragraph() for _ in range(self.random.randint(low, high))]

    def boiler(self, low: int = 2, high: int = 4) -> str:
        return " ".join(
            self.random.choice(BOILER_WORDS) for _ in range(self.random.randint(low, high))
        ).capitalize()

    def boiler_sentence(self) -> str:
        return self.sentence(BOILER_WORDS, low=6)

    def title(self) -> str:
        return " ".join(self.random.choice(BODY_WORDS) for _ in range(6)).capitalize()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _links(items: list[str], prefix: str = "/section/") -> str:
    return "".join(f'<li><a href="{prefix}{i}">{_e(t)}</a></li>' for i, t in enumerate(items))


def _page(title: str, head_extra: str, body_html: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} | The Daily Site</title>{head_extra}</head>"
        f"<body>{body_html}</body></html>"
    )


class _Parts:
    """Boilerplate blocks of a page, kept as text for scoring while their HTML is written."""

    def __init__(self, writer: _Writer) -> None:
        self.w = writer
        self.texts: list[str] = []

    def keep(self, *texts: str) -> None:
        self.texts.extend(texts)

    def nav(self) -> str:
        items = [self.w.boiler(1, 2) for _ in range(8)]
        self.keep(*items)
        nav = f'<nav class="main-nav"><ul>{_links(items)}</ul></nav>'
        return f'<header class="site-header">{nav}</header>'

    def breadcrumbs(self) -> str:
        items = [self.w.boiler(1, 2) for _ in range(3)]
        self.keep(*items)
        return f'<div class="breadcrumbs">{" &rsaquo; ".join(_e(i) for i in items)}</div>'

    def related(self, heading: str = "Related stories") -> str:
        items = [self.w.boiler(4, 8) for _ in range(5)]
        self.keep(heading, *items)
        listed = _links(items, "/story/")
        return f'<aside class="related"><h3>{_e(heading)}</h3><ul>{listed}</ul></aside>'

    def comments(self, count: int = 4) -> str:
        out = []
        for i in range(count):
            who, text = self.w.boiler(1, 2), " ".join(self.w.boiler_sentence() for _ in range(2))
            self.keep(who, text)
            out.append(
                f'<li class="comment" id="c{i}"><span class="comment-author">{_e(who)}</span>'
                f"<p>{_e(text)}</p></li>"
            )
        self.keep("Comments")
        thread = f"<h3>Comments</h3><ol>{''.join(out)}</ol>"
        return f'<section id="comments" class="comments">{thread}</section>'

    def footer(self, columns: int = 2) -> str:
        cols = []
        for _ in range(columns):
            items = [self.w.boiler(1, 3) for _ in range(6)]
            self.keep(*items)
            cols.append(f"<ul>{_links(items, '/info/')}</ul>")
        note = self.w.boiler_sentence()
        self.keep(note)
        copyright_line = f'<p class="copyright">{_e(note)}</p>'
        return f'<footer class="site-footer">{"".join(cols)}{copyright_line}</footer>'

    def cookie_banner(self) -> str:
        texts = [self.w.boiler_sentence() for _ in range(4)]
        buttons = [self.w.boiler(1, 2) for _ in range(3)]
        self.keep(*texts, *buttons)
        paras = "".join(f"<p>{_e(t)}</p>" for t in texts)
        btns = "".join(f"<button>{_e(b)}</button>" for b in buttons)
        return f'<div id="cookie-consent" class="cookie-banner" role="dialog">{paras}{btns}</div>'

    def share(self) -> str:
        items = [self.w.boiler(1, 1) for _ in range(4)]
        self.keep(*items)
        links = "".join(f"<a href=/share/{i}>{_e(t)}</a>" for i, t in enumerate(items))
        return f'<div class="share-buttons">{links}</div>'

    def box(self, cls: str) -> str:
        text = self.w.boiler_sentence()
        label = self.w.boiler(1, 2)
        self.keep(text, label)
        return f'<div class="{cls}"><p>{_e(text)}</p><a href="/{cls}">{_e(label)}</a></div>'


def _paras(body: list[str]) -> str:
    return "".join(f"<p>{_e(p)}</p>" for p in body)


Shape = Callable[[_Writer, _Parts, str, list[str]], str]


def _news(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    byline = b.w.boiler(2, 3)
    b.keep(byline)
    return (
        f'{b.nav()}{b.breadcrumbs()}<main><article class="story"><h1>{_e(title)}</h1>'
        f'<p class="byline">{_e(byline)}</p><div class="story-body">{_paras(body)}</div>'
        f"</article>{b.related()}{b.comments(5)}</main>{b.footer()}"
    )


def _blog(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    archive = [b.w.boiler(1, 2) for _ in range(10)]
    tags = [b.w.boiler(1, 1) for _ in range(12)]
    b.keep(*archive, *tags)
    sidebar = (
        f'<div id="sidebar" class="widget-area"><h4>Archive</h4><ul>{_links(archive, "/20")}</ul>'
        + '<div class="tagcloud">'
        + " ".join(f"<a href=/tag/{i}>{_e(t)}</a>" for i, t in enumerate(tags))
        + "</div></div>"
    )
    b.keep("Archive")
    return (
        f'<div id="page">{b.nav()}<div id="content"><div class="post hentry">'
        f'<h2 class="entry-title">{_e(title)}</h2><div class="entry-content">{_paras(body)}</div>'
        f"{b.share()}</div>{b.comments(3)}</div>{sidebar}{b.footer(1)}</div>"
    )


def _cookie(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    return (
        f'{b.cookie_banner()}{b.nav()}<div class="content"><article><h1>{_e(title)}</h1>'
        f"{_paras(body)}</article>{b.related('More news')}</div>{b.footer()}"
    )


def _jsonld(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    inner = "".join(f'<div class="x{i % 3}">{_e(p)}</div>' for i, p in enumerate(body))
    return (
        f'{b.nav()}<div class="wrap"><div class="c1"><div class="c2">'
        f'<span class="h">{_e(title)}</span>'
        f'{inner}</div></div><div class="c3">{b.related()}</div></div>{b.footer()}'
    )


def _jsonld_head(title: str, body: list[str]) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "articleBody": "\n\n".join(body),
        "datePublished": "2026-11-30T08:00:00Z",
    }
    text = json.dumps(data).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def _paginated(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    pages = ["1", "2", "3", b.w.boiler(1, 1)]
    b.keep(*pages)
    pager = "".join(f'<a href="?page={i + 1}">{_e(p)}</a> ' for i, p in enumerate(pages))
    return (
        f'{b.nav()}<article class="article"><h1>{_e(title)}</h1>{_paras(body)}'
        f'<nav class="pagination">{pager}</nav></article>{b.comments(2)}{b.footer()}'
    )


def _headings(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    # The body's paragraphs in turn as a heading, a quote and a list of its sentences.
    parts = [f"<p>{_e(body[0])}</p>"]
    for i, para in enumerate(body[1:], start=1):
        if i % 3 == 1:
            parts.append(f"<h2>{_e(para)}</h2>")
        elif i % 3 == 2:
            parts.append(f"<blockquote><p>{_e(para)}</p></blockquote>")
        else:
            parts.append("<ul>" + "".join(f"<li>{_e(s)}.</li>" for s in para.split(". ")) + "</ul>")
    return (
        f'{b.nav()}<main><section class="article-body"><h1>{_e(title)}</h1>{"".join(parts)}'
        f"</section>{b.related('Read next')}</main>{b.footer()}"
    )


def _tables(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    links = [b.w.boiler(1, 3) for _ in range(12)]
    b.keep(*links)
    left = "<br>".join(f'<a href="/l{i}">{_e(t)}</a>' for i, t in enumerate(links))
    return (
        f'<table width="100%"><tr><td valign="top" width="150">{left}</td>'
        f'<td valign="top"><font size="5"><b>{_e(title)}</b></font>{_paras(body)}</td></tr>'
        f'<tr><td colspan="2">{b.footer(1)}</td></tr></table>'
    )


def _breaks(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    text = "<br><br>\n".join(_e(p) for p in body)
    return (
        f'{b.nav()}<div id="main"><div class="text"><h1>{_e(title)}</h1>{text}</div>'
        f"{b.comments(3)}</div>{b.footer()}"
    )


def _ads(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    parts = []
    for i, para in enumerate(body):
        parts.append(f"<p>{_e(para)}</p>")
        if i == 1:
            parts.append(b.box("advertisement"))
        if i == 3:
            parts.append(b.related("Read also"))
    return (
        f'{b.nav()}<div class="article-container"><h1 class="headline">{_e(title)}</h1>'
        f'<div class="article-text">{"".join(parts)}</div></div>{b.footer()}'
    )


def _figures(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    parts = []
    for i, para in enumerate(body):
        parts.append(f"<p>{_e(para)}</p>")
        if i % 3 == 0:
            caption = b.w.boiler(3, 5)  # neither body nor boilerplate: not scored
            parts.append(
                f'<figure><img src="/img/{i}.jpg" alt="">'
                f"<figcaption>{_e(caption)}</figcaption></figure>"
            )
    return f"{b.nav()}<article><h1>{_e(title)}</h1>{''.join(parts)}</article>{b.footer(4)}"


def _german(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    author = b.box("author-box")
    return (
        f'{b.nav()}<div class="artikel"><h1>{_e(title)}</h1><div class="artikel-text">'
        f"{_paras(body)}</div>{b.box('newsletter-signup')}{author}</div>{b.comments(2)}{b.footer()}"
    )


def _hostile(w: _Writer, b: _Parts, title: str, body: list[str]) -> str:
    parts = []
    for i, para in enumerate(body):
        handler = ' onclick="steal()"' if i == 0 else ""
        parts.append(f'<p style="color:red"{handler}>{_e(para)}</p>')
        if i == 1:
            parts.append(
                '<script>document.cookie="x"</script><iframe src="https://evil.example/"></iframe>'
            )
    return (
        f'<script>var tracking = "{b.w.boiler(1, 1)}";</script>{b.nav()}'
        f'<article><h1>{_e(title)}</h1>{"".join(parts)}<object data="x.swf"></object></article>'
        f"{b.footer()}"
    )


SHAPES: dict[str, Shape] = {
    "news": _news,
    "blog": _blog,
    "cookie": _cookie,
    "jsonld": _jsonld,
    "paginated": _paginated,
    "headings": _headings,
    "tables": _tables,
    "breaks": _breaks,
    "ads": _ads,
    "figures": _figures,
    "german": _german,
    "hostile": _hostile,
}


def article_page(shape: str, seed: int) -> ArticlePage:
    """The page of `shape` drawn with `seed`: the same bytes for the same arguments."""
    writer = _Writer(seed * 1000 + list(SHAPES).index(shape))
    parts = _Parts(writer)
    title = writer.title()
    body = writer.paragraphs()
    inner = SHAPES[shape](writer, parts, title, body)
    head = _jsonld_head(title, body) if shape == "jsonld" else ""
    return ArticlePage(
        path=f"/{shape}/{seed}.html",
        shape=shape,
        html=_page(title, head, inner),
        title=title,
        body=tuple(body),
        boilerplate=tuple(parts.texts),
    )


def article_pages(
    seed: int, count: int = 3, *, links: dict[int, str] | None = None, in_head: bool = False
) -> tuple[ArticlePage, ...]:
    """One article split over `count` pages at /pages/<seed>-<n>.html, each page linking
    the next with rel="next": in the pager (`<a>`), or with `in_head` a `<link>` in the
    head. `links` replaces what page n (from 1) names as its next page (any href)."""
    writer = _Writer(seed * 1000 + 777)
    title = writer.title()
    pages = []
    for n in range(1, count + 1):
        parts = _Parts(writer)
        body = writer.paragraphs(3, 5)
        href = (links or {}).get(n, f"/pages/{seed}-{n + 1}.html" if n < count else None)
        head = f'<link rel="next" href="{_e(href)}">' if href and in_head else ""
        pager = f'<a rel="next" href="{_e(href)}">{n + 1}</a>' if href and not in_head else ""
        parts.keep(str(n), str(n + 1))
        inner = (
            f'{parts.nav()}<article class="article"><h1>{_e(title)}</h1>{_paras(body)}'
            f'<nav class="pagination"><a href="/pages/{seed}-1.html">1</a> {pager}</nav>'
            f"</article>{parts.comments(2)}{parts.footer()}"
        )
        pages.append(
            ArticlePage(
                path=f"/pages/{seed}-{n}.html",
                shape="pages",
                html=_page(title, head, inner),
                title=title,
                body=tuple(body),
                boilerplate=tuple(parts.texts),
            )
        )
    return tuple(pages)


def failing_pages() -> tuple[ArticlePage, ...]:
    """Pages with no article to extract: each must leave its entry's teaser in place."""
    writer = _Writer(99)
    parts = _Parts(writer)
    index = _page(
        "Index",
        "",
        f"{parts.nav()}<ul>{_links([writer.boiler(3, 6) for _ in range(30)], '/story/')}</ul>"
        + parts.footer(),
    )
    return (
        ArticlePage("/gone.html", "404", "<h1>Not found</h1>", "", (), (), status=404),
        ArticlePage("/broken.html", "500", "<h1>Error</h1>", "", (), (), status=500),
        ArticlePage("/index.html", "index", index, "", (), tuple(parts.texts)),
        ArticlePage(
            "/download.bin",
            "binary",
            "\x00\x01PK\x03\x04" * 64,
            "",
            (),
            (),
            content_type="application/octet-stream",
        ),
    )


def site(seeds: tuple[int, ...] = (1, 2)) -> tuple[ArticlePage, ...]:
    """Every shape drawn with every seed: 24 article pages by default."""
    return tuple(article_page(shape, seed) for seed in seeds for shape in SHAPES)


def teaser(page: ArticlePage) -> str:
    """What a truncating feed gives of `page`: its first sentence."""
    first = page.body[0] if page.body else f"Teaser of {page.path}"
    return first.split(". ")[0] + " ..."


def serve_site(server: FeedServer, pages: Sequence[ArticlePage], robots: str) -> None:
    """Add `pages` and a robots.txt to `server`."""
    for page in pages:
        server.add(
            page.path, page.html.encode("utf-8"), status=page.status, content_type=page.content_type
        )
    server.add("/robots.txt", robots.encode("utf-8"), content_type="text/plain")


def site_feed(server: FeedServer, pages: Sequence[ArticlePage]) -> bytes:
    """An RSS feed of teasers linking to `pages` on `server`."""
    return rss20(
        [
            FeedItem(
                id=page.path,
                title=page.title or page.path,
                link=server.url(page.path),
                summary=teaser(page),
                published=datetime(2026, 11, 30, 8, tzinfo=UTC) - timedelta(hours=n),
            )
            for n, page in enumerate(pages)
        ]
    )
