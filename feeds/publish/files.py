"""Atomic file output: readers and web servers never see a half-written feed."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The files a publish wrote, how many it left as they were, and what it could not
    publish (an entry or a category a renderer refused), each said in one line."""

    written: tuple[Path, ...]
    unchanged: int
    problems: tuple[str, ...] = ()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless the file already holds exactly it.

    Returns whether the file was written. Unchanged files keep their mtime, so
    Last-Modified and ETags stay put and subscribers get 304s.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; web servers must read it
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return True


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
