"""Digests of a dataclass value's fields, for recognising what has not changed.

The long texts go in as they are, each after its length, so that none runs into the next;
repr() would escape them character by character at several times the cost. The repr of the
other fields comes last.
"""

from __future__ import annotations

from typing import Any, Protocol

_NO_TEXT = (2**64 - 1).to_bytes(8, "big")  # a length no text has: the field is None


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


def add_fields(
    digest: _Hash, value: object, texts: tuple[str, ...], others: tuple[str, ...]
) -> None:
    """Feed `value`'s fields into `digest`: those named in `texts` (str or None) as they
    are, then the repr of those named in `others`."""
    for name in texts:
        text: Any = getattr(value, name)
        if text is None:
            digest.update(_NO_TEXT)
            continue
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    rest = tuple(getattr(value, name) for name in others)
    digest.update(repr(rest).encode("utf-8", "surrogatepass"))
