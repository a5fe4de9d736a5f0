"""Entries a source's last stored read already had, recognised without normalising them.

A feed that changed usually carries a few new entries and many it carried before; those
would normalise to the articles stored from them last time. Each entry's digest covers the
raw entry and everything else its article depends on: the normaliser's own code (and nh3's
version), the source's settings, what the feed says that its entries inherit (its link and
language), the fallback base URL, and a `salt` from the reader (the global rules and the
enrichers, which shape what is stored after the normaliser). An entry whose digest the
source's fetch state holds (`FetchState.entry_digests`, written with the articles of the
read that found it) is counted as unchanged and not normalised.

Only entries whose article depends on nothing else are remembered: not those dated by the
clock (no usable date, or one in the future), nor those that gave warnings (which must be
reported again on every read, as before).
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from functools import cache
from importlib import metadata
from pathlib import Path

from feeds import __version__
from feeds.field_digest import add_fields
from feeds.model import RawEntry, RawFeed, Source

DIGEST_LENGTH = 32  # hex characters kept of each SHA-256: 128 bits
MAX_REMEMBERED = 2_000  # entries remembered per source: its state row stays small
_TEXTS = ("title", "summary_html", "content_html")  # the long ones, digested as they are
_OTHERS = tuple(f.name for f in fields(RawEntry) if f.name not in _TEXTS)


def digests(known: str) -> frozenset[str]:
    """The digests a fetch state keeps (`FetchState.entry_digests`), one by one."""
    size = DIGEST_LENGTH
    return frozenset(known[i : i + size] for i in range(0, len(known), size))


class RetiredDigests:
    """The digests of entries retired on arrival by their heads (`normalise.article.Screening`)
    in one read: of the key alone, in the context of the source and `salt`. Its tombstone
    keeps such an entry out of the store whatever it holds, so nothing else of it matters."""

    def __init__(self, source: Source, salt: str) -> None:
        context = _code_hash().copy()
        context.update(repr((salt, source)).encode() + b"\x00retired\x00")
        self._context = context

    def of(self, key: str) -> str:
        """The digest of the entry `key`."""
        digest = self._context.copy()
        digest.update(key.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:DIGEST_LENGTH]


class Recognition:
    """The digests of one read: `known` holds the last stored read's, `remembered` collects
    this read's (each once)."""

    def __init__(
        self, feed: RawFeed, source: Source, fallback_base: str | None, known: str, salt: str
    ) -> None:
        context = _code_hash().copy()
        context.update(repr((salt, source, feed.link, feed.language, fallback_base)).encode())
        self._context = context.digest()
        self.known = digests(known)
        self._remembered: dict[str, None] = {}

    def digest(self, raw: RawEntry) -> str:
        """The entry's digest in this read's context."""
        digest = hashlib.sha256(self._context)
        add_fields(digest, raw, _TEXTS, _OTHERS)
        return digest.hexdigest()[:DIGEST_LENGTH]

    def remember(self, digest: str) -> None:
        if len(self._remembered) < MAX_REMEMBERED:
            self._remembered[digest] = None

    def remembered(self) -> str:
        """This read's digests, as `FetchState.entry_digests` keeps them."""
        return "".join(self._remembered)


@cache
def _code_hash() -> hashlib._Hash:
    """The normaliser's code and what it runs on: a change to any renders every entry's
    digest new."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(f"nh3 {metadata.version('nh3')}".encode())
    package = Path(__file__).parent
    sources = sorted(package.glob("*.py"))
    for path in [*sources, *(package.parent / name for name in _SHARED)]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest


# Modules outside the package whose code decides what an article holds, or its digest.
_SHARED = ("model.py", "xml_chars.py", "web_url.py", "shorten.py", "field_digest.py")
