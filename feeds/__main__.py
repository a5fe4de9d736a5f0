"""The `feeds` command and `python -m feeds`: the daemon's signals are held before the rest
of the program is imported (see feeds/early_signals.py), then the CLI runs."""

import sys

from feeds.early_signals import hold_for


def main() -> None:
    """Entry point of the `feeds` command."""
    hold_for(sys.argv[1:])
    from feeds.cli.app import main as cli  # after the hold: importing the stages takes a moment

    cli()


if __name__ == "__main__":
    main()
