"""Run K `feeds run` daemons on one config until every source has been fetched once.

    python bench/workers.py --config FEEDS.toml --workers K --sources N [--timeout S]

The bench measures this whole process tree (this script, the daemons and their parser
workers) as one phase: the wall time until all N sources are fetched and the CPU it took.
Exits 0 when done, 1 on timeout or when a daemon died.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

from feeds.config import load_config
from feeds.store import ArticleStore
from feeds.store.schema import source_state
from sqlalchemy import func, select


def fetched(store: ArticleStore) -> int:
    query = select(func.count()).where(source_state.c.last_fetch_utc.is_not(None))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--sources", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    config = load_config(args.config)
    store = ArticleStore.open(config.storage.url)
    command = [sys.executable, "-m", "feeds", "--config", str(args.config), "run", "--tick", "1"]
    daemons = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(args.workers)
    ]
    deadline = time.monotonic() + args.timeout
    try:
        while fetched(store) < args.sources:
            if time.monotonic() > deadline or any(d.poll() is not None for d in daemons):
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(daemons)
        store.close()


def stop(daemons: list[subprocess.Popen[bytes]], seconds: float = 60) -> None:
    """SIGTERM to those still running, then wait for each."""
    for daemon in daemons:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
    for daemon in daemons:
        daemon.wait(timeout=seconds)


if __name__ == "__main__":
    sys.exit(main())
