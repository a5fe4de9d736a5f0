"""Reading what a process wrote to a pseudo-terminal, as a user's terminal shows it."""

from __future__ import annotations

import os


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
