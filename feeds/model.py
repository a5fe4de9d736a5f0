"""The internal model: the only types that cross stage boundaries.

Every stage (config, sources, parse, normalise, store, publish) speaks in these frozen
dataclasses. Nothing here imports a stage or the clock; category slugs are read by
`feeds.slugs`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from feeds.quick_pickle import quick_pickle
from feeds.request_options import RequestOptions
from feeds.slugs import readable_slug
from feeds.xml_chars import strip_illegal_xml

# Fixed namespace for article ids: the same (source, entry id) gives the same id in every
# checkout and on every run.
ARTICLE_ID_NAMESPACE = uuid.UUID("6f1c3c52-8f0e-4d7a-9a55-2f3b9f1d8e01")
_NAMESPACE_BYTES = ARTICLE_ID_NAMESPACE.bytes

_GERMAN_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def slugify(text: str) -> str:
    """Lowercase ASCII: ä->ae, ö->oe, ü->ue, ß->ss, accents dropped, other runs -> '-'.

    For the paths of local article pages; category folders have `feeds.slugs`.
    """
    folded = text.lower().translate(_GERMAN_FOLDS)
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def article_id(source_name: str, entry_id: str) -> str:
    """The stable, globally unique id of an entry of a source, as an Atom-valid URN."""
    # uuid.uuid5(ARTICLE_ID_NAMESPACE, name), written out without building a UUID: the
    # SHA-1 of namespace and name, with the version (5) and RFC 4122 variant bits set.
    name = f"{source_name}\n{entry_id}".encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return (
        f"urn:uuid:{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-"
        f"{digest[20:32]}"
    )


@dataclass(frozen=True, slots=True)
class Category:
    """A published category: its display name and the slug of its output folder."""

    name: str
    slug: str

    @classmethod
    def named(cls, name: str) -> Category:
        """A category standing alone (a test, a one-off render): its name, control
        characters (which XML cannot carry) removed, and the slug it reads as. Published
        categories take their slugs from the store (`ArticleStore.category_slugs`), which
        keeps two names from ever sharing one."""
        clean = strip_illegal_xml(name)
        return cls(name=clean, slug=readable_slug(clean))


class RuleAction(StrEnum):
    KEEP = "keep"  # only entries matching some keep rule pass (when any keep rule applies)
    DROP = "drop"  # entries matching are dropped
    CATEGORY = "category"  # entries matching are also published in `category`


@dataclass(frozen=True, slots=True)
class Rule:
    """A filter or category rule: regexes on entry fields, all of which must match."""

    action: RuleAction
    title: re.Pattern[str] | None = None
    content: re.Pattern[str] | None = None  # searched in the content's plain text
    author: re.Pattern[str] | None = None
    link: re.Pattern[str] | None = None
    category: str | None = None  # for RuleAction.CATEGORY


class SourceKind(StrEnum):
    """The kinds of source; what each declares about itself is `feeds.sources.kinds`."""

    REMOTE = "remote"
    LOCAL = "local"
    PAGE = "page"


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """The base of a kind's own options (its own [[sources]] keys, validated), which the
    kind's module defines and its reader reads."""


@quick_pickle
@dataclass(frozen=True, slots=True)
class Source:
    """A configured source: what it reads (a URL or a path, by its kind), and its kind's
    own options."""

    name: str
    kind: SourceKind
    interval: timedelta
    url: str | None = None
    path: Path | None = None
    category: str | None = None  # may be None only for local sources whose files name one
    language: str | None = None
    timezone: str = "UTC"  # the zone of local articles' naive dates
    rules: tuple[Rule, ...] = ()  # this source's own rules, applied before the global ones
    options: SourceOptions | None = None  # the kind's own keys (see `feeds.sources.kind`)
    request: RequestOptions = field(
        default_factory=RequestOptions
    )  # own user agent, headers, auth, proxy
    full_text: bool = False  # fetch each entry's page and publish its article text
    content_selector: str | None = None  # CSS selector of the article on its page (full text)


@quick_pickle
@dataclass(frozen=True, slots=True)
class Enclosure:
    """A media file attached to an article (podcast audio, images)."""

    url: str
    media_type: str | None = None
    length: int | None = None


@quick_pickle
@dataclass(frozen=True, slots=True)
class Author:
    """A person credited with an entry: a name, and where the format has room for them, an
    email address and a web page (`uri`)."""

    name: str
    email: str | None = None
    uri: str | None = None


@quick_pickle
@dataclass(frozen=True, slots=True)
class Podcast:
    """The iTunes tags of a podcast episode, as we republish them in RSS.

    `duration` is ``[[H:]M:]S`` or seconds, `image` an http(s) URL ending in ``.jpg`` or
    ``.png`` (Apple's rule, which feedgen enforces), `explicit` one of ``yes``, ``no``,
    ``clean``, `episode` a positive number.
    """

    duration: str | None = None
    image: str | None = None
    explicit: str | None = None
    episode: int | None = None


@quick_pickle
@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as a source read it, before normalising: untrusted text, nothing resolved.

    Remote parsers and the local article reader both produce these; `normalise` turns them
    into `Article`s.
    """

    entry_id: str | None
    title: str | None = None
    title_is_html: bool = True  # False when the format says the title is plain text
    link: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    base_url: str | None = None  # what relative URLs in the HTML resolve against
    # Untrusted values, split into name/email/uri as the format writes them.
    authors: tuple[Author, ...] = ()
    published: str | None = None  # the date text as written in the source
    updated: str | None = None
    published_guess: datetime | None = None  # a parser's own reading of `published`, if any
    updated_guess: datetime | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None  # a category the entry names for itself (local headers)
    language: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    podcast: Podcast | None = None  # the iTunes item tags, unchecked
    location: str | None = None  # where it came from, for error messages (file path, URL)


class EntryScreen(Protocol):
    """Shown an entry's head (a `RawEntry` of its id, link and dates only) before the rest
    of it is read, takes the entries the head alone decides: they are not read further
    (`feeds.parse.parse_feed`). A head's dates are their texts alone: feedparser's readings
    of them (`published_guess`, `updated_guess`) are not made for it."""

    def worth(self, dates: Sequence[str]) -> bool:
        """Whether an entry with these date texts (as written, stripped) might be taken:
        if not, its head is not even read."""

    def __call__(self, head: RawEntry) -> bool:
        """Whether the entry of this head is taken."""

    def forget(self) -> None:
        """Forget every entry taken: the reading that showed them was given up, and the
        body is read again, every entry whole."""


@dataclass(frozen=True, slots=True)
class RawFeed:
    """What a source yielded on one read: feed-level facts and its entries."""

    entries: tuple[RawEntry, ...]
    title: str | None = None
    link: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = ()
    # The feed's own refresh hints: RSS <ttl> or sy:updatePeriod/Frequency, skipHours (UTC
    # hours) and skipDays (0 = Monday).
    refresh_hint: timedelta | None = None
    skip_hours: frozenset[int] = frozenset()
    skip_days: frozenset[int] = frozenset()


@quick_pickle
@dataclass(frozen=True, slots=True)
class FullText:
    """What fetching an entry's page for its full text gave (`feeds.fulltext`).

    `entry_hash` is the `content_hash` of the entry as its feed gave it: while the feed
    gives the same, the page is not fetched again. With an `error`, the article kept its
    feed's content (the teaser) and `error` says why; without one, its content is the
    page's article text. `etag` and `last_modified` are the page's validators.
    """

    entry_hash: str
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@quick_pickle
@dataclass(frozen=True, slots=True)
class Article:
    """One normalised, sanitised article: what the store keeps and the publisher writes.

    `content` is sanitised HTML; `title` and `summary` are plain text. `link` is the
    original page, or None for local articles, whose page the publisher writes.
    """

    id: str
    source: str
    entry_id: str
    title: str
    link: str | None
    summary: str
    content: str
    authors: tuple[Author, ...]
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    language: str | None
    enclosures: tuple[Enclosure, ...] = ()
    tags: tuple[str, ...] = ()
    podcast: Podcast | None = None
    full_text: FullText | None = None  # set for sources with full text once it was tried
    # `content_hash` once taken. Not an argument, so `replace` leaves it behind with the
    # fields it was taken of; pickled with the article, so the worker that normalised it
    # takes it, not the busier process that stores it.
    _content_hash: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.published.tzinfo is None or self.updated.tzinfo is None:
            raise ValueError(f"article {self.id}: dates must be timezone-aware")
        if not self.categories:
            raise ValueError(f"article {self.id}: needs at least one category")

    @property
    def content_hash(self) -> str:
        """A digest of everything published about the article, to tell a real change
        (taken once per article)."""
        if self._content_hash is None:
            object.__setattr__(self, "_content_hash", self._digest())
        assert self._content_hash is not None
        return self._content_hash

    def hashed(self, content_hash: str) -> Article:
        """This article, its `content_hash` known already: the store wrote it beside these
        fields (a digest of the same fields), so reading it back need not take it again."""
        object.__setattr__(self, "_content_hash", content_hash)
        return self

    def _digest(self) -> str:
        digest = hashlib.sha256()
        parts = [
            self.title,
            self.link or "",
            self.summary,
            self.content,
            # A name-only author digests as the bare name, as stores before Author held it.
            "\x1f".join(
                a.name + (f" <{a.email}>" if a.email else "") + (f" {a.uri}" if a.uri else "")
                for a in self.authors
            ),
            self.published.isoformat(),
            self.updated.isoformat(),
            "\x1f".join(self.categories),
            self.language or "",
            "\x1f".join(f"{e.url} {e.media_type} {e.length}" for e in self.enclosures),
            "\x1f".join(self.tags),
        ]
        if self.podcast is not None:  # only then, so articles without one keep their digest
            parts.append(repr(self.podcast))
        if self.full_text is not None:  # a failure recorded is a change to store
            parts.append(repr(self.full_text))
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\x1e")
        return digest.hexdigest()


def recency(article: Article) -> tuple[datetime, str]:
    """What ranks articles by age: the published date, and among equal dates the id.

    Newest first is this, descending, on every path: the feeds, the archive pages, the
    front page and the store's queries (`ArticleStore.recent_articles`, which a publish of
    some categories takes the others' front-page previews from). So which path rendered
    an output never changes which entries it shows, nor their order."""
    return article.published, article.id


def newest_first(articles: Iterable[Article]) -> list[Article]:
    """`articles` by `recency`, newest first."""
    return sorted(articles, key=recency, reverse=True)


class FetchOutcome(StrEnum):
    NEW = "new"  # fetched and parsed; entries stored
    NOT_MODIFIED = "not-modified"  # 304, or a body identical to the last one
    FAILED = "failed"
    GONE = "gone"  # 410: disabled until the config changes


@dataclass(frozen=True, slots=True)
class FetchState:
    """What we remember about a source between runs."""

    source: str
    url: str | None = None  # the URL we fetch (after permanent redirects)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_fetch: datetime | None = None
    last_outcome: FetchOutcome | None = None
    last_status: int | None = None
    next_due: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    config_hash: str | None = None  # digest of the configured URL that `url` derives from
    retry_after: datetime | None = None  # the server asked us not to come back before this
    warnings: str | None = None  # what the last successful read had to recover from
    feed_title: str | None = None  # the feed's own title as last read; "" if none, None if unread
    site_url: str | None = None  # the feed's own site link, as last read
    due_reason: str | None = None  # why next_due is later than the interval: "ttl 60m"...
    # The entries the last stored read recognised or stored as they were (their digests,
    # `feeds.normalise.recognise`): the next read does not normalise them again.
    entry_digests: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """A source as publishing shows it: who to credit for its entries, and its health.

    Built from the config and the fetch state, so publishing is handed values and reads
    neither.
    """

    name: str
    kind: SourceKind
    title: str  # the feed's own title, else the configured name
    site_url: str | None = None  # the feed's site (its <link>)
    feed_url: str | None = None  # the feed URL in use (after permanent redirects)
    category: str | None = None
    outcome: FetchOutcome | None = None
    error_count: int = 0
    last_error: str | None = None
    fetched: bool = False  # read at least once
    own_pages: bool = False  # its entries have no page elsewhere: we write theirs and its own

    @property
    def health(self) -> str:
        """What readers are shown: "gone" (410), "failing", "unread" (never read) or "ok"."""
        if self.outcome is FetchOutcome.GONE:
            return "gone"
        if self.error_count:
            return "failing"
        return "ok" if self.fetched else "unread"


@dataclass(frozen=True, slots=True)
class FullTextTally:
    """How the pages of a source's live articles went: `tried` of `total`, `failed` of
    them (their teasers kept), and how many failed for each reason."""

    total: int
    tried: int
    failed: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on a source by one process: its write-back counts only while `fence` holds."""

    source: str
    owner: str
    fence: int


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The outcome of updating one source, for summaries and status."""

    source: str
    outcome: FetchOutcome
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[str, ...] = ()
    changed_categories: frozenset[str] = field(default_factory=frozenset)
    retired: int = 0  # of the new entries, those retired on arrival (`feeds.update.floors`)


@quick_pickle
@dataclass(frozen=True, slots=True)
class RetireBefore:
    """A source's entries dated before `date` (None: no date yet) are retired on arrival,
    but for those in `stored` (entry ids of its stored articles): what the update run tells
    the normaliser (`feeds.update.floors`). With `hold`, the other dated entries older than
    `keep_from` (all of them while it is None), which the final floors will likely retire,
    are held back uncleaned (`NormalisedFeed.held`) for the run to decide once every source
    is read."""

    date: datetime | None
    stored: frozenset[str] = frozenset()
    hold: bool = False
    keep_from: datetime | None = None

    def retires(self, entry_id: str, published: datetime, now: datetime) -> bool:
        """Whether the entry `entry_id`, dated `published` by the normaliser at `now`, is
        retired on arrival. One dated `now` has no date of its own: the store may yet date
        it by when it was first seen, so it never is."""
        return (
            self.date is not None
            and published < self.date
            and published != now
            and entry_id not in self.stored
        )

    def holds(self, published: datetime, now: datetime) -> bool:
        """Whether an entry it does not retire, dated `published` at `now`, is held back:
        only a dated one."""
        return (
            self.hold
            and published != now
            and (self.keep_from is None or published < self.keep_from)
        )


@dataclass(frozen=True, slots=True)
class PublishProblem:
    """What a publish could not render: an entry, a whole category or a page, in one line.

    `scope` is what the problem belongs to, which a later publish of it replaces: a
    category slug, `all`, or a page (`index.html`, `feeds.opml`, `source pages`).
    """

    scope: str
    message: str

    def __str__(self) -> str:
        return f"{self.scope}: {self.message}"


@dataclass(frozen=True, slots=True)
class PlacedEntry:
    """Where one entry of a published document lies in its file: the article, the digest of
    all its bytes depend on (`feeds.publish.fragments`), and its bytes' offset and length."""

    article_id: str
    digest: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class PlacedEntries:
    """The entries of one published document, as placed in the file written for it, and
    that file's SHA-256 (hex) and size: they hold only while the file does."""

    file_digest: str
    file_size: int
    entries: tuple[PlacedEntry, ...]


@dataclass(frozen=True, slots=True)
class ScopeProblems:
    """What the last publish of one scope found wrong, as kept: the first problems and a
    count of the rest (`more`)."""

    scope: str
    found: datetime  # when that publish ran
    problems: tuple[PublishProblem, ...]
    more: int = 0
