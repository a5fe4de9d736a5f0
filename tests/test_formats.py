"""The output-format registry: every place that knows the formats reads the one table, so a
format added to it is written, served, compressed, linked and announced with no other change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import lxml.html
import pytest
from lxml import etree
from support.inprocess_server import running

from feeds.model import Article, Author, Category, article_id
from feeds.publish import OutputLayout, Site
from feeds.publish.document import FeedDocument
from feeds.publish.files import PublishResult
from feeds.publish.formats import (
    FORMATS,
    OutputFormat,
    archive_format,
    feed_formats,
    linked_formats,
    main_feed,
    renderer_of,
)
from feeds.publish.layout import ARCHIVE_FOLDER
from feeds.publish.site import publish_site
from feeds.publish.variants import wants_variants
from feeds.serve import content_type, create_app

BASE_URL = "http://localhost:8080/"
SLUGS = ("welt-nachrichten", "technik", "all")


def render_titles(doc: FeedDocument) -> bytes:
    """The fake format of the tests: the category's titles, one a line."""
    return "".join(f"{article.title}\n" for article in doc.articles).encode("utf-8")


def _article(number: int, category: str) -> Article:
    when = datetime(2025, 5, 10, 11, 33, tzinfo=UTC) - timedelta(hours=number)
    entry_id = f"e{number}"
    return Article(
        id=article_id("src", entry_id), source="src", entry_id=entry_id,
        title=f"Nachricht {number} über die Lage in der Stadt und im Land, ausführlich",
        link=f"https://example.org/{number}", summary="kurz", content="<p>Inhalt</p>",
        authors=(Author("Ada"),), published=when, updated=when, categories=(category,),
        language="de",
    )  # fmt: skip


def _publish(directory: Path) -> tuple[OutputLayout, PublishResult]:
    """Two categories of 20 articles each (enough that every file is worth compressing)."""
    layout = OutputLayout(directory, BASE_URL)
    welt = [_article(n, "Welt Nachrichten") for n in range(20)]
    tech = [_article(n, "Technik") for n in range(20, 40)]
    categories = [(Category.named("Welt Nachrichten"), welt), (Category.named("Technik"), tech)]
    result = publish_site(
        categories, welt + tech, Site(layout, "feeds", hub="https://hub.example/")
    )
    assert result.problems == ()
    return layout, result


def _page(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def _alternates(page: lxml.html.HtmlElement) -> set[tuple[str, str]]:
    """The (type, href) of the page's autodiscovery links."""
    return {
        (str(link.get("type")), str(link.get("href")))
        for link in page.iter("link")
        if link.get("rel") == "alternate"
    }


def _anchors(page: lxml.html.HtmlElement) -> set[tuple[str, str]]:
    """The (text, href) of the page's visible links."""
    return {(str(a.text_content()), str(a.get("href"))) for a in page.iter("a")}


def test_the_registry_is_consistent() -> None:
    assert FORMATS, "no output formats"
    names = [output.file_name for output in FORMATS.values()]
    assert len(names) == len(set(names)), f"two formats write one file: {names}"
    for key, output in FORMATS.items():
        assert key == output.key
        # One plain name in the category folder: `feeds serve` refuses hidden names, and
        # the archive folder is taken.
        assert "/" not in output.file_name and not output.file_name.startswith("."), output
        assert output.file_name != ARCHIVE_FOLDER, output
        assert callable(renderer_of(output)), output
        assert ";" not in output.media_type and "/" in output.media_type, output
        assert output.content_type == f"{output.media_type}; charset=utf-8"
        assert content_type(("technik", output.file_name)) == output.content_type
        assert wants_variants(Path("technik") / output.file_name, 4096), output
        assert output.label.strip(), output
    assert [o.key for o in FORMATS.values() if o.is_page] == ["html"]
    assert [o.key for o in FORMATS.values() if o.archives] == [archive_format().key]
    assert main_feed() in feed_formats()
    assert not any(output.is_page for output in feed_formats())


def test_a_renderer_that_is_not_there_is_named() -> None:
    missing = OutputFormat("gone", "gone.txt", "text/plain", "Gone", "feeds.publish.nothing:x")
    with pytest.raises(ValueError, match="output format 'gone': no renderer"):
        renderer_of(missing)
    not_callable = OutputFormat("flag", "flag.txt", "text/plain", "Flag", f"{__name__}:BASE_URL")
    with pytest.raises(ValueError, match=r"'flag'.*not callable"):
        renderer_of(not_callable)


def test_every_format_is_written_linked_and_announced(tmp_path: Path) -> None:
    layout, result = _publish(tmp_path / "out")
    written = {p.relative_to(layout.directory).as_posix() for p in result.written}
    announced = set(layout.feed_urls(result.written))
    front = _page(layout.index_path)
    opml = etree.fromstring(layout.opml_path.read_bytes())
    assert [o.get("xmlUrl") for o in opml.iter("outline")] == [
        layout.feed_url(slug, main_feed().key) for slug in SLUGS[:2]
    ]
    for slug in SLUGS:
        category = _page(layout.feed_path(slug, "html"))
        for output in FORMATS.values():
            assert f"{slug}/{output.file_name}" in written
            url = layout.feed_url(slug, output.key)
            assert (url in announced) is output.feed, (slug, output.key)
            assert ((output.media_type, url) in _alternates(category)) is output.feed
            if slug != "all":  # the front page offers only the main feed of everything
                assert ((output.media_type, url) in _alternates(front)) is output.feed
        for output in linked_formats():
            assert (output.label, output.file_name) in _anchors(category)
            assert (output.label, f"{slug}/{output.file_name}") in _anchors(front)


@pytest.mark.parametrize("feed", [False, True], ids=["page-only", "feed"])
def test_a_format_added_to_the_registry_is_written_served_and_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: bool
) -> None:
    """A new format is its renderer and one entry: nothing else is told about it."""
    titles = OutputFormat(
        "titles", "titles.lst", "text/plain", "Titles", f"{__name__}:render_titles", feed=feed
    )
    monkeypatch.setitem(FORMATS, titles.key, titles)
    layout, result = _publish(tmp_path / "out")

    welt = layout.feed_path("welt-nachrichten", "titles")
    assert welt.read_text("utf-8").splitlines() == [
        _article(n, "Welt Nachrichten").title for n in range(20)
    ]
    for slug in SLUGS:
        path = layout.feed_path(slug, "titles")
        assert path in result.written and path.name == "titles.lst"
        assert path.with_name("titles.lst.gz").is_file()  # compressible, like every format
        category = _page(layout.feed_path(slug, "html"))
        assert ("Titles", "titles.lst") in _anchors(category)
        url = layout.feed_url(slug, "titles")
        assert ((titles.media_type, url) in _alternates(category)) is feed
        assert (url in layout.feed_urls(result.written)) is feed
    assert ("Titles", "technik/titles.lst") in _anchors(_page(layout.index_path))

    app = create_app(
        layout.directory, metrics=None, health_max_age=timedelta(minutes=10), cache_seconds=60
    )
    with running(app) as server, httpx.Client(base_url=server.url) as client:
        identity = client.get("/technik/titles.lst", headers={"Accept-Encoding": "identity"})
        assert identity.status_code == 200
        # .lst is no type mimetypes knows: the registry's type is what is sent.
        assert identity.headers["content-type"] == "text/plain; charset=utf-8"
        assert identity.content == layout.feed_path("technik", "titles").read_bytes()
        packed = client.get("/technik/titles.lst", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.content == identity.content
