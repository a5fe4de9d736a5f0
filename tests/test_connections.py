"""Connections of direct fetches, on a real loopback server: one small pool per origin,
a 304 leaves its connection open for the host's next feed, and idle pools are closed when
unused or too many, never while a request is in flight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from support.configfile import write_config
from support.feedfactory import FeedItem, rss20
from support.feedserver import FeedServer
from support.waiting import wait_for

from feeds.config import FetchConfig, load_config
from feeds.model import FetchState
from feeds.sources.remote import FetchResponse, fetch_source, make_client
from feeds.sources.transport import MAX_DIRECT_POOLS, Origin, RoutingTransport

FEED = rss20([FeedItem(id="1", title="one", link="https://e.org/1")])


def fetch_config(tmp_path: Path) -> FetchConfig:
    return load_config(write_config(tmp_path, "")).fetch


def test_304s_of_one_host_share_one_connection(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/f{index}", FEED) for index in range(4)]
    config = fetch_config(tmp_path)

    async def go() -> list[FetchResponse]:
        async with make_client(config, env={}) as client:
            first = await fetch_source(client, urls[0], None, config)
            state = FetchState(source="S", etag=first.headers["etag"])
            return [await fetch_source(client, url, state, config) for url in urls]

    assert [response.status for response in asyncio.run(go())] == [304] * 4
    assert len({request.peer for request in feed_server.requests}) == 1


def test_idle_direct_pools_are_bounded_and_expire(tmp_path: Path) -> None:
    config = fetch_config(tmp_path)

    async def go() -> tuple[int, list[Origin], int]:
        transport = RoutingTransport(config, {})
        async with make_client(config, transport):
            for index in range(MAX_DIRECT_POOLS + 8):  # made on first use; nothing connects
                await transport.direct.pool(httpx.URL(f"http://h{index}.example/feed.xml"))
            bounded = len(transport.direct.pools)
            # As if long unused; but the pool a request was just handed stays.
            await transport.direct.retire(float("inf"), keep=(b"http", "h70.example", None))
            kept = list(transport.direct.pools)
            await transport.direct.retire(float("inf"))
            return bounded, kept, len(transport.direct.pools)

    assert asyncio.run(go()) == (MAX_DIRECT_POOLS, [(b"http", "h70.example", None)], 0)


def test_a_pool_with_a_request_in_flight_stays_open(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slow = feed_server.add("/slow", FEED, delay=0.5)
    config = fetch_config(tmp_path)

    async def go() -> FetchResponse:
        transport = RoutingTransport(config, {})
        async with make_client(config, transport) as client:
            task = asyncio.create_task(fetch_source(client, slow, None, config))
            await asyncio.to_thread(wait_for, lambda: feed_server.in_flight == 1)
            for index in range(MAX_DIRECT_POOLS + 8):  # its pool becomes the oldest
                await transport.direct.pool(httpx.URL(f"http://h{index}.example/feed.xml"))
            await transport.direct.retire(float("inf"))
            assert len(transport.direct.pools) == 1
            return await task

    response = asyncio.run(go())
    assert response.error is None and response.body == FEED
