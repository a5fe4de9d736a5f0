"""Article folders as a hostile editor might fill them (issue 12 #4): links out of the
folder, files that are not articles, huge files. Real files and links in tmp_path."""

from __future__ import annotations

import json
import os
import tracemalloc
from datetime import timedelta
from pathlib import Path

from support.feeds_cli import run_feeds

from feeds.model import Source, SourceKind
from feeds.sources.local import MAX_ARTICLE_BYTES, LocalRead, read_local_source

SECRET = "root:$6$Zm9vYmFyc2VjcmV0:19000:0:99999:7:::"
ARTICLE = "Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales\n\nTitel\n\nText.\n"


def read(path: Path) -> LocalRead:
    source = Source(name="Lokal", kind=SourceKind.LOCAL, interval=timedelta(minutes=5), path=path)
    return read_local_source(source)


def test_links_out_of_the_folder_are_skipped_naming_the_link_only(tmp_path: Path) -> None:
    articles, private = tmp_path / "articles", tmp_path / "private"
    (articles / "sub").mkdir(parents=True)
    private.mkdir()
    (private / "memo.md").write_text("---\ntitle: Memo\ndate: 2025-01-01\n---\nSecret memo.\n")
    (private / "shadow").write_text(SECRET + "\n")
    (articles / "sub" / "real.txt").write_text(ARTICLE, encoding="utf-8")
    os.symlink("../private/memo.md", articles / "x.md")
    os.symlink(private / "shadow", articles / "x.txt")
    os.symlink("sub/real.txt", articles / "inside.txt")  # stays in the folder: read
    result = read(articles)
    assert sorted(e.entry_id for e in result.feed.entries) == ["inside.txt", "sub/real.txt"]
    assert sorted((e.path.name, e.message) for e in result.errors) == [
        ("x.md", "symbolic link leads out of the source folder; skipped"),
        ("x.txt", "symbolic link leads out of the source folder; skipped"),
    ]
    text = " ".join(str(e) for e in result.errors)
    assert "private" not in text and "shadow" not in text and "memo" not in text.lower()
    assert result.present == frozenset({"inside.txt", "sub/real.txt"})


def test_a_configured_file_may_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    os.symlink(tmp_path / "elsewhere" / "a.txt", tmp_path / "current.txt")
    result = read(tmp_path / "current.txt")
    assert result.errors == ()
    assert [e.entry_id for e in result.feed.entries] == ["current.txt"]


def test_errors_quote_no_file_content(tmp_path: Path) -> None:
    (tmp_path / "copied.txt").write_text(SECRET + "\n\nmore\n")
    (tmp_path / "bad-date.txt").write_text(f"Veröffentlichungsdatum: {SECRET * 3} / X\n\nT\n\nB\n")
    (tmp_path / "yaml.md").write_text(f"---\ntitle: [{SECRET}\ndate: 2025-01-01\n---\nBody\n")
    (tmp_path / "date.md").write_text(f"---\ntitle: T\ndate: '{SECRET * 3}'\n---\nBody\n")
    result = read(tmp_path)
    assert len(result.errors) == 4
    messages = {e.path.name: e.message for e in result.errors}
    assert messages["copied.txt"].startswith("expected a header")
    assert "root" not in messages["copied.txt"]
    # A bad date is quoted as far as a date goes (24 characters), no further.
    assert f"bad date '{SECRET[:23]}…'" in messages["bad-date.txt"]
    assert f"bad date '{SECRET[:23]}…'" in messages["date.md"]
    assert "invalid YAML" in messages["yaml.md"] and SECRET[:10] not in messages["yaml.md"]
    assert all(len(m) < 160 for m in messages.values()), messages


def test_a_huge_article_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.write(ARTICLE.encode())
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB to read, nothing on disk
    (tmp_path / "fine.txt").write_text(ARTICLE, encoding="utf-8")
    tracemalloc.start()
    try:
        result = read(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
    assert [e.entry_id for e in result.feed.entries] == ["fine.txt"]
    assert [str(e) for e in result.errors] == [
        f"{huge}: file is 104,857,600 bytes, over the 2 MiB limit for an article; skipped"
    ]


def test_an_article_at_the_limit_is_read(tmp_path: Path) -> None:
    head = ARTICLE.encode()
    body = b"\n" + b"Satz. " * ((MAX_ARTICLE_BYTES - len(head) - 2) // 6)
    data = (head + body).ljust(MAX_ARTICLE_BYTES - 1, b" ") + b"\n"
    assert len(data) == MAX_ARTICLE_BYTES
    (tmp_path / "big.txt").write_bytes(data)
    result = read(tmp_path)
    assert result.errors == () and len(result.feed.entries) == 1
    (tmp_path / "big.txt").write_bytes(data + b"x")
    assert "over the 2 MiB limit" in str(read(tmp_path).errors[0])


def test_update_and_status_never_show_a_linked_secret(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "ok.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "shadow").write_text(SECRET + "\n")
    os.symlink(tmp_path / "shadow", articles / "x.txt")
    (tmp_path / "feeds.toml").write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'
        '[[sources]]\nname = "Lokal"\npath = "articles"\n',
        encoding="utf-8",
    )
    update = run_feeds("--config", "feeds.toml", "update", cwd=tmp_path)
    assert update.returncode == 0, update.stderr
    assert "x.txt: symbolic link leads out of the source folder; skipped" in update.stdout
    status = run_feeds("--config", "feeds.toml", "status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert "x.txt" in json.dumps(rows)
    for output in (update.stdout, update.stderr, status.stdout, status.stderr):
        assert "Zm9vYmFyc2VjcmV0" not in output and "shadow" not in output
    published = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert b"Zm9vYmFyc2VjcmV0" not in published
