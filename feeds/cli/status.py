"""`feeds status`: every source's last fetch and health, as a table or JSON."""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from feeds.cli.runtime import load, open_store, stdout, utc_now
from feeds.status import (
    SourceStatus,
    age_text,
    narrow_lines,
    next_due_text,
    outcome_text,
    source_statuses,
    terminal_safe,
)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def status(config_path: str | None, as_json: bool) -> None:
    """Show every source's last fetch, outcome, items and errors; trouble first."""
    config = load(config_path)
    with open_store(config) as store:
        rows = source_statuses(
            config, store.fetch_states(), store.article_counts(), store.full_text_tallies()
        )
    if as_json:
        stdout.print_json(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return
    _print_status(rows, utc_now())


# Below this many columns (and on a pipe) the status is plain lines, not a table.
WIDE_STATUS = 120


def _print_status(rows: list[SourceStatus], now: datetime) -> None:
    if not stdout.is_terminal or stdout.width < WIDE_STATUS:
        width = stdout.width if stdout.is_terminal else 80
        for line in narrow_lines(rows, now, width):
            stdout.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)
        return
    table = Table(title=f"{len(rows)} source(s)", title_justify="left")
    for column in ("source", "category", "last fetch", "outcome", "items", "errors", "next due"):
        table.add_column(column, overflow="fold")
    for row in rows:
        errors = str(row.error_count) + (f": {row.last_error}" if row.last_error else "")
        if row.warnings and not row.error_count:
            errors += f" (warnings: {row.warnings})"
        style = "red" if row.trouble <= 1 else None
        cells = (
            row.name,
            row.category or "(files)",
            age_text(row.last_fetch, now),
            outcome_text(row),
            str(row.items) + (f"\nfull text: {row.full_text}" if row.full_text else ""),
            errors,
            next_due_text(row, now),
        )
        # Text, not markup: a "[/]" in a server's error text is shown, not parsed.
        table.add_row(*(Text(terminal_safe(cell)) for cell in cells), style=style)
    stdout.print(table)
