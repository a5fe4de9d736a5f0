"""Full text of an article split over pages: each page names the next (rel="next"), and the
run follows them through the real update (real HTTP on loopback, real SQLite): in order,
each page once, within `MAX_PAGES`, on the first page's site only, under robots.txt; a
later page that fails ends the article there and the pages before it are published."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from support.article_site import ArticlePage, article_pages, score, serve_site, site_feed
from support.feedserver import FeedServer, serve
from test_full_text import stored, update, write_config

from feeds.config import Config
from feeds.fulltext.extract import Page, PageJob, next_page_of, read_page
from feeds.fulltext.pages import MAX_PAGES
from feeds.model import Article
from feeds.normalise import limits
from feeds.normalise.html import html_to_text


@pytest.fixture
def other_host() -> Iterator[FeedServer]:
    yield from serve()


def folder(tmp_path: Path, name: str) -> Path:
    """A folder of its own for one run's config and store."""
    path = tmp_path / name
    path.mkdir()
    return path


def whole(pages: Sequence[ArticlePage]) -> ArticlePage:
    """The article the pages make together, for `score`."""
    return replace(
        pages[0],
        body=tuple(p for page in pages for p in page.body),
        boilerplate=tuple(b for page in pages for b in page.boilerplate),
    )


def run(
    tmp_path: Path, server: FeedServer, pages: Sequence[ArticlePage], robots: str = ""
) -> Config:
    """Serve `pages` (the first is the entry's link), update once, and return the config."""
    serve_site(server, pages, robots)
    server.add("/f.xml", site_feed(server, pages[:1]))
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "S"\nurl = "{server.url("/f.xml")}"\ncategory = "C"\n'
        "full_text = true\n",
    )
    update(config)
    return config


def the_article(config: Config, pages: Sequence[ArticlePage]) -> Article:
    article = stored(config)[pages[0].path]
    assert article.full_text is not None and article.full_text.error is None
    return article


def in_order(text: str, pages: Sequence[ArticlePage]) -> list[int]:
    """Where each page's first paragraph begins in `text` (-1: not there)."""
    return [text.find(page.body[0]) for page in pages]


@pytest.mark.parametrize("in_head", [False, True], ids=["a-rel-next", "link-rel-next"])
def test_an_article_over_three_pages_is_published_whole_in_page_order(
    tmp_path: Path, feed_server: FeedServer, in_head: bool
) -> None:
    pages = article_pages(1, 3, in_head=in_head)
    config = run(tmp_path, feed_server, pages)
    text = html_to_text(the_article(config, pages).content)
    found = in_order(text, pages)
    assert -1 not in found and found == sorted(found), found
    got = score(whole(pages), text)
    assert got.recall >= 0.95 and got.boilerplate <= 0.1, got
    assert [len(feed_server.requests_to(p.path)) for p in pages] == [1, 1, 1]
    # Stored with its entry: the next run asks for none of its pages again.
    update(config)
    assert [len(feed_server.requests_to(p.path)) for p in pages] == [1, 1, 1]


def test_a_changed_entry_whose_first_page_answers_304_keeps_every_page(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pages = article_pages(2, 3)
    config = run(tmp_path, feed_server, pages)
    before = the_article(config, pages)
    feed_server.add("/f.xml", site_feed(feed_server, [replace(pages[0], title="New title")]))
    update(config)
    after = the_article(config, pages)
    assert after.title == "New title" and after.content == before.content
    first = feed_server.requests_to(pages[0].path)
    assert len(first) == 2 and first[1].headers.get("if-none-match")
    assert [len(feed_server.requests_to(p.path)) for p in pages[1:]] == [1, 1]


def test_pages_that_name_each_other_in_a_loop_are_read_once_each(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # Page 3 names page 1 again; page 2 names page 3 with a fragment.
    pages = article_pages(3, 3, links={2: "/pages/3-3.html#more", 3: "/pages/3-1.html"})
    config = run(folder(tmp_path, "loop"), feed_server, pages)
    found = in_order(html_to_text(the_article(config, pages).content), pages)
    assert -1 not in found and found == sorted(found)
    assert [len(feed_server.requests_to(p.path)) for p in pages] == [1, 1, 1]
    # A page that names itself (its fragment, or its own URL) is its article's last.
    for n, href in enumerate(["#top", "/pages/4{n}-1.html#top"]):
        alone = article_pages(40 + n, 2, links={1: href.format(n=n)})
        config = run(folder(tmp_path, f"self{n}"), feed_server, alone)
        assert in_order(html_to_text(the_article(config, alone).content), alone)[1] == -1
        assert feed_server.requests_to(alone[0].path)[1:] == []
        assert feed_server.requests_to(alone[1].path) == []


def test_a_site_that_answers_each_page_number_with_the_first_page_adds_it_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    first = article_pages(9, 1, links={1: "/pages/9-2.html"})[0]
    again = [replace(first, path=f"/pages/9-{n}.html") for n in (2, 3)]
    config = run(tmp_path, feed_server, [first, *again])
    text = html_to_text(the_article(config, [first]).content)
    assert text.count(first.body[0]) == 1
    assert len(feed_server.requests_to(again[0].path)) == 1
    assert feed_server.requests_to(again[1].path) == []


def test_no_more_than_max_pages_of_one_article_are_read(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pages = article_pages(5, MAX_PAGES + 4)
    config = run(tmp_path, feed_server, pages)
    found = in_order(html_to_text(the_article(config, pages).content), pages)
    assert -1 not in found[:MAX_PAGES] and found[MAX_PAGES:] == [-1] * 4
    asked = [len(feed_server.requests_to(p.path)) for p in pages]
    assert asked == [1] * MAX_PAGES + [0] * 4


def test_a_next_page_on_another_site_is_not_followed(
    tmp_path: Path, feed_server: FeedServer, other_host: FeedServer
) -> None:
    elsewhere = article_pages(6, 1)[0]
    other_host.add(elsewhere.path, elsewhere.html.encode("utf-8"), content_type="text/html")
    pages = article_pages(7, 2, links={1: other_host.url(elsewhere.path)})
    config = run(tmp_path, feed_server, pages[:1])
    found = in_order(html_to_text(the_article(config, pages).content), pages)
    assert found[0] != -1
    assert other_host.requests == []


@pytest.mark.parametrize(
    ("failing", "robots"),
    [
        ("missing", ""),  # a 404
        ("disallowed", "User-agent: *\nDisallow: /pages/8-3.html\n"),
        ("empty", ""),  # a page with no article text on it
        ("not-html", ""),
    ],
)
def test_a_later_page_that_fails_ends_the_article_with_the_pages_before_it(
    tmp_path: Path, feed_server: FeedServer, failing: str, robots: str
) -> None:
    pages = list(article_pages(8, 4))
    third = pages[2]
    if failing == "empty":
        pages[2] = replace(third, html='<html><body><a rel="next" href="/pages/8-4.html">4</a>')
    elif failing == "not-html":
        pages[2] = replace(third, content_type="application/pdf")
    served = [p for p in pages if not (failing == "missing" and p is third)]
    config = run(tmp_path, feed_server, served, robots)
    found = in_order(html_to_text(the_article(config, pages).content), pages)
    assert found[0] < found[1] and found[2:] == [-1, -1]
    assert feed_server.requests_to(pages[3].path) == []  # the article ended before it
    if failing == "disallowed":
        assert feed_server.requests_to(third.path) == []


def test_a_hostile_next_link_is_refused_and_the_first_page_still_published(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    for n, href in enumerate(
        [
            "javascript:alert(1)",
            "http://127.0.0.1:99999/pages/x.html",  # no port at all
            "http://[::1",
            "data:text/html,<p>x</p>",
            "file:///etc/passwd",
            "http://169.254.169.254/latest/meta-data/",
        ]
    ):
        pages = article_pages(20 + n, 2, links={1: href})
        config = run(folder(tmp_path, str(n)), feed_server, pages)
        found = in_order(html_to_text(the_article(config, pages).content), pages)
        assert found[0] != -1 and found[1] == -1, href


def page(html: str, url: str = "https://news.example/a/1.html") -> Page:
    return Page(html.encode("utf-8"), url, "text/html; charset=utf-8")


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a rel="next" href="2.html">2</a>', "https://news.example/a/2.html"),
        ('<a rel="prev NEXT" href="/a/2.html#top">2</a>', "https://news.example/a/2.html"),
        (
            '<head><link rel=next href="?page=2"></head><a rel="next" href="/b">b</a>',
            "https://news.example/a/1.html?page=2",
        ),
        ('<head><base href="/c/"></head><a rel="next" href="2">2</a>', "https://news.example/c/2"),
        ('<a rel="nextpage" href="2.html">2</a>', None),
        ('<a href="2.html">next</a>', None),
        ('<a rel="next" href="javascript:go()">2</a>', None),
        ('<a rel="next">2</a>', None),
        ("<p>no link at all</p>", None),
    ],
)
def test_the_next_page_is_what_rel_next_names(html: str, expected: str | None) -> None:
    assert next_page_of(page(html)) == expected


def test_the_pages_joined_stay_within_the_content_cap() -> None:
    words = " ".join(f"word{n}" for n in range(55_000))
    before = f"<p>{words}</p>"  # sanitised HTML of the pages before: 0.54 MB, as is this page
    assert len(before) <= limits.CONTENT < 2 * len(before)
    more = words.replace("word", "more")
    text = read_page(PageJob(page(f"<article><p>{more}</p></article>"), None, before))
    assert text.content is not None and text.error is None
    assert len(text.content) <= limits.CONTENT
    assert text.content.startswith(before[:1000]) and "more0 more1 " in text.content
