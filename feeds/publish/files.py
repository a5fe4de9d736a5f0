"""Atomic file output: readers and web servers never see a half-written feed."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from feeds.publish.variants import (
    compressed_variants,
    remove_stale_variants,
    variants_current,
)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The files a publish wrote, and how many it left as they were."""

    written: tuple[Path, ...]
    unchanged: int


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly it.

    Returns whether the file was written. Unchanged files keep their mtime, so
    Last-Modified and ETags stay put and subscribers get 304s. The compressed variants
    beside the file (feeds/publish/variants.py) are written with it; for an unchanged file
    only when they are missing or stale.
    """
    try:
        if path.read_bytes() == data:
            if not variants_current(path):
                write_variants(path, data, path.stat().st_mtime_ns)
            return False
    except FileNotFoundError:
        pass
    write_variants(path, data, _write_atomic(path, data))
    return True


def write_variants(path: Path, data: bytes, mtime_ns: int) -> None:
    """Write the compressed variants of `data` beside `path`, each atomically and stamped
    with `mtime_ns` (the file's mtime, which is how a server tells they belong to it)."""
    written = set()
    for target, body in compressed_variants(path, data).items():
        _write_atomic(target, body, mtime_ns)
        written.add(target)
    remove_stale_variants(path, written)


def _write_atomic(path: Path, data: bytes, mtime_ns: int | None = None) -> int:
    """Write through a temporary file and a rename; returns the new file's mtime (ns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; web servers must read it
        if mtime_ns is not None:
            os.utime(temp_name, ns=(mtime_ns, mtime_ns))
        written_ns = os.stat(temp_name).st_mtime_ns
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return written_ns


def sweep_temp_files(directory: Path, older_than: float = 3600.0) -> int:
    """Remove temporary files a killed writer left behind (older than `older_than` s).

    Each command that writes output calls it once as it starts; a missing `directory`
    has nothing to sweep."""
    removed = 0
    cutoff = time.time() - older_than
    for path in directory.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
