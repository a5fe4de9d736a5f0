"""Precompressed variants of published files (`atom.xml.gz`, `atom.xml.br`), made at publish time.

A variant is made once per version of its file, beside it, so a server sends compressed bytes
without compressing per request (nginx's `gzip_static` reads the same files). A variant carries
its file's exact mtime: a server serves it only while the two mtimes agree, so a variant left
stale by a crash between the two renames is never sent for the new file, and the next publish
of an unchanged file repairs it (`variants_current`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import brotli
from isal import igzip

from feeds.publish.formats import FORMATS

MIN_SIZE = 1024
"""Files smaller than this get no variants: compression saves little there."""

# Text the site holds besides the output formats' files (archive pages, OPML, assets).
OTHER_COMPRESSIBLE_SUFFIXES = frozenset({".xml", ".html", ".opml", ".txt", ".css", ".js"})


@dataclass(frozen=True, slots=True)
class Variant:
    """One content coding: its `Content-Encoding` token, the file suffix, and the compressor."""

    coding: str
    suffix: str
    compress: Callable[[bytes], bytes]


VARIANTS: tuple[Variant, ...] = (
    # Brotli first: where a client accepts both equally, its smaller body wins. Fast levels:
    # a publish may compress many files, and the last few percent cost several times more.
    # On the bench's cold output (166 files, 71.6 MB, one core) quality 1 takes 0.18 s for
    # 13.9 MB, quality 4 0.52 s for 12.5 MB: a third of the CPU for files 11% larger, still
    # 12% smaller than the gzip variant (README, "Dependencies and why").
    Variant("br", ".br", lambda data: bytes(brotli.compress(data, quality=1))),
    # ISA-L's deflate at level 2, not its best (3), whose cost depends on the CPU: on the
    # bench's cold output (71.6 MB) level 3 took 0.16 s on an earlier machine and 0.41 s on
    # an AMD EPYC without AVX-512, where level 2 took 0.15 s for files 0.4% larger and zlib
    # level 4 0.94 s (README, "Dependencies and why").
    Variant("gzip", ".gz", lambda data: igzip.compress(data, compresslevel=2, mtime=0)),
)


def variant_path(path: Path, variant: Variant) -> Path:
    """Where the `variant` of the file at `path` lives."""
    return path.with_name(path.name + variant.suffix)


def wants_variants(path: Path, size: int) -> bool:
    """Whether a published file of this name and size gets compressed variants."""
    return size >= MIN_SIZE and path.suffix.lower() in compressible_suffixes()


def compressible_suffixes() -> frozenset[str]:
    """The suffixes of files worth compressing: every output format's (all are text) and
    the other text the site holds."""
    formats = {Path(output.file_name).suffix.lower() for output in FORMATS.values()}
    return OTHER_COMPRESSIBLE_SUFFIXES | formats


def variants_current(path: Path) -> bool:
    """True when every variant `path` should have exists and carries its mtime (and none is
    left when it should have none)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return True
    wanted = wants_variants(path, info.st_size)
    for variant in VARIANTS:
        try:
            mtime_ns = variant_path(path, variant).stat().st_mtime_ns
        except FileNotFoundError:
            if wanted:
                return False
            continue
        if not wanted or mtime_ns != info.st_mtime_ns:
            return False
    return True


class Compressing:
    """The variants of a batch of files being made in the compressing threads, in parallel
    (ISA-L and brotli release the GIL, so a batch uses every core); `result` waits for them."""

    def __init__(self, files: Sequence[tuple[Path, bytes]]) -> None:
        self._files = [(path, len(data)) for path, data in files]
        pool = _pool()
        self._jobs: dict[Path, list[tuple[Path, Future[bytes]]]] = {
            path: [(variant_path(path, v), pool.submit(v.compress, data)) for v in VARIANTS]
            for path, data in files
            if wants_variants(path, len(data))
        }

    def result(self) -> list[dict[Path, bytes]]:
        """Per file, in order, the variants worth writing (smaller than the file)."""
        made: list[dict[Path, bytes]] = []
        for path, size in self._files:
            bodies = {target: job.result() for target, job in self._jobs.get(path, [])}
            made.append({target: body for target, body in bodies.items() if len(body) < size})
        return made


def start_compressing(files: Sequence[tuple[Path, bytes]]) -> Compressing:
    """Start making the variants of each (path, bytes) in the compressing threads, so they
    are made while the caller goes on (writes an earlier batch, renders the next)."""
    return Compressing(files)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads that compress: one per core (the publishing thread waits meanwhile)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="compress")


# A forked child has none of its parent's threads: it starts a pool of its own.
os.register_at_fork(after_in_child=_pool.cache_clear)


def stale_variants(path: Path, kept: set[Path]) -> list[Path]:
    """The variants of `path` other than those in `kept` (no longer worth having): to remove."""
    return [variant_path(path, v) for v in VARIANTS if variant_path(path, v) not in kept]
