"""Run one command as a subprocess and measure it: wall time, CPU time, peak tree RSS.

CPU is user+sys from `getrusage(RUSAGE_CHILDREN)` deltas: it covers the child and every
descendant reaped by it or by us (we are a child subreaper and reap its process group after
it exits, so a forkserver's workers count too), nothing else. Wall time ends when the child
exits. Peak RSS is the
largest sum of VmRSS over the child and all its live descendants, sampled every 50 ms (so a
spike shorter than that can be missed; pages shared between forked workers count once per
process, as `ps` would show them).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.05
GRACE_SECONDS = 5.0  # for a forkserver or pool workers to exit after the main process
PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True, slots=True)
class Measurement:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the process tree
    peak_rss: int  # bytes, the largest sampled sum over the tree
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    left_behind: tuple[str, ...] = ()  # its processes still running GRACE_SECONDS after it
    linger: float = 0.0  # seconds its other processes ran on after it exited


@dataclass(frozen=True, slots=True)
class Proc:
    pid: int
    ppid: int
    pgrp: int
    state: str  # "Z" for a zombie


def _procs() -> list[Proc]:
    """Every process we can see."""
    procs: list[Proc] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the command name, which may itself hold spaces and parentheses.
        state, ppid, pgrp = stat[stat.rfind(b")") + 2 :].split()[:3]
        procs.append(Proc(int(entry.name), int(ppid), int(pgrp), state.decode()))
    return procs


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in _procs():
        children.setdefault(proc.ppid, []).append(proc.pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0  # gone, or a zombie (no VmRSS line)


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; keeps the maximum."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, sum(_rss(pid) for pid in _tree(self.root)))
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 3600.0,
    cwd: Path | None = None,
) -> Measurement:
    """Run `command` to its end (or kill its process group after `timeout`) and measure it.

    Call `become_subreaper()` once first, or the CPU time of descendants that outlive their
    parent (a forkserver and its workers) is lost.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            proc.wait()
        except BaseException:  # interrupted: leave nothing of ours running
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            wall = time.perf_counter() - started
            sampler.stop()
        exited = time.perf_counter()
        left_behind = _reap_group(proc.pid)
        linger = time.perf_counter() - exited
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        return Measurement(
            wall=wall,
            cpu=_cpu(after) - _cpu(before),
            peak_rss=sampler.peak,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out,
            left_behind=left_behind,
            linger=linger,
        )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _reap_group(pgid: int) -> tuple[str, ...]:
    """Wait for what is left of the process group (a forkserver, pool workers) and reap it.

    Orphans are re-parented to us (we are a child subreaper), so their CPU time reaches our
    RUSAGE_CHILDREN once reaped. What is still running after the grace period is killed;
    returns the command lines of those.
    """
    deadline = time.monotonic() + GRACE_SECONDS
    killed: tuple[str, ...] = ()
    while time.monotonic() < deadline + 5:
        members = [p for p in _procs() if p.pgrp == pgid]
        for member in members:
            if member.ppid == os.getpid():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(member.pid, os.WNOHANG)
        if not members:
            break
        if time.monotonic() > deadline and not killed:
            killed = tuple(_cmdline(p.pid) for p in members if p.state != "Z")
            _kill_group(pgid)
        time.sleep(0.02)
    return killed


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200]
    except OSError:
        return f"pid {pid}"


def become_subreaper() -> None:
    """Orphaned descendants of our children become our children (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
