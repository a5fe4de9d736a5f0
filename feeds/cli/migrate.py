"""`feeds migrate-store`: copy the store into another."""

from __future__ import annotations

import click

from feeds.cli.errors import Fatal
from feeds.cli.runtime import exclusive, load, open_store, stdout
from feeds.store import ArticleStore, StoreError


@click.command("migrate-store")
@click.option("--to", "target_url", required=True, metavar="URL", help="The new, empty store.")
@click.pass_obj
def migrate_store(config_path: str | None, target_url: str) -> None:
    """Copy the configured store into another (SQLite to PostgreSQL), then point
    [storage] url at it. The target must be empty; nothing may run meanwhile."""
    from feeds.store.copy import CopyError, copy_store

    config = load(config_path)
    with open_store(config) as source, exclusive(source, 0.0):
        try:
            target = ArticleStore.open(target_url)
        except StoreError as exc:
            raise Fatal(str(exc)) from None
        try:
            counts = copy_store(source, target)
        except CopyError as exc:
            raise Fatal(str(exc)) from None
        finally:
            target.close()
    for table, count in counts.items():
        stdout.print(f"  {table}: {count} row(s)")
    stdout.print(f"Copied. Now set [storage] url = {target_url!r} in {config.path}.")
