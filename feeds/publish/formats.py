"""The output formats: one entry each, read by every place that knows the formats.

The layout (file names and URLs), the site publisher (what it renders per category),
`feeds serve` (Content-Type), the precompressed variants (which suffixes to compress), the
OPML, the WebSub announce and the pages' links and autodiscovery all read `FORMATS`, so a
new format is its renderer module and one entry here.

An entry names its renderer as "module:function" and imports it on first use: the layout
and the server read this table, and deciding whether to publish must not load the
renderers (feedgen, lxml, jinja2).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from feeds.publish.document import FeedDocument

PAGE_NAME = "index.html"  # a folder's page: its URL is the folder's


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One file written for every category: `<slug>/<file_name>`."""

    key: str  # how code and templates name it: `doc.url("atom")`
    file_name: str
    media_type: str  # without parameters; served with charset=utf-8 (every format is text)
    label: str  # the link text on the pages
    renderer: str  # "module:function" taking a FeedDocument, returning the file's bytes
    # A feed document readers subscribe to: announced to the WebSub hub and offered by
    # `<link rel="alternate" type="<media_type>">` autodiscovery in the pages' heads.
    feed: bool = True
    archives: bool = False  # cut into the RFC 5005 archive pages `<slug>/archive/<n>.xml`

    @property
    def content_type(self) -> str:
        """The Content-Type `feeds serve` sends with the file."""
        return f"{self.media_type}; charset=utf-8"

    @property
    def is_page(self) -> bool:
        """The category's own page: it links the other formats and is the folder's URL."""
        return self.file_name == PAGE_NAME

    @property
    def url_name(self) -> str:
        """The last segment of the file's public URL ("" for the folder's page)."""
        return "" if self.is_page else self.file_name

    def render(self, doc: FeedDocument) -> bytes:
        """The file's bytes for one category's document."""
        return renderer_of(self)(doc)


def renderer_of(output: OutputFormat) -> Callable[[FeedDocument], bytes]:
    """The function an entry names, imported now; ValueError naming the entry if it is
    not there or not callable."""
    module_name, _, function_name = output.renderer.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"output format {output.key!r}: no renderer {output.renderer!r}") from exc
    if not callable(found):
        raise ValueError(f"output format {output.key!r}: {output.renderer!r} is not callable")
    return cast("Callable[[FeedDocument], bytes]", found)


# In this order in every category folder, on the pages and in the WebSub announce. The first
# feed format is offered where only one is: the OPML, an article page's autodiscovery, the
# front page's feed of everything.
FORMATS: dict[str, OutputFormat] = {
    output.key: output
    for output in (
        OutputFormat(
            "atom", "atom.xml", "application/atom+xml", "Atom",
            "feeds.publish.atom:render_atom", archives=True,
        ),
        OutputFormat(
            "rss", "rss.xml", "application/rss+xml", "RSS", "feeds.publish.rss:render_rss",
        ),
        OutputFormat(
            "json", "feed.json", "application/feed+json", "JSON Feed",
            "feeds.publish.jsonfeed:render_json_feed",
        ),
        OutputFormat(
            "html", PAGE_NAME, "text/html", "HTML page",
            "feeds.publish.pages:render_category_page", feed=False,
        ),
    )
}  # fmt: skip


def feed_formats() -> list[OutputFormat]:
    """The feed documents, for autodiscovery and the WebSub announce."""
    return [output for output in FORMATS.values() if output.feed]


def linked_formats() -> list[OutputFormat]:
    """The files a category's page and the front page link: every format but the page."""
    return [output for output in FORMATS.values() if not output.is_page]


def main_feed() -> OutputFormat:
    """The feed offered where only one is linked (the first feed format)."""
    return feed_formats()[0]


def archive_format() -> OutputFormat:
    """The format of the RFC 5005 archive pages (their names carry no format: one has them)."""
    return next(output for output in FORMATS.values() if output.archives)


def by_file_name(name: str) -> OutputFormat | None:
    """The format whose category file is called `name`, if any."""
    return next((f for f in FORMATS.values() if f.file_name == name), None)
