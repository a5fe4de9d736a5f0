"""HTTP/1.1 of direct fetches (feeds/sources/http11.py) against a scripted server on
127.0.0.1 that writes raw bytes: informational answers, bodies that end at the close or are
cut short, heads too large, kept connections the server dropped or spoke on, answers of the
wrong protocol, and request heads a header could break."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from support.configfile import write_config

from feeds.config import FetchConfig, load_config
from feeds.model import FetchState
from feeds.sources.decoding import BoundedDecoder, UnsupportedEncodingError
from feeds.sources.http11 import MAX_HEAD, _Response
from feeds.sources.remote import FetchResponse, fetch_source, fetch_url, make_client
from feeds.update import decide

# What the server does with request `number` (from 0) on connection `connection` (from 0):
# the raw bytes to write (then go on reading), or None to hang up without a word.
Script = Callable[[int, int], bytes | None]
CLOSE = b""  # an answer that is followed by the server's close


def answer(status: str, body: bytes = b"", *headers: str, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


NOT_MODIFIED = answer("304 Not Modified", b"", 'ETag: "1"', length=False)


@dataclass
class ScriptedServer:
    script: Script
    heads: list[tuple[int, bytes]] = field(default_factory=list)  # (connection, request head)
    connections: int = 0
    closing: set[int] = field(default_factory=set)  # connections to close after answering
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        connection = self.connections
        self.connections += 1
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append((connection, head))
                reply = self.script(connection, number)
                number += 1
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if connection in self.closing:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def fetch_config(tmp_path: Path) -> FetchConfig:
    return load_config(write_config(tmp_path, "")).fetch


def fetch_all(
    tmp_path: Path,
    server: ScriptedServer,
    paths: list[str],
    headers: dict[str, str] | None = None,
) -> list[FetchResponse]:
    """Fetch each of `paths` in turn with one client, as a run fetches one host's feeds;
    with a validator unless `headers` are given (the scripted answers include 304s)."""
    config = fetch_config(tmp_path)
    sent = {"If-None-Match": '"0"'} if headers is None else headers

    async def go() -> list[FetchResponse]:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        try:
            async with make_client(config, env={}) as client:
                return [
                    await fetch_url(client, f"http://127.0.0.1:{port}{path}", sent, config)
                    for path in paths
                ]
        finally:
            listening.close()
            if server.handlers:  # each ends when the client's close reaches it
                await asyncio.wait(server.handlers, timeout=10)

    return asyncio.run(go())


def test_an_early_hint_is_read_past(tmp_path: Path) -> None:
    hint = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    body = b"<rss version='2.0'/>"
    server = ScriptedServer(lambda _c, _n: hint + answer("200 OK", body, "X-Real: yes"))
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert (response.status, response.body, response.error) == (200, body, None)
    assert response.headers["x-real"] == "yes" and "link" not in response.headers


def test_a_body_without_a_length_ends_at_the_close(tmp_path: Path) -> None:
    body = b"<rss version='2.0'>" + b"x" * 200_000 + b"</rss>"
    server = ScriptedServer(lambda _c, _n: answer("200 OK", body, length=False))
    server.closing = {0, 1}
    first, second = fetch_all(tmp_path, server, ["/a", "/b"])
    assert (first.status, first.body, second.body) == (200, body, body)
    assert server.connections == 2  # the close ended the first connection with its body


def test_a_body_cut_short_fails_and_its_connection_is_not_kept(tmp_path: Path) -> None:
    cut = answer("200 OK", b"only this", "Content-Length: 100", length=False)
    server = ScriptedServer(lambda c, _n: cut if c == 0 else NOT_MODIFIED)
    server.closing = {0}
    first, second = fetch_all(tmp_path, server, ["/a", "/b"])
    assert first.error is not None
    assert "closed the connection before the end of the body" in first.error
    assert (second.status, second.error) == (304, None)


def test_a_head_over_the_bound_is_refused(tmp_path: Path) -> None:
    padding = [f"X-Pad-{i}: {'p' * 1000}" for i in range(MAX_HEAD // 1000 + 2)]
    server = ScriptedServer(lambda _c, _n: answer("200 OK", b"<rss/>", *padding))
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert response.error is not None and f"response head over {MAX_HEAD} bytes" in response.error


def test_a_kept_connection_the_server_dropped_is_replaced(tmp_path: Path) -> None:
    """The server keeps the connection after a 304, then hangs up on the next request
    without a word (its keep-alive ran out as the request went): the GET goes again, on a
    new connection."""
    server = ScriptedServer(lambda c, n: NOT_MODIFIED if (c, n) != (0, 1) else None)
    responses = fetch_all(tmp_path, server, ["/a", "/b", "/c"])
    assert [(r.status, r.error) for r in responses] == [(304, None)] * 3
    assert [(c, head.split(b" ")[1]) for c, head in server.heads] == [
        (0, b"/a"), (0, b"/b"), (1, b"/b"), (1, b"/c")
    ]  # fmt: skip


def test_what_follows_a_response_is_never_taken_for_the_next(tmp_path: Path) -> None:
    smuggled = answer("200 OK", b"<rss>smuggled</rss>")
    server = ScriptedServer(
        lambda c, n: NOT_MODIFIED + smuggled if (c, n) == (0, 0) else answer("200 OK", b"<rss/>")
    )
    first, second = fetch_all(tmp_path, server, ["/a", "/b"])
    assert (first.status, second.status, second.body) == (304, 200, b"<rss/>")
    assert [c for c, _ in server.heads] == [0, 1]  # the first connection was not kept


def test_an_unasked_protocol_switch_fails_the_fetch(tmp_path: Path) -> None:
    switch = answer("101 Switching Protocols", b"", "Upgrade: websocket", "Connection: upgrade")
    server = ScriptedServer(lambda _c, _n: switch)
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert response.error is not None and "switched protocols" in response.error


def test_a_malformed_answer_fails_the_fetch(tmp_path: Path) -> None:
    server = ScriptedServer(lambda _c, _n: b"HTTP/1.1 200 OK\r\nBroken header line\r\n\r\n")
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert response.error is not None and "malformed response" in response.error


def test_a_line_break_in_a_header_value_sends_nothing(tmp_path: Path) -> None:
    server = ScriptedServer(lambda _c, _n: NOT_MODIFIED)
    (response,) = fetch_all(tmp_path, server, ["/feed"], {"X-Note": "a\r\nX-Injected: 1"})
    assert response.error is not None and "line break" in response.error
    assert server.heads == []


def test_an_endless_run_of_early_hints_is_refused_at_the_head_bound(tmp_path: Path) -> None:
    """1xx answers count toward the head's bound: a server that sends nothing else is cut
    off there, not read for ever."""
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    server = ScriptedServer(lambda _c, _n: hints * (2 * MAX_HEAD // len(hints)))
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert response.error is not None and f"response head over {MAX_HEAD} bytes" in response.error


def test_a_chunk_of_a_malformed_size_fails_the_fetch(tmp_path: Path) -> None:
    broken = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    server = ScriptedServer(lambda _c, _n: broken)
    (response,) = fetch_all(tmp_path, server, ["/feed"])
    assert response.error is not None and "malformed response" in response.error


def test_a_head_cut_by_the_reads_anywhere_is_read_whole() -> None:
    """The network may end a read inside the status line or a header: the parser's pieces
    make the same response, whatever the cut."""
    head = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 2\r\n\r\nok"
    for cut in range(1, len(head)):
        response = _Response()
        response.feed(head[:cut])
        response.feed(head[cut:])
        assert (response.status, response.reason) == (503, b"Service Unavailable"), cut
        assert response.headers == [(b"Retry-After", b"120"), (b"Content-Length", b"2")], cut
        assert list(response.chunks) != [] and b"".join(response.chunks) == b"ok", cut


# --- found by a hostile-server campaign ----------------------------------------------------


def test_bytes_after_a_complete_answer_in_the_same_read_are_ignored(tmp_path: Path) -> None:
    """httptools took them for a next response and failed the fetch, or not, as the TCP
    segments fell: now they are ignored, and the connection is not kept."""
    body = b"<rss version='2.0'><channel/></rss>"
    replies = {
        0: answer("200 OK", body) + b"X",
        1: answer("304 Not Modified", b"abc"),
        2: answer("200 OK", body),
    }
    server = ScriptedServer(lambda c, _n: replies[c])
    first, second, third = fetch_all(tmp_path, server, ["/a", "/b", "/c"])
    assert (first.status, first.body, first.error) == (200, body, None)
    assert (second.status, second.error) == (304, None)
    assert third.status == 200
    assert [c for c, _ in server.heads] == [0, 1, 2]  # neither connection was kept


def test_a_body_in_tiny_chunks_costs_memory_as_its_size(tmp_path: Path) -> None:
    """One bytes object per chunk held a 19 MB body in 2-byte chunks as 1.3 GB: the pieces
    of one network read are joined as they are read. Measured as what a larger body adds to
    the peak (the client's start, its TLS context, allocates megabytes of its own)."""

    def peak(size: int) -> int:
        chunked = b"2\r\n  \r\n" * (size // 2) + b"0\r\n\r\n"
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        server = ScriptedServer(lambda _c, _n: head + chunked)
        tracemalloc.start()
        try:
            (response,) = fetch_all(tmp_path, server, ["/tiny"])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert response.body == b" " * size

    small, large = 100_000, 1_100_000
    added = peak(large) - peak(small)
    # The server's chunked bytes (3.5 per body byte), the body, and a read's pieces.
    assert added < 8 * (large - small)


def test_a_deflate_body_split_after_its_first_byte_decodes(tmp_path: Path) -> None:
    body = b"<rss version='2.0'><channel><title>T</title></channel></rss>"
    packed = zlib.compress(body)
    chunks = b"1\r\n" + packed[:1] + f"\r\n{len(packed) - 1:x}\r\n".encode()
    chunks += packed[1:] + b"\r\n0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = ScriptedServer(lambda _c, _n: head + chunks)
    (response,) = fetch_all(tmp_path, server, ["/deflate"])
    assert (response.body, response.error) == (body, None)


def test_more_stacked_codings_than_five_are_refused() -> None:
    with pytest.raises(UnsupportedEncodingError, match="6 stacked Content-Encodings"):
        BoundedDecoder(", ".join(["gzip"] * 6), 1000)
    assert BoundedDecoder(", ".join(["gzip"] * 5), 1000).stages  # five are undone


def test_only_the_body_counts_against_the_cap_of_stacked_codings() -> None:
    """The inner stream's trailer, held back by the outer stage, counted against the room
    left for the body: a body of exactly the cap failed when fed in small pieces."""
    body = b"<rss>" + b"x" * 94
    twice = gzip.compress(gzip.compress(body, mtime=0), mtime=0)
    decoder = BoundedDecoder("gzip, gzip", len(body))
    out = b"".join(decoder.feed(twice[i : i + 7]) for i in range(0, len(twice), 7))
    assert out == body


def test_a_reason_phrase_or_redirect_with_escape_sequences_is_shown_without_them(
    tmp_path: Path,
) -> None:
    reason = "500 \x1b[2J\x1b[31mPWNED\x1b]0;title\x07 R"
    loop = answer(
        "302 Found", b"", "Location: /loop\u202e\x9b31m".encode("utf-8").decode("latin-1")
    )
    replies = {0: answer(reason), 1: loop}
    server = ScriptedServer(lambda c, _n: replies[min(c, 1)])
    server.closing = set(range(20))
    first, second = fetch_all(tmp_path, server, ["/a", "/loop\u202e\x9b31m"])
    assert first.error == "HTTP 500 [2J [31mPWNED ]0;title R"
    assert second.error is not None and "redirect" in second.error
    for error in (first.error, second.error):
        assert not any(c in error for c in "\x1b\x07\x9b\u202e")


def test_a_redirect_to_a_host_name_the_resolver_refuses_is_unusable(tmp_path: Path) -> None:
    label = "a" * 64
    server = ScriptedServer(
        lambda _c, _n: answer("302 Found", b"", f"Location: http://{label}.example/feed")
    )
    (response,) = fetch_all(tmp_path, server, ["/away"])
    assert response.error is not None
    assert response.error.startswith("redirect to an unusable URL")


def test_a_validator_no_header_can_carry_is_neither_kept_nor_sent(tmp_path: Path) -> None:
    """A server's ETag "café", kept, failed every later request before it was sent (httpx
    writes header values as ASCII), so the source never recovered."""
    tried = FetchState(source="s")
    kept = replace(tried, etag='"1"', last_modified="Mon, 07 Dec 2026 10:00:00 GMT")
    sent = {"etag": '"caf\u00e9"', "last-modified": "Mon, 07 D\u00e9c 2026 10:00:00 GMT"}
    after = decide.answered(tried, kept, sent, None)
    assert (after.etag, after.last_modified) == (kept.etag, kept.last_modified)
    stored = replace(tried, etag='"caf\u00e9"', last_modified="Mon, 07 D\u00e9c 2026")
    server = ScriptedServer(lambda _c, _n: answer("200 OK", b"<rss version='2.0'/>"))
    config = fetch_config(tmp_path)

    async def go() -> FetchResponse:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        try:
            async with make_client(config, env={}) as client:
                return await fetch_source(client, f"http://127.0.0.1:{port}/f", stored, config)
        finally:
            listening.close()

    response = asyncio.run(go())
    assert (response.status, response.error) == (200, None)
    ((_, head),) = server.heads
    assert b"If-None-Match" not in head and b"If-Modified-Since" not in head


def test_a_not_modified_to_a_request_without_validators_is_an_error(tmp_path: Path) -> None:
    """A server answering 304 to every request left its source without content for good,
    and said nothing: a 304 needs a version the request named."""
    (unasked,) = fetch_all(tmp_path, ScriptedServer(lambda _c, _n: NOT_MODIFIED), ["/a"], {})
    (asked,) = fetch_all(tmp_path, ScriptedServer(lambda _c, _n: NOT_MODIFIED), ["/b"])
    assert unasked.error == "HTTP 304 Not Modified to a request that named no version"
    assert (asked.status, asked.error) == (304, None)


def test_a_final_status_below_200_is_an_error(tmp_path: Path) -> None:
    server = ScriptedServer(lambda c, _n: answer(("000 X", "099 X")[c], b"<rss/>"))
    server.closing = {0, 1}
    zero, ninety_nine = fetch_all(tmp_path, server, ["/a", "/b"])
    assert zero.error == "HTTP 0: no status a response may have"
    assert ninety_nine.error == "HTTP 99: no status a response may have"


def test_a_redirect_loop_names_its_url_with_the_password_masked(tmp_path: Path) -> None:
    def looping(_c: int, _n: int) -> bytes:
        return answer("302 Found", b"", f"Location: http://user:s3cretpw@127.0.0.1:{port[0]}/x")

    port = [0]
    server = ScriptedServer(looping)
    server.closing = set(range(10))
    config = fetch_config(tmp_path)

    async def go() -> FetchResponse:
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port[0] = listening.sockets[0].getsockname()[1]
        try:
            async with make_client(config, env={}) as client:
                url = f"http://user:s3cretpw@127.0.0.1:{port[0]}/x"
                return await fetch_url(client, url, {}, config)
        finally:
            listening.close()

    response = asyncio.run(go())
    assert response.error is not None and response.error.startswith("redirect loop at")
    assert "s3cretpw" not in response.error and "user:***@127.0.0.1" in response.error


def test_a_body_not_chunked_last_runs_until_the_close(tmp_path: Path) -> None:
    """RFC 9112 6.3: with a Transfer-Encoding whose last coding is not chunked, the body
    ends where the server closes; it once failed as cut short."""
    body = b"<rss version='2.0'><channel/></rss>"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n"
    server = ScriptedServer(lambda _c, _n: head + body)
    server.closing = {0}
    (response,) = fetch_all(tmp_path, server, ["/identity"])
    assert (response.status, response.body, response.error) == (200, body, None)


def test_every_member_of_a_gzip_body_is_read(tmp_path: Path) -> None:
    """RFC 1952 allows members one after another; only the first was read, so a feed sent
    so lost all its entries but the first member's."""
    parts = [b"<rss version='2.0'><channel>", b"<item><title>A</title></item>", b"</channel></rss>"]
    packed = b"".join(gzip.compress(part, mtime=0) for part in parts)
    reply = answer("200 OK", packed, "Content-Encoding: gzip")
    (response,) = fetch_all(tmp_path, ScriptedServer(lambda _c, _n: reply), ["/members"])
    assert (response.body, response.error) == (b"".join(parts), None)
