"""Publishing a site: every category's feeds and pages, `all/`, the front page and OPML."""

from __future__ import annotations

import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable, Container, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from feeds.model import Article, Category, Origin, PublishProblem
from feeds.publish.document import FeedDocument, Site, archive_documents, build_document
from feeds.publish.files import (
    PublishResult,
    StagedFiles,
    UnwrittenFilesError,
    stage_changed,
    write_changed,
    write_staged,
)
from feeds.publish.formats import FORMATS, archive_format
from feeds.publish.fragments import Fragments
from feeds.publish.layout import ALL_SLUG
from feeds.publish.opml import render_opml
from feeds.publish.pages import render_article_page, render_index, render_source_page
from feeds.shorten import shorten

log = logging.getLogger(__name__)

# A category's highest arrival number and its live (arrival number, article) pairs.
Archive = tuple[int, list[tuple[int, Article]]]
REASON_LIMIT = 200  # characters of a renderer's error in a publish problem
WRITE_AHEAD = 2  # rendered batches that may wait for the writing thread


def render_category(doc: FeedDocument) -> dict[Path, bytes]:
    """Every file of one category, by path: one per output format."""
    layout, slug = doc.layout, doc.category.slug
    return {layout.feed_path(slug, key): output.render(doc) for key, output in FORMATS.items()}


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
    sources: Sequence[Origin] = (),
    archives: Mapping[str, Archive] | None = None,
    first_seen: Mapping[str, datetime] | None = None,
) -> PublishResult:
    """Write the categories in `render` (all when None), `all/`, the front page and the OPML.

    `categories` lists every category; those not rendered need only their newest few
    articles, for the front page, which also shows the `sources` and their health; the
    sources credited on entries are `site.origins`. `archives` holds, per rendered
    category, its highest arrival number and its live arrivals, from which the RFC 5005
    archive pages are cut. `first_seen` (by article id) decides which of the articles
    several sources carry is published. The result names the scopes rendered (the
    categories, `all`, the pages) and what in them could not be (each also logged); files
    the output folder refused are its `unwritten` (the caller reports them), and never stop
    the other files.
    """
    documents = [build_document(c, a, site, first_seen=first_seen) for c, a in categories]
    combined = build_document(
        Category(name=site.title, slug=ALL_SLUG), everything, site, first_seen=first_seen
    )
    # Each category's files are written as soon as they are rendered: holding every
    # category's rendered bytes at once made the site's size the process's peak memory.
    with _Writer() as writer:
        problems: list[PublishProblem] = []
        scopes: set[str] = set()
        for doc in (*documents, combined):
            if render is None or doc.category.slug in render or doc is combined:
                archive = (archives or {}).get(doc.category.slug, (0, []))
                files = _isolated_category(doc, archive, site, first_seen, problems)
                writer.write(files, doc.category.slug)
                scopes.add(doc.category.slug)
        pages: dict[str, Callable[[], dict[Path, bytes]]] = {
            "source pages": lambda: _source_pages(everything, sources, site),
            site.layout.index_path.name: lambda: {
                site.layout.index_path: render_index(documents, combined, site, sources)
            },
            site.layout.opml_path.name: lambda: {
                site.layout.opml_path: render_opml(documents, site.title)
            },
        }
        for name, page in pages.items():
            scopes.add(name)
            try:
                files = page()
            except Exception as exc:  # the category files are still worth writing
                problems.append(PublishProblem(name, f"not written: {_reason(exc)}"))
            else:
                writer.write(files, name)
        result = writer.result()
    for problem in problems:
        log.error("publish: %s", problem)
    return replace(result, problems=tuple(problems), scopes=frozenset(scopes))


def _isolated_category(
    doc: FeedDocument,
    archive: Archive,
    site: Site,
    first_seen: Mapping[str, datetime] | None,
    problems: list[PublishProblem],
) -> dict[Path, bytes]:
    """The category's files; an entry that cannot be rendered is left out and reported,
    and a category that cannot be rendered even so is reported and skipped (its old
    files stay), so one bad entry never stops the rest of the site."""
    try:
        return _category_files(doc, archive, site, first_seen, frozenset())
    except Exception:  # find the entries at fault below; the rest is published
        log.debug("publish %s failed; rendering its entries one by one", doc.category.slug)
    slug = doc.category.slug
    bad: set[str] = set()
    candidates = {a.id: a for a in (*doc.articles, *(a for _, a in archive[1]))}
    # Each entry alone, its fragments neither read nor kept: a one-entry document's would
    # replace the ones its entry has in the whole document.
    alone = replace(site, fragments=Fragments())
    for article in candidates.values():
        try:
            _category_files(
                replace(doc, site=alone, articles=(article,)),
                (0, []),
                alone,
                first_seen,
                frozenset(),
            )
        except Exception as exc:
            bad.add(article.id)
            problems.append(
                PublishProblem(
                    slug,
                    f"entry {article.entry_id!r} of {article.source!r} not published: "
                    f"{_reason(exc)}",
                )
            )
    try:
        return _category_files(doc, archive, site, first_seen, frozenset(bad))
    except Exception as exc:
        problems.append(PublishProblem(slug, f"category not published: {_reason(exc)}"))
        return {}


def _category_files(
    doc: FeedDocument,
    archive: Archive,
    site: Site,
    first_seen: Mapping[str, datetime] | None,
    bad: frozenset[str],
) -> dict[Path, bytes]:
    """Every file of a category: its feeds, archive pages and local article pages,
    without the articles whose ids are in `bad`."""
    doc = replace(doc, articles=tuple(a for a in doc.articles if a.id not in bad))
    highest, entries = archive
    kept = [(seq, a) for seq, a in entries if a.id not in bad]
    links, pages = archive_documents(doc.category, highest, kept, site, first_seen)
    archived = archive_format()
    # The kept entries of all these documents in one read, not a round trip each.
    site.fragments.prefetch(
        [doc.file_name(key) for key in FORMATS] + [page.file_name(archived.key) for page in pages]
    )
    files = render_category(replace(doc, archive=links))
    files.update(_article_pages(doc.articles, site))
    for page in pages:
        assert page.archive.page is not None
        path = site.layout.archive_path(doc.category.slug, page.archive.page)
        files[path] = archived.render(page)
    site.fragments.written(files)  # where their entries lie, for the next publish
    return files


def _reason(exc: Exception) -> str:
    return shorten(f"{type(exc).__name__}: {exc}", REASON_LIMIT)


def _source_pages(
    everything: Sequence[Article], sources: Sequence[Origin], site: Site
) -> dict[Path, bytes]:
    """A page per local source, listing its articles: what its entries' `<source>` and
    the blogroll link to. Sources whose names give one folder share its page."""
    layout = site.layout
    names: dict[str, list[str]] = {}
    for origin in sources:
        if origin.own_pages:
            names.setdefault(layout.source_page(origin.name), []).append(origin.name)
    local = {origin.name for origin in sources if origin.own_pages}
    listed: dict[str, list[Article]] = {page: [] for page in names}
    for article in everything:
        if article.link is None or article.source in local:
            page = layout.source_page(article.source)
            listed.setdefault(page, []).append(article)
            if article.source not in names.setdefault(page, []):
                names[page].append(article.source)
    return {
        layout.directory / page: render_source_page(page, names[page], articles, site)
        for page, articles in listed.items()
    }


def _article_pages(articles: Sequence[Article], site: Site) -> dict[Path, bytes]:
    layout = site.layout
    return {
        layout.directory / layout.article_page(a): render_article_page(a, site)
        for a in articles
        if a.link is None
    }


class _Writer:
    """Writes a publish's files batch by batch, each path once (a local article's page
    comes with every category that carries it), and sums up what changed.

    A batch is staged (compared with the files, its variants' compression started) when it
    is handed over, then written (made durable, renamed) in order in a thread of its own
    while the next ones are rendered and compressed; at most `WRITE_AHEAD` wait, so memory
    holds a few batches, not the site. A file the output folder refuses is kept in
    `unwritten`, in its batch's scope, and the other files and batches are written all the
    same; any other failure is raised by a later `write` or by `result`, and no batch after
    it is written."""

    def __init__(self) -> None:
        self.written: list[Path] = []
        self.seen: set[Path] = set()
        self.unwritten: list[tuple[str, str]] = []  # appended by the writing thread only
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-write")
        self._pending: deque[Future[list[Path]]] = deque()
        self._failed = False  # read and set by the writing thread only

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        # Never return with a batch half written behind the caller's back.
        concurrent.futures.wait(self._pending)
        self._pending.clear()
        self._thread.shutdown()

    def write(self, files: dict[Path, bytes], scope: str) -> None:
        batch = {path: data for path, data in files.items() if path not in self.seen}
        self.seen.update(batch)
        staged = stage_changed(batch)  # compressing while the batches before it are written
        while len(self._pending) >= WRITE_AHEAD:
            self._finish_oldest()
        self._pending.append(self._thread.submit(self._write_in_order, staged, scope))

    def _write_in_order(self, staged: StagedFiles, scope: str) -> list[Path]:
        if self._failed:
            raise RuntimeError("not written: an earlier batch failed")
        try:
            return write_staged(staged)
        except UnwrittenFilesError as exc:  # the folder refused these files, not the others
            self.unwritten += ((scope, reason) for reason in exc.reasons)
            return list(exc.written)
        except BaseException:
            self._failed = True
            raise

    def _finish_oldest(self) -> None:
        self.written.extend(self._pending.popleft().result())

    def result(self) -> PublishResult:
        while self._pending:
            self._finish_oldest()
        return PublishResult(
            written=tuple(self.written),
            unchanged=len(self.seen) - len(self.written),
            unwritten=tuple(self.unwritten),
        )


def _write(files: dict[Path, bytes]) -> PublishResult:
    written = tuple(write_changed(files))
    return PublishResult(written=written, unchanged=len(files) - len(written))
