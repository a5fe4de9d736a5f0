"""The SSRF guard: internal addresses refused at connect time when configured so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.feedfactory import FeedItem, rss20
from support.feedserver import FeedServer

from feeds.addresses import refusal
from feeds.config import load_config
from feeds.sources.remote import fetch_source, make_client


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoints live here
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 hidden in IPv6
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
        ("2002:7f00:1::", "carries 127.0.0.1 is a loopback"),  # 6to4, "global" to ipaddress
        ("2002:a9fe:a9fe::1", "carries 169.254.169.254 is a link-local"),
    ],
)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    reason = refusal(address)
    assert reason is not None and kind in reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2002:808:808::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def config_with(tmp_path: Path, allow: bool) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(
        f"[fetch]\nallow_private_addresses = {'true' if allow else 'false'}\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_fetch_to_a_loopback_server_is_refused_only_when_guarded(
    tmp_path: Path, feed_server: FeedServer, host: str
) -> None:
    feed_server.add("/f", rss20([FeedItem(id="1", title="t", link="https://e.org/1")]))
    url = feed_server.url("/f").replace("127.0.0.1", host)

    async def fetch(allow: bool) -> str | None:
        config = load_config(config_with(tmp_path, allow)).fetch
        async with make_client(config) as client:
            return (await fetch_source(client, url, None, config)).error

    guarded = asyncio.run(fetch(False))
    assert guarded is not None
    assert f"refused to connect to {host}" in guarded
    assert "allow_private_addresses = false" in guarded
    assert feed_server.requests_to("/f") == []  # not a byte was sent
    assert asyncio.run(fetch(True)) is None
    assert len(feed_server.requests_to("/f")) == 1
