"""Connections of direct fetches on asyncio's own transports (uvloop's under `feeds update`),
behind httpcore's network interface, which `feeds.sources.http11` speaks HTTP/1.1 over.

httpcore's default network goes through anyio, whose cancel scopes, resource guards and
socket attributes are paid on every read and write, and on the readability check made
before each reuse of a pooled connection (in a warm run of 1000 feeds, py-spy found 8% of
the process in those three, the sends included). This network keeps what a connection
received in a buffer of its own, so a read is a slice and "has the idle server spoken or
hung up?" a look at it.

It connects as anyio does: a host name's addresses, the first IPv6 and the first IPv4 one
first, tried one after another, each with a head start of `HAPPY_EYEBALLS_DELAY` (RFC 6555);
and TLS, as anyio's for HTTP, closes without waiting for the server's close_notify.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable, Sequence
from ipaddress import ip_address
from typing import Any, cast

import httpcore

HAPPY_EYEBALLS_DELAY = 0.25  # seconds before the next address is tried, as anyio's
READ_AHEAD = 256 * 1024  # bytes received and not yet read before the socket is left unread

Waiter = asyncio.Future[bool]  # True when woken, False when its time ran out


class _Connection(asyncio.Protocol):
    """What one connection received and not yet read, its end, and whether it may send."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.ended = False  # the server hung up (or the connection broke): no more bytes
        self.error: Exception | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.waiter: Waiter | None = None  # a read or a drain waiting

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are no subclasses

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) > READ_AHEAD and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close: HTTP/1.1 sends nothing after the server's end

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self.writing_paused = False
        self._wake()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(True)

    def take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` of what was received, the oldest first."""
        if len(self.received) <= max_bytes:
            data = bytes(self.received)
            self.received.clear()
        else:
            data = bytes(self.received[:max_bytes])
            del self.received[:max_bytes]
        if self.reading_paused and len(self.received) <= READ_AHEAD and self.transport:
            self.reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait(self, timeout: float | None) -> bool:
        """Until the connection is woken (True) or `timeout` seconds passed (False)."""
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        self.waiter = waiter
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            return await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()


def _expire(waiter: Waiter) -> None:
    if not waiter.done():
        waiter.set_result(False)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, plain or TLS, for httpcore."""

    def __init__(
        self, transport: asyncio.Transport, connection: _Connection, tcp: asyncio.Transport
    ) -> None:
        self._transport = transport  # what the bytes of the exchange go through
        self._connection = connection
        self._tcp = tcp  # the connection's own transport, under TLS if any

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        while not connection.received and not connection.ended:  # a wake may be a drain's
            if not await connection.wait(timeout):
                raise httpcore.ReadTimeout(f"no bytes within {timeout:g}s")
        if connection.received:
            return connection.take(max_bytes)
        if connection.error is not None:
            raise httpcore.ReadError(str(connection.error) or type(connection.error).__name__)
        return b""  # the server's end

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        if self._transport.is_closing():
            error = connection.error
            raise httpcore.WriteError(str(error) if error else "the connection is closed")
        self._transport.write(buffer)
        while connection.writing_paused and not connection.ended:
            if not await connection.wait(timeout):
                raise httpcore.WriteTimeout(f"could not send within {timeout:g}s")
        if connection.error is not None:
            raise httpcore.WriteError(str(connection.error))

    async def aclose(self) -> None:
        self._tcp.close()  # under TLS, without waiting for the server's close_notify

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self._connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._tcp.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g}s") from None
        except OSError as exc:  # ssl.SSLError among them: a certificate refused, say
            self._tcp.close()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:
            self._tcp.close()
            raise
        assert tls is not None  # a client's start_tls always gives a transport
        self._connection.transport = tls
        return AsyncioStream(tls, self._connection, self._tcp)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle pooled connection before its reuse: bytes or an end from
            # the server then mean the connection cannot carry another exchange.
            return bool(self._connection.received) or self._connection.ended
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._tcp.get_extra_info("sockname")
        if info == "server_addr":
            return self._tcp.get_extra_info("peername")
        if info == "socket":
            return self._tcp.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections over the running event loop's transports (see the module's notes)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await _connect(host, port, local_address)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"not connected within {timeout:g}s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        except UnicodeError as exc:  # a host name with an empty or too long label
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, connection, transport)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connect(
    host: str, port: int, local_address: str | None
) -> tuple[asyncio.Transport, _Connection]:
    """A connection to the first of `host`'s addresses that answers."""
    try:
        addresses = [ip_address(host).compressed]
    except ValueError:
        loop = asyncio.get_running_loop()
        addresses = happy_order(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    return await connect_first(addresses, port, (local_address, 0) if local_address else None)


Connecting = asyncio.Task[tuple[asyncio.BaseTransport, _Connection]]


async def connect_first(
    addresses: Sequence[str], port: int, local: tuple[str, int] | None = None
) -> tuple[asyncio.Transport, _Connection]:
    """A connection to the first of `addresses` that answers: each is tried in turn, the
    next when the one before failed or had `HAPPY_EYEBALLS_DELAY` seconds (RFC 6555)."""
    loop = asyncio.get_running_loop()
    errors: list[BaseException] = []
    attempts: set[Connecting] = set()
    try:
        for index, address in enumerate(addresses):
            attempt = loop.create_connection(_Connection, address, port, local_addr=local)
            attempts.add(asyncio.ensure_future(attempt))
            last = index == len(addresses) - 1
            while attempts:
                done, attempts = await asyncio.wait(
                    attempts,
                    timeout=None if last else HAPPY_EYEBALLS_DELAY,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                connected = [task.result() for task in done if task.exception() is None]
                errors += [error for task in done if (error := task.exception()) is not None]
                if connected:
                    for transport, _ in connected[1:]:
                        transport.close()
                    transport, connection = connected[0]
                    return cast(asyncio.Transport, transport), connection  # uvloop's
                if not last:
                    break  # the head start is over, or an attempt failed: the next address
    finally:
        await _abandon(attempts)
    refused = [error for error in errors if isinstance(error, OSError)]
    if len(refused) < len(errors):
        raise next(error for error in errors if error not in refused)  # not the network's
    cause = refused[0] if len(refused) == 1 else ExceptionGroup("attempts", refused)
    raise OSError("All connection attempts failed") from cause  # anyio's words


async def _abandon(attempts: set[Connecting]) -> None:
    """Stop the attempts still running; close what connected meanwhile."""
    if not attempts:
        return
    for task in attempts:
        task.cancel()
    await asyncio.wait(attempts)
    for task in attempts:
        if not task.cancelled() and task.exception() is None:
            task.result()[0].close()


def happy_order(infos: Iterable[tuple[Any, ...]]) -> list[str]:
    """The addresses of `getaddrinfo` results in the order to try them: the first IPv6
    address, then the first IPv4 one after it, then the rest as given (anyio's order)."""
    leading: list[str] = []
    rest: list[str] = []
    for family, *_, address in infos:
        first = family == socket.AF_INET6 and not leading
        first = first or (family == socket.AF_INET and len(leading) == 1)
        (leading if first else rest).append(str(address[0]))
    return leading + rest
