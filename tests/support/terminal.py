"""Reading what a process wrote to a pseudo-terminal, as a user's terminal shows it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from support.feeds_cli import FEEDS_ENV


def read_terminal(leader: int) -> bytes:
    """Everything written to the terminal whose leader end is `leader`, until the process
    on the other end has closed it."""
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    return output


def read_until(leader: int, marker: bytes, timeout: float = 60) -> bytes:
    """What the process writes to the terminal up to and including `marker` (a prompt it
    shows before it reads); raises AssertionError with what came if the terminal closes or
    nothing matching comes within `timeout` seconds (a hang, not a measure of speed)."""
    output = b""
    while marker not in output:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            raise AssertionError(f"no {marker!r} within {timeout}s; the terminal showed {output!r}")
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            raise AssertionError(f"the terminal closed before {marker!r}: {output!r}")
        output += chunk
    return output


def on_a_terminal(args: list[str], cwd: Path, columns: int) -> str:
    """Run `feeds ARGS` with a terminal `columns` wide as its stdout; what it showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
        env={**FEEDS_ENV, "HOME": str(cwd), "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    output = read_terminal(leader)
    assert process.wait(timeout=60) == 0, output
    os.close(leader)
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours take no columns
