"""Statements over many values, a chunk of them at a time: engines limit the bound
parameters of one statement (SQLite builds before 3.32 to 999)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 500  # values per statement


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`values` in order, `size` at a time."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
