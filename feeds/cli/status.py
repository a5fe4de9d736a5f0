"""`feeds status`: every source's last fetch and health, and what the last publishes could
not render, as a table or JSON."""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from feeds.cli.runtime import load, open_store, stdout, utc_now
from feeds.model import ScopeProblems
from feeds.status import (
    PROBLEMS_HEADING,
    SourceStatus,
    age_text,
    narrow_lines,
    next_due_text,
    outcome_text,
    problem_count,
    problem_lines,
    problem_rows,
    problems_json,
    source_statuses,
)
from feeds.store import stored_publish_problems
from feeds.terminal_text import terminal_safe


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--problems",
    "only_problems",
    is_flag=True,
    help="Only what the last publishes could not render (with --json: a list of them).",
)
@click.pass_obj
def status(config_path: str | None, as_json: bool, only_problems: bool) -> None:
    """Show every source's last fetch, outcome, items and errors, trouble first; then the
    entries, categories and pages the last publishes could not render."""
    config = load(config_path)
    with open_store(config) as store:
        rows: list[SourceStatus] = []
        if not only_problems:
            rows = source_statuses(
                config, store.fetch_states(), store.article_counts(), store.full_text_tallies()
            )
        problems = stored_publish_problems(store.engine)
    if as_json:
        # Two lists, never one object: scripts reading the list of sources keep working.
        data = problems_json(problems) if only_problems else [r.as_json() for r in rows]
        stdout.print_json(json.dumps(data, ensure_ascii=False))
        return
    now = utc_now()
    wide = stdout.is_terminal and stdout.width >= WIDE_STATUS
    if not only_problems:
        _print_status(rows, now, wide)
        if problems:
            stdout.print()
    elif not problems:
        stdout.print(f"no {PROBLEMS_HEADING}")
    _print_problems(problems, now, wide)


# Below this many columns (and on a pipe) the status is plain lines, not a table.
WIDE_STATUS = 120


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        stdout.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)


def _width() -> int:
    return stdout.width if stdout.is_terminal else 80


def _print_status(rows: list[SourceStatus], now: datetime, wide: bool) -> None:
    if not wide:
        _print_lines(narrow_lines(rows, now, _width()))
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


def _print_problems(scopes: list[ScopeProblems], now: datetime, wide: bool) -> None:
    if not scopes:
        return
    if not wide:
        _print_lines(problem_lines(scopes, now, _width()))
        return
    table = Table(title=f"{PROBLEMS_HEADING} ({problem_count(scopes)})", title_justify="left")
    for column in ("scope", "found", "problem"):
        table.add_column(column, overflow="fold")
    for cells in problem_rows(scopes, now):
        table.add_row(*(Text(terminal_safe(cell)) for cell in cells), style="red")
    stdout.print(table)
