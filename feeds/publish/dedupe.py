"""One article, one entry: an article that several sources carry is published once.

Two articles of different sources are the same when they share a canonical link (scheme
and host lower-cased, default port and fragment dropped) or an entry id that is a global
id (a URL, `urn:` or `tag:`). The one seen first stays, and every source that carries it
is recorded. Entries of one source are never merged: a feed that links every entry to its
home page still has distinct entries.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from feeds.model import Article

_DEFAULT_PORTS = {"http": 80, "https": 443}
_GLOBAL_ID_PREFIXES = ("urn:", "tag:")


@dataclass(frozen=True, slots=True)
class Deduplicated:
    """The articles kept, and for each kept article id the other sources that carry it."""

    articles: tuple[Article, ...]
    carriers: Mapping[str, tuple[str, ...]]


# A link already in canonical form but for a missing path: a lower-case scheme and host
# name, no port, no fragment, printable ASCII. Most links are, and need no parsing.
_PLAIN_LINK = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[!-\"$->@-~]*)?(\?[!-\"$-~]+)?"
)


def canonical_link(url: str) -> str | None:
    """The link two sources would both give for one page; None when it is no http(s) URL."""
    url = url.strip()
    if plain := _PLAIN_LINK.fullmatch(url):
        scheme, host, path, query = plain.groups()
        return f"{scheme}://{host}{path or '/'}{query or ''}"
    return parsed_link(url)


def parsed_link(url: str) -> str | None:
    """`canonical_link` of a stripped `url`, by parsing it (what the plain form gives
    without)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def identity_keys(article: Article) -> frozenset[str]:
    """What makes two sources' articles one: its canonical link, and its entry id when
    that is a global id (a local file's relative path is not)."""
    return _identity_keys(article.link, article.entry_id)


# An article is in several documents (its category's feeds, an archive page, all/), each
# deduplicated: its keys are parsed once a publish, not once each. A publish visits every
# category's articles before the archive pages visit them again, so the cache holds a
# whole site (20 full categories of 200 are 4,000 articles; at 4,096 the least recently
# used went just before each was wanted again, and 83% of the lookups missed). At about
# half a kilobyte an entry, 16,384 hold 80 such categories in 8 MB at most.
@lru_cache(maxsize=16384)
def _identity_keys(link: str | None, entry_id: str) -> frozenset[str]:
    keys = set()
    if link and (canonical := canonical_link(link)):
        keys.add("link " + canonical)
    entry_id = entry_id.strip()
    if entry_id.lower().startswith(_GLOBAL_ID_PREFIXES):
        keys.add("id " + entry_id)
    elif (link := canonical_link(entry_id)) is not None:
        keys.add("id " + link)
    return frozenset(keys)


def deduplicate(articles: Sequence[Article], first_seen: Mapping[str, datetime]) -> Deduplicated:
    """Each article once: of those that share a key, the first seen (`first_seen` by
    article id; the published date where unknown) stays, with the others' sources.

    Sharing is transitive (A has B's link, B has C's id: one article), except that one
    entry never holds two articles of the same source.
    """

    keys_of = [identity_keys(article) for article in articles]
    holders = Counter(key for keys in keys_of for key in keys)
    # An article none of whose keys another has stays as it is: only those that share one
    # are grouped (and only theirs is `first_seen` read), by position in `articles`.
    sharing = [i for i, keys in enumerate(keys_of) if any(holders[key] > 1 for key in keys)]
    if not sharing:
        return Deduplicated(tuple(articles), {})

    def seen(position: int) -> tuple[datetime, str]:
        article = articles[position]
        return first_seen.get(article.id, article.published), article.id

    kept: list[int] = []  # per group, the position of its article, in the order first seen
    carried: list[list[str]] = []  # per group, the sources carrying it, the kept one's first
    parent: list[int] = []  # union-find over groups: a merged group points at its keeper
    owner: dict[str, int] = {}  # identity key -> the group that first had it

    def find(group: int) -> int:
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    for position in sorted(sharing, key=seen):
        article, keys = articles[position], keys_of[position]
        target: int | None = None
        for group in sorted({find(owner[key]) for key in keys if key in owner}):
            if target is None:
                if article.source not in carried[group]:
                    target = group
                    carried[group].append(article.source)
            elif not set(carried[group]) & set(carried[target]):
                # This article joins two groups seen apart: the later one merges in.
                parent[group] = target
                carried[target].extend(carried[group])
        if target is None:
            target = len(kept)
            kept.append(position)
            carried.append([article.source])
            parent.append(target)
        for key in keys:
            owner.setdefault(key, target)
    roots = [group for group in range(len(kept)) if find(group) == group]
    carriers = {articles[kept[g]].id: tuple(carried[g][1:]) for g in roots if len(carried[g]) > 1}
    merged = set(sharing) - {kept[g] for g in roots}
    return Deduplicated(tuple(a for i, a in enumerate(articles) if i not in merged), carriers)
