"""Joining a feed's URLs without letting one malformed URL sink the whole feed."""

from __future__ import annotations

from urllib.parse import urljoin


def join_url(base: str, reference: str) -> str | None:
    """`reference` resolved against `base`; None when either is malformed: urljoin raises
    ValueError on "http://[" and the like, which would lose every entry of the feed."""
    try:
        return urljoin(base, reference)
    except ValueError:
        return None
