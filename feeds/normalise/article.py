"""Raw entries to `Article`s: ids, dates, sanitised HTML, language and categories.

Pure functions of their arguments: the clock (`now`) and what the store already knows
(`first_seen`) are passed in, so every rule here is tested with plain values.
"""

from __future__ import annotations

import hashlib
import html
import pickle
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from isal import isal_zlib

from feeds.model import (
    Article,
    Enclosure,
    RawEntry,
    RawFeed,
    RetireBefore,
    Source,
    article_id,
)
from feeds.normalise import limits
from feeds.normalise.authors import clean_authors
from feeds.normalise.dates import ImpossibleDateError, clamp_future, is_future, read_date
from feeds.normalise.html import clean_text, safe_url, sanitise_html
from feeds.normalise.plaintext import plain_text
from feeds.normalise.podcast import clean_podcast
from feeds.normalise.recognise import Recognition, RetiredDigests, digests
from feeds.normalise.warnings import WarningTally
from feeds.quick_pickle import quick_pickle
from feeds.sources.kinds import describe

SUMMARY_LIMIT = 600  # characters of plain text; readers show a teaser, not the article
FEED_TITLE_LIMIT = 200  # characters of a source feed's own title, shown on every entry
SITE_URL_LIMIT = 2048  # a longer site link is dropped rather than carried on every entry
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


class EntryError(ValueError):
    """An entry that cannot become an article (no category for it, say): what is wrong
    (`kind`) and with which entry (`where`)."""

    def __init__(self, kind: str, where: str) -> None:
        super().__init__(f"{where}: {kind}")
        self.kind = kind
        self.where = where


@quick_pickle
@dataclass(frozen=True, slots=True)
class NormalisedFeed:
    articles: tuple[Article, ...]
    errors: tuple[str, ...]  # one line per kind of problem, with a count and examples
    # Entry ids of articles dated `now` for want of a usable date (none, or one in the
    # future); the store's first-seen time should replace `now` for known ones.
    undated: frozenset[str] = frozenset()
    # The feed's own title (plain text) and site link: who published, for attribution.
    title: str | None = None
    site_url: str | None = None
    dropped: int = 0  # entries that became no article (duplicates, no category, empty)
    # Entries the source's last stored read had (`known`), not normalised again, and the
    # digests the next read recognises (`feeds.normalise.recognise`).
    recognised: int = 0
    entry_digests: str = ""
    # Ids of entries retired on arrival (`retire`), not normalised.
    retired: frozenset[str] = frozenset()
    # Entries held back uncleaned (`RetireBefore.hold`), for `clean_held` once the run's
    # floors are final; None when nothing was held.
    held: HeldEntries | None = None


@quick_pickle
@dataclass(frozen=True, slots=True)
class Prepared:
    """What an entry's article is decided by before its texts are cleaned: the entry within
    its caps, its id, its category and its dates."""

    raw: RawEntry
    key: str
    category: str
    published: datetime
    updated: datetime


@quick_pickle
@dataclass(frozen=True, slots=True)
class HeldEntry:
    """What the run decides a held entry by: its id, its category and its date; and, held
    by its head, the digest the next read recognises it by should the run retire it (kept,
    it is remembered by what it holds once its body is read again: `clean_kept`)."""

    key: str
    category: str
    published: datetime
    retired_digest: str = ""


@quick_pickle
@dataclass(frozen=True, slots=True)
class HeldEntries:
    """A read's entries held back uncleaned: what deciding on each needs (`entries`), and
    the prepared entries, with what cleaning them needs of their feed, packed (pickled and
    compressed: a first run holds thousands, and retires nearly all of them unread).

    The entries a `Screening` held by their heads (`unread`) were never read whole: should
    any of them be kept, the read is done again (`reread`, the read's body and what reading
    it needs, packed by the worker: `feeds.workers.digest_body`)."""

    entries: tuple[HeldEntry, ...]
    packed: bytes
    unread: frozenset[str] = frozenset()
    reread: bytes = b""

    @classmethod
    def pack(
        cls,
        prepared: Sequence[Prepared],
        feed_link: str | None,
        feed_language: str | None,
        fallback_base: str | None,
        heads: Sequence[HeldEntry] = (),
    ) -> HeldEntries:
        """Hold `prepared`, entries of a feed with that link and language, and the entries
        held by their `heads`."""
        entries = tuple(HeldEntry(e.key, e.category, e.published) for e in prepared)
        state = (tuple(prepared), feed_link, feed_language, fallback_base)
        # ISA-L's level 1: a third of zlib's level 1 time here for the same size (a first
        # run of the bench's 1,000 feeds packs 14 MB into 4.2 MB: 36 ms against 103 ms).
        packed = isal_zlib.compress(pickle.dumps(state, pickle.HIGHEST_PROTOCOL), 1)
        return cls((*entries, *heads), packed, frozenset(h.key for h in heads))

    @property
    def keys(self) -> frozenset[str]:
        """The held entries' ids."""
        return frozenset(entry.key for entry in self.entries)


def clean_held(held: HeldEntries, source: Source, keep: Collection[str]) -> tuple[Article, ...]:
    """The articles of the held entries in `keep` that were read whole (not `unread`), in
    the feed's order: cleaned as `normalise_feed` cleans an entry it does not hold."""
    # Our own bytes, packed by `HeldEntries.pack` in a worker of this run: no feed's.
    prepared, link, language, base = pickle.loads(isal_zlib.decompress(held.packed))  # noqa: S301
    return tuple(_article(e, source, link, language, base) for e in prepared if e.key in keep)


@dataclass(frozen=True, slots=True)
class Kept:
    """The held entries kept, of a read done again (`clean_kept`): their articles, what
    preparing them warned of, and the digests the next read recognises them by."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...] = ()
    entry_digests: str = ""


def clean_kept(
    feed: RawFeed,
    *,
    source: Source,
    now: datetime,
    fallback_base: str | None,
    keep: Collection[str],
    salt: str | None,
) -> Kept:
    """The entries in `keep` of a read done again (the first entry of each id), in the
    feed's order, as `normalise_feed` cleans and remembers them (with `salt`: None for a
    read that remembers none)."""
    articles: list[Article] = []
    tally = WarningTally()
    seen: set[str] = set()
    recognition = None if salt is None else Recognition(feed, source, fallback_base, "", salt)
    for raw in feed.entries:
        key = entry_key(raw)
        if key in seen or key not in keep:
            continue
        seen.add(key)
        warned = tally.count
        try:
            entry = _prepare(raw, key, source, now, None, tally)
        except EntryError as exc:
            tally.add(exc.kind, exc.where)
            continue
        articles.append(_article(entry, source, feed.link, feed.language, fallback_base))
        if recognition is not None and tally.count == warned:
            recognition.remember(recognition.digest(raw))
    remembered = recognition.remembered() if recognition is not None else ""
    return Kept(tuple(articles), tally.lines(), remembered)


def entry_key(raw: RawEntry) -> str:
    """The entry's id within its source: its own id, else its link, else a content hash;
    one longer than `limits.ENTRY_ID` is replaced by its digest."""
    key = id_key(raw)
    if key is not None:
        return key
    digest = hashlib.sha256()
    for part in (raw.title, raw.content_html, raw.summary_html, raw.published):
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1e")
    return "sha256:" + digest.hexdigest()


class ScreenClashError(Exception):
    """An entry read whole has the key of one the screen took (an id repeated in the feed,
    the first one never shown to the screen): the read is to be done again without it, so
    the normaliser decides which of them is kept."""


class KeptOnly:
    """The screen of a read done again for the held entries kept (`keep`, by their ids):
    every other entry named by its id or link is taken by its head, so only those kept
    (and what no head decides) are read whole."""

    def __init__(self, keep: Collection[str]) -> None:
        self._keep = keep

    def worth(self, dates: Sequence[str]) -> bool:
        return True

    def __call__(self, head: RawEntry) -> bool:
        key = id_key(head)
        return key is not None and key not in self._keep

    def forget(self) -> None:
        """Nothing to forget: it keeps no account of what it took."""


# More than any zone's offset: a date read as UTC is within this of its reading in any zone.
_ZONE_MARGIN = timedelta(days=1)


class Screening:
    """The screen of one read (`feeds.model.EntryScreen`): shown each entry's head (its id,
    link and dates) before the rest is read, it takes the entries the head alone decides,
    which are then neither read further nor normalised; `normalise_feed` counts them.

    It takes an entry named by its id or link (not by a hash of its texts), the first with
    that key in the feed, that is either
    - recognised: its key's digest (`recognise.RetiredDigests`) is in `known`, so the
      source's last stored read retired it on arrival, and its tombstone keeps it out of
      the store whatever it holds now; or
    - retired on arrival by `retire`, dated by its head as the whole entry would be,
      without a warning, with a link (it is no empty entry) and a category (its source's):
      what the whole reading would retire. Its key's digest is remembered; or
    - held back by `retire` (a first read), dated and named alike: what the whole reading
      would hold. It is kept in `held`, and its key's digest is remembered only if the run
      retires it (`HeldEntry.retired_digest`).
    A first run of the bench's 1,000 feeds retires 36% of their entries at once and holds
    36%, of 3,000 feeds 70% and 21%: each was parsed whole only to be named."""

    def __init__(
        self,
        source: Source,
        now: datetime,
        retire: RetireBefore | None,
        known: str | None,
        salt: str,
    ) -> None:
        self._source = source
        self._now = now
        # What decides an entry from its head: a retiring date, or holding (a first read).
        self._retire = retire if retire is not None and (retire.date or retire.hold) else None
        self._known = digests(known or "")
        self._remembering = known is not None  # the read remembers digests
        self._digests = RetiredDigests(source, salt)
        # A remote entry names no category of its own: its source's is its only one.
        self._category = clean_text(source.category or "")
        self._seen: set[str] = set()
        self.taken: list[str] = []  # keys of the entries taken, in order
        self.retired: list[str] = []
        self.held: list[HeldEntry] = []  # held back by their heads, to read again if kept
        self.recognised = 0
        self.digests: list[str] = []  # of the entries taken, to remember

    @property
    def active(self) -> bool:
        """Whether it may take any entry: with a retiring date, holding, or some digests
        known."""
        return self._retire is not None or bool(self._known)

    def forget(self) -> None:
        """Forget every entry taken (the parser gave up the reading that showed them)."""
        self._seen.clear()
        self.taken.clear()
        self.retired.clear()
        self.held.clear()
        self.digests.clear()
        self.recognised = 0

    def worth(self, dates: Sequence[str]) -> bool:
        """Whether an entry with these date texts might be taken: always while some
        entries may be recognised; else only while it may be retired or held, which a date
        read plainly (as UTC, a day's margin) at or after the retiring date (or, holding,
        where the keeping starts) rules out."""
        if self._known:
            return True
        rule = self._retire
        if rule is None or not dates:
            return False
        if rule.hold and rule.keep_from is None:
            return True  # every dated entry it does not retire is held
        ends = [d for d in (rule.date, rule.keep_from if rule.hold else None) if d is not None]
        latest = max(ends) + _ZONE_MARGIN
        for text in dates:
            try:
                when = read_date(text, UTC)
            except ImpossibleDateError:
                return True  # the whole reading decides
            if when is None or when < latest:
                return True
        return False

    def __call__(self, head: RawEntry) -> bool:
        key = id_key(head)
        if key is None or key in self._seen:
            return False
        self._seen.add(key)
        digest = self._digests.of(key) if self._known else None
        if digest is not None and digest in self._known:
            self.recognised += 1
        else:
            published = self._dated(head, key)
            if published is None:
                return False
            assert self._retire is not None
            if self._retire.retires(key, published, self._now):
                self.retired.append(key)
            elif self._retire.holds(published, self._now):
                # Remembered only once the run retires it (`HeldEntry.retired_digest`).
                digest = self._digests.of(key) if self._remembering else ""
                entry = HeldEntry(key, self._category, published, digest)
                self.held.append(entry)
                self.taken.append(key)
                return True
            else:
                return False
        self.taken.append(key)
        self.digests.append(digest or self._digests.of(key))
        return True

    def _dated(self, head: RawEntry, key: str) -> datetime | None:
        """The date the whole reading would give the entry (`_prepare`), where its head
        alone tells it and the entry may be retired or held; else None."""
        if self._retire is None:
            return None
        if not head.link or not self._category:
            return None  # it may be dropped as empty or as having no category instead
        tally = WarningTally()
        published, updated = _read_dates(head, self._source, tally, key)
        if tally or (head.published and not published) or (head.updated and not updated):
            # An impossible date is warned of, and a text our reader cannot read would date
            # the entry by feedparser's reading of it, which a head does not carry
            # (`feeds.model.EntryScreen`): either way the whole reading decides.
            return None
        published, _ = _settled_dates(published, updated, None, self._now)
        return published


def normalise_feed(
    feed: RawFeed,
    *,
    source: Source,
    now: datetime,
    first_seen: Mapping[str, datetime],
    fallback_base: str | None,
    known: str | None = None,
    salt: str = "",
    retire: RetireBefore | None = None,
    screening: Screening | None = None,
) -> NormalisedFeed:
    """Every entry of a feed as an Article; entries that cannot be used become errors
    (one line per kind of problem, with a count and a few examples). With `known`
    (`FetchState.entry_digests`, "" for none), entries whose digest in the context `salt`
    names is in it are counted as recognised instead, and the digests of this read are
    returned (`feeds.normalise.recognise`); without, every entry is normalised.

    An entry not stored with a date of its own before `retire.date` (`feeds.update.floors`:
    every category it can reach already holds enough newer articles) is only named in
    `retired`, not cleaned (nor are its caps' cuts warned of): retention would delete its
    article before any publish. With `retire.hold`, the other dated entries are only
    prepared, in `held`. The entries the parser's `screening` took count as it took them;
    ScreenClashError when an entry read whole has the key of one it took."""
    articles: list[Article] = []
    retired: list[str] = []
    held: list[Prepared] = []
    tally = WarningTally()
    undated: set[str] = set()
    seen: set[str] = set()
    taken = frozenset(screening.taken) if screening is not None else frozenset()
    recognition = None if known is None else Recognition(feed, source, fallback_base, known, salt)
    recognised = 0
    digest = ""
    for raw in feed.entries:
        key = entry_key(raw)
        if key in taken:
            raise ScreenClashError(key)
        if key in seen:
            tally.add("duplicate entry id, kept the first", _where(raw, source, key))
            continue
        seen.add(key)
        if recognition is not None:
            digest = recognition.digest(raw)
            if digest in recognition.known:
                recognised += 1
                recognition.remember(digest)
                continue
        warned = tally.count
        cuts, dated = WarningTally(), WarningTally()
        try:
            entry = _prepare(raw, key, source, now, first_seen.get(key), dated, cuts)
        except EntryError as exc:
            tally.absorb(cuts)
            tally.add(exc.kind, exc.where)
            continue
        if retire is not None and retire.retires(key, entry.published, now):
            # Only named: no article is made of it, so what its caps cut is not said (nor
            # could it be by a screen that takes it by its head, unread).
            tally.absorb(dated)
            retired.append(key)
            if recognition is not None and tally.count == warned:
                recognition.remember(digest)
            continue
        tally.absorb(cuts)
        tally.absorb(dated)
        if retire is not None and retire.holds(entry.published, now):
            held.append(entry)
            if recognition is not None and tally.count == warned:
                recognition.remember(digest)  # retired or stored, it is not read again
            continue
        articles.append(_article(entry, source, feed.link, feed.language, fallback_base))
        if articles[-1].published == now:
            # No usable date of its own (none, or one in the future): the store's first-seen
            # time replaces `now`, so the article does not move on every fetch.
            undated.add(key)
        elif recognition is not None and tally.count == warned:
            recognition.remember(digest)  # it depends on nothing but what the digest covers
    dropped = len(feed.entries) - len(articles) - recognised - len(retired) - len(held)
    heads: Sequence[HeldEntry] = ()
    if screening is not None:
        recognised += screening.recognised
        retired += screening.retired
        heads = screening.held
        if recognition is not None:
            for digest in screening.digests:
                recognition.remember(digest)
    return NormalisedFeed(
        tuple(articles),
        tally.lines(),
        frozenset(undated),
        title=_shorten(plain_text(feed.title or "", is_html=True), FEED_TITLE_LIMIT) or None,
        site_url=_site_url(feed.link),
        dropped=dropped,
        recognised=recognised,
        entry_digests=recognition.remembered() if recognition is not None else "",
        retired=frozenset(retired),
        held=(
            HeldEntries.pack(held, feed.link, feed.language, fallback_base, heads)
            if held or heads
            else None
        ),
    )


def _site_url(link: str | None) -> str | None:
    url = safe_url(link)
    return url if url is not None and len(url) <= SITE_URL_LIMIT else None


def _where(raw: RawEntry, source: Source, key: str) -> str:
    # A file names itself; a remote entry is named by its id.
    by_location = describe(source.kind).entries_by_location
    return raw.location if raw.location and by_location else repr(key)


def with_first_seen(
    articles: Sequence[Article], first_seen: Mapping[str, datetime]
) -> list[Article]:
    """Undated articles dated by when the store first saw them (`first_seen` by entry id)."""
    return [
        replace(a, published=first_seen[a.entry_id], updated=first_seen[a.entry_id])
        if a.entry_id in first_seen
        else a
        for a in articles
    ]


def normalise_entry(
    raw: RawEntry,
    *,
    source: Source,
    feed: RawFeed,
    now: datetime,
    first_seen: datetime | None,
    fallback_base: str | None,
    tally: WarningTally | None = None,
) -> Article:
    """One raw entry as an Article, every field within `limits`; what was cut, and dates
    that cannot be, are added to `tally`. Raises EntryError when it has no category."""
    tally = tally if tally is not None else WarningTally()
    entry = _prepare(raw, entry_key(raw), source, now, first_seen, tally)
    return _article(entry, source, feed.link, feed.language, fallback_base)


def id_key(raw: RawEntry) -> str | None:
    """`entry_key` when the entry has an id or a link, else None."""
    return stored_id(raw.entry_id or "") or stored_id(raw.link or "")


def stored_id(text: str) -> str | None:
    """The id an entry whose id (or link) is `text` is stored under: cleaned as text and
    capped; None when it cleans down to nothing (control characters only), which is no id."""
    key = clean_text(text)
    return limits.capped_key(key) if key else None


def _prepare(
    raw: RawEntry,
    key: str,
    source: Source,
    now: datetime,
    first_seen: datetime | None,
    tally: WarningTally,
    cuts: WarningTally | None = None,
) -> Prepared:
    """The entry within its caps (what was cut counted in `cuts`, else in `tally`), its
    category and dates (impossible ones counted in `tally`); EntryError when it has no
    title, link or text, or no category."""
    where = _where(raw, source, key)
    if not any((raw.title, raw.link, raw.content_html, raw.summary_html, raw.enclosures)):
        # Broken XML can yield an entry of nothing at all: publishing it helps nobody.
        raise EntryError("an entry with no title, link or text", raw.location or source.name)
    raw = limits.cap_entry(raw, key, where, tally if cuts is None else cuts)
    category = clean_text(raw.category or "") or clean_text(source.category or "")
    if not category:
        raise EntryError("no category (the entry names none and the source sets none)", where)
    published, updated = _dates(raw, source, now, first_seen, tally, where)
    return Prepared(raw, key, category, published, updated)


def _article(
    entry: Prepared,
    source: Source,
    feed_link: str | None,
    feed_language: str | None,
    fallback_base: str | None,
) -> Article:
    """The prepared entry's article: links resolved, HTML sanitised, texts folded."""
    raw, key = entry.raw, entry.key
    base = safe_url(raw.base_url) or _feed_base(feed_link) or fallback_base
    link = safe_url(raw.link, base)
    content = limits.fit_html(
        sanitise_html(raw.content_html or raw.summary_html or "", base),
        lambda cut: sanitise_html(cut, base),
    )
    summary_source = raw.summary_html if raw.summary_html else content
    raw_title = raw.title or ""
    # Entities in plain-text titles (common in JSON Feed titles written by HTML tools) are
    # still decoded; angle brackets that open no HTML element stay in either kind.
    text_title = plain_text(
        raw_title if raw.title_is_html else html.unescape(raw_title), is_html=raw.title_is_html
    )
    title = text_title or _title_from(summary_source) or key[: limits.TITLE]
    return Article(
        id=article_id(source.name, key),
        source=source.name,
        entry_id=key,
        title=title,
        link=link,
        summary=_shorten(plain_text(summary_source, is_html=True), SUMMARY_LIMIT),
        content=content or f"<p>{html.escape(title, quote=False)}</p>",
        authors=clean_authors(raw.authors),
        published=entry.published,
        updated=entry.updated,
        categories=(entry.category,),
        language=_language(raw.language) or _language(feed_language) or _language(source.language),
        enclosures=_enclosures(raw.enclosures, base),
        tags=_unique(plain_text(t) for t in raw.tags),
        podcast=clean_podcast(raw.podcast, base),
    )


@lru_cache(maxsize=8)
def _feed_base(link: str | None) -> str | None:
    """The feed's own link as a base URL: the same for each of its entries, checked once."""
    return safe_url(link)


def _dates(
    raw: RawEntry,
    source: Source,
    now: datetime,
    first_seen: datetime | None,
    tally: WarningTally,
    where: str,
) -> tuple[datetime, datetime]:
    published, updated = _read_dates(raw, source, tally, where)
    return _settled_dates(published, updated, first_seen, now)


def _read_dates(
    raw: RawEntry, source: Source, tally: WarningTally, where: str
) -> tuple[datetime | None, datetime | None]:
    """The entry's published and updated dates as written, where they can be read."""
    zone: tzinfo = ZoneInfo(source.timezone)
    published = _date(raw.published, raw.published_guess, zone, tally, where)
    updated = _date(raw.updated, raw.updated_guess, zone, tally, where)
    return published, updated


def _settled_dates(
    published: datetime | None,
    updated: datetime | None,
    first_seen: datetime | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """The dates an article gets from those its entry gives, when it was first seen and
    the clock: none in the future, whole minutes, updated no earlier than published."""
    published = published or updated or first_seen or now
    updated = updated or published
    published = _whole_minutes(clamp_future(published, now))
    if is_future(updated, now):
        # Not taken: clamped to the clock, it would move on every read, and subscribers
        # would see the entry updated at each poll.
        return published, published
    return published, max(_whole_minutes(updated), published)


def _whole_minutes(value: datetime) -> datetime:
    # RFC 3339 and RFC 822 offsets have no seconds: +01:00:30 becomes +01:01, same instant.
    offset = value.utcoffset()
    if offset is None or offset.seconds % 60 == 0:
        return value
    return value.astimezone(timezone(timedelta(minutes=round(offset.total_seconds() / 60))))


def _date(
    text: str | None, guess: datetime | None, zone: tzinfo, tally: WarningTally, where: str
) -> datetime | None:
    # Our own parser first: feedparser's readings of zone names and day-first dates are
    # wrong, and it rolls impossible dates over (2024-02-30 to March 1st): those are
    # reported and not guessed at.
    try:
        return read_date(text, zone) or _plausible(guess)
    except ImpossibleDateError:
        tally.add("impossible date, dated when first seen", f"{where} {text!r}")
        return None


def _plausible(guess: datetime | None) -> datetime | None:
    # feedparser reads epoch seconds as the year 1746: nothing in a feed predates 1970.
    return guess if guess is not None and guess.year >= 1970 else None


def _title_from(summary_html: str) -> str:
    return _shorten(plain_text(summary_html, is_html=True), 80)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:.-") + "…"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _language(value: str | None) -> str | None:
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    return tag.lower() if _LANGUAGE.match(tag) else None


def _enclosures(values: Iterable[Enclosure], base: str | None) -> tuple[Enclosure, ...]:
    result: dict[str, Enclosure] = {}
    for enclosure in values:
        url = safe_url(enclosure.url, base)
        if url and url not in result:
            length = enclosure.length if enclosure.length and enclosure.length > 0 else None
            written = clean_text(enclosure.media_type or "").lower()
            media_type = written if _MEDIA_TYPE.match(written) else None  # "audio" is no type
            result[url] = Enclosure(url=url, media_type=media_type, length=length)
    return tuple(result.values())
