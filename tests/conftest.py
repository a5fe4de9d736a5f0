from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.cannedweb import CannedWeb
from support.feedserver import FeedServer, serve
from support.postgres import PG, wait_for_postgres

from feeds.store import ArticleStore


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 serving the routes a test adds."""
    yield from serve()


@pytest.fixture
def canned_web() -> CannedWeb:
    """Canned responses for the production HTTP client, with no server (`web.client(...)`)."""
    return CannedWeb()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'feeds.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL for a fresh schema in the PostgreSQL test database, dropped afterwards.

    Outside CI the test skips when PostgreSQL is unreachable; with CI set it fails.
    """
    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}")
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        wait_for_postgres()  # a test may have restarted it
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArticleStore]:
    """An open store on a new SQLite file, and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'feeds.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    opened = ArticleStore.open(url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """feeds honours HTTP_PROXY and friends: a proxy set where the tests run must not carry
    their loopback requests away (tests of proxies give their own environment)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
