"""Hostile config lines, each found by a campaign of broken configs: every one is a config
error naming its place and key (never a traceback from `feeds check`), and values `check`
passes do not break `update` later (huge numbers, durations, headers)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from support.feeds_cli import run_feeds

from feeds.config import MAX_DURATION, ConfigError, load_config, parse_duration, parse_size
from feeds.daemon import Daemon
from feeds.opml_file import OpmlFeed
from feeds.subscriptions import plan_import

BASE = """\
[output]
dir = "out"
[storage]
url = "sqlite:///var/feeds.db"
"""
FEED = '[[sources]]\nname = "F"\nurl = "https://example.org/feed"\ncategory = "C"\n'


def _with_base(lines: str) -> str:
    """`BASE` with `lines` added: those of an [output] or [storage] table into BASE's own
    (TOML allows a table once)."""
    for table, key in (("[output]\n", "dir"), ("[storage]\n", "url")):
        if lines.startswith(table):
            base = BASE
            if f"\n{key} = " in lines:  # the lines' own replaces BASE's
                base = "".join(line for line in BASE.splitlines(True) if not line.startswith(key))
            return base.replace(table, lines)
    return BASE + lines


def _problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return "\n".join(str(p) for p in caught.value.problems)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # a rule's action of another type, and patterns sre cannot compile
        ('[[rules]]\naction = []\ntitle = "x"\n', "rules[1] key 'action': must be keep, drop"),
        ('[[rules]]\naction = {}\ntitle = "x"\n', "rules[1] key 'action': must be keep, drop"),
        (
            FEED + '[[sources.rules]]\naction = ["drop"]\ntitle = "x"\n',
            "rules[1] key 'action': must be keep",
        ),
        (
            '[[rules]]\naction = "drop"\ntitle = "a{4294967296}"\n',
            "key 'title': invalid regular expression 'a{4294967296}': too large or nested",
        ),
        (
            f'[[rules]]\naction = "drop"\ntitle = "{"(" * 500}{")" * 500}"\n',
            "key 'title': invalid regular expression",
        ),
        # time zones that are folders of the zone database, or too long a name for a file
        (FEED + 'timezone = "America"\n', "key 'timezone': unknown time zone 'America'"),
        (FEED + 'timezone = "__pycache__"\n', "key 'timezone': unknown time zone"),
        (FEED + f'timezone = "{"x" * 300}"\n', "key 'timezone': unknown time zone"),
        # paths no file can have
        ('[output]\ndir = "~nosuchuser-feeds/x"\n', "[output] key 'dir': '~nosuchuser-feeds/x'"),
        ('[output]\ndir = "a\\u0000b"\n', "[output] key 'dir': 'a\\x00b' holds a NUL byte"),
        (
            '[[sources]]\nname = "L"\npath = "~nosuchuser-feeds/x"\ncategory = "C"\n',
            "key 'path': '~nosuchuser-feeds/x': no home folder",
        ),
        (
            '[[sources]]\nname = "L"\npath = "a\\u0000b"\ncategory = "C"\n',
            "key 'path': 'a\\x00b' holds a NUL byte",
        ),
        ('[storage]\nurl = "sqlite:///a\\u0000b"\n', "[storage] key 'url': holds a NUL byte"),
        (
            FEED + 'password_file = "~nosuchuser-feeds/pw"\nusername = "u"\n',
            "key 'password_file': '~nosuchuser-feeds/pw': no home folder",
        ),
        (
            FEED + 'password_file = "a\\u0000b"\nusername = "u"\n',
            "key 'password_file': 'a\\x00b' holds a NUL byte",
        ),
        # sizes and durations beyond any use, not a number, or rounding to nothing
        (f'[fetch]\nmax_body = "{"9" * 400}"\n', "[fetch] key 'max_body': size"),
        ('[fetch]\nmax_body = "0.1b"\n', "key 'max_body': size '0.1b' must be at least one byte"),
        ('[fetch]\nlease = "36500000d"\n', "key 'lease': duration '36500000d' is too long"),
        (FEED + 'interval = "999999999d"\n', "key 'interval': duration '999999999d' is too long"),
        (FEED + "interval = nan\n", "key 'interval': bad duration nan"),
        (FEED + 'interval = "0.0000001s"\n', "key 'interval': duration '0.0000001s' must be"),
        (FEED + "interval = 1e-9\n", "key 'interval': duration 1e-09 must be more than zero"),
        # integers the store and the daemon's arithmetic cannot hold
        ("[output]\nmax_items = 9223372036854775808\n", "key 'max_items': must be from 1 to"),
        ("[output]\narchive_size = -1\n", "key 'archive_size': must be from 0 to"),
        ("[fetch]\nconcurrency = 9223372036854775807\n", "key 'concurrency': must be from 1"),
        ("[fetch]\nper_host = 9223372036854775808\n", "key 'per_host': must be from 1"),
        # text that goes into every request or every document as it is
        ('[fetch]\nuser_agent = "été"\n', "[fetch] key 'user_agent': must be up to 512 visible"),
        ('[fetch]\nuser_agent = "a\\r\\nX-Evil: 1"\n', "[fetch] key 'user_agent': must be"),
        ('[output]\ntitle = "a\\u0001b"\n', "[output] key 'title': must not contain control"),
        # URLs no fetch could ever reach, and a base every published URL would break on
        *(
            (f'[[sources]]\nname = "U"\nurl = "{url}"\ncategory = "C"\n', f"key 'url': {why}")
            for url, why in (
                ("http://example.org:99999/f", "bad port"),
                ("http://example.org:abc/f", "bad port"),
                ("http://example.org:0/f", "bad port: 0"),
                ("http://:80/f", "no host name"),
                ("http://ex ample.org/f", "white space in the host name"),
                ("http://example..org/f", "host name 'example..org' has an empty or too long"),
                (f"http://{'a' * 64}.org/f", f"host name '{'a' * 64}.org' has an empty"),
            )
        ),
        ('[[sources]]\nname = "P"\npage = "http://:8/"\ncategory = "C"\n', "key 'page': no host"),
        ('[output]\nbase_url = "http://example.org/?q=1"\n', "key 'base_url': must have no query"),
        ('[output]\nbase_url = "http://example.org/#f"\n', "key 'base_url': must have no query"),
        ('[websub]\nhub = "http://example..org/hub"\n', "[websub] key 'hub': host name"),
        ('[[sources]]\nname = "L"\npath = ""\ncategory = "C"\n', "key 'path': must not be empty"),
        # a name of another type is not a missing one
        ('[[sources]]\nname = 0\nurl = "https://example.org/f"\ncategory = "C"\n',
         "sources[1] key 'name': must be a string, not 0"),
    ],
)  # fmt: skip
def test_a_hostile_line_is_a_config_error_naming_its_key(
    tmp_path: Path, lines: str, expected: str
) -> None:
    assert expected in _problems(tmp_path, _with_base(lines))


def test_an_integer_of_more_digits_than_python_reads_is_invalid_toml(tmp_path: Path) -> None:
    text = _problems(tmp_path, BASE + f"[fetch]\nconcurrency = {'9' * 5000}\n")
    assert "invalid TOML" in text
    assert "Exceeds the limit" in text


def test_a_byte_order_mark_and_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    with pytest.raises(ConfigError, match="starts with a byte order mark"):
        load_config(path)
    path.write_bytes(BASE.encode() + b'[fetch]\nuser_agent = "\xe9t\xe9"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8: byte 0xe9 on line 6"):
        load_config(path)


def test_a_config_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "feeds.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="cannot read: not a regular file"):
        load_config(fifo)  # opening it for reading would wait for a writer


def test_a_config_through_a_loop_of_symlinks_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    done = run_feeds("--config", str(tmp_path / "a.toml"), "check", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Too many levels of symbolic links" in done.stderr
    assert "Traceback" not in done.stderr


def test_paths_through_a_loop_of_symlinks_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    text = _problems(tmp_path, BASE.replace('dir = "out"', 'dir = "loop/out"'))
    assert "[output] key 'dir':" in text and "loop of symlinks" in text
    absolute = str(tmp_path / "loop" / "articles")
    lines = f'[[sources]]\nname = "L"\npath = "{absolute}"\ncategory = "C"\n'
    assert "key 'path':" in _problems(tmp_path, BASE + lines)


def test_an_output_folder_in_a_local_sources_folder_is_refused(tmp_path: Path) -> None:
    lines = '[[sources]]\nname = "Desk"\npath = "articles"\ncategory = "C"\n'
    for folder in ("articles", "articles/site"):
        text = _problems(tmp_path, BASE.replace('dir = "out"', f'dir = "{folder}"') + lines)
        assert "[output] key 'dir':" in text
        assert "overlaps the folder of 'Desk'" in text


def test_two_kinds_at_once_name_the_clash_only(tmp_path: Path) -> None:
    lines = (
        '[[sources]]\nname = "B"\nurl = "https://b.example/feed"\npage = "https://b.example/"\n'
        'category = "C"\nitem = "li"\ntitle = "h2"\nlink = "a"\n'
    )
    text = _problems(tmp_path, BASE + lines)
    assert "key 'url': has 'url' and 'page': give exactly one of 'url', 'path', 'page'" in text
    assert "unknown key" not in text


def test_an_empty_config_option_is_a_usage_error_not_the_default_config(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    default = tmp_path / "config" / "feeds.toml"
    default.write_text(BASE, encoding="utf-8")
    before = default.read_bytes()
    add = ["sources", "add", "--no-check", "https://x.example/f", "--category", "C"]
    done = run_feeds("--config", "", *add, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Invalid value for '--config': names no file" in done.stderr
    assert default.read_bytes() == before


def test_the_bounds_lie_inside_what_dates_and_sizes_can_take() -> None:
    assert parse_duration(f"{MAX_DURATION.days}d") == MAX_DURATION
    assert parse_size("1024GiB") == 1024**4
    with pytest.raises(ValueError, match="too large"):
        parse_size("1025GiB")


def test_the_daemon_keeps_its_config_when_a_reload_raises_what_the_reader_did_not_foresee(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(BASE + FEED, encoding="utf-8")
    config = load_config(path)

    def unforeseen(_path: Path) -> None:
        raise LookupError("a reader bug")

    daemon = object.__new__(Daemon)  # only what `_reload` reads
    daemon.config, daemon.config_stamp, daemon.reload_requested = config, None, True
    monkeypatch.setattr("feeds.daemon.load_config", unforeseen)
    with caplog.at_level(logging.ERROR, logger="feeds.daemon"):
        asyncio.run(daemon._reload())
    assert daemon.config is config
    assert "config reload failed; keeping the last good config" in caplog.text
    assert "LookupError: a reader bug" in caplog.text


def test_check_passes_none_of_them_through_to_update(tmp_path: Path) -> None:
    """The values that once passed `check` and then broke `update`: each is refused."""
    for lines in (
        '[fetch]\nuser_agent = "été"\n',
        "[output]\nmax_items = 9223372036854775808\n",
        '[fetch]\nlease = "36500000d"\n',
        '[output]\ntitle = "a\\u0001b"\n',
    ):
        path = tmp_path / "feeds.toml"
        path.write_text(_with_base(lines), encoding="utf-8")
        done = run_feeds("--config", str(path), "check", cwd=tmp_path)
        assert done.returncode == 2, (lines, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr


def test_sources_add_refuses_a_url_no_fetch_could_reach(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(BASE, encoding="utf-8")
    for url in ("http://example..org/f", "http://example.org:99999/f", "http://:80/f"):
        add = ("sources", "add", "--no-check", url, "--category", "C")
        done = run_feeds("--config", str(path), *add, cwd=tmp_path)
        assert done.returncode == 2, (url, done.stderr)
        assert "Invalid value for URL:" in done.stderr
        assert path.read_text(encoding="utf-8") == BASE


def test_opml_import_skips_a_url_no_fetch_could_reach() -> None:
    feeds = [OpmlFeed("http://example..org/f", "Broken"), OpmlFeed("https://a.example/f", "Fine")]
    plan = plan_import(BASE, feeds)
    assert [s.url for s in plan.add] == ["https://a.example/f"]
    assert [(s.feed.url, s.reason) for s in plan.skipped] == [
        (
            "http://example..org/f",
            "host name 'example..org' has an empty or too long part: 'http://example..org/f'",
        )
    ]
