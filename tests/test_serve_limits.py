"""`feeds serve` against hostile and crowded clients, as a subprocess: memory, slow heads,
the connection cap, accept errors and the access log.

Every wait is on a condition (bytes arrived, the server's descriptors, a log line) with an
upper bound; the only clock readings asserted are the head deadline's (a lower bound the
server cannot beat, and a generous upper one) and the 1 s a new client may wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.feeds_cli import FEEDS_ENV
from support.waiting import wait_for

from feeds.access_log import combined_line, escape
from feeds.publish.files import write_if_changed

pytestmark = pytest.mark.slow

CONFIG = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
SMALL_FEED = b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'></feed>\n"


class ServeProcess:
    """`feeds serve` on a free port, its log in a file."""

    def __init__(
        self, site: Path, *options: str, limit_files: int | None = None, code: str | None = None
    ) -> None:
        self.log_path = site / "serve.log"
        self.stdout_path = site / "serve.out"

        def limit() -> None:
            if limit_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit_files, limit_files))

        command = ["-m", "feeds", "-v", "--config", str(site / "feeds.toml"), "serve",
                   "--port", "0", *options]  # fmt: skip
        with self.log_path.open("w") as log, self.stdout_path.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, *(["-c", code] if code else command)],
                cwd=site,
                stdout=out,
                stderr=log,
                preexec_fn=limit,
                env={**FEEDS_ENV, "HOME": str(site)},
            )
        found = wait_for(lambda: "serving on" in self.log() or self.process.poll() is not None)
        match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", self.log())
        assert found and match, self.log()
        self.port = int(match.group(1))
        self.pid = self.process.pid
        self.idle_sockets = self.open_sockets()  # listening, and the loop's own

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def status_kib(self, key: str) -> int:
        """A `/proc/PID/status` figure in KiB, e.g. VmRSS or VmHWM (peak RSS)."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
        assert match, text
        return int(match.group(1))

    def open_sockets(self) -> int:
        count = 0
        for entry in Path(f"/proc/{self.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(entry).startswith("socket:")
        return count

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "feeds.toml").write_text(CONFIG, encoding="utf-8")
    write_if_changed(tmp_path / "out" / "index.html", b"<!doctype html><title>feeds</title>")
    write_if_changed(tmp_path / "out" / "technik" / "atom.xml", SMALL_FEED)
    return tmp_path


@contextlib.contextmanager
def serving(site: Path, *options: str, **kwargs: int | str | None) -> Iterator[ServeProcess]:
    server = ServeProcess(site, *options, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def sockets(count: int, port: int, first_bytes: bytes) -> Iterator[list[socket.socket]]:
    """`count` connections to the server, each having sent `first_bytes` and no more."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            client.settimeout(10)
            client.connect(("127.0.0.1", port))
            if first_bytes:
                client.sendall(first_bytes)
            opened.append(client)
        yield opened
    finally:
        for client in opened:
            client.close()


def raise_own_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def closed_by_peer(client: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset), reading what came first."""
    readable, _, _ = select.select([client], [], [], 0)
    if not readable:
        return False
    try:
        return client.recv(65536) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def big_feed(size: int) -> bytes:
    """An Atom document of about `size` bytes that does not compress to nothing."""
    entries = []
    total = 0
    n = 0
    while total < size:
        entry = f"<entry><id>urn:{n}</id><title>{os.urandom(600).hex()}</title></entry>\n"
        entries.append(entry)
        total += len(entry)
        n += 1
    return ("<?xml version='1.0'?><feed>" + "".join(entries) + "</feed>\n").encode()


# -- memory -----------------------------------------------------------------------------------

FEED_SIZE = 12 * 1024 * 1024
CLIENTS = 200
MEMORY_BOUND_MIB = 150  # for 200 clients of a 12 MB file: reading it whole would be 2.4 GB


def test_memory_stays_flat_while_200_clients_hold_a_12mb_feed_unread(site: Path) -> None:
    raise_own_file_limit(CLIENTS + 200)
    write_if_changed(site / "out" / "big" / "atom.xml", big_feed(FEED_SIZE))
    with serving(site) as server:
        # One full download first: the code paths, buffers and threads are warm.
        with httpx.Client() as client:
            response = client.get(
                server.url("/big/atom.xml"), headers={"Accept-Encoding": "identity"}
            )
            assert response.status_code == 200 and len(response.content) >= FEED_SIZE
        baseline = server.status_kib("VmRSS")
        request = b"GET /big/atom.xml HTTP/1.1\r\nHost: t\r\nAccept-Encoding: %s\r\n\r\n"
        with contextlib.ExitStack() as stack:
            clients = stack.enter_context(sockets(CLIENTS // 2, server.port, request % b"identity"))
            clients += stack.enter_context(
                sockets(CLIENTS // 2, server.port, request % b"gzip, br")
            )

            def all_sending() -> bool:
                readable, _, _ = select.select(clients, [], [], 0.2)
                return len(readable) == len(clients)

            assert wait_for(all_sending), "the server did not answer every client"
            # Let the server fill what it can; none of the clients reads a byte.
            assert server.process.poll() is None
            assert wait_for(lambda: server.open_sockets() >= server.idle_sockets + CLIENTS)
            time.sleep(1)
            peak = server.status_kib("VmHWM")
        assert (peak - baseline) / 1024 < MEMORY_BOUND_MIB, (baseline, peak)
        # Closed again, and the server answers as before.
        assert httpx.get(server.url("/healthz")).status_code == 200


# -- slow clients -----------------------------------------------------------------------------

HEAD_START = b"GET /technik/atom.xml HTTP/1.1\r\nHost: t\r\n"


def test_a_new_client_is_served_within_1s_while_300_slow_clients_hang(site: Path) -> None:
    raise_own_file_limit(300 + 200)
    with serving(site) as server, sockets(300, server.port, HEAD_START) as slow:
        accepted = server.idle_sockets + len(slow)
        assert wait_for(lambda: server.open_sockets() >= accepted), "not all accepted"
        started = time.monotonic()
        response = httpx.get(server.url("/technik/atom.xml"), timeout=5)
        assert response.status_code == 200 and response.content == SMALL_FEED
        assert time.monotonic() - started < 1.0
        assert not any(closed_by_peer(client) for client in slow)  # still within the deadline


def test_a_trickling_head_is_cut_at_the_deadline(site: Path) -> None:
    deadline = 1.5
    with serving(site, "--timeout", str(deadline)) as server:
        with sockets(1, server.port, HEAD_START) as (client,):
            started = time.monotonic()
            lines = 0
            while not closed_by_peer(client) and time.monotonic() - started < 15:
                with contextlib.suppress(OSError):
                    client.sendall(f"X-Line-{lines}: a\r\n".encode())  # one line, 0.25 s apart
                lines += 1
                time.sleep(0.25)
            lasted = time.monotonic() - started
        assert deadline - 0.1 <= lasted < deadline + 3, lasted  # cut at the deadline ...
        assert lines >= 4  # ... though it kept sending header lines

        # An idle connection that sends nothing, and a kept-alive one after its response.
        with sockets(1, server.port, b"") as (idle,):
            assert wait_for(lambda: closed_by_peer(idle), deadline + 5)
        with sockets(1, server.port, HEAD_START + b"\r\n") as (kept,):
            kept.settimeout(5)
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            assert wait_for(lambda: closed_by_peer(kept), deadline + 5)
        # A client that sends its head in time is served.
        assert httpx.get(server.url("/technik/atom.xml")).status_code == 200


def test_a_slow_pipelined_response_is_not_cut_by_the_head_deadline(site: Path) -> None:
    """Two requests in one write: the second's head is already read when the first response
    ends, so no head deadline may start then, or a client that reads slowly loses it."""
    body = big_feed(FEED_SIZE)  # more than the socket buffers hold: the server must wait
    write_if_changed(site / "out" / "big" / "atom.xml", body)
    request = b"GET /big/atom.xml HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n\r\n"
    with serving(site, "--timeout", "1") as server, sockets(1, server.port, request * 2) as (c,):
        received = b""
        paused = False
        while chunk := c.recv(65536):
            received += chunk
            if not paused and len(received) > len(body):
                time.sleep(2)  # the first response is in: wait past the 1 s deadline
                paused = True
            if len(received) >= 2 * len(body) + 400:
                break
    first, second = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert first.partition(b"\r\n\r\n")[2] == body
    assert second.partition(b"\r\n\r\n")[2] == body  # whole, not cut at the deadline


def test_the_connection_cap_refuses_cleanly(site: Path) -> None:
    with serving(site, "--max-connections", "5") as server:
        with sockets(5, server.port, HEAD_START) as held:
            assert wait_for(lambda: server.open_sockets() >= server.idle_sockets + len(held))
            with sockets(1, server.port, b"") as (refused,):
                answer = b""
                while chunk := refused.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            assert b"Connection: close\r\n" in answer and b"Retry-After: 1\r\n" in answer
            assert answer.endswith(b"\r\n\r\ntoo many connections\n")
            assert "refusing connections: 5 open" in server.log()
        # The held ones gone, new clients are served again.
        assert wait_for(lambda: server.open_sockets() <= server.idle_sockets)
        assert httpx.get(server.url("/technik/atom.xml")).status_code == 200


def test_a_client_that_reads_nothing_is_dropped_at_the_send_deadline(site: Path) -> None:
    """One connection allowed, taken by a client that asks for a 12 MB feed and reads none
    of it: without a send deadline every other client gets the cap's 503 for ever."""
    write_if_changed(site / "out" / "big" / "atom.xml", big_feed(FEED_SIZE))
    request = b"GET /big/atom.xml HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n\r\n"
    options = ("--max-connections", "1", "--send-timeout", "1")
    with serving(site, *options) as server, sockets(1, server.port, request) as (stuck,):
        assert wait_for(lambda: select.select([stuck], [], [], 0.2)[0] != [])  # answering it
        with sockets(1, server.port, b"") as (refused,):
            assert refused.recv(65536).startswith(b"HTTP/1.1 503")  # the one slot is taken

        def served() -> bool:
            try:
                return httpx.get(server.url("/technik/atom.xml"), timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(served, 30), server.log()
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := stuck.recv(1 << 20):
                received += len(chunk)
        assert received < FEED_SIZE  # cut, not sent whole
        assert "dropped a connection whose client took nothing" in server.log()


# The server in a process whose descriptors run out: every other one is taken after it listens.
EXHAUSTED = """
import asyncio, os, resource, sys
from pathlib import Path
from feeds.logs import configure_logging
from feeds.http_server import serve_async
from feeds.server_options import ServerOptions
from feeds.serve import create_app
from datetime import timedelta

configure_logging(20, "text")

async def main():
    ready = asyncio.Event()
    app = create_app(Path("out"), metrics=None, health_max_age=timedelta(hours=1), cache_seconds=1)
    task = asyncio.create_task(serve_async(app, ServerOptions("127.0.0.1", 0), ready))
    await ready.wait()
    hog = []
    try:
        while True:
            hog.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    print("exhausted", flush=True)
    await task

asyncio.run(main())
"""


def test_accept_errors_are_logged_at_most_once_per_second(site: Path) -> None:
    with serving(site, code=EXHAUSTED, limit_files=128) as server:
        assert wait_for(lambda: "exhausted" in server.stdout_path.read_text())
        with sockets(3, server.port, HEAD_START):
            assert wait_for(lambda: "not logged" in server.log(), 10), server.log()[-2000:]
            started = time.monotonic()
            first = server.log().count("cannot accept connections")
            time.sleep(2)  # the storm goes on meanwhile (asyncio retries 100 times a second)
            logged = server.log().count("cannot accept connections") - first
            elapsed = time.monotonic() - started
        assert "Too many open files" in server.log()
        assert logged <= elapsed + 1, (logged, elapsed)


# -- access log -------------------------------------------------------------------------------

COMBINED = re.compile(
    r"^(?P<host>\S+) - - \[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<size>\d+|-) "(?P<referer>[^"]*)" '
    r'"(?P<agent>[^"]*)"$'
)


def test_the_access_log_is_in_the_combined_format(site: Path) -> None:
    log = site / "access.log"
    with serving(site, "--access-log", str(log)) as server, httpx.Client() as client:
        first = client.get(
            server.url("/technik/atom.xml?utm=1"),
            headers={"User-Agent": 'reader/3 "quoted"', "Referer": "https://example.org/",
                     "Accept-Encoding": "identity"},
        )  # fmt: skip
        client.get(
            server.url("/technik/atom.xml"),
            headers={"If-None-Match": first.headers["etag"], "User-Agent": "reader/3"},
        )
        client.get(server.url("/missing"), headers={"User-Agent": "Größe".encode()})
        assert wait_for(lambda: len(log.read_text().splitlines()) >= 3)
    lines = log.read_text().splitlines()
    parsed = [COMBINED.match(line) for line in lines]
    assert all(parsed), lines
    # Lines are written as requests end, so not necessarily in the order they were sent.
    by_status = {match["status"]: match.groupdict() for match in parsed if match}
    ok, not_modified, missing = by_status["200"], by_status["304"], by_status["404"]
    assert ok == {
        **ok,
        "host": "127.0.0.1",
        "request": "GET /technik/atom.xml?utm=1 HTTP/1.1",
        "status": "200",
        "size": str(len(SMALL_FEED)),
        "referer": "https://example.org/",
        "agent": r"reader/3 \x22quoted\x22",
    }
    assert (not_modified["status"], not_modified["size"], not_modified["referer"]) == (
        "304",
        "-",
        "-",
    )
    assert (missing["status"], missing["agent"]) == ("404", r"Gr\xC3\xB6\xC3\x9Fe")
    assert time.strptime(ok["time"], "%d/%b/%Y:%H:%M:%S +0000")


def test_no_access_log_by_default(site: Path) -> None:
    with serving(site) as server:
        assert httpx.get(server.url("/technik/atom.xml")).status_code == 200
    assert server.stdout_path.read_text() == ""
    assert "GET /technik/atom.xml" not in server.log()


def test_a_hostile_request_line_cannot_forge_log_lines() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "raw_path": b'/x"\r\n127.0.0.1 - - [forged] "GET / HTTP/1.1" 200 1 "-" "-',
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"user-agent", "ü\n".encode())],
        "client": ("10.0.0.1", 1234),
    }
    line = combined_line(scope, 404, 10, 0.0)
    assert line.count("\n") == 1 and line.endswith("\n")
    assert COMBINED.match(line.rstrip("\n"))
    assert r"\x22\x0D\x0A127.0.0.1" in line and r'"\xC3\xBC\x0A"' in line
    assert escape(b"plain / text?a=1") == "plain / text?a=1"
    # The client address too: behind a proxy on this machine it is X-Forwarded-For's text.
    forged = {**scope, "client": ('6.6.6.6 - - [01/Jan/2020] "GET /admin" \x9b31m', 1)}
    forged_line = combined_line(forged, 404, 10, 0.0)
    assert forged_line.startswith(r"6.6.6.6 - - [01/Jan/2020] \x22GET /admin\x22 \xC2\x9B31m - - [")


def _answer_to(port: int, data: bytes) -> bytes:
    """What the server answers to `data` sent at once, read until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        with contextlib.suppress(OSError):
            client.sendall(data)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                answer += chunk
    return answer


def test_a_request_head_over_the_bound_is_refused_and_costs_no_memory(site: Path) -> None:
    """A head that never ended grew the server by 2.9 GB within its deadline (header lines
    sent without end), or held its loop for seconds (one endless header value or target)."""
    lines = b"".join(b"X-H-%d: %s\r\n" % (i, b"v" * 40) for i in range(2_000))  # 100 KB
    with serving(site) as server:
        before = server.status_kib("VmRSS")
        many = _answer_to(server.port, HEAD_START + lines + b"\r\n")
        endless_value = _answer_to(server.port, HEAD_START + b"X-Long: " + b"v" * 200_000)
        endless_target = _answer_to(server.port, b"GET /" + b"a" * 200_000)
        assert many.startswith(b"HTTP/1.1 400"), many[:100]  # the 101st header line
        assert endless_value.startswith(b"HTTP/1.1 431"), endless_value[:100]
        assert endless_target.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), endless_target[:100]
        assert server.status_kib("VmRSS") - before < 20_000
        assert httpx.get(server.url("/technik/atom.xml")).status_code == 200
        # A head under the bound, with a long header among its lines, is served.
        fine = HEAD_START + b"X-Long: " + b"v" * 20_000 + b"\r\n\r\n"
        assert _answer_to(server.port, fine).startswith(b"HTTP/1.1 200")
    log = server.log()
    assert "Traceback" not in log
    # One line for the three within a second: bad requests' warnings are rate-limited.
    assert log.count("Invalid HTTP request received.") + log.count("request head over") == 1


def test_bad_requests_in_a_loop_log_a_line_a_second_not_one_each(site: Path) -> None:
    with serving(site) as server:
        started = time.monotonic()
        for _ in range(200):
            _answer_to(server.port, b"\x16\x03\x01 garbage\r\n\r\n")
        took = time.monotonic() - started
        assert httpx.get(server.url("/technik/atom.xml")).status_code == 200
    warnings = server.log().count("Invalid HTTP request received.")
    assert 1 <= warnings <= took + 1, (warnings, took)  # one a second: 10,909 in 3 s before


def _start_download(port: int, path: str) -> tuple[socket.socket, int, bytes]:
    """A connection that asked for `path` (identity) and read its head and some body:
    (the socket, the Content-Length, the body bytes read so far)."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += client.recv(65536)
    head, body = received.split(b"\r\n\r\n", 1)
    match = re.search(rb"(?i)content-length: (\d+)", head)
    assert match, head
    return client, int(match.group(1)), body


def _rest(client: socket.socket, body: bytes, length: int) -> bytes:
    """The body read on until `length` bytes or the server's close."""
    with contextlib.suppress(OSError):
        while len(body) < length and (chunk := client.recv(65536)):
            body += chunk
    return body


def test_a_file_changed_in_place_while_sent_is_sent_as_stated_or_cut_cleanly(
    site: Path,
) -> None:
    """Another hand appending to a file being sent, or cutting it short (the publisher's
    renames never do), ended the response in a traceback. Appended, the bytes the head
    announced are sent and the connection goes on; cut short, the connection closes, and
    the log says so in a line."""
    feed = site / "out" / "big" / "atom.xml"
    content = big_feed(24 * 1024 * 1024)  # more than the socket buffers hold: sent in turns
    write_if_changed(feed, content)
    with serving(site) as server:
        client, length, body = _start_download(server.port, "/big/atom.xml")
        with client:
            with feed.open("ab") as grown:
                grown.write(b"<!-- appended -->" * 1000)
            body = _rest(client, body, length)
            assert (len(body), body) == (length, content)
            client.sendall(b"GET /technik/atom.xml HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200")  # the connection went on
        write_if_changed(feed, content)
        client, length, body = _start_download(server.port, "/big/atom.xml")
        with client:
            with feed.open("r+b") as cut:
                cut.truncate(1000)
            body = _rest(client, body, length)
            assert len(body) < length  # cut short: the server closed
    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log
    assert "big/atom.xml was cut short by another hand while it was sent" in log


def test_a_head_under_the_bound_sent_in_pieces_is_served(site: Path) -> None:
    """The head's bytes were counted twice where a read ended inside the head: once as the
    headers it completed, once as the read, so a 30 KB head arriving in pieces got 431."""
    lines = b"".join(b"X-H-%d: %s\r\n" % (i, b"v" * 480) for i in range(60))  # 29.6 KB
    head = HEAD_START + lines + b"\r\n"
    with (
        serving(site) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as client,
    ):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(OSError):  # refused, it is closed as it is sent
            for start in range(0, len(head), 5_000):
                client.sendall(head[start : start + 5_000])
                time.sleep(0.1)  # read by the server piece by piece, as over a slow link
        answer = client.recv(100)
    assert answer.startswith(b"HTTP/1.1 200"), answer
