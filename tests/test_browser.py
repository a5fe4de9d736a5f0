"""The published site in a real browser: `feeds update` on the shipped config, served by
`feeds.serve`, loaded by Debian's headless Chromium.

Without /usr/bin/chromium these tests skip, except under CI (`CI` set), where they fail:
install it with `apt-get install -y chromium`.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from lxml import etree
from support.default_site import install_default_site
from support.feeds_cli import run_feeds
from support.inprocess_server import Running, free_port, running
from support.namespaces import ATOM

from feeds.serve import create_app

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SEED_TITLE = "Russland und USA planen bald Botschaftsgespräche"
SEED_QUOTE = "„Ja, es wird stattfinden."
PHONE = (390, 844)
KEPT_SCREENSHOT = Path("/tmp/feeds-front.png")


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Running]:
    """The shipped config, published by `feeds update` and served on a free port.

    The copy's base_url names that port, so the links in the pages and feeds lead to
    this server, as they would at the real base_url.
    """
    root = tmp_path_factory.mktemp("browser")
    config = install_default_site(root)
    port = free_port()
    text = config.read_text(encoding="utf-8")
    shipped = 'base_url = "http://localhost:8080/"'
    assert shipped in text, "the shipped config changed its base_url line"
    config.write_text(
        text.replace(shipped, f'base_url = "http://127.0.0.1:{port}/"'), encoding="utf-8"
    )
    result = run_feeds("--config", str(config), "update", cwd=root)
    assert result.returncode == 0, result.stderr
    output = root / "output"
    assert (output / "index.html").is_file()
    app = create_app(output, metrics=None, health_max_age=timedelta(hours=1), cache_seconds=60)
    with running(app, port) as server:
        yield server


def browse(chromium: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with its own profile, and no traffic but to our server."""
    profile.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "HOME": str(profile)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def dump_dom(chromium: Path, profile: Path, url: str) -> str:
    dom = browse(chromium, profile, "--dump-dom", url).stdout
    assert "<html" in dom, dom[:500]
    return dom


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_front_page_in_a_browser(chromium: Path, site: Running, tmp_path: Path) -> None:
    dom = dump_dom(chromium, tmp_path / "profile", site.url + "/")
    assert "<h1>feeds</h1>" in dom
    assert ">Welt Nachrichten</a>" in dom  # the category is listed, with its link
    # Pages link relatively (they work from disk too); autodiscovery names the public URL.
    assert 'href="welt-nachrichten/index.html"' in dom
    assert SEED_TITLE in dom
    assert '<link rel="alternate" type="application/atom+xml"' in dom
    assert '<link rel="alternate" type="application/rss+xml"' in dom
    assert '<link rel="alternate" type="application/feed+json"' in dom
    assert f'href="{site.url}/welt-nachrichten/atom.xml"' in dom
    assert "<script" not in dom.lower()


def test_front_page_on_a_phone(chromium: Path, site: Running, tmp_path: Path) -> None:
    shot = tmp_path / "front.png"
    width, height = PHONE
    browse(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={width},{height}",
        site.url + "/",
    )
    assert shot.is_file()
    data = shot.read_bytes()
    assert len(data) > 5 * 1024, f"only {len(data)} bytes: a blank page?"
    assert png_size(data) == PHONE
    shutil.copyfile(shot, KEPT_SCREENSHOT)  # for a person to look at


def test_category_and_article_pages(chromium: Path, site: Running, tmp_path: Path) -> None:
    category = dump_dom(chromium, tmp_path / "profile", site.url + "/welt-nachrichten/")
    assert "<h1>Welt Nachrichten</h1>" in category
    assert SEED_TITLE in category
    assert '<link rel="alternate" type="application/atom+xml"' in category
    assert "<script" not in category.lower()

    # Follow the entry's link in the Atom feed, as a feed reader's user would.
    atom = httpx.get(site.url + "/welt-nachrichten/atom.xml")
    assert atom.headers["content-type"] == "application/atom+xml; charset=utf-8"
    entry = etree.fromstring(atom.content).find(f"{ATOM}entry")
    assert entry is not None and entry.findtext(f"{ATOM}title") == SEED_TITLE
    link = entry.find(f"{ATOM}link")
    assert link is not None
    href = link.get("href", "")
    assert href.startswith(site.url + "/articles/"), href
    article = dump_dom(chromium, tmp_path / "profile", href)
    assert f"<h1>{SEED_TITLE}</h1>" in article
    assert SEED_QUOTE in article
    assert "Botschaftsgespräche" not in article.split("</h1>", 1)[1]  # headline not repeated
    assert "<script" not in article.lower()
