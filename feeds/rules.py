"""Filters and category rules: which entries a source publishes, and in which categories.

Pure functions of articles and rules. A source's own rules apply first, then the global
ones. Keep rules admit only matching entries (if any keep rule applies); drop rules remove
matching entries; category rules add a category, so an entry can be in several feeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from feeds.model import Article, Rule, RuleAction
from feeds.normalise.html import html_to_text


@dataclass(frozen=True, slots=True)
class RuleResult:
    articles: tuple[Article, ...]
    dropped: int


def matches(rule: Rule, article: Article) -> bool:
    """Whether every field the rule names matches (regex search) the article."""
    checks: tuple[tuple[re.Pattern[str] | None, Callable[[], str]], ...] = (
        (rule.title, lambda: article.title),
        (rule.author, lambda: author_text(article)),
        (rule.link, lambda: article.link or ""),
        (rule.content, lambda: html_to_text(article.content)),
    )
    return all(pattern.search(text()) is not None for pattern, text in checks if pattern)


def author_text(article: Article) -> str:
    """What an `author` rule searches: one line per author, its name then its email."""
    return "\n".join(
        f"{author.name} <{author.email}>" if author.email else author.name
        for author in article.authors
    )


def apply_rules(articles: Iterable[Article], rules: Sequence[Rule]) -> RuleResult:
    """Filter and re-categorise `articles` by `rules` (source rules first, then global)."""
    keep = [r for r in rules if r.action is RuleAction.KEEP]
    drop = [r for r in rules if r.action is RuleAction.DROP]
    extra = [r for r in rules if r.action is RuleAction.CATEGORY]
    kept: list[Article] = []
    dropped = 0
    for article in articles:
        if (keep and not any(matches(r, article) for r in keep)) or any(
            matches(r, article) for r in drop
        ):
            dropped += 1
            continue
        added = [r.category for r in extra if r.category and matches(r, article)]
        if added:
            categories = tuple(dict.fromkeys((*article.categories, *added)))
            article = replace(article, categories=categories)
        kept.append(article)
    return RuleResult(tuple(kept), dropped)
