"""Tests for the local-article source (feeds/sources/local.py), on real files."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from support.feeds_cli import SEED

from feeds.model import Author, RawEntry, Source, SourceKind
from feeds.sources.local import (
    LocalArticleError,
    LocalArticleFormatError,
    LocalRead,
    read_article_file,
    read_local_source,
)

SEED_NAME = SEED.name
SEED_TITLE = "Russland und USA planen bald Botschaftsgespräche"

GOOD_TXT = """Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales

Ein Titel

Ein Titel

Erster Absatz.

Zweiter Absatz.
"""


def make_source(
    path: Path, *, category: str | None = None, timezone: str = "Europe/Berlin"
) -> Source:
    return Source(
        name="Lokale Artikel",
        kind=SourceKind.LOCAL,
        interval=timedelta(minutes=5),
        path=path,
        category=category,
        language="de",
        timezone=timezone,
    )


def read(path: Path, *, category: str | None = None, timezone: str = "Europe/Berlin") -> LocalRead:
    return read_local_source(make_source(path, category=category, timezone=timezone))


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def only_entry(result: LocalRead) -> RawEntry:
    assert result.errors == ()
    assert len(result.feed.entries) == 1
    return result.feed.entries[0]


def only_error(result: LocalRead) -> LocalArticleError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --------------------------------------------------------------------------- the shipped seed


def seed_folder(root: Path) -> Path:
    """A folder holding the shipped seed article alone (the checkout's config/articles/
    may hold more: a user's own articles)."""
    folder = root / "seed"
    folder.mkdir()
    shutil.copy(SEED, folder)
    return folder


def test_seed_file(tmp_path: Path) -> None:
    result = read(seed_folder(tmp_path), category=None)
    assert result.errors == ()
    assert result.feed.title == "Lokale Artikel"
    assert result.feed.language == "de"
    assert result.feed.warnings == ()
    entries = [e for e in result.feed.entries if e.entry_id == SEED_NAME]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.title == SEED_TITLE
    assert entry.published == "10.05.2025 11:33"
    assert entry.published_guess is not None
    assert entry.published_guess.isoformat() == "2025-05-10T11:33:00+02:00"
    assert entry.category == "Welt Nachrichten"
    assert entry.language == "de"
    assert entry.link is None
    assert entry.base_url is None
    assert entry.content_html is not None
    paragraphs = entry.content_html.split("\n")
    assert len(paragraphs) == 5
    assert all(p.startswith("<p>") and p.endswith("</p>") for p in paragraphs)
    assert entry.content_html.count("<p>") == 5
    assert SEED_TITLE not in entry.content_html  # the headline is not repeated
    assert "„Ja, es wird stattfinden." in entry.content_html
    assert entry.summary_html == paragraphs[0]
    assert entry.location is not None and entry.location.endswith(SEED_NAME)


def test_seed_entry_id_does_not_depend_on_location(tmp_path: Path) -> None:
    seed = seed_folder(tmp_path)
    copy = tmp_path / "elsewhere" / "articles"
    shutil.copytree(seed, copy)
    original = {e.entry_id: e for e in read(seed).feed.entries}
    copied = {e.entry_id: e for e in read(copy).feed.entries}
    assert SEED_NAME in copied
    assert original.keys() == copied.keys()
    a, b = original[SEED_NAME], copied[SEED_NAME]
    assert (a.title, a.content_html, a.published_guess) == (
        b.title,
        b.content_html,
        b.published_guess,
    )


def test_source_naming_one_file_uses_its_name(tmp_path: Path) -> None:
    copy = tmp_path / "sub" / SEED_NAME
    copy.parent.mkdir()
    shutil.copy(SEED, copy)
    entry = only_entry(read(copy))
    assert entry.entry_id == SEED_NAME
    assert entry.title == SEED_TITLE


def test_seed_in_other_time_zone() -> None:
    entry = only_entry(read(SEED, timezone="UTC"))
    assert entry.published_guess is not None
    assert entry.published_guess.isoformat() == "2025-05-10T11:33:00+00:00"


# --------------------------------------------------------------------------- seed format variants


def test_crlf_bom_trailing_spaces_and_extra_blank_lines(tmp_path: Path) -> None:
    text = (
        "\ufeffVERÖFFENTLICHUNGSDATUM:  01.02.2025 08:15:30  /  Lokales  \r\n"
        "\r\n\r\n"
        "Ein   Titel  \r\n"
        "\r\n"
        " Ein Titel\r\n"
        "\r\n\r\n\r\n"
        "Erste Zeile   \r\n"
        "  zweite Zeile\r\n"
        "\r\n"
        "Zweiter <Absatz> & „Zitat“\r\n"
        "\r\n"
    )
    write(tmp_path / "a.txt", text)
    entry = only_entry(read(tmp_path))
    assert entry.title == "Ein Titel"
    assert entry.category == "Lokales"
    assert entry.published == "01.02.2025 08:15:30"
    assert entry.published_guess is not None
    assert entry.published_guess.isoformat() == "2025-02-01T08:15:30+01:00"
    assert entry.content_html == (
        "<p>Erste Zeile zweite Zeile</p>\n<p>Zweiter &lt;Absatz&gt; &amp; „Zitat“</p>"
    )
    assert entry.summary_html == "<p>Erste Zeile zweite Zeile</p>"


def test_old_mac_line_endings(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", GOOD_TXT.replace("\n", "\r"))
    entry = only_entry(read(tmp_path))
    assert entry.content_html == "<p>Erster Absatz.</p>\n<p>Zweiter Absatz.</p>"


def test_missing_headline_keeps_first_paragraph(tmp_path: Path) -> None:
    text = (
        "Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales\n\nEin Titel\n\nErster.\n\nZweiter.\n"
    )
    write(tmp_path / "a.txt", text)
    entry = only_entry(read(tmp_path))
    assert entry.title == "Ein Titel"
    assert entry.content_html == "<p>Erster.</p>\n<p>Zweiter.</p>"
    assert entry.summary_html == "<p>Erster.</p>"


def test_headline_differing_from_title_is_kept(tmp_path: Path) -> None:
    text = "Veröffentlichungsdatum: 01.02.2025 08:15\n\nTitel\n\nEine andere Zeile\n\nText.\n"
    write(tmp_path / "a.txt", text)
    entry = only_entry(read(tmp_path))
    assert entry.content_html == "<p>Eine andere Zeile</p>\n<p>Text.</p>"


def test_category_is_optional(tmp_path: Path) -> None:
    text = "Veröffentlichungsdatum: 01.02.2025 08:15\n\nTitel\n\nTitel\n\nText.\n"
    write(tmp_path / "a.txt", text)
    entry = only_entry(read(tmp_path, category="Standard"))
    assert entry.category is None  # the source's configured category applies later
    assert entry.published == "01.02.2025 08:15"


def test_category_may_contain_a_slash(tmp_path: Path) -> None:
    text = "Veröffentlichungsdatum: 01.02.2025 08:15 / Welt / Europa\n\nT\n\nText.\n"
    write(tmp_path / "a.txt", text)
    assert only_entry(read(tmp_path)).category == "Welt / Europa"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param(
            "Veröffentlichungsdatum: 99.99.2025 11:33 / X\n\nT\n\nText.\n",
            1,
            "bad date '99.99.2025 11:33' (expected DD.MM.YYYY HH:MM)",
            id="bad-date",
        ),
        pytest.param(
            "Veröffentlichungsdatum: gestern / X\n\nT\n\nText.\n",
            1,
            "bad date 'gestern'",
            id="date-not-a-date",
        ),
        pytest.param(
            "Veröffentlichungsdatum:  / X\n\nT\n\nText.\n",
            1,
            "missing date",
            id="empty-date",
        ),
        pytest.param(
            "10.05.2025 11:33 / X\n\nT\n\nText.\n",
            1,
            "expected a header 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM",
            id="missing-prefix",
        ),
        pytest.param(
            "Datum: 10.05.2025 11:33 / X\n\nT\n\nText.\n",
            1,
            "expected a header 'Veröffentlichungsdatum: DD.MM.YYYY HH:MM / Category' as",
            id="other-prefix",
        ),
        pytest.param("", 1, "empty file", id="empty-file"),
        pytest.param("\n \n\r\n", 1, "empty file", id="blank-file"),
        pytest.param(
            "Veröffentlichungsdatum: 10.05.2025 11:33 / X\n",
            2,
            "missing title",
            id="header-only",
        ),
        pytest.param(
            "Veröffentlichungsdatum: 10.05.2025 11:33 / X\n\nNur ein Titel\n",
            3,
            "no article text after the title",
            id="title-only",
        ),
        pytest.param(
            "Veröffentlichungsdatum: 10.05.2025 11:33 / X\n\nTitel\n\nTitel\n",
            3,
            "no article text after the title",
            id="title-and-headline-only",
        ),
    ],
)
def test_malformed_seed_reported_good_sibling_read(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    bad = write(tmp_path / "bad.txt", text)
    write(tmp_path / "good.txt", GOOD_TXT)
    result = read(tmp_path)
    assert [e.entry_id for e in result.feed.entries] == ["good.txt"]
    error = only_error(result)
    assert error.path == bad
    assert error.line == line
    assert fragment in error.message
    assert str(error).startswith(f"{bad}:{line}: ")


def test_error_str_format() -> None:
    error = LocalArticleError(
        Path("config/articles/x.txt"), 1, "bad date '99.99.2025' (expected DD.MM.YYYY HH:MM)"
    )
    assert str(error) == (
        "config/articles/x.txt:1: bad date '99.99.2025' (expected DD.MM.YYYY HH:MM)"
    )
    assert str(LocalArticleError(Path("missing"), None, "gone")) == "missing: gone"


def test_error_str_is_relative_to_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = LocalArticleError(tmp_path / "articles" / "x.txt", 3, "boom")
    assert str(error) == str(Path("articles") / "x.txt") + ":3: boom"


def test_read_article_file_raises_format_error(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.txt", "Veröffentlichungsdatum: 32.01.2025 10:00\n\nT\n\nX\n")
    with pytest.raises(LocalArticleFormatError) as info:
        read_article_file(bad, root=tmp_path, source=make_source(tmp_path))
    assert info.value.error.path == bad
    assert info.value.error.line == 1
    assert "bad date '32.01.2025 10:00'" in str(info.value)


def test_read_article_file_entry_id_is_relative_posix(tmp_path: Path) -> None:
    good = write(tmp_path / "2025" / "05" / "a.txt", GOOD_TXT)
    entry = read_article_file(good, root=tmp_path, source=make_source(tmp_path))
    assert entry.entry_id == "2025/05/a.txt"


# --------------------------------------------------------------------------- Markdown


MD = """---
title: "Ein Markdown-Artikel"
date: {date}
category: Kultur
tags: {tags}
author: Erika Mustermann
summary: Kurz <b>gesagt</b>.
language: en
link: https://example.org/a
---

# Überschrift

Ein *Absatz* mit „Zitat“.
"""


@pytest.mark.parametrize(
    ("date_text", "iso"),
    [
        pytest.param("2025-05-10T11:33:00", "2025-05-10T11:33:00+02:00", id="yaml-naive"),
        pytest.param("2025-05-10 11:33:00", "2025-05-10T11:33:00+02:00", id="yaml-naive-space"),
        pytest.param("2025-05-10T09:33:00Z", "2025-05-10T11:33:00+02:00", id="yaml-utc"),
        pytest.param("2025-05-10", "2025-05-10T00:00:00+02:00", id="yaml-date"),
        pytest.param('"2025-05-10T11:33"', "2025-05-10T11:33:00+02:00", id="string-iso"),
        pytest.param("2025-05-10 11:33", "2025-05-10T11:33:00+02:00", id="string-iso-space"),
        pytest.param("10.05.2025 11:33", "2025-05-10T11:33:00+02:00", id="string-german"),
        pytest.param('"10.05.2025 11:33:05"', "2025-05-10T11:33:05+02:00", id="german-seconds"),
    ],
)
def test_markdown_dates(tmp_path: Path, date_text: str, iso: str) -> None:
    write(tmp_path / "a.md", MD.format(date=date_text, tags="[a, b]"))
    entry = only_entry(read(tmp_path))
    assert entry.published_guess is not None
    assert entry.published_guess.isoformat() == iso
    assert entry.published == date_text.strip('"')


@pytest.mark.parametrize(
    ("date_text", "iso"),
    [
        pytest.param("10.5.25 11:33", "2025-05-10T11:33:00+02:00", id="short-day-month-year"),
        pytest.param("10.05.2025", "2025-05-10T00:00:00+02:00", id="date-only"),
        pytest.param("10. Mai 2025, 11:33 Uhr", "2025-05-10T11:33:00+02:00", id="month-name"),
        pytest.param("2025-05-10T09:33:00Z", "2025-05-10T11:33:00+02:00", id="iso-utc"),
    ],
)
def test_seed_dates_read_as_feed_dates_are(tmp_path: Path, date_text: str, iso: str) -> None:
    """A seed header's date is read by the same rule as a feed's (feeds/normalise/dates.py),
    not by a narrower one of its own."""
    write(tmp_path / "a.txt", f"Veröffentlichungsdatum: {date_text} / X\n\nTitel\n\nText.\n")
    entry = only_entry(read(tmp_path))
    assert entry.published == date_text
    assert entry.published_guess is not None
    assert entry.published_guess.isoformat() == iso


def test_markdown_fields(tmp_path: Path) -> None:
    write(tmp_path / "a.md", MD.format(date="2025-05-10T11:33:00", tags="[Politik, Welt, Politik]"))
    entry = only_entry(read(tmp_path))
    assert entry.entry_id == "a.md"
    assert entry.title == "Ein Markdown-Artikel"
    assert entry.category == "Kultur"
    assert entry.tags == ("Politik", "Welt")
    assert entry.authors == (Author("Erika Mustermann"),)
    assert entry.summary_html == "<p>Kurz &lt;b&gt;gesagt&lt;/b&gt;.</p>"
    assert entry.language == "en"
    assert entry.link == "https://example.org/a"
    assert entry.content_html == "<h1>Überschrift</h1>\n<p>Ein <em>Absatz</em> mit „Zitat“.</p>"


def test_markdown_tags_as_string_and_defaults(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Nur das Nötige\ndate: 2025-05-10 11:33\ntags: eins, zwei ,, drei\n"
        "authors: [A, B]\n---\nText.\n"
    )
    write(tmp_path / "a.markdown", text)
    entry = only_entry(read(tmp_path))
    assert entry.tags == ("eins", "zwei", "drei")
    assert entry.authors == (Author("A"), Author("B"))
    assert entry.category is None
    assert entry.summary_html is None
    assert entry.language == "de"  # the source's
    assert entry.link is None
    assert entry.content_html == "<p>Text.</p>"


def test_markdown_crlf_and_bom(tmp_path: Path) -> None:
    text = "\ufeff---\r\ntitle: T\r\ndate: 2025-05-10T11:33:00\r\n---\r\n\r\nA\r\nB\r\n"
    write(tmp_path / "a.md", text)
    entry = only_entry(read(tmp_path))
    assert entry.title == "T"
    assert entry.content_html == "<p>A\nB</p>"


def test_markdown_raw_html_is_escaped(tmp_path: Path) -> None:
    text = (
        "---\ntitle: T\ndate: 2025-05-10T11:33:00\n---\n\n"
        "Hallo <script>alert(1)</script>\n\n<div onclick='x()'>Block</div>\n"
    )
    write(tmp_path / "a.md", text)
    entry = only_entry(read(tmp_path))
    assert entry.content_html is not None
    assert "<script>" not in entry.content_html
    assert "<div" not in entry.content_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry.content_html


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param(
            "---\ndate: 2025-05-10T11:33:00\n---\nText.\n", 1, "missing 'title'", id="no-title"
        ),
        pytest.param("---\ntitle: T\n---\nText.\n", 1, "missing 'date'", id="no-date"),
        pytest.param(
            "---\ntitle: T\ncategory: K\ndate: 31.02.2025 10:00\n---\nText.\n",
            4,
            "bad date '31.02.2025 10:00'",
            id="bad-date-line",
        ),
        pytest.param(
            "---\ntitle: T\ndate: bald\n---\nText.\n", 3, "bad date 'bald'", id="date-word"
        ),
        pytest.param(
            "---\ntitle: T\ndate: 2025-05-10T11:33:00\ntags: [a, b\n---\nText.\n",
            4,
            "invalid YAML in front matter",
            id="invalid-yaml",
        ),
        pytest.param(
            "---\ntitle: [T\ndate: 2025-05-10T11:33:00\n---\nText.\n",
            3,
            "invalid YAML in front matter",
            id="invalid-yaml-early",
        ),
        pytest.param("---\n- a\n- b\n---\nText.\n", 2, "front matter must be", id="yaml-list"),
        pytest.param("# Nur Markdown\n\nText.\n", 1, "missing YAML front matter", id="no-fm"),
        pytest.param(
            "---\ntitle: T\ndate: 2025-05-10T11:33:00\nText.\n", 1, "not closed", id="unclosed"
        ),
        pytest.param(
            "---\ntitle: T\ndate: 2025-05-10T11:33:00\n---\n\n  \n",
            4,
            "no article text",
            id="empty-body",
        ),
        pytest.param(
            "---\ntitle: [a, b]\ndate: 2025-05-10T11:33:00\n---\nText.\n",
            2,
            "'title' must be text",
            id="title-list",
        ),
        pytest.param("", 1, "empty file", id="empty"),
    ],
)
def test_malformed_markdown_reported_good_sibling_read(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    bad = write(tmp_path / "bad.md", text)
    write(tmp_path / "good.txt", GOOD_TXT)
    result = read(tmp_path)
    assert [e.entry_id for e in result.feed.entries] == ["good.txt"]
    error = only_error(result)
    assert error.path == bad
    assert error.line == line
    assert fragment in error.message


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    text = (
        "---\ntitle: !!python/object/apply:os.system ['echo pwned']\n"
        "date: 2025-05-10T11:33:00\n---\nText.\n"
    )
    write(tmp_path / "a.md", text)
    error = only_error(read(tmp_path))
    assert error.line == 2
    assert "invalid YAML" in error.message


# --------------------------------------------------------------------------- files and folders


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    latin1 = GOOD_TXT.encode("utf-8").replace(b"Erster", "Größter".encode("latin-1"))
    bad = write(tmp_path / "latin1.txt", latin1)
    write(tmp_path / "good.txt", GOOD_TXT)
    result = read(tmp_path)
    assert [e.entry_id for e in result.feed.entries] == ["good.txt"]
    error = only_error(result)
    assert error.path == bad
    assert error.line == 7
    assert "not valid UTF-8" in error.message


def test_missing_path_is_one_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = read(missing)
    assert result.feed.entries == ()
    assert result.feed.title == "Lokale Artikel"
    error = only_error(result)
    assert error.path == missing
    assert error.line is None
    assert "does not exist" in error.message
    assert str(missing) in str(error)


def test_source_without_path_is_one_error() -> None:
    source = Source(name="X", kind=SourceKind.LOCAL, interval=timedelta(minutes=5))
    result = read_local_source(source)
    assert result.feed.entries == ()
    assert "no path" in only_error(result).message


def test_unknown_time_zone_is_one_error(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", GOOD_TXT)
    result = read(tmp_path, timezone="Mars/Olympus")
    assert result.feed.entries == ()
    assert "unknown time zone 'Mars/Olympus'" in only_error(result).message


def test_ignored_files_and_recursion(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", GOOD_TXT)
    write(tmp_path / ".hidden.txt", "garbage")
    write(tmp_path / ".git" / "x.md", "garbage")
    write(tmp_path / "README.md", "# Wie man Artikel schreibt")
    write(tmp_path / "readme.txt", "garbage")
    write(tmp_path / "notes.rst", "garbage")
    write(tmp_path / "a.txt~", "garbage")
    write(tmp_path / "sub" / "b.txt", GOOD_TXT)
    write(tmp_path / "sub" / ".drafts" / "c.txt", "garbage")
    write(tmp_path / "sub" / "deeper" / "c.MD", "---\ntitle: C\ndate: 2025-05-10\n---\nText.\n")
    result = read(tmp_path)
    assert result.errors == ()
    ids = [e.entry_id for e in result.feed.entries]
    assert ids == ["a.txt", "sub/b.txt", "sub/deeper/c.MD"]


def test_deterministic_sorted_order(tmp_path: Path) -> None:
    names = ["b.txt", "a-c.txt", "a/b.txt", "10.txt", "2.txt", "Z.md"]
    for name in reversed(names):
        if name.endswith(".md"):
            write(tmp_path / name, "---\ntitle: Z\ndate: 2025-05-10\n---\nText.\n")
        else:
            write(tmp_path / name, GOOD_TXT)
    first = read(tmp_path)
    ids = [e.entry_id for e in first.feed.entries]
    assert ids == sorted(ids)
    assert ids == ["10.txt", "2.txt", "Z.md", "a-c.txt", "a/b.txt", "b.txt"]
    assert read(tmp_path) == first


def test_errors_are_in_file_order(tmp_path: Path) -> None:
    for name in ["c.txt", "a.txt", "b.md"]:
        write(tmp_path / name, "kaputt\n")
    result = read(tmp_path)
    assert [e.path.name for e in result.errors] == ["a.txt", "b.md", "c.txt"]
    assert result.feed.entries == ()


def test_single_file_source_with_unsupported_extension(tmp_path: Path) -> None:
    odd = write(tmp_path / "a.rst", GOOD_TXT)
    error = only_error(read(odd))
    assert "unsupported file type '.rst'" in error.message


def test_location_is_relative_to_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    write(work / "articles" / "a.txt", GOOD_TXT)
    monkeypatch.chdir(work)
    entry = only_entry(read(work / "articles"))
    assert entry.location == str(Path("articles") / "a.txt")
    outside = only_entry(read(seed_folder(tmp_path)))
    assert outside.location is not None
    assert Path(outside.location).is_absolute()
