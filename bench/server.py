"""A small asyncio HTTP/1.1 server for the benchmark's feeds, run as its own process.

    python bench/server.py --root DIR [--hosts 50] [--max-seconds 7200] [--max-requests N]

Serves DIR/<name>.xml at /feeds/<name>.xml on 127.0.0.1 ... 127.0.0.<hosts>, one port on
every address, with keep-alive. Conditional GET: a strong ETag from the body's SHA-256 and
Last-Modified from the file's mtime; If-None-Match wins over If-Modified-Since (RFC 9110
13.2.2). Files are re-read when their stat changes, so replacing a file changes the feed.
GET /_stats answers JSON counters (requests by status, body bytes sent).

Prints "PORT <n>" once listening. Stops when its standard input closes (the bench ended or
died), after --max-seconds, or after --max-requests; it only ever binds loopback addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

IDLE_SECONDS = 30.0
_NAME = re.compile(r"^/feeds/([0-9A-Za-z_-]{1,64}\.xml)$")
_TYPES = (
    (b"<rss", "application/rss+xml"),
    (b"<feed", "application/atom+xml"),
    (b"<rdf:RDF", "application/rdf+xml"),
)


@dataclass(frozen=True, slots=True)
class Document:
    key: tuple[int, int, int]  # inode, size, mtime_ns: a change means re-read
    body: bytes
    etag: str
    last_modified: str
    mtime: int  # whole seconds, as Last-Modified says
    content_type: str


class FeedServer:
    def __init__(self, root: Path, max_requests: int) -> None:
        self.root = root
        self.max_requests = max_requests
        self.cache: dict[str, Document] = {}
        self.stats: Counter[str] = Counter()
        self.done = asyncio.Event()
        for entry in os.scandir(root):  # read and hash everything before the first request
            if entry.name.endswith(".xml"):
                self.document(entry.name)

    def document(self, name: str) -> Document | None:
        path = self.root / name
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self.cache.get(name)
        if cached is not None and cached.key == key:
            return cached
        body = path.read_bytes()
        head = body[:300]
        kind = next((t for marker, t in _TYPES if marker in head), "application/xml")
        doc = Document(
            key=key,
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:40] + '"',
            last_modified=formatdate(int(st.st_mtime), usegmt=True),
            mtime=int(st.st_mtime),
            content_type=f"{kind}; charset=utf-8",
        )
        self.cache[name] = doc
        return doc

    def respond(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, list[str], bytes]:
        """Status, extra header lines and body for one request."""
        path = target.split("?", 1)[0]
        if path == "/_stats":
            return 200, ["Content-Type: application/json"], json.dumps(self.stats).encode()
        if method not in ("GET", "HEAD"):
            return 405, ["Allow: GET, HEAD"], b""
        match = _NAME.match(path)
        doc = self.document(match.group(1)) if match else None
        if doc is None:
            return 404, ["Content-Type: text/plain"], b"not found\n"
        validators = [f"ETag: {doc.etag}", f"Last-Modified: {doc.last_modified}"]
        if _not_modified(doc, headers):
            return 304, validators, b""
        return 200, [f"Content-Type: {doc.content_type}", *validators], doc.body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.done.is_set():
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ")
                except ValueError:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    return
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                status, extra, body = self.respond(method, target, headers)
                connection = headers.get("connection", "").lower()
                keep = connection != "close" and (
                    version == "HTTP/1.1" or connection == "keep-alive"
                )
                reply = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                    f"Date: {formatdate(usegmt=True)}",
                    "Server: feeds-bench",
                    *extra,
                    f"Connection: {'keep-alive' if keep else 'close'}",
                ]
                if status != 304:
                    reply.append(f"Content-Length: {len(body)}")
                data = ("\r\n".join(reply) + "\r\n\r\n").encode("latin-1")
                send = body if method != "HEAD" and status != 304 else b""
                writer.writelines((data, send))
                await writer.drain()
                if target != "/_stats":
                    self.stats[str(status)] += 1
                    self.stats["body_bytes"] += len(send)
                    self.stats["requests"] += 1
                    if self.stats["requests"] >= self.max_requests:
                        self.done.set()
                if not keep:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
}


def _not_modified(doc: Document, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
        return "*" in tags or doc.etag in tags  # weak comparison, as RFC 9110 asks here
    since = headers.get("if-modified-since")
    if since:
        try:
            return doc.mtime <= int(parsedate_to_datetime(since).timestamp())
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def bind_sockets(hosts: int, attempts: int = 20) -> tuple[int, list[socket.socket]]:
    """Listening sockets on 127.0.0.1..127.0.0.<hosts>, all on one free port."""
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        try:
            for i in range(1, hosts + 1):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((f"127.0.0.{i}", sockets[0].getsockname()[1] if i > 1 else 0))
                sock.listen(1024)
                sock.setblocking(False)
            return sockets[0].getsockname()[1], sockets
        except OSError:
            for sock in sockets:
                sock.close()
    raise OSError(f"no port free on all of 127.0.0.1-{hosts}")


async def serve(root: Path, hosts: int, max_seconds: float, max_requests: int) -> None:
    server = FeedServer(root, max_requests)
    port, sockets = bind_sockets(hosts)
    servers = [await asyncio.start_server(server.handle, sock=s, limit=1 << 16) for s in sockets]
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:  # EOF: whoever started us is gone or done
        with contextlib.suppress(Exception):
            while sys.stdin.buffer.read(4096):
                pass
        loop.call_soon_threadsafe(server.done.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"PORT {port}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.done.wait(), max_seconds)
    for s in servers:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--hosts", type=int, default=50, choices=range(1, 255), metavar="1-254")
    parser.add_argument("--max-seconds", type=float, default=7200.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(serve(args.root, args.hosts, args.max_seconds, args.max_requests))
    sys.stdout.flush()
    os._exit(0)  # the stdin thread may still be blocked in read()


if __name__ == "__main__":
    main()
