"""How `feeds serve` and `feeds run --serve` serve: address, limits and access log.

Apart from feeds/http_server.py so that the command line reads its defaults without
importing the web server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where and how to serve: the command line's `--host`, `--port`, `--max-connections`,
    `--timeout`, `--send-timeout` and `--access-log` (a file, `-` for standard output, None
    for none)."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_connections: int = 1000
    timeout: float = 10.0  # seconds for a whole request head
    keep_alive: float = 5.0  # seconds an idle kept-alive connection stays open
    access_log: str | None = None
    send_timeout: float = 60.0  # seconds a response may wait on a client that reads nothing
