"""The checkout under test and `python -m feeds` run in it as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SEED = REPO / "config" / "articles" / "000_eea36ed84745c21c.txt"
# What a `feeds` subprocess sees: no proxies or user settings, this checkout importable.
FEEDS_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}


def run_feeds(
    *args: str, cwd: Path = REPO, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m feeds ARGS` run as a user would, in `cwd` (also its HOME), with `env`
    added to its environment."""
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**FEEDS_ENV, "HOME": str(cwd), **(env or {})},
    )


def start_feeds(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """`python -m feeds ARGS` started in `cwd` (also its HOME), its stderr piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**FEEDS_ENV, "HOME": str(cwd)},
    )
