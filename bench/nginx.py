"""nginx serving the benchmark's feed files on 127.0.0.1 ... 127.0.0.<hosts>, one port.

Debian's /usr/sbin/nginx runs as our child (not a daemon) with a prefix and config of its
own in the work directory, so it touches nothing of the system's nginx. Static files as
nginx serves them: keep-alive, ETag (mtime and size) and Last-Modified (mtime), 304 on
If-None-Match or If-Modified-Since. Every request is one line of its access log; `counts()`
reads the lines written since the last call, so each phase gets its own 200s and 304s. It is
stopped by `close()`, and by the kernel's parent-death signal if the bench dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

NGINX = "/usr/sbin/nginx"
PR_SET_PDEATHSIG = 1

CONF = """\
worker_processes 1;
daemon off;
master_process on;
{user}
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    log_format bench '$status $body_bytes_sent $request_uri';
    access_log {prefix}/access.log bench;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{ application/xml xml; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/xml;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60;
    keepalive_requests 100000;
    etag on;
    if_modified_since before;
    server {{
{listen}
        location /feeds/ {{ root {root}; }}
    }}
}}
"""


def bind_sockets(hosts: int, attempts: int = 20) -> tuple[int, list[socket.socket]]:
    """Listening sockets on 127.0.0.1..127.0.0.<hosts>, all on one free port."""
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        try:
            for i in range(1, hosts + 1):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((f"127.0.0.{i}", sockets[0].getsockname()[1] if i > 1 else 0))
                sock.listen(1024)
                sock.setblocking(False)
            return sockets[0].getsockname()[1], sockets
        except OSError:
            for sock in sockets:
                sock.close()
    raise OSError(f"no port free on all of 127.0.0.1-{hosts}")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Nginx:
    """nginx serving `root`/<name>.xml at /feeds/<name>.xml on `hosts` loopback addresses.

    `root` is the folder that holds the `feeds` folder; `prefix` is nginx's own folder.
    """

    def __init__(self, root: Path, prefix: Path, hosts: int) -> None:
        self.prefix = prefix
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        self.log = prefix / "access.log"
        self.log.touch()
        self.offset = 0
        for _ in range(5):  # the port we found free may be taken before nginx binds it
            port, sockets = bind_sockets(hosts)
            for sock in sockets:
                sock.close()
            self._write_conf(root, hosts, port)
            with (prefix / "stderr.log").open("ab") as stderr:  # the child keeps its copy
                self.proc = subprocess.Popen(
                    [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    preexec_fn=_die_with_parent,  # before threads start: safe to fork here
                )
            if self._ready(port, hosts):
                self.port = port
                return
            self.close()
        raise OSError(f"nginx did not start; see {prefix}/error.log and stderr.log")

    def _write_conf(self, root: Path, hosts: int, port: int) -> None:
        # As root, nginx's workers would drop to `nobody`, who cannot read a private temp dir.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        listen = "\n".join(f"        listen 127.0.0.{i}:{port};" for i in range(1, hosts + 1))
        (self.prefix / "nginx.conf").write_text(
            CONF.format(user=user, prefix=self.prefix, root=root, listen=listen),
            encoding="utf-8",
        )

    def _ready(self, port: int, hosts: int) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                socket.create_connection((f"127.0.0.{hosts}", port), timeout=1),
            ):
                return True
            time.sleep(0.05)
        return False

    def counts(self) -> Counter[str]:
        """Responses logged since the last call: one key per status, plus `body_bytes`,
        `requests` and `distinct` (different URLs asked for)."""
        if self.proc.poll() is not None:
            raise OSError(f"nginx died (exit {self.proc.returncode}); see {self.prefix}")
        size, deadline = -1, time.monotonic() + 5
        while size != self.log.stat().st_size and time.monotonic() < deadline:
            size = self.log.stat().st_size  # nginx logs a request just after answering it
            time.sleep(0.2)
        with self.log.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        data = data[: data.rfind(b"\n") + 1]  # a line still being written waits for next time
        self.offset += len(data)
        counts: Counter[str] = Counter()
        urls = set()
        for line in data.splitlines():
            status, sent, url = line.split(b" ", 2)
            counts[status.decode()] += 1
            counts["body_bytes"] += int(sent)
            counts["requests"] += 1
            urls.add(url)
        counts["distinct"] = len(urls)
        return counts

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish and exit
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
