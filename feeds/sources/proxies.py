"""Which proxy a request goes through: the source's `proxy`, else `[fetch] proxy`, else the
environment's `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` minus `NO_PROXY`, as curl and
most HTTP tools read them (the lower-case name first, then the upper-case one).

`NO_PROXY` governs the environment's proxies only: a proxy named in the config is used for
every request it covers (`proxy = "none"` on a source sends that one direct).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from feeds.request_options import DIRECT

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Route:
    """A proxy to go through (its URL) and where that choice came from, for messages."""

    proxy: str
    origin: str  # "HTTPS_PROXY", "[fetch] proxy", "the source's proxy"


def _variable(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(the variable's name as set, its value), the lower-case name first."""
    for key in (name.lower(), name):
        value = env.get(key, "").strip()
        if value:
            return key, value
    return None


@dataclass(frozen=True, slots=True)
class EnvironmentProxies:
    """The proxies an environment names, and the hosts `NO_PROXY` sends direct."""

    http: Route | None = None
    https: Route | None = None
    fallback: Route | None = None  # ALL_PROXY
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def read(cls, env: Mapping[str, str]) -> EnvironmentProxies:
        """The proxy variables of `env` (os.environ, or a test's)."""
        routes: list[Route | None] = []
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            found = _variable(env, name)
            if found is None:
                routes.append(None)
                continue
            key, value = found
            # curl reads "host:port" as "http://host:port".
            routes.append(Route(value if "://" in value else f"http://{value}", key))
        bypass = _variable(env, "NO_PROXY")
        entries = bypass[1] if bypass is not None else ""
        no_proxy = tuple(e.strip().lower() for e in entries.split(",") if e.strip())
        return cls(routes[0], routes[1], routes[2], no_proxy)

    @property
    def any(self) -> bool:
        """Does the environment name a proxy at all?"""
        return self.http is not None or self.https is not None or self.fallback is not None

    def route(self, url: str) -> Route | None:
        """The proxy for `url`, or None to go direct."""
        if not self.any:
            return None
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        route = (self.https if scheme == "https" else self.http) or self.fallback
        if route is None or bypassed(parts.hostname or "", parts.port, scheme, self.no_proxy):
            return None
        return route


def bypassed(host: str, port: int | None, scheme: str, no_proxy: tuple[str, ...]) -> bool:
    """Does a `NO_PROXY` entry cover `host`? Entries: `*` (all), a domain (and its
    subdomains; a leading `.` or `*.` is the same), an IP address or a CIDR network, each
    with an optional `:port`."""
    host = host.lower().strip("[]")
    port = port or _DEFAULT_PORTS.get(scheme)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy:
        if entry == "*":
            return True
        name, wanted = _entry_port(entry)
        if wanted is not None and wanted != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        domain = name.removeprefix("*").removeprefix(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _entry_port(entry: str) -> tuple[str, int | None]:
    """A NO_PROXY entry split into host part and port: `[::1]:8080`, `host:80`, `::1`."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def choose(
    url: str, source_proxy: str | None, fetch_proxy: str | None, environment: EnvironmentProxies
) -> Route | None:
    """The proxy a request for `url` goes through, or None to go direct."""
    for proxy, origin in ((source_proxy, "the source's proxy"), (fetch_proxy, "[fetch] proxy")):
        if proxy is not None:
            return None if proxy == DIRECT else Route(proxy, origin)
    return environment.route(url)
