"""`feeds check`: the config validated, its sources and categories listed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from feeds.cli.runtime import load, stdout
from feeds.config import Config
from feeds.publish.orchestrate import config_category_names, site_for
from feeds.request_options import DIRECT, masked_proxy
from feeds.slugs import assign_slugs, category_key
from feeds.sources.proxies import EnvironmentProxies
from feeds.store import ArticleStore, StoreError


@click.command()
@click.pass_obj
def check(config_path: str | None) -> None:
    """Validate the config, list its sources and every category with its URL."""
    config = load(config_path)
    stdout.print(f"{config.path}: OK, {len(config.sources)} source(s)")
    stdout.print(f"proxy: {fetch_proxy_line(config.fetch.proxy, os.environ)}", markup=False)
    for source in config.sources:
        where = source.url or str(source.path)
        category = source.category or "(from the files)"
        stdout.print(f"  {source.name} [{source.kind.value}] -> {category}: {where}", markup=False)
        options = source.request.describe()
        if options:
            stdout.print(f"    options: {'; '.join(options)}", markup=False)
    stored, note = _stored_category_slugs(config)
    named = config_category_names(config)
    slugs = assign_slugs(stored, named)
    in_config = {category_key(name) for name in named}
    others = sorted((n for n in stored if category_key(n) not in in_config), key=str.casefold)
    stored_keys = {category_key(name) for name in stored}
    stdout.print(f"categories ({len(named) + len(others)}){f', {note}' if note else ''}:")
    site = site_for(config, slugs)
    for name in (*named, *others):
        url = site.layout.feed_url(site.category_slug(name), "html")
        new = "" if category_key(name) in stored_keys else "  (new: kept from its first update)"
        stdout.print(f"  {name}: {url}{new}", markup=False)


def _stored_category_slugs(config: Config) -> tuple[dict[str, str], str | None]:
    """The category slugs the store keeps, and a note when it has none to give: no store
    yet (never created here), or one that cannot be read."""
    url = config.storage.url
    if url.startswith("sqlite") and not Path(url.split(":///", 1)[1]).exists():
        return {}, "no store yet"
    try:
        store = ArticleStore.open(url)
    except StoreError as exc:
        return {}, f"store not read ({exc})"
    try:
        return store.category_slugs(), None
    finally:
        store.close()


def fetch_proxy_line(proxy: str | None, env: Mapping[str, str]) -> str:
    """How sources without a proxy of their own connect: `[fetch] proxy`, or the
    environment's proxies as they are used (credentials masked), or direct."""
    if proxy == DIRECT:
        return 'direct ([fetch] proxy = "none")'
    if proxy is not None:
        return f"{masked_proxy(proxy)} ([fetch] proxy)"
    environment = EnvironmentProxies.read(env)
    routes = (
        ("http", environment.http),
        ("https", environment.https),
        ("other", environment.fallback),
    )
    found = [f"{what} {masked_proxy(r.proxy)} (${r.origin})" for what, r in routes if r]
    if not found:
        return "direct (no proxy variable set)"
    if environment.no_proxy:
        found.append(f"not for {','.join(environment.no_proxy)} ($NO_PROXY)")
    return "from the environment: " + ", ".join(found)
