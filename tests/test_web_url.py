"""Plain web URLs (`is_plain_web_url`) are given back as they are by every rule that joins
URLs, so the short cuts that skip those rules for them change no result."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from feedparser.urls import _urljoin
from hypothesis import given
from hypothesis import strategies as st
from support.strategies import SETTINGS
from support.url_cases import edge_urls

from feeds.parse.fast import _Reader
from feeds.parse.urls import join_url
from feeds.web_url import _PLAIN_WEB_URL, is_plain_web_url, joinable_base

# Bases as feeds and documents give them: none, either scheme, not web, refused by urljoin.
BASES = ("", "http://x.example/base/", "https://x.example/", "ftp://x.example/", "http://[")


def _joined(base: str, reference: str) -> str | None:
    try:
        return urljoin(base, reference)
    except ValueError:
        return None


def _joined_alike(url: str) -> None:
    reader = _Reader("utf-8")
    for base in BASES:
        assert join_url(base, url) == _joined(base, url), (base, url)
        reader.base = base
        assert reader.resolve(url) == _urljoin(base, url), (base, url)


def test_plain_urls_are_joined_as_urljoin_joins_them() -> None:
    for url in edge_urls():
        _joined_alike(url)
    _joined_alike("http:///a")  # feedparser drops the slashes after "://"


@pytest.mark.parametrize(
    ("url", "plain"),
    [
        ("https://example.com/a/b.html?x=1&y=2#top", True), ("http://127.0.0.1:8080/f", True),
        ("HTTP://example.com/", False), ("https://example.com/a b", False),
        ("https://example.com/%41", False), ("https://example.com/;p", False),
        ("https://example.com/?", False), ("https://bücher.example/", False),
        ("https://user@example.com/", False), ("//example.com/", False),
    ],
)  # fmt: skip
def test_what_is_plain(url: str, plain: bool) -> None:
    assert is_plain_web_url(url) is plain


def test_a_base_urljoin_refuses() -> None:
    assert joinable_base("https://x.example/")
    assert not joinable_base("http://[")
    assert join_url("http://[", "https://example.com/") is None


@SETTINGS
@given(st.from_regex(_PLAIN_WEB_URL, fullmatch=True))
def test_plain_web_urls_are_joined_as_urljoin_joins_them(url: str) -> None:
    _joined_alike(url)
