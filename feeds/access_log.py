"""An access log in the combined format (Apache's and nginx's default), one line per request.

    127.0.0.1 - - [05/Dec/2026:14:03:07 +0000] "GET /all/atom.xml HTTP/1.1" 304 - "-" "reader/3"

Fields: client address, identity and user (always `-`), time of the request, the request line,
status, body bytes sent (`-` for none), Referer and User-Agent. Everything taken from the
request is escaped as nginx does (`"`, `\\`, control and non-ASCII bytes as `\\xHH`), so a
hostile client cannot forge or split lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SAFE = {c: chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\'}


def escape(raw: bytes) -> str:
    """`raw` with every byte outside printable ASCII, `"` and `\\` written as `\\xHH`."""
    return "".join(_SAFE.get(byte) or f"\\x{byte:02X}" for byte in raw)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return escape(value)
    return "-"


def combined_line(scope: Scope, status: int, sent: int, started: float) -> str:
    """The combined-format line (with its newline) for one request."""
    client = scope.get("client")
    # Escaped too: behind a proxy on this machine it comes from X-Forwarded-For, a header.
    address = escape(str(client[0]).encode("utf-8", "surrogateescape")) if client else "-"
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target = bytes(target) + b"?" + scope["query_string"]
    request = (
        f"{escape(scope['method'].encode())} {escape(bytes(target))} "
        f"HTTP/{scope.get('http_version', '1.1')}"
    )
    moment = time.gmtime(started)
    when = (
        f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )
    size = str(sent) if sent else "-"
    referer, agent = _header(scope, b"referer"), _header(scope, b"user-agent")
    return f'{address} - - [{when}] "{request}" {status} {size} "{referer}" "{agent}"\n'


class AccessLog:
    """ASGI middleware writing one combined-format line per HTTP request to `write`."""

    def __init__(
        self, app: ASGIApp, write: Callable[[str], Any], clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.write = write
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 500  # what the server answers when the app fails before responding
        sent = 0

        async def send_counted(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            self.write(combined_line(scope, status, sent, started))
