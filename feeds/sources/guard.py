"""The SSRF guard: with `[fetch] allow_private_addresses = false`, no fetch connects to a
private, loopback, link-local or otherwise internal address.

The check runs where the connection is made, for every connection (so after redirects too),
on the addresses the name resolved to, and the connection goes to the address that was
checked: a DNS answer that changes between check and connect cannot slip through.

Through a proxy, the connection goes to the proxy (the operator's choice, not judged); the
target's name is judged before the request is sent, and the proxy resolves it again.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import httpcore

from feeds.addresses import refusal
from feeds.sources.network import AsyncioBackend


class BlockedAddressError(httpcore.ConnectError):
    """A connection to an address the guard refuses."""


async def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each one allowed; else BlockedAddressError (or a
    ConnectError when the name does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label the resolver's IDNA refuses
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise BlockedAddressError(
                f"refused to connect to {host}: {reason} (allow_private_addresses = false)"
            )
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """The network of `feeds.sources.network`, refusing non-public addresses at connect time."""

    def __init__(self) -> None:
        self.inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port)
        return await self.inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
