"""Joining a feed's URLs without letting one malformed URL sink the whole feed."""

from __future__ import annotations

from urllib.parse import urljoin

from feeds.web_url import is_web_url, kept_when_joined


def join_url(base: str, reference: str) -> str | None:
    """`reference` resolved against `base`; None when either is malformed: urljoin raises
    ValueError on "http://[" and the like, which would lose every entry of the feed."""
    if kept_when_joined(reference, base):
        return reference  # what urljoin gives for it, for less work
    try:
        return urljoin(base, reference)
    except ValueError:
        return None


def web_url(base: str, reference: str | None) -> str | None:
    """`reference` resolved against `base`, if that gives an http(s) URL; None otherwise
    (no reference, a malformed one, or another scheme)."""
    if not reference:
        return None
    resolved = join_url(base, reference)
    return resolved if resolved is not None and is_web_url(resolved) else None
