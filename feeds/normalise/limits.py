"""Caps on every field of an entry, applied once, where a raw entry becomes an article.

No real article comes near these; they exist so that one hostile or broken entry cannot
make a feed that no XML parser reads back (lxml refuses a text node over 10 MB) or a
store that grows by megabytes per row. Text is cut on a character boundary; HTML is cut
and sanitised again, so its markup stays well-formed; a URL or id that is too long is
not cut (a cut URL points elsewhere): links are dropped and ids replaced by a digest.
Every cut is counted in the read's warnings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from feeds.model import Author, Enclosure, RawEntry
from feeds.normalise.authors import MAX_AUTHORS
from feeds.normalise.warnings import WarningTally

TITLE = 2_000  # characters; a headline, even a long one, is under 300
AUTHOR = 500  # one author's name, and one address
ENTRY_ID = 2_048  # longer ids become "sha256:<hex>" of the whole id
LINK = 2_048  # links, enclosure and base URLs: what browsers and servers reliably take
TAG = 200
MAX_TAGS = 50
CATEGORY = 100  # a category name; its slug names a folder, so it must stay short
SUMMARY = 10_000  # of the summary's HTML; the published teaser is shorter still
CONTENT = 1_000_000  # of the content's HTML: a long book chapter, 10x under lxml's limit
MAX_ENCLOSURES = 20
PAGE_ITEMS = 500  # entries read from one page source's page; a list page shows far fewer
MEDIA_TYPE = 255  # RFC 6838's limit on a media type name
LANGUAGE = 35  # the store's column; BCP 47 tags are far shorter

_DIGEST_PREFIX = "sha256:"
_FIT_ATTEMPTS = 4
_FIT_SLACK = 1024  # characters cut beyond the proportion: room for closing tags


def capped_key(key: str) -> str:
    """An entry id within `ENTRY_ID` characters: a longer one becomes its SHA-256."""
    if len(key) <= ENTRY_ID:
        return key
    return _DIGEST_PREFIX + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def cap_entry(raw: RawEntry, key: str, who: str, tally: WarningTally) -> RawEntry:
    """`raw` with every field within its cap; what was cut or dropped is added to `tally`,
    the entry named by `who` (its file, or its id).

    `key` is the entry's id (see `entry_key`): it becomes its `entry_id`, so cutting the
    fields an id may be derived from (link, title, content) never changes the id.
    """
    if _within_caps(raw):  # as nearly every entry is: nothing to cut, count or copy
        return raw if raw.entry_id == key else replace(raw, entry_id=key)
    return _capped(raw, key, who, tally)


def _within_caps(raw: RawEntry) -> bool:
    """Whether `_capped` would give `raw` back unchanged but for its id (and count nothing)."""
    return (
        _fits(raw.title, TITLE)
        and _fits(raw.link, LINK)
        and _fits(raw.summary_html, SUMMARY)
        and _fits(raw.content_html, CONTENT)
        and _fits(raw.base_url, LINK)
        and _fits(raw.category, CATEGORY)
        and (raw.language is None or 0 < len(raw.language) <= LANGUAGE)
        and len(raw.authors) <= MAX_AUTHORS
        and all(
            len(a.name) <= AUTHOR and _fits(a.email, AUTHOR) and _fits(a.uri, LINK)
            for a in raw.authors
        )
        and len(raw.tags) <= MAX_TAGS
        and all(len(tag) <= TAG for tag in raw.tags)
        and len(raw.enclosures) <= MAX_ENCLOSURES
        and all(
            len(e.url) <= LINK and (e.media_type is None or 0 < len(e.media_type) <= MEDIA_TYPE)
            for e in raw.enclosures
        )
    )


def _fits(value: str | None, limit: int) -> bool:
    return value is None or len(value) <= limit


def _capped(raw: RawEntry, key: str, who: str, tally: WarningTally) -> RawEntry:

    def cut(value: str | None, limit: int, what: str) -> str | None:
        if value is None or len(value) <= limit:
            return value
        tally.add(f"{what} cut to {limit:,} characters", f"{who} ({len(value):,})")
        return value[:limit]

    def url(value: str | None, what: str) -> str | None:
        if value is None or len(value) <= LINK:
            return value
        tally.add(f"{what} over {LINK:,} characters dropped", f"{who} ({len(value):,})")
        return None

    def many(values: tuple[str, ...], limit: int, length: int, what: str) -> tuple[str, ...]:
        if len(values) > limit:
            tally.add(f"{what}s beyond {limit} dropped", f"{who} ({len(values):,})")
            values = values[:limit]
        too_long = sum(len(v) > length for v in values)
        if too_long:  # one report per entry, however many of its values were cut
            tally.add(f"{what}s cut to {length:,} characters", f"{who} ({too_long:,} of them)")
        return tuple(v[:length] for v in values)

    def people(values: tuple[Author, ...]) -> tuple[Author, ...]:
        if len(values) > MAX_AUTHORS:
            tally.add(f"authors beyond {MAX_AUTHORS} dropped", f"{who} ({len(values):,})")
            values = values[:MAX_AUTHORS]
        too_long = sum(
            len(a.name) > AUTHOR or len(a.email or "") > AUTHOR or len(a.uri or "") > LINK
            for a in values
        )
        if too_long:  # one report per entry, however many of its authors were cut
            tally.add(f"authors cut to {AUTHOR:,} characters", f"{who} ({too_long:,} of them)")
        return tuple(
            Author(
                name=a.name[:AUTHOR],
                email=a.email if a.email is None or len(a.email) <= AUTHOR else None,
                uri=a.uri if a.uri is None or len(a.uri) <= LINK else None,
            )
            for a in values
        )

    enclosures = raw.enclosures
    if len(enclosures) > MAX_ENCLOSURES:
        tally.add(f"enclosures beyond {MAX_ENCLOSURES} dropped", f"{who} ({len(enclosures):,})")
        enclosures = enclosures[:MAX_ENCLOSURES]
    kept_enclosures = tuple(
        Enclosure(
            url=e.url,
            media_type=e.media_type if e.media_type and len(e.media_type) <= MEDIA_TYPE else None,
            length=e.length,
        )
        for e in enclosures
        if url(e.url, "enclosure URL") is not None
    )
    language = raw.language if raw.language and len(raw.language) <= LANGUAGE else None
    return replace(
        raw,
        entry_id=key,
        title=cut(raw.title, TITLE, "title"),
        link=url(raw.link, "link"),
        summary_html=cut(raw.summary_html, SUMMARY, "summary"),
        content_html=cut(raw.content_html, CONTENT, "content"),
        base_url=url(raw.base_url, "base URL"),
        authors=people(raw.authors),
        tags=many(raw.tags, MAX_TAGS, TAG, "tag"),
        category=cut(raw.category, CATEGORY, "category"),
        language=language,
        enclosures=kept_enclosures,
    )


def fit_html(sanitised: str, sanitise: Callable[[str], str]) -> str:
    """Sanitised HTML within `CONTENT` characters.

    Sanitising escapes text and closes open elements, so a fragment cut to the cap may come
    out longer (`&` becomes `&amp;`, a run of `<b><i>` gains as many closing tags): it is
    cut shorter, in proportion, and sanitised again, a few times; what still does not fit
    (no article does) gives "", and the caller publishes the title instead.
    """
    result, keep = sanitised, CONTENT
    for _attempt in range(_FIT_ATTEMPTS):
        if len(result) <= CONTENT:
            return result
        keep = keep * CONTENT // len(result) - _FIT_SLACK
        result = sanitise(sanitised[:keep])
    return result if len(result) <= CONTENT else ""
