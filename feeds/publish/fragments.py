"""Rendered entries kept between publishes, so a publish renders only the entries that
changed and assembles each document from its head and the entries it already has.

A document (`politik/atom.xml`, `politik/archive/3.xml`, `all/feed.json`,
`politik/index.html`) is its head, rendered afresh each time (cheap, and what feedgen writes
for Atom and RSS), and one fragment per entry: the exact bytes the whole document's renderer
writes for that entry in that place. A fragment is kept under its document and article with
a digest of all it depends on: the article, its place in the document (its URL, credited
source, what the document says of that source and of languages) and the renderers
themselves (this package's code and the page entry's template, the versions of feedgen,
lxml, Jinja2 and MarkupSafe). A digest that differs, or no fragment,
means the entry is rendered again; so reuse never changes a byte of output.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from feeds import __version__
from feeds.model import Article

if TYPE_CHECKING:  # a hash under way: hashlib names no public type for it
    from hashlib import _Hash as HashState

FRAGMENT_LIMIT = 64 * 1024  # bytes: a larger fragment is rendered each time, never kept
FLUSH_BYTES = 8 * 1024 * 1024  # new fragments held before they are handed to `save`
SAVES_AHEAD = 1  # batches handed to `save` that may wait while the next one fills

# (digest, bytes) of each kept fragment of one document, by article id.
Known = Mapping[str, tuple[str, bytes]]
# A new fragment: (document, article id, digest, bytes).
NewFragment = tuple[str, str, str, bytes]
# An article's fields: the long texts, hashed as they are, and the others, by repr.
_TEXTS = ("title", "summary", "content")
_OTHERS = tuple(f.name for f in fields(Article) if f.name not in _TEXTS)
_RENDERERS = ("atom", "rss", "jsonfeed", "pages", "document", "dedupe", "layout", "fragments")
_TEMPLATES = ("category_entry.html",)  # the templates that write fragments


class Fragments:
    """The fragments of one publish: read through `load` (the kept fragments of the documents
    named, by document), a document at a time or several ahead (`prefetch`); new ones handed
    to `save` in batches (call `flush` at the end). Without either, nothing is kept.

    `save` runs in a thread of its own, batch after batch in order, while the publish renders
    on: a store's write (SQLite's, PostgreSQL's) mostly waits outside the GIL. A batch waits
    for the one before it at most, so memory holds two batches, not the site's fragments."""

    def __init__(
        self,
        load: Callable[[Sequence[str]], Mapping[str, Known]] | None = None,
        save: Callable[[Sequence[NewFragment]], None] | None = None,
    ) -> None:
        self._load = load
        self._save = save
        self._ahead: dict[str, Known] = {}  # prefetched, each taken by its next `entries`
        self._new: list[NewFragment] = []
        self._held = 0
        self._saving: ThreadPoolExecutor | None = None  # started by the first batch
        self._saves: deque[Future[None]] = deque()
        # An article's digest hashes all its text and an article is in several documents:
        # each article's digest is taken once per publish (it is held, so its id stays its own).
        self._digests: dict[int, tuple[object, bytes]] = {}

    def entries(
        self,
        document: str,
        articles: Sequence[Article],
        context: Callable[[Article], object],
        render: Callable[[Sequence[Article]], list[bytes]],
    ) -> list[bytes]:
        """The fragment of each of `articles` in `document`: kept ones whose digest (of the
        article and its `context`) matches, the others made by `render` in one call (which
        returns one fragment per article given, in order)."""
        known = self._ahead.pop(document, None)
        if known is None:
            known = self._load([document]).get(document, {}) if self._load is not None else {}
        # The renderers and the document are hashed once; each entry adds its own parts.
        name = document.encode("utf-8", "surrogatepass")
        placed = _renderers_hash().copy()
        placed.update(len(name).to_bytes(8, "big") + name)
        digests = [self._digest(placed, article, context(article)) for article in articles]
        found: list[bytes | None] = []
        for article, digest in zip(articles, digests, strict=True):
            kept = known.get(article.id)
            found.append(kept[1] if kept is not None and kept[0] == digest else None)
        missing = [i for i, body in enumerate(found) if body is None]
        if missing:
            made = render([articles[i] for i in missing])
            if len(made) != len(missing):
                raise ValueError(f"{document}: {len(made)} fragments for {len(missing)} entries")
            for i, body in zip(missing, made, strict=True):
                found[i] = body
                self._keep((document, articles[i].id, digests[i], body))
        return [body for body in found if body is not None]

    def prefetch(self, documents: Sequence[str]) -> None:
        """Read the kept fragments of `documents` at once, for their next `entries` (a
        category's feeds and archive pages are rendered one after the other)."""
        if self._load is None:
            return
        found = self._load(documents)
        self._ahead = {document: found.get(document, {}) for document in documents}

    def _digest(self, placed: HashState, article: Article, context: object) -> str:
        """A digest of the renderers and the document (`placed`, hashed already), the
        article and its `context` in the document (plain values whose repr says all that
        the entry's bytes depend on besides the article). The article's digest has a fixed
        length and the context's repr comes last, so no part runs into the next."""
        digest = placed.copy()
        digest.update(
            self._article_digest(article) + repr(context).encode("utf-8", "surrogatepass")
        )
        return digest.hexdigest()

    def _article_digest(self, article: Article) -> bytes:
        known = self._digests.get(id(article))
        if known is None or known[0] is not article:
            known = (article, article_digest(article).encode("ascii"))
            self._digests[id(article)] = known
        return known[1]

    def _keep(self, fragment: NewFragment) -> None:
        if self._save is None or len(fragment[3]) > FRAGMENT_LIMIT:
            return
        self._new.append(fragment)
        self._held += len(fragment[3])
        if self._held >= FLUSH_BYTES:
            self._hand_over()

    def _hand_over(self) -> None:
        """Hand the new fragments to `save` in the saving thread."""
        batch, self._new, self._held = self._new, [], 0
        if self._save is None or not batch:
            return
        while len(self._saves) >= SAVES_AHEAD:
            self._saves.popleft().result()
        if self._saving is None:
            self._saving = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fragment-save")
        self._saves.append(self._saving.submit(self._save, batch))

    def flush(self) -> None:
        """Hand the new fragments to `save` and wait until every batch is saved; a failed
        save's error is raised here (or by the `entries` that handed over the next batch)."""
        self._hand_over()
        try:
            while self._saves:
                self._saves.popleft().result()
        finally:
            self._stop_saving()

    def abandon(self) -> None:
        """After a failed publish: wait for the batches handed to `save` (what was rendered
        is right, so it is kept), raising none of their errors over the publish's own."""
        self._stop_saving()

    def _stop_saving(self) -> None:
        if self._saving is not None:  # waits for every batch, those after a failed one too
            self._saving.shutdown()
            self._saving = None
            self._saves.clear()


def article_digest(article: Article) -> str:
    """A digest of every field of `article`: its long texts as they are, each after its
    length so that none runs into the next (repr() would escape them character by character,
    at several times the cost), then the repr of the others."""
    digest = hashlib.sha256()
    for name in _TEXTS:
        text = getattr(article, name).encode("utf-8", "surrogatepass")
        digest.update(len(text).to_bytes(8, "big"))
        digest.update(text)
    others = tuple(getattr(article, name) for name in _OTHERS)
    digest.update(repr(others).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def split_entries(document: bytes, entry: bytes, closing: bytes) -> tuple[bytes, list[bytes]]:
    """Cut a serialised document into what precedes its entries and the entries, each
    with its indentation and the line break after it. `entry` matches the start of an
    entry's line (`  <entry`); `closing` is how the document ends after its entries.

    Text and attributes are escaped (no `<` in them), so an entry's start is only ever found
    where an element at that depth begins."""
    end = document.rindex(closing)
    # A line break before the entry, not `^` with re.M: a pattern that starts with a literal
    # is searched for, where `^` is tried at every byte (3 times slower on a 1 MB feed). The
    # break put in front makes the first line count and each match start at its entry.
    line_start = re.compile(b"\n" + re.escape(entry) + b"[ >]")
    starts = [m.start() for m in line_start.finditer(b"\n" + document)]
    bounds = [*starts, end]
    head = document[: starts[0]] if starts else document[:end]
    return head, [document[bounds[i] : bounds[i + 1]] for i in range(len(starts))]


@cache
def _renderers_hash() -> HashState:
    """The hash of the code that writes fragments, to go on from (`copy` it): a change to
    any of it renders anew."""
    digest = hashlib.sha256(__version__.encode())
    for name in ("feedgen", "lxml", "jinja2", "markupsafe"):
        digest.update(f"{name} {metadata.version(name)}".encode())
    here = Path(__file__).parent
    for module in _RENDERERS:
        digest.update((here / f"{module}.py").read_bytes())
    for template in _TEMPLATES:
        digest.update((here / "templates" / template).read_bytes())
    return hashlib.sha256(digest.digest())
