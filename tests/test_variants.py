"""Precompressed variants beside published files: made with their file, only when it changes."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib
from pathlib import Path

import brotli

from feeds.publish.files import write_if_changed
from feeds.publish.variants import (
    MIN_SIZE,
    start_compressing,
    variants_current,
)

BODY = ("<?xml version='1.0'?><feed>" + "<entry>Größe</entry>" * 200 + "</feed>").encode()


def stamps(path: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of the file and each variant that exists."""
    found = {}
    for suffix in ("", ".gz", ".br"):
        target = path.with_name(path.name + suffix)
        if target.exists():
            info = target.stat()
            found[suffix] = (info.st_ino, info.st_mtime_ns)
    return found


def test_variants_are_written_with_the_file_and_carry_its_mtime(tmp_path: Path) -> None:
    feed = tmp_path / "technik" / "atom.xml"
    assert write_if_changed(feed, BODY)
    assert gzip.decompress((tmp_path / "technik" / "atom.xml.gz").read_bytes()) == BODY
    assert brotli.decompress((tmp_path / "technik" / "atom.xml.br").read_bytes()) == BODY
    mtimes = {mtime for _, mtime in stamps(feed).values()}
    assert len(stamps(feed)) == 3 and len(mtimes) == 1  # one version, one mtime
    for suffix in (".gz", ".br"):
        assert (feed.with_name("atom.xml" + suffix).stat().st_mode & 0o777) == 0o644
    assert [p.name for p in (tmp_path / "technik").iterdir() if p.name.startswith(".")] == []


def test_same_bytes_rewrite_nothing_new_bytes_rewrite_all(tmp_path: Path) -> None:
    feed = tmp_path / "atom.xml"
    write_if_changed(feed, BODY)
    before = stamps(feed)
    assert not write_if_changed(feed, BODY)
    assert stamps(feed) == before  # same inodes, same mtimes: validators unchanged

    changed = BODY.replace(b"</feed>", b"<entry>neu</entry></feed>")
    assert write_if_changed(feed, changed)
    after = stamps(feed)
    assert set(after) == {"", ".gz", ".br"}
    for suffix in after:
        assert after[suffix] != before[suffix], suffix  # every one replaced
    assert len({mtime for _, mtime in after.values()}) == 1
    assert gzip.decompress(feed.with_name("atom.xml.gz").read_bytes()) == changed


def test_a_missing_or_stale_variant_is_repaired_by_the_next_publish(tmp_path: Path) -> None:
    feed = tmp_path / "atom.xml"
    write_if_changed(feed, BODY)  # as an older version would: no variants yet
    feed.with_name("atom.xml.gz").unlink()
    assert not variants_current(feed)
    assert not write_if_changed(feed, BODY)  # the file itself is left alone ...
    assert variants_current(feed)  # ... its variants are made
    assert gzip.decompress(feed.with_name("atom.xml.gz").read_bytes()) == BODY

    # A crash between the renames leaves a variant of the old version: mtimes disagree.
    os.utime(feed.with_name("atom.xml.br"), ns=(0, 0))
    assert not variants_current(feed)
    before = feed.stat().st_mtime_ns
    write_if_changed(feed, BODY)
    assert variants_current(feed) and feed.stat().st_mtime_ns == before


def test_small_and_binary_files_get_no_variants_and_lose_old_ones(tmp_path: Path) -> None:
    feed = tmp_path / "atom.xml"
    write_if_changed(feed, BODY)
    small = b"<feed/>"
    assert len(small) < MIN_SIZE
    write_if_changed(feed, small)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atom.xml"]
    write_if_changed(tmp_path / "logo.png", os.urandom(4096))
    write_if_changed(tmp_path / ".feeds-site", b"x" * 4096)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".feeds-site", "atom.xml", "logo.png"]


def test_a_batch_compressed_in_parallel_is_each_file_compressed_alone(tmp_path: Path) -> None:
    files = [
        (tmp_path / f"{n}" / "atom.xml", BODY.replace(b"Gr", str(n).encode())) for n in range(6)
    ]
    files += [(tmp_path / "small.xml", b"<feed/>"), (tmp_path / "logo.png", os.urandom(4096))]
    made = start_compressing(files).result()
    assert made == [start_compressing([file]).result()[0] for file in files]
    assert [len(m) for m in made] == [2] * 6 + [0, 0]
    assert gzip.decompress(made[3][tmp_path / "3" / "atom.xml.gz"]) == files[3][1]


def test_variants_are_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    """A variant depends on its file's bytes alone: another process (another thread pool,
    another compressor state) makes the same bytes; the gzip member has no timestamp or
    name, and zlib reads it as one gzip stream."""
    body = b"".join(BODY.replace(b"Gr", str(n).encode()) for n in range(300))
    feed = tmp_path / "atom.xml"
    probe = (
        "import sys; from pathlib import Path; from feeds.publish.variants import "
        "start_compressing as c; v = c([(Path(sys.argv[1]), Path(sys.argv[2]).read_bytes())])"
        ".result()[0]; "
        "sys.stdout.buffer.write(v[Path(sys.argv[1] + '.gz')] + v[Path(sys.argv[1] + '.br')])"
    )
    (tmp_path / "body").write_bytes(body)
    ours = start_compressing([(feed, body)]).result()[0]
    gz, br = ours[tmp_path / "atom.xml.gz"], ours[tmp_path / "atom.xml.br"]
    other = subprocess.run(
        [sys.executable, "-c", probe, str(feed), str(tmp_path / "body")],
        capture_output=True,
        check=True,
    ).stdout
    assert other == gz + br
    assert gz[:4] == b"\x1f\x8b\x08\x00" and gz[4:8] == b"\0\0\0\0"  # no name, mtime 0
    stream = zlib.decompressobj(wbits=31)
    assert stream.decompress(gz) == body and stream.eof and stream.unused_data == b""
    assert brotli.decompress(br) == body
