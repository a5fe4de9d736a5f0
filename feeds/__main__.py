"""The `feeds` command and `python -m feeds`: the daemon's signals are held before the rest
of the program is imported (see feeds/early_signals.py), then the CLI runs."""

import gc
import sys

from feeds.early_signals import hold_for


def main() -> None:
    """Entry point of the `feeds` command."""
    hold_for(sys.argv[1:])
    # No cycle collection while the program loads: nearly all it makes lives as long as the
    # process, so each collection then (about 40 ms of a warm update's 1.1 s) freed nothing.
    # The command group freezes what was loaded and turns the collector on (feeds/cli/app.py).
    gc.disable()
    # httpx's package imports its own command-line client, and with it rich's progress bars,
    # tables and syntax highlighting and pygments (about 12 ms); feeds never runs it. A None
    # here makes that import fail, which httpx answers with a stub `httpx.main`, as it does
    # when its "cli" extra is not installed.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from feeds.cli.app import main as cli  # after the hold: importing the stages takes a moment

    cli()


if __name__ == "__main__":
    main()
