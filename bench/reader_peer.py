"""One update of every feed with reader (https://pypi.org/project/reader/), a bench peer.

    READER_VENV/bin/python bench/reader_peer.py --db FILE --urls FILE

Runs in a venv of its own with `reader==3.27` (it needs Python 3.12 or newer; `run.py`
makes that venv), so it imports nothing of ours. On a new database it first adds every URL
as a feed; then `update_feeds_iter(scheduled=False, workers=1)`: every feed, due or not, one
worker, conditional GET with the validators reader kept. Prints one JSON line: feeds
updated, new entries, errors, and the entries stored in total.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reader import UpdateError, make_reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--urls", type=Path, required=True, help="file with one URL per line")
    args = parser.parse_args()
    new_db = not args.db.exists()
    reader = make_reader(str(args.db))
    if new_db:
        for url in args.urls.read_text(encoding="utf-8").split():
            reader.add_feed(url)
    results = updated = new = 0
    errors: list[str] = []
    for result in reader.update_feeds_iter(scheduled=False, workers=1):
        results += 1
        if isinstance(result.value, UpdateError):
            errors.append(f"{result.url}: {result.value}")
        elif result.value is not None:  # None: not modified
            updated += 1
            new += result.value.new
    stored = reader.get_entry_counts().total
    reader.close()
    print(
        json.dumps(
            {"feeds": results, "updated": updated, "new": new, "errors": errors, "stored": stored}
        )
    )


if __name__ == "__main__":
    main()
