"""The network under httpcore (feeds/sources/network.py) on real loopback sockets: the
order addresses are tried in, the next address after a refused one, what an idle pooled
connection tells of a server that spoke or hung up, and its read deadline."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpcore
import pytest

from feeds.sources.network import AsyncioBackend, connect_first, happy_order

V4, V6 = socket.AF_INET, socket.AF_INET6


def info(family: int, address: str) -> tuple[object, ...]:
    return (family, socket.SOCK_STREAM, 6, "", (address, 443))


def test_the_first_ipv6_then_the_first_ipv4_address_after_it_lead() -> None:
    infos = [info(V4, "192.0.2.1"), info(V6, "2001:db8::1"), info(V4, "192.0.2.2"),
             info(V6, "2001:db8::2"), info(V4, "192.0.2.3")]  # fmt: skip
    assert happy_order(infos) == [
        "2001:db8::1", "192.0.2.2", "192.0.2.1", "2001:db8::2", "192.0.2.3"
    ]  # fmt: skip
    assert happy_order([info(V4, "192.0.2.1"), info(V4, "192.0.2.2")]) == [
        "192.0.2.1", "192.0.2.2"
    ]  # fmt: skip


async def listening(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> asyncio.Server:
    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)
    writer.close()


def test_a_refused_address_passes_to_the_next() -> None:
    async def go() -> tuple[str, str]:
        server = await listening(silent)
        port = server.sockets[0].getsockname()[1]
        # Nothing listens on 127.0.0.2 at that port: refused at once.
        transport, _ = await connect_first(["127.0.0.2", "127.0.0.1"], port)
        peer = transport.get_extra_info("peername")[0]
        transport.close()
        server.close()
        with pytest.raises(OSError, match="All connection attempts failed"):
            await connect_first(["127.0.0.2", "127.0.0.3"], port)
        try:
            await AsyncioBackend().connect_tcp("127.0.0.2", port)
        except httpcore.ConnectError as exc:
            return peer, str(exc)
        return peer, "connected"

    assert asyncio.run(go()) == ("127.0.0.1", "All connection attempts failed")


async def readable_after(send: bytes, hang_up: bool) -> tuple[bool, bool, bytes]:
    """Whether a fresh connection reads as readable, whether it does once the server sent
    `send` (and hung up, with `hang_up`), and what a read then gives."""
    spoke = asyncio.Event()

    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await spoke.wait()
        writer.write(send)
        if hang_up:
            writer.close()
        await asyncio.sleep(30)

    server = await listening(serve)
    port = server.sockets[0].getsockname()[1]
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
    before = stream.get_extra_info("is_readable")
    spoke.set()
    for _ in range(500):  # until the loop saw the server's bytes or end
        if stream.get_extra_info("is_readable"):
            break
        await asyncio.sleep(0.01)
    after = stream.get_extra_info("is_readable")
    data = await stream.read(1024, timeout=5)
    await stream.aclose()
    server.close()
    return before, after, data


def test_an_idle_connection_is_readable_once_the_server_speaks_or_hangs_up() -> None:
    assert asyncio.run(readable_after(b"stray", hang_up=False)) == (False, True, b"stray")
    assert asyncio.run(readable_after(b"", hang_up=True)) == (False, True, b"")


def test_a_read_from_a_silent_server_times_out() -> None:
    async def go() -> None:
        server = await listening(silent)
        port = server.sockets[0].getsockname()[1]
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        try:
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(1024, timeout=0.05)
        finally:
            await stream.aclose()
            server.close()

    asyncio.run(go())
