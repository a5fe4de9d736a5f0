"""A TCP proxy on 127.0.0.1 that can stall: it then keeps every connection open and
accepts new ones, but forwards nothing, as a frozen server or pooler does whose kernel
still acknowledges the bytes."""

from __future__ import annotations

import select
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Forwards connections to `target` until `stall()`, again after `resume()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closed.set()
        self.listener.close()

    def stall(self) -> None:
        """Forward nothing more, either way, on any connection."""
        self.forwarding.clear()

    def resume(self) -> None:
        """Forward again."""
        self.forwarding.set()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.target) as upstream:
            other = {client: upstream, upstream: client}
            while not self.closed.is_set():
                if not self.forwarding.wait(0.1):
                    continue  # stalled: the bytes wait in the kernel's buffers
                ready, _, _ = select.select(list(other), [], [], 0.1)
                for sock in ready:
                    try:
                        data = sock.recv(65536)
                        if data:
                            other[sock].sendall(data)
                    except OSError:
                        return
                    if not data:
                        return
