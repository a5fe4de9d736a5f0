"""Full text against hostile pages: one that never ends, one of 50 MB, deep nesting, a link to
a private address, redirects to another host (allowed, and disallowed by that host's
robots.txt), an extraction over the deadline. Each keeps its entry's teaser and says why;
the other entries of the source are not held up. A page naming a charset that decodes
nothing is read as UTF-8."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.article_site import article_page, serve_site, teaser
from support.cannedweb import CannedWeb
from support.feedfactory import FeedItem, rss20
from support.feedserver import FeedServer, serve
from support.hostile import HostileServer
from support.hostile import serve as serve_hostile

from feeds.config import Config, FetchConfig, load_config
from feeds.enrich import EdgeEnriched
from feeds.fulltext.pages import PAGE_MAX_BYTES, FullTextPages
from feeds.fulltext.robots import ROBOTS_MAX_BYTES, RobotsRules
from feeds.model import Article, Source, SourceKind, article_id
from feeds.normalise.html import html_to_text
from feeds.sources.remote import FetchClient, make_client
from feeds.store import ArticleStore
from feeds.update.run import update_sources
from feeds.workers import ParserPool

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
DEADLINE = 2  # seconds: [fetch] deadline, which each page fetch gets


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    yield from serve_hostile(
        trickle_seconds=30, bomb_size=2 << 20, compressed_bomb_size=2 << 20, timeout_cap=30
    )


@pytest.fixture
def other_host() -> Iterator[FeedServer]:
    yield from serve()


def config_for(tmp_path: Path, feed_url: str, fetch: str = "") -> Config:
    path = tmp_path / "feeds.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///feeds.db"\n[fetch]\ndeadline = "{DEADLINE}s"\n{fetch}\n'
        f'[[sources]]\nname = "S"\nurl = "{feed_url}"\ncategory = "C"\nfull_text = true\n',
        encoding="utf-8",
    )
    return load_config(path)


def run_update(config: Config) -> dict[str, Article]:
    store = ArticleStore.open(config.storage.url)

    async def run() -> None:
        async with make_client(config.fetch) as client:
            await update_sources(config, store, client, lambda: NOW, force=True)

    try:
        asyncio.run(run())
        return {a.link or "": a for a in store.recent_articles(None, 100)}
    finally:
        store.close()


def items(*links: str) -> bytes:
    return rss20(
        [
            FeedItem(id=link, title=f"Entry {n}", link=link, summary=f"Teaser {n} of the entry")
            for n, link in enumerate(links)
        ]
    )


def nested_page(depth: int) -> bytes:
    body = article_page("blog", 5).body
    text = "".join(f"<p>{p}</p>" for p in body)
    return f"<html><body>{'<div>' * depth}{text}{'</div>' * depth}</body></html>".encode()


def test_hostile_pages_keep_their_teasers_and_say_why(
    tmp_path: Path, feed_server: FeedServer, hostile: HostileServer
) -> None:
    good = article_page("news", 4)
    serve_site(feed_server, [good], "")
    feed_server.add("/nested.html", nested_page(20_000), content_type="text/html")
    links = (
        hostile.url("/trickle"),
        hostile.url("/huge"),
        hostile.url("/timeout"),
        feed_server.url("/nested.html"),
        feed_server.url(good.path),
    )
    feed_server.add("/f.xml", items(*links))
    articles = run_update(config_for(tmp_path, feed_server.url("/f.xml")))
    reasons = {link: a.full_text.error if a.full_text else None for link, a in articles.items()}
    assert reasons[links[0]] == f"timed out: no complete response within {DEADLINE}s"
    assert reasons[links[1]] == f"body larger than {PAGE_MAX_BYTES} bytes"
    assert reasons[links[2]] == f"timed out: no complete response within {DEADLINE}s"
    # libxml2's HTML parser stops descending at 256 levels: the text below is not reached.
    assert reasons[links[3]] == "no article text in the page (0 words)"
    assert reasons[links[4]] is None
    for n, link in enumerate(links[:3]):
        assert html_to_text(articles[link].content) == f"Teaser {n} of the entry"
    # The 50 MB page was not read to its end.
    (huge,) = hostile.requests_to("/huge")
    assert hostile.wait_ended(huge, 10)
    assert huge.note == "client gone"
    assert huge.sent < hostile.huge_size // 2  # socket buffers hold a few MB beyond the cap


def test_a_page_naming_a_codec_that_decodes_nothing_is_read_as_utf8_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`undefined` and `idna` are Python codecs that refuse to decode a page: one page naming
    them once failed the extraction of every page of its source ("stored unenriched")."""
    pages = [article_page("news", 7), article_page("blog", 7), article_page("figures", 7)]
    serve_site(feed_server, pages, "")
    feed_server.add(
        pages[0].path, pages[0].html.encode(), content_type="text/html; charset=undefined"
    )
    meta = pages[1].html.replace("<head>", '<head><meta charset="idna">', 1)
    feed_server.add(pages[1].path, meta.encode(), content_type="text/html")
    links = tuple(feed_server.url(page.path) for page in pages)
    feed_server.add("/f.xml", items(*links))
    articles = run_update(config_for(tmp_path, feed_server.url("/f.xml")))
    for link, page in zip(links, pages, strict=True):
        done = articles[link]
        assert done.full_text is not None and done.full_text.error is None
        assert page.body[0].split()[0] in html_to_text(done.content)


def test_a_content_selector_match_inside_another_is_published_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Each match was serialised whole, its matches inside it too: a page nesting 60
    matches published its innermost paragraph 60 times (and 250 of them in a 5 MB page
    took 9 GB of the worker's memory)."""
    words = " ".join(f"wort{n}" for n in range(30))
    depth = 60
    body = "".join(f'<div class="text"><p>Absatz {n}: {words}</p>' for n in range(depth))
    html = f"<html><body>{body}{'</div>' * depth}</body></html>"
    feed_server.add("/nested.html", html.encode(), content_type="text/html")
    feed_server.add("/robots.txt", b"", content_type="text/plain")
    feed_server.add("/f.xml", items(feed_server.url("/nested.html")))
    path = write(
        tmp_path,
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "S"\nurl = "{feed_server.url("/f.xml")}"\ncategory = "C"\n'
        'content_selector = "div.text"\n',
    )
    (article,) = run_update(load_config(path)).values()
    assert article.full_text is not None and article.full_text.error is None
    text = html_to_text(article.content)
    assert [text.count(f"Absatz {n}: ") for n in range(depth)] == [1] * depth


def test_a_redirect_to_another_host_is_followed_under_that_hosts_robots_txt(
    tmp_path: Path, feed_server: FeedServer, other_host: FeedServer
) -> None:
    page = article_page("figures", 4)
    allowed = other_host.url(page.path)
    serve_site(other_host, [page], "User-agent: *\nDisallow: /private/\n")
    other_host.add("/private/p.html", page.html.encode(), content_type="text/html")
    feed_server.add("/go/1", b"", status=302, headers={"location": allowed})
    feed_server.add(
        "/go/2", b"", status=302, headers={"location": other_host.url("/private/p.html")}
    )
    feed_server.add("/robots.txt", b"", content_type="text/plain")
    links = (feed_server.url("/go/1"), feed_server.url("/go/2"))
    feed_server.add("/f.xml", items(*links))
    articles = run_update(config_for(tmp_path, feed_server.url("/f.xml")))

    followed = articles[links[0]]
    assert followed.full_text is not None and followed.full_text.error is None
    assert "bridge" in followed.content or "river" in followed.content
    assert f'src="{other_host.url("/img/0.jpg")}"' in followed.content  # the final page's base

    refused = articles[links[1]]
    assert refused.full_text is not None
    assert refused.full_text.error == (
        f"redirect to {other_host.url('/private/p.html')} not followed: "
        f"disallowed by {other_host.base_url}/robots.txt"
    )
    assert other_host.requests_to("/private/p.html") == []
    assert len(other_host.requests_to("/robots.txt")) == 1


def test_the_ssrf_guard_refuses_a_private_address_and_the_teaser_stays(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = article_page("blog", 6)
    serve_site(feed_server, [page], "")
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[storage]\nurl = "sqlite:///feeds.db"\n[fetch]\nallow_private_addresses = false\n',
        encoding="utf-8",
    )
    config = load_config(path)
    article = entry(feed_server.url(page.path), teaser(page))
    (done,) = asyncio.run(enrich_alone(config, [article])).articles
    assert done.content == article.content
    assert done.full_text is not None and done.full_text.error is not None
    assert "refused to connect to 127.0.0.1" in done.full_text.error
    assert feed_server.requests == []  # not a byte was sent, not even for robots.txt


def test_a_public_source_cannot_make_us_fetch_a_private_address(
    tmp_path: Path, feed_server: FeedServer, canned_web: CannedWeb
) -> None:
    """With allow_private_addresses (the default), a feed on a public host linking (or
    redirecting) to a loopback, private or link-local page had it fetched and its text
    published. Refused as discovery refuses a public page's private feed; not a byte sent."""
    page = article_page("blog", 14)
    serve_site(feed_server, [page], "")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    public = replace(SOURCE, url=canned_web.url("/feed.xml"))
    inside = feed_server.url(page.path)
    linked = entry(inside, "Inside")
    (got_linked,) = asyncio.run(enrich_alone(config, [linked], source=public)).articles
    why = "not fetched: 127.0.0.1 is a loopback address, linked from a source on a public host"
    assert got_linked.full_text is not None and got_linked.full_text.error == why
    assert got_linked.content == linked.content
    assert feed_server.requests == []

    canned_web.add("/go", b"", status=302, headers={"location": inside})
    canned_web.add("/robots.txt", b"", content_type="text/plain")
    moved = entry(canned_web.url("/go"), "Moved")
    client = canned_web.client(config.fetch)
    (got_moved,) = asyncio.run(enrich_alone(config, [moved], source=public, client=client)).articles
    assert got_moved.full_text is not None
    assert got_moved.full_text.error == f"redirect to {inside} not followed: {why}"


def test_an_extraction_over_the_deadline_fails_its_page_only(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = article_page("german", 6)
    serve_site(feed_server, [page], "")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    article = entry(feed_server.url(page.path), teaser(page))
    # A worker process cannot even start in a millisecond: the extraction always overruns.
    pool = ParserPool(workers=1, deadline=0.001)
    try:
        (done,) = asyncio.run(enrich_alone(config, [article], pool)).articles
    finally:
        pool.close()
    assert done.content == article.content
    assert done.full_text is not None
    assert done.full_text.error == "enrichment took longer than 0.001s"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return path


# On the test server's address, as its pages are: a source on a public host is not let
# fetch them (test_a_public_source_cannot_make_us_fetch_a_private_address).
SOURCE = Source("S", SourceKind.REMOTE, NOW - NOW, url="http://127.0.0.1/f", full_text=True)


def entry(link: str, summary: str) -> Article:
    return Article(
        id=article_id("S", link), source="S", entry_id=link, title="T", link=link,
        summary=summary, content=f"<p>{summary}</p>", authors=(), published=NOW,
        updated=NOW, categories=("C",), language=None,
    )  # fmt: skip


async def enrich_alone(
    config: Config,
    articles: list[Article],
    pool: ParserPool | None = None,
    budget: float | None = None,
    source: Source = SOURCE,
    client: FetchClient | None = None,
) -> EdgeEnriched:
    fetch: FetchConfig = config.fetch
    store = ArticleStore.open(config.storage.url)
    try:
        async with client or make_client(fetch) as client:
            pages = FullTextPages(
                client,
                fetch,
                store,
                pool or ParserPool(workers=0),
                defaultdict(lambda: asyncio.Semaphore(fetch.per_host)),
                RobotsRules(client, fetch, lambda: NOW),
                budget=budget,
            )
            return await pages.enrich(source, articles)
    finally:
        store.close()


def test_a_link_to_a_port_over_65535_fails_its_entry_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Its robots.txt fetch once raised OverflowError out of asyncio's connect, and every
    page of the source went unread ("stored unenriched")."""
    page = article_page("news", 11)
    serve_site(feed_server, [page], "")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    far = entry("http://127.0.0.1:99999/article.html", "Far")
    near = entry(feed_server.url(page.path), teaser(page))
    got_far, got_near = asyncio.run(enrich_alone(config, [far, near])).articles
    assert got_far.full_text is not None and got_far.full_text.error == (
        "http://127.0.0.1:99999/robots.txt unreadable (unusable URL: bad port: Port out of "
        "range 0-65535): the site is not crawled"
    )
    assert got_near.full_text is not None and got_near.full_text.error is None


def test_a_content_type_shown_in_the_reason_is_terminal_safe_and_short(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The server's Content-Type went into the stored reason as sent: a C1 CSI (U+009B, as
    an HTTP header may carry it) reached `feeds status --json`, and 60 KB of it each entry."""
    page = article_page("news", 13)
    serve_site(feed_server, [page], "")
    odd = "\u009b2Jtext/" + "x" * 60_000
    feed_server.add(page.path, page.html.encode(), content_type=odd)
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    (done,) = asyncio.run(enrich_alone(config, [entry(feed_server.url(page.path), "T")])).articles
    assert done.full_text is not None and done.full_text.error is not None
    assert done.full_text.error.startswith("not an HTML page (2jtext/xxx")
    assert "\u009b" not in done.full_text.error and len(done.full_text.error) < 200


def test_a_redirect_to_a_host_that_cannot_be_encoded_fails_its_entry_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """httpx accepted the target and then could not encode its host (idna's
    InvalidCodepoint) on the robots.txt fetch for it: every page of the source went
    unread ("stored unenriched")."""
    page = article_page("news", 12)
    serve_site(feed_server, [page], "")
    feed_server.add("/go", b"", status=302, headers={"location": "http://xn--a/article.html"})
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    moved = entry(feed_server.url("/go"), "Moved")
    near = entry(feed_server.url(page.path), teaser(page))
    got_moved, got_near = asyncio.run(enrich_alone(config, [moved, near])).articles
    assert got_moved.full_text is not None
    assert got_moved.full_text.error == ("redirect to an unusable URL: 'http://xn--a/article.html'")
    assert got_near.full_text is not None and got_near.full_text.error is None


def test_a_page_full_of_rel_attributes_is_read_in_linear_time(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The search for rel="next" scanned from each "rel=" to the next quote or ">": 400 KB
    of "rel=" in a comment took minutes, and the page failed at the deadline."""
    page = article_page("news", 15)
    html = page.html.replace("</body>", f"<!-- {'rel=' * 100_000} --></body>", 1)
    feed_server.add(page.path, html.encode(), content_type="text/html")
    feed_server.add("/robots.txt", b"", content_type="text/plain")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    pool = ParserPool(workers=1, deadline=10)
    try:
        (done,) = asyncio.run(
            enrich_alone(config, [entry(feed_server.url(page.path), "T")], pool)
        ).articles
    finally:
        pool.close()
    assert done.full_text is not None and done.full_text.error is None


def test_a_robots_txt_that_fails_with_a_5xx_keeps_the_whole_host_uncrawled(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = article_page("cookie", 6)
    serve_site(feed_server, [page], "")
    feed_server.add("/robots.txt", b"down", status=503, content_type="text/plain")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    article = entry(feed_server.url(page.path), teaser(page))
    (done,) = asyncio.run(enrich_alone(config, [article])).articles
    assert done.full_text is not None
    assert done.full_text.error == (
        f"{feed_server.base_url}/robots.txt unreadable (HTTP 503 Service Unavailable): "
        "the site is not crawled"
    )
    assert feed_server.requests_to(page.path) == []


def test_pages_over_the_sources_time_budget_wait_for_the_next_run(
    tmp_path: Path, feed_server: FeedServer, hostile: HostileServer
) -> None:
    page = article_page("news", 6)
    serve_site(feed_server, [page], "")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    quick = entry(feed_server.url(page.path), teaser(page))
    endless = entry(hostile.url("/trickle", tag="budget"), "Teaser")
    done = asyncio.run(enrich_alone(config, [quick, endless], budget=4.0))
    assert not done.complete  # the run must read the feed again next time
    got_quick, got_endless = done.articles
    assert got_quick.full_text is not None and got_quick.full_text.error is None
    assert got_endless == endless  # untouched: neither text nor failure recorded


def test_a_robots_txt_over_its_size_cap_keeps_the_host_uncrawled(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = article_page("blog", 8)
    serve_site(feed_server, [page], "")
    huge = b"User-agent: *\n" + b"Disallow: /nothing-here\n" * (ROBOTS_MAX_BYTES // 20)
    feed_server.add("/robots.txt", huge, content_type="text/plain")
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///feeds.db"\n'))
    (done,) = asyncio.run(enrich_alone(config, [entry(feed_server.url(page.path), "T")])).articles
    assert done.full_text is not None
    assert done.full_text.error == (
        f"{feed_server.base_url}/robots.txt unreadable (body larger than {ROBOTS_MAX_BYTES} "
        "bytes): the site is not crawled"
    )


def test_a_robots_txt_with_lines_urllib_cannot_read_is_read_without_them(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """urllib's robots.txt parser raises on these lines; the file once failed the
    extraction of every page of the source ("stored unenriched"). RFC 9309: crawlers use
    the rules that parse."""
    page, banned = article_page("news", 9), article_page("blog", 9)
    robots = (
        "User-agent: *\nCrawl-delay: \u00b2\nRequest-rate: 1/" + "9" * 5000 + "\n"
        f"Disallow: //[\nDisallow: {banned.path}\n"
    )
    serve_site(feed_server, [page, banned], robots)
    links = (feed_server.url(page.path), feed_server.url(banned.path))
    feed_server.add("/f.xml", items(*links))
    articles = run_update(config_for(tmp_path, feed_server.url("/f.xml")))
    read, refused = articles[links[0]].full_text, articles[links[1]].full_text
    assert read is not None and read.error is None
    assert refused is not None
    assert refused.error == f"disallowed by {feed_server.base_url}/robots.txt"
    assert feed_server.requests_to(banned.path) == []


def test_page_fetches_send_the_sources_options_and_its_secrets_only_to_its_origin(
    tmp_path: Path, feed_server: FeedServer, other_host: FeedServer
) -> None:
    here, there, banned = (
        article_page("news", 12),
        article_page("blog", 12),
        article_page("ads", 12),
    )
    serve_site(feed_server, [here], "")
    serve_site(other_host, [there, banned], f"User-agent: Custom\nDisallow: {banned.path}\n")
    links = (feed_server.url(here.path), other_host.url(there.path), other_host.url(banned.path))
    feed_server.add("/f.xml", items(*links))
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "S"\nurl = "{feed_server.url("/f.xml")}"\ncategory = "C"\n'
        'full_text = true\nuser_agent = "Custom/1.0"\nheaders = { "X-Key" = "s3cret" }\n'
        'cookies = { member = "yes" }\n',
        encoding="utf-8",
    )
    articles = run_update(load_config(path))
    (at_home,) = feed_server.requests_to(here.path)
    assert at_home.headers["x-key"] == "s3cret" and at_home.headers["cookie"] == "member=yes"
    assert at_home.headers["user-agent"] == "Custom/1.0"
    (away,) = other_host.requests_to(there.path)
    assert "x-key" not in away.headers and "cookie" not in away.headers
    assert away.headers["user-agent"] == "Custom/1.0"
    assert all("x-key" not in r.headers for r in other_host.requests)  # robots.txt neither
    # robots.txt is read for the user agent the source sends.
    assert articles[links[1]].full_text is not None
    assert articles[links[1]].full_text.error is None
    refused = articles[links[2]].full_text
    assert (
        refused is not None and refused.error == f"disallowed by {other_host.base_url}/robots.txt"
    )
    assert other_host.requests_to(banned.path) == []
