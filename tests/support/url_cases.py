"""URLs at the edge of the plain-URL short cut (feeds/web_url.py): each character in a few
places, and the odd shapes urljoin and urlsplit treat apart. The short cut must give what
the general rules give for every one of them."""

from __future__ import annotations

from collections.abc import Iterator

# `{}` is where each character of U+0000..U+00FF goes.
PLACES = ("http://h.example/a{}b", "https://h.example/?q{}", "http://h{}", "http://h/#{}")
ODD_SHAPES = ("http://a/b;", "http://a/b;p", "http://a/?", "http://a/#", "http://a:/", "HTTP://a")


def edge_urls(places: tuple[str, ...] = PLACES) -> Iterator[str]:
    """Every character of U+0000..U+00FF in each of `places`, then the odd shapes."""
    for where in places:
        for character in map(chr, range(0x100)):
            yield where.format(character)
    yield from ODD_SHAPES
