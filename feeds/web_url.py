"""What counts as a web URL: the one test that the config, source management, OPML import,
feed discovery, the parser and the sanitiser all apply, so none accepts a URL another refuses."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = [
    "URL_SAFE",
    "WEB_SCHEMES",
    "is_plain_web_url",
    "is_web_url",
    "joinable_base",
    "kept_when_joined",
    "unreachable_reason",
]

WEB_SCHEMES = frozenset({"http", "https"})
# What stays unescaped in a path, query or fragment: ASCII but for space, quotes, <, >, \,
# ^, `, {, |, }; anything else (non-ASCII included) becomes UTF-8 %-escapes.
URL_SAFE = "".join(c for c in map(chr, range(33, 127)) if c not in '"<>\\^`{|}')
# A lowercase scheme, a host of letters, digits, dots and hyphens, an optional port, and
# then only characters that need no escape; no "%" (escapes are checked), no ";" (urljoin
# splits parameters off and drops an empty one), no empty query or fragment (urlunsplit
# drops their "?" or "#").
_KEPT = re.escape(URL_SAFE.translate(str.maketrans("", "", "%;?#")))
_PLAIN_WEB_URL = re.compile(
    rf"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:/[{_KEPT}]*)?(?:\?[{_KEPT}?]+)?(?:#[{_KEPT}?#]+)?"
)


def is_web_url(url: str) -> bool:
    """Is `url` an absolute http(s) URL: that scheme (in any case) and a host part?"""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[" and the like
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def unreachable_reason(url: str) -> str | None:
    """Why a web URL (`is_web_url`) a config names for fetching could never be fetched, or
    None: no host name, a port that is no port (out of 1-65535, not digits), white space in
    the host, or a host name the resolver cannot encode (an empty label, one over 63
    characters), which once failed every run of the source as an internal error."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", "could not be cast"
        return f"bad port: {exc}"
    host = parts.hostname
    if not host:
        return "no host name"
    if port == 0:
        return "bad port: 0"
    if any(c.isspace() for c in host):
        return "white space in the host name"
    if ":" not in host and not host.replace(".", "").isdigit():  # not an IP address
        try:
            host.encode("idna")  # as the resolver is asked for it
        except UnicodeError:
            return f"host name {host!r} has an empty or too long part"
    return None


def is_plain_web_url(url: str) -> bool:
    """Is `url` an http(s) URL that the URL rules here give back as it is: urljoin (with a
    base it accepts), urlsplit and urlunsplit, and escaping all but `URL_SAFE`?"""
    return _PLAIN_WEB_URL.fullmatch(url) is not None


@lru_cache(maxsize=64)
def joinable_base(base: str) -> bool:
    """Does urljoin accept `base`? It parses the base even to join an absolute URL, and
    raises ValueError for one like "http://[" (every URL joined to it is then unusable)."""
    try:
        urlsplit(base)
    except ValueError:
        return False
    return True


def kept_when_joined(url: str, base: str | None) -> bool:
    """Does joining `url` to `base` (urljoin or feedparser's join, then escaping all but
    `URL_SAFE`) give `url` back as it is? So for a plain web URL and a base urljoin accepts
    (or none): the joins are then skipped."""
    return is_plain_web_url(url) and (not base or joinable_base(base))
