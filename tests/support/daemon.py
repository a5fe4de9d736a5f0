"""`feeds run` as a subprocess with its metrics on a free port, as an operator starts it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.feeds_cli import FEEDS_ENV


@contextmanager
def daemon_with_metrics(config: Path, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`feeds -v --config CONFIG run --tick 0.5 --metrics-port 0` in `cwd`: the process and
    the base URL of its metrics server (`/metrics`, `/healthz`), once it serves them. The
    test stops it (and checks how); one still running at the end is killed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "-v", "--config", str(config), "run", "--tick", "0.5",
         "--metrics-port", "0"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**FEEDS_ENV, "HOME": str(cwd)},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = ""
        while "metrics on" not in line:
            line = process.stderr.readline()
            assert line, "daemon ended before serving metrics"
        yield process, line.split("metrics on ")[1].strip().removesuffix("/metrics")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
