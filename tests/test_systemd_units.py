"""The systemd units in contrib/systemd/: complete, hardened, consistent with each other and
with our command line; `systemd-analyze verify` where it is installed."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from feeds.cli.app import main
from feeds.early_signals import command_of

UNITS = Path(__file__).resolve().parent.parent / "contrib" / "systemd"
SERVICES = {
    "feeds.service": "run",
    "feeds-serve.service": "serve",
    "feeds-update.service": "update",
}
HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
}


def read_unit(name: str) -> configparser.RawConfigParser:
    # systemd allows a key more than once and has no interpolation; keys are case-sensitive.
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text(encoding="utf-8"), source=name)
    return parser


def test_every_unit_is_shipped() -> None:
    assert {p.name for p in UNITS.iterdir()} == {*SERVICES, "feeds-update.timer"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_services_name_a_user_a_folder_and_harden_the_process(name: str) -> None:
    unit = read_unit(name)
    assert unit["Unit"]["Description"]
    service = unit["Service"]
    assert service["User"] == service["Group"] == "feeds"
    assert PurePosixPath(service["WorkingDirectory"]).is_absolute()
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}"
    assert service["Environment"] == f"FEEDS_CONFIG={service['WorkingDirectory']}/config/feeds.toml"


@pytest.mark.parametrize(("name", "command"), sorted(SERVICES.items()))
def test_exec_start_runs_our_command_with_options_it_has(name: str, command: str) -> None:
    service = read_unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/feeds"
    # The arguments parse with the real command line: no option it does not know.
    assert command_of(argv[1:]) == command
    at = argv.index(command)
    group = main.make_context("feeds", argv[1:])
    sub = main.get_command(group, command)
    assert sub is not None
    sub.make_context(command, argv[at + 1 :], parent=group)  # raises on a wrong option


@pytest.mark.parametrize("name", ["feeds.service", "feeds-update.service"])
def test_writers_may_write_exactly_the_store_and_the_output(name: str) -> None:
    service = read_unit(name)["Service"]
    home = service["WorkingDirectory"]
    assert service["ReadWritePaths"].split() == [f"{home}/var", f"{home}/output"]


def test_the_serving_unit_writes_nothing() -> None:
    assert "ReadWritePaths" not in read_unit("feeds-serve.service")["Service"]


def test_daemon_reloads_with_sighup_and_stops_itself_before_its_workers() -> None:
    service = read_unit("feeds.service")["Service"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillMode"] == "mixed"  # SIGTERM to the daemon; it stops its workers
    assert service["Restart"] == "on-failure"
    assert read_unit("feeds.service")["Install"]["WantedBy"] == "multi-user.target"


def test_the_timer_starts_the_one_shot_update() -> None:
    timer = read_unit("feeds-update.timer")
    assert timer["Timer"]["Unit"] == "feeds-update.service"
    assert timer["Timer"]["OnUnitActiveSec"] and timer["Timer"]["OnBootSec"]
    assert timer["Install"]["WantedBy"] == "timers.target"
    update = read_unit("feeds-update.service")
    assert update["Service"]["Type"] == "oneshot"
    assert update["Service"]["SuccessExitStatus"] == "4"  # busy store: skipped, not failed
    assert "--quiet" in shlex.split(update["Service"]["ExecStart"])
    assert "Install" not in update  # started by the timer, not enabled itself


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    # verify insists that ExecStart names an executable: point it at a stand-in.
    program = tmp_path / "bin" / "feeds"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8").replace("/srv/feeds/.venv/bin/feeds", str(program))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = sorted(str(tmp_path / unit.name) for unit in UNITS.iterdir())
    done = subprocess.run(
        [analyze, "verify", *names], capture_output=True, text=True, timeout=120, check=False
    )
    # verify exits 0 even for unknown keys and bad values ("..., ignoring."): nothing may be said.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
