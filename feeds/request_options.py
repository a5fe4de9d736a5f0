"""A remote source's own request options (user agent, headers, cookies, credentials,
proxy) and their validation from a `[[sources]]` table.

Secrets (a password, a token) are named in the config by an environment variable or a file,
read when the config is loaded, and held as `Secret`s that print as `***`. Extra headers,
cookies and credentials go only to the source's own origin: never to another host a
redirect points at.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from feeds.config_paths import expand_path
from feeds.masking import MASK, Secret

DIRECT = "none"  # the proxy value that means "connect directly"
OPTION_KEYS = frozenset(
    {"user_agent", "headers", "cookies", "username", "password_env", "password_file",
     "token_env", "token_file", "proxy"}
)  # fmt: skip
MAX_SECRET_FILE = 64 * 1024  # a password or token file is a line, not a document
MAX_HEADERS = 32
MAX_VALUE = 4096  # characters in one header or cookie value
MAX_NAME = 128  # characters in one header or cookie name

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: a header name
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")  # visible ASCII, space and tab
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")  # RFC 6265
_VISIBLE = re.compile(r"[\x21-\x7e]+")  # a bearer token
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Headers an option may not set: framing and connection handling (the HTTP library's),
# our validators and decoding (conditional GET and the body bound depend on them), and
# those with a key of their own.
_REFUSED = {
    "host": "it names the server the URL names",
    "content-length": "the HTTP library frames requests",
    "transfer-encoding": "the HTTP library frames requests",
    "connection": "the HTTP library handles connections",
    "keep-alive": "the HTTP library handles connections",
    "upgrade": "the HTTP library handles connections",
    "te": "the HTTP library handles connections",
    "trailer": "the HTTP library frames requests",
    "proxy-connection": "the HTTP library handles connections",
    "proxy-authorization": "put proxy credentials in the proxy URL",
    "if-none-match": "feeds sends its own validators (conditional GET)",
    "if-modified-since": "feeds sends its own validators (conditional GET)",
    "if-match": "a feed fetch is not conditional on it",
    "if-unmodified-since": "a feed fetch is not conditional on it",
    "if-range": "a feed fetch is never a range request",
    "range": "a feed fetch is never a range request",
    "accept-encoding": "feeds asks only for the encodings it decodes within max_body",
    "user-agent": "use the key user_agent",
    "cookie": "use the key cookies",
    "authorization": "use username with password_env/password_file, or token_env/token_file",
}


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """What a source adds to or changes in its requests; the defaults change nothing."""

    user_agent: str | None = None  # replaces [fetch] user_agent
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    username: str | None = None  # HTTP basic auth with `password`
    password: Secret | None = None
    token: Secret | None = None  # a bearer token
    proxy: str | None = None  # None: [fetch] proxy or the environment; "none": direct

    def __repr__(self) -> str:
        return f"RequestOptions({'; '.join(self.describe()) or 'defaults'})"

    def headers_for(self, url: str, home: str) -> dict[str, str]:
        """The headers this source adds to a request for `url`. Extra headers, cookies
        and credentials only when `url` is on the origin of `home` (the configured URL)."""
        headers = {"User-Agent": self.user_agent} if self.user_agent is not None else {}
        authorization = self.authorization()
        # Most sources have nothing origin-bound: no need to compare origins on every fetch.
        if not (self.headers or self.cookies or authorization) or not same_origin(home, url):
            return headers
        headers.update(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies)
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    def authorization(self) -> str | None:
        """The Authorization header's value, or None without credentials."""
        if self.token is not None:
            return f"Bearer {self.token.value}"
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password.value}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        return None

    def secrets(self) -> tuple[str, ...]:
        """Every value to keep out of logs, status and errors: credentials (also encoded),
        header and cookie values, and a proxy URL's password."""
        values = [value for _, value in (*self.headers, *self.cookies)]
        values += [s.value for s in (self.password, self.token) if s is not None]
        authorization = self.authorization()
        if authorization is not None:
            values.append(authorization.split(" ", 1)[1])
        if self.proxy is not None:
            values += proxy_secrets(self.proxy)
        return tuple(values)

    def describe(self) -> list[str]:
        """The options as `feeds check` shows them: names and origins, never a secret."""
        parts = [f"user_agent {self.user_agent!r}"] if self.user_agent is not None else []
        if self.headers:
            parts.append("headers " + ", ".join(f"{name}: {MASK}" for name, _ in self.headers))
        if self.cookies:
            parts.append("cookies " + ", ".join(f"{name}={MASK}" for name, _ in self.cookies))
        if self.username is not None and self.password is not None:
            parts.append(f"basic auth {self.username!r}, password from {self.password.origin}")
        if self.token is not None:
            parts.append(f"bearer token from {self.token.origin}")
        if self.proxy is not None:
            shown = "none (direct)" if self.proxy == DIRECT else masked_proxy(self.proxy)
            parts.append(f"proxy {shown}")
        return parts


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def same_origin(home: str, url: str) -> bool:
    """May what belongs to `home` go with a request for `url`? The same scheme, host and
    port; or `home`'s host upgraded from http to https on the default ports."""
    scheme, host, port = _origin(home)
    other = _origin(url)
    if not host or other[1] != host:
        return False
    return other == (scheme, host, port) or (
        (scheme, port) == ("http", 80) and other[0::2] == ("https", 443)
    )


def header_safe(value: str) -> bool:
    """Whether `value` can go back to a server in a request header as it came (visible
    ASCII and spaces: httpx writes header values as ASCII)."""
    return value.isascii() and value.isprintable()


def user_agent_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a User-Agent header (`[fetch] user_agent` or a
    source's own), or None."""
    if value.strip() and _HEADER_VALUE.fullmatch(value) and len(value) <= 512:
        return None
    return "must be up to 512 visible ASCII characters, not empty"


def proxy_problem(value: str) -> str | None:
    """Why `value` is no proxy setting (an http(s) URL, or "none"), or None when it is one.
    A message never shows the URL's password."""
    if value == DIRECT:
        return None
    if _CONTROL.search(value):
        return "must not contain control characters"
    shown = masked_proxy(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is no number or out of range
    except ValueError:
        return f"is no URL: {shown!r}"
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return f'must be an http:// or https:// proxy URL, or "none", not {shown!r}'
    if not parts.hostname:
        return f"names no host: {shown!r}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"must be only scheme, host and port (no path or query): {shown!r}"
    return None


def _user_info(url: str) -> tuple[str, str, str] | None:
    """`url` as ("scheme://", user info, "host..."), or None when it has no user info."""
    scheme, sep, rest = url.partition("://")
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    at = rest.rfind("@", 0, min(ends, default=len(rest)))
    return (scheme + sep, rest[:at], rest[at + 1 :]) if sep and at >= 0 else None


def masked_proxy(url: str) -> str:
    """A proxy URL as it may be shown: its user info (name and password) masked whole."""
    parts = _user_info(url)
    return f"{parts[0]}{MASK}@{parts[2]}" if parts is not None else url


def proxy_secrets(url: str) -> list[str]:
    """A proxy URL's user name and password, as written and decoded, to scrub from text."""
    parts = _user_info(url)
    if parts is None:
        return []
    user, _, password = parts[1].partition(":")
    return [value for value in {user, password, unquote(user), unquote(password)} if value]


def read_request_options(
    data: Mapping[str, Any], root: Path, env: Mapping[str, str], *, remote: bool
) -> tuple[RequestOptions, list[tuple[str, str]]]:
    """The request options in one `[[sources]]` table, and each problem as (key, message).

    `root` is the config file's folder (relative secret files are found there), `env` the
    environment the *_env keys name. Messages name a variable or file, never its content.
    """
    present = sorted(key for key in OPTION_KEYS if key in data)
    if not present:  # most sources: `read` looks at these keys only, so it would give this
        return RequestOptions(), []
    reader = _OptionsReader(root, env)
    if not remote:
        for key in present:
            reader.problems.append((key, "only a remote source (url) makes requests"))
        return RequestOptions(), reader.problems
    options = reader.read(data)
    return options, reader.problems


class _OptionsReader:
    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = env
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def text(self, data: Mapping[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(key, f"must be a string, not {type(value).__name__}")
            return None
        return value

    def read(self, data: Mapping[str, Any]) -> RequestOptions:
        user_agent = self.text(data, "user_agent")
        reason = user_agent_problem(user_agent) if user_agent is not None else None
        if reason is not None:
            self.problem("user_agent", reason)
            user_agent = None
        headers = self.headers(data.get("headers"))
        cookies = self.cookies(data.get("cookies"))
        username, password, token = self.credentials(data)
        proxy = self.text(data, "proxy")
        if proxy is not None:
            reason = proxy_problem(proxy)
            if reason is not None:
                self.problem("proxy", reason)
                proxy = None
        return RequestOptions(user_agent, headers, cookies, username, password, token, proxy)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(key, f'must be an inline table, e.g. {key} = {{ name = "value" }}')
            return {}
        if len(value) > MAX_HEADERS:
            self.problem(key, f"more than {MAX_HEADERS} entries")
            return {}
        return value

    def headers(self, value: Any) -> tuple[tuple[str, str], ...]:
        headers: list[tuple[str, str]] = []
        seen: set[str] = set()
        for name, text in self.table(value, "headers").items():
            where = f"header {name!r}" if len(name) <= MAX_NAME else "a header"
            if not _TOKEN.fullmatch(name) or len(name) > MAX_NAME:
                self.problem("headers", f"{where}: not a valid header name")
                continue
            lower = name.lower()
            if lower in _REFUSED:
                self.problem("headers", f"{where} cannot be set here: {_REFUSED[lower]}")
                continue
            if lower in seen:
                self.problem("headers", f"{where} is given twice")
                continue
            seen.add(lower)
            if not isinstance(text, str):
                self.problem("headers", f"{where}: the value must be a string")
            elif "\r" in text or "\n" in text:
                self.problem("headers", f"{where}: the value holds a line break (CR/LF)")
            elif not _HEADER_VALUE.fullmatch(text) or len(text) > MAX_VALUE:
                self.problem(
                    "headers",
                    f"{where}: the value must be up to {MAX_VALUE} visible ASCII characters",
                )
            else:
                headers.append((name, text.strip()))
        return tuple(headers)

    def cookies(self, value: Any) -> tuple[tuple[str, str], ...]:
        cookies: list[tuple[str, str]] = []
        for name, text in self.table(value, "cookies").items():
            where = f"cookie {name!r}" if len(name) <= MAX_NAME else "a cookie"
            if not _TOKEN.fullmatch(name) or len(name) > MAX_NAME:
                self.problem("cookies", f"{where}: not a valid cookie name")
            elif not isinstance(text, str):
                self.problem("cookies", f"{where}: the value must be a string")
            elif not _COOKIE_VALUE.fullmatch(text) or len(text) > MAX_VALUE:
                self.problem(
                    "cookies",
                    f"{where}: the value may hold only visible ASCII without spaces, "
                    f"quotes, commas, semicolons or backslashes (up to {MAX_VALUE})",
                )
            else:
                cookies.append((name, text))
        return tuple(cookies)

    def credentials(
        self, data: Mapping[str, Any]
    ) -> tuple[str | None, Secret | None, Secret | None]:
        username = self.text(data, "username")
        if username is not None and (
            not username or ":" in username or _CONTROL.search(username) or len(username) > 256
        ):
            self.problem("username", "must be a non-empty name without ':' or control characters")
            username = None
        password = self.secret(data, "password", _CONTROL)
        token = self.secret(data, "token", None)
        if "token_env" in data or "token_file" in data:
            for key in ("username", "password_env", "password_file"):
                if key in data:
                    self.problem(key, "give either basic auth or a bearer token, not both")
                    return None, None, None
        has_password = "password_env" in data or "password_file" in data
        if "username" in data and not has_password:
            self.problem("username", "needs its password: password_env or password_file")
        elif has_password and "username" not in data:
            key = "password_env" if "password_env" in data else "password_file"
            self.problem(key, "needs a username")
        return username, password, token

    def secret(
        self, data: Mapping[str, Any], what: str, bad: re.Pattern[str] | None
    ) -> Secret | None:
        """`{what}_env` or `{what}_file`: the secret read, or None (with a problem if wrong)."""
        env_key, file_key = f"{what}_env", f"{what}_file"
        name, path = self.text(data, env_key), self.text(data, file_key)
        if name is not None and path is not None:
            self.problem(file_key, f"give one of {env_key} and {file_key}")
            return None
        if name is not None:
            key, secret = env_key, self.from_env(env_key, name)
        elif path is not None:
            key, secret = file_key, self.from_file(file_key, path)
        else:
            return None
        if secret is None:
            return None
        if bad is not None and bad.search(secret.value):
            self.problem(key, f"the {what} from {secret.origin} holds a control character")
            return None
        if bad is None and not _VISIBLE.fullmatch(secret.value):
            self.problem(
                key, f"the {what} from {secret.origin} must be visible ASCII without spaces"
            )
            return None
        return secret

    def from_env(self, key: str, name: str) -> Secret | None:
        if not _ENV_NAME.fullmatch(name):
            self.problem(key, f"{name!r} is not an environment variable name")
            return None
        value = self.env.get(name)
        if value is None:
            self.problem(key, f"the environment variable {name} is not set")
            return None
        if not value.strip():
            self.problem(key, f"the environment variable {name} is empty")
            return None
        return Secret(value.strip("\r\n"), f"${name}")

    def from_file(self, key: str, name: str) -> Secret | None:
        try:
            path = expand_path(name)
        except ValueError as exc:
            self.problem(key, str(exc))
            return None
        path = path if path.is_absolute() else self.root / path
        shown = str(path)
        try:
            # Non-blocking: a FIFO named here must not hang the config load.
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            self.problem(key, f"file not found: {shown}")
            return None
        except OSError as exc:
            self.problem(key, f"cannot read {shown}: {exc.strerror or type(exc).__name__}")
            return None
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                self.problem(key, f"{shown} is not a regular file")
                return None
            with os.fdopen(descriptor, "rb", closefd=False) as handle:
                data = handle.read(MAX_SECRET_FILE + 1)
        except OSError as exc:
            self.problem(key, f"cannot read {shown}: {exc.strerror or type(exc).__name__}")
            return None
        finally:
            os.close(descriptor)
        if len(data) > MAX_SECRET_FILE:
            self.problem(key, f"{shown} is larger than {MAX_SECRET_FILE // 1024} KiB")
            return None
        try:
            line = data.decode("utf-8").split("\n", 1)[0].rstrip("\r")
        except UnicodeDecodeError:
            self.problem(key, f"{shown} is not UTF-8 text")
            return None
        if not line.strip():
            self.problem(key, f"the first line of {shown} is empty")
            return None
        return Secret(line, f"file {shown}")
