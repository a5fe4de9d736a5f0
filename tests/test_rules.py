"""Filters and category rules: config errors, the pure decisions, and the pipeline."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.cannedweb import CannedWeb
from support.feedfactory import FeedItem, rss20

from feeds.config import ConfigError, load_config
from feeds.model import Article, Author, Rule, RuleAction, article_id
from feeds.rules import apply_rules, matches
from feeds.store import ArticleStore
from feeds.update.run import update_sources

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def article(title: str, *, author: str = "Ada", link: str = "https://e.org/a") -> Article:
    return Article(
        id=article_id("s", title), source="s", entry_id=title, title=title, link=link,
        summary="", content=f"<p>About <b>{title}</b></p>", authors=(Author(author),),
        published=NOW, updated=NOW, categories=("Technik",), language=None,
    )  # fmt: skip


def rule(action: RuleAction, category: str | None = None, **fields: str) -> Rule:
    return Rule(action, category=category, **{k: re.compile(v) for k, v in fields.items()})


def test_all_named_fields_must_match() -> None:
    r = rule(RuleAction.DROP, title="(?i)sponsored", author="^Bot$")
    assert matches(r, article("Sponsored post", author="Bot"))
    assert not matches(r, article("Sponsored post", author="Ada"))
    assert matches(rule(RuleAction.DROP, content="About Rust"), article("Rust"))  # text, not tags
    assert not matches(rule(RuleAction.DROP, content="<b>"), article("Rust"))
    assert matches(rule(RuleAction.DROP, link=r"\.mp3$"), article("x", link="https://e.org/a.mp3"))


def test_keep_drop_and_extra_categories() -> None:
    entries = [article("Python 3.14"), article("Rust news"), article("Sponsored: Python")]
    rules = (
        rule(RuleAction.KEEP, title="Python|Rust"),
        rule(RuleAction.DROP, title="^Sponsored"),
        rule(RuleAction.CATEGORY, category="Sprachen", title="Python"),
    )
    result = apply_rules(entries, rules)
    assert result.dropped == 1
    assert [(a.title, a.categories) for a in result.articles] == [
        ("Python 3.14", ("Technik", "Sprachen")),
        ("Rust news", ("Technik",)),
    ]
    assert apply_rules(entries, ()).articles == tuple(entries)
    only_keep = apply_rules(entries, (rule(RuleAction.KEEP, title="Rust"),))
    assert [a.title for a in only_keep.articles] == ["Rust news"]


def test_rule_config_errors_name_the_source_rule_and_key(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[[rules]]\naction = "drop"\ntitle = "(unclosed"\n'
        '[[rules]]\naction = "explode"\ntitle = "x"\n'
        '[[rules]]\naction = "category"\ntitle = "x"\n'
        '[[rules]]\naction = "drop"\n'
        '[[sources]]\nname = "S"\nurl = "https://e.org/f"\ncategory = "C"\n'
        '[[sources.rules]]\naction = "keep"\nauthor = "[z-a]"\ncolour = "red"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "rules[1] key 'title': invalid regular expression '(unclosed'" in text
    assert "rules[2] key 'action': must be keep, drop or category, not 'explode'" in text
    assert "rules[3] key 'category': is required with action = \"category\" only" in text
    assert "rules[4] needs at least one of title, content, author, link" in text
    assert "sources[1] (\"S\") rules[1] key 'author': invalid regular expression" in text
    assert "sources[1] (\"S\") rules[1] key 'colour': unknown key" in text


def test_rules_in_the_pipeline(tmp_path: Path, canned_web: CannedWeb) -> None:
    items = [
        FeedItem(id="1", title="Python release", link="https://e.org/1", html="<p>x</p>"),
        FeedItem(id="2", title="Sponsored: buy now", link="https://e.org/2", html="<p>x</p>"),
        FeedItem(id="3", title="Podcast episode", link="https://e.org/3.mp3", html="<p>x</p>"),
    ]
    url = canned_web.add("/f", rss20(items))
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[storage]\nurl = "sqlite:///feeds.db"\n'
        '[[rules]]\naction = "category"\ncategory = "Podcasts"\nlink = "\\\\.mp3$"\n'
        f'[[sources]]\nname = "S"\nurl = "{url}"\ncategory = "Technik"\n'
        '[[sources.rules]]\naction = "drop"\ntitle = "^Sponsored"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    store = ArticleStore.open(config.storage.url)

    async def run() -> None:
        async with canned_web.client(config.fetch) as client:
            await update_sources(config, store, client, lambda: NOW)

    asyncio.run(run())
    technik = {a.title for a in store.recent_articles("technik", 10)}
    assert technik == {"Python release", "Podcast episode"}
    assert [a.title for a in store.recent_articles("podcasts", 10)] == ["Podcast episode"]
    store.close()


def test_rules_survive_pickling_for_worker_processes() -> None:
    import pickle

    r = rule(RuleAction.CATEGORY, category="X", title="(?i)a")
    assert pickle.loads(pickle.dumps(r)) == r
    assert replace(r, category="Y").category == "Y"
