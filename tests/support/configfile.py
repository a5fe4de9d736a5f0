"""A config file for a test: output and store in its folder, then the tables a test gives."""

from __future__ import annotations

from pathlib import Path


def write_config(folder: Path, tables: str) -> Path:
    """`folder`/feeds.toml: `[output]` and `[storage]` there, then `tables` as given."""
    path = folder / "feeds.toml"
    path.write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n' + tables, encoding="utf-8"
    )
    return path
