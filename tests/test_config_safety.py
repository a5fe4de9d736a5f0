"""Config entry points a hostile or careless editor reaches (issue 12 #3, #5 and its review):
an output folder that holds more than our output, two sources that read the same feed or
files, and other crafted configs. Real files in tmp_path, and `feeds check` as a program."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.feeds_cli import run_feeds

from feeds.config import ConfigError, load_config


def config_at(folder: Path, body: str, *, output: str = "out", store: str = "var/feeds.db") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "articles").mkdir(exist_ok=True)
    path = folder / "feeds.toml"
    path.write_text(
        f'[output]\ndir = "{output}"\n[storage]\nurl = "sqlite:///{store}"\n{body}',
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


LOCAL = '[[sources]]\nname = "Local"\npath = "articles"\n'


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("/", "is the file system's root"),
        (".", "is the config file's folder"),
        ("..", "the config file's folder"),
        ("var", "is the store's folder"),
    ],
)
def test_an_output_dir_holding_more_than_our_output_is_a_config_error(
    tmp_path: Path, output: str, says: str
) -> None:
    path = config_at(tmp_path / "site", LOCAL, output=output)
    found = problems(path)
    assert len(found) == 1
    assert "[output] key 'dir'" in found[0] and says in found[0]
    assert 'dir = "../output"' in found[0]  # says what to do


def test_an_output_dir_that_holds_the_store_or_home_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds_store = config_at(tmp_path / "a", LOCAL, output="/srv-x", store="/srv-x/db/feeds.db")
    assert any("holds /srv-x/db, the store's folder" in p for p in problems(holds_store))
    home = tmp_path / "h" / "home"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for output in (str(home), str(home.parent)):
        path = config_at(tmp_path / "b", LOCAL, output=output, store=str(tmp_path / "b/x.db"))
        assert any("the home folder" in p for p in problems(path)), output


def test_a_folder_of_its_own_is_fine(tmp_path: Path) -> None:
    config = load_config(config_at(tmp_path / "site", LOCAL, output="../output"))
    assert config.output.dir == tmp_path / "output"


def test_feeds_check_refuses_dir_dot_with_exit_2(tmp_path: Path) -> None:
    config_at(tmp_path, LOCAL, output=".")
    done = run_feeds("--config", "feeds.toml", "check", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "[output] key 'dir'" in done.stderr and "config file's folder" in done.stderr


def remote(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "C"\n'


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.org/feed.xml", "https://example.org/feed.xml"),
        ("https://example.org/feed.xml", "HTTPS://Example.ORG:443/feed.xml"),
        ("http://example.org", "http://example.org/"),
        ("https://example.org/feed.xml", "https://example.org/feed.xml#top"),
    ],
)
def test_two_sources_with_the_same_feed_are_a_config_error(
    tmp_path: Path, first: str, second: str
) -> None:
    path = config_at(tmp_path, remote("A", first) + remote("B", second))
    assert problems(path) == [
        f'{path}: sources[2] ("B") key \'url\': same feed as sources[1] ("A") ({second!r})'
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.org/feed.xml", "https://example.org/feed.xml/"),  # may differ
        ("https://example.org/Feed.xml", "https://example.org/feed.xml"),  # path case
        ("https://example.org/f?a=1&b=2", "https://example.org/f?b=2&a=1"),
        ("http://example.org/feed", "https://example.org/feed"),
        ("https://example.org:8443/feed", "https://example.org/feed"),
    ],
)
def test_urls_that_may_name_other_feeds_are_kept_apart(
    tmp_path: Path, first: str, second: str
) -> None:
    config = load_config(config_at(tmp_path, remote("A", first) + remote("B", second)))
    assert [s.url for s in config.sources] == [first, second]


def test_two_local_sources_on_one_folder_or_one_inside_another(tmp_path: Path) -> None:
    (tmp_path / "articles" / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "articles", tmp_path / "link")
    body = "".join(
        f'[[sources]]\nname = "{name}"\npath = "{path}"\n'
        for name, path in [("A", "articles"), ("B", "./articles/"), ("C", "articles/sub"),
                           ("D", "link"), ("E", "elsewhere")]
    )  # fmt: skip
    config = tmp_path / "feeds.toml"
    articles = tmp_path / "articles"
    assert problems(config_at(tmp_path, body)) == [
        f"{config}: sources[2] (\"B\") key 'path': same path as sources[1] (\"A\") ('{articles}')",
        f'{config}: sources[3] ("C") key \'path\': sources[3] ("C") lies inside the folder '
        'of sources[1] ("A"): its files would be read twice',
        f"{config}: sources[4] (\"D\") key 'path': same path as sources[1] (\"A\") ('{articles}')",
    ]
    outer_later = '[[sources]]\nname = "In"\npath = "articles/sub"\n' + LOCAL
    assert problems(config_at(tmp_path, outer_later)) == [
        f'{config}: sources[2] ("Local") key \'path\': sources[1] ("In") lies inside the '
        'folder of sources[2] ("Local"): its files would be read twice'
    ]
