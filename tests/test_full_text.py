"""Full text: a loopback site of generated article pages read through the real update run
(real HTTP, real SQLite, the production client), its extracts scored against the known
bodies; robots.txt, failures, the once-per-entry rule, the per-run bound and the config."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.article_site import (
    ArticlePage,
    article_page,
    failing_pages,
    score,
    serve_site,
    site,
    site_feed,
    teaser,
)
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer

from feeds.config import Config, ConfigError, load_config
from feeds.fulltext.extract import ExtractionError, Page, decode_page, extract_article
from feeds.model import Article
from feeds.normalise.html import html_to_text
from feeds.sources.remote import make_client
from feeds.status import narrow_lines, source_statuses
from feeds.store import ArticleStore
from feeds.update.run import UpdateReport, update_sources

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ROBOTS = "User-agent: *\nDisallow: /private/\n"
ADS_SELECTOR = "div.article-text > p"


def write_config(tmp_path: Path, sources: str, fetch: str = "") -> Config:
    path = tmp_path / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n[fetch]\n{fetch}\n'
        + sources,
        encoding="utf-8",
    )
    return load_config(path)


def update(config: Config, *, force: bool = True) -> UpdateReport:
    store = ArticleStore.open(config.storage.url)

    async def run() -> UpdateReport:
        async with make_client(config.fetch) as client:
            return await update_sources(config, store, client, lambda: NOW, force=force)

    try:
        return asyncio.run(run())
    finally:
        store.close()


def stored(config: Config) -> dict[str, Article]:
    store = ArticleStore.open(config.storage.url)
    try:
        return {a.entry_id: a for a in store.recent_articles(None, 1000)}
    finally:
        store.close()


def private_page() -> ArticlePage:
    page = article_page("news", 7)
    return replace(page, path="/private/secret.html")


def test_the_generated_site_is_extracted_within_the_bounds_and_failures_keep_teasers(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pages = site()
    ads = [p for p in pages if p.shape == "ads"]
    automatic = [p for p in pages if p.shape != "ads"]
    failing = failing_pages()
    secret = private_page()
    serve_site(feed_server, [*pages, *failing, secret], ROBOTS)
    feed_server.add("/site.xml", site_feed(feed_server, automatic))
    feed_server.add("/broken.xml", site_feed(feed_server, [*failing, secret]))
    feed_server.add("/ads.xml", site_feed(feed_server, ads))
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "Site"\nurl = "{feed_server.url("/site.xml")}"\n'
        'category = "News"\nfull_text = true\n'
        f'[[sources]]\nname = "Broken"\nurl = "{feed_server.url("/broken.xml")}"\n'
        'category = "News"\nfull_text = true\n'
        f'[[sources]]\nname = "Ads"\nurl = "{feed_server.url("/ads.xml")}"\n'
        f'category = "News"\ncontent_selector = "{ADS_SELECTOR}"\n',
    )
    report = update(config)
    assert not report.failed
    articles = stored(config)
    assert len(articles) == len(pages) + len(failing) + 1

    for page in pages:
        article = articles[page.path]
        assert article.full_text is not None and article.full_text.error is None, page.path
        got = score(page, html_to_text(article.content))
        assert got.recall >= 0.9, (page.path, got)
        assert got.boilerplate <= 0.1, (page.path, got)
        assert article.summary == teaser(page)  # the feed's own summary stays the summary
        for banned in ("<script", "<iframe", "<object", "onclick", "style="):
            assert banned not in article.content, (page.path, banned)
    figures = articles["/figures/1.html"].content
    assert f'src="{feed_server.url("/img/0.jpg")}"' in figures  # resolved against the page

    reasons = {
        "/gone.html": "HTTP 404",
        "/broken.html": "HTTP 500",
        "/index.html": "no article text in the page",
        "/download.bin": "not an HTML page (application/octet-stream)",
        secret.path: f"disallowed by {feed_server.base_url}/robots.txt",
    }
    for path, reason in reasons.items():
        article = articles[path]
        assert article.full_text is not None and article.full_text.error is not None
        assert reason in article.full_text.error, (path, article.full_text.error)
        assert html_to_text(article.content) == html_to_text(f"<p>{teaser_of(path)}</p>")
    assert feed_server.requests_to(secret.path) == []  # disallowed: never asked for
    assert len(feed_server.requests_to("/robots.txt")) == 1  # once per host per run

    # The operator sees it in `feeds status`.
    store = ArticleStore.open(config.storage.url)
    try:
        rows = source_statuses(
            config, store.fetch_states(), store.article_counts(), store.full_text_tallies()
        )
    finally:
        store.close()
    lines = "\n".join(narrow_lines(rows, NOW, width=400))
    assert f"full text: {len(automatic)} of {len(automatic)}" in lines.splitlines()[-1]
    assert f"full text: 0 of {len(failing) + 1}, {len(failing) + 1} failed: " in lines
    assert "disallowed by" in lines and "HTTP 404 Not Found" in lines
    assert f"full text: {len(ads)} of {len(ads)}" in lines

    # Fetched once per entry: an unchanged feed entry reuses what was stored.
    before = len(feed_server.requests)
    update(config)
    page_paths = {p.path for p in [*pages, *failing]}
    again = [r.path for r in feed_server.requests[before:] if r.path in page_paths]
    assert again == []
    assert stored(config) == articles


def teaser_of(path: str) -> str:
    page = next(p for p in (*failing_pages(), private_page()) if p.path == path)
    return teaser(page)


def test_a_changed_entry_asks_for_its_page_again_conditionally(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    page = article_page("blog", 3)
    serve_site(feed_server, [page], "")
    feed_server.add("/f.xml", site_feed(feed_server, [page]))
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "S"\nurl = "{feed_server.url("/f.xml")}"\ncategory = "C"\n'
        "full_text = true\n",
    )
    update(config)
    first = stored(config)[page.path]
    assert first.full_text is not None and first.full_text.etag is not None
    # Its entries are read whole every time: none is recognised and passed over.
    store = ArticleStore.open(config.storage.url)
    state = store.fetch_state("S")
    store.close()
    assert state is not None and state.entry_digests is None
    # The feed changes the entry's title: its page is asked for with the validators we hold.
    feed_server.add("/f.xml", site_feed(feed_server, [replace(page, title="A new title")]))
    update(config)
    asked = feed_server.requests_to(page.path)
    assert len(asked) == 2
    assert asked[1].headers.get("if-none-match") == first.full_text.etag
    second = stored(config)[page.path]
    assert second.title == "A new title"
    assert second.content == first.content  # 304: the stored text stands
    assert (
        second.full_text is not None and second.full_text.entry_hash != first.full_text.entry_hash
    )


def test_pages_beyond_the_per_run_bound_wait_for_the_next_run(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    from feeds.fulltext.pages import PAGES_PER_RUN

    pages = site((1, 2, 3))[: PAGES_PER_RUN + 5]
    serve_site(feed_server, pages, "")
    feed_server.add("/f.xml", site_feed(feed_server, pages))
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "S"\nurl = "{feed_server.url("/f.xml")}"\ncategory = "C"\n'
        "full_text = true\n",
    )
    update(config)
    tried = [a for a in stored(config).values() if a.full_text is not None]
    assert len(tried) == PAGES_PER_RUN
    # The feed has not changed, but it is not taken for unchanged: the rest come now.
    update(config)
    assert all(a.full_text is not None for a in stored(config).values())
    assert all(len(feed_server.requests_to(p.path)) == 1 for p in pages)


@pytest.mark.parametrize(
    ("lines", "key", "message"),
    [
        ('content_selector = "div..x"', "content_selector", "invalid CSS selector 'div..x'"),
        ('content_selector = ""', "content_selector", "invalid CSS selector ''"),
        ('content_selector = "p::before"', "content_selector", "invalid CSS selector"),
        ('content_selector = "xpath://p["', "content_selector", "invalid XPath '//p['"),
        (f'content_selector = "{"p " * 600}"', "content_selector", "longer than 1000 characters"),
        ('full_text = "yes"', "full_text", "must be"),
        ('full_text = false\ncontent_selector = "p"', "content_selector", "full_text = false"),
    ],
)
def test_bad_full_text_keys_are_config_errors_naming_source_and_key(
    tmp_path: Path, lines: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        write_config(
            tmp_path,
            f'[[sources]]\nname = "Blog"\nurl = "https://e.org/f"\ncategory = "C"\n{lines}\n',
        )
    text = str(caught.value)
    assert 'sources[1] ("Blog")' in text and key in text and message in text, text


def test_full_text_is_for_web_sources_and_a_selector_asks_for_it(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    with pytest.raises(ConfigError) as caught:
        write_config(tmp_path, '[[sources]]\nname = "L"\npath = "local"\nfull_text = true\n')
    message = "key 'full_text': applies to sources fetched from the web (url, page) only"
    assert f'sources[1] ("L") {message}' in str(caught.value)
    config = write_config(
        tmp_path,
        '[[sources]]\nname = "A"\nurl = "https://e.org/a"\ncategory = "C"\n'
        'content_selector = "article .body"\n'
        '[[sources]]\nname = "B"\nurl = "https://e.org/b"\ncategory = "C"\n',
    )
    a, b = config.sources
    assert (a.full_text, a.content_selector) == (True, "article .body")
    assert (b.full_text, b.content_selector) == (False, None)


def test_feedparser_does_not_run_chardet_which_readability_brings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import chardet

    from feeds.parse import parse_feed

    def refuse(data: bytes) -> dict[str, str]:
        raise AssertionError("chardet ran")

    monkeypatch.setattr(chardet, "detect", refuse)
    # Declared UTF-8, written in windows-1252: the declared encoding fails.
    body = rss20([FeedItem(id="1", title="Bäume € 1", link="https://e.org/1")]).replace(
        "Bäume € 1".encode(), "Bäume € 1".encode("cp1252")
    )
    feed = parse_feed(body, url="https://e.org/f", headers={"content-type": "application/xml"})
    assert [e.title for e in feed.entries] == ["Bäume € 1"]


def test_feeds_update_publishes_the_full_text_and_feeds_status_tells_how_it_went(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pages = [article_page("news", 9), article_page("cookie", 9)]
    gone = failing_pages()[0]
    serve_site(feed_server, [*pages, gone], ROBOTS)
    feed_server.add("/f.xml", site_feed(feed_server, [*pages, gone]))
    (tmp_path / "feeds.toml").write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[[sources]]\nname = "Zeitung"\nurl = "{feed_server.url("/f.xml")}"\n'
        'category = "News"\nfull_text = true\n',
        encoding="utf-8",
    )
    done = run_feeds("--config", "feeds.toml", "update", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    published = json.loads((tmp_path / "out" / "all" / "feed.json").read_text(encoding="utf-8"))
    items = {item["url"]: item for item in published["items"]}
    for page in pages:
        item = items[feed_server.url(page.path)]
        assert score(page, html_to_text(item["content_html"])).recall >= 0.9
        assert item["summary"] == teaser(page)
    assert html_to_text(items[feed_server.url(gone.path)]["content_html"]) == teaser(gone)
    status = run_feeds("--config", "feeds.toml", "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "full text: 2 of 3, 1 failed: HTTP 404 Not Found (1)" in status.stdout


def test_a_page_is_decoded_by_its_header_else_its_meta_charset_else_as_utf8() -> None:
    text = "<p>Grüße aus Köln für 5 €</p>"
    meta = f'<html><head><meta charset="windows-1252"></head><body>{text}</body></html>'
    assert "Grüße aus Köln für 5 €" in decode_page(meta.encode("cp1252"), "text/html")
    latin = f"<html><body>{text.replace(' €', '')}</body></html>".encode("latin-1")
    assert "Grüße aus Köln" in decode_page(latin, "text/html; charset=ISO-8859-1")
    assert "Grüße" in decode_page(text.encode(), None)
    assert "\ufffd" in decode_page(b"<p>\xff</p>", "text/html; charset=no-such-charset")


def test_a_selector_that_matches_nothing_or_too_little_keeps_the_teaser() -> None:
    page = article_page("blog", 4)
    fetched = Page(page.html.encode(), "https://blog.example/p", "text/html")
    with pytest.raises(ExtractionError, match=r"content_selector 'main' matched nothing"):
        extract_article(fetched, "main")
    with pytest.raises(ExtractionError, match=r"no article text in content_selector 'h2'"):
        extract_article(fetched, "h2")
    body = extract_article(fetched, "div.entry-content")
    assert score(page, html_to_text(body)).recall == 1.0
    by_xpath = extract_article(fetched, "xpath://div[@class='entry-content']")
    assert by_xpath == body


def test_a_page_source_gets_the_full_text_of_its_entries(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    pages = [article_page("german", 11), article_page("breaks", 11)]
    serve_site(feed_server, pages, ROBOTS)
    links = "".join(f'<li><a href="{p.path}">{p.title}</a></li>' for p in pages)
    feed_server.add(
        "/presse/", f"<html><body><ul>{links}</ul></body></html>".encode(), content_type="text/html"
    )
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "Presse"\npage = "{feed_server.url("/presse/")}"\n'
        'category = "Lokal"\nitem = "li"\ntitle = "a"\nlink = "a"\nfull_text = true\n',
    )
    update(config)
    by_link = {a.link: a for a in stored(config).values()}
    for page in pages:
        article = by_link[feed_server.url(page.path)]
        assert article.full_text is not None and article.full_text.error is None
        assert score(page, html_to_text(article.content)).recall >= 0.9
