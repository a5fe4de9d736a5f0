"""Content-Encoding decoding with a hard cap on the output, applied as bytes arrive.

httpx decodes a whole network read at once with no output limit, so a few kilobytes of
zstd or stacked gzip can become gigabytes before any size check runs. We read the raw body
and decode it here instead, never producing more than `limit` + 1 bytes at any stage.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli

SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "identity")
ACCEPT_ENCODING = "gzip, deflate, br"
# Codings stacked on one body, at most (curl's limit): each stage holds a decompressor's
# state (a zlib one about 35 KB), and 12,000 of them took 467 MB.
MAX_CODINGS = 5


class BodyTooLargeError(Exception):
    """The decoded body would exceed the cap."""


class UnsupportedEncodingError(Exception):
    """The server used a Content-Encoding we do not decode."""


class _Stage(Protocol):
    def decode(self, data: bytes, room: int) -> bytes: ...


class _Zlib:
    def __init__(self, encoding: str) -> None:
        # gzip has its header; "deflate" is zlib-wrapped by the spec but raw on some servers.
        self.wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(self.wbits)
        self.started = False
        self.first = b""  # a deflate body's first byte, until its second tells zlib from raw

    def decode(self, data: bytes, room: int) -> bytes:
        if not self.started and self.wbits == zlib.MAX_WBITS:
            data = self.first + data
            if len(data) < 2:  # a body split after its first byte: wait for the second
                self.first = data
                return b""
            if not _zlib_header(data):
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.started = self.started or bool(data)
        out = bytearray(self.inflater.decompress(data, room + 1))
        while len(out) <= room:
            if self.inflater.unconsumed_tail:
                more = self.inflater.unconsumed_tail
            elif self.inflater.eof and self.inflater.unused_data and self.wbits > zlib.MAX_WBITS:
                # Another gzip member (RFC 1952 allows several, one after the other): its
                # text follows the first's, as gzip -d gives it.
                more = self.inflater.unused_data
                self.inflater = zlib.decompressobj(self.wbits)
            else:
                break
            out += self.inflater.decompress(more, room + 1 - len(out))
        if len(out) > room:
            raise BodyTooLargeError
        return bytes(out)


class _Brotli:
    def __init__(self) -> None:
        self.decompressor = brotli.Decompressor()

    def decode(self, data: bytes, room: int) -> bytes:
        out = bytearray(self.decompressor.process(data, output_buffer_limit=room + 1))
        while not self.decompressor.can_accept_more_data() and len(out) <= room:
            out += self.decompressor.process(b"", output_buffer_limit=room + 1 - len(out))
        if len(out) > room:
            raise BodyTooLargeError
        return bytes(out)


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


class BoundedDecoder:
    """Undo a Content-Encoding chain (`gzip`, `deflate`, `br`, stacked) within `limit` bytes."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        self.size = 0
        names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
        unknown = [n for n in names if n not in SUPPORTED]
        if unknown:
            raise UnsupportedEncodingError(f"unsupported Content-Encoding: {', '.join(unknown)}")
        if len(names) > MAX_CODINGS:
            raise UnsupportedEncodingError(
                f"{len(names)} stacked Content-Encodings (at most {MAX_CODINGS} are undone)"
            )
        # Encodings are listed in the order applied: undo them last first.
        self.stages: list[_Stage] = [
            _Brotli() if name == "br" else _Zlib(name)
            for name in reversed(names)
            if name != "identity"
        ]

    def feed(self, chunk: bytes) -> bytes:
        """Decoded bytes for the next raw chunk; raises BodyTooLargeError past the cap."""
        data = chunk
        last = len(self.stages) - 1
        for number, stage in enumerate(self.stages):
            # Only the body counts against the cap; a stage in between (an inner coding's
            # compressed bytes, its trailer held back) is bounded by the cap alone.
            room = self.limit - self.size if number == last else self.limit
            data = stage.decode(data, room)
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLargeError
        return data
