"""Atomic file output: readers and web servers never see a half-written feed."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from feeds.model import PublishProblem
from feeds.publish.formats import FORMATS
from feeds.publish.layout import ARCHIVE_FOLDER, ARTICLES_FOLDER
from feeds.publish.variants import (
    VARIANTS,
    Compressing,
    stale_variants,
    start_compressing,
    variant_path,
    variants_current,
)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The files a publish wrote, how many it left as they were, what it could not publish
    (an entry, a category or a page a renderer refused), and the scopes it rendered (the
    categories, `all` and the pages: see `PublishProblem`)."""

    written: tuple[Path, ...]
    unchanged: int
    problems: tuple[PublishProblem, ...] = ()
    scopes: frozenset[str] = frozenset()
    # Files the output folder refused (full, read-only, a folder in a file's place): the
    # scope of each one's batch and "<path>: <reason>"; the rest was written.
    unwritten: tuple[tuple[str, str], ...] = ()


UNWRITTEN_SHOWN = 3  # files named in an `UnwrittenFilesError` message; the rest are counted


class UnwrittenFilesError(OSError):
    """Files that could not be written, each as "<path>: <reason>" (`reasons`); the others
    were (`written`). A full disk's write error names no file: this one names them all."""

    def __init__(self, reasons: Sequence[str], written: Sequence[Path] = ()) -> None:
        self.reasons = tuple(reasons)
        self.written = tuple(written)
        shown = "; ".join(self.reasons[:UNWRITTEN_SHOWN])
        more = len(self.reasons) - UNWRITTEN_SHOWN
        super().__init__(
            f"{len(self.reasons)} file(s) not written: {shown}"
            + (f"; and {more} more" if more > 0 else "")
        )


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly it.

    Returns whether the file was written. Unchanged files keep their mtime, so
    Last-Modified and ETags stay put and subscribers get 304s. The compressed variants
    beside the file (feeds/publish/variants.py) are written with it; for an unchanged file
    only when they are missing or stale.
    """
    return bool(write_changed({path: data}))


def write_changed(files: Mapping[Path, bytes]) -> list[Path]:
    """`write_if_changed` for a batch of files; returns the paths written, in order
    (`stage_changed`, then `write_staged`)."""
    return write_staged(stage_changed(files))


@dataclass(frozen=True, slots=True)
class StagedFiles:
    """A batch of files to write: per file its path, its bytes and, when the file holds them
    already, its mtime (ns) then (only its variants are made again, stamped with it), and
    their variants, being made."""

    files: tuple[tuple[Path, bytes, int | None], ...]
    variants: Compressing


def stage_changed(files: Mapping[Path, bytes]) -> StagedFiles:
    """The files of a batch that need writing (changed, or with variants missing or stale),
    their variants' compression started: a publish stages a batch as soon as it is
    rendered, so its variants are made while earlier batches are written."""
    staged: list[tuple[Path, bytes, int | None]] = []
    for path, data in files.items():
        held_since = _held_since(path, data)
        if held_since is None or not variants_current(path):
            staged.append((path, data, held_since))
    return StagedFiles(tuple(staged), start_compressing([(p, d) for p, d, _ in staged]))


def write_staged(staged: StagedFiles) -> list[Path]:
    """Write a staged batch; returns the paths written, in order.

    Every new file and variant is written to a temporary file first, then all are made
    durable at once (one `syncfs` of their filesystem where the OS has it, instead of an
    fsync each: a publish writes hundreds of files and each fsync waits for a journal
    commit), then renamed into place. A file (with its variants) that cannot be written
    keeps its old version and never stops the others: `UnwrittenFilesError` names each such file
    and its reason once the rest is written. A failure to make the batch durable leaves
    every old file.
    """
    # Per file: its temporary file (unless only its variants are made again), its variants'
    # and the stale variants to remove ("" for a removal), renamed in this order; a file
    # that failed has none.
    groups: list[list[tuple[str, Path]]] = []
    written: list[Path] = []
    failed: list[str] = []
    try:
        mtimes: list[int] = []
        for path, data, held_since in staged.files:
            group: list[tuple[str, Path]] = []
            groups.append(group)
            if held_since is not None:
                # The file stays; its variants are made again with its mtime when staged: a
                # file changed since by another hand keeps another, so no server pairs them.
                mtimes.append(held_since)
                continue
            try:
                temp, mtime_ns = _write_temp(path, data)
            except OSError as exc:
                failed.append(_unwritten(path, exc))
                mtime_ns = 0
            else:
                group.append((temp, path))
            mtimes.append(mtime_ns)
        made_all = staged.variants.result()
        for group, (path, _, held_since), mtime_ns, made in zip(
            groups, staged.files, mtimes, made_all, strict=True
        ):
            if held_since is None and not group:
                continue  # the file itself failed: its variants stay as they are too
            target = path
            try:
                for target, body in made.items():
                    group.append((_write_temp(target, body, mtime_ns)[0], target))
            except OSError as exc:
                failed.append(_unwritten(target, exc))
                _remove_temps(group)
                group.clear()
                continue
            group.extend(("", stale) for stale in stale_variants(path, set(made)))
        _make_durable([temp for group in groups for temp, _ in group if temp])
        for group, (path, _, _) in zip(groups, staged.files, strict=True):
            refused = _rename_group(group)
            if refused is not None:
                failed.append(_unwritten(*refused))
            elif group and group[0][1] == path:
                written.append(path)
    except BaseException:
        for group in groups:
            _remove_temps(group)
        raise
    if failed:
        raise UnwrittenFilesError(failed, written)
    return written


def _rename_group(group: list[tuple[str, Path]]) -> tuple[Path, OSError] | None:
    """Put a file's temporary files in place (in order) and remove its stale variants;
    the target that refused and why, its temporary files not renamed yet removed."""
    for at, (temp, target) in enumerate(group):
        try:
            if temp:
                os.replace(temp, target)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
        except OSError as exc:
            _remove_temps(group[at:])
            return target, exc
    return None


def _remove_temps(group: Sequence[tuple[str, Path]]) -> None:
    for temp, _ in group:
        if temp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def _unwritten(path: Path, exc: OSError) -> str:
    """`path` and why it was not written (the error's own text names a temporary file,
    or none)."""
    return f"{path}: {exc.strerror or exc}"


def _held_since(path: Path, data: bytes) -> int | None:
    """The mtime (ns) of the file at `path` when it holds exactly `data`, else None: its
    size tells most changed files (a feed with new entries) without reading them."""
    try:
        info = path.stat()
        if info.st_size == len(data) and path.read_bytes() == data:
            return info.st_mtime_ns
    except OSError:  # missing, or unreadable (a folder in its place): the write will tell
        pass
    return None


def _write_temp(path: Path, data: bytes, mtime_ns: int | None = None) -> tuple[str, int]:
    """A temporary file beside `path` holding `data` (mode 0644, mtime `mtime_ns` when
    given), not yet durable; returns its name and mtime (ns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = open_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; web servers must read it
        if mtime_ns is not None:
            os.utime(temp_name, ns=(mtime_ns, mtime_ns))
        return temp_name, os.stat(temp_name).st_mtime_ns
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def _make_durable(names: Sequence[str]) -> None:
    """Flush the files named to disk: one fsync for one file; for more, one syncfs of
    their filesystem where the OS has it, else an fsync each."""
    if len(names) > 1 and (syncfs := _syncfs()) is not None:
        fd = os.open(names[0], os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                number = ctypes.get_errno()
                raise OSError(number, os.strerror(number))
        finally:
            os.close(fd)
        return
    for name in names:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs (Linux), or None where there is none."""
    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    return function


# `.<name>.feeds-<random>.tmp`: mkstemp's random part is 8 of [a-z0-9_]. Only names of
# exactly this form are ever swept, so another program's `.something.tmp` is left alone.
_TEMP_MARK = ".feeds-"
_TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"\.[^/]+\.feeds-[a-z0-9_]{8}\.tmp")
# Our folders have slug names (category folders, all/, articles/<source>/); a folder of
# another name is not ours to sweep.
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def open_temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder, named as only this writer names them
    (`.<name>.feeds-XXXXXXXX.tmp`): an open descriptor (mode 0600) and its path. Write it,
    then `os.replace` it onto `path`; a killed writer's leftover is swept later."""
    return tempfile.mkstemp(
        prefix=f".{path.name}{_TEMP_MARK}", suffix=_TEMP_SUFFIX, dir=path.parent
    )


def is_temp_file_name(name: str) -> bool:
    """Whether `name` is one `open_temp_beside` makes."""
    return _TEMP_NAME.fullmatch(name) is not None


def sweep_temp_files(directory: Path, older_than: float = 3600.0) -> int:
    """Remove temporary files a killed writer left behind (older than `older_than` s).

    Only names `open_temp_beside` makes, and only in the folders we publish into (the
    output folder, category folders with their archive/, articles/<source>/); a symlinked
    folder is not entered. Each command that writes output calls it once as it starts; a
    missing `directory` has nothing to sweep."""
    removed = 0
    cutoff = time.time() - older_than
    for folder in _published_folders(directory):
        for path in _entries(folder):
            if not is_temp_file_name(path.name):
                continue
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed


_ARCHIVE_PAGE = re.compile(r"([1-9][0-9]*)\.xml(?:\.gz|\.br)?")


def remove_archive_pages(folder: Path, keep: Collection[int]) -> list[Path]:
    """Remove the archive pages in `folder` (a category's archive/) whose numbers are not
    in `keep`, with their compressed variants: a page whose entries all retired is linked
    from nowhere, and must not go on serving what the store no longer holds. Only names a
    page has (`<n>.xml`, `.gz`, `.br`) are touched; a symlinked folder is not entered."""
    if not _is_folder(folder):
        return []
    removed = []
    for path in _entries(folder):
        page = _ARCHIVE_PAGE.fullmatch(path.name)
        if page is None or int(page.group(1)) in keep:
            continue
        if _remove_file(path):
            removed.append(path)
    return removed


def remove_category_files(folder: Path) -> list[Path]:
    """Remove what publishing wrote in a category's `folder` (its formats' files, its archive
    pages, their variants), then the folder and its archive/ if nothing else is left; returns
    the files removed. For a category with no articles left that the config no longer names:
    linked from nowhere, it must not go on serving what the store no longer holds, nor stay
    for ever as names come and go. Other files are left alone; a symlinked folder is not
    entered."""
    if not _is_folder(folder):
        return []
    removed = remove_archive_pages(folder / ARCHIVE_FOLDER, ())
    for output in FORMATS.values():
        path = folder / output.file_name
        for name in (path, *(variant_path(path, variant) for variant in VARIANTS)):
            if _remove_file(name):
                removed.append(name)
    for emptied in (folder / ARCHIVE_FOLDER, folder):
        with contextlib.suppress(OSError):  # not empty, or not a folder: it stays
            emptied.rmdir()
    return removed


_ARTICLE_PAGE = re.compile(r"([a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8}\.html)(?:\.gz|\.br)?")


def remove_article_pages(directory: Path, live: Callable[[], Collection[str]]) -> list[Path]:
    """Remove the pages of articles under `directory`/articles/ whose names (relative to
    `directory`, as `OutputLayout.article_page` gives them) are not among the `live` ones
    (asked only when that folder exists), with their variants: the page of an article
    deleted or retired is linked from nowhere, and must not go on serving what the store
    no longer holds, nor stay for ever as files come and go. Only names a page has are
    touched; symlinked folders are not entered."""
    folder = directory / ARTICLES_FOLDER
    if not _is_folder(folder):
        return []
    keep = live()
    removed = []
    for source in _entries(folder):
        if not (_SLUG.fullmatch(source.name) and _is_folder(source)):
            continue
        for path in _entries(source):
            page = _ARTICLE_PAGE.fullmatch(path.name)
            if page is None or f"{ARTICLES_FOLDER}/{source.name}/{page.group(1)}" in keep:
                continue
            if _remove_file(path):
                removed.append(path)
    return removed


def _remove_file(path: Path) -> bool:
    """Remove `path` if it is a regular file (not a folder, not a symbolic link); whether it
    was."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _published_folders(directory: Path) -> Iterator[Path]:
    """The output folder; each category folder (slug-named, holding one of our feed files)
    with its archive/; and articles/<source>/."""
    if not _is_folder(directory):
        return
    yield directory
    for child in _entries(directory):
        if not (_SLUG.fullmatch(child.name) and _is_folder(child)):
            continue
        if child.name == ARTICLES_FOLDER:  # a reserved slug: no category is named so
            yield child
            yield from (f for f in _entries(child) if _SLUG.fullmatch(f.name) and _is_folder(f))
        elif any((child / f.file_name).is_file() for f in FORMATS.values()):
            yield child
            if _is_folder(child / ARCHIVE_FOLDER):
                yield child / ARCHIVE_FOLDER


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False
