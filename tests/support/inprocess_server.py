"""`serve_async` on its own event loop in a thread, for tests of the server in process."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from starlette.types import ASGIApp

from feeds.http_server import AnswerAtOnce, serve_async
from feeds.serve import Site
from feeds.server_options import ServerOptions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(
    app: ASGIApp,
    port: int | None = None,
    options: ServerOptions | None = None,
    answer_at_once: AnswerAtOnce | bool | None = True,
) -> Iterator[Running]:
    """`serve_async` on its own event loop in a thread, stopped through its `stop` event.

    A `Site` answers its own 304s at once, as `feeds serve` does, unless `answer_at_once`
    is False; an object given there answers them instead.
    """
    if answer_at_once is True:
        answer_at_once = app if isinstance(app, Site) else None
    elif answer_at_once is False:
        answer_at_once = None
    port = port or free_port()
    options = replace(options or ServerOptions(), host="127.0.0.1", port=port)
    started = threading.Event()
    box: dict[str, object] = {}

    def main() -> None:
        async def run() -> None:
            stop, ready = asyncio.Event(), asyncio.Event()
            box["loop"], box["stop"] = asyncio.get_running_loop(), stop
            task = asyncio.ensure_future(
                serve_async(app, options, ready, stop, answer_at_once=answer_at_once)
            )
            waiter = asyncio.ensure_future(ready.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            started.set()
            await task

        try:
            asyncio.run(run())
        except BaseException as exc:
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert started.wait(15), "server did not start"
    if "error" in box:
        raise AssertionError(f"server failed: {box['error']!r}")
    try:
        yield Running(port)
    finally:
        loop, stop = box["loop"], box["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        assert not thread.is_alive(), "server did not stop"
        assert "error" not in box, box.get("error")
