"""The output URL layout: where each published file lives, on disk and on the web.

<dir>/index.html                      the front page
<dir>/feeds.opml                      every category feed, for import into readers
<dir>/<slug>/atom.xml|rss.xml|feed.json|index.html   a file per output format (formats.py)
<dir>/all/...                         the same set for every category together
<dir>/articles/<source>/<page>.html   pages of local articles, which have no page elsewhere
<dir>/articles/<source>/index.html    a local source's page: its articles (its <source> link)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from feeds.model import Article, slugify
from feeds.publish.formats import FORMATS, feed_formats

PREVIEW = 5  # items per category on the front page
ALL_SLUG = "all"
ARTICLES_FOLDER = "articles"  # articles/<source>/<page>.html
ARCHIVE_FOLDER = "archive"  # <slug>/archive/<n>.xml


@dataclass(frozen=True, slots=True)
class OutputLayout:
    directory: Path
    base_url: str  # ends with "/"

    def feed_path(self, slug: str, kind: str) -> Path:
        return self.directory / slug / FORMATS[kind].file_name

    def feed_url(self, slug: str, kind: str) -> str:
        return f"{self.base_url}{slug}/{FORMATS[kind].url_name}"

    def feed_file(self, slug: str, kind: str) -> str:
        """Path of a category's file relative to the output folder (pages link these)."""
        return f"{slug}/{FORMATS[kind].file_name}"

    def archive_folder(self, slug: str) -> Path:
        return self.directory / slug / ARCHIVE_FOLDER

    def archive_path(self, slug: str, page: int) -> Path:
        return self.archive_folder(slug) / f"{page}.xml"

    def archive_url(self, slug: str, page: int) -> str:
        return f"{self.base_url}{slug}/{ARCHIVE_FOLDER}/{page}.xml"

    @property
    def index_path(self) -> Path:
        return self.directory / "index.html"

    @property
    def opml_path(self) -> Path:
        return self.directory / "feeds.opml"

    @property
    def opml_url(self) -> str:
        return self.base_url + "feeds.opml"

    def document_name(self, path: Path) -> str | None:
        """A file's name relative to the output folder, as documents and URLs name it
        (`politik/atom.xml`: the inverse of `feed_file`), or None outside the folder."""
        if not path.is_relative_to(self.directory):
            return None
        return path.relative_to(self.directory).as_posix()

    def feed_urls(self, paths: Iterable[Path]) -> list[str]:
        """The public URLs of the feed documents (not pages) among written `paths`."""
        feeds = {output.file_name for output in feed_formats()}
        names = (self.document_name(path) for path in paths if path.name in feeds)
        return [self.base_url + name for name in names if name is not None]

    def article_page(self, article: Article) -> str:
        """Path of an article's own page, relative to the output folder.

        Built from the source and the entry id, never from the title or the run, so
        the URL stays stable; the short hash keeps two similar entry ids apart.
        """
        return self.page_of(article.source, article.entry_id, article.id)

    def page_of(self, source: str, entry_id: str, article_id: str) -> str:
        """`article_page` of the article `article_id` of `source` with `entry_id`."""
        stem = entry_id.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        digest = hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:8]
        name = (slugify(stem)[:60].strip("-") or "article") + f"-{digest}"
        return f"{self._source_folder(source)}/{name}.html"

    def source_page(self, source: str) -> str:
        """Path of a local source's page (its articles), relative to the output folder."""
        return f"{self._source_folder(source)}/index.html"

    def source_page_url(self, source: str) -> str:
        return f"{self.base_url}{self._source_folder(source)}/"

    @staticmethod
    def _source_folder(source: str) -> str:
        return f"articles/{slugify(source) or 'source'}"

    def article_url(self, article: Article) -> str:
        """The link published for an article: its own, else the page we write for it."""
        return article.link or self.base_url + self.article_page(article)
