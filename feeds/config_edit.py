"""Config editing: change the config's ``[[sources]]`` tables and write the result.

The editing functions take the config text and return the new text; they never touch a
file. Everything outside the edited table stays byte for byte: a new source is appended
(at the end of the file, or right after the last ``[[sources]]`` table when other tables
follow it), and a removed source takes with it only its own lines and the comment lines
written directly above its header. tomlkit renders the new tables and locates the old
ones; every edit is then checked by reading the result back (tomllib): the sources must be
exactly the old ones plus or minus the one changed, and every other setting unchanged.

`write_config` then replaces the file atomically, only with text that validates.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import stat
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, Table, Whitespace

from feeds.config import Config, ConfigError, load_config
from feeds.errors import EditError, FeedsError
from feeds.source_identity import normalise_url
from feeds.sources.kinds import marker_keys, web_keys

__all__ = [
    "ConfigWriteError",
    "DuplicateSourceError",
    "EditError",
    "NewSource",
    "SourceIndex",
    "UnknownSourceError",
    "add_source",
    "add_sources",
    "close_matches",
    "configured_sources",
    "find_duplicate",
    "find_source",
    "remove_source",
    "write_config",
]


class ConfigWriteError(FeedsError):
    """The config file cannot be written, or it changed meanwhile; nothing was written."""


class DuplicateSourceError(EditError):
    """A source with this name or URL exists already; `existing` is its name."""

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


class UnknownSourceError(EditError):
    """No source has this name or URL; `suggestions` are the closest ones."""

    def __init__(self, key: str, suggestions: Sequence[str]) -> None:
        hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no source named or with the URL {key!r}{hint}")
        self.key = key
        self.suggestions = tuple(suggestions)


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to add, as it will be written: a remote feed (`key` "url"), or another web
    kind with its own keys (`extra`, e.g. a page's selectors)."""

    name: str
    url: str
    category: str
    interval: str | None = None
    language: str | None = None
    key: str = "url"  # the key that marks its kind (`feeds.sources.kinds`)
    extra: tuple[tuple[str, str], ...] = ()

    def table(self) -> dict[str, str]:
        """The keys of its ``[[sources]]`` table, in writing order."""
        keys = {"name": self.name, self.key: self.url, "category": self.category}
        keys.update(self.extra)
        if self.interval is not None:
            keys["interval"] = self.interval
        if self.language is not None:
            keys["language"] = self.language
        return keys


# --- reading ------------------------------------------------------------------------------


def _load(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EditError(f"the config is not valid TOML: {exc}") from None


def configured_sources(text: str) -> list[dict[str, Any]]:
    """The ``[[sources]]`` tables as written (not validated), in file order."""
    raw = _load(text).get("sources", [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise EditError("'sources' in the config is not an array of [[sources]] tables")
    return raw


def _where(table: Mapping[str, Any]) -> str:
    for key in marker_keys():
        if isinstance(table.get(key), str):
            return str(table[key])
    return ""


def _label(table: Mapping[str, Any], index: int) -> str:
    name = table.get("name")
    return name if isinstance(name, str) else f"sources[{index + 1}]"


class SourceIndex:
    """The configured sources by normalised URL and by name, built once: checking a batch
    of new sources against it costs one normalisation per source, not one per pair."""

    def __init__(self, sources: Sequence[Mapping[str, Any]] = ()) -> None:
        self._by_url: dict[str, Mapping[str, Any]] = {}
        self._by_name: dict[str, Mapping[str, Any]] = {}
        self._labels: dict[int, str] = {}
        for table in sources:
            self.add(table)

    def add(self, table: Mapping[str, Any]) -> None:
        """Index one more source table (the first of equal URLs or names stays found)."""
        self._labels[id(table)] = _label(table, len(self._labels))
        name = table.get("name")
        for key in web_keys():
            url = table.get(key)
            if isinstance(url, str):
                self._by_url.setdefault(normalise_url(url), table)
        if isinstance(name, str):
            self._by_name.setdefault(name, table)

    def label_of_url(self, url: str) -> str | None:
        """The label of the source configured with this URL (normalised), or None."""
        table = self._by_url.get(normalise_url(url))
        return None if table is None else self._labels[id(table)]

    def duplicate(self, *, name: str | None, url: str | None) -> DuplicateSourceError | None:
        """The refusal for a new source whose URL (checked first) or name is taken, or None."""
        label = self.label_of_url(url) if url is not None else None
        if url is not None and label is not None:
            return DuplicateSourceError(f"{url} is already configured as source {label!r}", label)
        table = self._by_name.get(name) if name is not None else None
        if table is not None:
            return DuplicateSourceError(
                f"a source named {name!r} exists already ({_where(table) or 'no url'}); "
                "choose another name with --name",
                self._labels[id(table)],
            )
        return None


def find_duplicate(
    sources: Sequence[Mapping[str, Any]], *, name: str | None, url: str | None
) -> DuplicateSourceError | None:
    """The refusal for a new source whose URL (checked first) or name is taken, or None."""
    return SourceIndex(sources).duplicate(name=name, url=url)


def find_source(text: str, key: str) -> int:
    """The index of the source named `key`, else of the one whose URL (or path) is `key`."""
    sources = configured_sources(text)
    for index, table in enumerate(sources):
        if table.get("name") == key:
            return index
    wanted = normalise_url(key)
    for index, table in enumerate(sources):
        url = table.get("url")
        if isinstance(url, str) and normalise_url(url) == wanted:
            return index
    for index, table in enumerate(sources):
        if table.get("path") == key:
            return index
    raise UnknownSourceError(key, close_matches(key, sources))


def close_matches(key: str, sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of sources whose name or URL looks like `key` (difflib), best first."""
    candidates: dict[str, str] = {}  # compared text -> source name
    for index, table in enumerate(sources):
        label = _label(table, index)
        candidates.setdefault(label, label)
        if isinstance(table.get("url"), str):
            candidates.setdefault(table["url"], label)
    found: list[str] = []
    lowered = key.lower()
    for text in difflib.get_close_matches(key, list(candidates), n=5, cutoff=0.6):
        found.append(candidates[text])
    for text, label in candidates.items():
        if lowered and lowered in text.lower():
            found.append(label)
    return list(dict.fromkeys(found))[:5]


# --- text surgery -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    """Where one ``[[sources]]`` table is in the text.

    ``start`` is its header line, ``end`` where the next table (or the file) begins, and
    ``own_end`` where its own lines end: what follows up to ``end`` is blank lines and the
    comments that belong to whatever comes next.
    """

    start: int
    own_end: int
    end: int


_MARK = "\x00feeds-mark\x00"


def _lossless(text: str) -> tomlkit.TOMLDocument | None:
    try:
        document = tomlkit.parse(text)
    except TOMLKitError:
        return None
    return document if document.as_string() == text else None


def _sources_aot(document: tomlkit.TOMLDocument) -> AoT | None:
    value = document.get("sources")
    return value if isinstance(value, AoT) else None


def _span(text: str, index: int) -> _Span | None:
    """Locate table `index` of the sources array: tomlkit renders the document with a
    marker in front of that table's header, and its body is the table's own text."""
    document = _lossless(text)
    if document is None:
        return None
    aot = _sources_aot(document)
    if aot is None or not 0 <= index < len(aot.body):
        return None
    table = aot.body[index]
    table.trivia.indent = _MARK + table.trivia.indent
    marked = document.as_string()
    if marked.count(_MARK) != 1 or marked.replace(_MARK, "") != text:
        return None
    start = marked.index(_MARK)
    header_end = text.find("\n", start)
    if header_end < 0:
        return None
    body = _body_text(document, table)
    end = header_end + 1 + len(body)
    if text[header_end + 1 : end] != body:
        return None
    tail = _kept_tail(_last_table(table), at_end=end == len(text))
    if not body.endswith(tail):
        return None
    return _Span(start, end - len(tail), end)


def _body_text(document: tomlkit.TOMLDocument, table: Table) -> str:
    """A source table's text after its header line, its sub-tables (`[[sources.rules]]`)
    included. The table's own `as_string` names a sub-table from the table down
    (`[[rules]]`), so it is written the way the document writes it; the caller checks the
    text against the file's, so a tomlkit that writes it otherwise only refuses the edit."""
    if not any(isinstance(item, Table | AoT) for _, item in table.value.body):
        return table.as_string()
    whole: str = document._render_aot_table(table, prefix="sources")
    return whole[whole.find("\n") + 1 :]


def _last_table(table: Table) -> Table:
    """The table whose body ends `table`'s text: its last sub-table's, if any (the blank
    lines and comments above the next source follow it)."""
    while table.value.body:
        last = table.value.body[-1][1]
        if isinstance(last, AoT) and last.body:
            table = last.body[-1]
        elif isinstance(last, Table):
            table = last
        else:
            break
    return table


def _kept_tail(table: Table, *, at_end: bool) -> str:
    """The trailing text of a table's body that does not belong to it: from its first
    blank line after the last key on, or else the comment block directly above the next
    header (there is none at the end of the file)."""
    items = [item for _, item in table.value.body]
    trailing = 0
    while trailing < len(items) and isinstance(items[-1 - trailing], Comment | Whitespace):
        trailing += 1
    run = items[len(items) - trailing :]
    first = len(run)
    for position, item in enumerate(run):
        if isinstance(item, Whitespace):
            first = position
            break
    if not at_end:
        block = len(run)
        while block > 0 and isinstance(run[block - 1], Comment):
            block -= 1
        first = min(first, block)
    return "".join(item.as_string() for item in run[first:])


def _comment_block_start(text: str, start: int) -> int:
    """Where the comment lines written directly above position `start` (a line start)
    begin; `start` itself when there are none."""
    position = start
    while position > 0:
        line_start = text.rfind("\n", 0, position - 1) + 1
        if not text[line_start:position].lstrip().startswith("#"):
            break
        position = line_start
    return position


def _is_blank(line: str) -> bool:
    return not line.strip()


def _drop_leading_blank_lines(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and _is_blank(lines[0]):
        lines.pop(0)
    return "".join(lines)


def _drop_trailing_blank_lines(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and _is_blank(lines[-1]):
        lines.pop()
    return "".join(lines)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _render(sources: Sequence[NewSource], newline: str) -> str:
    """``[[sources]]`` tables for `sources` as tomlkit writes them, one blank line apart."""
    tables = []
    for source in sources:
        document = tomlkit.document()
        aot = tomlkit.aot()
        table = tomlkit.table()
        for key, value in source.table().items():
            table.add(key, value)
        aot.append(table)
        document.append("sources", aot)
        tables.append(tomlkit.dumps(document))
    return "\n".join(tables).replace("\n", newline)


def _check(text: str, before: Mapping[str, Any], sources: list[dict[str, Any]]) -> bool:
    """Does `text` hold exactly `before` with its sources replaced by `sources`?"""
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    expected = {**before, "sources": sources}
    if not sources and "sources" not in after:
        expected.pop("sources")
    return after == expected


def _inline_sources(text: str) -> bool:
    try:
        return _sources_aot(tomlkit.parse(text)) is None
    except TOMLKitError:
        return False  # tomllib read it: appending a table and reading back will tell


def add_source(
    text: str,
    *,
    name: str,
    url: str,
    category: str,
    interval: str | None = None,
    language: str | None = None,
) -> str:
    """The config text with one more remote source; refuses a taken name or URL."""
    return add_sources(text, [NewSource(name, url, category, interval, language)])


def add_sources(text: str, new: Sequence[NewSource]) -> str:
    """The config text with `new` appended as ``[[sources]]`` tables (see the module doc).

    Raises `DuplicateSourceError` for a name or URL already configured (or given twice),
    and `EditError` when the config cannot take them.
    """
    before = _load(text)
    existing = configured_sources(text)
    if "sources" in before and _inline_sources(text):
        raise EditError(
            "'sources' is written as an inline array; write it as [[sources]] tables to add "
            "sources with this command"
        )
    taken: list[dict[str, Any]] = list(existing)
    index = SourceIndex(existing)
    for source in new:
        duplicate = index.duplicate(name=source.name, url=source.url)
        if duplicate is not None:
            raise duplicate
        table = source.table()
        taken.append(table)
        index.add(table)
    if not new:
        return text
    newline = _newline(text)
    snippet = _render(new, newline)
    result = _insert_after_sources(text, snippet, len(existing), newline)
    if result is None or not _check(result, before, taken):
        result = _append(text, snippet, newline)
    if not _check(result, before, taken):
        raise EditError("the new [[sources]] tables do not read back as written")
    return result


def _append(text: str, snippet: str, newline: str) -> str:
    if not text:
        return snippet
    if not text.endswith("\n"):
        text += newline
    return text + newline + snippet


def _insert_after_sources(text: str, snippet: str, count: int, newline: str) -> str | None:
    """Insert right after the last sources table when other tables follow it, so all
    ``[[sources]]`` stay together; None to append at the end of the file instead."""
    if count == 0:
        return None
    span = _span(text, count - 1)
    if span is None or not text[span.end :].strip():
        return None
    after = text[span.own_end :]
    separator = "" if after.startswith(("\n", "\r\n")) else newline
    return text[: span.own_end] + newline + snippet + separator + after


def remove_source(text: str, key: str) -> str:
    """The config text without the source named `key` (or with that URL or path).

    Removes its table and the comment lines directly above its header; keeps everything
    else, including the comments above the next table. Raises `UnknownSourceError` with the
    closest names when there is no such source.
    """
    index = find_source(text, key)
    before = _load(text)
    remaining = configured_sources(text)
    del remaining[index]
    span = _span(text, index)
    if span is None:
        raise EditError(
            "cannot remove the source without reformatting the rest of the config (its "
            "[[sources]] tables are spread between other tables or spelt differently); "
            "please remove it by hand"
        )
    prefix = text[: _comment_block_start(text, span.start)]
    tail = text[span.own_end : span.end]
    if not prefix or prefix.endswith(("\n\n", "\n\r\n")):
        tail = _drop_leading_blank_lines(tail)
    if not (tail + text[span.end :]).strip():
        # The last table: end the file after what comes before it, not with blank lines.
        prefix, tail = _drop_trailing_blank_lines(prefix), ""
    result = prefix + tail + text[span.end :]
    if not _check(result, before, remaining):
        # The comment lines above were not comments after all (a multi-line string):
        # remove the table alone.
        result = text[: span.start] + tail + text[span.end :]
    if not _check(result, before, remaining):
        raise EditError("removing the [[sources]] table would change other settings")
    return result


# --- writing ------------------------------------------------------------------------------


@contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the config's folder (flock on the folder itself: no lock file
    to leave behind), held by one editing command at a time, for as long as it takes to
    compare the file and replace it."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def write_config(path: Path, original: bytes, text: str) -> Config:
    """Replace the config at `path` (read as `original`) by `text`, atomically, but only if
    `text` validates and the file did not change meanwhile. Returns the new config.

    Raises `ConfigError` (naming `path`) when `text` would not validate, and
    `ConfigWriteError` when the file cannot be written or changed meanwhile."""
    target = path.resolve()  # through a symlink: replace the file, not the link
    try:
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise ConfigWriteError(f"cannot write next to {path}: {exc}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
        try:
            config = load_config(temp)
        except ConfigError as exc:
            raise ConfigError([replace(p, file=path) for p in exc.problems]) from None
        with _folder_locked(target.parent):
            # Compared and replaced under the lock, so an edit landing in between (another
            # `sources add`) is not replaced unseen: the later one finds the file changed.
            if target.read_bytes() != original:
                raise ConfigWriteError(
                    f"{path} changed while this command ran; nothing written, try again"
                )
            os.replace(temp, target)
    except OSError as exc:
        raise ConfigWriteError(f"cannot write {path}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return replace(config, path=path)
