"""Remote sources: one feed's HTTP exchange, the only place that speaks httpx.

A fetch never raises for anything the server does: every failure becomes a
`FetchResponse` with a readable `error`, so one bad source never stops a run.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.cookiejar
import os
import urllib.request
import zlib
from base64 import b64encode
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urljoin

import brotli
import httpx

from feeds.config import FetchConfig
from feeds.masking import masked_url, scrub
from feeds.model import FetchState
from feeds.request_options import RequestOptions, header_safe, proxy_secrets
from feeds.shorten import shorten
from feeds.sources.decoding import (
    ACCEPT_ENCODING,
    BodyTooLargeError,
    BoundedDecoder,
    UnsupportedEncodingError,
)
from feeds.sources.transport import PROXY_EXTENSION, RoutingTransport
from feeds.terminal_text import terminal_safe
from feeds.web_url import is_plain_web_url, is_web_url, unreachable_reason

PERMANENT_REDIRECTS = frozenset({301, 308})
# Asked before a redirect is followed: None to follow it, else why not.
FollowCheck = Callable[[str], Awaitable[str | None]]
MAX_REDIRECTS = 5
_NO_BODY = httpx.ByteStream(b"")  # a GET's: empty, and safe to share


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """What one HTTP exchange gave: a body to parse, a 304, or an error."""

    url: str  # the URL asked for
    final_url: str  # after redirects; what relative links resolve against
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case keys
    error: str | None = None
    permanent_url: str | None = None  # set when every redirect hop was permanent
    body_hash: str | None = None  # SHA-256 of the body, hashed once as it is read

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class RedirectError(Exception):
    pass


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: a feed host must not recognise our polls, and a
    cookie from one of its feeds must not travel with requests for the others."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        pass

    def extract_cookies(self, response: HTTPResponse, request: urllib.request.Request) -> None:
        pass


class _NoCookies(httpx.Cookies):
    """The client's cookies: none, ever; a response is not even looked at for them (httpx
    would build urllib request and response stand-ins for each, only for `NoCookies` to
    drop what they carry)."""

    def __init__(self) -> None:
        super().__init__(NoCookies())

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class FetchClient(httpx.AsyncClient):
    """httpx's client, with `_NoCookies` for its cookies, and a direct way to send a GET.

    `open_get` hands a request straight to the transport. A fetch needs nothing of the
    layers `AsyncClient.send` puts around it: no client auth (credentials in the URL aside,
    added as httpx adds them), no redirects (`_exchange` follows them itself), no cookies,
    no event hooks, no mounts. Skipping them took about an eighth of the instructions of a
    fetch answered 304 (callgrind, the bench's 1000 feeds). Other requests (`post` of a
    WebSub ping) go through httpx as usual.
    """

    _no_cookies = _NoCookies()

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport,
        timeout: httpx.Timeout,
        headers: dict[str, str],
    ) -> None:
        super().__init__(
            timeout=timeout, transport=transport, follow_redirects=False, headers=headers
        )
        self.fetch_transport = transport
        self.timeouts = timeout.as_dict()
        # By lower-case name, as written: the headers every fetch sends (ours, httpx's).
        encoding = self.headers.encoding
        self.fetch_headers = {
            name.decode(encoding).lower(): (name.decode(encoding), value.decode(encoding))
            for name, value in self.headers.raw
        }

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass  # nothing is kept

    @asynccontextmanager
    async def open_get(
        self, url: str, headers: Mapping[str, str], extensions: dict[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """GET `url` with the client's headers and `headers` (these win), as `stream("GET",
        ...)` sends it; the response's body is read from the network as it is iterated, and
        the exchange ends when the block does."""
        # Merged by name here: httpx's `Headers.update` decodes them anew for each name.
        merged = dict(self.fetch_headers)
        for name, value in headers.items():
            merged[name.lower()] = (name, value)
        target = httpx.URL(url)
        if target.username or target.password:  # as httpx's client: basic auth from the URL
            pair = f"{target.username}:{target.password}".encode()
            merged["authorization"] = ("Authorization", "Basic " + b64encode(pair).decode())
        # With a stream given, httpx adds no headers of its own: Host first, as it would.
        host = [] if "host" in merged else [("Host", target.netloc.decode("ascii"))]
        request = httpx.Request(
            "GET",
            target,
            headers=[*host, *merged.values()],
            stream=_NO_BODY,
            extensions={**extensions, "timeout": self.timeouts},
        )
        response = await self.fetch_transport.handle_async_request(request)
        response.request = request
        try:
            yield response
        finally:
            await response.aclose()


def make_client(
    config: FetchConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> FetchClient:
    """The shared HTTP client: HTTP/1.1, our User-Agent, per-phase timeouts, proxies.

    Redirects are followed by `fetch_source` itself, so their bodies are never read.
    Proxies come from the config and from `env` (default: this process's environment).
    `transport` replaces the network (and its connection guard and proxies) for tests that
    answer from canned responses; headers, timeouts, cookies and redirects stay as here.
    """
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.deadline,
    )
    if transport is None:
        transport = RoutingTransport(config, os.environ if env is None else env)
    return FetchClient(
        timeout=timeout,
        transport=transport,
        headers={
            "User-Agent": config.user_agent,
            "Accept": (
                "application/atom+xml, application/rss+xml, application/feed+json, "
                "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
            ),
            # Only what BoundedDecoder undoes within max_body.
            "Accept-Encoding": ACCEPT_ENCODING,
        },
    )


async def fetch_source(
    client: FetchClient,
    url: str,
    state: FetchState | None,
    config: FetchConfig,
    options: RequestOptions | None = None,
    home: str | None = None,
) -> FetchResponse:
    """GET one feed with the validators we hold, within the configured deadline and size.

    `options` are the source's own (user agent, headers, credentials, proxy); its extra
    headers, cookies and credentials go only to the origin of `home` (the configured URL,
    default `url`), never to another host a redirect names. Their secrets are scrubbed
    from the error.
    """
    headers = {}
    # Only validators a header can carry (a store may hold one kept before they were
    # checked, `decide.answered`): an unsendable one is a request without it.
    if state is not None and state.etag and header_safe(state.etag):
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified and header_safe(state.last_modified):
        headers["If-Modified-Since"] = state.last_modified
    return await fetch_url(client, url, headers, config, options=options, home=home)


_CONDITIONAL = frozenset({"If-None-Match", "If-Modified-Since"})


def _shown(url: str) -> str:
    """A URL a server named, as an error shows it: its password masked, no control
    character."""
    return terminal_safe(masked_url(url))


async def fetch_url(
    client: FetchClient,
    url: str,
    headers: dict[str, str],
    config: FetchConfig,
    *,
    options: RequestOptions | None = None,
    home: str | None = None,
    max_bytes: int | None = None,
    may_follow: FollowCheck | None = None,
) -> FetchResponse:
    """GET `url` with `headers` (validators, Accept) and a source's `options` as
    `fetch_source` sends them, within the configured deadline and `max_bytes` (default:
    `max_body`); `may_follow` may refuse a redirect's target (its reason ends the fetch)."""
    options = options or RequestOptions()
    request = _Request(headers, options, home or url, (options.proxy, config.proxy))
    response = await _fetch(client, url, request, config, max_bytes, may_follow)
    if response.status == 304 and not _CONDITIONAL.intersection(headers):
        # Not modified since what? A server that always says so would leave the source
        # without content for good, silently.
        error = "HTTP 304 Not Modified to a request that named no version"
        response = replace(response, error=error)
    if response.error is None:
        return response
    secrets = (*options.secrets(), *proxy_secrets(config.proxy or ""))
    return replace(response, error=scrub(response.error, secrets))


async def _fetch(
    client: FetchClient,
    url: str,
    request: _Request,
    config: FetchConfig,
    max_bytes: int | None,
    may_follow: FollowCheck | None,
) -> FetchResponse:
    limit = config.max_bytes if max_bytes is None else max_bytes
    # A link from a page or a feed, checked as a redirect's target is: a port over 65535
    # raised OverflowError on asyncio's loop, and uvloop's connected to it modulo 65536.
    if (reason := _unsendable(url)) is not None:
        return FetchResponse(url, url, error=f"unusable URL: {reason}")
    try:
        # The read timeout is per chunk; only an overall deadline stops a trickling server.
        async with asyncio.timeout(config.deadline):
            return await _exchange(client, url, request, limit, may_follow)
    except TimeoutError:
        error = f"timed out: no complete response within {config.deadline:g}s"
    except RedirectError as exc:
        error = str(exc)
    except httpx.InvalidURL as exc:  # a link from a page or a feed that httpx cannot send
        error = f"unusable URL: {exc}"
    except httpx.TimeoutException as exc:
        error = f"timed out ({type(exc).__name__})"
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        error = f"connection closed or reset by the server ({type(exc).__name__}{_detail(exc)})"
    except httpx.ConnectError as exc:
        error = f"cannot connect ({type(exc).__name__}{_detail(exc)})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}{_detail(exc)}"
    except BodyTooLargeError:
        error = f"body larger than {limit} bytes" + (" (max_body)" if max_bytes is None else "")
    except UnsupportedEncodingError as exc:
        error = str(exc)
    except (zlib.error, brotli.error) as exc:
        error = f"cannot decode the body: {exc}"
    return FetchResponse(url, url, error=error)


@dataclass(frozen=True, slots=True)
class _Request:
    """What every hop of one fetch sends: its own headers (validators, Accept), the
    source's options, its proxies."""

    own_headers: dict[str, str]
    options: RequestOptions
    home: str
    proxies: tuple[str | None, str | None]

    def headers(self, url: str) -> dict[str, str]:
        return {**self.options.headers_for(url, self.home), **self.own_headers}


def _detail(exc: Exception) -> str:
    text = str(exc)
    return f": {text}" if text else ""


async def _exchange(
    client: FetchClient,
    url: str,
    request: _Request,
    max_bytes: int,
    may_follow: FollowCheck | None,
) -> FetchResponse:
    hops: list[int] = []
    seen = {url}
    current = url
    while True:
        async with client.open_get(
            current, request.headers(current), {PROXY_EXTENSION: request.proxies}
        ) as response:
            # Read once: each lookup in httpx's headers decodes them again.
            headers = {k.lower(): v for k, v in response.headers.items()}
            location = headers.get("location")
            if httpx.codes.is_redirect(response.status_code) and location:
                # Leave without reading the body: a redirect's body is nobody's business.
                hops.append(response.status_code)
                current = _redirect_target(current, location)
                if current in seen:
                    raise RedirectError(f"redirect loop at {_shown(current)}")
                if len(hops) > MAX_REDIRECTS:
                    raise RedirectError(f"too many redirects (more than {MAX_REDIRECTS})")
                seen.add(current)
                refusal = await may_follow(current) if may_follow is not None else None
                if refusal is not None:
                    raise RedirectError(f"redirect to {_shown(current)} not followed: {refusal}")
                continue
            return await _read(response, headers, url, hops, max_bytes)


def _unsendable(url: str) -> str | None:
    """Why a web URL cannot be fetched, or None: `unreachable_reason`, or what httpx
    refuses (a control character) or cannot encode when it connects (a lone surrogate, an
    ``xn--`` label that is no IDNA: UnicodeError out of the request, once)."""
    if (reason := unreachable_reason(url)) is not None:
        return reason
    if is_plain_web_url(url) and "xn--" not in url.lower():
        return None  # all httpx takes as it is: its parse costs more than the fetch's checks
    try:
        _ = httpx.URL(url).host
    except (ValueError, httpx.InvalidURL) as exc:
        return str(exc)
    return None


def _redirect_target(base: str, location: str) -> str:
    """The absolute http(s) URL a redirect's `location` names against `base`; anything else
    (no URL at all, another scheme, no host) ends the fetch with a RedirectError, whose
    message holds at most the first 200 characters of what the server sent."""
    try:
        target = urljoin(base, location)
        # The one web URL test, and a host name to connect to (it asks only a netloc).
        usable = is_web_url(target) and _unsendable(target) is None
    except ValueError:
        usable = False
    if not usable:
        raise RedirectError(f"redirect to an unusable URL: {shorten(location, 200)!r}")
    return target


async def _read(
    response: httpx.Response,
    response_headers: dict[str, str],
    url: str,
    hops: list[int],
    max_bytes: int,
) -> FetchResponse:
    final_url = str(response.url)
    permanent = final_url if hops and all(h in PERMANENT_REDIRECTS for h in hops) else None
    status = response.status_code
    if status == 304:
        # It has no body; reading its end frees the connection for the host's next feed
        # (left unread, httpcore closes the connection).
        async for _ in response.aiter_raw():
            pass
        return FetchResponse(url, final_url, 304, None, response_headers, None, permanent)
    if status < 200:  # httptools takes any three digits, "000" and "099" too
        error = f"HTTP {status}: no status a response may have"
        return FetchResponse(url, final_url, status, None, response_headers, error, permanent)
    if status >= 300:
        # The reason phrase is the server's text: no escape sequence of it reaches a terminal.
        reason = terminal_safe(response.reason_phrase) or "error"
        error = f"HTTP {status} {reason}"
        return FetchResponse(url, final_url, status, None, response_headers, error, permanent)
    decoder = BoundedDecoder(response_headers.get("content-encoding"), max_bytes)
    chunks = [decoder.feed(raw) async for raw in response.aiter_raw()]
    body = b"".join(chunks)
    digest = hashlib.sha256(body).hexdigest()
    return FetchResponse(url, final_url, status, body, response_headers, None, permanent, digest)
