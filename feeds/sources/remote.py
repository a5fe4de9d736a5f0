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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from http.client import HTTPResponse
from urllib.parse import urljoin

import brotli
import httpx

from feeds.config import FetchConfig
from feeds.masking import scrub
from feeds.model import FetchState
from feeds.request_options import RequestOptions, proxy_secrets
from feeds.sources.decoding import (
    ACCEPT_ENCODING,
    BodyTooLargeError,
    BoundedDecoder,
    UnsupportedEncodingError,
)
from feeds.sources.transport import PROXY_EXTENSION, RoutingTransport

PERMANENT_REDIRECTS = frozenset({301, 308})
# Asked before a redirect is followed: None to follow it, else why not.
FollowCheck = Callable[[str], Awaitable[str | None]]
MAX_REDIRECTS = 5


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


class _Client(httpx.AsyncClient):
    """httpx's client with `_NoCookies` for its cookies, which it reads through `cookies`."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass  # nothing is kept


def make_client(
    config: FetchConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
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
    return _Client(
        timeout=timeout,
        transport=transport,
        follow_redirects=False,
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
    client: httpx.AsyncClient,
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
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return await fetch_url(client, url, headers, config, options=options, home=home)


async def fetch_url(
    client: httpx.AsyncClient,
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
    if response.error is None:
        return response
    secrets = (*options.secrets(), *proxy_secrets(config.proxy or ""))
    return replace(response, error=scrub(response.error, secrets))


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    request: _Request,
    config: FetchConfig,
    max_bytes: int | None,
    may_follow: FollowCheck | None,
) -> FetchResponse:
    limit = config.max_bytes if max_bytes is None else max_bytes
    try:
        # The read timeout is per chunk; only an overall deadline stops a trickling server.
        async with asyncio.timeout(config.deadline):
            return await _exchange(client, url, request, limit, may_follow)
    except TimeoutError:
        error = f"timed out: no complete response within {config.deadline:g}s"
    except RedirectError as exc:
        error = str(exc)
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
    client: httpx.AsyncClient,
    url: str,
    request: _Request,
    max_bytes: int,
    may_follow: FollowCheck | None,
) -> FetchResponse:
    hops: list[int] = []
    seen = {url}
    current = url
    while True:
        async with client.stream(
            "GET",
            current,
            headers=request.headers(current),
            extensions={PROXY_EXTENSION: request.proxies},
        ) as response:
            location = response.headers.get("location")
            if response.is_redirect and location:
                # Leave without reading the body: a redirect's body is nobody's business.
                hops.append(response.status_code)
                current = urljoin(current, location)
                if current in seen:
                    raise RedirectError(f"redirect loop at {current}")
                if len(hops) > MAX_REDIRECTS:
                    raise RedirectError(f"too many redirects (more than {MAX_REDIRECTS})")
                seen.add(current)
                refusal = await may_follow(current) if may_follow is not None else None
                if refusal is not None:
                    raise RedirectError(f"redirect to {current} not followed: {refusal}")
                continue
            return await _read(response, url, hops, max_bytes)


async def _read(
    response: httpx.Response, url: str, hops: list[int], max_bytes: int
) -> FetchResponse:
    final_url = str(response.url)
    permanent = final_url if hops and all(h in PERMANENT_REDIRECTS for h in hops) else None
    response_headers = {k.lower(): v for k, v in response.headers.items()}
    status = response.status_code
    if status == 304:
        # It has no body; reading its end frees the connection for the host's next feed
        # (left unread, httpcore closes the connection).
        await response.aread()
        return FetchResponse(url, final_url, 304, None, response_headers, None, permanent)
    if status >= 300:
        reason = response.reason_phrase or "error"
        error = f"HTTP {status} {reason}"
        return FetchResponse(url, final_url, status, None, response_headers, error, permanent)
    decoder = BoundedDecoder(response.headers.get("content-encoding"), max_bytes)
    chunks = [decoder.feed(raw) async for raw in response.aiter_raw()]
    body = b"".join(chunks)
    digest = hashlib.sha256(body).hexdigest()
    return FetchResponse(url, final_url, status, body, response_headers, None, permanent, digest)
