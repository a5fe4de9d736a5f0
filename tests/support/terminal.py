"""Reading what a process wrote to a pseudo-terminal, as a user's terminal shows it."""

from __future__ import annotations

import os
import select


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
