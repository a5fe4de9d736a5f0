from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support.default_site import install_default_site

from feeds.config import (
    DEFAULT_INTERVAL,
    ConfigError,
    find_config_path,
    load_config,
    parse_duration,
    parse_size,
)
from feeds.model import SourceKind


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "feeds.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (45, 45),
     ("3600", 3600), (2.5, 2.5), ("500ms", 0.5), ("1H", 3600)],
)  # fmt: skip
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5x", "m", "-5m", "0", "1h foo", True, None, [1]])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 512 * 1024
    assert parse_size(1234) == 1234
    with pytest.raises(ValueError, match="bad size"):
        parse_size("lots")


def test_default_config_is_valid_and_offline(tmp_path: Path) -> None:
    config = load_config(install_default_site(tmp_path))
    assert config.output.dir == tmp_path / "output"
    assert config.storage.url == f"sqlite:///{tmp_path / 'var' / 'feeds.db'}"
    assert [s.kind for s in config.sources] == [SourceKind.LOCAL]
    local = config.sources[0]
    assert local.path == tmp_path / "config" / "articles"
    assert local.timezone == "Europe/Berlin"
    assert local.language == "de"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [output]
        dir = "out"
        base_url = "https://example.org/feeds"
        [storage]
        url = "sqlite:///db/x.db"
        [[sources]]
        name = "a"
        path = "articles"
        category = "Technik"
        interval = 90
        """,
    )
    config = load_config(path)
    assert config.output.dir == tmp_path / "conf" / "out"
    assert config.output.base_url == "https://example.org/feeds/"
    assert config.storage.url == f"sqlite:///{tmp_path / 'conf' / 'db' / 'x.db'}"
    assert config.sources[0].path == tmp_path / "conf" / "articles"
    assert config.sources[0].interval == timedelta(seconds=90)


def test_absolute_sqlite_url_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, f'[storage]\nurl = "sqlite:////{tmp_path}/abs.db"\n')
    assert load_config(path).storage.url == f"sqlite:////{tmp_path}/abs.db"


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[output]\ndir = \n")
    [message] = problems(path)
    assert str(path) in message
    assert "invalid TOML" in message
    assert "line 2" in message


def test_every_problem_is_reported_with_source_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [output]
        colour = "blue"
        [[sources]]
        name = "Both"
        url = "https://example.org/feed"
        path = "articles"
        category = "X"
        [[sources]]
        name = "Neither"
        category = "X"
        [[sources]]
        name = "Both"
        path = "articles"
        interval = "5x"
        [[sources]]
        url = "ftp://example.org/feed"
        category = "X"
        [[sources]]
        name = "NoCategory"
        url = "https://example.org/other"
        timezone = "Mars/Olympus"
        """,
    )
    found = problems(path)
    text = "\n".join(found)
    assert all(m.startswith(f"{path}: ") for m in found)
    assert "[output] key 'colour': unknown key" in text
    assert "sources[1] (\"Both\") key 'url': has 'url' and 'path': give exactly one of" in text
    assert "sources[2] (\"Neither\") key 'url': has neither" in text
    assert "sources[3] (\"Both\") key 'name': duplicate name, already used by sources[1]" in text
    assert "sources[3] (\"Both\") key 'interval': bad duration '5x'" in text
    assert "sources[4] key 'name': missing" in text
    assert "sources[4] key 'url': must be an absolute http(s) URL" in text
    assert "sources[5] (\"NoCategory\") key 'category': missing" in text
    assert "sources[5] (\"NoCategory\") key 'timezone': unknown time zone" in text
    assert len(found) == 9


def test_wrong_types_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[output]\nmax_items = "many"\ntitle = 3\n[fetch]\nconcurrency = 0\n')
    text = "\n".join(problems(path))
    assert "key 'max_items': must be a int" in text
    assert "key 'title': must be a str" in text
    assert "[fetch] key 'concurrency': must be from 1 to 1,000, not 0" in text


def test_missing_file(tmp_path: Path) -> None:
    [message] = problems(tmp_path / "nope.toml")
    assert "nope.toml: file not found" in message


def test_config_path_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDS_CONFIG", raising=False)
    assert find_config_path(None) == Path("config/feeds.toml")
    monkeypatch.setenv("FEEDS_CONFIG", "/etc/feeds.toml")
    assert find_config_path(None) == Path("/etc/feeds.toml")
    assert find_config_path("mine.toml") == Path("mine.toml")


def test_a_malformed_url_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """The web-URL test is the one of feeds/web_url.py everywhere: a URL that urlsplit
    cannot split ("http://[") is refused with the others, where it raised ValueError."""
    path = write(
        tmp_path,
        '[output]\nbase_url = "http://[::1/"\n[websub]\nhub = "https://[hub/"\n'
        '[[sources]]\nname = "A"\nurl = "http://[::1/feed"\ncategory = "C"\n',
    )
    found = problems(path)
    assert any("base_url" in p and "must be an absolute http(s) URL" in p for p in found)
    assert any("hub" in p and "must be an absolute http(s) URL" in p for p in found)
    assert any(
        "sources[1]" in p and "must be an absolute http(s) URL, not 'http://[::1/feed'" in p
        for p in found
    )


def test_the_default_interval_is_thirty_minutes(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "A"\nurl = "https://a.example/"\ncategory = "C"\n')
    assert load_config(path).sources[0].interval == timedelta(minutes=30) == DEFAULT_INTERVAL


def test_each_source_reads_its_own_interval_and_a_bad_one_is_named_every_time(
    tmp_path: Path,
) -> None:
    tables = [("a", "2h"), ("b", "5x"), ("c", "2h"), ("d", "5x"), ("e", "90")]
    path = write(
        tmp_path,
        "".join(
            f'[[sources]]\nname = "{name}"\nurl = "https://{name}.example/"\ncategory = "C"\n'
            f'interval = "{interval}"\n'
            for name, interval in tables
        ),
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    named = [(p.where, p.key) for p in raised.value.problems if "bad duration" in p.message]
    assert named == [('sources[2] ("b")', "interval"), ('sources[4] ("d")', "interval")]
    fixed = path.read_text(encoding="utf-8").replace('"5x"', '"45m"')
    path.write_text(fixed, encoding="utf-8")
    intervals = [source.interval for source in load_config(path).sources]
    hours, minutes = timedelta(hours=2), timedelta(minutes=45)
    assert intervals == [hours, minutes, hours, minutes, timedelta(seconds=90)]
