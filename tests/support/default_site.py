"""The shipped default site for tests that run it: the tests' own copy of the default
config (tests/data/default-feeds.toml, as config/feeds.toml ships) and the seed article.

Tests never read the checkout's config/feeds.toml or list config/articles/: a user may have
edited the one and added files to the other. The seed article file itself ships unchanged
and is copied from the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.feeds_cli import SEED

DEFAULT_CONFIG = Path(__file__).parent.parent / "data" / "default-feeds.toml"


def install_default_site(root: Path) -> Path:
    """Lay out `root/config/feeds.toml` (the default config) and `root/config/articles/`
    holding the seed article, as a checkout ships them; returns the config's path. Its
    output goes to `root/output/` and its store to `root/var/`."""
    articles = root / "config" / "articles"
    articles.mkdir(parents=True)
    shutil.copy(SEED, articles)
    config = root / "config" / "feeds.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    return config
