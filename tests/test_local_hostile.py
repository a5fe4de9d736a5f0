"""Article folders from a hostile-editor campaign: a file whose front matter trips a
library stops only itself; file names the store cleans keep their articles; an entry that
is not a regular file, or a folder not read, never takes articles for deleted; and a
category name stays text in the RSS channel. Real files in tmp_path, real `feeds update`."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from support.feeds_cli import run_feeds

from feeds.model import Source, SourceKind
from feeds.sources.local import MAX_ALIASES, LocalArticleError, LocalRead, read_local_source

GOOD = "---\ntitle: GoodSentinel\ndate: 2025-05-10T10:00:00\n---\nThe good text.\n"
CONFIG = (
    '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'
    '[[sources]]\nname = "Lokal"\npath = "articles"\ncategory = "Default"\n'
    'timezone = "Europe/Berlin"\n'
)


def read(path: Path) -> LocalRead:
    source = Source(name="Lokal", kind=SourceKind.LOCAL, interval=timedelta(minutes=5), path=path)
    return read_local_source(source)


def _site(tmp_path: Path) -> Path:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "good.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "feeds.toml").write_text(CONFIG, encoding="utf-8")
    return articles


def _update(tmp_path: Path) -> str:
    done = run_feeds("--config", "feeds.toml", "update", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _one_bad(tmp_path: Path, front_matter: str) -> tuple[LocalRead, LocalArticleError]:
    """Read a folder of the good file and `a.md` with `front_matter`: the good one is read,
    and `a.md` gives the one error."""
    articles = _site(tmp_path)
    (articles / "a.md").write_text(f"---\ntitle: T\n{front_matter}\n---\nb\n", encoding="utf-8")
    result = read(articles)
    assert [e.title for e in result.feed.entries] == ["GoodSentinel"]
    (error,) = result.errors
    assert error.path.name == "a.md"
    return result, error


def _stored(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "feeds.db") as conn:
        return sorted(row[0] for row in conn.execute("select entry_id from articles"))


@pytest.mark.parametrize(
    ("front_matter", "line", "reason"),
    [
        ("date: 2024-02-30", 3, "not a date: day is out of range for month"),
        ("date: 2025-13-01 10:00:00", 3, "not a date: month must be in 1..12"),
        ("date: 2025-05-10 25:00:00", 3, "not a date: hour must be in 0..23"),
        ("date: 2025-05-10T10:00:00+99:00", 3, "not a date"),
        ("date: 2025-05-10\nupdated: 2025-02-30", 4, "not a date"),
    ],
)
def test_a_front_matter_date_that_is_no_date_fails_its_file_alone(
    tmp_path: Path, front_matter: str, line: int, reason: str
) -> None:
    _, error = _one_bad(tmp_path, front_matter)
    assert error.line == line
    assert "invalid YAML in front matter" in error.message and reason in error.message


@pytest.mark.parametrize(
    "front_matter",
    [
        "date: 9999-12-31T23:59:59-12:00",
        "date: 0001-01-01T00:00:00+14:00",
    ],
)
def test_a_date_beyond_the_calendar_in_the_sources_zone_is_a_bad_date(
    tmp_path: Path, front_matter: str
) -> None:
    _, error = _one_bad(tmp_path, front_matter)
    assert "bad date" in error.message


def test_numbers_are_kept_as_written_and_never_computed(tmp_path: Path) -> None:
    """YAML 1.1 reads `1:59:59:...` in base 60 (time growing with the square of its
    length) and `0x...` as an integer (over 4,300 digits, int() refuses): as text they are
    a title like any other."""
    articles = _site(tmp_path)
    sexagesimal = "1" + ":59" * 20_000
    hexadecimal = "0x" + "f" * 5_000
    (articles / "a.md").write_text(
        f"---\ntitle: {hexadecimal}\ndate: 2025-05-10\ntags: [{sexagesimal}, 3.10]\n---\nb\n",
        encoding="utf-8",
    )
    result = read(articles)
    assert result.errors == ()
    entry = next(e for e in result.feed.entries if e.title != "GoodSentinel")
    assert entry.title == hexadecimal
    assert entry.tags == (sexagesimal, "3.10")


def test_aliases_beyond_the_cap_are_refused_at_their_line(tmp_path: Path) -> None:
    articles = _site(tmp_path)
    references = ", ".join(["*s"] * (MAX_ALIASES + 1))
    (articles / "a.md").write_text(
        f'---\ntitle: T\ndate: 2025-05-10\nx: &s "{"w " * 1000}"\ntags: [{references}]\n---\nb\n',
        encoding="utf-8",
    )
    result = read(articles)
    assert [e.title for e in result.feed.entries] == ["GoodSentinel"]
    (error,) = result.errors
    assert error.line == 5 and f"more than {MAX_ALIASES} aliases" in error.message
    fine = ", ".join(["*s"] * MAX_ALIASES)
    (articles / "a.md").write_text(
        f'---\ntitle: T\ndate: 2025-05-10\nx: &s "shared"\ntags: [{fine}]\n---\nb\n',
        encoding="utf-8",
    )
    assert read(articles).errors == ()


@pytest.mark.parametrize(
    "name",
    ["My  Article.md", " lead.md", "tab\there.md", "esc\x1bape.md", "y" * 250 + ".md"],
)
def test_a_file_name_the_store_cleans_keeps_its_article(tmp_path: Path, name: str) -> None:
    """The store keeps an entry id cleaned (white space folded, controls dropped) and over
    2,048 characters as its SHA-256: the run took the file's raw id for another, and
    deleted the article it had just stored, every run."""
    articles = _site(tmp_path)
    (articles / name).write_text(
        "---\ntitle: Kept\ndate: 2025-05-10T10:00:00\n---\nKept text.\n", encoding="utf-8"
    )
    first = _update(tmp_path)
    assert "2 new" in first
    assert len(_stored(tmp_path)) == 2
    second = _update(tmp_path)
    assert "0 new" in second
    assert len(_stored(tmp_path)) == 2
    assert b"Kept text." in (tmp_path / "out" / "all" / "atom.xml").read_bytes()


def test_a_path_over_the_id_cap_keeps_its_article(tmp_path: Path) -> None:
    articles = _site(tmp_path)
    deep = articles.joinpath(*(["y" * 250] * 9))
    deep.mkdir(parents=True)
    (deep / "long.md").write_text(
        "---\ntitle: Deep\ndate: 2025-05-10T10:00:00\n---\nDeep text.\n", encoding="utf-8"
    )
    _update(tmp_path)
    assert any(entry_id.startswith("sha256:") for entry_id in _stored(tmp_path))
    assert "0 new" in _update(tmp_path)
    assert len(_stored(tmp_path)) == 2


@pytest.mark.parametrize("turn_into", ["dangling link", "fifo", "link to /dev/zero"])
def test_an_article_whose_file_is_no_longer_regular_stays_and_is_named(
    tmp_path: Path, turn_into: str
) -> None:
    articles = _site(tmp_path)
    article = articles / "x.md"
    article.write_text("---\ntitle: Pub\ndate: 2025-05-10\n---\nPub text.\n", encoding="utf-8")
    _update(tmp_path)
    assert _stored(tmp_path) == ["good.md", "x.md"]
    article.unlink()
    if turn_into == "fifo":
        os.mkfifo(article)
    else:
        os.symlink("gone.md" if turn_into == "dangling link" else "/dev/zero", article)
    second = _update(tmp_path)
    assert "x.md: not a regular file; skipped, its article (if any) stays as it was" in second
    assert _stored(tmp_path) == ["good.md", "x.md"]
    assert b"Pub text." in (tmp_path / "out" / "all" / "atom.xml").read_bytes()


def test_a_folder_replaced_by_a_link_to_it_deletes_nothing(tmp_path: Path) -> None:
    articles = _site(tmp_path)
    (articles / "sub").mkdir()
    (articles / "sub" / "in.md").write_text(
        "---\ntitle: InSub\ndate: 2025-05-10\n---\nIn the sub folder.\n", encoding="utf-8"
    )
    _update(tmp_path)
    assert _stored(tmp_path) == ["good.md", "sub/in.md"]
    (articles / "sub").rename(tmp_path / "sub_real")
    os.symlink("../sub_real", articles / "sub")
    (articles / "good.md").unlink()  # deleted meanwhile: kept too while the listing is partial
    second = _update(tmp_path)
    assert "symbolic link to a folder, not followed; no article is taken for deleted" in second
    assert _stored(tmp_path) == ["good.md", "sub/in.md"]
    status = run_feeds("--config", "feeds.toml", "status", "--json", cwd=tmp_path)
    assert "not followed" in json.dumps(json.loads(status.stdout))


def test_an_unlistable_folder_deletes_nothing(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root lists any folder")
    articles = _site(tmp_path)
    (articles / "sub").mkdir()
    (articles / "sub" / "in.md").write_text(
        "---\ntitle: InSub\ndate: 2025-05-10\n---\nIn.\n", encoding="utf-8"
    )
    _update(tmp_path)
    (articles / "sub").chmod(0)
    try:
        assert "cannot list folder" in _update(tmp_path)
        assert _stored(tmp_path) == ["good.md", "sub/in.md"]
    finally:
        (articles / "sub").chmod(0o755)


def test_a_category_with_markup_stays_text_in_the_rss_channel(tmp_path: Path) -> None:
    """RSS readers take a channel's description as HTML: the name, escaped once for XML
    alone, would be markup to them."""
    articles = _site(tmp_path)
    (articles / "a.md").write_text(
        "---\ntitle: T\ndate: 2025-05-10\ncategory: <script>alert(1)</script>\n---\nb\n",
        encoding="utf-8",
    )
    _update(tmp_path)
    (rss,) = (p for p in (tmp_path / "out").glob("*/rss.xml") if "script" in p.parent.name)
    text = rss.read_text(encoding="utf-8")
    assert "<description>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; – " in text
    channel = next(line for line in text.splitlines() if "<description>" in line)
    assert "&lt;" not in channel.replace("&amp;lt;", "")


def test_a_file_a_parser_takes_minutes_over_is_cut_off_and_named(tmp_path: Path) -> None:
    """A 2 MB Markdown body of "![" takes markdown-it about a minute: read in-process it held
    the run (and a daemon's every loop). The source is read in the worker pool under the
    parse deadline; when that overruns, each file on its own: the slow one is named and
    skipped, and the others, a new one among them, are published."""
    articles = _site(tmp_path)
    config = tmp_path / "feeds.toml"
    config.write_text(CONFIG + '[fetch]\nparse_deadline = "1s"\n', encoding="utf-8")
    _update(tmp_path)
    assert _stored(tmp_path) == ["good.md"]
    (articles / "slow.md").write_text(
        "---\ntitle: Slow\ndate: 2025-05-10\n---\n" + "![" * 1_000_000 + "\n", encoding="utf-8"
    )
    (articles / "new.md").write_text(
        "---\ntitle: New\ndate: 2025-05-11\n---\nNew text.\n", encoding="utf-8"
    )
    second = _update(tmp_path)
    assert "slow.md: took longer than 1s to read; skipped" in second
    assert _stored(tmp_path) == ["good.md", "new.md"]
    assert b"New text." in (tmp_path / "out" / "all" / "atom.xml").read_bytes()
