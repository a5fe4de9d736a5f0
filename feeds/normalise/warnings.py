"""A source's warnings, grouped by kind so that one bad feed makes a few short lines.

A feed of 1,000 items sharing one guid is one line ("duplicate entry id: 999 entries,
e.g. ..."), not a thousand; every line is cut to `LINE_LIMIT` characters and a read
reports at most `MAX_LINES` of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from feeds.shorten import shorten

EXAMPLES = 3  # examples kept per kind
EXAMPLE_LIMIT = 80  # characters of one example
LINE_LIMIT = 400  # characters of one warning line
MAX_LINES = 20  # warning lines of one read


class WarningTally:
    """Warnings of one read by kind: how many, and the first few examples of each."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._examples: dict[str, list[str]] = {}

    def add(self, kind: str, example: str) -> None:
        """Count one case of `kind`; `example` says which (an entry id, a file, a value)."""
        self._counts[kind] = self._counts.get(kind, 0) + 1
        examples = self._examples.setdefault(kind, [])
        if len(examples) < EXAMPLES:
            examples.append(shorten(example, EXAMPLE_LIMIT))

    def absorb(self, other: WarningTally) -> None:
        """Count `other`'s cases here too, as if each had been added here after those
        before."""
        for kind, count in other._counts.items():
            self._counts[kind] = self._counts.get(kind, 0) + count
            examples = self._examples.setdefault(kind, [])
            examples.extend(other._examples[kind][: EXAMPLES - len(examples)])

    def __bool__(self) -> bool:
        return bool(self._counts)

    @property
    def count(self) -> int:
        """How many cases were counted, of every kind."""
        return sum(self._counts.values())

    def lines(self) -> tuple[str, ...]:
        """One line per kind, in the order the kinds first appeared."""
        lines = []
        for kind, count in self._counts.items():
            examples = ", ".join(self._examples[kind])
            if count == 1:
                lines.append(f"{kind}: {examples}")
            else:
                more = ", ..." if count > len(self._examples[kind]) else ""
                lines.append(f"{kind}: {count} times, e.g. {examples}{more}")
        return tuple(shorten(line, LINE_LIMIT) for line in lines)


def bounded(lines: Iterable[str]) -> tuple[str, ...]:
    """At most `MAX_LINES` lines of at most `LINE_LIMIT` characters; the rest counted."""
    kept: list[str] = []
    dropped = 0
    for line in lines:
        if len(kept) < MAX_LINES:
            kept.append(shorten(line, LINE_LIMIT))
        else:
            dropped += 1
    if dropped:
        kept.append(f"... and {dropped} more warning(s)")
    return tuple(kept)
