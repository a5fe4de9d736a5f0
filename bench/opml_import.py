"""How long `feeds opml import --no-check` takes for 1,000, 4,000 and 20,000 outlines.

Not a test: it prints one line per size. Each size starts from the shipped-style config
(one local source) in a fresh temp folder; the OPML is written by our own `write_opml`, one
folder per 50 feeds, every URL distinct. Run from the checkout with the project's venv:

    .venv/bin/python bench/opml_import.py [--sizes 1000,4000,20000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from feeds.model import Source, SourceKind
from feeds.opml_file import write_opml

CONFIG = """\
[output]
dir = "out"

[storage]
url = "sqlite:///var/feeds.db"

[[sources]]
name = "Local"
path = "articles/"
"""


def opml_of(count: int) -> bytes:
    """An OPML list of `count` distinct remote feeds in folders of 50."""
    sources = [
        Source(
            name=f"Feed {i}",
            kind=SourceKind.REMOTE,
            interval=timedelta(minutes=30),
            url=f"https://host{i % 97}.example/feeds/{i}.xml",
            category=f"Folder {i // 50}",
        )
        for i in range(count)
    ]
    return write_opml(sources, title="bench")


def import_once(count: int, feeds: Path) -> float:
    """Seconds one `feeds opml import --no-check` of `count` outlines takes."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        (folder / "articles").mkdir()
        config = folder / "feeds.toml"
        config.write_text(CONFIG, encoding="utf-8")
        listing = folder / "list.opml"
        listing.write_bytes(opml_of(count))
        command = [str(feeds), "--config", str(config), "opml", "import", str(listing)]
        started = time.perf_counter()
        done = subprocess.run([*command, "--no-check"], capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"import of {count} failed ({done.returncode}): {done.stderr[-2000:]!r}")
        first = done.stdout.splitlines()[0].decode()
        if first != f"added {count}, skipped 0":
            sys.exit(f"import of {count} said {first!r}")
        return elapsed


def main() -> None:
    """Print the import time for each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,20000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    feeds = Path(sys.executable).parent / "feeds"
    for count in sizes:
        print(f"{count:>6} outlines: {import_once(count, feeds):6.2f} s", flush=True)


if __name__ == "__main__":
    main()
