"""Store failures end a command with one `Error:` line saying what to do, exit 1, and the
traceback only with -v (issue 12 #8): a damaged file, a full disk, a read-only file system,
a missing PostgreSQL driver; and one source whose rows the store refuses fails alone.

The full and read-only file systems are real: a small tmpfs mounted for the test (root
only; elsewhere those tests skip)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from support.daemon import daemon_with_metrics
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, REPO, SEED, run_feeds
from support.feedserver import FeedServer
from support.waiting import wait_for

from feeds.failures import explain_failure


def write_config(root: Path, sources: str = "", *, store: str = "db/feeds.db") -> None:
    (root / "articles").mkdir(exist_ok=True)
    shutil.copy(SEED, root / "articles")
    (root / "feeds.toml").write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "sqlite:///{store}"\n'
        '[[sources]]\nname = "Lokal"\npath = "articles"\n' + sources,
        encoding="utf-8",
    )


def feeds(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_feeds("--config", "feeds.toml", *args, cwd=root)


def assert_one_error_line(done: subprocess.CompletedProcess[str], *says: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, done.stderr
    for phrase in says:
        assert phrase in errors[0], errors[0]
    assert "Traceback" not in done.stderr and "never retrieved" not in done.stderr


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1.5 MB tmpfs at tmp_path/db."""
    mount = tmp_path / "db"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_damaged_store_is_one_error_line(tmp_path: Path) -> None:
    write_config(tmp_path)
    assert feeds(tmp_path, "update").returncode == 0
    database = tmp_path / "db" / "feeds.db"
    with database.open("r+b") as handle:  # every page's header but the first
        for page in range(1, database.stat().st_size // 4096):
            handle.seek(page * 4096)
            handle.write(b"\xff" * 64)
    for command in (["status"], ["update", "--all"], ["publish"], ["status", "--json"]):
        assert_one_error_line(
            feeds(tmp_path, *command), f"the store {database} is damaged", "restore it"
        )
    verbose = run_feeds("--config", "feeds.toml", "-v", "status", cwd=tmp_path)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_a_full_disk_during_an_update_is_one_error_line(
    tmp_path: Path, small_fs: Path, feed_server: FeedServer
) -> None:
    sources = ""
    for n in range(40):
        items = [FeedItem(id=f"f{n}-{i}", title=f"F{n} {i}", html="x" * 20000) for i in range(10)]
        url = feed_server.add(f"/f{n}.xml", rss20(items, title=f"F{n}"))
        sources += f'[[sources]]\nname = "F{n}"\nurl = "{url}"\ncategory = "C"\n'
    write_config(tmp_path, sources)
    done = feeds(tmp_path, "update")
    assert_one_error_line(
        done, f"the store {small_fs / 'feeds.db'} cannot be written: the disk is full"
    )
    status = feeds(tmp_path, "status", "--json")  # what fitted was stored, and reads back
    assert status.returncode == 0, status.stderr


def test_a_read_only_file_system_is_one_error_line(tmp_path: Path, small_fs: Path) -> None:
    write_config(tmp_path)
    assert feeds(tmp_path, "update").returncode == 0
    remount = ["mount", "-o", "remount,ro", str(small_fs)]
    subprocess.run(remount, check=True, capture_output=True)
    for command in (["status"], ["update"]):
        assert_one_error_line(
            feeds(tmp_path, *command), f"the store {small_fs / 'feeds.db'} cannot be opened"
        )


def test_a_read_only_database_names_what_to_do(tmp_path: Path) -> None:
    database = tmp_path / "ro.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    engine = create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    message = explain_failure(caught.value, f"sqlite:///{database}")
    assert message is not None
    assert message.startswith(f"the store {database} is read-only")
    assert "write access" in message
    assert explain_failure(ValueError("a bug"), None) is None  # stays a traceback


def test_a_missing_postgresql_driver_names_the_install_command(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "psycopg"  # what an interpreter without psycopg raises
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n"
    )
    write_config(tmp_path, store="x")
    config = tmp_path / "feeds.toml"
    config.write_text(
        config.read_text().replace("sqlite:///x", "postgresql://feeds@127.0.0.1:1/feeds")
    )
    env = {**FEEDS_ENV, "HOME": str(tmp_path), "PYTHONPATH": f"{tmp_path / 'site'}:{REPO}"}
    for command in (["status"], ["update"]):
        done = subprocess.run(
            [sys.executable, "-m", "feeds", "--config", str(config), *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        pip = Path(sys.executable).parent / "pip"
        assert_one_error_line(done, "PostgreSQL driver", f"{pip} install 'feeds[postgres]'")


def test_a_source_whose_rows_the_store_refuses_fails_alone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A real SQLite trigger refuses one source's rows: its group is retried one source at
    a time, that source fails with the reason, the others are stored and published."""
    sources = ""
    for name in ("Good", "Bad", "Also"):
        url = feed_server.add(
            f"/{name}.xml", rss20([FeedItem(id=f"{name}-1", title=f"{name} item")], title=name)
        )
        sources += f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "C"\n'
    write_config(tmp_path, sources)
    os.mkdir(tmp_path / "db")
    assert feeds(tmp_path, "status").returncode == 0  # creates the store
    with sqlite3.connect(tmp_path / "db" / "feeds.db") as conn:
        conn.execute(
            "CREATE TRIGGER refuse_bad BEFORE INSERT ON articles WHEN NEW.source = 'Bad' "
            "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
        )
    done = feeds(tmp_path, "update")
    assert done.returncode == 0, done.stderr
    assert "failed  Bad: store refused its write: refused by a test trigger" in done.stdout
    assert "Traceback" not in done.stderr
    atom = (tmp_path / "out" / "c" / "atom.xml").read_text()
    assert "Good item" in atom and "Also item" in atom and "Bad item" not in atom


@pytest.mark.slow
def test_the_daemon_reads_a_local_folder_again_once_the_full_store_has_room(
    tmp_path: Path, small_fs: Path
) -> None:
    write_config(tmp_path)
    atom = tmp_path / "out" / "welt-nachrichten" / "atom.xml"
    with daemon_with_metrics(Path("feeds.toml"), tmp_path) as (process, _):
        lines: list[str] = []
        assert process.stderr is not None
        reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
        reader.start()
        assert wait_for(atom.exists)
        filler = small_fs / "filler"
        # The store's disk full to the last byte.
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        for n in range(30):
            (tmp_path / "articles" / f"neu-{n}.md").write_text(
                f"---\ntitle: Neu {n}\ndate: 2026-01-01T10:00\ncategory: Welt Nachrichten\n"
                f"---\n{'Text ' * 4000}\n",
                encoding="utf-8",
            )
        assert wait_for(lambda: any("Lokal: update failed unexpectedly" in x for x in lines))
        # Room again, and no file of the folder changes: its articles are stored all the same.
        filler.unlink()
        assert wait_for(lambda: b"Neu 29" in atom.read_bytes()), "the folder was not read again"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        reader.join(timeout=10)
    assert sum("update failed unexpectedly" in line for line in lines) == 1, lines
    assert any("Lokal: updated again after an unexpected failure" in x for x in lines)


def test_a_source_whose_rows_postgresql_refuses_is_failing_in_status_and_backs_off(
    tmp_path: Path, feed_server: FeedServer, pg_url: str
) -> None:
    """A real CHECK constraint refuses one source's rows: the others are stored, and the
    refused one is recorded as failing (status, backoff, its lease let go)."""
    sources = ""
    for name in ("Good", "Bad"):
        url = feed_server.add(f"/{name}.xml", rss20([FeedItem(id=f"{name}-1", title=name)]))
        sources += f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "C"\n'
    (tmp_path / "feeds.toml").write_text(
        f'[output]\ndir = "out"\n[storage]\nurl = "{pg_url}"\n' + sources, encoding="utf-8"
    )
    assert feeds(tmp_path, "status").returncode == 0  # creates the store
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE articles ADD CONSTRAINT no_bad CHECK (source <> 'Bad')"))
        done = feeds(tmp_path, "update")
        assert done.returncode == 0, done.stderr
        assert (
            'failed  Bad: store refused its write: new row for relation "articles"' in done.stdout
        )
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT last_outcome, next_due_utc, lease_owner FROM source_state"
                     " WHERE source = 'Bad'")
            ).one()  # fmt: skip
    finally:
        engine.dispose()
    # Before: no state was saved, so status showed "never fetched", nothing was due later
    # and the lease was left to run out.
    assert row[0] == "failed" and row[1] is not None and row[2] is None, row
    status = feeds(tmp_path, "status").stdout
    assert "never fetched" not in status, status
    assert "store refused its write" in status, status
