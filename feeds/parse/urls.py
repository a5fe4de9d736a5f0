"""Joining a feed's URLs without letting one malformed URL sink the whole feed."""

from __future__ import annotations

from urllib.parse import urljoin

from feeds.web_url import is_plain_web_url, is_web_url, joinable_base


def join_url(base: str, reference: str) -> str | None:
    """`reference` resolved against `base`; None when either is malformed: urljoin raises
    ValueError on "http://[" and the like, which would lose every entry of the feed."""
    if is_plain_web_url(reference) and (not base or joinable_base(base)):
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
