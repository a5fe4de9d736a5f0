"""A hostile review of the config, article files and OPML entry points (issue 12, "Also"):
crafted inputs that stopped a whole command or slipped through, kept as tests."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.feeds_cli import run_feeds

import feeds.sources.local
from feeds.cli.sources import MAX_OPML_BYTES, opml
from feeds.config import MAX_CONFIG_BYTES, ConfigError, load_config
from feeds.model import Source, SourceKind
from feeds.sources.local import read_local_source

ARTICLE = "Veröffentlichungsdatum: 01.02.2025 08:15 / Lokales\n\nTitel\n\nText.\n"
HEAD = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


# --- config -------------------------------------------------------------------------------


def test_a_config_nested_too_deeply_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(HEAD + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert problems(path) == [f"{path}: invalid TOML: nested too deeply"]
    done = run_feeds("--config", "feeds.toml", "check", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_a_huge_config_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)  # sparse
    assert problems(path) == [f"{path}: larger than 16 MiB"]


def test_control_characters_in_a_source_name_or_url_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(
        HEAD + '[[sources]]\nname = "a\\nWARNING forged"\nurl = "https://a.example/"\n'
        'category = "C"\n[[sources]]\nname = "b"\nurl = "https://b.example/\\tx"\n'
        'category = "C"\n'
    )
    assert problems(path) == [
        f"{path}: sources[1] key 'name': must not contain control characters",
        f"{path}: sources[2] (\"b\") key 'url': must not contain control characters",
    ]


# --- article files ------------------------------------------------------------------------


def read(path: Path) -> feeds.sources.local.LocalRead:
    return read_local_source(
        Source(name="L", kind=SourceKind.LOCAL, interval=timedelta(minutes=5), path=path)
    )


def test_front_matter_nested_too_deeply_fails_that_file_only(tmp_path: Path) -> None:
    (tmp_path / "deep.md").write_text(f"---\ntitle: {'[' * 3000}\ndate: 2025-01-01\n---\nB\n")
    (tmp_path / "ok.txt").write_text(ARTICLE, encoding="utf-8")
    result = read(tmp_path)
    assert [e.entry_id for e in result.feed.entries] == ["ok.txt"]
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'deep.md'}:2: front matter is nested too deeply"
    ]


def test_file_names_cannot_forge_log_lines(tmp_path: Path) -> None:
    (tmp_path / "evil\nWARNING forged.txt").write_text("not an article\n")
    error = read(tmp_path).errors[0]
    assert "\n" not in str(error) and "evil\\x0aWARNING forged.txt:1:" in str(error)


def test_a_folder_with_too_many_files_reads_none_and_deletes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds.sources.local, "MAX_ARTICLE_FILES", 5)
    for n in range(6):
        (tmp_path / f"{n}.txt").write_text(ARTICLE, encoding="utf-8")
    result = read(tmp_path)
    assert result.feed.entries == () and result.present is None
    assert [str(e) for e in result.errors] == [f"{tmp_path}: more than 5 article files; none read"]
    (tmp_path / "5.txt").unlink()
    assert len(read(tmp_path).feed.entries) == 5


# --- OPML ---------------------------------------------------------------------------------


def test_odd_outlines_are_skipped_or_cleaned_never_refusing_the_import(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(HEAD)
    listing = tmp_path / "list.opml"
    long_url = "https://long.example/" + "a" * 3000
    listing.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0" '
        'xmlns:feeds="https://github.com/feeds-project/feeds#opml"><body>\n'
        '<outline text="Good" xmlUrl="https://good.example/feed"/>\n'
        '<outline text="Bad interval" xmlUrl="https://bad.example/feed" feeds:interval="5x"/>\n'
        '<outline text="Ctl\x7fname" xmlUrl="https://ctl.example/feed" feeds:language="d\x7fe"/>\n'
        f'<outline text="Long" xmlUrl="{long_url}"/>\n'
        '<outline text="Folder\x9fx"><outline text="In" xmlUrl="https://in.example/f"/></outline>\n'
        "</body></opml>\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(
        opml, ["import", str(listing), "--no-check"], obj=str(config), catch_exceptions=False
    )
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == "added 3, skipped 2"
    assert "feeds:interval: bad duration '5x'" in done.output
    assert "URL with control characters or too long" in done.output
    loaded = load_config(config)
    assert [(s.name, s.category, s.language) for s in loaded.sources] == [
        ("Good", "Imported", None),
        ("Ctl name", "Imported", "d e"),
        ("In", "Folder x", None),
    ]


def test_the_import_report_shows_each_outline_on_one_line_without_controls(
    tmp_path: Path,
) -> None:
    """XML 1.0 lets a line break and the C1 controls into an attribute: a skipped outline's
    URL once forged a report line of its own and sent a CSI to the terminal."""
    config = tmp_path / "feeds.toml"
    config.write_text(HEAD)
    listing = tmp_path / "list.opml"
    forged = "https://e.example/&#10;  added   'Fake' (News): https://fake.example/"
    listing.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><body>\n'
        f'<outline text="Forged" xmlUrl="{forged}"/>\n'
        '<outline text="Csi" xmlUrl="javascript:&#x9b;2J"/>\n'
        f'<outline text="Long" xmlUrl="https://long.example/{"a" * 20_000}"/>\n'
        '<outline text="Links&#x202e;rechts"><outline text="In" xmlUrl="https://in.example/f"/>'
        "</outline>\n</body></opml>\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(
        opml, ["import", str(listing), "--no-check"], obj=str(config), catch_exceptions=False
    )
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == "added 1, skipped 3"
    assert [line.split(" ", 4)[2] for line in lines[1:]] == ["added", "skipped"] + ["skipped"] * 2
    assert not any(c in done.output for c in "\x9b\u202e")
    assert max(len(line) for line in lines) < 400


def test_a_huge_opml_file_is_refused_unread(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(HEAD)
    listing = tmp_path / "huge.opml"
    with listing.open("wb") as handle:
        handle.truncate(MAX_OPML_BYTES + 1)
    done = CliRunner().invoke(opml, ["import", str(listing), "--no-check"], obj=str(config))
    assert done.exit_code == 2 and "larger than 32 MiB; nothing imported" in done.output
    assert config.read_text() == HEAD
    assert os.path.getsize(listing) == MAX_OPML_BYTES + 1
