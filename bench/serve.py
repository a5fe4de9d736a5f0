"""Benchmark `feeds serve` beside nginx: requests per second and peak memory (not a test).

    .venv/bin/python bench/serve.py [--duration 10] [--repeat 3] [--clients 50,500]

Publishes a 1 MB Atom feed (with its .gz and .br variants, as the publisher writes them) into
a temporary folder, starts `feeds serve` and nginx (a non-daemon with a config written into
the same temporary folder, one worker process like our one process, `gzip_static on`,
`sendfile on`, access logs off) on loopback ports, and drives both with wrk (2 threads) for
three kinds of response: 200 (identity), 304 (If-None-Match with the server's own ETag) and
gzip 200 (Accept-Encoding: gzip, served from atom.xml.gz). Each cell runs ours, then nginx,
`--repeat` times; the table shows medians. Peak memory is the highest resident set (VmRSS,
all of a server's processes) sampled every 50 ms during a cell; CPU time per request is the
servers' user + system time over the cell divided by wrk's request count (on a shared machine
it varies less than the rate does). Prints a Markdown table with
the ratios ours / nginx and checks the goals: 304s at 30% or more of nginx's rate, and our
memory flat from the fewest to the most clients.

Needs /usr/bin/wrk and /usr/sbin/nginx (Debian packages `wrk`, `nginx`).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from feeds.publish.files import write_if_changed

WRK = "/usr/bin/wrk"
NGINX = "/usr/sbin/nginx"
FEED_PATH = "/bench/atom.xml"
CONFIG = '[output]\ndir = "out"\n[storage]\nurl = "sqlite:///var/feeds.db"\n'

NGINX_CONF = """
worker_processes {workers};
daemon off;
error_log {dir}/nginx-error.log warn;
pid {dir}/nginx.pid;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-tmp/body;
    proxy_temp_path {dir}/nginx-tmp/proxy;
    fastcgi_temp_path {dir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx-tmp/uwsgi;
    scgi_temp_path {dir}/nginx-tmp/scgi;
    types {{ application/atom+xml xml; text/html html; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/atom+xml;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5;
    gzip_static on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Cache-Control "public, max-age=300";
    }}
}}
"""


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    headers: dict[str, str]
    status: int
    encoding: str | None
    conditional: bool = False


KINDS = (
    Kind("200", {"Accept-Encoding": "identity"}, 200, None),
    Kind("304", {"Accept-Encoding": "identity"}, 304, None, conditional=True),
    Kind("gzip 200", {"Accept-Encoding": "gzip"}, 200, "gzip"),
)


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    port: int
    pids: Callable[[], list[int]]


@dataclass(frozen=True, slots=True)
class Cell:
    rate: float
    peak_mib: float
    errors: int
    cpu_us: float  # server CPU time (user + system, all its processes) per request


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far, from /proc/PID/stat."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed(size: int, seed: int = 1) -> bytes:
    """An Atom document of about `size` bytes of varied text (it compresses about 3:1)."""
    rng = random.Random(seed)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyzäöü", k=rng.randint(2, 10)))
             for _ in range(4000)]  # fmt: skip
    parts = ["<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>"]
    total, n = 0, 0
    while total < size:
        text = " ".join(rng.choices(words, k=120))
        entry = f"<entry><id>urn:bench:{n}</id><title>{text[:60]}</title><content>{text}</content></entry>\n"  # noqa: E501
        parts.append(entry)
        total += len(entry.encode())
        n += 1
    parts.append("</feed>\n")
    return "".join(parts).encode()


def rss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def children(pid: int) -> list[int]:
    found = [pid]
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in listed:
        found += children(int(child))
    return found


@contextmanager
def peak_memory(server: Server) -> Iterator[list[int]]:
    """Samples the summed VmRSS of `server`'s processes every 50 ms; yields [peak KiB]."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(rss_kib(pid) for pid in server.pids()))
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def wait_until_up(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} ended at start (exit {process.returncode})")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on {port} within 30 s")


@contextmanager
def started(command: list[str], port: int, what: str, cwd: Path) -> Iterator[int]:
    log = (cwd / f"{what}.log").open("wb")
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=log)
    try:
        wait_until_up(port, process, what)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM if what == "ours" else signal.SIGQUIT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def check(server: Server, kind: Kind, etag: str) -> dict[str, str]:
    """One request of `kind`: the server must answer as expected before it is measured.
    Returns the request headers for wrk, and the response's ETag under "etag"."""
    headers = dict(kind.headers)
    if kind.conditional:
        headers["If-None-Match"] = etag
    response = httpx.get(f"http://127.0.0.1:{server.port}{FEED_PATH}", headers=headers)
    if response.status_code != kind.status or (
        response.headers.get("content-encoding") != kind.encoding
    ):
        got = f"{response.status_code} {dict(response.headers)}"
        raise SystemExit(f"{server.name} {kind.name}: got {got}")
    return {**headers, "etag": response.headers.get("etag", "")}


def wrk(server: Server, headers: dict[str, str], clients: int, duration: int) -> Cell:
    args = [WRK, "-t2", f"-c{clients}", f"-d{duration}s", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args.append(f"http://127.0.0.1:{server.port}{FEED_PATH}")
    cpu_before = cpu_seconds(server.pids())
    with peak_memory(server) as peak:
        result = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60)
    cpu = cpu_seconds(server.pids()) - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"wrk failed: {result.stderr}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if rate is None:
        raise SystemExit(f"wrk printed no rate:\n{result.stdout}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", result.stdout))
    non_success = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    errors += int(non_success.group(1)) if non_success else 0
    requests = re.search(r"(\d+) requests in", result.stdout)
    count = int(requests.group(1)) if requests else 0
    return Cell(float(rate.group(1)), peak[0] / 1024, errors, cpu / max(count, 1) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; medians (3)")
    parser.add_argument("--clients", default="50,500", help="concurrent connections (50,500)")
    parser.add_argument("--size", type=int, default=1_000_000, help="feed bytes (1 MB)")
    parser.add_argument("--nginx-workers", type=int, default=1, help="nginx processes (1)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    for tool in (WRK, NGINX):
        if not os.access(tool, os.X_OK):
            raise SystemExit(f"{tool} is missing (Debian package {Path(tool).name})")
    concurrencies = [int(c) for c in args.clients.split(",")]
    feeds = Path(sys.executable).parent / "feeds"
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as temp:
        work = Path(temp)
        work.chmod(0o755)  # nginx's workers run as another user when started by root
        (work / "feeds.toml").write_text(CONFIG, encoding="utf-8")
        (work / "nginx-tmp").mkdir()
        out = work / "out"
        write_if_changed(out / "index.html", b"<!doctype html><title>bench</title>")
        write_if_changed(out / FEED_PATH.lstrip("/"), feed(args.size))
        ours_port, nginx_port = free_port(), free_port()
        (work / "nginx.conf").write_text(
            NGINX_CONF.format(dir=work, root=out, port=nginx_port, workers=args.nginx_workers)
        )
        ours_cmd = [str(feeds), "--config", str(work / "feeds.toml"), "serve",
                    "--port", str(ours_port)]  # fmt: skip
        nginx_cmd = [NGINX, "-c", str(work / "nginx.conf"), "-p", str(work)]
        with (
            started(ours_cmd, ours_port, "ours", work) as ours_pid,
            started(nginx_cmd, nginx_port, "nginx", work) as nginx_pid,
        ):
            servers = (
                Server("ours", ours_port, lambda: [ours_pid]),
                Server("nginx", nginx_port, lambda: children(nginx_pid)),
            )
            etags = {s.name: check(s, KINDS[0], "")["etag"] for s in servers}
            results: dict[tuple[str, int, str], list[Cell]] = {}
            for kind in KINDS:
                for clients in concurrencies:
                    for run in range(args.repeat):
                        for server in servers:
                            headers = check(server, kind, etags[server.name])
                            del headers["etag"]
                            cell = wrk(server, headers, clients, args.duration)
                            results.setdefault((kind.name, clients, server.name), []).append(cell)
                            print(
                                f"{kind.name:>8} c={clients:<4} run {run + 1} {server.name:>5}: "
                                f"{cell.rate:>9.0f} req/s  peak {cell.peak_mib:6.1f} MiB  "
                                f"CPU {cell.cpu_us:6.1f} us/request  errors {cell.errors}",
                                file=sys.stderr,
                                flush=True,
                            )
    report(results, concurrencies, args, load)


def report(
    results: dict[tuple[str, int, str], list[Cell]],
    concurrencies: list[int],
    args: argparse.Namespace,
    load: float,
) -> None:
    def median(kind: str, clients: int, server: str, field: str) -> float:
        return statistics.median(getattr(c, field) for c in results[(kind, clients, server)])

    print(
        f"\n{args.size / 1e6:g} MB feed, wrk -t2, {args.duration} s per run, medians of "
        f"{args.repeat} runs; nginx with {args.nginx_workers} worker; load average at start "
        f"{load:.2f}\n"
    )
    print("| response | clients | ours req/s | nginx req/s | ours / nginx "
          "| ours peak MiB | nginx peak MiB | CPU µs/request ours, nginx "
          "| errors (ours, nginx) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        for clients in concurrencies:
            ours, theirs = (median(kind.name, clients, s, "rate") for s in ("ours", "nginx"))
            mem_ours, mem_nginx = (
                median(kind.name, clients, s, "peak_mib") for s in ("ours", "nginx")
            )
            errors = [sum(c.errors for c in results[(kind.name, clients, s)])
                      for s in ("ours", "nginx")]  # fmt: skip
            cpu = [median(kind.name, clients, s, "cpu_us") for s in ("ours", "nginx")]
            print(
                f"| {kind.name} | {clients} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} "
                f"| {mem_ours:.0f} | {mem_nginx:.0f} | {cpu[0]:.0f}, {cpu[1]:.0f} "
                f"| {errors[0]}, {errors[1]} |"
            )
    low, high = min(concurrencies), max(concurrencies)
    ratios = [
        median("304", c, "ours", "rate") / median("304", c, "nginx", "rate") for c in concurrencies
    ]
    verdict = "PASS" if min(ratios) >= 0.30 else "FAIL"
    print(f"\n304s at >= 30% of nginx's rate: {verdict} (lowest ratio {min(ratios):.2f})")
    growth = max(
        median(k.name, high, "ours", "peak_mib") / median(k.name, low, "ours", "peak_mib")
        for k in KINDS
    )
    verdict = "PASS" if growth <= 1.5 else "FAIL"
    print(f"our memory flat from {low} to {high} clients (peak ratio <= 1.5): {verdict} "
          f"(highest ratio {growth:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
