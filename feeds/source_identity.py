"""When two sources are the same: the URL form both the config check and source
management compare, so `feeds check` and `feeds sources add` agree on what is a duplicate."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str) -> str:
    """A URL in a form that compares equal for the same feed: scheme and host lower case,
    no default port, ``/`` for an empty path, no fragment (never sent to the server).

    Only certain equivalences: a trailing slash, the path's case or the query's order can
    name another resource, so they are kept as written."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        host = f"{userinfo}@{host}"
    path = parts.path or ("/" if parts.netloc else "")
    return urlunsplit((scheme, host, path, parts.query, ""))
