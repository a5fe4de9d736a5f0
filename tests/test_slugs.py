"""Category slugs: readable in every script, never shared, stable across runs and upgrades."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from lxml import etree
from sqlalchemy import text
from support.feeds_cli import run_feeds
from support.namespaces import ATOM
from support.postgres import PG

from feeds.model import Article, article_id
from feeds.slugs import MAX_SLUG, assign_slugs, category_key, readable_slug, slug_of
from feeds.store import ArticleStore, SourceWrite

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

READABLE = [
    # German: the folds come first, so existing slugs stay as they were
    ("Welt Nachrichten", "welt-nachrichten"),
    ("Über uns", "ueber-uns"),
    ("Straße & Verkehr", "strasse-verkehr"),
    ("ÄRGER", "aerger"),
    ("U\u0308ber uns", "ueber-uns"),  # decomposed Ü: one category with the composed one
    ("Kunst & Kultur", "kunst-kultur"),  # a free-standing & stays punctuation
    # French and other Latin scripts
    ("Œuvres", "oeuvres"),
    ("Économie", "economie"),
    ("Søren Kierkegaard", "soren-kierkegaard"),
    ("Łódź", "lodz"),
    # Cyrillic, Greek, Arabic
    ("Новости", "novosti"),
    ("Наука и техника", "nauka-i-tekhnika"),
    ("Ελληνικά", "ellinika"),
    # CJK: a syllable per Chinese character; Korean words keep their spaces
    ("技术", "ji-shu"),
    ("中文 News", "zhong-wen-news"),
    ("한국어 뉴스", "hangugeo-nyuseu"),
    # symbols that carry meaning
    ("C++", "c-plus-plus"),
    ("C#", "c-sharp"),
    ("F#", "f-sharp"),
    (".NET", "dot-net"),
    ("R&D", "r-and-d"),
    ("@home", "at-home"),
    ("Google+", "google-plus"),
    ("C", "c"),
    ("Node.js", "node-js"),  # a dot inside a word separates
    ("Web 2.0", "web-2-0"),
    ("#hashtag", "hashtag"),  # a leading # marks a hashtag
    ("&", "and"),  # symbols only: spoken, rather than nothing
    ("++", "plus-plus"),
    # ours: never a category's
    ("all", "all-category"),
    ("Articles", "articles-category"),
    ("static", "static-category"),
    ("healthz", "healthz-category"),
    ("Metrics", "metrics-category"),
    # nothing readable: a short hash of the name, as before
    ("", "category-e3b0c442"),
    ("🎉", "category-6146299c"),
    ("🎮 Games", "games"),  # emoji are dropped, words kept
    ("!!!", "category-e84c538e"),
]


@pytest.mark.parametrize(("name", "slug"), READABLE)
def test_readable_slug(name: str, slug: str) -> None:
    assert readable_slug(name) == slug


def test_a_long_name_is_cut_at_a_word() -> None:
    slug = readable_slug("Nachrichten " * 40)
    assert len(slug) <= MAX_SLUG and slug.endswith("nachrichten")
    assert len(readable_slug("技" * 300)) <= MAX_SLUG
    assert readable_slug("x" * 500) == "x" * MAX_SLUG


def test_names_that_read_alike_get_suffixes_in_the_order_seen() -> None:
    assigned = assign_slugs({}, ["C Sharp", "C#", "C-Sharp", "c sharp", "C sharp"])
    assert assigned == {"C Sharp": "c-sharp", "C#": "c-sharp-2", "C-Sharp": "c-sharp-3"}
    # "c sharp" and "C sharp" are "C Sharp" written otherwise: the same category
    assert slug_of(assigned, "c sharp") == slug_of(assigned, "C  Sharp") == "c-sharp"


def test_assigned_slugs_never_change() -> None:
    first = assign_slugs({}, ["C#", "Ji Shu"])
    later = assign_slugs(first, ["C Sharp", "技术", "Ji Shu", "C#"])
    assert later == {**first, "C Sharp": "c-sharp-2", "技术": "ji-shu-2"}


def test_a_suffix_skips_a_slug_a_name_already_has() -> None:
    assigned = assign_slugs({"C 2": "c-2", "C": "c"}, ["C#", "C!"])
    assert assigned["C!"] == "c-3"  # "c" and "c-2" are taken
    assert assign_slugs({"X": "all-category"}, ["all"])["all"] == "all-category-2"


def test_slug_of_a_name_not_assigned_is_what_it_would_get() -> None:
    assigned = {"C": "c"}
    assert slug_of(assigned, "C!") == "c-2"
    assert slug_of(assigned, "c") == "c"
    assert assigned == {"C": "c"}  # a lookup assigns nothing


def test_category_key_is_bounded() -> None:
    assert category_key("  Welt\tNachrichten\x00 ") == "welt nachrichten"
    long = category_key("ä" * 5000)
    assert len(long) < 300 and long != category_key("ä" * 4999)


# -- the store: slugs kept, stable, never shared ----------------------------------------


def article(entry_id: str, category: str, source: str = "src", minutes: int = 0) -> Article:
    when = NOW + timedelta(minutes=minutes)
    return Article(
        id=article_id(source, entry_id),
        source=source,
        entry_id=entry_id,
        title=f"Title {entry_id}",
        link=f"https://example.org/{source}/{entry_id}",
        summary="",
        content="<p>x</p>",
        authors=(),
        published=when,
        updated=when,
        categories=(category,),
        language=None,
    )


NAMES = ["C++", "C#", "C", "c", "C Sharp", "C-Sharp", "c#", "Новости", "Novosti", "技术", "Ji Shu"]


def check_store(store: ArticleStore) -> dict[str, str]:
    """Every stored link sits in the slug its category has; no slug has two categories."""
    slugs = store.category_slugs()
    assert len(set(slugs.values())) == len(slugs)
    assert len({category_key(name) for name in slugs}) == len(slugs)
    for category in store.categories():
        articles = store.recent_articles(category.slug, 1000)
        assert articles
        for a in articles:
            assert slug_of(slugs, a.categories[0]) == category.slug
        assert category_key(category.name) == category_key(a.categories[0])
    return slugs


def test_categories_keep_their_urls_whatever_arrives_later(store: ArticleStore) -> None:
    rng = random.Random(11)
    seen: dict[str, str] = {}
    for run in range(6):
        names = rng.sample(NAMES, k=4)
        batch = [article(f"{run}-{i}", name, minutes=i) for i, name in enumerate(names)]
        result = store.upsert_articles("src", batch, NOW)
        slugs = check_store(store)
        assert result.changed_categories == {slug_of(slugs, n) for n in names}
        for name in names:
            seen.setdefault(name, slug_of(slugs, name))
        assert {name: slug_of(slugs, name) for name in seen} == seen
    # one slug per category, whatever spelling came first
    assert len(set(seen.values())) == len({category_key(name) for name in seen})


def test_first_come_keeps_the_readable_slug(store: ArticleStore) -> None:
    store.upsert_articles("a", [article("1", "C Sharp", "a")], NOW)
    store.upsert_articles("b", [article("2", "C#", "b"), article("3", "C++", "b")], NOW)
    slugs = store.category_slugs()
    assert slugs == {"C Sharp": "c-sharp", "C#": "c-sharp-2", "C++": "c-plus-plus"}
    assert [a.entry_id for a in store.recent_articles("c-sharp-2", 10)] == ["2"]
    assert [a.entry_id for a in store.recent_articles("c-sharp", 10)] == ["1"]


def test_config_names_are_kept_before_their_first_article(store: ArticleStore) -> None:
    given = store.assign_category_slugs(["C#", "C Sharp"])
    assert given == {"C#": "c-sharp", "C Sharp": "c-sharp-2"}
    store.upsert_articles("a", [article("1", "C Sharp", "a")], NOW)
    assert store.category_slugs() == given
    assert store.recent_articles("c-sharp-2", 10)[0].entry_id == "1"


def test_a_long_hostile_category_name_is_stored(store: ArticleStore) -> None:
    name = "".join(chr(0x4E00 + i) for i in range(3000))  # 9 KB, no two alike
    store.upsert_articles("a", [article("1", name, "a")], NOW)
    [category] = store.categories()
    assert category.name == name and len(category.slug) <= MAX_SLUG
    assert store.recent_articles(category.slug, 1)[0].categories == (name,)


def test_a_slug_handed_out_by_a_write_that_failed_is_not_used_later(store: ArticleStore) -> None:
    # The write of "Neu" hands out "neu", then the group fails and rolls it back; another
    # writer then takes "neu" for another name: "Neu" must get a slug of its own.
    other = ArticleStore.open(store.engine.url.render_as_string(hide_password=False))
    try:
        bad = replace(article("x", "Technik", "b"), title=None)  # cannot be hashed
        failing = [SourceWrite("a", NOW, [article("1", "Neu", "a")]), SourceWrite("b", NOW, [bad])]
        with pytest.raises(AttributeError):
            store.write(failing)
        assert store.category_slugs() == {}
        other.upsert_articles("c", [article("2", "NEU!", "c")], NOW)
        result = store.upsert_articles("a", [article("1", "Neu", "a")], NOW)
        assert store.category_slugs() == {"NEU!": "neu", "Neu": "neu-2"}
        assert result.changed_categories == {"neu-2"}
        assert [a.entry_id for a in store.recent_articles("neu-2", 10)] == ["1"]
        assert [a.entry_id for a in store.recent_articles("neu", 10)] == ["2"]
    finally:
        other.close()


def test_a_slug_another_writer_handed_out_is_the_one_used(store: ArticleStore) -> None:
    other = ArticleStore.open(store.engine.url.render_as_string(hide_password=False))
    try:
        store.upsert_articles("a", [article("1", "Alt", "a")], NOW)  # knows "Alt" from now on
        other.upsert_articles("b", [article("2", "Neu", "b")], NOW)
        store.upsert_articles("a", [article("3", "Neu", "a"), article("4", "ALT", "a")], NOW)
        assert store.category_slugs() == {"Alt": "alt", "Neu": "neu"}
        assert sorted(a.entry_id for a in store.recent_articles("neu", 10)) == ["2", "3"]
        assert sorted(a.entry_id for a in store.recent_articles("alt", 10)) == ["1", "4"]
    finally:
        other.close()


def test_concurrent_postgresql_writers_never_share_or_split_a_slug(pg_url: str) -> None:
    workers = 6
    ArticleStore.open(pg_url).close()
    start = threading.Barrier(workers)

    def work(number: int) -> None:
        mine = ArticleStore.open(pg_url)
        try:
            names = random.Random(number).sample(NAMES, k=len(NAMES))
            start.wait()
            for i, name in enumerate(names):
                source = f"w{number}-{i % 3}"
                mine.upsert_articles(source, [article(f"{number}-{i}", name, source)], NOW)
        finally:
            mine.close()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))
    store = ArticleStore.open(pg_url)
    try:
        slugs = check_store(store)
        assert len(slugs) == len({category_key(n) for n in NAMES})
        total = sum(len(store.recent_articles(c.slug, 1000)) for c in store.categories())
        assert total == workers * len(NAMES)
    finally:
        store.close()


def test_a_slug_taken_by_another_writer_meanwhile_is_assigned_again(pg_url: str) -> None:
    """A writer that holds no slug lock takes `c-sharp` while a store assigns it: the
    store's insert waits on the row, meets the constraint, and assigns `c-sharp-2`."""
    store = ArticleStore.open(pg_url)
    schema = pg_url.rsplit("%3D", 1)[1]
    other = psycopg.connect(PG)
    try:
        other.execute(f"SET search_path TO {schema}")
        other.execute(
            "INSERT INTO category_slugs (category_key, name, slug) VALUES ('x', 'X', 'c-sharp')"
        )
        with ThreadPoolExecutor(1) as pool:
            assigned = pool.submit(store.assign_category_slugs, ["C#"])
            with psycopg.connect(PG, autocommit=True) as watch:
                while not assigned.done():  # until its insert waits on our row
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE 'INSERT INTO category_slugs%'"
                    ).fetchone()
                    if waiting and waiting[0]:
                        break
                    time.sleep(0.01)
            other.commit()
            assert assigned.result(timeout=30)["C#"] == "c-sharp-2"
    finally:
        other.close()
        store.close()


# -- upgrading a store that has slugs ----------------------------------------------------


def make_old_store(url: str) -> None:
    """A store as an earlier feeds left it: slugs by the old rules (C++ and C# both in `c`,
    Новости in a hash slug, Œuvres in `uvres`), and no `category_slugs` table."""
    store = ArticleStore.open(url)
    old = {"C++": "c", "C#": "c", "Новости": "category-715453f2", "Œuvres": "uvres"}
    order = [("1", "C++"), ("2", "C#"), ("3", "C++"), ("4", "Новости"), ("5", "Œuvres")]
    for n, (entry, name) in enumerate(order):
        store.upsert_articles("src", [article(entry, name, minutes=n)], NOW)
    store.published(store.pending())
    with store.engine.begin() as db:
        db.execute(text("DROP TABLE category_slugs"))
        db.execute(text("DELETE FROM category_sequences"))
        counters: dict[str, int] = {}
        for entry, name in order:
            slug = old[name]
            counters[slug] = counters.get(slug, 0) + 1
            db.execute(
                text(
                    "UPDATE article_categories SET category_slug = :s, seq = :n"
                    " WHERE article_id = :a"
                ),
                {"s": slug, "n": counters[slug], "a": article_id("src", entry)},
            )
        db.execute(
            text("INSERT INTO category_sequences VALUES (:s, :n)"),
            [{"s": s, "n": n + 1} for s, n in counters.items()],
        )
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_an_upgraded_store_keeps_its_slugs_and_parts_merged_ones(store_url: str) -> None:
    make_old_store(store_url)
    store = ArticleStore.open(store_url)
    try:
        slugs = store.category_slugs()
        # C++ arrived first in `c` and keeps it; C# moves to a folder of its own
        assert slugs == {
            "C++": "c",
            "C#": "c-sharp",
            "Новости": "category-715453f2",
            "Œuvres": "uvres",
        }
        check_store(store)
        assert [a.entry_id for a in store.recent_articles("c", 10)] == ["3", "1"]
        assert store.archive("c-sharp") == (1, [(1, store.recent_articles("c-sharp", 1)[0])])
        assert set(store.pending()) == {"c", "c-sharp"}  # both folders are republished
        store.upsert_articles("src", [article("6", "Новости", minutes=9)], NOW)
        assert len(store.recent_articles("category-715453f2", 10)) == 2
        assert store.archive("c")[0] == 3  # its counter goes on
    finally:
        store.close()
    ArticleStore.open(store_url).close()  # once recorded, opening changes nothing
    reopened = ArticleStore.open(store_url)
    assert reopened.category_slugs() == slugs
    reopened.close()


def test_migrate_store_copies_the_slugs(tmp_path: Path, pg_url: str) -> None:
    from feeds.store.copy import copy_store

    source = ArticleStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    target = ArticleStore.open(pg_url)
    try:
        source.assign_category_slugs(["C#", "C Sharp"])
        source.upsert_articles("s", [article("1", "C Sharp", "s")], NOW)
        counts = copy_store(source, target)
        assert counts["category_slugs"] == 2
        assert target.category_slugs() == {"C#": "c-sharp", "C Sharp": "c-sharp-2"}
        target.upsert_articles("s", [article("2", "C Sharp", "s")], NOW)
        assert len(target.recent_articles("c-sharp-2", 10)) == 2
    finally:
        source.close()
        target.close()


# -- end to end: `feeds update`, `feeds check` -------------------------------------------


def write_article(folder: Path, stem: str, category: str, day: int) -> None:
    meta = {"title": f"{category} news {stem}", "date": f"2025-03-{day:02d}T09:00"}
    meta["category"] = category
    front = "\n".join(f"{key}: {json.dumps(value)}" for key, value in meta.items())
    (folder / f"{stem}.md").write_text(f"---\n{front}\n---\n\nBody of {stem}.\n", "utf-8")


def feed(out: Path, slug: str) -> tuple[str, list[str], str]:
    """A category folder's Atom feed: its title, its entries' titles, its self link."""
    root = etree.fromstring((out / slug / "atom.xml").read_bytes())
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    self_link = next(x.get("href") for x in root.iter(f"{ATOM}link") if x.get("rel") == "self")
    return root.findtext(f"{ATOM}title"), sorted(titles), self_link


def test_update_publishes_every_category_in_its_own_folder(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example/"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        '[[sources]]\nname = "Tech"\npath = "articles"\n'
        '[[sources]]\nname = "Remote"\nurl = "http://127.0.0.1:9/feed"\ncategory = "Новости"\n',
        encoding="utf-8",
    )
    write_article(articles, "cpp", "C++", 1)
    write_article(articles, "csharp", "C#", 2)
    write_article(articles, "hanzi", "技术", 3)
    check = run_feeds("--config", str(config), "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "categories (1), no store yet:" in check.stdout
    assert "Новости: https://news.example/novosti/  (new" in check.stdout
    assert not (tmp_path / "var").exists()  # check creates no store

    first = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    before = {
        "c-plus-plus": ("C++", ["C++ news cpp"]),
        "c-sharp": ("C#", ["C# news csharp"]),
        "ji-shu": ("技术", ["技术 news hanzi"]),
        "novosti": ("Новости", []),
    }
    for slug, (title, entries) in before.items():
        assert feed(out, slug) == (title, entries, f"https://news.example/{slug}/atom.xml")

    # Later: names that read like the ones there, and one that takes a plain `c`.
    write_article(articles, "c", "C", 4)
    write_article(articles, "sharp", "C Sharp", 5)
    write_article(articles, "cpp2", "c++", 6)  # C++ written otherwise: the same category
    write_article(articles, "pinyin", "Ji Shu", 7)
    second = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert feed(out, "c-plus-plus")[:2] == ("C++", ["C++ news cpp", "c++ news cpp2"])
    for slug in ("c-sharp", "ji-shu", "novosti"):
        assert feed(out, slug) == (*before[slug], f"https://news.example/{slug}/atom.xml")
    assert feed(out, "c")[:2] == ("C", ["C news c"])
    assert feed(out, "c-sharp-2")[:2] == ("C Sharp", ["C Sharp news sharp"])
    assert feed(out, "ji-shu-2")[:2] == ("Ji Shu", ["Ji Shu news pinyin"])

    # An article's page links its category's folder, suffix and all.
    [page] = (out / "articles").rglob("sharp-*.html")
    assert 'href="../../c-sharp-2/index.html"' in page.read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "c-sharp-2/atom.xml" in index and "c-sharp/atom.xml" in index

    check = run_feeds("--config", str(config), "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    lines = check.stdout.split("categories (7):\n", 1)[1].splitlines()
    assert lines == [
        "  Новости: https://news.example/novosti/",
        "  C: https://news.example/c/",
        "  C Sharp: https://news.example/c-sharp-2/",
        "  C#: https://news.example/c-sharp/",
        "  C++: https://news.example/c-plus-plus/",
        "  Ji Shu: https://news.example/ji-shu-2/",
        "  技术: https://news.example/ji-shu/",
    ]


def test_thousands_of_names_that_read_alike_get_one_slug_each() -> None:
    names = ["C" + "!" * (n % 100) + "?" * (n // 100) for n in range(1, 5001)]
    assigned = assign_slugs({"C": "c", "C 7": "c-7"}, names)
    assert assigned["C!"] == "c-2" and assigned["C!!!!!!"] == "c-8"  # c-7 was taken
    assert len(set(assigned.values())) == len(assigned) == 5002


def test_check_shows_the_urls_the_first_update_gives(tmp_path: Path) -> None:
    """The config's categories take their slugs first, in config order, so a local file's
    category that reads alike cannot take the URL `feeds check` showed."""
    articles = tmp_path / "articles"
    articles.mkdir()
    write_article(articles, "sharp", "C Sharp", 1)
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\nbase_url = "https://news.example/"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        '[[sources]]\nname = "Files"\npath = "articles"\n'
        '[[sources]]\nname = "Remote"\nurl = "http://127.0.0.1:9/feed"\ncategory = "C#"\n',
        encoding="utf-8",
    )
    before = run_feeds("--config", str(config), "check", cwd=tmp_path)
    assert "  C#: https://news.example/c-sharp/  (new" in before.stdout
    update = run_feeds("--config", str(config), "update", cwd=tmp_path)
    assert update.returncode == 0, update.stderr
    out = tmp_path / "out"
    assert feed(out, "c-sharp")[:2] == ("C#", [])
    assert feed(out, "c-sharp-2")[:2] == ("C Sharp", ["C Sharp news sharp"])
    after = run_feeds("--config", str(config), "check", cwd=tmp_path)
    assert after.stdout.split("categories (2):\n", 1)[1].splitlines() == [
        "  C#: https://news.example/c-sharp/",
        "  C Sharp: https://news.example/c-sharp-2/",
    ]
