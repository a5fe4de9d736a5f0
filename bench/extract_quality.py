"""How well full text finds the article: recall and boilerplate on our generated site.

    .venv/bin/python bench/extract_quality.py [--seeds 1 2] [--per-page]

Scores every page of `tests/support/article_site.py` (each shape drawn with each seed)
with our extraction (`feeds.fulltext.extract`: readability-lxml, sanitised), and, when they
are installed, with plain readability-lxml and trafilatura for comparison (`pip install
trafilatura` into the venv to see it). Figures are word-token shares: recall of the body,
precision (extract words that are body words), and the share of the page's boilerplate
(navigation, comments, related links, cookie banners...) that reached the extract. The
"ads" shape is also scored with the content_selector its test uses.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from feeds.fulltext.extract import ExtractionError, Page, extract_article
from feeds.normalise.html import html_to_text
from support.article_site import SHAPES, ArticlePage, Score, score, site

ADS_SELECTOR = "div.article-text > p"
Extractor = Callable[[ArticlePage], str]


def ours(selector: str | None = None) -> Extractor:
    def run(page: ArticlePage) -> str:
        fetched = Page(page.html.encode("utf-8"), "http://127.0.0.1/" + page.path, "text/html")
        try:
            return html_to_text(extract_article(fetched, selector))
        except ExtractionError:
            return ""

    return run


def extractors() -> dict[str, Extractor]:
    found: dict[str, Extractor] = {"feeds (readability-lxml)": ours()}
    if importlib.util.find_spec("trafilatura") is not None:
        import trafilatura

        def traf(page: ArticlePage) -> str:
            text = trafilatura.extract(page.html, output_format="html", include_comments=False)
            return html_to_text(text or "")

        found["trafilatura 2 (defaults, no comments)"] = traf
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-page", action="store_true", help="a row per page, not per shape")
    args = parser.parse_args()
    pages = site(tuple(args.seeds))
    print(f"{len(pages)} pages: {len(SHAPES)} shapes x seeds {args.seeds}\n")
    for name, extract in extractors().items():
        scored: list[tuple[ArticlePage, Score]] = []
        started = time.perf_counter()
        for page in pages:
            scored.append((page, score(page, extract(page))))
        seconds = time.perf_counter() - started
        print(f"## {name}: {len(pages) / seconds:.0f} pages/s in one process\n")
        table(scored, args.per_page)
        if name.startswith("feeds"):
            ads = [p for p in pages if p.shape == "ads"]
            selected = [(p, score(p, ours(ADS_SELECTOR)(p))) for p in ads]
            print(f'\n"ads" with content_selector = "{ADS_SELECTOR}":\n')
            table(selected, per_page=True)
        print()
    return 0


def table(scored: list[tuple[ArticlePage, Score]], per_page: bool) -> None:
    print("| page | recall | precision | boilerplate kept | within bounds |")
    print("|---|---:|---:|---:|---|")
    groups: dict[str, list[Score]] = {}
    for page, got in scored:
        groups.setdefault(page.path if per_page else page.shape, []).append(got)
    for key, scores in groups.items():
        recall = min(s.recall for s in scores)
        precision = min(s.precision for s in scores)
        boiler = max(s.boilerplate for s in scores)
        ok = "yes" if recall >= 0.9 and boiler <= 0.1 else "NO"
        print(f"| {key} | {recall:.1%} | {precision:.1%} | {boiler:.1%} | {ok} |")
    every = [s for _, s in scored]
    print(
        f"| all (mean) | {statistics.mean(s.recall for s in every):.1%} "
        f"| {statistics.mean(s.precision for s in every):.1%} "
        f"| {statistics.mean(s.boilerplate for s in every):.1%} "
        f"| {sum(s.recall >= 0.9 and s.boilerplate <= 0.1 for s in every)} of {len(every)} |"
    )
    if not per_page:
        print("(per shape: the lowest recall and precision, the highest boilerplate of its pages)")


if __name__ == "__main__":
    raise SystemExit(main())
