"""Remote sources: one feed's HTTP exchange, the only place that speaks httpx.

A fetch never raises for anything the server does: every failure becomes a
`FetchResponse` with a readable `error`, so one bad source never stops a run.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

import httpx

from feeds.config import FetchConfig
from feeds.model import FetchState

PERMANENT_REDIRECTS = frozenset({301, 308})
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

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def body_hash(self) -> str | None:
        return hashlib.sha256(self.body).hexdigest() if self.body is not None else None


class BodyTooLargeError(Exception):
    pass


def make_client(config: FetchConfig) -> httpx.AsyncClient:
    """The shared HTTP client: HTTP/1.1, our User-Agent, per-phase timeouts."""
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.deadline,
    )
    limits = httpx.Limits(
        max_connections=config.concurrency, max_keepalive_connections=config.concurrency
    )
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={
            "User-Agent": config.user_agent,
            "Accept": (
                "application/atom+xml, application/rss+xml, application/feed+json, "
                "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
            ),
        },
    )


async def fetch_source(
    client: httpx.AsyncClient, url: str, state: FetchState | None, config: FetchConfig
) -> FetchResponse:
    """GET one feed with the validators we hold, within the configured deadline and size."""
    headers = {}
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        # The read timeout is per chunk; only an overall deadline stops a trickling server.
        async with asyncio.timeout(config.deadline):
            return await _exchange(client, url, headers, config.max_bytes)
    except TimeoutError:
        return FetchResponse(
            url, url, error=f"timed out: no complete response within {config.deadline:g}s"
        )
    except httpx.TooManyRedirects:
        return FetchResponse(
            url, url, error=f"too many redirects (more than {MAX_REDIRECTS}, or a loop)"
        )
    except httpx.TimeoutException as exc:
        return FetchResponse(url, url, error=f"timed out ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return FetchResponse(url, url, error=f"{type(exc).__name__}: {exc or 'connection failed'}")
    except BodyTooLargeError:
        return FetchResponse(
            url, url, error=f"body larger than {config.max_bytes} bytes (max_body)"
        )


async def _exchange(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> FetchResponse:
    async with client.stream("GET", url, headers=headers) as response:
        hops = [r.status_code for r in response.history]
        permanent = (
            str(response.url) if hops and all(h in PERMANENT_REDIRECTS for h in hops) else None
        )
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        final_url = str(response.url)
        if response.status_code == 304:
            return FetchResponse(url, final_url, 304, None, response_headers, None, permanent)
        if response.status_code >= 400:
            reason = response.reason_phrase or "error"
            return FetchResponse(
                url, final_url, response.status_code, None, response_headers,
                f"HTTP {response.status_code} {reason}", permanent,
            )  # fmt: skip
        # Count decoded bytes: a small gzip bomb must not inflate past the cap.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLargeError
            chunks.append(chunk)
        body = b"".join(chunks)
        return FetchResponse(
            url, final_url, response.status_code, body, response_headers, None, permanent
        )
