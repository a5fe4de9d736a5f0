"""The paths a config names, read as the config reads them: `~` expanded, symlinks followed,
and a ValueError saying why for a path no file can have, so the config reports it with its
place and key instead of a traceback."""

from __future__ import annotations

from pathlib import Path


def expand_path(text: str) -> Path:
    """`text` as a path with `~` expanded; ValueError for one with a NUL byte or a `~user`
    with no home folder."""
    if "\x00" in text:
        raise ValueError(f"{text!r} holds a NUL byte, which no path can")
    try:
        return Path(text).expanduser()
    except (RuntimeError, KeyError):  # "~nosuchuser/x", or no HOME and no password entry
        raise ValueError(f"{text!r}: no home folder for its '~'") from None


def resolved(path: Path) -> Path:
    """`path` made absolute with its symlinks followed; ValueError for a loop of symlinks or
    a name the file system cannot take."""
    try:
        return path.resolve()
    except RuntimeError:  # how Python 3.11 reports a loop
        raise ValueError(f"{str(path)!r} goes round a loop of symlinks") from None
    except OSError as exc:
        raise ValueError(f"{str(path)!r}: {exc.strerror or exc}") from None
