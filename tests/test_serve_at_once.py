"""304s answered by the server protocol without running the app (feeds/http_server.py):
the same answer as the app's, keep-alive and pipelining intact, the app's path for the rest."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from support.inprocess_server import Running, running

from feeds.publish.files import write_if_changed
from feeds.serve import Site, create_app
from feeds.server_options import ServerOptions

FEED = (
    "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
    + "".join(f"<entry><title>Eintrag {n}</title></entry>" for n in range(80))
    + "</feed>\n"
).encode()
PATH = "/technik/atom.xml"


class Counted:
    """A site that counts the requests its ASGI app ran for."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.site(scope, receive, send)

    def not_modified_headers(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        return self.site.not_modified_headers(scope)


class Failing:
    """An answerer that fails: the app must answer instead."""

    def not_modified_headers(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        raise OSError("the disk went away")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    out = tmp_path / "out"
    write_if_changed(out / "technik" / "atom.xml", FEED)  # with its .gz and .br
    write_if_changed(out / "index.html", b"<!doctype html><title>feeds</title>")
    return create_app(out, metrics=None, health_max_age=timedelta(hours=1), cache_seconds=60)


@pytest.fixture
def counted(site: Site) -> Iterator[tuple[Counted, Running]]:
    app = Counted(site)
    with running(app, answer_at_once=app) as server:
        yield app, server


def validators(server: Running, encoding: str) -> httpx.Response:
    response = httpx.get(f"{server.url}{PATH}", headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    return response


def conditional_requests(server: Running) -> list[tuple[str, dict[str, str]]]:
    """Conditional requests that all get a 304, for every variant and validator form."""
    cases: list[tuple[str, dict[str, str]]] = []
    for encoding in ("identity", "gzip", "br", "gzip, br;q=0.5"):
        first = validators(server, encoding)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        base = {"Accept-Encoding": encoding}
        for method in ("GET", "HEAD"):
            cases += [
                (method, {**base, "If-None-Match": etag}),
                (method, {**base, "If-None-Match": f'"nope", W/{etag}'}),
                (method, {**base, "If-None-Match": "*"}),
                (method, {**base, "If-Modified-Since": modified}),
            ]
    return cases


def without_date(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "date"]


def test_every_304_is_answered_at_once_with_the_apps_headers(site: Site) -> None:
    app = Counted(site)
    with (
        running(app, answer_at_once=app) as at_once,
        running(site, answer_at_once=False) as through_app,
        httpx.Client() as client,
    ):
        cases = conditional_requests(at_once)
        before = app.calls
        for method, headers in cases:
            fast = client.request(method, f"{at_once.url}{PATH}", headers=headers)
            slow = client.request(method, f"{through_app.url}{PATH}", headers=headers)
            assert (fast.status_code, slow.status_code) == (304, 304), headers
            assert without_date(fast) == without_date(slow), headers
            assert fast.content == b""
            assert "date" in fast.headers
        assert app.calls == before  # not one of them ran the app


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unconditional
        {"If-None-Match": '"other"'},  # a validator of another version
        {"If-Modified-Since": formatdate(0, usegmt=True)},  # modified since
    ],
)
def test_what_is_not_a_304_goes_through_the_app(
    counted: tuple[Counted, Running], headers: dict[str, str]
) -> None:
    app, server = counted
    response = httpx.get(f"{server.url}{PATH}", headers={**headers, "Accept-Encoding": "identity"})
    assert (response.status_code, response.content) == (200, FEED)
    assert app.calls == 1


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/missing.xml", "/technik"])
def test_endpoints_misses_and_redirects_go_through_the_app(
    counted: tuple[Counted, Running], path: str
) -> None:
    app, server = counted
    response = httpx.get(f"{server.url}{path}", headers={"If-None-Match": "*"})
    assert response.status_code in (200, 301, 404, 503)
    assert app.calls == 1


def test_a_failing_answer_falls_back_to_the_app(site: Site) -> None:
    app = Counted(site)
    with running(app, answer_at_once=Failing()) as server:
        etag = validators(server, "identity").headers["etag"]
        response = httpx.get(
            f"{server.url}{PATH}", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
        )
    assert response.status_code == 304
    assert app.calls == 2


def read_responses(sock: socket.socket, count: int, marker: bytes) -> bytes:
    data = b""
    while data.count(marker) < count:
        chunk = sock.recv(1 << 20)
        assert chunk, f"closed after {data.count(marker)} of {count} responses"
        data += chunk
    return data


def test_thousands_of_pipelined_304s_behind_a_200_come_back_in_order(
    counted: tuple[Counted, Running],
) -> None:
    """One write: a full GET (run by the app, as a task) and then 5,000 conditional GETs,
    which queue behind it and are then answered at once, one after another, in a loop
    (one nested call per queued request would exhaust Python's stack)."""
    app, server = counted
    etag = validators(server, "identity").headers["etag"]
    full = f"GET {PATH} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n\r\n".encode()
    conditional = (
        f"GET {PATH} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n"
        f"If-None-Match: {etag}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(full + conditional * 5000)
        data = read_responses(sock, 5001, b"HTTP/1.1 ")
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        assert FEED in data
        assert data.count(b"HTTP/1.1 304 Not Modified\r\n") == 5000
        assert data.index(FEED) < data.index(b"HTTP/1.1 304")
        # The connection is still open and serving.
        sock.sendall(conditional)
        assert read_responses(sock, 1, b"\r\n\r\n").startswith(b"HTTP/1.1 304")
    assert app.calls == 2  # the validators' GET and the full one


@pytest.mark.parametrize(
    ("version", "connection"), [("HTTP/1.0", ""), ("HTTP/1.1", "Connection: close\r\n")]
)
def test_a_304_to_a_client_that_does_not_keep_alive_closes_the_connection(
    counted: tuple[Counted, Running], version: str, connection: str
) -> None:
    app, server = counted
    etag = validators(server, "identity").headers["etag"]
    request = (
        f"GET {PATH} {version}\r\nHost: t\r\nIf-None-Match: {etag}\r\n"
        f"Accept-Encoding: identity\r\n{connection}\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # ends only when the server closes
            data += chunk
    head = data.decode("latin-1")
    assert head.startswith("HTTP/1.1 304 Not Modified\r\n")
    assert "connection: close\r\n" in head.lower()
    assert head.endswith("\r\n\r\n")  # a head and no body
    assert app.calls == 1


def test_a_new_version_of_the_file_is_seen_at_once(counted: tuple[Counted, Running]) -> None:
    """The resolution of a path is remembered for a second, but never past a change of the
    file or of the variant chosen: a publish is seen by the very next request."""
    app, server = counted
    out = app.site.files.output_dir
    for encoding in ("identity", "gzip", "br"):
        old = validators(server, encoding)
        assert (
            httpx.get(
                f"{server.url}{PATH}",
                headers={"Accept-Encoding": encoding, "If-None-Match": old.headers["etag"]},
            ).status_code
            == 304
        )
        changed = FEED.replace(b"Eintrag 1<", b"Eintrag X<")  # same size, new bytes
        write_if_changed(Path(out) / "technik" / "atom.xml", changed)
        new = httpx.get(
            f"{server.url}{PATH}",
            headers={"Accept-Encoding": encoding, "If-None-Match": old.headers["etag"]},
        )
        assert new.status_code == 200, encoding
        assert new.headers["etag"] != old.headers["etag"]
        assert new.content == changed  # httpx decodes gzip and br
        write_if_changed(Path(out) / "technik" / "atom.xml", FEED)


def test_a_removed_file_or_variant_is_seen_at_once(counted: tuple[Counted, Running]) -> None:
    app, server = counted
    feed = Path(app.site.files.output_dir) / "technik" / "atom.xml"
    accept = "br, gzip"
    first = validators(server, accept)
    assert first.headers["content-encoding"] == "br"
    feed.with_name("atom.xml.br").unlink()
    response = httpx.get(
        f"{server.url}{PATH}",
        headers={"Accept-Encoding": accept, "If-None-Match": first.headers["etag"]},
    )
    assert (response.status_code, response.headers["content-encoding"]) == (200, "gzip")
    feed.unlink()
    gone = httpx.get(
        f"{server.url}{PATH}",
        headers={"Accept-Encoding": accept, "If-None-Match": response.headers["etag"]},
    )
    assert gone.status_code == 404


def test_the_head_deadline_still_guards_a_connection_after_a_304(site: Site) -> None:
    """After a 304 answered at once, a client that trickles the next head line by line is
    cut off (by the head deadline: each line postpones the idle keep-alive timeout)."""
    app = Counted(site)
    options = ServerOptions(timeout=1)
    with running(app, options=options, answer_at_once=app) as server:
        etag = validators(server, "identity").headers["etag"]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                f"GET {PATH} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n"
                f"If-None-Match: {etag}\r\n\r\nGET {PATH} HTTP/1.1\r\n".encode()
            )
            assert read_responses(sock, 1, b"\r\n\r\n").startswith(b"HTTP/1.1 304")
            closed = False
            for line in range(60):  # 15 s at most; the deadline is 1 s
                try:
                    sock.sendall(f"X-Line-{line}: a\r\n".encode())
                    readable, _, _ = select.select([sock], [], [], 0.25)
                    if readable and sock.recv(65536) == b"":
                        closed = True
                        break
                except OSError:  # reset by the server
                    closed = True
                    break
            assert closed
    assert app.calls == 1


def test_a_304_on_a_kept_alive_connection_honours_its_own_connection_close(
    counted: tuple[Counted, Running],
) -> None:
    """The second request of a connection is answered before uvicorn makes a request cycle:
    its own `Connection: close` still closes the connection after the 304."""
    app, server = counted
    etag = validators(server, "identity").headers["etag"]
    head = (
        f"GET {PATH} HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\nAccept-Encoding: identity\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((head + "\r\n").encode())
        assert read_responses(sock, 1, b"\r\n\r\n").startswith(b"HTTP/1.1 304")
        sock.sendall((head + "Connection: close\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):  # ends only when the server closes
            data += chunk
    assert data.startswith(b"HTTP/1.1 304 Not Modified\r\n")
    assert b"connection: close\r\n" in data.lower()
    assert app.calls == 1  # the validators' GET
