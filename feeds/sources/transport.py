"""The network under the shared HTTP client: direct (guarded when configured so), or through
a proxy chosen per request (`feeds.sources.proxies`).

One client serves every source: a request names its configured proxies in the
`PROXY_EXTENSION` request extension, and each distinct proxy gets one connection pool, made
when first used. Past `MAX_PROXY_POOLS`, the least recently used idle pool is closed for a
new one. Direct requests get one small pool per origin (`DirectPools`). (httpx turns its own
environment proxies off under a custom transport, so the environment is read here.)
"""

from __future__ import annotations

import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Mapping

import httpcore
import httpx

from feeds.config import FetchConfig
from feeds.masking import scrub
from feeds.request_options import masked_proxy, proxy_problem, proxy_secrets
from feeds.sources.guard import GuardedBackend, checked_addresses
from feeds.sources.http11 import OriginPool
from feeds.sources.network import AsyncioBackend
from feeds.sources.proxies import EnvironmentProxies, Route, choose

PROXY_EXTENSION = "feeds.proxies"  # (the source's proxy, [fetch] proxy), each str | None
MAX_PROXY_POOLS = 32
MAX_DIRECT_POOLS = 64  # origins with idle connections kept, at most
Origin = tuple[bytes, str, int | None]  # scheme, host, port

log = logging.getLogger(__name__)


def client_limits(config: FetchConfig) -> httpx.Limits:
    """Each pool's limits.

    Few idle connections, briefly: feeds of one host fetched back to back reuse one, but
    httpcore checks every connection of a pool (a poll() each) for every request, so one
    large idle pool for every host cost more than the handshakes it saved (10% of a cold
    run's main process in bench/run.py), and idle sockets held open are a burden on the
    hosts we poll.
    """
    return httpx.Limits(
        max_connections=config.concurrency,
        max_keepalive_connections=config.per_host,
        keepalive_expiry=5,
    )


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request direct or through its proxy; judges targets when guarded."""

    def __init__(self, config: FetchConfig, env: Mapping[str, str]) -> None:
        self.limits = client_limits(config)
        self.guarded = not config.allow_private_addresses
        self.environment = EnvironmentProxies.read(env)
        self.tls = TLSContexts()
        self.direct = DirectPools(self.tls, self.limits, self.guarded)
        self.proxied: OrderedDict[str, httpx.AsyncHTTPTransport] = OrderedDict()
        self.fetch_proxy = config.proxy  # for requests that name none (a WebSub ping)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        default = (None, self.fetch_proxy)
        source_proxy, fetch_proxy = request.extensions.pop(PROXY_EXTENSION, default)
        route = choose(str(request.url), source_proxy, fetch_proxy, self.environment)
        if route is None:
            pool = await self.direct.pool(request.url)
            return await pool.handle_async_request(request)
        secrets = proxy_secrets(route.proxy)
        try:
            if self.guarded:
                await self.judge(request)
            transport = await self.through(route)
            return await transport.handle_async_request(request)
        except httpx.TransportError as exc:
            # Name the proxy (masked) and keep its credentials out of the message.
            message = f"{scrub(str(exc), secrets)} (through {masked_proxy(route.proxy)})"
            raise type(exc)(message, request=request) from None

    async def judge(self, request: httpx.Request) -> None:
        """Refuse a target the guard refuses, as a direct connection would be refused: the
        connection goes to the proxy, so the target is judged by its name here."""
        url = request.url
        try:
            await checked_addresses(url.host, url.port or (443 if url.scheme == "https" else 80))
        except httpcore.ConnectError as exc:
            raise httpx.ConnectError(str(exc), request=request) from None

    async def through(self, route: Route) -> httpx.AsyncHTTPTransport:
        """The pool for `route`'s proxy, made on first use."""
        transport = self.proxied.get(route.proxy)
        if transport is not None:
            self.proxied.move_to_end(route.proxy)
            return transport
        reason = proxy_problem(route.proxy)
        if reason is not None:
            raise httpx.ProxyError(f"the proxy from {route.origin} is unusable: {reason}")
        await self.make_room()
        log.debug("fetching through proxy %s (%s)", masked_proxy(route.proxy), route.origin)
        transport = httpx.AsyncHTTPTransport(
            verify=self.tls.verifying(), proxy=httpx.Proxy(route.proxy), limits=self.limits
        )
        self.proxied[route.proxy] = transport
        return transport

    async def make_room(self) -> None:
        """Close the least recently used idle pools beyond `MAX_PROXY_POOLS - 1`. Pools
        with a request in flight stay (at most `concurrency` of them are busy)."""
        for proxy, transport in list(self.proxied.items()):
            if len(self.proxied) < MAX_PROXY_POOLS:
                return
            if _idle(transport):
                del self.proxied[proxy]
                await transport.aclose()

    async def aclose(self) -> None:
        await self.direct.aclose()
        for transport in self.proxied.values():
            await transport.aclose()


class TLSContexts:
    """The client's TLS contexts, each made once. The verifying one is made when first
    needed: loading the CA bundle costs about 20 ms, a fifth of a warm run's set-up, and a
    run of plain-HTTP feeds never needs it."""

    def __init__(self) -> None:
        self._verifying: ssl.SSLContext | None = None
        # For the pools of http:// origins, which never start TLS: were one to, this context
        # trusts no certificate authority, so every handshake would fail.
        self.trusting_none = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    def verifying(self) -> ssl.SSLContext:
        """The context that verifies servers (httpx's: certifi, or SSL_CERT_FILE/DIR)."""
        if self._verifying is None:
            self._verifying = httpx.create_ssl_context()
        return self._verifying

    def for_origin(self, scheme: bytes) -> ssl.SSLContext:
        """The context for the direct pool of an origin with `scheme`."""
        return self.verifying() if scheme != b"http" else self.trusting_none


class DirectPools:
    """One connection pool per origin (scheme, host, port) for direct requests.

    A pool (`feeds.sources.http11`) keeps a few idle connections of its host, so the next
    feed of that host reuses one while it is idle. A pool not used for `keepalive_expiry`
    seconds, or the least recently used beyond `MAX_DIRECT_POOLS`, is closed when idle
    (checked as requests come), so idle sockets stay few and brief however many hosts a run
    polls.
    """

    def __init__(self, tls: TLSContexts, limits: httpx.Limits, guarded: bool) -> None:
        self.tls = tls
        self.limits = limits
        self.expiry = limits.keepalive_expiry or 0.0
        self.backend = GuardedBackend() if guarded else AsyncioBackend()
        # Least recently used first: origin -> (pool, when last asked for).
        self.pools: OrderedDict[Origin, tuple[OriginPool, float]] = OrderedDict()

    async def pool(self, url: httpx.URL) -> OriginPool:
        """The pool for `url`'s origin, made on first use; closes the stale idle ones."""
        now = time.monotonic()
        origin = (url.raw_scheme, url.host, url.port)
        found = self.pools.pop(origin, None)
        transport = found[0] if found is not None else self.make(origin)
        self.pools[origin] = (transport, now)
        await self.retire(now, keep=origin)
        return transport

    def make(self, origin: Origin) -> OriginPool:
        scheme, host, port = origin
        address = (scheme, host, port or (443 if scheme == b"https" else 80))
        return OriginPool(address, self.backend, self.tls.for_origin(scheme), self.limits)

    async def retire(self, now: float, keep: Origin | None = None) -> None:
        """Close the pools unused for `expiry` seconds and those beyond `MAX_DIRECT_POOLS`,
        least recently used first; a pool with a request in flight, and `keep`'s (about to
        take one), count as used now. Which to close is settled before the first await."""
        closing = []
        for _ in range(len(self.pools)):
            origin, (transport, used) = next(iter(self.pools.items()))
            if used > now - self.expiry and len(self.pools) <= MAX_DIRECT_POOLS:
                break
            del self.pools[origin]
            if origin != keep and transport.is_idle():
                closing.append(transport)
            else:
                self.pools[origin] = (transport, now)
        for transport in closing:
            await transport.aclose()

    async def aclose(self) -> None:
        for transport, _ in self.pools.values():
            await transport.aclose()
        self.pools.clear()


def _idle(transport: httpx.AsyncHTTPTransport) -> bool:
    return all(c.is_idle() or c.is_closed() for c in transport._pool.connections)
