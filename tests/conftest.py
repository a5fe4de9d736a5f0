from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from feedserver import FeedServer, serve

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "config" / "articles" / "000_eea36ed84745c21c.txt"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 serving the routes a test adds."""
    yield from serve()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'feeds.db'}"
