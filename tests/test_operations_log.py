"""What `feeds run` and `feeds serve` tell an operator at the default log level (issue 13)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV
from support.feedserver import FeedServer
from support.waiting import wait_for

from feeds import __version__
from feeds.config import load_config
from feeds.lifecycle import masked_url, serve_start_line, start_line, stop_line
from feeds.logs import SERVER_LOGGERS, our_name


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://feeds:s3cret@db.internal/feeds", "postgresql://feeds:***@db.internal/feeds"),
        ("postgresql://feeds:p%40ss@db:5433/f?sslmode=require",
         "postgresql://feeds:***@db:5433/f?sslmode=require"),
        ("postgresql://:only@db/f", "postgresql://:***@db/f"),
        ("postgresql://feeds@db/f", "postgresql://feeds@db/f"),
        ("sqlite:///../var/feeds.db", "sqlite:///../var/feeds.db"),
        ("sqlite:////srv/feeds/var/feeds.db", "sqlite:////srv/feeds/var/feeds.db"),
        ("postgresql://u:pw@[::1:bad/f", "postgresql://u:***@[::1:bad/f"),
        ("postgresql://u:p@ss@db/f", "postgresql://u:***@db/f"),
        ("postgresql://u:a/b@db/f", "postgresql://u:***@db/f"),
        ("postgresql://db/f?user=u&password=s3cret&sslmode=require",
         "postgresql://db/f?user=u&password=***&sslmode=require"),
        ("postgresql://db/f?PASSWORD=x&flag", "postgresql://db/f?PASSWORD=***&flag"),
    ],
)  # fmt: skip
def test_store_passwords_never_reach_the_log(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text('[output]\ndir = "out"\n' + body, encoding="utf-8")
    return path


def test_start_line_names_version_config_store_sources_url_and_metrics(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            '[storage]\nurl = "postgresql://feeds:hunter2@db/feeds"\n'
            '[[sources]]\nname = "A"\nurl = "https://a.example/feed"\ncategory = "A"\n'
            '[[sources]]\nname = "B"\nurl = "https://b.example/feed"\ncategory = "B"\n',
        )
    )
    line = start_line(config, serving=("0.0.0.0", 8080), metrics=("127.0.0.1", 9464))
    assert line == (
        f"daemon started: feeds {__version__}, config {tmp_path / 'feeds.toml'}, "
        "store postgresql://feeds:***@db/feeds, 2 source(s), serving http://0.0.0.0:8080/, "
        "metrics on port 9464"
    )
    assert "hunter2" not in line
    bare = start_line(config)
    assert bare.endswith("2 source(s), not serving (no --serve), no metrics port")
    assert start_line(config, serving=("::1", 8080)).count("http://[::1]:8080/") == 1
    assert serve_start_line(config, ("127.0.0.1", 8080)) == (
        f"serve started: feeds {__version__}, config {tmp_path / 'feeds.toml'}, "
        f"output {tmp_path / 'out'}, serving http://127.0.0.1:8080/"
    )
    assert stop_line() == f"daemon stopped: feeds {__version__}"
    assert stop_line("serve") == f"serve stopped: feeds {__version__}"


def test_the_web_servers_loggers_carry_our_names() -> None:
    assert our_name("uvicorn.error") == "feeds.serve.server"
    assert our_name("uvicorn.access") == "feeds.serve.access"
    assert our_name("uvicorn.asgi") == "feeds.serve.server"
    assert our_name("uvicornish") == "uvicornish"  # a prefix only at a dot
    assert our_name("feeds.daemon") == "feeds.daemon"
    assert all(name.startswith("feeds.serve") for name in SERVER_LOGGERS.values())


class Logged:
    """A subprocess with `--log-format json`, its records collected as they come."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "feeds", "--log-format", "json", *args],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**FEEDS_ENV, "HOME": str(cwd)},
        )  # fmt: skip
        self.records: list[dict[str, str]] = []
        self.other: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            try:
                self.records.append(json.loads(line))
            except ValueError:
                self.other.append(line)

    def find(self, text: str) -> dict[str, str] | None:
        return next((r for r in list(self.records) if text in r["message"]), None)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.mark.slow
def test_daemon_logs_start_publish_failure_recovery_and_stop_at_the_default_level(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = rss20([FeedItem(id="1", title="one", link="https://e.com/1")])
    feed_server.add("/flaky", b"down for maintenance", status=500, content_type="text/plain")
    config = write_config(
        tmp_path,
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        f'[[sources]]\nname = "Flaky"\nurl = "{feed_server.url("/flaky")}"\n'
        'category = "Technik"\ninterval = "1s"\n',
    )
    daemon = Logged(
        ["--config", str(config), "run", "--tick", "0.2", "--serve", "--port", "0",
         "--metrics-port", "0"],
        tmp_path,
    )  # fmt: skip
    try:
        assert wait_for(lambda: daemon.find("daemon started:") is not None), daemon.records
        started = daemon.find("daemon started:")
        assert started is not None and started["level"] == "info"
        for part in (f"feeds {__version__}", f"config {config}",
                     f"store sqlite:///{tmp_path}/var/feeds.db", "1 source(s)", "serving http://127.0.0.1:",
                     "metrics on port "):  # fmt: skip
            assert part in started["message"]
        assert wait_for(lambda: daemon.find("Flaky: fetch failed (1 in a row)") is not None)
        failing = daemon.find("Flaky: fetch failed")
        assert failing is not None and failing["level"] == "warning"
        assert "500" in failing["message"]

        feed_server.add("/flaky", feed)  # back up: the next try (after 1-1.1 s) succeeds
        assert wait_for(lambda: daemon.find("Flaky: recovered after 1 failure(s)") is not None)
        assert wait_for(lambda: daemon.find("(technik)") is not None), daemon.records
        assert daemon.stop() == 0
    finally:
        daemon.close()
    stopped = daemon.records[-1]
    assert stopped["message"] == f"daemon stopped: feeds {__version__}", daemon.records
    # One warning for the failure, not one per retry; nothing from libraries at this level.
    assert sum("fetch failed" in r["message"] for r in daemon.records) == 1
    assert all(r["logger"].startswith("feeds") for r in daemon.records), daemon.records
    assert not daemon.other, daemon.other  # every line is a JSON record: no stray prints


@pytest.mark.slow
def test_server_records_carry_feeds_names_at_every_level(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("<!doctype html><title>x</title>")
    config = write_config(tmp_path, '[storage]\nurl = "sqlite:///var/feeds.db"\n')
    server = Logged(["-vv", "--config", str(config), "serve", "--port", "0"], tmp_path)
    try:
        assert wait_for(lambda: server.find("serving on http://") is not None), server.records
        assert server.stop() == 0
    finally:
        server.close()
    loggers = {r["logger"] for r in server.records}
    assert "feeds.serve.server" in loggers  # the server's own records, renamed
    assert all(name.startswith("feeds") or name == "asyncio" for name in loggers), loggers
    messages = [r["message"] for r in server.records]
    assert any(
        m.startswith(f"serve started: feeds {__version__}, config {config}") for m in messages
    )
    assert messages[-1] == f"serve stopped: feeds {__version__}"


@pytest.mark.slow
def test_serve_logs_its_start_and_stop_at_the_default_level(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    config = write_config(tmp_path, '[storage]\nurl = "sqlite:///var/feeds.db"\n')
    server = Logged(["--config", str(config), "serve", "--port", "0"], tmp_path)
    try:
        assert wait_for(lambda: server.find("serve started:") is not None), server.records
        assert server.stop() == 0
    finally:
        server.close()
    messages = [r["message"] for r in server.records]
    assert messages[-1] == f"serve stopped: feeds {__version__}"
    assert any("serving on http://127.0.0.1:" in m for m in messages)
