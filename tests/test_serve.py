"""`feeds.serve`: a real uvicorn on 127.0.0.1 serving real files written in tmp_path."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import brotli
import httpx
import pytest
from starlette.types import ASGIApp
from support.feeds_cli import FEEDS_ENV
from support.inprocess_server import Running, free_port, running
from support.waiting import wait_for

from feeds.http_server import serve_async
from feeds.metrics import Metrics
from feeds.model import FetchOutcome, SourceResult
from feeds.publish.files import write_if_changed
from feeds.serve import _ranked_variants, accepted_variants, create_app
from feeds.server_options import ServerOptions


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_get(port: int, target: str, method: str = "GET") -> RawResponse:
    """One request with the target sent byte for byte (httpx would normalise `..` away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Accept-Encoding: identity\r\n\r\n".encode("latin-1")
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(lines[0].split()[1]), headers, body)


# -- the site ---------------------------------------------------------------------------------

ATOM = (
    "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
    + "".join(f"<entry><title>Größe {n}</title></entry>" for n in range(60))
    + "</feed>\n"
).encode()
SECRET = b"TOP SECRET: outside the output folder"


def write_site(out: Path) -> dict[str, bytes]:
    files = {
        "index.html": b"<!doctype html><title>feeds</title><h1>Start</h1>" + b"x" * 2000,
        "feeds.opml": b"<?xml version='1.0'?><opml version=\"2.0\"></opml>",
        "welt-nachrichten/atom.xml": ATOM,
        "welt-nachrichten/rss.xml": b"<?xml version='1.0'?><rss version=\"2.0\"></rss>",
        "welt-nachrichten/feed.json": b'{"version": "https://jsonfeed.org/version/1.1"}',
        "welt-nachrichten/index.html": "<!doctype html><p>Grüße</p>".encode(),
        "all/atom.xml": ATOM,
        "articles/lokale-artikel/seed-1234abcd.html": b"<!doctype html><p>Artikel</p>",
        "notes.txt": b"plain text",
        "data.json": b"{}",
        "logo.png": b"\x89PNG\r\n\x1a\n not really",
        "blob.xyzunknown": b"\x00\x01",
        "empty/placeholder.txt": b"no index.html in this folder",
        "welt-nachrichten/.atom.xml.k2j3h4.tmp": b"half-written",
        ".hidden/index.html": b"hidden folder",
        ".env": b"SECRET=1",
    }
    for name, body in files.items():
        path = out / name
        if name.startswith(".") or "/." in name:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)  # what the publisher never writes
        else:
            write_if_changed(path, body)  # with its compressed variants
    return files


def make_site(root: Path) -> Path:
    """The site in `root/output`, a secret beside it, and symlinks in and out."""
    directory = root / "output"
    write_site(directory)
    (root / "secret.txt").write_bytes(SECRET)
    (directory / "leak.txt").symlink_to(root / "secret.txt")
    (directory / "leakdir").symlink_to(root)
    (directory / "passwd").symlink_to("/etc/passwd")
    (directory / "latest.xml").symlink_to(directory / "welt-nachrichten" / "atom.xml")
    (directory / "dotlink.txt").symlink_to(directory / ".env")
    return directory


def app_for(out: Path, metrics: Metrics | None = None, cache_seconds: int = 300) -> ASGIApp:
    return create_app(
        out, metrics=metrics, health_max_age=timedelta(minutes=10), cache_seconds=cache_seconds
    )


# One site and server for the tests that only read; `own_*` for tests that change files.


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(out: Path) -> Iterator[Running]:
    with running(app_for(out)) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Accept-Encoding": "identity"}) as c:
        yield c


@pytest.fixture
def own_out(tmp_path: Path) -> Path:
    return make_site(tmp_path)


@pytest.fixture
def own_client(own_out: Path) -> Iterator[httpx.Client]:
    with (
        running(app_for(own_out)) as srv,
        httpx.Client(base_url=srv.url, headers={"Accept-Encoding": "identity"}) as c,
    ):
        yield c


# -- types, folders, caching headers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/welt-nachrichten/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/all/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/welt-nachrichten/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/welt-nachrichten/feed.json", "application/feed+json; charset=utf-8"),
        ("/welt-nachrichten/index.html", "text/html; charset=utf-8"),
        ("/articles/lokale-artikel/seed-1234abcd.html", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/notes.txt", "text/plain; charset=utf-8"),
        ("/data.json", "application/json; charset=utf-8"),
        ("/logo.png", "image/png"),
        ("/blob.xyzunknown", "application/octet-stream"),
        ("/latest.xml", "application/xml; charset=utf-8"),  # a symlink inside: served
    ],
)
def test_content_types(client: httpx.Client, out: Path, path: str, expected: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == expected
    assert response.content == (out / path.lstrip("/")).read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"


def test_folders_serve_their_index_and_redirect_to_the_slash(
    client: httpx.Client, out: Path
) -> None:
    front = client.get("/")
    assert front.status_code == 200 and front.content == (out / "index.html").read_bytes()
    assert front.headers["content-type"] == "text/html; charset=utf-8"
    category = client.get("/welt-nachrichten/")
    assert category.content == (out / "welt-nachrichten" / "index.html").read_bytes()
    assert category.headers["etag"] == client.get("/welt-nachrichten/index.html").headers["etag"]

    moved = client.get("/welt-nachrichten")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/welt-nachrichten/"
    moved = client.get("/welt-nachrichten?utm=x")
    assert moved.status_code == 301 and moved.headers["location"] == "/welt-nachrichten/?utm=x"
    assert client.get("/articles/lokale-artikel").headers["location"] == "/articles/lokale-artikel/"
    assert client.get("/welt-nachrichten", follow_redirects=True).content == category.content

    assert client.get("/empty/").status_code == 404  # no index.html: no listing either
    assert client.get("/empty").status_code == 301
    assert client.get("/articles/").status_code == 404
    assert client.get("/feeds.opml/").status_code == 404  # a file asked for as a folder
    assert client.get("/nothing-here").status_code == 404
    assert client.get("/welt-nachrichten/missing.xml").status_code == 404


def test_cache_control_on_feeds_and_pages(out: Path) -> None:
    with (
        running(app_for(out, cache_seconds=123)) as srv,
        httpx.Client(base_url=srv.url) as client,
    ):
        for path in ("/", "/welt-nachrichten/", "/welt-nachrichten/atom.xml", "/feeds.opml",
                     "/welt-nachrichten/rss.xml", "/welt-nachrichten/feed.json"):  # fmt: skip
            response = client.get(path)
            assert response.headers["cache-control"] == "public, max-age=123", path
            assert response.headers["vary"] == "Accept-Encoding", path
            mtime = (out / path.lstrip("/")).stat().st_mtime if "." in path else None
            if mtime is not None:
                assert response.headers["last-modified"] == formatdate(mtime, usegmt=True)


# -- validators -------------------------------------------------------------------------------


def test_validators_change_with_the_file_and_survive_an_unchanged_republish(
    own_client: httpx.Client, own_out: Path
) -> None:
    client, out = own_client, own_out
    feed = out / "welt-nachrichten" / "atom.xml"
    first = client.get("/welt-nachrichten/atom.xml")
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 8  # strong
    assert first.headers["last-modified"] == formatdate(feed.stat().st_mtime, usegmt=True)
    assert client.get("/welt-nachrichten/atom.xml").headers["etag"] == tag

    # The publisher writes the same bytes again: nothing changes, readers get 304s.
    assert not write_if_changed(feed, ATOM)
    again = client.get("/welt-nachrichten/atom.xml", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag

    # New content, published: a new tag, and the old one no longer gives 304.
    changed = ATOM.replace(b"</feed>", b"<entry><title>neu</title></entry></feed>")
    assert write_if_changed(feed, changed)
    response = client.get("/welt-nachrichten/atom.xml", headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.content == changed
    assert response.headers["etag"] != tag


@pytest.mark.parametrize(
    "if_none_match", ["{tag}", "W/{tag}", '"abc", {tag}', '"abc",{tag} , W/"def"', "*"]
)
def test_if_none_match_gives_304(client: httpx.Client, if_none_match: str) -> None:
    tag = client.get("/welt-nachrichten/atom.xml").headers["etag"]
    header = if_none_match.format(tag=tag)
    response = client.get("/welt-nachrichten/atom.xml", headers={"If-None-Match": header})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag  # this client asked for identity
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-type" not in response.headers


@pytest.mark.parametrize("if_none_match", ['"abc"', 'W/"abc", "def"', '"', "garbage"])
def test_if_none_match_without_a_match_gives_200(client: httpx.Client, if_none_match: str) -> None:
    response = client.get("/welt-nachrichten/atom.xml", headers={"If-None-Match": if_none_match})
    assert response.status_code == 200 and response.content == ATOM


def test_if_modified_since(own_client: httpx.Client, own_out: Path) -> None:
    client, out = own_client, own_out
    path = "/welt-nachrichten/atom.xml"
    mtime = time.time() - 3600.5
    os.utime(out / "welt-nachrichten" / "atom.xml", (mtime, mtime))
    first = client.get(path)
    last_modified = first.headers["last-modified"]
    assert last_modified == formatdate(mtime, usegmt=True)

    def status(**headers: str) -> int:
        return client.get(path, headers=headers).status_code

    assert status(**{"If-Modified-Since": last_modified}) == 304
    assert status(**{"If-Modified-Since": formatdate(mtime + 60, usegmt=True)}) == 304
    assert status(**{"If-Modified-Since": formatdate(mtime - 60, usegmt=True)}) == 200
    assert status(**{"If-Modified-Since": "not a date"}) == 200
    assert status(**{"If-Modified-Since": formatdate(time.time() + 86400, usegmt=True)}) == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    assert status(**{"If-Modified-Since": last_modified, "If-None-Match": '"other"'}) == 200
    assert status(**{"If-Modified-Since": "x", "If-None-Match": first.headers["etag"]}) == 304


def test_head_has_the_headers_of_get_and_no_body(server: Running) -> None:
    with httpx.Client(base_url=server.url) as client:
        for encoding in ("identity", "gzip", "br"):
            headers = {"Accept-Encoding": encoding}
            get = client.get("/welt-nachrichten/atom.xml", headers=headers)
            head = client.head("/welt-nachrichten/atom.xml", headers=headers)
            assert head.status_code == 200 and head.content == b""
            for name in ("etag", "last-modified", "content-type", "content-length",
                         "cache-control", "vary", "content-encoding"):  # fmt: skip
                assert head.headers.get(name) == get.headers.get(name), (encoding, name)
        conditional = client.head("/", headers={"If-None-Match": "*"})
        assert conditional.status_code == 304
        assert client.head("/welt-nachrichten").status_code == 301
        assert client.head("/missing").status_code == 404


# -- precompressed variants -------------------------------------------------------------------


def raw_body(client: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


DECODERS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.decompress, "br": brotli.decompress}


def test_variants_are_served_with_their_own_validators(server: Running, out: Path) -> None:
    feed = out / "welt-nachrichten" / "atom.xml"
    with httpx.Client(base_url=server.url) as client:
        tags = {}
        for accept, coding in (("identity", None), ("gzip", "gzip"), ("br", "br")):
            response, body = raw_body(
                client, "/welt-nachrichten/atom.xml", **{"Accept-Encoding": accept}
            )
            assert response.headers.get("content-encoding") == coding, accept
            assert response.headers["vary"] == "Accept-Encoding"
            assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
            assert response.headers["content-length"] == str(len(body))
            assert response.headers["last-modified"] == formatdate(
                feed.stat().st_mtime, usegmt=True
            )
            if coding is None:
                assert body == ATOM
            else:
                assert body == (out / f"welt-nachrichten/atom.xml.{coding[:2]}").read_bytes()
                assert DECODERS[coding](body) == ATOM and len(body) < len(ATOM)
            tags[accept] = response.headers["etag"]
        assert len(set(tags.values())) == 3, tags  # other bytes, other tags

        # Each representation answers 304 to its own tag, and 200 to another's.
        for accept, tag in tags.items():
            for sent_for, sent in tags.items():
                response = client.get(
                    "/welt-nachrichten/atom.xml",
                    headers={"If-None-Match": sent, "Accept-Encoding": accept},
                )
                assert response.status_code == (304 if sent_for == accept else 200), (
                    accept,
                    sent_for,
                )
                assert response.headers["etag"] == tag

        # httpx decodes for us: the content a reader sees is the file.
        page = client.get("/", headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip"
        assert page.content == (out / "index.html").read_bytes()


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip;q=0", None),
        ("deflate, gzip;q=0.0", None),
        ("*;q=0", None),
        ("", None),
        ("identity", None),
        ("br;q=0, gzip;q=0", None),
        ("gzip, deflate", "gzip"),
        ("br;q=0.5, gzip;q=1.0", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br", "br"),
        ("*", "br"),
        ("*, br;q=0", "gzip"),
    ],
)
def test_the_variant_follows_accept_encoding(
    server: Running, accept: str, coding: str | None
) -> None:
    with httpx.Client(base_url=server.url) as client:
        response, body = raw_body(
            client, "/welt-nachrichten/atom.xml", **{"Accept-Encoding": accept}
        )
    assert response.headers.get("content-encoding") == coding
    assert (body if coding is None else DECODERS[coding](body)) == ATOM


def test_a_stale_or_missing_variant_is_not_served(own_client: httpx.Client, own_out: Path) -> None:
    out, client = own_out, own_client
    feed = out / "welt-nachrichten" / "atom.xml"
    # A file replaced behind the publisher's back (or a crash between the two renames):
    # the variants no longer carry its mtime, so they are ignored.
    changed = ATOM.replace(b"</feed>", b"<entry><title>neu</title></entry></feed>")
    feed.write_bytes(changed)
    for accept in ("gzip", "br"):
        response, body = raw_body(
            client, "/welt-nachrichten/atom.xml", **{"Accept-Encoding": accept}
        )
        assert "content-encoding" not in response.headers and body == changed
    # Small files get no variants at all: identity for everyone.
    small, body = raw_body(client, "/feeds.opml", **{"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in small.headers
    assert body == (out / "feeds.opml").read_bytes()


def test_accepted_variants() -> None:
    def codings(header: str) -> list[str]:
        return [variant.coding for variant in accepted_variants(header)]

    assert codings("gzip, deflate, br") == ["br", "gzip"]
    assert codings("br;q=1, gzip;q=0.1") == ["br", "gzip"]
    assert codings("gzip;q=0.9, br;q=0.1") == ["gzip", "br"]
    assert codings("*") == ["br", "gzip"]
    assert codings("gzip;q=0, x-gzip") == ["gzip"]
    assert codings("") == []
    assert codings("identity") == []
    assert codings("gzip;q=0") == []
    assert codings("gzip;q=0.000") == []
    assert codings("*;q=0") == []
    assert codings("*, gzip;q=0") == ["br"]
    assert codings("gzip;q=x") == []


# -- containment ------------------------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt",
    "/welt-nachrichten/../../secret.txt",
    "/./../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/welt-nachrichten/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/welt-nachrichten%2F..%2F..%2Fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/%252e%252e/secret.txt",
    "//etc/passwd",
    "///etc/passwd",
    "/%2fetc/passwd",
    "/SECRET_ABS",
    "/%2FSECRET_ABS",
    "//SECRET_ABS",
    "/secret.txt%00.html",
    "/index.html%00",
    "/%00/../secret.txt",
    "/leak.txt",
    "/leakdir/secret.txt",
    "/leakdir/",
    "/leakdir",
    "/passwd",
    "/dotlink.txt",
    "/%ff%fe",
    "http://127.0.0.1/../secret.txt",
    "*",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_nothing_outside_the_output_folder(server: Running, out: Path, target: str) -> None:
    """Each attempt reaches the app (no parser rejects it first) and gets a plain 404."""
    target = target.replace("SECRET_ABS", str(out.parent / "secret.txt").lstrip("/"))
    for method in ("GET", "HEAD"):
        response = raw_get(server.port, target, method)
        assert response.status == 404, (target, method)
        assert SECRET not in response.body and b"root:" not in response.body
        assert response.body == (b"not found\n" if method == "GET" else b"")


@pytest.mark.parametrize(
    "path",
    [
        "/.env",
        "/.hidden/index.html",
        "/.hidden/",
        "/.hidden",
        "/welt-nachrichten/.atom.xml.k2j3h4.tmp",
        "/welt-nachrichten/%2Eatom.xml.k2j3h4.tmp",
        "/.git/config",
        "/.well-known/",
    ],
)
def test_hidden_files_are_never_served(server: Running, path: str) -> None:
    response = raw_get(server.port, path)
    assert response.status == 404
    assert response.body == b"not found\n"


def test_a_missing_output_folder_is_404_not_an_error(tmp_path: Path) -> None:
    with running(app_for(tmp_path / "not-yet")) as srv, httpx.Client(base_url=srv.url) as client:
        assert client.get("/").status_code == 404
        assert client.get("/welt-nachrichten/atom.xml").status_code == 404
        assert client.get("/healthz").status_code == 503


# -- health, metrics, methods -----------------------------------------------------------------


def test_healthz_standalone_needs_the_front_page(own_out: Path) -> None:
    out = own_out
    with running(app_for(out)) as srv, httpx.Client(base_url=srv.url) as client:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        # An old front page is fine: unchanged files keep their mtime.
        os.utime(out / "index.html", (0, 0))
        assert client.get("/healthz").status_code == 200
        (out / "index.html").unlink()
        response = client.get("/healthz")
        assert response.status_code == 503 and "no index.html" in response.text
        assert client.get("/metrics").status_code == 404
        assert client.head("/healthz").status_code == 503


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_healthz_and_metrics_with_the_daemons_metrics(out: Path) -> None:
    clock = FakeClock()
    metrics = Metrics(clock)
    with running(app_for(out, metrics)) as srv, httpx.Client(base_url=srv.url) as client:
        response = client.get("/healthz")
        assert response.status_code == 200 and "not run yet" in response.text  # just started
        metrics.observe_publish(["welt-nachrichten"], 0.25)
        metrics.observe_update(SourceResult("Lokal", FetchOutcome.NEW, new=3), 0.5)
        metrics.observe_tick("claim")
        metrics.observe_tick("publish")
        response = client.get("/healthz")
        assert response.status_code == 200 and "publish loop ran 0s ago" in response.text
        clock.now += timedelta(minutes=9)
        assert client.get("/healthz").status_code == 200
        metrics.observe_tick("claim")  # claiming goes on; publishing has stalled
        clock.now += timedelta(minutes=2)  # 11 min > health_max_age of 10 min
        response = client.get("/healthz")
        assert response.status_code == 503 and "publish loop last ran 660s ago" in response.text
        assert "claim" not in response.text  # only the late loop is named

        scrape = client.get("/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain; version=")
        assert scrape.headers["cache-control"] == "no-store"
        text = scrape.text
        assert 'feeds_fetches_total{outcome="new"} 1.0' in text
        assert 'feeds_entries_stored_total{kind="new"} 3.0' in text
        stamp = next(
            line.rsplit(" ", 1)[1]
            for line in text.splitlines()
            if line.startswith('feeds_last_publish_timestamp_seconds{category="welt-nachrichten"}')
        )
        assert float(stamp) == (clock.now - timedelta(minutes=11)).timestamp()
        assert "feeds_publish_duration_seconds_count 1.0" in text
        # The files are served as well.
        assert client.get("/welt-nachrichten/atom.xml").content == ATOM


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/welt-nachrichten/atom.xml", "/healthz", "/metrics", "/x"])
def test_only_get_and_head(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, content=b"data")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


# -- running ----------------------------------------------------------------------------------


def test_serve_async_stops_on_the_event_and_reports_a_busy_port(out: Path) -> None:
    with running(app_for(out)) as srv:
        assert httpx.get(srv.url + "/healthz").status_code == 200

        async def second() -> None:
            await serve_async(app_for(out), ServerOptions("127.0.0.1", srv.port))

        with pytest.raises(OSError, match=f"cannot serve on 127.0.0.1:{srv.port}"):
            asyncio.run(second())
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/healthz")


def test_serve_async_ends_when_cancelled(out: Path) -> None:
    port = free_port()

    async def scenario() -> int:
        ready = asyncio.Event()
        task = asyncio.create_task(
            serve_async(app_for(out), ServerOptions("127.0.0.1", port), ready)
        )
        await asyncio.wait_for(ready.wait(), 10)
        async with httpx.AsyncClient() as client:
            status = (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return status

    assert asyncio.run(scenario()) == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_blocks_and_exits_cleanly_on_a_signal(out: Path, sig: signal.Signals) -> None:
    port = free_port()
    code = (
        "import sys; from pathlib import Path; from feeds.serve import serve\n"
        "from feeds.server_options import ServerOptions\n"
        f"serve(Path({str(out)!r}), ServerOptions('127.0.0.1', {port}), cache_seconds=60)\n"
        "print('returned', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**FEEDS_ENV, "HOME": str(out.parent)},
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        assert wait_for(up), "not up" if process.poll() is None else process.communicate()[1]
        response = httpx.get(f"http://127.0.0.1:{port}/welt-nachrichten/atom.xml")
        assert response.headers["cache-control"] == "public, max-age=60"
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr
        assert stdout == "returned\n"
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_if_none_match_sent_on_several_lines_is_one_list(client: httpx.Client) -> None:
    """RFC 9110 5.3: a field's lines are one list. Only the first line was read, so a
    client's current ETag on a second line missed its 304."""
    tag = client.get("/welt-nachrichten/atom.xml").headers["etag"]
    for lines in ([("If-None-Match", '"x"'), ("If-None-Match", tag)],
                  [("If-None-Match", tag), ("If-None-Match", '"x"')]):  # fmt: skip
        response = client.get("/welt-nachrichten/atom.xml", headers=httpx.Headers(lines))
        assert response.status_code == 304, lines


def test_an_http_date_without_a_zone_is_gmt_whatever_the_servers_zone(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The asctime form (and a "-0000" zone) parse without a zone: read as the server's
    local time, a date 5 hours before the file's change gave a 304 in New York."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        modified = email.utils.parsedate_to_datetime(
            client.get("/welt-nachrichten/atom.xml").headers["last-modified"]
        )
        before = modified - timedelta(hours=1)
        zoneless = email.utils.format_datetime(before.replace(tzinfo=None)) + " -0000"
        for text in (before.strftime("%a %b %d %H:%M:%S %Y"), zoneless):
            headers = {"If-Modified-Since": text}
            assert client.get("/welt-nachrichten/atom.xml", headers=headers).status_code == 200
        asctime = modified.strftime("%a %b %d %H:%M:%S %Y")
        same = client.get("/welt-nachrichten/atom.xml", headers={"If-Modified-Since": asctime})
        assert same.status_code == 304
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_accept_encoding_values_are_remembered_by_the_variants_they_give() -> None:
    """A client sending a new megabyte of Accept-Encoding with each request filled the
    server's caches: the paths found are keyed by the variants a header gives, and a header
    longer than a real client's is worked out each time, not remembered."""
    before = _ranked_variants.cache_info().currsize
    for number in range(50):
        long = f"gzip, {number}" + "x" * 10_000
        assert accepted_variants(long) == accepted_variants("gzip")
    assert _ranked_variants.cache_info().currsize <= before + 1  # "gzip" itself
