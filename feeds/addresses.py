"""Which network addresses are internal: the one rule the connection guard enforces and
OPML import warns by, so an import warns about exactly the addresses a fetch would refuse."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["private_address", "refusal"]


def refusal(address: str) -> str | None:
    """Why `address` (an IP literal) is not public, or None when it is."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    elif isinstance(ip, ipaddress.IPv6Address):
        # 6to4 (2002::/16) and Teredo (2001::/32) carry an IPv4 address, which the address
        # is as internal as: 2002:7f00:1:: is "global" to ipaddress, but names 127.0.0.1.
        carried = ip.sixtofour or (ip.teredo[1] if ip.teredo is not None else None)
        why = refusal(str(carried)) if carried is not None else None
        if why is not None:
            return f"{address} carries {why}"
    for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None


def private_address(url: str) -> str | None:
    """Why `url` points into a private network (its host is ``localhost`` or a literal IP
    address that `refusal` refuses), or None. Host names are not resolved, but the numeric
    IPv4 forms the resolver reads (``127.1``, ``0x7f.1``, ``2130706433``) count as literals."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    try:
        return refusal(host)
    except ValueError:
        pass
    try:
        address = socket.inet_ntoa(socket.inet_aton(host))  # refuses what is no number
    except OSError:
        return None
    why = refusal(address)
    return None if why is None else f"{host} ({address}){why.removeprefix(address)}"
