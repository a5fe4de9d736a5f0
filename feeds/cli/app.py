"""The `feeds` command group: its global options, and each command loaded from its module
when called.
"""

from __future__ import annotations

import gc
import importlib
import logging
from typing import Any, ClassVar

import click

from feeds import __version__, early_signals
from feeds.cli.errors import Fatal
from feeds.cli.runtime import STORE_URL, log
from feeds.logs import configure_logging


class _Commands(click.Group):
    """The command group; a command's module is imported only when it is called."""

    LAZY: ClassVar[dict[str, str]] = {
        "check": "feeds.cli.check",
        "update": "feeds.cli.update",
        "publish": "feeds.cli.update",
        "run": "feeds.cli.daemon",
        "serve": "feeds.cli.daemon",
        "migrate-store": "feeds.cli.migrate",
        "status": "feeds.cli.status",
        "sources": "feeds.cli.sources",
        "opml": "feeds.cli.sources",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            module = importlib.import_module(self.LAZY[name])
            command: click.Command = getattr(module, name.replace("-", "_"))
            return command
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure of the store or the disk under it becomes one
        `Error:` line saying what to do, exit 1 (the traceback only with -v)."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            from feeds.failures import explain_failure  # only when something failed

            message = explain_failure(exc, ctx.meta.get(STORE_URL))
            if message is None:
                raise  # not a failure we know: a bug, shown whole
            log.info("the command failed with:", exc_info=exc)
            raise Fatal(message) from None


def _named_file(value: str | None) -> str | None:
    # `--config "$CFG"` with CFG unset: the default config would be used, and edited.
    if value is not None and not value:
        raise click.BadParameter("names no file", param_hint="'--config'")
    return value


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="feeds")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: $FEEDS_CONFIG, else config/feeds.toml).",
    callback=lambda _ctx, _param, value: _named_file(value),
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for people, or JSON lines for log shippers.",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, log_format: str) -> None:
    """feeds: pull sources, store articles, publish per-category Atom, RSS and JSON Feed."""
    # What start-up loaded lives as long as the process: out of the collector's reach, a
    # full collection no longer walks every module's objects (5-10% of a warm update).
    gc.freeze()
    gc.enable()  # off while the program loaded (feeds/__main__.py)
    if ctx.invoked_subcommand not in early_signals.HOLDING_COMMANDS:
        early_signals.release()  # held only for the daemon and the server (feeds/__main__.py)
    configure_logging(
        max(logging.WARNING - 10 * verbose, logging.DEBUG),
        log_format,
        operations=ctx.invoked_subcommand in ("run", "serve"),
    )
    ctx.obj = config_path
