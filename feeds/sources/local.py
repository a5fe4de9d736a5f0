"""The local-article source: article files that editors write in a folder.

Two formats are read:

* the seed format (``.txt``)::

      Veröffentlichungsdatum: 10.05.2025 11:33 / Welt Nachrichten

      Title

      Title (the headline, dropped when it equals the title)

      First paragraph ...

      Second paragraph ...

* Markdown (``.md``, ``.markdown``) with YAML front matter between ``---`` lines
  (``title`` and ``date`` required; ``category``, ``tags``, ``author``/``authors``,
  ``summary``, ``language`` and ``link`` optional).

A source names a folder (read recursively; hidden files and folders, ``README*`` and other
extensions are skipped) or one file. Symbolic links to folders are not followed, and a
link to a file outside the source's folder is skipped with a warning that names the link
(never its target). A file over `MAX_ARTICLE_BYTES` is refused before it is read, and error
messages quote no more of a file than the date or key that is wrong. Each article becomes
a `RawEntry` whose ``entry_id`` is its path relative to the folder, so ids are the same in
every checkout. A malformed file becomes a `LocalArticleError` and the other files are
still read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.model import RawEntry, RawFeed, Source
from feeds.normalise.authors import authors_from_text
from feeds.normalise.dates import parse_date
from feeds.shorten import shorten

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "MAX_ARTICLE_BYTES",
    "MAX_ARTICLE_FILES",
    "ArticleJob",
    "LocalArticleError",
    "LocalArticleFormatError",
    "LocalPlan",
    "LocalRead",
    "local_fingerprint",
    "plan_local_read",
    "read_article_file",
    "read_article_job",
    "read_local_source",
]

SEED_SUFFIXES = frozenset({".txt"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
ARTICLE_SUFFIXES = SEED_SUFFIXES | MARKDOWN_SUFFIXES
# An article is text an editor wrote; a file larger than this is a mistake (or an attack),
# and reading it whole would hold it in memory several times over while it is parsed.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024
MAX_ARTICLE_FILES = 10_000  # per source: a folder named by mistake (a home, /) stops here
_OUTSIDE = "symbolic link leads out of the source folder; skipped"
log = logging.getLogger(__name__)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

_HEADER_EXAMPLE = "Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category"
_DATE_EXPECTED = "expected DD.MM.YYYY HH:MM"
_FRONT_MATTER_DATE_EXPECTED = "expected ISO 8601 such as 2025-05-10T11:33 or DD.MM.YYYY HH:MM"

_HEADER_RE = re.compile(r"veröffentlichungsdatum\s*:(?P<rest>.*)", re.IGNORECASE)
_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_ENDS = frozenset({"---", "..."})
_TOP_LEVEL_KEY_RE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:(?P<value>.*)")


MAX_ALIASES = 100  # YAML aliases in one front matter: a few for shared values, not a bomb


@functools.cache
def _front_matter_loader() -> type[Any]:
    """PyYAML's safe loader, made safe for files nobody checked: numbers are kept as the
    text written (a title may be `0x...` with 5,000 digits, or `1:59:59:...`, which YAML 1.1
    reads as base 60, in time growing with the square of its length), a date that is no
    date is an error at its line rather than a ValueError, and at most `MAX_ALIASES`
    aliases are taken (each may stand for a megabyte of text)."""
    import yaml

    class FrontMatterLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise yaml.composer.ComposerError(
                        None, None, f"more than {MAX_ALIASES} aliases", mark
                    )
            return super().compose_node(parent, index)

        def construct_timestamp(self, node: Any) -> Any:
            try:
                return super().construct_yaml_timestamp(node)
            except (ValueError, OverflowError) as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"not a date: {exc}", node.start_mark
                ) from None

    def as_written(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))

    for tag in ("int", "float"):
        FrontMatterLoader.add_constructor(f"tag:yaml.org,2002:{tag}", as_written)
    FrontMatterLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", FrontMatterLoader.construct_timestamp
    )
    return FrontMatterLoader


@functools.cache
def _markdown() -> MarkdownIt:
    # Imported on first use (with PyYAML, below): most runs have no Markdown to read.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True, slots=True)
class LocalArticleError:
    """A problem with one article file (or with the source as a whole, then ``line`` is None)."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = _display_path(self.path)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class LocalArticleFormatError(ValueError):
    """Raised by `read_article_file` for a file that cannot be read as an article."""

    def __init__(self, error: LocalArticleError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class LocalRead:
    """What one read of a local source yielded: the good articles and the bad files."""

    feed: RawFeed
    errors: tuple[LocalArticleError, ...]
    # Entry ids of every article file found, readable or not; None when the source itself
    # could not be listed (then nothing may be taken for deleted).
    present: frozenset[str] | None = None


# --------------------------------------------------------------------------- reading a source


def read_local_source(source: Source) -> LocalRead:
    """Read every article file of a local source; never raises for bad files or paths."""
    plan = plan_local_read(source)
    if isinstance(plan, LocalRead):
        return plan
    return plan.assembled([read_article_job(job) for job in plan.jobs()])


@dataclass(frozen=True, slots=True)
class LocalPlan:
    """The files one read of a local source reads (`plan_local_read`), each on its own
    (`read_article_job`, in any process), and what the read says of them once each is
    read (`assembled`)."""

    source: Source
    root: Path  # the folder entry ids are relative to
    files: tuple[Path, ...]
    errors: tuple[LocalArticleError, ...]  # of the listing
    present: frozenset[str] | None  # see `LocalRead.present`

    def jobs(self) -> list[ArticleJob]:
        """Each file to read, as a job of its own."""
        return [ArticleJob(self.source, self.root, path) for path in self.files]

    def assembled(self, outcomes: Sequence[RawEntry | LocalArticleError]) -> LocalRead:
        """The read, from each file's outcome in `files` order: an entry, or its error. Of
        two files with one entry id, the first is read."""
        entries: list[RawEntry] = []
        errors = list(self.errors)
        seen: dict[str, Path] = {}
        for path, outcome in zip(self.files, outcomes, strict=True):
            if isinstance(outcome, LocalArticleError):
                errors.append(outcome)
                continue
            assert outcome.entry_id is not None
            if outcome.entry_id in seen:
                other = _display_path(seen[outcome.entry_id])
                message = f"duplicate entry id {outcome.entry_id!r} (also used by {other})"
                errors.append(LocalArticleError(path, None, message))
                continue
            seen[outcome.entry_id] = path
            entries.append(outcome)
        feed = RawFeed(
            entries=tuple(entries), title=self.source.name, language=self.source.language
        )
        return LocalRead(feed=feed, errors=tuple(errors), present=self.present)


def plan_local_read(source: Source) -> LocalPlan | LocalRead:
    """The files to read of a local source, or the read itself when none can be (no path, a
    bad zone, a path that is no folder or file, too many files)."""
    errors: list[LocalArticleError] = []

    def unread() -> LocalRead:
        feed = RawFeed(entries=(), title=source.name, language=source.language)
        return LocalRead(feed=feed, errors=tuple(errors), present=None)

    if source.path is None:
        message = "local source names no path (expected path)"
        errors.append(LocalArticleError(Path(source.name), None, message))
        return unread()
    base = source.path
    try:
        _zone(source, base)
    except LocalArticleFormatError as exc:
        errors.append(exc.error)
        return unread()

    listing: _Listing | None = None
    try:
        if base.is_file():
            root = base.parent
            files = [base]
        elif base.is_dir():
            root = base
            listing = _article_files(base, errors)
            if listing is None:
                return unread()  # nothing read, and nothing taken for deleted
            files = listing.files
        else:
            message = "path does not exist (expected a folder of articles or an article file)"
            if base.exists():
                message = "path is neither a folder nor a regular file"
            errors.append(LocalArticleError(base, None, message))
            return unread()
    except OSError as exc:
        errors.append(LocalArticleError(base, None, f"cannot read path: {_os_reason(exc)}"))
        return unread()

    present: set[str] | None = {_entry_id(path, root) for path in files}
    if listing is not None and not listing.complete:
        present = None  # a folder not read may hold any article: none is taken for deleted
    elif listing is not None and present is not None:
        present.update(listing.unread)
    found = frozenset(present) if present is not None else None
    return LocalPlan(source, root, tuple(files), tuple(errors), found)


@dataclass(frozen=True, slots=True)
class ArticleJob:
    """One file of a local read to read, in any process (`read_article_job`)."""

    source: Source
    root: Path
    path: Path


def read_article_job(job: ArticleJob) -> RawEntry | LocalArticleError:
    """The file of `job` read, or why it is not: never raises."""
    try:
        return read_article_file(job.path, root=job.root, source=job.source)
    except LocalArticleFormatError as exc:
        return exc.error
    except Exception as exc:  # a fault of ours this file found: it alone is not read
        log.exception("%s: reading failed", job.path)
        reason = f"cannot read: internal error: {type(exc).__name__}: {shorten(str(exc), 120)}"
        return LocalArticleError(job.path, None, reason)


@dataclass(frozen=True, slots=True)
class _Listing:
    """The article files under a source's folder, sorted by entry id; the ids of the
    entries named as articles that are not regular files now (a dangling link, a FIFO),
    whose articles stay; and whether every folder below was listed."""

    files: list[Path]
    unread: list[str]
    complete: bool


_NOT_FOLLOWED = "symbolic link to a folder, not followed; no article is taken for deleted"
_NOT_LISTED = "; no article is taken for deleted"
_NOT_REGULAR = "not a regular file; skipped, its article (if any) stays as it was"


def _article_files(root: Path, errors: list[LocalArticleError]) -> _Listing | None:
    """The article files under ``root`` (see `_Listing`); None (and an error) when there
    are more than `MAX_ARTICLE_FILES`. A folder that cannot be listed or is a symlink (not
    followed: it could loop or leave the source) makes the listing incomplete."""
    found: list[tuple[str, Path]] = []
    unread: list[str] = []
    complete = True
    pending = [root]
    real_root = root.resolve()
    while pending:
        folder = pending.pop()
        try:
            children = list(folder.iterdir())
        except OSError as exc:
            reason = f"cannot list folder: {_os_reason(exc)}{_NOT_LISTED}"
            errors.append(LocalArticleError(folder, None, reason))
            complete = False
            continue
        for child in children:
            name = child.name
            if name.startswith("."):
                continue
            wanted = child.suffix.lower() in ARTICLE_SUFFIXES
            wanted = wanted and not name.lower().startswith("readme")
            try:
                if child.is_dir():
                    if child.is_symlink():
                        errors.append(LocalArticleError(child, None, _NOT_FOLLOWED))
                        complete = False
                    else:
                        pending.append(child)
                    continue
                if not wanted:
                    continue
                if not child.is_file():
                    errors.append(LocalArticleError(child, None, _NOT_REGULAR))
                    unread.append(_entry_id(child, root))
                    continue
                if child.is_symlink() and not child.resolve().is_relative_to(real_root):
                    errors.append(LocalArticleError(child, None, _OUTSIDE))
                    continue
                found.append((_entry_id(child, root), child))
                if len(found) > MAX_ARTICLE_FILES:
                    message = f"more than {MAX_ARTICLE_FILES:,} article files; none read"
                    errors.append(LocalArticleError(root, None, message))
                    return None
            except OSError as exc:
                errors.append(LocalArticleError(child, None, f"cannot read: {_os_reason(exc)}"))
                if wanted:
                    unread.append(_entry_id(child, root))
    found.sort(key=lambda item: item[0])
    return _Listing([path for _, path in found], unread, complete)


def local_fingerprint(source: Source) -> str:
    """A digest of the source's article files (names, sizes, mtimes): it changes when an
    editor adds, edits or deletes one, so a daemon can re-read only then."""
    digest = hashlib.sha256()
    base = source.path
    if base is None:
        return ""
    try:
        listing = _article_files(base, []) if base.is_dir() else None
        files = [base] if base.is_file() else listing.files if listing is not None else []
        for path in files:
            info = path.stat()
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    except OSError as exc:
        digest.update(str(exc).encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading one file


def read_article_file(path: Path, *, root: Path, source: Source) -> RawEntry:
    """Read one article file; ``root`` is the folder its entry id is relative to.

    Raises `LocalArticleFormatError` for a file that is unreadable, larger than
    `MAX_ARTICLE_BYTES`, not UTF-8 or malformed, or (unless it is the source's own
    configured file) a link to a file outside ``root``; `ValueError` if ``path`` is not
    inside ``root``.
    """
    entry_id = _entry_id(path, root)
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        expected = ", ".join(sorted(ARTICLE_SUFFIXES))
        raise _fail(
            path, None, f"unsupported file type {suffix or '(none)'!r} (expected {expected})"
        )
    zone = _zone(source, path)
    data = _read_bounded(path, root, configured=path == source.path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise _fail(path, line, message) from None
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]

    base = RawEntry(
        entry_id=entry_id,
        language=source.language,
        location=_display_path(path),
    )
    if suffix in SEED_SUFFIXES:
        return _read_seed(path, lines, zone, base)
    return _read_markdown(path, lines, zone, base)


def _read_seed(path: Path, lines: list[str], zone: tzinfo, base: RawEntry) -> RawEntry:
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _fail(path, 1, f"empty file (expected a first line '{_HEADER_EXAMPLE}')")
    header_line = first + 1
    header = unicodedata.normalize("NFC", lines[first].strip())
    match = _HEADER_RE.fullmatch(header)
    if match is None:
        # The line itself is not quoted: the file may not be an article at all.
        message = f"expected a header '{_HEADER_EXAMPLE}' as the first line"
        raise _fail(path, header_line, message)
    date_text, _, category_text = match.group("rest").partition("/")
    date_text = date_text.strip()
    if not date_text:
        raise _fail(path, header_line, f"missing date in the header ({_DATE_EXPECTED})")
    published = _read_date(date_text, zone)
    if published is None:
        raise _fail(path, header_line, f"bad date {shorten(date_text, 24)!r} ({_DATE_EXPECTED})")
    category = _normalise_space(category_text) or None

    blocks = _blocks(lines, first + 1)
    if not blocks:
        message = "missing title after the header (expected a blank line, then the title)"
        raise _fail(path, header_line + 1, message)
    title_line, title_lines = blocks[0]
    title = _normalise_space(" ".join(title_lines))
    paragraphs = [_join_lines(block) for _, block in blocks[1:]]
    if paragraphs and _normalise_space(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]
    if not paragraphs:
        message = "no article text after the title (expected paragraphs separated by blank lines)"
        raise _fail(path, title_line, message)

    rendered = [f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs]
    return replace(
        base,
        title=title,
        content_html="\n".join(rendered),
        summary_html=rendered[0],
        published=date_text,
        published_guess=published,
        category=category,
    )


def _read_markdown(path: Path, lines: list[str], zone: tzinfo, base: RawEntry) -> RawEntry:
    fence_example = "a first line '---', then 'title:' and 'date:' lines, then '---'"
    if not lines or lines[0].strip() != _FRONT_MATTER_FENCE:
        if not any(line.strip() for line in lines):
            raise _fail(path, 1, f"empty file (expected YAML front matter: {fence_example})")
        raise _fail(path, 1, f"missing YAML front matter (expected {fence_example})")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in _FRONT_MATTER_ENDS), None)
    if end is None:
        raise _fail(path, 1, "front matter is not closed (expected a line '---' after it)")
    yaml_lines = lines[1:end]
    first_yaml_line = 2  # the file line of yaml_lines[0]
    import yaml

    try:
        meta: Any = yaml.load("\n".join(yaml_lines), Loader=_front_matter_loader())  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_yaml_line + mark.line if mark is not None else 1
        reason = ": ".join(part for part in (exc.context, exc.problem) if part)
        reason = shorten(reason or "cannot parse", 120)
        raise _fail(path, line, f"invalid YAML in front matter: {reason}") from None
    except yaml.YAMLError as exc:
        reason = shorten(str(exc), 120)
        raise _fail(path, 1, f"invalid YAML in front matter: {reason}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise _fail(path, first_yaml_line, "front matter is nested too deeply") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        message = f"front matter must be 'key: value' lines, not a {type(meta).__name__}"
        raise _fail(path, first_yaml_line, message)
    key_lines = _key_lines(yaml_lines, first_yaml_line)

    def line_of(key: str) -> int:
        return key_lines.get(key, (1, ""))[0]

    def fail(key: str, message: str) -> LocalArticleFormatError:
        return _fail(path, line_of(key), message)

    title_value = meta.get("title")
    if title_value is None:
        raise fail("title", "missing 'title' in front matter (expected 'title: ...')")
    title = _normalise_space(_text(title_value, "title", fail))
    if not title:
        raise fail("title", "empty 'title' in front matter")

    if meta.get("date") is None:
        raise fail("date", "missing 'date' in front matter (expected 'date: 2025-05-10T11:33')")
    date_value = meta["date"]
    published = _front_matter_date(date_value, zone)
    raw_date = key_lines.get("date", (1, ""))[1]
    if isinstance(date_value, str):
        date_text = date_value.strip()
    elif raw_date:
        date_text = raw_date
    elif isinstance(date_value, date):
        date_text = date_value.isoformat()
    else:
        date_text = str(date_value)
    if published is None:
        raise fail("date", f"bad date {shorten(date_text, 24)!r} ({_FRONT_MATTER_DATE_EXPECTED})")

    category = _optional_text(meta.get("category"), "category", fail)
    summary = _optional_text(meta.get("summary"), "summary", fail)
    language = _optional_text(meta.get("language"), "language", fail)
    link = _optional_text(meta.get("link"), "link", fail)
    tags = _text_list(meta.get("tags"), "tags", fail, split_commas=True)
    # Each text may be a name or an address: "Ann <ann@example.org>".
    authors = tuple(
        dict.fromkeys(
            author
            for text in (
                *_text_list(meta.get("author"), "author", fail, split_commas=False),
                *_text_list(meta.get("authors"), "authors", fail, split_commas=True),
            )
            for author in authors_from_text(text)
        )
    )

    body = "\n".join(lines[end + 1 :]).strip("\n")
    if not body.strip():
        message = "no article text after the front matter (expected a Markdown body)"
        raise _fail(path, end + 1, message)
    content_html = _markdown().render(body).rstrip("\n")

    return replace(
        base,
        title=title,
        content_html=content_html,
        summary_html=f"<p>{html.escape(summary, quote=False)}</p>" if summary else None,
        published=date_text,
        published_guess=published,
        category=category,
        tags=tags,
        authors=authors,
        language=language or base.language,
        link=link,
    )


def _read_bounded(path: Path, root: Path, *, configured: bool) -> bytes:
    """The file's bytes, refused before reading when it is too large or leads outside
    ``root``. The resolved file is opened without following a link in its last part, so a
    link swapped in after the check fails to open instead of being followed."""
    try:
        real = path.resolve()
        if not configured and not real.is_relative_to(root.resolve()):
            raise _fail(path, None, _OUTSIDE)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _fail(path, None, "not a regular file; skipped")
            if info.st_size > MAX_ARTICLE_BYTES:
                raise _too_large(path, info.st_size)
            data = handle.read(MAX_ARTICLE_BYTES + 1)
    except OSError as exc:
        raise _fail(path, None, f"cannot read file: {_os_reason(exc)}") from None
    if len(data) > MAX_ARTICLE_BYTES:  # it grew after the size check
        raise _too_large(path, len(data))
    return data


def _too_large(path: Path, size: int) -> LocalArticleFormatError:
    limit = MAX_ARTICLE_BYTES // (1024 * 1024)
    message = f"file is {size:,} bytes, over the {limit} MiB limit for an article; skipped"
    return _fail(path, None, message)


# --------------------------------------------------------------------------- helpers

# Makes the error for a front matter key (reported at that key's line) from a message.
_Fail = Callable[[str, str], LocalArticleFormatError]


def _fail(path: Path, line: int | None, message: str) -> LocalArticleFormatError:
    return LocalArticleFormatError(LocalArticleError(path=path, line=line, message=message))


def _zone(source: Source, path: Path) -> tzinfo:
    try:
        return ZoneInfo(source.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        message = (
            f"unknown time zone {source.timezone!r} (expected an IANA name like Europe/Berlin)"
        )
        raise _fail(path, None, message) from None


def _entry_id(path: Path, root: Path) -> str:
    """The path relative to ``root`` in POSIX form, NFC-normalised (macOS writes NFD names)."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise ValueError(f"{path} is not inside {root}") from None
    return unicodedata.normalize("NFC", relative.as_posix())


def _display_path(path: Path) -> str:
    """The path relative to the working directory if it lies below it, else as given;
    control characters in file names are escaped, so a name cannot forge a log line."""
    shown = path
    if path.is_absolute():
        with contextlib.suppress(ValueError, OSError):
            shown = path.relative_to(Path.cwd())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(shown))


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


def _join_lines(block: list[str]) -> str:
    return " ".join(line.strip() for line in block)


def _blocks(lines: list[str], start: int) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines from ``lines[start:]``, each with its 1-based first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    current_line = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.strip():
            if not current:
                current_line = index + 1
            current.append(line)
        elif current:
            blocks.append((current_line, current))
            current = []
    if current:
        blocks.append((current_line, current))
    return blocks


def _in_zone(value: datetime, zone: tzinfo) -> datetime | None:
    """Naive datetimes are in the source's zone; aware ones are shown in it; None for one
    that cannot be (year 9999 moved past its end)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=zone)
    try:
        return value.astimezone(zone)
    except OverflowError:
        return None


def _front_matter_date(value: object, zone: tzinfo) -> datetime | None:
    if isinstance(value, datetime):  # before `date`: a datetime is a date too
        return _in_zone(value, zone)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=zone)
    if not isinstance(value, str):
        return None
    return _read_date(value, zone)


def _read_date(text: str, zone: tzinfo) -> datetime | None:
    """A date as `parse_date` reads it, shown in the source's zone."""
    parsed = parse_date(text, zone)
    return None if parsed is None else _in_zone(parsed, zone)


def _key_lines(yaml_lines: list[str], first_line: int) -> dict[str, tuple[int, str]]:
    """Top-level keys of the front matter: their file line and their value text as written."""
    found: dict[str, tuple[int, str]] = {}
    for offset, line in enumerate(yaml_lines):
        match = _TOP_LEVEL_KEY_RE.fullmatch(line)
        if match is not None:  # a repeated key: YAML keeps the last, and so do we
            found[match["key"]] = (first_line + offset, _scalar_text(match["value"]))
    return found


def _scalar_text(value: str) -> str:
    """A one-line YAML value as written: without a trailing comment or surrounding quotes."""
    text = value.strip()
    if text[:1] in {"'", '"'}:
        closing = text.find(text[0], 1)
        return text[1:closing] if closing > 0 else ""
    comment = re.search(r"\s#", text)
    if comment is not None:
        text = text[: comment.start()].rstrip()
    if text[:1] in {"|", ">", "&", "*", "!"}:
        return ""  # a block scalar, anchor, alias or tag: not one plain value
    return text


def _text(value: object, key: str, fail: _Fail) -> str:
    """A scalar front matter value as text; numbers are accepted, other types are errors."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    kind = "a list" if isinstance(value, list) else type(value).__name__
    raise fail(key, f"'{key}' must be text, not {kind} (quote it: {key}: \"...\")")


def _optional_text(value: object, key: str, fail: _Fail) -> str | None:
    if value is None:
        return None
    return _normalise_space(_text(value, key, fail)) or None


def _text_list(value: object, key: str, fail: _Fail, *, split_commas: bool) -> tuple[str, ...]:
    """A list of texts, or one text (split at commas if ``split_commas``)."""
    if value is None:
        return ()
    items: Iterable[object]
    if isinstance(value, list):
        items = value
    else:
        text = _text(value, key, fail)
        items = text.split(",") if split_commas else [text]
    return _dedupe(_normalise_space(_text(item, key, fail)) for item in items if item is not None)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
