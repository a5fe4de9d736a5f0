"""A source's request options in the config: what is accepted, every hostile line refused
with a clear problem, secrets read from the environment or a file and never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.configfile import write_config
from support.feeds_cli import run_feeds

from feeds.config import Config, ConfigError, load_config
from feeds.masking import masked_url, scrub
from feeds.request_options import (
    MAX_SECRET_FILE,
    RequestOptions,
    _OptionsReader,
    masked_proxy,
    read_request_options,
    same_origin,
)

SOURCE = '[[sources]]\nname = "S"\nurl = "https://example.org/feed"\ncategory = "C"\n'


def load(tmp_path: Path, options: str, fetch: str = "") -> Config:
    return load_config(write_config(tmp_path, f"[fetch]\n{fetch}\n{SOURCE}{options}\n"))


def problems(tmp_path: Path, options: str, fetch: str = "") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, options, fetch)
    return [str(p) for p in caught.value.problems]


def test_every_option_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS_PW_EXAMPLE", "pa55word-from-env")
    config = load(
        tmp_path,
        'user_agent = "Mozilla/5.0 (compatible; feeds)"\n'
        'headers = { "X-Api-Key" = "abc123", Accept-Language = "de" }\n'
        'cookies = { consent = "yes", session = "s-1234" }\n'
        'username = "editor"\npassword_env = "FEEDS_PW_EXAMPLE"\n'
        'proxy = "http://proxy.internal:3128"\n',
    )
    options = config.sources[0].request
    assert options.user_agent == "Mozilla/5.0 (compatible; feeds)"
    assert options.headers == (("X-Api-Key", "abc123"), ("Accept-Language", "de"))
    assert options.cookies == (("consent", "yes"), ("session", "s-1234"))
    assert options.username == "editor"
    assert options.password is not None and options.password.value == "pa55word-from-env"
    assert options.proxy == "http://proxy.internal:3128"
    headers = options.headers_for("https://example.org/feed", "https://example.org/feed")
    assert headers["Cookie"] == "consent=yes; session=s-1234"
    assert headers["Authorization"] == "Basic ZWRpdG9yOnBhNTV3b3JkLWZyb20tZW52"  # editor:pa55...
    # Nothing shows a secret: not repr (a log line of a Source), not check's description.
    for text in (repr(config.sources[0]), repr(options), "; ".join(options.describe())):
        for secret in ("pa55word-from-env", "abc123", "s-1234", "ZWRpdG9y"):
            assert secret not in text
    assert "password from $FEEDS_PW_EXAMPLE" in "; ".join(options.describe())


def test_defaults_change_nothing(tmp_path: Path) -> None:
    options = load(tmp_path, "").sources[0].request
    assert options == RequestOptions()
    assert options.headers_for("https://example.org/feed", "https://example.org/feed") == {}
    assert load(tmp_path, "").fetch.proxy is None


def test_a_table_without_options_reads_as_the_defaults_the_short_cut_gives(
    tmp_path: Path,
) -> None:
    """read_request_options returns RequestOptions() at once for a table with no option
    key; reading such a table key by key gives the same, with no problem."""
    reader = _OptionsReader(tmp_path, {})
    assert reader.read({"name": "S", "url": "https://e.org/f", "category": "C"}) == (
        RequestOptions()
    )
    assert reader.problems == []
    assert read_request_options({}, tmp_path, {}, remote=True) == (RequestOptions(), [])


def test_secret_files_first_line_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok-first-line\nsecond line\n", encoding="utf-8")
    (tmp_path / "password").write_text("pw with spaces\r\n", encoding="utf-8")
    bearer = load(tmp_path, 'token_file = "token"\n').sources[0].request
    assert bearer.authorization() == "Bearer tok-first-line"
    basic = load(tmp_path, 'username = "u"\npassword_file = "password"\n').sources[0].request
    assert basic.password is not None and basic.password.value == "pw with spaces"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            'headers = { "X-A" = "v\\r\\nInjected: 1" }',
            "header 'X-A': the value holds a line break",
        ),
        ('headers = { "X-A" = "v\\nx" }', "line break (CR/LF)"),
        ('headers = { "X A" = "v" }', "header 'X A': not a valid header name"),
        ('headers = { "X-A\\r\\nB" = "v" }', "not a valid header name"),
        ('headers = { "" = "v" }', "not a valid header name"),
        ('headers = { "X-A" = "v\\u0000" }', "visible ASCII"),
        ('headers = { "X-A" = "über" }', "visible ASCII"),
        ('headers = { "X-A" = 5 }', "the value must be a string"),
        ('headers = { "Host" = "evil.example" }', "header 'Host' cannot be set here"),
        ('headers = { "content-length" = "0" }', "cannot be set here: the HTTP library frames"),
        ('headers = { "If-None-Match" = "\\"x\\"" }', "feeds sends its own validators"),
        ('headers = { "If-Modified-Since" = "x" }', "feeds sends its own validators"),
        ('headers = { "Authorization" = "Bearer x" }', "use username with password_env"),
        ('headers = { "Cookie" = "a=b" }', "use the key cookies"),
        ('headers = { "User-Agent" = "x" }', "use the key user_agent"),
        ('headers = { "Accept-Encoding" = "zstd" }', "only for the encodings it decodes"),
        ('headers = { "X-A" = "1", "x-a" = "2" }', "header 'x-a' is given twice"),
        ('headers = "X-A: 1"', "must be an inline table"),
        ('cookies = { "a b" = "v" }', "cookie 'a b': not a valid cookie name"),
        ('cookies = { a = "v;b=c" }', "cookie 'a': the value may hold only visible ASCII"),
        ('cookies = { a = "v\\r\\n" }', "cookie 'a': the value may hold only"),
        ('user_agent = "x\\r\\nInjected: 1"', "user_agent"),
        ('user_agent = ""', "user_agent"),
        ('username = "a:b"\npassword_env = "HOME"', "without ':'"),
        ('username = "a"', "needs its password"),
        ('password_env = "HOME"', "needs a username"),
        ('username = "a"\npassword_env = "HOME"\npassword_file = "x"', "give one of"),
        ('token_env = "HOME"\nusername = "a"\npassword_env = "HOME"', "not both"),
        ('token_env = "not a name"', "is not an environment variable name"),
        ('token_env = "FEEDS_TEST_UNSET_VARIABLE"', "FEEDS_TEST_UNSET_VARIABLE is not set"),
        ('token_file = "no-such-file"', "file not found"),
        ('proxy = "socks5://proxy:1080"', "must be an http:// or https:// proxy URL"),
        ('proxy = "proxy.internal:3128"', "must be an http:// or https:// proxy URL"),
        ('proxy = "http://proxy:99999"', "is no URL"),
        ('proxy = "http://proxy:3128/path"', "no path or query"),
        ('proxy = "http://"', "names no host"),
        ('proxy = "direct"', "must be an http:// or https:// proxy URL"),
    ],
)
def test_hostile_options_are_config_errors(tmp_path: Path, options: str, expected: str) -> None:
    found = problems(tmp_path, options)
    assert any(expected in p and 'sources[1] ("S")' in p for p in found), found


def test_too_many_headers_are_refused(tmp_path: Path) -> None:
    many = ", ".join(f'"X-{i}" = "v"' for i in range(40))
    assert any("more than 32 entries" in p for p in problems(tmp_path, f"headers = {{ {many} }}"))


def test_options_on_a_local_source_are_refused(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    path = write_config(
        tmp_path, '[[sources]]\nname = "L"\npath = "articles"\nuser_agent = "x"\nproxy = "none"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 2
    assert all("only a remote source (url) makes requests" in p for p in found)


def test_an_empty_variable_or_line_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDS_EMPTY_TOKEN", "")
    assert any("is empty" in p for p in problems(tmp_path, 'token_env = "FEEDS_EMPTY_TOKEN"'))
    (tmp_path / "blank").write_text("\nsecret on line two\n", encoding="utf-8")
    assert any("first line of" in p for p in problems(tmp_path, 'token_file = "blank"'))


def test_secret_values_that_break_a_header_are_refused_without_showing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDS_BAD_TOKEN", "tok en-with-space")
    monkeypatch.setenv("FEEDS_BAD_PW", "pw\x01control")
    found = problems(tmp_path, 'token_env = "FEEDS_BAD_TOKEN"')
    found += problems(tmp_path, 'username = "u"\npassword_env = "FEEDS_BAD_PW"')
    assert any("the token from $FEEDS_BAD_TOKEN must be visible ASCII" in p for p in found)
    assert any("the password from $FEEDS_BAD_PW holds a control character" in p for p in found)
    assert not any("with-space" in p or "pw\x01" in p for p in found)


def test_a_huge_secret_file_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "huge").write_bytes(b"x" * (MAX_SECRET_FILE + 1))
    found = problems(tmp_path, 'token_file = "huge"')
    assert any("huge is larger than 64 KiB" in p for p in found), found
    (tmp_path / "fits").write_bytes(b"y" * MAX_SECRET_FILE)
    assert load(tmp_path, 'token_file = "fits"').sources[0].request.token is not None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("hidden-value\n", encoding="utf-8")
    secret.chmod(0)
    found = problems(tmp_path, 'token_file = "secret"')
    assert any(f"cannot read {secret}: Permission denied" in p for p in found), found


def test_a_secret_path_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "plain").write_text("x\n", encoding="utf-8")
    found = problems(tmp_path, 'token_file = "loop"')
    found += problems(tmp_path, 'token_file = "plain/inside"')
    assert f"cannot read {tmp_path / 'loop'}: Too many levels of symbolic links" in found[0]
    assert f"cannot read {tmp_path / 'plain' / 'inside'}: Not a directory" in found[1]


def test_a_fifo_directory_or_device_is_no_secret_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening one to read would wait for a writer for ever
    (tmp_path / "folder").mkdir()
    for name in ("fifo", "folder", "/dev/zero"):
        found = problems(tmp_path, f'token_file = "{name}"')
        assert any("is not a regular file" in p for p in found), found
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    assert any("is not UTF-8 text" in p for p in problems(tmp_path, 'token_file = "binary"'))


def test_proxy_credentials_never_show_in_a_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, 'proxy = "socks5://alice:hunter22@proxy:1080"')
    found += problems(tmp_path, "", fetch='proxy = "ftp://bob:sesame99@proxy:21"')
    assert len(found) == 2
    assert all("hunter22" not in p and "sesame99" not in p for p in found)
    assert all("alice" not in p and "bob" not in p for p in found)
    assert "socks5://***@proxy:1080" in found[0]
    assert "[fetch] key 'proxy'" in found[1]


def test_masking_of_proxy_urls_and_text() -> None:
    assert masked_proxy("http://u:p%40ss@proxy:3128") == "http://***@proxy:3128"
    assert masked_proxy("http://u@p@proxy:3128/") == "http://***@proxy:3128/"
    assert masked_proxy("http://proxy:3128") == "http://proxy:3128"
    assert masked_url("postgresql://u:pw@db/feeds") == "postgresql://u:***@db/feeds"
    assert scrub("sent token abcdef and abcdef again", ["abcdef"]) == "sent token *** and *** again"
    assert scrub("yes or no", ["yes"]) == "yes or no"  # too short to be a secret


@pytest.mark.parametrize(
    ("home", "url", "same"),
    [
        ("https://example.org/feed", "https://example.org/other", True),
        ("https://example.org/feed", "https://EXAMPLE.org:443/x", True),
        ("http://example.org/feed", "https://example.org/x", True),  # an upgrade keeps them
        ("https://example.org/feed", "http://example.org/x", False),  # a downgrade does not
        ("https://example.org/feed", "https://example.org:8443/x", False),
        ("https://example.org/feed", "https://cdn.example.org/x", False),
        ("https://example.org/feed", "https://example.org.evil.net/x", False),
        ("http://127.0.0.1:8000/f", "http://localhost:8000/f", False),
        ("http://127.0.0.1:8000/f", "http://127.0.0.1:8001/f", False),
    ],
)
def test_same_origin(home: str, url: str, same: bool) -> None:
    assert same_origin(home, url) is same


def test_check_shows_options_with_secrets_masked(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("file-secret-pw\n", encoding="utf-8")
    path = write_config(
        tmp_path,
        '[fetch]\nproxy = "http://pxuser:pxsecret77@proxy.internal:3128"\n'
        + SOURCE
        + 'user_agent = "Mozilla/5.0 (compatible; feeds)"\n'
        'headers = { "X-Api-Key" = "key-abc-123" }\ncookies = { consent = "yes-please" }\n'
        'username = "editor"\npassword_file = "pw"\nproxy = "none"\n'
        '[[sources]]\nname = "T"\nurl = "https://example.net/feed"\ncategory = "C"\n'
        'token_env = "FEEDS_CHECK_TOKEN"\nproxy = "http://u2:second-secret@proxy2:8080"\n',
    )
    done = run_feeds(
        "--config", str(path), "check", cwd=tmp_path, env={"FEEDS_CHECK_TOKEN": "tok-check-42"}
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "proxy: http://***@proxy.internal:3128 ([fetch] proxy)" in text
    assert "user_agent 'Mozilla/5.0 (compatible; feeds)'" in text
    assert "headers X-Api-Key: ***; cookies consent=***" in text
    assert f"basic auth 'editor', password from file {tmp_path / 'pw'}; proxy none (direct)" in text
    assert "bearer token from $FEEDS_CHECK_TOKEN; proxy http://***@proxy2:8080" in text
    for secret in ("file-secret-pw", "key-abc-123", "yes-please", "tok-check-42", "pxsecret77",
                   "pxuser", "second-secret", "u2:"):  # fmt: skip
        assert secret not in text + done.stderr


def test_check_names_the_environment_proxies(tmp_path: Path) -> None:
    path = write_config(tmp_path, SOURCE)
    proxies = {"HTTPS_PROXY": "envuser:envpw99@proxy.corp:8080", "NO_PROXY": "localhost,.corp"}
    done = run_feeds("--config", str(path), "check", cwd=tmp_path, env=proxies)
    assert done.returncode == 0, done.stderr
    assert (
        "proxy: from the environment: https http://***@proxy.corp:8080 ($HTTPS_PROXY), "
        "not for localhost,.corp ($NO_PROXY)" in done.stdout
    )
    assert "envpw99" not in done.stdout and "envuser" not in done.stdout


def test_a_missing_secret_variable_fails_check_naming_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, SOURCE + 'token_env = "FEEDS_NOT_SET_HERE"\n')
    done = run_feeds("--config", str(path), "check", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "sources[1] (\"S\") key 'token_env': the environment variable FEEDS_NOT_SET_HERE is not set"
        in done.stderr
    )
