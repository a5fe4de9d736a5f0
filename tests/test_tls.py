"""HTTPS fetches on a real TLS server on 127.0.0.1 whose certificate our own authority
signed: verified against the trusted authorities (SSL_CERT_FILE here), refused when no
trusted authority signed it or it names another host, and a 304 keeps its connection, on
asyncio's loop and through `feeds update` on uvloop's (feeds/sources/network.py)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.certificates import Certificates, make_certificates
from support.configfile import write_config
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer

from feeds.config import FetchConfig, load_config
from feeds.model import FetchState
from feeds.sources.remote import FetchResponse, fetch_source, make_client
from feeds.sources.transport import TLSContexts

FEED = rss20([FeedItem(id="1", title="one", link="https://e.org/1")])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture
def tls_server(certificates: Certificates) -> Iterator[FeedServer]:
    server = FeedServer(tls=certificates.server_context())
    try:
        yield server
    finally:
        server.close()


def fetch_config(tmp_path: Path) -> FetchConfig:
    return load_config(write_config(tmp_path, "")).fetch


def fetch_twice(url: str, config: FetchConfig) -> list[FetchResponse]:
    """GET `url`, then again with the ETag it gave, on one client."""

    async def go() -> list[FetchResponse]:
        async with make_client(config, env={}) as client:
            first = await fetch_source(client, url, None, config)
            if first.error is not None:
                return [first]
            state = FetchState(source="S", etag=first.headers["etag"])
            return [first, await fetch_source(client, url, state, config)]

    return asyncio.run(go())


def test_a_verified_https_feed_and_its_304_share_one_connection(
    tmp_path: Path,
    tls_server: FeedServer,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority))
    url = tls_server.add("/feed.xml", FEED)
    assert url.startswith("https://127.0.0.1:")

    first, second = fetch_twice(url, fetch_config(tmp_path))

    assert (first.status, first.body, first.error) == (200, FEED, None)
    assert (second.status, second.error) == (304, None)
    assert len({request.peer for request in tls_server.requests}) == 1


def test_a_certificate_no_trusted_authority_signed_is_refused(
    tmp_path: Path, tls_server: FeedServer
) -> None:
    url = tls_server.add("/feed.xml", FEED)

    [response] = fetch_twice(url, fetch_config(tmp_path))

    assert response.status is None
    assert response.error is not None
    assert "cannot connect" in response.error
    assert "CERTIFICATE_VERIFY_FAILED" in response.error
    assert tls_server.requests == []  # nothing was sent


def test_a_certificate_for_another_host_is_refused(
    tmp_path: Path,
    tls_server: FeedServer,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority))
    url = tls_server.add("/feed.xml", FEED).replace("127.0.0.1", "localhost")

    [response] = fetch_twice(url, fetch_config(tmp_path))

    assert response.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in response.error
    assert "localhost" in response.error  # the name the certificate does not cover
    assert tls_server.requests == []


def test_feeds_update_fetches_an_https_feed_on_its_own_loop(
    tmp_path: Path, tls_server: FeedServer, certificates: Certificates
) -> None:
    url = tls_server.add("/feed.xml", FEED)
    config = write_config(tmp_path, f'[[sources]]\nname = "s"\nurl = "{url}"\ncategory = "C"\n')

    trusted = {"SSL_CERT_FILE": str(certificates.authority)}
    first = run_feeds("--config", str(config), "update", cwd=tmp_path, env=trusted)
    again = run_feeds("--config", str(config), "update", "--all", cwd=tmp_path, env=trusted)

    assert "1 source(s) updated: 1 new, 0 changed, 0 failed" in first.stdout, first.stderr
    assert "1 source(s) updated: 0 new, 0 changed, 0 failed" in again.stdout, again.stderr
    assert "if-none-match" in tls_server.requests_to("/feed.xml")[-1].headers  # a 304


def test_the_context_of_plain_http_pools_trusts_no_certificate(
    tls_server: FeedServer, certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pools of http:// origins never start TLS; were one to, it would be refused."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.authority))
    contexts = TLSContexts()
    port = tls_server.httpd.server_address[1]
    verifying, trusting_none = contexts.for_origin(b"https"), contexts.for_origin(b"http")
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        verifying.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass  # the verifying context accepts what the trusted authority signed
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        trusting_none.wrap_socket(raw, server_hostname="127.0.0.1")
