"""Signals early in `feeds run`'s and `feeds serve`'s start-up (issue 12, finding 7): never
fatal.

Each case starts a real daemon and sends the signal at one of a spread of moments after the
process began loading its stages (seen in /proc/PID/maps); the pass criteria are the exit
code, the log lines and the process list, never a timing.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import support.waiting as waiting
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import FEEDS_ENV, SEED
from support.feedserver import FeedServer

from feeds.early_signals import command_of

pytestmark = pytest.mark.slow

# Moments after the process reached our entry point: during the imports, the config and
# store, the daemon's start, and just after.
MOMENTS = (0.0, 0.1, 0.3, 0.6, 1.0)


# The moments these tests aim a signal at are short: look often.
wait_for = functools.partial(waiting.wait_for, every=0.01)


class Daemon:
    """A `feeds run` (or other command's) subprocess in its own session, its stderr
    collected line by line."""

    def __init__(self, site: Path, *command: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "feeds", "--config", str(site), *command],
            cwd=site.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**FEEDS_ENV, "HOME": str(site.parent)}, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def importing(self) -> bool:
        """The program is loading its stages (the TLS module, which httpx needs, is mapped):
        the moment the daemon used to be killed by a signal."""
        try:
            return "/_ssl." in Path(f"/proc/{self.process.pid}/maps").read_text()
        except OSError:
            return False

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def wait(self) -> int:
        code = self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def site(tmp_path: Path, feed_server: FeedServer) -> Path:
    (tmp_path / "articles").mkdir()
    shutil.copy(SEED, tmp_path / "articles")
    feed_server.add("/technik", rss20([FeedItem(id="1", title="one", link="https://e.com/1")]))
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'
        '[[sources]]\nname = "Lokal"\npath = "articles"\ntimezone = "Europe/Berlin"\n'
        f'[[sources]]\nname = "Technik"\nurl = "{feed_server.url("/technik")}"\n'
        'category = "Technik"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def start(site: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(*command: str) -> Daemon:
        daemon = Daemon(site, *(command or ("run", "--tick", "0.5")))
        started.append(daemon)
        assert wait_for(daemon.importing), "the daemon never started its imports"
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_stop_early_in_start_up_exits_0(
    start: Callable[..., Daemon], signum: int, moment: float
) -> None:
    daemon = start()
    time.sleep(moment)  # a spread of moments; what is asserted does not depend on it
    daemon.process.send_signal(signum)
    assert daemon.wait() == 0, daemon.log
    assert "Traceback" not in daemon.log
    assert daemon.logged("stopped") or not daemon.logged("started:"), daemon.log


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_stop_early_in_the_servers_start_up_exits_0(
    start: Callable[..., Daemon], moment: float
) -> None:
    server = start("serve", "--port", "0")
    time.sleep(moment)
    server.process.send_signal(signal.SIGTERM)
    assert server.wait() == 0, server.log
    assert "Traceback" not in server.log
    assert server.logged("serve stopped") or not server.logged("serve started:"), server.log


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_sighup_early_in_start_up_is_a_reload(
    start: Callable[..., Daemon], moment: float
) -> None:
    daemon = start()
    time.sleep(moment)
    daemon.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: daemon.logged("config reloaded")), daemon.log
    assert daemon.process.poll() is None, daemon.log
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log
    assert "Traceback" not in daemon.log


def test_ctrl_c_with_parser_workers_running_prints_no_traceback(
    start: Callable[..., Daemon], site: Path
) -> None:
    daemon = start()
    # The remote source's body is parsed in a worker process: wait until one exists.
    assert wait_for(lambda: bool(daemon.children())), daemon.log
    assert wait_for(lambda: (site.parent / "out" / "technik" / "atom.xml").exists())
    workers = daemon.children()
    os.killpg(daemon.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert daemon.wait() == 0, daemon.log
    assert "Traceback" not in daemon.log
    assert "KeyboardInterrupt" not in daemon.log
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))


def test_ctrl_c_while_a_worker_is_starting_prints_no_traceback(
    start: Callable[..., Daemon],
) -> None:
    daemon = start()
    # The first worker is being spawned (importing): its process exists, its pool is not ready.
    assert wait_for(lambda: bool(daemon.children()), 60), daemon.log
    os.killpg(daemon.process.pid, signal.SIGINT)
    assert daemon.wait() == 0, daemon.log
    assert "Traceback" not in daemon.log


def stop_amid_more_signals(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then more signals while it stops (a second Ctrl-C, a reload from a script),
    which must change nothing."""
    process.send_signal(signal.SIGTERM)
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if process.poll() is not None:
            break
        process.send_signal(signum)


def test_late_signals_at_shutdown_are_not_fatal(start: Callable[..., Daemon]) -> None:
    daemon = start()
    assert wait_for(lambda: daemon.logged("started:")), daemon.log
    stop_amid_more_signals(daemon.process)
    assert daemon.wait() == 0, daemon.log
    assert "Traceback" not in daemon.log


def test_the_server_outlives_a_sighup_and_late_signals_at_its_shutdown(
    start: Callable[..., Daemon],
) -> None:
    server = start("serve", "--port", "0")
    assert wait_for(lambda: server.logged("serving on http://")), server.log
    server.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: server.logged("nothing to reload")), server.log
    assert server.process.poll() is None, server.log
    stop_amid_more_signals(server.process)
    assert server.wait() == 0, server.log
    assert server.logged("serve stopped"), server.log
    assert "Traceback" not in server.log


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run"], "run"),
        (["--config", "run", "update"], "update"),
        (["--config=x.toml", "-vv", "run", "--serve"], "run"),
        (["--log-format", "json", "-v", "run"], "run"),
        (["-v", "status"], "status"),
        (["--config", "f.toml", "serve", "--port", "0"], "serve"),
        (["--version"], None),
        ([], None),
        (["--", "run"], "run"),
    ],
)
def test_the_command_is_found_before_click_parses(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command
