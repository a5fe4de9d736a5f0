"""Rendered entries reused between publishes, so a publish renders only the entries that
changed and assembles each document from its head and the entries it already has.

A document (`politik/atom.xml`, `politik/archive/3.xml`, `all/feed.json`,
`politik/index.html`) is its head, rendered afresh each time (cheap, and what feedgen writes
for Atom and RSS), and one fragment per entry: the exact bytes the whole document's renderer
writes for that entry in that place (an Atom entry's up to its `<source>`, which the
document adds: `feeds.publish.atom`). The store keeps, per document, where each entry's
fragment lies in the file this publish wrote, with a digest of all it depends on: the
article, its place in the document (its URL, credited source, what the document says of
that source and of languages) and the renderers themselves (this package's code and the
page entry's template, the versions of feedgen, lxml, Jinja2 and MarkupSafe). The next
publish cuts a fragment from that file while the file still has the SHA-256 recorded with
it. A digest that differs, a file changed or gone, or no record, means the entry is
rendered again; so reuse never changes a byte of output, and the store holds no second copy
of the output.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from feeds import __version__
from feeds.model import Article, PlacedEntries, PlacedEntry
from feeds.publish.layout import OutputLayout

if TYPE_CHECKING:  # a hash under way: hashlib names no public type for it
    from hashlib import _Hash as HashState

FLUSH_DOCUMENTS = 64  # placed documents held before they are handed to `save`
SAVES_AHEAD = 1  # batches handed to `save` that may wait while the next one fills
PROBE = 64  # bytes of an entry's start looked for in its document (`placed_in`)

# (digest, bytes) of each kept fragment of one document, by article id.
Known = Mapping[str, tuple[str, bytes]]
Load = Callable[[Sequence[str]], Mapping[str, PlacedEntries]]
Save = Callable[[Sequence[tuple[str, PlacedEntries]]], None]
# An article's fields besides its texts (which its content hash holds), by repr.
_TEXTS = ("title", "summary", "content")
_OTHERS = tuple(f.name for f in fields(Article) if f.compare and f.name not in _TEXTS)
_RENDERERS = ("atom", "rss", "jsonfeed", "pages", "document", "dedupe", "layout", "fragments")
_TEMPLATES = ("category_entry.html",)  # the templates that write fragments


class Fragments:
    """The fragments of one publish into the output folder of `layout`: where earlier
    publishes placed each document's entries is read through `load` (by document), a
    document at a time or several ahead (`prefetch`), and the entries are cut from the
    files; `written` records where this publish's entries lie in the files it writes,
    handed to `save` in batches (call `flush` at the end). Without `load`, `save` or
    `layout`, nothing is kept.

    `save` runs in a thread of its own, batch after batch in order, while the publish renders
    on: a store's write (SQLite's, PostgreSQL's) mostly waits outside the GIL."""

    def __init__(
        self, load: Load | None = None, save: Save | None = None, layout: OutputLayout | None = None
    ) -> None:
        self._load = load if layout is not None else None
        self._save = save if layout is not None else None
        self._layout = layout
        self._ahead: dict[str, Known] = {}  # prefetched, each taken by its next `entries`
        # Each document's entries as its last `entries` gave them, in order, until `written`.
        self._rendered: dict[str, list[tuple[str, str, bytes]]] = {}
        self._new: list[tuple[str, PlacedEntries]] = []
        self._saving: ThreadPoolExecutor | None = None  # started by the first batch
        self._saves: deque[Future[None]] = deque()
        # An article's digest hashes all its text and an article is in several documents:
        # each article's digest is taken once per publish (it is held, so its id stays its own).
        self._digests: dict[int, tuple[object, bytes]] = {}
        # Fragments made for the documents prefetched last (a category's), by family,
        # article digest and context (see `entries`); dropped at the next `prefetch`, so
        # a publish holds one category's at a time.
        self._made: dict[tuple[str, bytes, str], bytes] = {}

    def entries(
        self,
        document: str,
        articles: Sequence[Article],
        context: Callable[[Article], object],
        render: Callable[[Sequence[Article]], list[bytes]],
        family: str | None = None,
    ) -> list[bytes]:
        """The fragment of each of `articles` in `document`: kept ones whose digest (of the
        article and its `context`) matches, the others made by `render` in one call (which
        returns one fragment per article given, in order).

        Documents of one `family` (Atom's: a category's feed and its archive pages)
        promise that an entry's fragment is the same bytes in each of them for the same
        article and context: one made for an earlier document of those prefetched together
        is taken as it is."""
        known = self._ahead.pop(document, None)
        if known is None:
            known = self._read([document]).get(document, {})
        # The renderers and the document are hashed once; each entry adds its own parts.
        name = document.encode("utf-8", "surrogatepass")
        placed = _renderers_hash().copy()
        placed.update(len(name).to_bytes(8, "big") + name)
        contexts = [repr(context(article)) for article in articles]
        digests = [
            self._digest(placed, article, text)
            for article, text in zip(articles, contexts, strict=True)
        ]
        found: list[bytes | None] = []
        for article, digest in zip(articles, digests, strict=True):
            kept = known.get(article.id)
            found.append(kept[1] if kept is not None and kept[0] == digest else None)
        shared = [
            (family, self._article_digest(article), text) if family is not None else None
            for article, text in zip(articles, contexts, strict=True)
        ]
        for i, key in enumerate(shared):
            if found[i] is None and key is not None:
                found[i] = self._made.get(key)
        missing = [i for i, body in enumerate(found) if body is None]
        if missing:
            made = render([articles[i] for i in missing])
            if len(made) != len(missing):
                raise ValueError(f"{document}: {len(made)} fragments for {len(missing)} entries")
            for i, body in zip(missing, made, strict=True):
                found[i] = body
                key = shared[i]
                if key is not None:
                    self._made[key] = body
        bodies = [body for body in found if body is not None]
        if self._save is not None:
            self._rendered[document] = [
                (article.id, digest, body)
                for article, digest, body in zip(articles, digests, bodies, strict=True)
            ]
        return bodies

    def prefetch(self, documents: Sequence[str]) -> None:
        """Read the kept fragments of `documents` at once, for their next `entries` (a
        category's feeds and archive pages are rendered one after the other)."""
        found = self._read(documents)
        self._ahead = {document: found.get(document, {}) for document in documents}
        self._made.clear()

    def written(self, files: Mapping[Path, bytes]) -> None:
        """Record where the entries of the documents among `files` (the bytes each path is
        being written with) lie, for the next publish."""
        if self._save is None or self._layout is None:
            return
        for path, data in files.items():
            name = self._layout.document_name(path) or ""  # "": outside, no document
            entries = self._rendered.pop(name, None)
            if entries is not None:
                self._new.append((name, placed_in(data, entries)))
        if len(self._new) >= FLUSH_DOCUMENTS:
            self._hand_over()

    def _read(self, documents: Sequence[str]) -> dict[str, Known]:
        """The kept fragments of `documents`: cut from their files where placed entries were
        recorded and each file is still the one written then."""
        if self._load is None or self._layout is None:
            return {}
        root = self._layout.directory
        placed = self._load(documents)
        return {name: cut_from(root / name, entries) for name, entries in placed.items()}

    def _digest(self, placed: HashState, article: Article, context: str) -> str:
        """A digest of the renderers and the document (`placed`, hashed already), the
        article and the repr of its `context` in the document (plain values that say all
        that the entry's bytes depend on besides the article). The article's digest has a
        fixed length and the context comes last, so no part runs into the next."""
        digest = placed.copy()
        digest.update(self._article_digest(article) + context.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _article_digest(self, article: Article) -> bytes:
        known = self._digests.get(id(article))
        if known is None or known[0] is not article:
            known = (article, article_digest(article).encode("ascii"))
            self._digests[id(article)] = known
        return known[1]

    def _hand_over(self) -> None:
        """Hand the placed documents to `save` in the saving thread."""
        batch, self._new = self._new, []
        if self._save is None or not batch:
            return
        while len(self._saves) >= SAVES_AHEAD:
            self._saves.popleft().result()
        if self._saving is None:
            self._saving = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fragment-save")
        self._saves.append(self._saving.submit(self._save, batch))

    def flush(self) -> None:
        """Hand the placed documents to `save` and wait until every batch is saved; a failed
        save's error is raised here (or by the `written` that handed over the next batch)."""
        self._hand_over()
        self._rendered.clear()
        try:
            while self._saves:
                self._saves.popleft().result()
        finally:
            self._stop_saving()

    def abandon(self) -> None:
        """After a failed publish: wait for the batches handed to `save` (what was written
        before is placed right, so it is kept), raising none of their errors over the
        publish's own."""
        self._rendered.clear()
        self._stop_saving()

    def _stop_saving(self) -> None:
        if self._saving is not None:  # waits for every batch, those after a failed one too
            self._saving.shutdown()
            self._saving = None
            self._saves.clear()


def placed_in(data: bytes, entries: Sequence[tuple[str, str, bytes]]) -> PlacedEntries:
    """Where each of `entries` ((article id, digest, fragment) in document order) lies in
    `data`, the document's bytes. Each is looked for after the one before it; from the first
    one not found on, none is placed (they are rendered again next time), so a document
    whose renderer changes its entries is searched through once at most."""
    placed: list[PlacedEntry] = []
    at = 0
    for article_id, digest, body in entries:
        # Most entries follow the one before at once; JSON Feed's after a separator, Atom's
        # after the one before's `<source>`. Looking for a whole entry first prepares a
        # search for all its bytes: its start is looked for, then the rest compared.
        found = at
        if not data.startswith(body, at):
            probe = body[:PROBE]
            found = data.find(probe, at)
            while found >= 0 and not data.startswith(body, found):
                found = data.find(probe, found + 1)
        if found < 0:
            break
        placed.append(PlacedEntry(article_id, digest, found, len(body)))
        at = found + len(body)
    return PlacedEntries(hashlib.sha256(data).hexdigest(), len(data), tuple(placed))


def cut_from(path: Path, placed: PlacedEntries) -> dict[str, tuple[str, bytes]]:
    """The (digest, fragment) of each placed entry by article id, cut from the file at
    `path`; none when the file is gone or is not the one they were placed in (another size
    or SHA-256: edited, or written since by a publish that failed to record it), or is not
    a regular file (a FIFO there must not block the publish)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    info = os.fstat(fd)
    # Checked before `open`, which refuses a folder's descriptor without closing it.
    if not stat.S_ISREG(info.st_mode) or info.st_size != placed.file_size:
        os.close(fd)
        return {}
    with open(fd, "rb") as handle:
        try:
            data = handle.read(placed.file_size + 1)
        except OSError:
            return {}
    if len(data) != placed.file_size or hashlib.sha256(data).hexdigest() != placed.file_digest:
        return {}
    known: dict[str, tuple[str, bytes]] = {}
    for entry in placed.entries:
        end = entry.offset + entry.length
        if entry.offset < 0 or entry.length < 0 or end > len(data):
            return {}  # not a record this module wrote
        known[entry.article_id] = (entry.digest, data[entry.offset : end])
    return known


def article_digest(article: Article) -> str:
    """A digest of every field of `article`: its `content_hash`, which holds its texts (an
    article read from the store brings it along, so a publish hashes no text again), then
    the repr of the fields besides its texts.

    The content hash ends each part with U+001E, which no XML-legal text holds (the
    normaliser strips it, and no feed could carry it), so no boundary between texts moves
    unseen."""
    digest = hashlib.sha256(article.content_hash.encode("ascii"))
    rest = tuple(getattr(article, name) for name in _OTHERS)
    digest.update(repr(rest).encode("utf-8", "surrogatepass"))
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
