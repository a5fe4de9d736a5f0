"""The temp-file sweep removes only what our atomic writer leaves behind (issue 12 #3):
names it makes, in folders we publish, never another program's files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from support.feeds_cli import SEED, run_feeds

from feeds.publish.files import (
    is_temp_file_name,
    open_temp_beside,
    sweep_temp_files,
    write_if_changed,
)

HOURS_AGO = time.time() - 7200


def old_file(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (HOURS_AGO, HOURS_AGO))
    return path


def test_the_writer_names_its_temp_files_distinctively(tmp_path: Path) -> None:
    target = tmp_path / "technik" / "atom.xml"
    target.parent.mkdir()
    fd, name = open_temp_beside(target)
    os.close(fd)
    assert Path(name).parent == target.parent
    assert Path(name).name.startswith(".atom.xml.feeds-") and is_temp_file_name(Path(name).name)
    for other in (".session.tmp", ".atom.xml.abc123.tmp", "atom.xml.feeds-abcdefgh.tmp",
                  ".atom.xml.feeds-abcdefgh.tmp.bak", ".x.feeds-ABCDEFGH.tmp"):  # fmt: skip
        assert not is_temp_file_name(other), other
    write_if_changed(target, b"<feed/>")  # the writer leaves no temp file behind
    assert sorted(p.name for p in target.parent.iterdir()) == [Path(name).name, "atom.xml"]


def test_only_our_names_in_our_folders_are_swept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for published in ("technik/atom.xml", "all/feed.json", "index.html"):
        old_file(out / published, b"ours")
    ours = [
        old_file(out / ".index.html.feeds-abcdefgh.tmp"),
        old_file(out / "technik" / ".rss.xml.feeds-a1b2c3d4.tmp"),
        old_file(out / "technik" / ".atom.xml.gz.feeds-a1b2c3d4.tmp"),
        old_file(out / "technik" / "archive" / ".3.xml.feeds-zz_9zz9z.tmp"),
        old_file(out / "all" / ".feed.json.feeds-qwertyui.tmp"),
        old_file(out / "articles" / "lokal" / ".a-1234.html.feeds-qwertyui.tmp"),
    ]
    elsewhere = tmp_path / "elsewhere"
    old_file(elsewhere / "atom.xml")
    os.symlink(elsewhere, out / "linked")
    theirs = [
        old_file(out / "other-app" / ".session.tmp"),  # the file the issue saw removed
        old_file(out / "other-app" / ".atom.xml.feeds-abcdefgh.tmp"),  # not our folder
        old_file(out / "technik" / ".session.tmp"),
        old_file(out / "technik" / ".atom.xml.abc123.tmp"),
        old_file(out / "technik" / "deep" / ".atom.xml.feeds-abcdefgh.tmp"),
        old_file(out / "Technik" / ".atom.xml.feeds-abcdefgh.tmp"),
        old_file(elsewhere / ".atom.xml.feeds-abcdefgh.tmp"),
    ]
    fresh = out / "technik" / ".atom.xml.feeds-freshfil.tmp"
    fresh.write_bytes(b"being written")
    assert sweep_temp_files(out) == len(ours)
    assert [p for p in ours if p.exists()] == []
    assert [p for p in theirs if not p.exists()] == []
    assert fresh.exists()


def test_update_leaves_another_programs_temp_files_alone(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    (tmp_path / "feeds.toml").write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///feeds.db"\n'
        '[[sources]]\nname = "Local"\npath = "articles"\n',
        encoding="utf-8",
    )
    session = old_file(tmp_path / "out" / "other-app" / ".session.tmp", b"someone's state")
    leftover = old_file(tmp_path / "out" / ".index.html.feeds-abcdefgh.tmp")
    done = run_feeds("--config", "feeds.toml", "update", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert session.read_bytes() == b"someone's state"
    assert not leftover.exists()
    assert (tmp_path / "out" / "welt-nachrichten" / "atom.xml").is_file()
