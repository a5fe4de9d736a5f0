"""What counts as a web URL: the one test that the config, source management, OPML import,
feed discovery, the parser and the sanitiser all apply, so none accepts a URL another refuses."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["WEB_SCHEMES", "is_web_url"]

WEB_SCHEMES = frozenset({"http", "https"})


def is_web_url(url: str) -> bool:
    """Is `url` an absolute http(s) URL: that scheme (in any case) and a host part?"""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[" and the like
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)
