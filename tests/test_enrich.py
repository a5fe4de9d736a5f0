"""The enrichment stage: a test enricher through a real `feeds update` (a subprocess that
registers it with `feeds.enrich.registered`), and enrichers that raise or overrun."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, REPO
from support.feedserver import FeedServer

from feeds.enrich import EnrichJob, enrich_articles, enrichers_for, registered
from feeds.model import Article, Source, SourceKind
from feeds.store import ArticleStore

DEADLINE = 6  # seconds: the parse deadline, which enrichment shares


class Tagger:
    """Tags every article "enriched"; raises for the source "Broken" and never ends for the
    source "Slow" (module level: it is pickled into the worker processes)."""

    name = "tagger"

    def enrich(self, source: Source, articles: Sequence[Article]) -> Sequence[Article]:
        if source.name == "Broken":
            raise RuntimeError("no full text here")
        if source.name == "Slow":
            time.sleep(3600)
        return [replace(a, tags=(*a.tags, "enriched")) for a in articles]


class NotArticles:
    name = "not-articles"

    def enrich(self, source: Source, articles: Sequence[Article]) -> Sequence[Article]:
        return ["not an article"]  # type: ignore[list-item]


class Thief:
    name = "thief"

    def enrich(self, source: Source, articles: Sequence[Article]) -> Sequence[Article]:
        return [replace(a, source="Other") for a in articles]


LAUNCH = """
import sys
from feeds.__main__ import main
from feeds.enrich import registered
from test_enrich import Tagger
with registered(Tagger()):
    main()
"""

SEED = """Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales

Ein lokaler Artikel

Ein lokaler Artikel

Erster Absatz.
"""


def update_with_tagger(tmp_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**FEEDS_ENV, "HOME": str(tmp_path), "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, "--config", str(config), "update"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_an_enricher_changes_articles_and_a_failing_one_fails_only_its_source(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    for name in ("technik", "broken"):
        item = FeedItem(id=f"{name}-0", title=f"{name} 0", link=f"https://e.com/{name}/0")
        feed_server.add(f"/{name}", rss20([item]))
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "artikel.txt").write_text(SEED, encoding="utf-8")
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'
        f'[fetch]\nparse_deadline = "{DEADLINE}s"\n'
        f'[[sources]]\nname = "Technik"\nurl = "{feed_server.url("/technik")}"\n'
        'category = "Technik"\n'
        f'[[sources]]\nname = "Broken"\nurl = "{feed_server.url("/broken")}"\n'
        'category = "Technik"\n'
        '[[sources]]\nname = "Slow"\npath = "local"\ncategory = "Lokales"\n',
        encoding="utf-8",
    )
    done = update_with_tagger(tmp_path, config)
    assert done.returncode == 0, done.stderr
    assert "3 source(s) updated: 3 new, 0 changed, 0 failed" in done.stdout
    assert "Broken: stored unenriched: enricher tagger failed: RuntimeError" in done.stderr
    assert f"Slow: stored unenriched: enrichment took longer than {DEADLINE}s" in done.stderr

    store = ArticleStore.open(f"sqlite:///{tmp_path / 'feeds.db'}")
    try:
        tags = {a.source: a.tags for a in store.recent_articles(None, 10)}
        states = store.fetch_states()
    finally:
        store.close()
    # Enriched where it worked; stored as read (not lost) where the enricher failed.
    assert tags == {"Technik": ("enriched",), "Broken": (), "Slow": ()}
    assert "stored unenriched: enricher tagger failed" in (states["Broken"].warnings or "")
    assert "stored unenriched: enrichment took longer" in (states["Slow"].warnings or "")
    assert states["Technik"].warnings is None

    published = json.loads((tmp_path / "out" / "all" / "feed.json").read_text(encoding="utf-8"))
    by_title = {item["title"]: item.get("tags", []) for item in published["items"]}
    assert "enriched" in by_title["technik 0"]
    assert "enriched" not in by_title["broken 0"]
    assert "enriched" not in by_title["Ein lokaler Artikel"]


def test_no_enricher_is_registered_by_default_and_registration_ends_with_its_block() -> None:
    source = Source("s", SourceKind.REMOTE, timedelta(minutes=30), url="https://e.org/f")
    assert enrichers_for(source) == ()
    tagger = Tagger()
    with registered(tagger):
        assert enrichers_for(source) == (tagger,)
    assert enrichers_for(source) == ()


def test_an_enricher_that_returns_what_is_not_its_sources_articles_fails_its_source() -> None:
    source = Source("s", SourceKind.REMOTE, timedelta(minutes=30), url="https://e.org/f")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    article = Article(
        id="1",
        source="s",
        entry_id="e1",
        title="t",
        link="https://e.org/1",
        summary="",
        content="",
        authors=(),
        published=when,
        updated=when,
        categories=("C",),
        language=None,
    )
    done = enrich_articles(EnrichJob(source, (article,), (NotArticles(),)))
    assert done.articles is None
    assert done.error == (
        "enricher not-articles failed: TypeError: returned something that is not an Article"
    )
    done = enrich_articles(EnrichJob(source, (article,), (Thief(),)))
    assert done.articles is None
    assert done.error == "enricher thief failed: ValueError: returned an article of another source"
    tagged = enrich_articles(EnrichJob(source, (article,), (Tagger(),)))
    assert tagged.articles == (replace(article, tags=("enriched",)),)
