"""WebSub: tell the hub when a feed changed, so subscribers get it pushed.

The hub fetches the feed itself after our ping (`hub.mode=publish`, W3C WebSub 1.0 and the
PubSubHubbub convention most hubs follow). A failed ping is logged, never fatal: readers
still poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import httpx

log = logging.getLogger(__name__)


async def announce(client: httpx.AsyncClient, hub: str, topics: Iterable[str]) -> list[str]:
    """Ping `hub` once per changed feed URL; returns one message per failed ping."""
    errors = []
    for topic in topics:
        try:
            response = await client.post(hub, data={"hub.mode": "publish", "hub.url": topic})
        except httpx.HTTPError as exc:
            errors.append(f"WebSub ping for {topic} failed: {type(exc).__name__}: {exc}")
            continue
        if response.status_code >= 300:
            errors.append(f"WebSub hub answered {response.status_code} for {topic}")
    for error in errors:
        log.warning("%s", error)
    return errors
